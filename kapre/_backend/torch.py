"""PyTorch's implementation of the backend interface (:mod:`kapre._backend`).

Eager PyTorch runs op by op, so this module does what the compilers of the other backends do for them: it
computes the STFT and the inverse STFT a cache-sized chunk of frames at a time, writes results in place into
fresh tensors where no gradient is recorded, and overlap-adds column by column. Keras (3.15) computes some float64
operations in float32 on PyTorch (``matmul``, ``maximum``, ``minimum``, ``arctan2``); the ``torch`` calls here keep
the dtype. MKL rejects FFTs of tensors with no elements (an empty batch): those get their empty result directly.
"""

from __future__ import annotations

import contextlib

import torch
from keras import ops

from kapre import _cpu
from kapre._backend._interface import INTERFACE

# PyTorch's eager paths are written for eager calls (and the user may torch.compile the model): nothing to compile
from kapre._backend.generic import call_compiled_when_eager as call_compiled_when_eager
from kapre._backend.generic import compile_function as compile_function
from kapre._backend.generic import compile_step as compile_step
from kapre._backend.generic import constant as constant
from kapre._backend.generic import fused_power_tail as fused_power_tail
from kapre._backend.generic import initial_value as initial_value
from kapre._backend.generic import parts as parts
from kapre._backend.generic import trace_shapes as trace_shapes

__all__ = list(INTERFACE)

NAME = "torch"

# kapre.MelSpectrogram sizes and pads its filterbank blocks to multiples of it on this backend: the CPU rule of
# kapre._cpu (16 where PyTorch's matmul is MKL's on x86, 1 elsewhere)
MATMUL_WIDTH_MULTIPLE = _cpu.matmul_width_multiple(torch.backends.mkl.is_available())
LOOPS_OVER_FRAME_CHUNKS = False


def max_frame_chunks() -> int:
    """How many unrolled chunks :func:`kapre.functional.map_frame_chunks` may split one call into.

    Eager PyTorch runs the chunks as a Python loop, a few op dispatches each, so it takes as many cache-sized
    chunks as the input needs (64 clips x 64 s: 16 chunks 0.21, 256 chunks 0.14 ms per audio second). Under
    ``torch.compile`` at most 16 (which unrolls the loop: more chunks took 55 s to compile).
    """
    return 16 if torch.compiler.is_compiling() else 1 << 30


def place_input(x):
    """A torch tensor on another device than Keras' (a CPU batch from a ``DataLoader`` on a GPU machine) moved to
    Keras' device, where the layer's constants are, as ``keras.ops`` does for each op; anything else as it is (a
    ``meta`` tensor of Keras' shape inference stays where it is)."""
    if isinstance(x, torch.Tensor) and x.device.type != "meta":
        return ops.convert_to_tensor(x)
    return x


class _Float32Exact:
    """Within the block, cuDNN's convolutions and cuBLAS's float32 matmuls compute in float32, not TF32 (PyTorch
    lets cuDNN use TF32 by default on Ampere and newer GPUs: a 1e-3 relative error, 4e-3 dB); the user's settings
    are restored after it."""

    def __enter__(self):
        self.saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False

    def __exit__(self, *exc_info):
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = self.saved
        return False


def float32_precision(x):
    """:class:`_Float32Exact` in eager mode where ``x`` is computed on CUDA: a CUDA tensor, or an array or number
    (a functional call's NumPy input) where Keras puts new tensors on CUDA. Nothing otherwise (the CPU has no TF32,
    and a ``torch.compile`` trace takes the settings in force where it compiles)."""
    if isinstance(x, torch.Tensor):
        on_cuda = x.is_cuda
    else:
        on_cuda = torch.cuda.is_available() and _keras_device().startswith("cuda")
    if on_cuda and not torch.compiler.is_compiling():
        return _Float32Exact()
    return contextlib.nullcontext()


def _keras_device() -> str:
    """Where Keras puts a new tensor (``keras.device`` scopes included): Keras' PyTorch backend has no public
    accessor for it."""
    from keras.src.backend.torch.core import get_device

    return str(get_device())


def on_accelerator(x) -> bool:
    """True for a tensor on a GPU (or another accelerator): not the CPU, not Keras' ``meta`` shape inference."""
    return isinstance(x, torch.Tensor) and x.device.type not in ("cpu", "meta")


def without_autograd(*tensors) -> bool:
    """True when PyTorch records no gradient for these tensors and no ``torch.compile`` trace is running (the
    ``out=`` and in-place forms are eager-only)."""
    if torch.compiler.is_compiling():
        return False
    return not (torch.is_grad_enabled() and any(t.requires_grad for t in tensors))


def rfft(x, n_fft: int):
    """``torch.fft.rfft`` of the last axis; an empty tensor gets its empty result directly ("Intel oneMKL DFTI
    ERROR: Inconsistent configuration parameters")."""
    if x.numel() == 0:
        complex_dtype = torch.complex128 if x.dtype == torch.float64 else torch.complex64
        return x.new_zeros((*x.shape[:-1], n_fft // 2 + 1), dtype=complex_dtype)
    return torch.fft.rfft(x, n=n_fft, dim=-1)


def irfft(spectrum, n_fft: int):
    """``torch.fft.irfft`` of the last axis, with :func:`rfft`'s handling of an empty tensor."""
    if spectrum.numel() == 0:
        real_dtype = torch.float64 if spectrum.dtype == torch.complex128 else torch.float32
        return spectrum.new_zeros((*spectrum.shape[:-1], n_fft), dtype=real_dtype)
    return torch.fft.irfft(spectrum, n=n_fft, dim=-1)


def rfft_power(x, n_fft: int):
    """``|rfft(x)| ** 2``: the interleaved (re, im) pairs squared in one contiguous pass, then the two halves
    added: 114-147 us per mel chunk vs 164-215 us for ``real.square().add_(imag.square())`` and 830-1125 us for
    ``view_as_real(.).square().sum(-1)``; squared in place when no gradient is recorded (98 vs 120 us)."""
    pairs = torch.view_as_real(rfft(x, n_fft))
    squares = pairs.square() if torch.is_grad_enabled() and x.requires_grad else pairs.square_()
    return squares[..., 0] + squares[..., 1]


def frame(x, frame_length: int, hop_length: int):
    """``unfold``: a strided view, no copy (the window product that follows writes the only copy). Measured on the
    W1 STFT magnitude: the reshape-and-concatenate framing cost 16 ms of 106."""
    return x.unfold(-1, frame_length, hop_length)


def overlap_add(frames, hop_length: int):
    """Each hop-sized column of the frames added in place into one zero-initialised output, instead of padding
    every column to full length and summing the copies: 13.4 -> 5.6 ms at W1 (16 x 427 frames of 2048, hop 512).
    The output is a fresh tensor, so the in-place adds are safe for autograd."""
    *leading, n_frames, frame_length = frames.shape
    signal = _overlap_add_output(frames, leading, n_frames, frame_length, hop_length)
    _overlap_add_into(signal, frames, 0, hop_length)
    return _overlap_add_result(signal, n_frames, frame_length, hop_length)


def _overlap_add_output(like, leading, n_frames: int, frame_length: int, hop_length: int):
    """The zero ``(*leading, n_frames + columns - 1, hop_length)`` buffer that :func:`_overlap_add_into` fills."""
    columns = -(-frame_length // hop_length)
    return like.new_zeros(*leading, n_frames + columns - 1, hop_length)


def _overlap_add_into(signal, frames, first_frame: int, hop_length: int):
    """Adds ``frames`` (frame ``first_frame`` onwards) into ``signal``, one hop-sized column at a time, in place."""
    *leading, n_frames, frame_length = frames.shape
    columns = -(-frame_length // hop_length)
    if columns * hop_length != frame_length:
        frames = torch.nn.functional.pad(frames, (0, columns * hop_length - frame_length))
    parts = frames.reshape(*leading, n_frames, columns, hop_length)
    for column in range(columns):
        signal[..., first_frame + column : first_frame + column + n_frames, :] += parts[..., column, :]


def _overlap_add_result(signal, n_frames: int, frame_length: int, hop_length: int):
    samples = signal.shape[-2] * signal.shape[-1]  # explicit: -1 is ambiguous for an empty batch
    return signal.reshape(*signal.shape[:-2], samples)[..., : (n_frames - 1) * hop_length + frame_length]


def windowed_rfft(frames, window, n_fft: int, chunks=None):
    """``rfft(frames * window, n_fft)`` a chunk of frames at a time (``chunks``: ``[(f0, f1), ...]``), each chunk's
    FFT written into its slice of one output, where no gradient is recorded; in one go otherwise.

    The windowed frames and the FFT's work arrays of a chunk stay in the CPU cache; only the output goes to
    memory. W1 (16 x 427 frames of 2048): 52-67 -> 31-38 ms.
    """
    complex_dtype = {torch.float32: torch.complex64, torch.float64: torch.complex128}.get(frames.dtype)
    if chunks is None or len(chunks) < 2 or complex_dtype is None or not without_autograd(frames, window):
        return rfft(frames * window, n_fft)
    out = frames.new_empty((*frames.shape[:-1], n_fft // 2 + 1), dtype=complex_dtype)
    if out.numel():  # MKL rejects an empty batch
        for f0, f1 in chunks:
            torch.fft.rfft(frames[..., f0:f1, :] * window, n=n_fft, dim=-1, out=out[..., f0:f1, :])
    return out


def windowed_overlap_add(stfts, n_fft: int, hop_length: int, window, chunks=None):
    """``overlap_add(irfft(stfts, n_fft)[..., :len(window)] * window, hop_length)`` a chunk of frames at a time,
    each chunk added into one output: the full-size ``(..., frames, n_fft)`` tensor never exists. Autograd-safe:
    the adds go into a fresh output, and the window is multiplied in place only where no gradient is recorded."""
    frame_length = window.shape[0]
    n_frames = stfts.shape[-2]
    in_place = without_autograd(stfts, window)
    signal = _overlap_add_output(window, stfts.shape[:-2], n_frames, frame_length, hop_length)
    for f0, f1 in chunks or [(0, n_frames)]:
        frames = irfft(stfts[..., f0:f1, :], n_fft)[..., :frame_length]
        frames = frames.mul_(window) if in_place else frames * window
        _overlap_add_into(signal, frames, f0, hop_length)
    return _overlap_add_result(signal, n_frames, frame_length, hop_length)


def matmul(x1, x2):
    """``torch.matmul`` for two float32 or two float64 tensors (``keras.ops.matmul`` computes float64 in
    float32); ``keras.ops.matmul`` otherwise."""
    x1, x2 = ops.convert_to_tensor(x1), ops.convert_to_tensor(x2)
    if x1.dtype == x2.dtype and x1.dtype in (torch.float32, torch.float64):
        return torch.matmul(x1, x2)
    return ops.matmul(x1, x2)


def maximum(x1, x2, in_place: bool = False):
    """``torch.maximum`` for equal dtypes (keeps float64; NaN propagates, as in ``keras.ops.maximum``).

    ``in_place=True``: the result is written into ``x1`` (same shape and dtype as the result) where no gradient is
    recorded; for a fresh full-size ``x1`` this saves an allocation whose first touch costs page faults
    (64 x 64 s log-mel: about 100 MB, 30 ms).
    """
    x1, x2 = ops.convert_to_tensor(x1), ops.convert_to_tensor(x2)
    if x1.dtype != x2.dtype:
        return ops.maximum(x1, x2)
    if in_place and _broadcasts_into(x2.shape, x1.shape) and without_autograd(x1, x2):
        return torch.maximum(x1, x2, out=x1)
    return torch.maximum(x1, x2)


def minimum(x1, x2):
    """``torch.minimum`` for equal dtypes (keeps float64)."""
    x1, x2 = ops.convert_to_tensor(x1), ops.convert_to_tensor(x2)
    return torch.minimum(x1, x2) if x1.dtype == x2.dtype else ops.minimum(x1, x2)


def reduce_max(x, axis=None, keepdims: bool = False):
    """``torch.amax``: ``keras.ops.max`` tests its result's ``.values`` with an ``isinstance`` that ``torch.compile``
    cannot trace, a graph break inside Keras' name scope that sent a whole layer call back to eager."""
    return _reduce(torch.amax, ops.max, x, axis, keepdims)


def reduce_min(x, axis=None, keepdims: bool = False):
    """``torch.amin`` (see :func:`reduce_max`)."""
    return _reduce(torch.amin, ops.min, x, axis, keepdims)


def _reduce(torch_fn, keras_fn, x, axis, keepdims: bool):
    x = ops.convert_to_tensor(x)
    if 0 in x.shape or x.dtype == torch.bool:  # Keras' error for an empty tensor; its handling of booleans
        return keras_fn(x, axis=axis, keepdims=keepdims)
    return torch_fn(x, dim=() if axis is None else axis, keepdim=keepdims)


def _broadcasts_into(shape, target) -> bool:
    """Whether ``shape`` broadcasts to ``target`` unchanged (``torch.broadcast_shapes(target, shape) == target``,
    which takes 130 us a call: 20% of an 8 x 1 s log-mel)."""
    if len(shape) > len(target):
        return False
    trailing = target[len(target) - len(shape) :]
    return all(size in (1, full) for size, full in zip(shape, trailing, strict=True))


def arctan2(y, x):
    return torch.atan2(y, x)


def magnitude(spectrum):
    """``abs(spectrum)``: ``hypot`` of the real and imaginary parts where no gradient is recorded (W1 STFT: 20 ms
    against 40 ms for complex ``abs``, the same overflow- and underflow-safe result; ``hypot``'s gradient is NaN at
    0, so ``abs`` under autograd)."""
    if spectrum.is_complex() and not (torch.is_grad_enabled() and spectrum.requires_grad):
        return torch.hypot(spectrum.real, spectrum.imag)
    return ops.abs(spectrum)


def make_complex(real, imag):
    return torch.complex(real, imag)


def device_names() -> list[str]:
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found


class EagerStreaming:
    """A streaming step's small tensor work in plain PyTorch calls, for eager use: a step over a 10 ms chunk is a
    few small tensors, where each ``keras.ops`` call's dispatch (about 30 us) costs more than its arithmetic. Each
    function returns ``None`` under autograd or a ``torch.compile`` / export trace (the ``keras.ops`` form
    applies)."""

    @staticmethod
    def frames(buffer, chunk, due, frame_length: int, hop_length: int, length=None):
        """:func:`kapre.functional.stream_frames`."""
        buffer, chunk = ops.convert_to_tensor(buffer), ops.convert_to_tensor(chunk)
        if not without_autograd(buffer, chunk):
            return None
        capacity = chunk.shape[-1]
        slots = -(-capacity // hop_length)
        joined = torch.cat([buffer, chunk.to(buffer.dtype)], dim=-1)
        due = int(due)
        count = capacity if length is None else int(length)
        num_frames = (count - due) // hop_length + 1 if due <= count else 0
        new_due = hop_length - (count - due) % hop_length if due <= count else due - count
        frames = joined.new_zeros(*joined.shape[:-1], slots, frame_length)
        if num_frames:
            start = due - 1
            stop = start + (num_frames - 1) * hop_length + frame_length
            frames[..., :num_frames, :] = joined[..., start:stop].unfold(-1, frame_length, hop_length)
        new_buffer = joined[..., count : count + frame_length - 1]
        return frames, torch.tensor(num_frames, dtype=torch.int32), new_buffer, torch.tensor(new_due, dtype=torch.int32)

    @staticmethod
    def zero_invalid(values, num_frames, time_axis: int):
        """:func:`kapre.functional.zero_invalid_slots`."""
        if not (isinstance(values, torch.Tensor) and without_autograd(values)):
            return None
        count = int(num_frames)
        if count >= values.shape[time_axis]:
            return values
        values = values.clone()
        values.narrow(time_axis, count, values.shape[time_axis] - count).zero_()
        return values

    @staticmethod
    def per_row(value, rows: int):
        """:func:`kapre.functional.per_row`."""
        if torch.compiler.is_compiling() or not isinstance(value, (torch.Tensor, int)):
            return None
        return torch.full((rows,), int(value), dtype=torch.int32)
