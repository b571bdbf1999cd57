"""Backend-agnostic audio operations, written with ``keras.ops``.

These are the functions behind kapre's layers (as ``torchaudio.functional`` is behind ``torchaudio.transforms``).
They take tensors and plain Python parameters, build no constants (windows and filterbanks come from
:mod:`kapre.constants`, converted once by the caller) and run the same on TensorFlow, JAX and PyTorch.

Signals are ``(..., samples)``; spectrograms are ``(..., frames, freq)``.
"""

from __future__ import annotations

import math

import numpy as np
from keras import backend as keras_backend
from keras import ops

from kapre import _backend
from kapre._backend.generic import frame as _reshape_frame
from kapre._frames import CHUNK_SAMPLES, frame_chunks, frames_per_chunk, num_frames, static_frame_chunks

__all__ = [
    "num_frames",
    "pad_along_axis",
    "frame",
    "overlap_add",
    "stft",
    "stft_dft",
    "istft",
    "magnitude",
    "magnitude_from_parts",
    "safe_sqrt",
    "power",
    "phase",
    "atan2_continued_fraction",
    "magnitude_to_decibel",
    "decibel",
    "reference_decibel",
    "apply_filterbank",
    "delta",
    "frequency_map",
    "mu_law_encoding",
    "mu_law_decoding",
    "power_spectrogram",
    "apply_filterbank_blocks",
    "frames_per_chunk",
    "frame_chunks",
    "map_frame_chunks",
    "mirror_edges",
    "frames_of",
    "remove_dc_offset",
    "preemphasis",
    "log_energy",
    "log_with_floor",
    "floor_below_max",
    "centered_matmul",
    "resample",
    "apply_resample_kernel",
    "resample_conv_kernel",
]

PAD_MODES = ("constant", "reflect", "symmetric")


def _is_static(value) -> bool:
    return isinstance(value, int)


def pad_along_axis(x, before: int, after: int, mode: str = "constant", axis: int = -1, constant_value=0.0):
    """Pad ``x`` along one axis; ``mode`` is ``'constant'``, ``'reflect'`` (edge not repeated) or ``'symmetric'``.

    Reflect and symmetric padding are built from slices, so they work on every backend and any rank.
    """
    if before == 0 and after == 0:
        return x
    rank = len(x.shape)
    axis = axis % rank
    if mode == "constant":
        widths = [(0, 0)] * rank
        widths[axis] = (before, after)
        return ops.pad(x, widths, mode="constant", constant_values=constant_value)
    if mode not in ("reflect", "symmetric"):
        raise ValueError(f"pad mode must be one of {PAD_MODES}, received mode={mode!r}.")
    length = x.shape[axis]
    limit = None if length is None else length - 1 if mode == "reflect" else length
    if limit is not None and (before > limit or after > limit):
        raise ValueError(
            f"{mode!r} padding of {max(before, after)} samples needs at least "
            f"{max(before, after) + (mode == 'reflect')} samples along the padded axis, received {length}. "
            "Use pad_mode='constant' or a longer input."
        )
    x_last = ops.moveaxis(x, axis, -1) if axis != rank - 1 else x
    offset = 1 if mode == "reflect" else 0
    parts = []
    if before:
        parts.append(ops.flip(x_last[..., offset : offset + before], axis=-1))
    parts.append(x_last)
    if after:
        end = -offset if offset else None
        parts.append(ops.flip(x_last[..., -after - offset : end], axis=-1))
    padded = ops.concatenate(parts, axis=-1)
    return ops.moveaxis(padded, -1, axis) if axis != rank - 1 else padded


def frame(x, frame_length: int, hop_length: int, pad_end: bool = False, pad_value=0.0):
    """Slice the last axis into overlapping frames: ``(..., samples)`` to ``(..., frames, frame_length)``.

    Frames are taken by reshaping the signal into hop-sized chunks and joining ``ceil(frame_length / hop)``
    shifted views of them: no gather with an index matrix and no identity convolution (LiteRT builtins only).
    ``pad_end`` pads with ``pad_value`` so that there are ``ceil(samples / hop_length)`` frames.

    Example:
        >>> import numpy as np
        >>> from kapre import functional
        >>> np.asarray(functional.frame(np.arange(6.0), 4, 2)).tolist()
        [[0.0, 1.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0]]
    """
    if pad_end:
        length = ops.shape(x)[-1]
        n_frames = -(-length // hop_length)
        target = (n_frames - 1) * hop_length + frame_length
        if _is_static(length):
            x = pad_along_axis(x, 0, max(0, target - length), constant_value=pad_value)[..., :target]
        else:
            x = pad_along_axis(x, 0, frame_length, constant_value=pad_value)[..., :target]
    return _reshape_frame(x, frame_length, hop_length)


def overlap_add(frames, hop_length: int):
    """Overlap-add ``(..., frames, frame_length)`` into ``(..., (frames - 1) * hop_length + frame_length)``."""
    return _backend.overlap_add(frames, hop_length)


def stft(
    signals,
    n_fft: int,
    hop_length: int,
    window,
    *,
    center: bool = False,
    pad_mode: str = "constant",
    pad_begin: bool = False,
    pad_end: bool = False,
):
    """Complex STFT of ``(..., samples)`` float signals: ``(..., frames, n_fft // 2 + 1)``.

    Args:
        signals: float tensor ``(..., samples)``.
        n_fft: FFT size.
        hop_length: samples between frame starts.
        window: 1-D tensor of ``win_length <= n_fft`` values, in the signal's dtype.
        center: ``False`` (kapre/``tf.signal``): frames of ``win_length`` samples start at ``t * hop_length``, are
            windowed and zero-padded on the right to ``n_fft``. ``True`` (librosa): the signal is padded by
            ``n_fft // 2`` on both sides with ``pad_mode``, frames are ``n_fft`` long and the window is centred
            in them; there are ``1 + samples // hop_length`` frames.
        pad_mode: ``'constant'`` (zeros) or ``'reflect'``, used when ``center``.
        pad_begin: prepend ``max(0, n_fft - hop_length)`` zeros (kapre), only when not ``center``.
        pad_end: pad zeros at the end so that there are ``ceil(samples / hop_length)`` frames, only when not
            ``center``.
    """
    win_length = window.shape[0]
    if center and win_length < n_fft:
        left = (n_fft - win_length) // 2
        window = ops.pad(window, [(left, n_fft - win_length - left)])
    frames = _frames_for_stft(
        signals, n_fft, hop_length, win_length, center, pad_mode, pad_begin, pad_end, framing=_native_frame
    )
    return _backend.windowed_rfft(frames, window, n_fft, _static_frame_chunks(frames.shape))


def _frames_for_stft(signals, n_fft, hop_length, win_length, center, pad_mode, pad_begin, pad_end, framing=None):
    """The frames :func:`stft` transforms: ``win_length`` samples (``n_fft`` when ``center``).

    ``framing(x, frame_length, hop_length)`` frames without end padding: :func:`frame` (reshape and slices only:
    LiteRT builtins, what the DFT engine needs) unless given.
    """
    framing = framing or frame
    if center:
        half = n_fft // 2
        return framing(pad_along_axis(signals, half, half, mode=pad_mode), n_fft, hop_length)
    if pad_begin:
        signals = pad_along_axis(signals, max(0, n_fft - hop_length), 0)  # a hop longer than n_fft: none
    if pad_end:
        return frame(signals, win_length, hop_length, pad_end=True)
    return framing(signals, win_length, hop_length)


def _native_frame(x, frame_length: int, hop_length: int):
    """:func:`frame` by the backend's own framing op (:func:`kapre._backend.frame`: a strided view on PyTorch, one
    op on TensorFlow, a gather XLA feeds to the FFT on JAX) where the length is static and at least one frame."""
    length = x.shape[-1]
    if length is None or length < frame_length:
        return frame(x, frame_length, hop_length)
    return _backend.frame(x, frame_length, hop_length)


def stft_dft(
    signals,
    n_fft: int,
    hop_length: int,
    kernel,
    *,
    center: bool = False,
    pad_mode: str = "constant",
    pad_begin: bool = False,
    pad_end: bool = False,
):
    """The STFT as one matrix product (the DFT engine): returns ``(real, imag)``, each ``(..., frames, n_freq)``.

    ``kernel`` is :func:`kapre.constants.stft_dft_kernel` (the window folded in), possibly trained; its first
    dimension is the frame length (``win_length``, or ``n_fft`` when ``center``). Same framing as :func:`stft`;
    no complex dtype and no FFT op, so it runs on LiteRT builtins, supports any ``n_fft`` and can be trained.
    """
    frame_length = kernel.shape[0]
    frames = _frames_for_stft(signals, n_fft, hop_length, frame_length, center, pad_mode, pad_begin, pad_end)
    product = _backend.matmul(frames, kernel)
    n_freq = n_fft // 2 + 1
    return product[..., :n_freq], product[..., n_freq:]


def istft(
    stfts,
    n_fft: int,
    hop_length: int,
    window,
    *,
    center: bool = False,
):
    """Inverse of :func:`stft` by windowed overlap-add: ``(..., frames, n_fft // 2 + 1)`` to ``(..., samples)``.

    Without ``center`` (kapre, ``tf.signal.inverse_stft``) ``window`` is the synthesis window, ``win_length``
    values: the forward window divided by its overlapped sum of squares
    (:func:`kapre.constants.inverse_stft_window`); the result has ``(frames - 1) * hop_length + win_length``
    samples. With ``center`` (librosa) ``window`` is the forward window centred in ``n_fft`` values; the
    overlap-added signal is divided, sample by sample, by the overlap-added squared window (so the edges, which
    fewer frames cover, come out right too) and the ``n_fft // 2`` padded samples are removed at both ends.
    """
    chunks = _static_frame_chunks(tuple(stfts.shape[:-1]) + (n_fft,))
    signal = _backend.windowed_overlap_add(stfts, n_fft, hop_length, window, chunks)
    if center:
        squared = ops.broadcast_to(window * window, (ops.shape(stfts)[-2], window.shape[0]))
        window_sum = overlap_add(squared, hop_length)
        tiny = 1e-10 if keras_backend.standardize_dtype(window.dtype) == "float32" else 1e-30
        signal = signal / ops.where(window_sum > tiny, window_sum, ops.ones_like(window_sum))
        half = n_fft // 2
        signal = signal[..., half : ops.shape(signal)[-1] - half]
    return signal


def magnitude(spectrum):
    """``|spectrum|`` of a complex tensor (gradients are 0, not NaN, at exact zeros on every backend)."""
    return _backend.magnitude(spectrum)


def power(spectrum):
    """``|spectrum| ** 2``: ``real**2 + imag**2`` of a complex tensor (no square root), ``x**2`` of a real one."""
    if "complex" not in str(spectrum.dtype):
        return ops.square(spectrum)
    real, imag = ops.real(spectrum), ops.imag(spectrum)
    return real * real + imag * imag


def safe_sqrt(x):
    """``sqrt(x)`` of a non-negative tensor with gradient 0 (not NaN or inf) where ``x`` is 0.

    Only compare, select and square root: LiteRT builtins. The square root is taken of ``x`` with its zeros replaced
    by 1, and the result is set to 0 there, so neither branch has an infinite derivative.
    """
    nonzero = x > 0
    root = ops.sqrt(ops.where(nonzero, x, ops.ones_like(x)))
    return ops.where(nonzero, root, ops.zeros_like(x))


def magnitude_from_parts(real, imag):
    """``sqrt(real**2 + imag**2)`` of a spectrum held as two real tensors, with gradient 0 (not NaN) at 0
    (:func:`safe_sqrt`; only LiteRT builtins)."""
    return safe_sqrt(real * real + imag * imag)


# Terms of the arctan continued fraction evaluated at most: after range reduction to |z| <= 1 the fraction
# converges faster than (sqrt(2) - 1) ** (2 * terms), so more terms do not change a float32 or float64 result.
_MAX_ATAN_TERMS = 40


def atan2_continued_fraction(y, x, n_terms: int):
    """``atan2(y, x)`` from the continued fraction of arctan, with only ``+ - * /`` and ``where``.

    The argument is first reduced to ``|z| <= 1`` (octant symmetry), where the fraction converges fast; so the
    result is accurate for every input, including ``x == 0`` (``+-pi/2``) and ``x == y == 0`` (0).
    ``n_terms`` above 40 are not evaluated, as they do not change the result.
    """
    y, x, _ = _scaled_to_unit(y, x)  # finite gradients at tiny magnitudes
    abs_x, abs_y = ops.abs(x), ops.abs(y)
    larger = _backend.maximum(abs_x, abs_y)
    smaller = _backend.minimum(abs_x, abs_y)
    ratio = smaller / ops.where(larger > 0, larger, ops.ones_like(larger))
    ratio_sq = ratio * ratio
    terms = max(1, min(int(n_terms), _MAX_ATAN_TERMS))
    denominator = ops.full_like(ratio, 2.0 * terms + 1.0)
    for k in range(terms, 0, -1):
        denominator = (2.0 * k - 1.0) + (k * k) * ratio_sq / denominator
    angle = ratio / denominator
    angle = ops.where(abs_y > abs_x, math.pi / 2 - angle, angle)
    angle = ops.where(x < 0, math.pi - angle, angle)
    return ops.where(y < 0, -angle, angle)


def _scaled_to_unit(y, x):
    """``(y, x)`` divided by ``max(|x|, |y|)`` (1 where both are 0), the divisor held constant for the gradient.

    An angle is scale invariant, so its value is unchanged and the gradient stays exact (the derivative along
    the scale is 0), but ``x**2 + y**2`` (in the derivative ``-y / (x**2 + y**2)``) can no longer underflow to 0
    and give inf or NaN at tiny bins (1e-30 in float32). Also returns where both are exactly 0.
    """
    scale = ops.stop_gradient(_backend.maximum(ops.abs(x), ops.abs(y)))
    zero = ops.equal(scale, 0.0)
    scale = ops.where(zero, ops.ones_like(scale), scale)
    return y / scale, x / scale, zero


def safe_angle(real, imag):
    """``arctan2(imag, real)`` with finite gradients at any magnitude (:func:`_scaled_to_unit`); the gradient is 0
    where both parts are exactly zero (the value there is ``arctan2(0, 0) = 0``); the inputs' float dtype is kept
    (:func:`kapre._backend.arctan2`)."""
    unit_imag, unit_real, zero = _scaled_to_unit(imag, real)
    return _backend.arctan2(unit_imag, ops.where(zero, ops.ones_like(unit_real), unit_real))


def phase(spectrum, approx_atan_accuracy: int | None = None):
    """Phase (radians, in ``[-pi, pi]``) of a complex tensor, with a zero gradient at exactly-zero bins;
    ``approx_atan_accuracy`` selects the continued-fraction arctan (:func:`atan2_continued_fraction`) that LiteRT's
    builtin ops can run."""
    real, imag = ops.real(spectrum), ops.imag(spectrum)
    if approx_atan_accuracy:
        return atan2_continued_fraction(imag, real, approx_atan_accuracy)
    return safe_angle(real, imag)


def magnitude_to_decibel(
    x,
    ref_value: float | str = 1.0,
    amin: float = 1e-5,
    dynamic_range: float | None = 80.0,
    amplitude: bool = False,
):
    """Decibels of ``x``, with a floor ``dynamic_range`` dB below the maximum of each example.

    ``factor * log10(max(x, amin)) - factor * log10(max(amin, ref))``, ``factor`` 10 (power-like input, kapre's
    default) or 20 (``amplitude=True``). ``ref_value='max'`` uses the maximum of each example as the reference.
    For a tensor of rank >= 2 the first axis is the batch: the maximum is taken per example, over all other
    axes; a 1-D tensor is one example. ``dynamic_range=None`` applies no floor.
    """
    return reference_decibel(decibel(x, amin, amplitude), ref_value, amin, dynamic_range, amplitude, in_place=True)


def effective_amin(amin: float, dtype) -> float:
    """``amin`` raised to the smallest normal number of ``dtype`` (1.2e-38 for float32) if below it.

    A smaller ``amin`` would round to 0 (or a subnormal) in ``dtype``, so ``log10`` of a silent bin would be
    ``-inf`` and the reference and floor ``-inf - -inf = NaN``; at the smallest normal the decibels of silence are
    finite (about -379 dB in float32, -3077 dB in float64).
    """
    return max(float(amin), float(np.finfo(keras_backend.standardize_dtype(dtype)).tiny))


def decibel(x, amin: float = 1e-5, amplitude: bool = False):
    """``factor * log10(max(x, amin))`` (``factor`` 10, or 20 with ``amplitude``): the first step of
    :func:`magnitude_to_decibel`, elementwise, so it can run on a part of the data. ``amin`` below the dtype's
    smallest normal number counts as that number (:func:`effective_amin`): finite for every finite ``x``."""
    factor = 20.0 if amplitude else 10.0
    floor = ops.convert_to_tensor(effective_amin(amin, x.dtype), dtype=x.dtype)
    return factor * ops.log10(_backend.maximum(x, floor))


def reference_decibel(
    log_spec,
    ref_value: float | str = 1.0,
    amin: float = 1e-5,
    dynamic_range: float | None = 80.0,
    amplitude=False,
    in_place: bool = False,
):
    """The rest of :func:`magnitude_to_decibel` on :func:`decibel`'s output: subtract the reference, apply the floor.

    The reference ``'max'`` is the largest value of each example: ``log10`` is monotonic, so the maximum of
    the decibels is the decibel of the maximum. ``in_place=True`` lets PyTorch write the result into
    ``log_spec`` where no gradient is recorded (for a temporary the caller owns: no second full-size tensor).
    """
    rank = len(log_spec.shape)
    reduce_axes = tuple(range(1, rank)) if rank > 1 else None
    if isinstance(ref_value, str):  # 'max', validated by the caller
        log_spec = log_spec - _example_max(log_spec, reduce_axes)
    else:
        offset = (20.0 if amplitude else 10.0) * math.log10(max(amin, ref_value))
        if offset != 0.0:  # ref_value 1.0 (the default) needs no pass over the data
            log_spec = log_spec - offset
    if dynamic_range is not None:
        floor = _example_max(log_spec, reduce_axes) - dynamic_range
        log_spec = _backend.maximum(log_spec, floor, in_place=in_place)
    return log_spec


def _example_max(x, axes):
    """``ops.max(x, axes, keepdims=True)``; for an empty batch (a static 0 in the shape) the empty result of that
    shape: Keras' ``ops.max`` raises on any empty tensor (TensorFlow eager, PyTorch), even where the reduced axes
    are not empty."""
    if 0 in x.shape:
        kept = [1 if axes is None or axis in axes else size for axis, size in enumerate(x.shape)]
        return ops.zeros(kept, dtype=x.dtype)
    return ops.max(x, axis=axes, keepdims=True)


def apply_filterbank(x, filterbank, freq_axis: int):
    """Map the frequency axis of ``x`` through ``filterbank`` ``(n_freq, n_filters)``; other axes stay put."""
    rank = len(x.shape)
    freq_axis = freq_axis % rank
    if freq_axis == rank - 1:
        return _backend.matmul(x, filterbank)
    moved = ops.moveaxis(x, freq_axis, -1)
    return ops.moveaxis(_backend.matmul(moved, filterbank), -1, freq_axis)


def delta(x, win_length: int = 5, mode: str = "symmetric", time_axis: int = 1):
    """kapre's delta along ``time_axis``: ``sum_k k * (x[t + k] - x[t - k]) / (2 * sum_k k**2)``, k = 1..n.

    ``n = (win_length - 1) // 2``; the time axis is padded by ``n`` with ``mode`` (``'symmetric'``,
    ``'reflect'`` or ``'constant'``) so the output has the input's shape.
    """
    half = (win_length - 1) // 2
    denominator = 2.0 * sum(k * k for k in range(1, half + 1))
    rank = len(x.shape)
    time_axis = time_axis % rank
    x_t = ops.moveaxis(x, time_axis, -1) if time_axis != rank - 1 else x
    padded = pad_along_axis(x_t, half, half, mode=mode.lower())
    length = ops.shape(x_t)[-1]
    total = None
    for k in range(1, half + 1):
        diff = padded[..., half + k : half + k + length] - padded[..., half - k : half - k + length]
        term = diff * float(k) if k > 1 else diff
        total = term if total is None else total + term
    result = total / denominator
    return ops.moveaxis(result, -1, time_axis) if time_axis != rank - 1 else result


def frequency_map(n_freq: int, dtype: str):
    """``n_freq`` values rising linearly from 0 to 1 (the normalised frequency of each bin), in ``dtype``."""
    return ops.cast(ops.linspace(0.0, 1.0, n_freq), dtype)


def mu_law_encoding(signal, quantization_channels: int):
    """Mu-law companding of ``[-1, 1]`` floats to int32 codes in ``[0, quantization_channels - 1]``."""
    mu = quantization_channels - 1.0
    compressed = ops.sign(signal) * ops.log1p(mu * ops.abs(signal)) / math.log1p(mu)
    return ops.cast(ops.floor((compressed + 1.0) / 2.0 * mu + 0.5), "int32")


def mu_law_decoding(signal_mu, quantization_channels: int, dtype: str = "float32"):
    """Inverse of :func:`mu_law_encoding`: codes in ``[0, quantization_channels - 1]`` to floats in ``[-1, 1]``;
    a code outside that range counts as the nearest end (-1 or 1), not an overflow to inf."""
    mu = quantization_channels - 1.0
    signal = ops.clip(ops.cast(signal_mu, dtype), 0.0, mu) / mu * 2.0 - 1.0
    return ops.sign(signal) * (ops.exp(ops.abs(signal) * math.log1p(mu)) - 1.0) / mu


def power_spectrogram(signals, n_fft: int, hop_length: int, window):
    """``|stft(signals)| ** 2`` without a complex output: ``(..., samples)`` to ``(..., frames, n_fft // 2 + 1)``.

    The framing of :func:`stft` with ``center=False`` and no padding (frames of ``len(window)`` samples every
    ``hop_length``, zero-padded to ``n_fft``); the backend's own framing op where it has one
    (:func:`kapre._backend.frame`) and ``re**2 + im**2`` taken right after the FFT.
    """
    return _backend.rfft_power(_native_frame(signals, window.shape[0], hop_length) * window, n_fft)


def apply_filterbank_blocks(x, blocks):
    """``x @ filterbank`` over the last axis, from the dense blocks of a sparse filterbank.

    ``blocks`` is a sequence of ``(row_start, row_stop, weights)``, ``weights`` a ``(row_stop - row_start, k)``
    tensor (see :func:`kapre.constants.filterbank_blocks`); the blocks' outputs are concatenated in order.
    """
    parts = [_backend.matmul(x[..., start:stop], weights) for start, stop, weights in blocks]
    return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)


def _static_frame_chunks(frames_shape) -> list[tuple[int, int]] | None:
    """The chunk plan of a ``(..., frames, frame_length)`` tensor (:func:`kapre._frames.static_frame_chunks`) at
    about :data:`CHUNK_SAMPLES` samples per chunk; ``None`` when a dimension is unknown."""
    return static_frame_chunks(frames_shape, CHUNK_SAMPLES)


def map_frame_chunks(
    fn, signals, frame_length: int, hop_length: int, per_chunk: int, max_chunks: int = 16, loop: bool = False
):
    """``fn(signals)`` computed a chunk of frames at a time, the chunks' results joined on axis ``-2``.

    ``fn`` maps ``(..., samples)`` to ``(..., frames, features)`` with ``center=False`` framing (``frame_length``,
    ``hop_length``); frames ``f0:f1`` read samples ``f0 * hop_length`` to ``(f1 - 1) * hop_length +
    frame_length``, so the joined result equals ``fn(signals)``. Working on about ``per_chunk`` frames at a time
    keeps the full-size intermediates (frames, spectrum, power) in the CPU cache: on the W1 log-mel benchmark
    this cut PyTorch's time to a quarter and TensorFlow's by a fifth.

    Two ways to run the chunks: unrolled (each chunk a separate call of ``fn``, at most ``max_chunks`` of them,
    larger ones beyond that), or with ``loop=True`` one call of ``fn`` inside :func:`keras.ops.map` over
    equal chunks (a compiled loop whose body the compiler sees once), and the remaining frames in one more call;
    the loop needs static leading dimensions (unrolled otherwise). Without a static length, or with a single
    chunk, this is ``fn(signals)``.
    """
    total = num_frames(signals.shape[-1], frame_length, hop_length)
    if not total or total <= per_chunk:
        return fn(signals)
    if loop and None not in signals.shape[:-1]:
        return _loop_frame_chunks(fn, signals, frame_length, hop_length, total, per_chunk)
    chunks = frame_chunks(total, max(per_chunk, -(-total // max_chunks)))
    parts = [fn(signals[..., f0 * hop_length : (f1 - 1) * hop_length + frame_length]) for f0, f1 in chunks]
    return ops.concatenate(parts, axis=-2)


def _loop_frame_chunks(fn, signals, frame_length: int, hop_length: int, total: int, per_chunk: int):
    """:func:`map_frame_chunks` with ``loop=True``: chunks of ``size`` frames (the largest size of
    :func:`frame_chunks`, at most ``per_chunk``) through ``keras.ops.map``, the frames left (fewer than ``size``)
    in one more call."""
    size = -(-total // -(-total // per_chunk))
    steps = total // size
    leading = list(signals.shape[:-1])
    span = (size - 1) * hop_length + frame_length  # samples read by one chunk

    def one_chunk(index):
        start = [0] * len(leading) + [index * (size * hop_length)]
        return fn(ops.slice(signals, start, leading + [span]))

    looped = ops.map(one_chunk, ops.arange(steps, dtype="int32"))  # (steps, ..., size, features)
    looped = ops.moveaxis(looped, 0, -3)
    looped = ops.reshape(looped, tuple(leading) + (steps * size, looped.shape[-1]))
    done = steps * size
    if done == total:
        return looped
    return ops.concatenate([looped, fn(signals[..., done * hop_length :])], axis=-2)


# ---------------------------------------------------------------------------------------------------------------
# Per-frame processing of Kaldi and the model front-ends (kapre.frontends)
# ---------------------------------------------------------------------------------------------------------------


def decimate_by_two(signals, decimator):
    """``(rows, samples)`` low-passed and decimated by two where the low-pass fits inside the signal (no padding):
    output ``m`` is centred on input ``taps // 2 + 2 m``; whole blocks only, so up to ``2 * block + taps - 2``
    samples at the end give no output. ``decimator``: the low-pass as :func:`kapre.constants.decimation_matrix`
    ``(2 * block + taps - 1, block)``: frames of that many samples every ``2 * block`` samples, times the matrix,
    give ``block`` outputs each (a matrix product runs at full speed on every backend)."""
    span, block = decimator.shape
    decimated = _frames_times(signals, span, 2 * block, decimator)
    rows, n_blocks = (size if _is_static(size) else ops.shape(decimated)[axis]
                      for axis, size in enumerate(decimated.shape[:2]))
    return ops.reshape(decimated, (rows, n_blocks * block))


def _frames_times(signals, frame_length: int, hop_length: int, matrix):
    """The frames of ``(rows, samples)`` times ``matrix``: ``(rows, frames, matrix columns)``, as one 2-D product
    (PyTorch runs a 3-D product of strided frames as a batched one over copies: 10x slower)."""
    frames = _native_frame(signals, frame_length, hop_length)
    rows, n_frames = (size if _is_static(size) else ops.shape(frames)[axis]
                      for axis, size in enumerate(frames.shape[:2]))
    product = _backend.matmul(ops.reshape(frames, (rows * n_frames, frame_length)), matrix)
    return ops.reshape(product, (rows, n_frames, matrix.shape[1]))


def constant_q_tensors(plan, dtype: str) -> dict:
    """A :class:`kapre.params.ConstantQPlan`'s arrays as ``dtype`` tensors, in the form :func:`constant_q` takes."""
    return {
        "octaves": [(g.decimations, g.first_offset, _backend.constant(g.kernel, dtype)) for g in plan.octaves],
        "decimator": _backend.constant(plan.decimator, dtype),
        "reach": plan.reach,
        "margin": plan.margin,
        "margin_after": plan.margin_after,
    }


def constant_q(signals, plan: dict, hop_length: int, pad_mode: str = "constant"):
    """The constant-Q (or variable-Q) transform of ``(rows, samples)`` float signals by the octave recursion:
    ``(real, imag)``, each ``(rows, 1 + samples // hop_length, n_bins)``, bins from low to high.

    ``plan``: :func:`constant_q_tensors` of :meth:`kapre.params.ConstantQ.plan`: ``octaves``, ``(decimations,
    first_offset, kernel)`` per group of bins from the top down, decimations never decreasing; the decimation
    low-pass as a ``decimator`` matrix; ``reach``, ``margin`` and ``margin_after``. The signal is padded by
    ``reach`` samples at both ends (``pad_mode``) and by zeros to the margins (once: each decimation reads only
    inside the signal, the margins absorbing the samples it drops); then each group's frames, centred on every
    ``hop_length`` samples, are read from the signal decimated ``decimations`` times and multiplied by the
    group's kernel: one framing and one matrix product per group, the low groups at a fraction of the rate.
    """
    length = signals.shape[-1] if _is_static(signals.shape[-1]) else ops.shape(signals)[-1]
    n_frames = 1 + length // hop_length
    reach, before, after = plan["reach"], plan["margin"], plan["margin_after"]
    if pad_mode == "constant":
        x = pad_along_axis(signals, before, after)
    else:  # the frames read the mirrored reach; the decimation's ringing beyond it runs into zeros
        x = pad_along_axis(pad_along_axis(signals, reach, reach, mode=pad_mode), before - reach, after - reach)
    decimator = plan["decimator"]
    half_taps = (decimator.shape[0] - 2 * decimator.shape[1]) // 2  # the low-pass reaches taps // 2 each side
    position, level, reals, imags = -before, 0, [], []  # position: the signal sample x[:, 0] stands for
    for decimations, first_offset, kernel in plan["octaves"]:
        while level < decimations:
            step = 2**level
            # start one sample later where needed, so that the decimated samples fall on multiples of 2 * step
            skip = ((position + half_taps * step) // step) % 2
            x = decimate_by_two(x[:, skip:], decimator)
            position += (skip + half_taps) * step
            level += 1
        step = 2**decimations
        hop, taps = hop_length // step, kernel.shape[0]
        start = -position // step + first_offset
        segment = x[:, start : start + (n_frames - 1) * hop + taps]
        product = _frames_times(segment, taps, hop, kernel)
        n_group = kernel.shape[1] // 2
        reals.append(product[..., :n_group])
        imags.append(product[..., n_group:])
    return ops.concatenate(reals[::-1], axis=-1), ops.concatenate(imags[::-1], axis=-1)


_CONSTANT_Q_FUNCTIONS: dict = {}  # (arguments, dtype) -> (reach, compiled transform): the last 16 used


def cqt(signals, sr: float = 22050, hop_length: int = 512, fmin: float | None = None, n_bins: int = 84,
        bins_per_octave: int = 12, tuning: float = 0.0, filter_scale: float = 1.0, norm=1, window: str = "hann",
        scale: bool = True, pad_mode: str = "constant"):
    """The constant-Q transform of ``(..., samples)`` float signals, as ``librosa.cqt`` with the same arguments and
    defaults (``fmin=None``: C1, 32.7 Hz): complex ``(..., 1 + samples // hop_length, n_bins)``, computed in
    float64 for float64 signals, else float32. See :class:`kapre.CQT`."""
    return vqt(signals, sr, hop_length, fmin, n_bins, bins_per_octave, tuning, filter_scale, norm, window, scale,
               pad_mode, gamma=0.0)


def vqt(signals, sr: float = 22050, hop_length: int = 512, fmin: float | None = None, n_bins: int = 84,
        bins_per_octave: int = 12, tuning: float = 0.0, filter_scale: float = 1.0, norm=1, window: str = "hann",
        scale: bool = True, pad_mode: str = "constant", gamma: float | None = None):
    """The variable-Q transform of ``(..., samples)`` float signals, as ``librosa.vqt`` (``gamma=None``: its
    ERB-proportional default; ``0``: the constant-Q transform): complex ``(..., 1 + samples // hop_length,
    n_bins)``. See :class:`kapre.VQT`."""
    from kapre.params import ConstantQ  # kapre.params imports nothing of this module; kept local all the same

    arguments = (sr, hop_length, fmin, n_bins, bins_per_octave, tuning, filter_scale, norm, window, scale, pad_mode,
                 gamma)
    transform = ConstantQ.resolve(*arguments)
    dtype = "float64" if keras_backend.standardize_dtype(signals.dtype) == "float64" else "float32"
    shape = ops.shape(signals)
    leading = tuple(shape[:-1])
    rows = math.prod(leading) if all(_is_static(size) for size in leading) else -1
    flat = ops.reshape(ops.cast(signals, dtype), (rows, shape[-1]))
    key = (repr(arguments), dtype)
    compiled = _CONSTANT_Q_FUNCTIONS.get(key)
    if compiled is None:  # the plan built once per transform; compiled where eager mode runs op by op (JAX)
        plan = transform.plan()
        tensors = constant_q_tensors(plan, dtype)
        compiled = (plan.reach, _backend.compile_function(
            lambda x: constant_q(x, tensors, hop_length=transform.hop_length, pad_mode=transform.pad_mode)))
        if len(_CONSTANT_Q_FUNCTIONS) >= 16:
            _CONSTANT_Q_FUNCTIONS.pop(next(iter(_CONSTANT_Q_FUNCTIONS)))
        _CONSTANT_Q_FUNCTIONS[key] = compiled
    reach, function = compiled
    transform.check_length("kapre.functional.vqt", flat.shape[-1], reach)
    real, imag = function(flat)
    spectrum = _backend.make_complex(real, imag)
    return ops.reshape(spectrum, (*leading, ops.shape(spectrum)[-2], transform.n_bins))


def mirror_edges(signals, frame_length: int, hop_length: int, n_frames: int, left: int):
    """The samples ``n_frames`` frames of Kaldi read, in order: frame ``t`` of the result (``center=False``
    framing, :func:`frames_of`) reads samples ``t * hop_length - left`` onwards of ``signals``, samples outside the
    signal mirrored at its edges with the edge sample repeated (Kaldi's ``ExtractWindow`` with
    ``snip_edges=False``: ``s < 0`` reads ``-s - 1``, ``s >= n`` reads ``2 n - 1 - s``). ``left`` may be negative
    (samples skipped); ``left=0`` with ``n_frames`` whole frames is ``snip_edges=True`` (the tail that no frame
    reads is cut). The caller checks that each side needs at most the signal's length (one reflection, as
    Kaldi)."""
    length = signals.shape[-1]
    right = (n_frames - 1) * hop_length + frame_length - left - length
    if left < 0:
        signals, left = signals[..., -left:], 0
    if right < 0:
        signals, right = signals[..., : signals.shape[-1] + right], 0
    return pad_along_axis(signals, left, right, mode="symmetric")


def frames_of(x, frame_length: int, hop_length: int):
    """:func:`frame` without end padding, by the backend's own framing op where it has one (a strided view on
    PyTorch, one op on TensorFlow): ``(..., samples)`` to ``(..., frames, frame_length)``."""
    return _native_frame(x, frame_length, hop_length)


def remove_dc_offset(frames):
    """Each frame minus its mean (``(..., frame_length)``)."""
    return frames - ops.mean(frames, axis=-1, keepdims=True)


def preemphasis(frames, coefficient: float):
    """``x[n] - coefficient * x[n - 1]`` within each frame, the first sample against itself (Kaldi's rule:
    ``x[0] - coefficient * x[0]``)."""
    if coefficient == 0.0:
        return frames
    previous = ops.concatenate([frames[..., :1], frames[..., :-1]], axis=-1)
    return frames - coefficient * previous


def log_energy(frames, energy_floor: float = 0.0, epsilon: float = float(np.finfo(np.float32).eps)):
    """Kaldi's log energy of each frame, ``log(max(sum(x ** 2), epsilon))``, at least ``log(energy_floor)`` when
    ``energy_floor > 0``: ``(..., frame_length)`` to ``(...)``."""
    energy = ops.log(_backend.maximum(ops.sum(ops.square(frames), axis=-1), ops.cast(epsilon, frames.dtype)))
    if energy_floor > 0.0:
        energy = _backend.maximum(energy, ops.cast(math.log(energy_floor), frames.dtype))
    return energy


def log_with_floor(x, kind: str, floor: float = 0.0, offset: float = 0.0):
    """The logarithms of the model front-ends, elementwise: ``kind`` ``'ln'`` is ``log(max(x + offset, floor))``
    (Kaldi: ``floor`` the float32 epsilon; YAMNet/VGGish: ``offset`` 0.001/0.01), ``'log10'`` is
    ``log10(max(x + offset, floor))`` (Whisper: ``floor`` 1e-10) and ``'db'`` is ``10 log10(max(x + offset,
    floor))`` (:func:`decibel`). A positive ``floor`` below the dtype's smallest normal counts as that number
    (:func:`effective_amin`)."""
    if offset:
        x = x + ops.cast(offset, x.dtype)
    if floor > 0.0 or not offset:  # without an offset a floor keeps log(0) finite
        x = _backend.maximum(x, ops.cast(effective_amin(floor, x.dtype), x.dtype))
    if kind == "ln":
        return ops.log(x)
    if kind == "log10":
        return ops.log10(x)
    if kind == "db":
        return 10.0 * ops.log10(x)
    raise ValueError(f"log kind must be 'ln', 'log10' or 'db', received {kind!r}.")


def floor_below_max(x, dynamic_range: float, axes=None):
    """``max(x, max(x) - dynamic_range)``, the maximum taken over ``axes`` of each example (``None``: every axis
    but the first), or over the whole tensor with ``axes='all'`` (Whisper's own rule for a batch)."""
    if axes == "all":
        top = ops.max(x) if 0 not in x.shape else ops.zeros((), x.dtype)
    else:
        top = _example_max(x, tuple(range(1, len(x.shape))) if axes is None else axes)
    return _backend.maximum(x, top - dynamic_range)


def centered_matmul(x, matrix, column_sums):
    """``x @ matrix`` over the last axis, summed as ``(x - mean(x)) @ matrix + mean(x) * column_sums``.

    For a DCT of log energies (values of one sign, tens of dB): float32 sums of 128 such terms lose about ten
    float32 steps of the result; centred, the terms are small and of both signs (measured: 5x smaller error).
    ``column_sums`` is ``matrix.sum(axis=0)`` computed in float64 (a tensor of the matrix's dtype).
    """
    mean = ops.mean(x, axis=-1, keepdims=True)
    return _backend.matmul(x - mean, matrix) + mean * column_sums


# -- chroma (kapre.Chroma) -------------------------------------------------------------------------------------------


def normalize(x, norm=np.inf, axis: int = -1, threshold: float | None = None):
    """``x`` divided by its ``norm`` along ``axis``, as ``librosa.util.normalize(x, norm=norm, axis=axis)``.

    ``norm``: ``np.inf`` (maximum of ``|x|``), ``-np.inf`` (minimum), ``0`` (number of non-zeros), ``p > 0`` (the
    p-norm) or ``None`` (``x`` unchanged). Slices whose norm is below ``threshold`` (``None``: the smallest normal
    number of ``x``'s dtype, librosa's default) are left as they are (librosa's ``fill=None``). The p-norm is
    taken of ``|x| / max |x|`` and scaled back, so it neither overflows nor underflows in float32, and its
    gradient is finite at an all-zero slice.

    Example:
        >>> import numpy as np
        >>> from kapre import functional
        >>> np.asarray(functional.normalize(np.array([[1.0, 2.0, 4.0], [0.0, 0.0, 0.0]]))).tolist()
        [[0.25, 0.5, 1.0], [0.0, 0.0, 0.0]]
    """
    if norm is None:
        return x
    x = ops.convert_to_tensor(x)  # the dtype the backend computes in (float64 NumPy is float32 on JAX without x64)
    dtype = keras_backend.standardize_dtype(x.dtype)
    floor = float(np.finfo(dtype).tiny) if threshold is None else float(threshold)
    magnitude = ops.abs(x)
    if norm == np.inf:
        length = ops.max(magnitude, axis=axis, keepdims=True)
    elif norm == -np.inf:
        length = ops.min(magnitude, axis=axis, keepdims=True)
    elif norm == 0:
        length = ops.sum(ops.cast(magnitude > 0, dtype), axis=axis, keepdims=True)
    else:
        top = ops.max(magnitude, axis=axis, keepdims=True)
        nonzero = top > 0
        one = ops.ones_like(top)
        top = ops.where(nonzero, top, one)
        ratio = magnitude / top
        if norm == 1:
            total = ops.sum(ratio, axis=axis, keepdims=True)
        elif norm == 2:
            total = ops.sqrt(ops.where(nonzero, ops.sum(ops.square(ratio), axis=axis, keepdims=True), one))
        else:
            exponent = ops.convert_to_tensor(float(norm), dtype)  # (a Python float is float32 on PyTorch)
            total = ops.where(nonzero, ops.sum(ops.power(ratio, exponent), axis=axis, keepdims=True), one)
            total = ops.power(total, ops.convert_to_tensor(1.0 / float(norm), dtype))
        length = ops.where(nonzero, top * total, ops.zeros_like(top))
    return x / ops.where(length < floor, ops.ones_like(length), length)


def zero_below(x, threshold: float):
    """``x`` with the values below ``threshold`` set to 0 (``librosa.feature.chroma_cqt``'s ``threshold``)."""
    return ops.where(x < threshold, ops.zeros_like(x), x)


__all__ += ["normalize", "zero_below"]


_RESAMPLE_KERNELS: dict = {}  # (Resampling, dtype) -> kernel tensor, for resample(): the last 16 used


def resample_conv_kernel(resampling, dtype: str):
    """The kernel of :func:`apply_resample_kernel` for a :class:`kapre.params.Resampling`: ``(taps, 1, phases)``
    in ``dtype``, created outside any trace."""
    return _backend.constant(resampling.build().T[:, None, :], dtype)


def _cached_resample_kernel(resampling, dtype: str):
    """:func:`resample_conv_kernel`, built once per parameters and dtype (the functional form is called per batch)."""
    key = (resampling, dtype)
    kernel = _RESAMPLE_KERNELS.get(key)
    if kernel is None:
        if len(_RESAMPLE_KERNELS) >= 16:
            _RESAMPLE_KERNELS.pop(next(iter(_RESAMPLE_KERNELS)))
        kernel = _RESAMPLE_KERNELS[key] = resample_conv_kernel(resampling, dtype)
    return kernel


def apply_resample_kernel(signals, kernel, orig: int, new: int, width: int):
    """Band-limited resampling of ``(..., samples)`` to ``(..., ceil(new * samples / orig))`` with a kernel of
    :func:`resample_conv_kernel` (``orig``, ``new``: the rates the kernel was built for, ``width``: its reach).

    The signal, zero-padded by ``width`` before and ``width + orig`` after, is convolved with ``new`` filters at a
    stride of ``orig`` (``torchaudio.functional.resample``'s computation): output step ``j`` is samples
    ``j * new .. (j + 1) * new - 1``. Measured against frames + matmul and a frame-free block matmul (16 x 10 s,
    float32, 2 CPU cores, ms, hann / kaiser_best): the strided convolution was the fastest or close to it for every
    ratio on every backend, the others 2-20x slower somewhere (frames + matmul: 8 -> 48 kHz kaiser_best 290-1800 ms;
    44.1 -> 16 kHz, convolution: JAX 33 / 44, TensorFlow 124 / 278, PyTorch 52 / 128, torchaudio 195 / 241).
    """
    shape = ops.shape(signals)
    leading, length = tuple(shape[:-1]), shape[-1]
    static = all(_is_static(size) for size in (*leading, length))
    rows = math.prod(leading) if static else -1
    x = ops.reshape(signals, (rows, length))
    x = ops.pad(x, [(0, 0), (width, width + orig)])
    y = ops.conv(ops.expand_dims(x, -1), kernel, strides=orig, padding="valid", data_format="channels_last")
    steps = y.shape[1] if _is_static(y.shape[1]) else ops.shape(y)[1]
    y = ops.reshape(y, (rows, steps * new))
    target = (new * length + orig - 1) // orig  # exact: ceil(new * length / orig)
    return ops.reshape(y[:, :target], (*leading, target))


def resample(signals, orig_freq, new_freq, lowpass_filter_width: int = 6, rolloff: float = 0.99,
             resampling_method: str = "sinc_interp_hann", beta: float | None = None, quality: str | None = None):
    """``signals`` ``(..., samples)`` resampled from ``orig_freq`` to ``new_freq`` Hz, as
    ``torchaudio.functional.resample`` (arguments and ``quality`` presets as :class:`kapre.Resample`): ``(...,
    ceil(new_freq * samples / orig_freq))``, computed in float64 for float64 signals, else float32. Equal rates
    return ``signals`` unchanged."""
    from kapre.params import Resampling  # kapre.params imports nothing of this module; kept local all the same

    resampling = Resampling.resolve(orig_freq, new_freq, lowpass_filter_width, rolloff, resampling_method, beta,
                                    quality)
    if resampling.identity:
        return signals
    dtype = "float64" if keras_backend.standardize_dtype(signals.dtype) == "float64" else "float32"
    signals = ops.cast(signals, dtype)
    phases = resampling.phases
    return apply_resample_kernel(signals, _cached_resample_kernel(resampling, dtype), resampling.orig * phases,
                                 resampling.new * phases, resampling.width)


# ==== section: pcen (issue 18) ====
# ==== end section: pcen ====


# ==== section: leaf (issue 18) ====
# ==== end section: leaf ====


# ==== section: sincconv (issue 18) ====
# ==== end section: sincconv ====


# ==== section: inversion (issue 18) ====
# ==== end section: inversion ====
