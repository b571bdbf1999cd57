"""The few operations that need the backend itself, isolated here.

``keras.ops.rfft`` returns a (real, imag) pair, so a complex spectrum built from it is split and joined again
(two extra full-size copies per call); the backends' own FFTs return the complex tensor directly. Constants are
created outside any trace (``tf.init_scope``), so a layer built inside a ``tf.function`` does not capture a
graph tensor. Everything else in kapre uses ``keras.ops`` only.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from keras import backend as keras_backend
from keras import ops


def backend_name() -> str:
    return keras_backend.backend()


def rfft(x, n_fft: int):
    """One-sided FFT of the last axis, zero-padded (or cropped) to ``n_fft``; returns a complex tensor."""
    name = backend_name()
    if name == "tensorflow":
        import tensorflow as tf

        return tf.signal.rfft(x, fft_length=[n_fft])
    if name == "jax":
        import jax.numpy as jnp

        return jnp.fft.rfft(x, n=n_fft, axis=-1)
    if name == "torch":
        return _torch_rfft(x, n_fft)
    real, imag = ops.rfft(x, fft_length=n_fft)
    return make_complex(real, imag)


def irfft(spectrum, n_fft: int):
    """Inverse of :func:`rfft`: a complex ``(..., n_fft // 2 + 1)`` tensor to ``(..., n_fft)`` real samples."""
    name = backend_name()
    if name == "tensorflow":
        import tensorflow as tf

        return tf.signal.irfft(spectrum, fft_length=[n_fft])
    if name == "jax":
        import jax.numpy as jnp

        return jnp.fft.irfft(spectrum, n=n_fft, axis=-1)
    if name == "torch":
        return _torch_irfft(spectrum, n_fft)
    return ops.irfft((ops.real(spectrum), ops.imag(spectrum)), fft_length=n_fft)


def _torch_rfft(x, n_fft: int):
    """``torch.fft.rfft`` of the last axis; a tensor with no elements (an empty batch) gets its empty result
    directly, since MKL rejects it ("Intel oneMKL DFTI ERROR: Inconsistent configuration parameters")."""
    import torch

    if x.numel() == 0:
        complex_dtype = torch.complex128 if x.dtype == torch.float64 else torch.complex64
        return x.new_zeros((*x.shape[:-1], n_fft // 2 + 1), dtype=complex_dtype)
    return torch.fft.rfft(x, n=n_fft, dim=-1)


def _torch_irfft(spectrum, n_fft: int):
    """``torch.fft.irfft`` of the last axis, with :func:`_torch_rfft`'s handling of an empty batch."""
    import torch

    if spectrum.numel() == 0:
        real_dtype = torch.float64 if spectrum.dtype == torch.complex128 else torch.float32
        return spectrum.new_zeros((*spectrum.shape[:-1], n_fft), dtype=real_dtype)
    return torch.fft.irfft(spectrum, n=n_fft, dim=-1)


def matmul(x1, x2):
    """``x1 @ x2`` in the inputs' own float dtype.

    Under PyTorch, ``keras.ops.matmul`` computes float64 inputs in float32 (Keras' dtype promotion follows JAX's
    default without x64); ``torch.matmul`` keeps float64.
    """
    if backend_name() == "torch":
        import torch

        x1, x2 = ops.convert_to_tensor(x1), ops.convert_to_tensor(x2)
        if x1.dtype == x2.dtype and x1.dtype in (torch.float32, torch.float64):
            return torch.matmul(x1, x2)
    return ops.matmul(x1, x2)


def maximum(x1, x2, in_place: bool = False):
    """``keras.ops.maximum``, except that PyTorch keeps float64: Keras (3.15) computes ``ops.maximum`` and
    ``ops.minimum`` of two float64 tensors in float32 on PyTorch. NaN propagates, as in ``ops.maximum``.

    ``in_place=True``: PyTorch writes the result into ``x1`` (same shape and dtype as the result) where no
    gradient is recorded; for a fresh full-size ``x1`` this saves an allocation whose first touch costs page
    faults (64 x 64 s log-mel: about 100 MB, 30 ms).
    """
    if in_place and backend_name() == "torch":
        import torch

        x1, x2 = ops.convert_to_tensor(x1), ops.convert_to_tensor(x2)
        fits = x1.dtype == x2.dtype and _broadcasts_into(x2.shape, x1.shape)
        if fits and _torch_without_autograd(x1, x2):
            return torch.maximum(x1, x2, out=x1)
    return _elementwise_extreme(x1, x2, "maximum")


def _broadcasts_into(shape, target) -> bool:
    """Whether ``shape`` broadcasts to ``target`` unchanged (``torch.broadcast_shapes(target, shape) == target``,
    which takes 130 us a call: 20% of an 8 x 1 s log-mel on PyTorch)."""
    if len(shape) > len(target):
        return False
    trailing = target[len(target) - len(shape) :]
    return all(size in (1, full) for size, full in zip(shape, trailing, strict=True))


def minimum(x1, x2):
    """``keras.ops.minimum`` with PyTorch's float64 kept (see :func:`maximum`)."""
    return _elementwise_extreme(x1, x2, "minimum")


def _elementwise_extreme(x1, x2, name: str):
    if backend_name() == "torch":
        import torch

        x1, x2 = ops.convert_to_tensor(x1), ops.convert_to_tensor(x2)
        if x1.dtype == x2.dtype:
            return getattr(torch, name)(x1, x2)
    return getattr(ops, name)(x1, x2)


def magnitude(spectrum):
    """``abs(spectrum)`` of a complex tensor.

    PyTorch's ``abs`` of a complex tensor measured 40 ms on the W1 STFT (16 x 427 x 1025 bins), ``hypot`` of its
    real and imaginary parts 20 ms, with the same overflow- and underflow-safe result; ``hypot``'s gradient is
    NaN at 0, so it is used only where no gradient is recorded.
    """
    if backend_name() == "torch":
        import torch

        if spectrum.is_complex() and not (torch.is_grad_enabled() and spectrum.requires_grad):
            return torch.hypot(spectrum.real, spectrum.imag)
    return ops.abs(spectrum)


def make_complex(real, imag):
    """A complex tensor from its real and imaginary parts (same float dtype; float64 gives complex128).

    The backends' own constructors are used: ``keras.ops.view_as_complex`` always returns complex64 and its
    TensorFlow gradient goes through a complex-to-float cast (correct, but it logs a warning on every step).
    """
    name = backend_name()
    if name == "tensorflow":
        import tensorflow as tf

        return tf.complex(real, imag)
    if name == "jax":
        import jax

        return jax.lax.complex(real, imag)
    if name == "torch":
        import torch

        return torch.complex(real, imag)
    return ops.view_as_complex(ops.stack([real, imag], axis=-1))


def constant(array: np.ndarray, dtype: str):
    """A backend tensor holding ``array`` in ``dtype``, created eagerly even when called inside a trace.

    A layer first called inside the user's ``tf.function`` or ``jax.jit`` is built there; a constant (or a
    weight's initial value) created as part of that trace would be a graph tensor or a tracer, and the next trace
    (another input shape) would fail on it (JAX: ``UnexpectedTracerError``).
    """
    array = np.asarray(array, dtype=dtype)
    name = backend_name()
    if name == "tensorflow":
        import tensorflow as tf

        with tf.init_scope():
            return tf.constant(array)
    if name == "jax":
        import jax

        with jax.ensure_compile_time_eval():
            return ops.convert_to_tensor(array, dtype=dtype)
    return ops.convert_to_tensor(array, dtype=dtype)


def call_compiled_when_eager(owner, fn, x):
    """``fn(x)``; called eagerly (not under a trace) on JAX or TensorFlow, as one cached compiled computation.

    Eager JAX and TensorFlow run op by op, each op a separate call that materialises its full-size result;
    compiling the layer's whole computation once per input shape (``jax.jit``, ``tf.function``) lets the backend
    fuse and schedule it as it does when the user compiles. Measured on the log-mel benchmark (2 CPU cores):
    eager JAX W1 3.0x -> 1.0x the compiled time, eager TF W2 2.6x -> about 1x. The compiled function is cached on
    ``owner`` (outside Keras' attribute tracking). PyTorch calls ``fn`` directly.
    """
    name = backend_name()
    if name == "jax":
        import jax

        if isinstance(x, jax.core.Tracer):
            return fn(x)
        compile_fn = jax.jit
    elif name == "tensorflow":
        import tensorflow as tf

        if not tf.executing_eagerly():
            return fn(x)

        def compile_fn(function):
            return tf.function(function, reduce_retracing=True, autograph=False)
    else:
        return fn(x)
    cache = owner.__dict__.setdefault("_kapre_compiled_calls", {})
    compiled = cache.get(fn.__name__)
    if compiled is None:
        compiled = cache[fn.__name__] = compile_fn(fn)
    return compiled(x)


def matmul_width_multiple() -> int:
    """The number of output columns the backend's float32 matmul is fastest in multiples of: 16 on PyTorch, 1
    (no preference measured) elsewhere. :class:`kapre.MelSpectrogram` sizes and pads its filterbank blocks to it.

    PyTorch's CPU matmul (MKL, AVX-512 on the 2-core test machine), a (1536, 89) chunk times (89, N), in us:
    N = 16: 37-53, 22: 74-86, 24: 54, 32: 59, 42: 94, 48: 80, 64: 103; TensorFlow and JAX showed no such steps. On
    the log-mel benchmark (alternating in one process) padding the blocks took W2 4.39 -> 4.14 ms and W1 19.1 ->
    18.4 ms, choosing the blocks with padded widths a further 2-4%.
    """
    return 16 if backend_name() == "torch" else 1


def max_frame_chunks() -> int:
    """How many unrolled chunks :func:`kapre.functional.map_frame_chunks` may split one call into.

    Eager PyTorch runs the chunks as a Python loop, a few op dispatches each, so it takes as many cache-sized
    chunks as the input needs (measured on 64 clips x 64 s: 16 chunks 0.21, 256 chunks 0.14 ms per audio
    second). A traced graph (``tf.function``, ``torch.compile``) holds every chunk's ops, so there at most 16
    (larger) chunks: on TensorFlow a ``keras.ops.map`` loop over more chunks measured no faster (W1 30-35 ms
    either way, 64 x 16 s 0.10 vs 0.09-0.14 ms per audio second), and ``torch.compile`` unrolls it (55 s to
    compile). JAX loops instead (:func:`loops_over_frame_chunks`).
    """
    if backend_name() == "torch":
        import torch

        if not torch.compiler.is_compiling():
            return 1 << 30
    return 16


def loops_over_frame_chunks() -> bool:
    """Whether :func:`kapre.functional.map_frame_chunks` runs the chunks in a compiled loop (JAX) rather than
    unrolled.

    XLA:CPU schedules unrolled chunks as it likes, not one after the other, so their intermediates leave the
    cache; in a ``lax.map`` loop each chunk is finished before the next starts. Measured (``jax.jit``, 2 CPU
    cores, log-mel at W2 settings, ms): 64 x 4 s 42-48 -> 25-26, 8 x 16 s 12-15 -> 10-12, 64 x 1 s and 8 x 4 s
    unchanged; W1 (16 x 10 s, n_fft 2048) 51-58 -> 31-33.
    """
    return backend_name() == "jax"


def overlap_add(frames, hop_length: int):
    """PyTorch's overlap-add of ``(..., frames, frame_length)`` (:func:`kapre.functional.overlap_add`), or ``None``
    on other backends (whose compilers fuse the generic pad-and-add).

    Each hop-sized column of the frames is added in place into one zero-initialised output, instead of padding
    every column to full length and summing the copies: 13.4 -> 5.6 ms at W1 (16 x 427 frames of 2048, hop 512).
    The output is a fresh tensor, so the in-place adds are safe for autograd.
    """
    if backend_name() != "torch":
        return None
    *leading, n_frames, frame_length = frames.shape
    signal = _torch_overlap_add_output(frames, leading, n_frames, frame_length, hop_length)
    _torch_overlap_add_into(signal, frames, 0, hop_length)
    return _torch_overlap_add_result(signal, n_frames, frame_length, hop_length)


def _torch_overlap_add_output(like, leading, n_frames: int, frame_length: int, hop_length: int):
    """The zero ``(*leading, n_frames + columns - 1, hop_length)`` buffer (``like``'s dtype and device) that
    :func:`_torch_overlap_add_into` fills."""
    columns = -(-frame_length // hop_length)
    return like.new_zeros(*leading, n_frames + columns - 1, hop_length)


def _torch_overlap_add_into(signal, frames, first_frame: int, hop_length: int):
    """Adds ``frames`` (frame ``first_frame`` onwards) into ``signal``, one hop-sized column at a time, in place."""
    import torch

    *leading, n_frames, frame_length = frames.shape
    columns = -(-frame_length // hop_length)
    if columns * hop_length != frame_length:
        frames = torch.nn.functional.pad(frames, (0, columns * hop_length - frame_length))
    parts = frames.reshape(*leading, n_frames, columns, hop_length)
    for column in range(columns):
        signal[..., first_frame + column : first_frame + column + n_frames, :] += parts[..., column, :]


def _torch_overlap_add_result(signal, n_frames: int, frame_length: int, hop_length: int):
    samples = signal.shape[-2] * signal.shape[-1]  # explicit: -1 is ambiguous for an empty batch
    return signal.reshape(*signal.shape[:-2], samples)[..., : (n_frames - 1) * hop_length + frame_length]


def _torch_without_autograd(*tensors) -> bool:
    """True when PyTorch records no gradient for these tensors and no ``torch.compile`` trace is running (the
    ``out=`` and in-place forms below are eager-only)."""
    import torch

    if torch.compiler.is_compiling():
        return False
    return not (torch.is_grad_enabled() and any(t.requires_grad for t in tensors))


def windowed_rfft(frames, window, n_fft: int, chunks):
    """PyTorch's ``rfft(frames * window, n_fft)`` of ``(..., frames, frame_length)`` a chunk of frames at a time
    (``chunks``: ``[(f0, f1), ...]``), each chunk's FFT written into its slice of one output; ``None`` on other
    backends, with a single chunk, or where autograd records (``out=`` has no gradient).

    The windowed frames and the FFT's work arrays of a chunk stay in the CPU cache; only the output goes to
    memory. W1 (16 x 427 frames of 2048): 52-67 -> 31-38 ms. About 19 ms of what is left is the first touch of
    the fresh 56 MB output (page faults), which any new tensor of that size costs.
    """
    if backend_name() != "torch" or len(chunks) < 2:
        return None
    import torch

    complex_dtype = {torch.float32: torch.complex64, torch.float64: torch.complex128}.get(frames.dtype)
    if complex_dtype is None or not _torch_without_autograd(frames, window):
        return None
    out = frames.new_empty((*frames.shape[:-1], n_fft // 2 + 1), dtype=complex_dtype)
    if out.numel():  # MKL rejects an empty batch
        for f0, f1 in chunks:
            torch.fft.rfft(frames[..., f0:f1, :] * window, n=n_fft, dim=-1, out=out[..., f0:f1, :])
    return out


def windowed_overlap_add(stfts, n_fft: int, hop_length: int, window, chunks):
    """PyTorch's ``overlap_add(irfft(stfts, n_fft)[..., :len(window)] * window, hop_length)`` a chunk of frames
    at a time (``chunks``: ``[(f0, f1), ...]``), each chunk added into one output; ``None`` on other backends.

    The inverse FFT's output and the windowed frames of a chunk stay in the CPU cache, never the full-size
    ``(..., frames, n_fft)`` tensor. Autograd-safe: the in-place adds go into a fresh output, and the window is
    multiplied in place only where no gradient is recorded.
    """
    if backend_name() != "torch":
        return None

    frame_length = window.shape[0]
    n_frames = stfts.shape[-2]
    in_place = _torch_without_autograd(stfts, window)
    signal = _torch_overlap_add_output(window, stfts.shape[:-2], n_frames, frame_length, hop_length)
    for f0, f1 in chunks:
        frames = _torch_irfft(stfts[..., f0:f1, :], n_fft)[..., :frame_length]
        frames = frames.mul_(window) if in_place else frames * window
        _torch_overlap_add_into(signal, frames, f0, hop_length)
    return _torch_overlap_add_result(signal, n_frames, frame_length, hop_length)


# -- fast paths of the mel front-end (kapre.MelSpectrogram); each equals its generic keras.ops counterpart ---------


def frame(x, frame_length: int, hop_length: int):
    """Frames ``(..., samples)`` to ``(..., frames, frame_length)`` with the backend's own op, or ``None``.

    No padding: ``1 + (samples - frame_length) // hop_length`` frames, as :func:`kapre.functional.frame`.
    PyTorch's ``unfold`` is a strided view (no copy: the window product that follows writes the only copy);
    TensorFlow's ``tf.signal.frame`` is one op; JAX slices each frame (``vmap`` of ``dynamic_slice``, a gather
    that XLA feeds straight into the FFT, as ``jax.scipy.signal.stft``) where the reshape-and-concatenate
    framing costs an extra pass. Other backends return ``None`` (use :func:`kapre.functional.frame`).
    """
    name = backend_name()
    if name == "tensorflow":
        import tensorflow as tf

        return tf.signal.frame(x, frame_length, hop_length, pad_end=False, axis=-1)
    if name == "torch":
        return x.unfold(-1, frame_length, hop_length)
    if name == "jax":
        import jax
        import jax.numpy as jnp

        length = x.shape[-1]
        if length is None or length < frame_length:
            return None
        starts = jnp.arange(0, length - frame_length + 1, hop_length)

        def one_frame(start):
            return jax.lax.dynamic_slice_in_dim(x, start, frame_length, axis=-1)

        return jax.vmap(one_frame, out_axes=-2)(starts)
    return None


def rfft_power(x, n_fft: int):
    """``|rfft(x, n_fft)| ** 2`` as a real tensor: the complex spectrum never leaves this function.

    ``re**2 + im**2`` (not ``abs(.) ** 2``): no square root, and the gradient is finite at exact zeros.
    """
    name = backend_name()
    if name == "tensorflow":
        import tensorflow as tf

        spectrum = tf.signal.rfft(x, fft_length=[n_fft])
        return tf.math.square(tf.math.real(spectrum)) + tf.math.square(tf.math.imag(spectrum))
    if name == "jax":
        import jax.numpy as jnp

        spectrum = jnp.fft.rfft(x, n=n_fft, axis=-1)
        return jnp.square(spectrum.real) + jnp.square(spectrum.imag)
    if name == "torch":
        import torch

        # the interleaved (re, im) pairs squared in one contiguous pass, then the two halves added: 114-147 us per
        # mel chunk (W2 / W1 chunk sizes) vs 164-215 us for real.square().add_(imag.square()) (two strided
        # passes and an add) and 830-1125 us for view_as_real(.).square().sum(-1) (a reduction over 2 elements)
        # (squared in place when no gradient is recorded: the FFT's output is a fresh temporary; 98 vs 120 us)
        pairs = torch.view_as_real(_torch_rfft(x, n_fft))
        squares = pairs.square() if torch.is_grad_enabled() and x.requires_grad else pairs.square_()
        return squares[..., 0] + squares[..., 1]
    real, imag = ops.rfft(x, fft_length=n_fft)
    return ops.square(real) + ops.square(imag)


def torch_mel_chunk(signals, frame_length: int, hop_length: int, n_fft: int, window, blocks, power: float, amin):
    """PyTorch's fused mel chunk (:class:`kapre.MelSpectrogram`): framing, window, FFT, ``|X| ** power``, the
    block-sparse mel product and, when ``amin`` is given, ``10 * log10(max(., amin))``, or ``None`` on other
    backends (which compile the generic :mod:`kapre.functional` composition).

    The same operations as the generic path, in torch calls with in-place updates of fresh temporaries (no
    Keras dispatch, fewer allocations): measured 5.1 -> 4.6 ms on W2 and 20.8 -> 17.9 ms on W1 (eager).
    Autograd is unaffected: no tensor that a backward pass reads is modified.
    """
    if backend_name() != "torch":
        return None
    return _torch_mel_chunk(signals, frame_length, hop_length, n_fft, window, blocks, power, amin)


def _torch_mel_chunk(signals, frame_length: int, hop_length: int, n_fft: int, window, blocks, power: float, amin):
    import torch

    spectrogram = rfft_power(signals.unfold(-1, frame_length, hop_length) * window, n_fft)
    if power == 1.0:
        spectrogram = spectrogram.sqrt()
    parts = [torch.matmul(spectrogram[..., start:stop], weights) for start, stop, weights in blocks]
    mel = parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)
    if amin is None:
        return mel
    return torch.log10(mel.clamp_min_(amin)).mul_(10.0)


class TorchScratch:
    """Scratch buffers that eager PyTorch's mel chunks write into (``out=``) and reuse from call to call, one set
    per thread (a layer may be called from several threads at once).

    Every call allocating its own temporaries costs page faults whenever the C allocator has handed the freed
    memory back to the system in between, which glibc does or not depending on the process's allocation
    history: the same 8 x 1 s log-mel (W2 settings) measured 0.6-0.8 ms in some processes and 1.9-2.6 ms in
    others (500-940 page faults a call). With the windowed frames, power and mel products in reused buffers
    (the FFT's output stays a fresh tensor), 13 fresh processes paid at most 4 faults per call, and in a process
    without the faults the speed is unchanged (0.83-1.13x the fresh temporaries, median 0.99x, at 8 x 1 s,
    64 x 1 s, 16 x 10 s and 64 x 16 s, alternating in one process). A buffer grows to the largest chunk seen
    (about 4 MiB at the default chunk size) and lives as long as the layer; a copy of the layer gets empty scratch.
    """

    def __init__(self):
        self._local = threading.local()

    def __deepcopy__(self, memo):
        return TorchScratch()

    def __reduce__(self):
        return (TorchScratch, ())

    def view(self, slot: str, shape, dtype, device):
        """A contiguous tensor of ``shape`` and ``dtype`` over buffer ``slot`` (bytes, so one buffer serves several
        dtypes in turn); its contents are left over from earlier use."""
        import torch

        buffers = self._local.__dict__.setdefault("buffers", {})
        nbytes = math.prod(shape) * dtype.itemsize
        buffer = buffers.get(slot)
        if buffer is None or buffer.device != device or buffer.numel() < nbytes:
            buffer = buffers[slot] = torch.empty(nbytes, dtype=torch.uint8, device=device)
        return buffer[:nbytes].view(dtype).view(shape)


def _torch_mel_chunk_into(
    mel, signals, frame_length: int, hop_length: int, n_fft: int, window, blocks, power: float, amin, scratch
):
    """:func:`_torch_mel_chunk` with every temporary in ``scratch`` and the result written into ``mel`` (a slice of
    the layer's output); eager PyTorch without autograd only."""
    import torch

    frames = signals.unfold(-1, frame_length, hop_length)
    device, dtype = frames.device, frames.dtype
    # two buffers, each reused once its content is dead (frames -> power, spectrum -> mel parts): the working set
    # stays as small as with fresh temporaries, which the allocator hands back still in the cache
    windowed = torch.mul(frames, window, out=scratch.view("a", frames.shape, dtype, device))
    spectrum_shape = (*frames.shape[:-1], n_fft // 2 + 1)
    spectrum = torch.fft.rfft(windowed, n=n_fft, dim=-1)  # fresh: MKL's out= variant computes, then copies
    squares = torch.view_as_real(spectrum).square_()
    spectrogram = torch.add(squares[..., 0], squares[..., 1], out=scratch.view("a", spectrum_shape, dtype, device))
    if power == 1.0:
        spectrogram = spectrogram.sqrt_()
    column = 0
    for start, stop, width, weights in blocks:
        part = scratch.view("b", (*spectrum_shape[:-1], weights.shape[-1]), dtype, device)
        torch.matmul(spectrogram[..., start:stop], weights, out=part)
        mel[..., column : column + width].copy_(part[..., :width])
        column += width
    if amin is not None:
        mel.clamp_min_(amin).log10_().mul_(10.0)


def torch_mel_spectrogram(
    inputs,
    *,
    channels_last_in: bool,
    channels_last_out: bool,
    dtype: str,
    out_dtype: str,
    frame_length: int,
    hop_length: int,
    n_fft: int,
    window,
    blocks,
    padded_blocks,
    power: float,
    chunk_samples: int,
    decibel: tuple | None,
    scratch: TorchScratch,
):
    """Eager PyTorch's whole :class:`kapre.MelSpectrogram` call in torch calls, or ``None`` (other backends, and
    under ``torch.compile``, which compiles the generic :mod:`kapre.functional` composition instead).

    The same steps as the layer's generic path (layout, chunks of about ``chunk_samples`` samples, then
    :func:`kapre.functional.reference_decibel`); ``decibel`` is ``None`` or ``(amin, ref_value, dynamic_range)``.
    Without autograd the
    chunks' temporaries live in ``scratch`` (:class:`TorchScratch`), the mel product uses ``padded_blocks``
    (``(start, stop, bands, weights)`` with the weights zero-padded to :func:`matmul_width_multiple` columns;
    ``None``: ``blocks`` as they are) and each chunk's bands are written straight into the one output tensor;
    with autograd, :func:`torch_mel_chunk`'s out-of-place steps on ``blocks``. The buffers' bookkeeping costs
    Python time: on a one-frame input 162 us per call against 123 us for the generic path (alternating in one
    process); from a few frames on, the saved allocations and page faults outweigh it (see :class:`TorchScratch`).
    """
    if backend_name() != "torch":
        return None
    import torch

    if torch.compiler.is_compiling():
        return None
    from kapre.functional import frame_chunks, frames_per_chunk, num_frames, reference_decibel  # (imports us)

    x = inputs if isinstance(inputs, torch.Tensor) else ops.convert_to_tensor(inputs)
    x = x.to(getattr(torch, dtype))
    if channels_last_in:  # (batch, time, ch) -> (batch, ch, time); a reshape is free, a transpose is a copy
        x = x.squeeze(2).unsqueeze(1) if x.shape[2] == 1 else x.transpose(1, 2)
    rows, length = x.shape[0] * x.shape[1], x.shape[2]
    total = num_frames(length, frame_length, hop_length)
    chunks = frame_chunks(total, frames_per_chunk(rows, frame_length, chunk_samples))
    amin = None if decibel is None else decibel[0]
    if x.numel() and _torch_without_autograd(x, window):
        if padded_blocks is None:
            padded_blocks = [(start, stop, weights.shape[-1], weights) for start, stop, weights in blocks]
        n_mels = sum(width for _, _, width, _ in padded_blocks)
        mel = x.new_empty((*x.shape[:-1], total, n_mels))  # (batch, ch, frames, mels)
        for f0, f1 in chunks:
            signals = x[..., f0 * hop_length : (f1 - 1) * hop_length + frame_length]
            _torch_mel_chunk_into(
                mel[..., f0:f1, :], signals, frame_length, hop_length, n_fft, window, padded_blocks, power, amin,
                scratch,
            )
    else:  # autograd records (no out= or in-place writes), or an empty batch
        parts = [
            _torch_mel_chunk(
                x[..., f0 * hop_length : (f1 - 1) * hop_length + frame_length],
                frame_length, hop_length, n_fft, window, blocks, power, amin,
            )
            for f0, f1 in chunks
        ]
        mel = parts[0] if len(parts) == 1 else torch.cat(parts, dim=-2)  # (batch, ch, frames, mels)
    if decibel is not None:  # the output is fresh: the floor may be written into it
        amin, ref_value, dynamic_range = decibel
        mel = reference_decibel(mel, ref_value, amin, dynamic_range, in_place=True)
    if channels_last_out:
        mel = mel.squeeze(1).unsqueeze(-1) if mel.shape[1] == 1 else mel.permute(0, 2, 3, 1)
    return mel if out_dtype == dtype else mel.to(getattr(torch, out_dtype))
