"""The export backend: the interface in ``keras.ops`` with no FFT and no complex tensor, for ONNX and LiteRT.

:func:`kapre.export.export_mode` puts this module's functions in place of the active backend's for the time a
model is traced for export (``kapre._backend`` re-exports them, as it re-exports the active backend's). Two
things stop the usual formulations at export: the FFT (ONNX Runtime's ``DFT`` op runs 50-700x slower than a
matmul, tf2onnx cannot convert ``RFFT`` unless ``ComplexAbs`` consumes it, LiteRT's ``RFFT2D`` takes powers of two
only, litert-torch has no complex tensors) and complex tensors (ONNX Runtime and LiteRT have almost no complex
kernels). So here:

- the one-sided DFT is a matmul with the cosine and sine kernels of :func:`kapre.constants.dft_kernels`, the
  window folded in (the same numbers as the FFT to float32 rounding: ``tests/test_export.py``);
- a complex tensor is *held as parts*: a real tensor whose last axis (size 2) holds the real and imaginary parts
  (:func:`make_complex` builds one, :func:`parts` reads one), as :class:`kapre.STFTTflite` outputs;
- framing is reshapes and slices (:func:`kapre._backend.generic.frame`), no gather, any length at run time;
- nothing is compiled by kapre itself: the exporter traces the plain composition.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from kapre import constants as _constants
from kapre._backend import generic as _generic
from kapre._backend._interface import INTERFACE

__all__ = list(INTERFACE)

NAME = _generic.NAME
MATMUL_WIDTH_MULTIPLE = 1
LOOPS_OVER_FRAME_CHUNKS = False
overlap_add = _generic.overlap_add
matmul = _generic.matmul
maximum = _generic.maximum
minimum = _generic.minimum
arctan2 = _generic.arctan2
constant = _generic.constant
compile_function = _generic.compile_function
compile_step = _generic.compile_step
trace_shapes = _generic.trace_shapes
device_names = _generic.device_names


def frame(x, frame_length: int, hop_length: int):
    """``(..., samples)`` to ``(..., 1 + (samples - frame_length) // hop_length, frame_length)`` by one gather with
    an index matrix built from the length at run time: no slice whose bounds depend on the length, so a free
    length traces without a guard (``torch.export``) and runs as one ``Gather`` (ONNX) / ``GATHER`` (LiteRT)."""
    n_frames = 1 + (ops.shape(x)[-1] - frame_length) // hop_length
    starts = ops.expand_dims(ops.arange(n_frames, dtype="int32") * hop_length, -1)
    indices = starts + ops.expand_dims(ops.arange(frame_length, dtype="int32"), 0)
    shape = ops.shape(x)
    if NAME != "torch":
        return ops.take(x, indices, axis=-1)
    # Keras' PyTorch take squeezes the gathered axis, which torch.export records as an ONNX Squeeze that fails once
    # the index count is not 1; a 2-D take along axis 0 is an embedding lookup (one Gather), so gather rows of the
    # transposed signals
    rows = ops.transpose(ops.reshape(x, (-1, shape[-1])))
    gathered = ops.take(rows, ops.reshape(indices, (-1,)), axis=0)
    return ops.reshape(ops.transpose(gathered), (*shape[:-1], n_frames, frame_length))


def max_frame_chunks() -> int:
    """One chunk: the exported graph holds the whole computation once (no unrolled chunk copies)."""
    return 1


def _dft_kernel(frame_length: int, n_fft: int, dtype: str, window=None):
    """``(frame_length, 2 * (n_fft // 2 + 1))``: ``frames @ kernel`` is ``[real | imag]`` of the one-sided DFT of
    ``frames`` zero-padded (or cropped) to ``n_fft``, times ``window`` (a tensor, applied to the frames' samples)
    if given."""
    real, imag = _constants.dft_kernels(n_fft)
    rows = min(frame_length, n_fft)
    values = np.zeros((frame_length, real.shape[1] * 2))
    values[:rows] = np.concatenate([real[:rows], imag[:rows]], axis=1)
    kernel = constant(values, dtype)
    if window is not None:
        kernel = ops.cast(ops.reshape(window, (-1, 1)), dtype) * kernel
    return kernel


def _dft_parts(x, n_fft: int, window=None):
    """``(real, imag)`` of the one-sided DFT of the last axis of ``x`` (static length), as two real tensors."""
    dtype = _float_dtype(x)
    kernel = _dft_kernel(x.shape[-1], n_fft, dtype, window)
    both = ops.matmul(x, kernel)
    n_freq = n_fft // 2 + 1
    return both[..., :n_freq], both[..., n_freq:]


def _float_dtype(x) -> str:
    dtype = str(x.dtype).split(".")[-1]
    return "float64" if "64" in dtype and "complex" not in dtype else "float32"


def rfft(x, n_fft: int):
    """The one-sided DFT of the last axis, held as parts (``(..., n_fft // 2 + 1, 2)``)."""
    return make_complex(*_dft_parts(x, n_fft))


def irfft(spectrum, n_fft: int):
    """Inverse of :func:`rfft` from parts: ``(..., n_fft // 2 + 1, 2)`` to ``(..., n_fft)`` real samples, by the
    inverse DFT's cosine and sine matmuls (the imaginary parts of the DC and Nyquist bins ignored, as an inverse
    real FFT does)."""
    real, imag = parts(spectrum)
    n_freq = n_fft // 2 + 1
    k = np.arange(n_freq)[:, None]
    n = np.arange(n_fft)[None, :]
    angle = 2.0 * np.pi * ((k * n) % n_fft) / n_fft
    weight = np.full((n_freq, 1), 2.0)
    weight[0] = 1.0
    if n_fft % 2 == 0:
        weight[-1] = 1.0
    dtype = _float_dtype(real)
    cosine = constant(weight * np.cos(angle) / n_fft, dtype)
    sine = constant(-weight * np.sin(angle) / n_fft, dtype)
    return ops.matmul(real, cosine) + ops.matmul(imag, sine)


def rfft_power(x, n_fft: int):
    """``re**2 + im**2`` of the one-sided DFT of the last axis (one matmul)."""
    real, imag = _dft_parts(x, n_fft)
    return real * real + imag * imag


def windowed_rfft(frames, window, n_fft: int, chunks=None):
    """The DFT of ``frames * window`` held as parts, the window folded into the kernel (one matmul)."""
    return make_complex(*_dft_parts(frames, n_fft, window))


# the overlap-add of the inverse (InverseSTFT) from parts: generic's composition over this module's irfft
_, windowed_overlap_add = _generic.windowed_transforms(rfft, irfft)


def make_complex(real, imag):
    """A complex value held as parts: ``(..., 2)``, real then imaginary."""
    return ops.stack([real, imag], axis=-1)


def parts(spectrum):
    """``(real, imag)`` of a complex value held as parts."""
    return spectrum[..., 0], spectrum[..., 1]


def magnitude(spectrum):
    """``|spectrum|`` of parts, with gradient 0 at exact zeros."""
    real, imag = parts(spectrum)
    total = real * real + imag * imag
    nonzero = total > 0
    return ops.where(nonzero, ops.sqrt(ops.where(nonzero, total, ops.ones_like(total))), ops.zeros_like(total))


def call_compiled_when_eager(owner, fn, x, static_shapes: bool = False):
    """``fn(x)``: the exporter traces the plain composition."""
    return fn(x)
