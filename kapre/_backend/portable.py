"""The export backend: the interface in ``keras.ops`` with no FFT and no complex tensor, for ONNX and LiteRT.

:func:`kapre.export.export_mode` puts this module's functions in place of the active backend's for the time a
model is traced for export (``kapre._backend`` re-exports them, as it re-exports the active backend's). Two
things stop the usual formulations at export: the FFT (ONNX Runtime's ``DFT`` op runs 50-700x slower than a
matmul, tf2onnx cannot convert ``RFFT`` unless ``ComplexAbs`` consumes it, LiteRT's ``RFFT2D`` takes powers of two
only, litert-torch has no complex tensors) and complex tensors (ONNX Runtime and LiteRT have almost no complex
kernels). So here:

- the one-sided DFT is a matmul with the cosine and sine kernels of :func:`kapre.constants.dft_kernels`, the
  window folded in (the same numbers as the FFT to float32 rounding: ``tests/test_export.py``);
- a power spectrogram from signals (:func:`framed_rfft_power`, and with a filterbank after it,
  :func:`framed_filterbank_power`, MelSpectrogram's) is a two-stage DFT where a block size divides ``n_fft`` and
  the hop: one depthwise convolution over blocks of samples (framing, window, first stage) and one matmul, 8x
  fewer multiply-adds than the dense matmul at ``n_fft`` 512 (:func:`kapre.constants.two_stage_dft_kernels`);
- a complex tensor is *held as parts*: a real tensor whose last axis (size 2) holds the real and imaginary parts
  (:func:`make_complex` builds one, :func:`parts` reads one), as :class:`kapre.STFTTflite` outputs;
- framing is one gather with indices built from the length at run time (:func:`frame`), any length;
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
reduce_max = _generic.reduce_max
reduce_min = _generic.reduce_min
arctan2 = _generic.arctan2
constant = _generic.constant
initial_value = _generic.initial_value
compile_function = _generic.compile_function
fused_power_tail = _generic.fused_power_tail
compile_step = _generic.compile_step
trace_shapes = _generic.trace_shapes
device_names = _generic.device_names
# the exporters trace the layers on the device the model is on; the runtimes choose their own precision
place_input = _generic.place_input
float32_precision = _generic.float32_precision
on_accelerator = _generic.on_accelerator


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


# The fixed cost of one more block of the fused filterbank product (a slice of the power, which ONNX Runtime copies,
# a matmul and a share of the join) in kapre.constants.filterbank_blocks' unit, multiply-adds per frame. W2's graph
# from PyTorch in ONNX Runtime (one session at a time, 240 calls each, 2026-12-04): one dense product 3.90 ms median
# (3.84 tenth percentile), 3 blocks at 2,048 3.76 (3.69), 5 blocks at 512 alike; blocks of stage 2's own rows in
# place of slices of its output (no copy, but matmuls of fewer rows) were slower, 4.6 ms.
EXPORT_BLOCK_OVERHEAD = 2048.0


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


def _two_stage_power(signals, window, n_fft: int, hop_length: int):
    """The power of the one-sided DFT of ``frame(signals) * window`` by the two-stage DFT of
    :func:`kapre.constants.two_stage_dft_kernels`, bins first: ``(rows, n2 * groups, frames)`` (``rows`` the
    signals' leading axes flattened), the bins in stage 2's order (``bins`` says where each one-sided bin is); or
    ``None`` where no block size divides ``n_fft`` and ``hop_length`` (:func:`kapre.constants.two_stage_block`) or
    the window is longer than ``n_fft``.

    The signal is read as blocks of ``n2`` samples (an identity convolution: no frame tensor, no gather); stage 1 is one
    depthwise convolution over the blocks, a channel per position in the block, stride ``hop_length / n2``, with
    the window and the twiddles folded into its kernel (framing, window and the first stage in one op); stage 2 is
    one ``(2 n2, 2 n2)`` matmul over the channels, the same for every stage-1 frequency, so no transpose is needed
    between the stages.
    """
    frame_length = window.shape[0]
    n2 = _constants.two_stage_block(n_fft, hop_length) if frame_length <= n_fft else None
    if n2 is None:
        return None
    dtype = _float_dtype(signals)
    stage1, stage2, bins = _constants.two_stage_dft_kernels(n_fft, n2)
    n1, groups = n_fft // n2, n_fft // n2 // 2 + 1
    shape = ops.shape(signals)
    leading, length = shape[:-1], shape[-1]
    x = ops.reshape(signals, (-1, length))
    if frame_length < n_fft:  # the last frame's DFT reads n_fft samples: zeros past the signal
        x = ops.pad(x, ((0, 0), (0, n_fft - frame_length)))
    n_frames = 1 + (length - frame_length) // hop_length
    # channels first (ONNX's Conv layout): channel r holds sample r of every block, by a 2-D convolution with an
    # identity kernel of stride n2 over (rows, 1, 1, samples). ONNX Runtime runs it as its blocked (NCHWc) direct
    # convolution on every core; a slice to whole blocks, a reshape and a transpose were two single-threaded copies
    # (W2: 0.18 against 0.31 ms). No slice: the 'valid' convolution drops the samples after the last whole block,
    # and the depthwise convolution below then gives exactly n_frames frames (1 + (samples // n2 - n1) // stride
    # equals 1 + (samples - n_fft) // hop_length, samples counted with the padding above).
    eye = constant(np.eye(n2).reshape(1, n2, 1, n2), dtype)  # (height, width, in, out)
    blocks = ops.conv(ops.reshape(x, (-1, 1, 1, ops.shape(x)[-1])), eye, strides=(1, n2), padding="valid",
                      data_format="channels_first")
    blocks = ops.reshape(blocks, (-1, n2, ops.shape(blocks)[-1]))  # (rows, n2, blocks); a squeeze fails in LiteRT
    folded = ops.pad(ops.cast(window, dtype), ((0, n_fft - frame_length),))
    kernel = constant(stage1, dtype) * ops.reshape(folded, (n1, n2, 1))
    a = ops.depthwise_conv(blocks, kernel, strides=hop_length // n2, padding="valid", data_format="channels_first")
    # (rows, n2 * 2 * groups, frames): [r, part, k1]; stage 2 mixes (r, part) alike for every (k1, frame)
    y = ops.matmul(constant(stage2, dtype), ops.reshape(a, (-1, 2 * n2, groups * n_frames)))
    # re**2 + im**2 as one square and a sum over the (real, imaginary) axis: two passes over the data where a split,
    # two squares and an add were four (W2 in ONNX Runtime: 0.44 against 0.56 ms)
    y = ops.reshape(y, (-1, 2, n2 * groups, n_frames))
    power = ops.sum(y * y, axis=1)  # (rows, n2 * groups, frames)
    return power, bins, leading, n_frames


def framed_rfft_power(signals, window, n_fft: int, hop_length: int):
    """``|rfft(frame(signals) * window, n_fft)| ** 2``: ``(..., samples)`` to ``(..., frames, n_fft // 2 + 1)``,
    frames of ``len(window)`` samples every ``hop_length`` (no padding), by the two-stage DFT where it applies
    (:func:`_two_stage_power`: 8x fewer multiply-adds on W2's log-mel, n_fft 512, hop 160), else framing and the
    dense DFT matmul."""
    two_stage = _two_stage_power(signals, window, n_fft, hop_length)
    if two_stage is None:
        return rfft_power(frame(signals, window.shape[0], hop_length) * window, n_fft)
    power, bins, leading, n_frames = two_stage
    # bins first, then a 2-D take along axis 0 (an embedding lookup: one Gather on every route; Keras' PyTorch take
    # along another axis exports a Squeeze that fails)
    rows = ops.reshape(ops.transpose(power, (1, 0, 2)), (power.shape[1], -1))  # (n2 * groups, rows * frames)
    power = ops.take(rows, constant(bins, "int32"), axis=0)  # (bins, rows * frames)
    return ops.reshape(ops.transpose(power), (*leading, n_frames, n_fft // 2 + 1))


def _stage2_filterbank_blocks(filterbank: np.ndarray, bins: np.ndarray, n_rows: int):
    """``filterbank`` ``(n_fft // 2 + 1, bands)`` with its rows moved to where the two-stage power holds each bin
    (``bins`` of :func:`kapre.constants.two_stage_dft_kernels`; the conjugates' and spare rows zero), ``(n_rows,
    bands)``, and its dense blocks ``[(r0, r1, c0, c1), ...]`` (:func:`kapre.constants.filterbank_blocks` at
    :data:`EXPORT_BLOCK_OVERHEAD`): what :func:`framed_filterbank_power` multiplies the power by."""
    rows = np.zeros((n_rows, filterbank.shape[1]))
    rows[bins] = filterbank
    return rows, _constants.filterbank_blocks(rows, block_overhead=EXPORT_BLOCK_OVERHEAD)


def framed_filterbank_power(signals, window, n_fft: int, hop_length: int, filterbank: np.ndarray, transform=None):
    """``transform(|rfft(frame(signals) * window, n_fft)| ** 2) @ filterbank`` (``transform`` elementwise, e.g. a
    square root), ``(..., samples)`` to ``(..., frames, filterbank.shape[1])``, with the two-stage DFT and the
    filterbank's rows put in its bin order (no gather; the blocks' products read the power transposed); ``None``
    where the two-stage DFT does not apply (:func:`_two_stage_power`).

    Stage 2 holds the bins in ascending ranges of rows (:func:`kapre.constants.two_stage_dft_kernels`), so a
    sparse filterbank (a mel band reads a few dozen bins) is applied as its dense blocks of rows
    (:func:`kapre.constants.filterbank_blocks`): on W2's log-mel (64 bands over 272 rows) three products of 5,300
    multiply-adds per frame in all, in place of one of 17,400.
    """
    two_stage = _two_stage_power(signals, window, n_fft, hop_length)
    if two_stage is None:
        return None
    power, bins, leading, n_frames = two_stage
    if transform is not None:
        power = transform(power)
    rows, blocks = _stage2_filterbank_blocks(filterbank, bins, power.shape[1])
    dtype = _float_dtype(signals)
    # (rows, frames, bands) each: the power block transposed, then a matmul with a (1, block rows, block bands)
    # constant, which ONNX Runtime fuses into one FusedMatMul that reads the block transposed (no copy of the output
    # in a Transpose); a 2-D constant makes TensorFlow's matmul a tensordot (a Reshape between the two: no fusion)
    parts = [
        ops.matmul(ops.transpose(power if (r0, r1) == (0, rows.shape[0]) else power[:, r0:r1], (0, 2, 1)),
                   constant(np.ascontiguousarray(rows[r0:r1, c0:c1])[None], dtype))
        for r0, r1, c0, c1 in blocks
    ]
    filtered = parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)
    return ops.reshape(filtered, (*leading, n_frames, filterbank.shape[1]))


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
