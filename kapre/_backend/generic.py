"""The backend interface in ``keras.ops`` alone: what the TensorFlow and JAX modules share, and the whole
interface on Keras' other backends (NumPy, OpenVINO).

TensorFlow's and JAX's compilers fuse these compositions (pad-and-add overlap-add, one FFT over all frames), so
those modules take them from here; PyTorch, run eagerly op by op, has its own (:mod:`kapre._backend.torch`).
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np
from keras import backend as keras_backend
from keras import ops

from kapre._backend._interface import INTERFACE

__all__ = list(INTERFACE)

NAME = keras_backend.backend()

# Execution policy (see kapre.MelSpectrogram): no matmul width preference measured, chunks unrolled.
MATMUL_WIDTH_MULTIPLE = 1
LOOPS_OVER_FRAME_CHUNKS = False


def max_frame_chunks() -> int:
    """How many unrolled chunks :func:`kapre.functional.map_frame_chunks` may split one call into: a traced graph
    holds every chunk's ops, so at most 16 (larger) chunks; on TensorFlow a ``keras.ops.map`` loop over more
    chunks measured no faster (W1 30-35 ms either way)."""
    return 16


def rfft(x, n_fft: int):
    """One-sided FFT of the last axis, zero-padded (or cropped) to ``n_fft``; returns a complex tensor."""
    real, imag = ops.rfft(x, fft_length=n_fft)
    return make_complex(real, imag)


def irfft(spectrum, n_fft: int):
    """Inverse of :func:`rfft`: a complex ``(..., n_fft // 2 + 1)`` tensor to ``(..., n_fft)`` real samples."""
    return ops.irfft((ops.real(spectrum), ops.imag(spectrum)), fft_length=n_fft)


def rfft_power(x, n_fft: int):
    """``|rfft(x, n_fft)| ** 2`` as a real tensor, ``re**2 + im**2`` (no square root: the gradient is finite at
    exact zeros)."""
    real, imag = ops.rfft(x, fft_length=n_fft)
    return ops.square(real) + ops.square(imag)


def frame(x, frame_length: int, hop_length: int):
    """``(..., samples)`` to ``(..., 1 + (samples - frame_length) // hop_length, frame_length)``, no padding.

    The signal's hop-sized chunks, joined ``ceil(frame_length / hop)`` times shifted: reshapes and slices only (no
    gather, no convolution), so it runs on LiteRT builtins and with a length unknown until run time.
    """
    shape = ops.shape(x)
    length = shape[-1]
    n_frames = 1 + (length - frame_length) // hop_length
    per_frame = -(-frame_length // hop_length)
    n_chunks = n_frames + per_frame - 1
    needed = n_chunks * hop_length
    if isinstance(length, int) and isinstance(needed, int):
        if needed > length:
            x = _pad_last(x, needed - length)
        elif needed < length:
            x = x[..., :needed]
    else:
        x = _pad_last(x, hop_length)[..., :needed]
    chunks = ops.reshape(x, (*shape[:-1], n_chunks, hop_length))
    if per_frame > 1:
        chunks = ops.concatenate([chunks[..., j : j + n_frames, :] for j in range(per_frame)], axis=-1)
    return chunks[..., :frame_length] if per_frame * hop_length != frame_length else chunks


def _pad_last(x, after: int):
    """Zeros appended to the last axis."""
    return ops.pad(x, [(0, 0)] * (len(x.shape) - 1) + [(0, after)])


def overlap_add(frames, hop_length: int):
    """Overlap-add ``(..., frames, frame_length)`` into ``(..., (frames - 1) * hop_length + frame_length)``: each
    hop-sized column of the frames padded to full length and the copies summed (the compilers fuse it)."""
    shape = ops.shape(frames)
    leading, n_frames, frame_length = shape[:-2], shape[-2], shape[-1]
    columns = -(-frame_length // hop_length)
    if columns * hop_length != frame_length:
        frames = _pad_last(frames, columns * hop_length - frame_length)
    parts = ops.reshape(frames, (*leading, n_frames, columns, hop_length))
    total = None
    for column in range(columns):
        widths = [(0, 0)] * len(leading) + [(column, columns - 1 - column), (0, 0)]
        shifted = ops.pad(parts[..., column, :], widths)
        total = shifted if total is None else total + shifted
    signal = ops.reshape(total, (*leading, (n_frames + columns - 1) * hop_length))
    return signal[..., : (n_frames - 1) * hop_length + frame_length]


def windowed_transforms(rfft_fn, irfft_fn):
    """``(windowed_rfft, windowed_overlap_add)`` over a backend's own FFTs, for the backends whose compilers
    schedule the whole computation (the chunk plan is ignored)."""

    def windowed_rfft(frames, window, n_fft: int, chunks=None):
        """``rfft(frames * window, n_fft)`` of ``(..., frames, frame_length)``."""
        return rfft_fn(frames * window, n_fft)

    def windowed_overlap_add(stfts, n_fft: int, hop_length: int, window, chunks=None):
        """``overlap_add(irfft(stfts, n_fft)[..., :len(window)] * window, hop_length)``."""
        frames = irfft_fn(stfts, n_fft)
        frame_length = window.shape[0]
        if frame_length < n_fft:
            frames = frames[..., :frame_length]
        return overlap_add(frames * window, hop_length)

    return windowed_rfft, windowed_overlap_add


windowed_rfft, windowed_overlap_add = windowed_transforms(rfft, irfft)


def matmul(x1, x2):
    """``x1 @ x2``."""
    return ops.matmul(x1, x2)


def maximum(x1, x2, in_place: bool = False):
    """``keras.ops.maximum`` (``in_place`` is a hint only PyTorch's eager mode takes)."""
    return ops.maximum(x1, x2)


def minimum(x1, x2):
    return ops.minimum(x1, x2)


def reduce_max(x, axis=None, keepdims: bool = False):
    """``keras.ops.max``."""
    return ops.max(x, axis=axis, keepdims=keepdims)


def reduce_min(x, axis=None, keepdims: bool = False):
    """``keras.ops.min``."""
    return ops.min(x, axis=axis, keepdims=keepdims)


def arctan2(y, x):
    return ops.arctan2(y, x)


def magnitude(spectrum):
    """``abs(spectrum)`` of a complex tensor."""
    return ops.abs(spectrum)


def make_complex(real, imag):
    """A complex tensor from its real and imaginary parts."""
    return ops.view_as_complex(ops.stack([real, imag], axis=-1))


def parts(spectrum):
    """``(real, imag)`` of a complex tensor (the export backend holds complex values as a trailing axis of two)."""
    return ops.real(spectrum), ops.imag(spectrum)


def place_input(x):
    """A layer's input where the layer's constants are (this backend: as it is)."""
    return x


def float32_precision(x):
    """A context in which the layer's float32 matmuls and convolutions are computed in float32, not a reduced
    precision (TF32) the backend may use on a GPU by default (this backend: none)."""
    return contextlib.nullcontext()


def on_accelerator(x) -> bool:
    """True where ``x`` is computed on a GPU or TPU rather than the CPU (this backend: never)."""
    return False


def constant(array: np.ndarray, dtype: str):
    """A backend tensor holding ``array`` in ``dtype``."""
    return ops.convert_to_tensor(np.asarray(array, dtype=dtype), dtype=dtype)


def initial_value(array: np.ndarray, dtype: str):
    """A weight's initial value (:class:`kapre._layer.ArrayInitializer`): here :func:`constant`."""
    return constant(array, dtype)


class _Fusion(threading.local):
    allowed = True


_FUSION = _Fusion()
# process-wide opt-in (kapre.config.enable_xla_tail): off by default, because XLA maps its compiler into the
# process on first use (+50-70 MiB peak RSS on the log-mel benchmark's TensorFlow rows)
_FUSED_TAIL = {"enabled": False}


def set_fused_tail(enabled: bool) -> None:
    """Let graphs traced from now on take :func:`fused_power_tail` (``True``) or not, in every thread."""
    _FUSED_TAIL["enabled"] = bool(enabled)


def fused_tail_enabled() -> bool:
    """What :func:`set_fused_tail` last set (``False`` by default)."""
    return _FUSED_TAIL["enabled"]


def fusing() -> bool:
    """Whether a graph traced now may take :func:`fused_power_tail`: enabled (:func:`set_fused_tail`) and not
    inside :func:`op_by_op` in this thread."""
    return _FUSED_TAIL["enabled"] and _FUSION.allowed


@contextlib.contextmanager
def op_by_op():
    """Trace no fused computation (:func:`fused_power_tail`) while inside, in this thread: for results whose bits
    must not depend on what the process computed before (:mod:`kapre.extraction`'s engines promise the same
    bytes). A fused cluster's last bits differ from the op-by-op graph's (XLA's fusion rounds differently), and
    TensorFlow takes it only in traces of static shapes, which its retracing chooses by the shapes seen before.
    Read when a graph is traced; a backend that caches traces keys them by it."""
    saved, _FUSION.allowed = _FUSION.allowed, False
    try:
        yield
    finally:
        _FUSION.allowed = saved


def fused_power_tail(tail):
    """``tail(power)`` of a complex spectrum's power as one fused computation, for a backend that would otherwise
    run each step as a separate op over the full-size data (TensorFlow's graphs without XLA); ``None`` here: the
    backend's compiler fuses such steps already (JAX, ``torch.compile``) or it runs eagerly."""
    return None


def call_compiled_when_eager(owner, fn, x, static_shapes: bool = False):
    """``fn(x)`` (this backend compiles nothing itself)."""
    return fn(x)


def compile_function(fn):
    """``fn`` compiled for repeated calls where the backend's eager mode runs op by op; here ``fn`` itself."""
    return fn


def compile_step(fn, variables=()):
    """``fn`` compiled for a small computation called many times with the same shapes (a streaming step) that
    reads the Keras ``variables`` (their current values at each call); here ``fn`` itself."""
    return fn


def trace_shapes(fn, example) -> None:
    """Run ``fn(example)`` for what it learns of shapes (the streaming chain's state shapes); here eagerly: a
    small eager run is cheap on PyTorch and TensorFlow, and the layers it builds on the way (weights included)
    are built for real (PyTorch's meta-device trace would give them meta constants, a ``tf.function`` trace
    cannot create their variables)."""
    fn(example)


def device_names() -> list[str]:
    return ["cpu"]
