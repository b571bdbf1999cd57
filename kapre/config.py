"""Process-wide switches of kapre, in the manner of ``keras.config``.

The one switch so far is TensorFlow's XLA tail: :class:`kapre.MelSpectrogram` (and the front-ends of
:mod:`kapre.frontends` built on it) can run the steps after the FFT (power, the filterbank, decibels) as one XLA
cluster in TensorFlow graphs on the CPU. It is off by default because it trades memory for speed, and the trade
is the user's to make:

- faster: in a ``tf.function`` without XLA each of those steps writes its full-size result; the cluster fuses
  them. Log-mel, 2-core AMD EPYC, alternated processes (``python benchmarks/xla_tail.py``): 64 x 1 s at 16 kHz
  (n_fft 512, 64 mels) 3.9 -> 3.3 ms, 16 x 10 s at 22.05 kHz (n_fft 2048, 128 mels) 15.1 -> 12.2 ms on a quiet
  machine; 1.2-1.3x in a ``tf.function``, 1.15x eager, in a busier run (``benchmarks/README.md``);
- costlier in memory and first-call time: XLA maps its compiler into the process on first use, about 60 MiB
  more peak resident memory on those workloads (156 vs 91 MiB beyond the import on the larger one), and compiles
  once per input shape (the first 64 x 1 s call 61 -> 193 ms).

JAX and PyTorch ignore it (JAX and ``torch.compile`` fuse by themselves; eager PyTorch has its own chunked
path), as do TensorFlow on a GPU and graphs traced with a free length (XLA would compile once per length).
:mod:`kapre.extraction`'s engines never take the cluster, so their output bytes do not depend on it.
"""

from __future__ import annotations

from kapre._backend import generic as _generic

__all__ = ["enable_xla_tail", "disable_xla_tail", "is_xla_tail_enabled"]


def enable_xla_tail() -> None:
    """Run the steps after the FFT of :class:`kapre.MelSpectrogram` as one XLA cluster in TensorFlow graphs traced
    from now on (see the module's text for what it costs). A graph traced before keeps what it holds; the layer's
    own eager calls trace anew.

    Example:
        >>> import kapre
        >>> kapre.config.enable_xla_tail()
        >>> kapre.config.is_xla_tail_enabled()
        True
        >>> kapre.config.disable_xla_tail()
    """
    _generic.set_fused_tail(True)


def disable_xla_tail() -> None:
    """Back to the default: every step after the FFT as its own op in graphs traced from now on.

    Example:
        >>> import kapre
        >>> kapre.config.disable_xla_tail()
        >>> kapre.config.is_xla_tail_enabled()
        False
    """
    _generic.set_fused_tail(False)


def is_xla_tail_enabled() -> bool:
    """Whether :func:`enable_xla_tail` is in force (``False`` by default).

    Example:
        >>> import kapre
        >>> kapre.config.is_xla_tail_enabled()
        False
    """
    return _generic.fused_tail_enabled()
