"""Backend-agnostic audio operations, written with ``keras.ops``.

These are the functions behind kapre's layers (as ``torchaudio.functional`` is behind ``torchaudio.transforms``).
They take tensors and plain Python parameters, build no constants (windows and filterbanks come from
:mod:`kapre.constants`, converted once by the caller) and run the same on TensorFlow, JAX and PyTorch.

Signals are ``(..., samples)``; spectrograms are ``(..., frames, freq)``.
"""

from __future__ import annotations

import functools
import inspect
import math

import numpy as np
from keras import backend as keras_backend
from keras import ops

from kapre import _backend
from kapre._backend import portable as _portable
from kapre._backend.generic import frame as _reshape_frame
from kapre._frames import CHUNK_SAMPLES, frame_chunks, frames_per_chunk, num_frames, static_frame_chunks


def _float32_exact(fn):
    """``fn`` with its float32 matmuls and convolutions computed in float32 on a GPU or TPU, as in a layer's call
    (:meth:`kapre._layer.Layer.__call__`): JAX and PyTorch's cuDNN compute them in TF32 there by default (1e-2
    relative error found on an H200 in ``mfcc_to_mel``'s inverse DCT). Nothing changes on the CPU."""

    first = next(iter(inspect.signature(fn).parameters))  # the input, whose device the context is chosen by

    @functools.wraps(fn)
    def exact(*args, **kwargs):
        with _backend.float32_precision(args[0] if args else kwargs.get(first)):
            return fn(*args, **kwargs)

    return exact


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
    "filtered_power_spectrogram",
    "apply_filterbank_blocks",
    "frames_per_chunk",
    "chunk_samples_for",
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
    limit = None if not _is_static(length) else length - 1 if mode == "reflect" else length
    if limit is not None and (before > limit or after > limit):
        raise ValueError(
            f"{mode!r} padding of {max(before, after)} samples needs at least "
            f"{max(before, after) + (mode == 'reflect')} samples along the padded axis, received {length}. "
            "Use pad_mode='constant' or a longer input."
        )
    # slices and flips along the axis itself: no transposes (TFLiteConverter cannot carry transpose -> concat ->
    # transpose -> squeeze with builtin ops)
    offset = 1 if mode == "reflect" else 0
    lead = (slice(None),) * axis
    parts = []
    if before:
        parts.append(ops.flip(x[lead + (slice(offset, offset + before),)], axis=axis))
    parts.append(x)
    if after:
        parts.append(ops.flip(x[lead + (slice(-after - offset, -offset if offset else None),)], axis=axis))
    return ops.concatenate(parts, axis=axis)


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
    if _backend.EXPORTING:  # the export backend's framing: no length-dependent slice (a free length traces)
        return _backend.frame(x, frame_length, hop_length)
    return _reshape_frame(x, frame_length, hop_length)


def overlap_add(frames, hop_length: int):
    """Overlap-add ``(..., frames, frame_length)`` into ``(..., (frames - 1) * hop_length + frame_length)``."""
    return _backend.overlap_add(frames, hop_length)


@_float32_exact
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
    return _backend.windowed_rfft(frames, window, n_fft, _static_frame_chunks(frames.shape, frames))


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
    if not _is_static(length) or length < frame_length:  # unknown, or symbolic (an export's free length)
        return frame(x, frame_length, hop_length)
    return _backend.frame(x, frame_length, hop_length)


@_float32_exact
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
    chunks = _static_frame_chunks(tuple(stfts.shape[:-1]) + (n_fft,), stfts)
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
    real, imag = _backend.parts(spectrum)
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
    floor = ops.convert_to_tensor(effective_amin(amin, x.dtype), dtype=x.dtype)
    return _scaled_log10(_backend.maximum(x, floor), 20.0 if amplitude else 10.0)


def _scaled_log10(x, factor: float = 1.0):
    """``factor * log10(x)``; in export mode one scale after the natural log: ONNX's ``Log`` and a ``Mul`` (a
    ``log10`` exports as ``Log``, ``Div`` and, with a factor, ``Mul``)."""
    if _backend.EXPORTING:
        return ops.log(x) * (factor / math.log(10.0))
    return ops.log10(x) if factor == 1.0 else factor * ops.log10(x)


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
    """The maximum over ``axes``, kept as axes of 1; for an empty batch (a static 0 in the shape) the empty result
    of that shape: Keras' ``ops.max`` raises on any empty tensor (TensorFlow eager, PyTorch), even where the reduced
    axes are not empty."""
    if 0 in x.shape:
        kept = [1 if axes is None or axis in axes else size for axis, size in enumerate(x.shape)]
        return ops.zeros(kept, dtype=x.dtype)
    return _backend.reduce_max(x, axis=axes, keepdims=True)


@_float32_exact
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


@_float32_exact
def power_spectrogram(signals, n_fft: int, hop_length: int, window):
    """``|stft(signals)| ** 2`` without a complex output: ``(..., samples)`` to ``(..., frames, n_fft // 2 + 1)``.

    The framing of :func:`stft` with ``center=False`` and no padding (frames of ``len(window)`` samples every
    ``hop_length``, zero-padded to ``n_fft``); the backend's own framing op where it has one
    (:func:`kapre._backend.frame`) and ``re**2 + im**2`` taken right after the FFT.
    """
    if _backend.EXPORTING:  # the export backend frames, windows and transforms in one op chain (no frame tensor)
        return _portable.framed_rfft_power(signals, window, n_fft, hop_length)
    return _backend.rfft_power(_native_frame(signals, window.shape[0], hop_length) * window, n_fft)


@_float32_exact
def filtered_power_spectrogram(signals, n_fft: int, hop_length: int, window, filterbank: np.ndarray, blocks,
                               magnitude: bool = False, then=None, fused=None):
    """:func:`power_spectrogram` (its square root with ``magnitude``) times ``filterbank``, then ``then``
    (elementwise, e.g. :func:`decibel`; none if ``None``): ``(..., samples)`` to ``(..., frames,
    filterbank.shape[1])``, by the filterbank's dense ``blocks`` (:func:`apply_filterbank_blocks`).

    While a model is traced for export, the export backend's fused form where it applies
    (:func:`kapre._backend.portable.framed_filterbank_power`: the two-stage DFT with the filterbank's rows in its
    bin order, no frame tensor, no gather). Otherwise, with ``fused`` (what :func:`fused_filterbank_tail` built
    for the same ``blocks``, ``magnitude`` and ``then``, kept by the caller: it holds the compiled computation),
    the steps after the FFT run as the backend's one fused computation.
    """
    transform = safe_sqrt if magnitude else None
    if _backend.EXPORTING:
        fused_export = _portable.framed_filterbank_power(signals, window, n_fft, hop_length, filterbank, transform)
        if fused_export is not None:
            return then(fused_export) if then is not None else fused_export
    elif fused is not None and _backend.fusing():
        return fused(_backend.rfft(_native_frame(signals, window.shape[0], hop_length) * window, n_fft))
    return _filterbank_tail(power_spectrogram(signals, n_fft, hop_length, window), blocks, transform, then)


def _filterbank_tail(power, blocks, transform=None, then=None):
    if transform is not None:
        power = transform(power)
    filtered = apply_filterbank_blocks(power, blocks)
    return then(filtered) if then is not None else filtered


def fused_filterbank_tail(blocks, magnitude: bool = False, then=None):
    """The steps of :func:`filtered_power_spectrogram` after the FFT, ``spectrum -> then(transform(|spectrum| **
    2) @ filterbank)``, as the backend's one fused computation (:func:`kapre._backend.fused_power_tail`:
    TensorFlow on the CPU, one XLA cluster); ``None`` where the backend fuses nothing."""
    transform = safe_sqrt if magnitude else None
    return _backend.fused_power_tail(lambda power: _filterbank_tail(power, blocks, transform, then))


@_float32_exact
def apply_filterbank_blocks(x, blocks):
    """``x @ filterbank`` over the last axis, from the dense blocks of a sparse filterbank.

    ``blocks`` is a sequence of ``(row_start, row_stop, weights)``, ``weights`` a ``(row_stop - row_start, k)``
    tensor (see :func:`kapre.constants.filterbank_blocks`); the blocks' outputs are concatenated in order.
    """
    parts = [_backend.matmul(x[..., start:stop], weights) for start, stop, weights in blocks]
    return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)


# framed samples per chunk on an accelerator (chunk_samples_for): a 256 MiB float32 frame tensor, so that a long
# batch's intermediates stay a bounded share of the device's memory; every workload of the benchmark is one chunk
ACCELERATOR_CHUNK_SAMPLES = 2**26


def chunk_samples_for(x, target_samples: int = CHUNK_SAMPLES) -> int:
    """Samples per chunk for work on ``x``: ``target_samples`` (the CPU cache rule, :data:`CHUNK_SAMPLES`) on the
    CPU; on a GPU or TPU, :data:`ACCELERATOR_CHUNK_SAMPLES` (the larger of the two): there each chunk costs kernel
    launches and no CPU cache is to be kept warm (measured on an H200: W1 log-mel in 14 cache-sized chunks 2.6 ms,
    10x ``torch.stft``; 1,024 x 1 s in 49 chunks 7.0 ms)."""
    if _backend.on_accelerator(x):
        return max(ACCELERATOR_CHUNK_SAMPLES, target_samples)
    return target_samples


def _static_frame_chunks(frames_shape, x=None) -> list[tuple[int, int]] | None:
    """The chunk plan of a ``(..., frames, frame_length)`` tensor (:func:`kapre._frames.static_frame_chunks`) at
    about :data:`CHUNK_SAMPLES` samples per chunk, for work on ``x``; ``None`` when a dimension is unknown, or on an
    accelerator (no CPU cache to stay in: one FFT over every frame)."""
    return None if x is not None and _backend.on_accelerator(x) else static_frame_chunks(frames_shape, CHUNK_SAMPLES)


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
    if not _is_static(total) or not total or total <= per_chunk or max_chunks <= 1:
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


@_float32_exact
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
    if _backend.EXPORTING:  # kapre.export: a batched product, no reshape (tf2onnx 1.16 merges the reshapes around
        return _backend.matmul(frames, matrix[None])  # a 2-D product into a wrong Reshape [0, -1])
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


@_float32_exact
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


@_float32_exact
def cqt(signals, sr: float = 22050, hop_length: int = 512, fmin: float | None = None, n_bins: int = 84,
        bins_per_octave: int = 12, tuning: float = 0.0, filter_scale: float = 1.0, norm=1, window: str = "hann",
        scale: bool = True, pad_mode: str = "constant"):
    """The constant-Q transform of ``(..., samples)`` float signals, as ``librosa.cqt`` with the same arguments and
    defaults (``fmin=None``: C1, 32.7 Hz): complex ``(..., 1 + samples // hop_length, n_bins)``, computed in
    float64 for float64 signals, else float32. See :class:`kapre.CQT`."""
    return vqt(signals, sr, hop_length, fmin, n_bins, bins_per_octave, tuning, filter_scale, norm, window, scale,
               pad_mode, gamma=0.0)


@_float32_exact
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
        return _scaled_log10(x)
    if kind == "db":
        return _scaled_log10(x, 10.0)
    raise ValueError(f"log kind must be 'ln', 'log10' or 'db', received {kind!r}.")


def floor_below_max(x, dynamic_range: float, axes=None):
    """``max(x, max(x) - dynamic_range)``, the maximum taken over ``axes`` of each example (``None``: every axis
    but the first), or over the whole tensor with ``axes='all'`` (Whisper's own rule for a batch)."""
    if axes == "all":
        top = _backend.reduce_max(x) if 0 not in x.shape else ops.zeros((), x.dtype)
    else:
        top = _example_max(x, tuple(range(1, len(x.shape))) if axes is None else axes)
    return _backend.maximum(x, top - dynamic_range)


@_float32_exact
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
        length = _backend.reduce_max(magnitude, axis=axis, keepdims=True)
    elif norm == -np.inf:
        length = _backend.reduce_min(magnitude, axis=axis, keepdims=True)
    elif norm == 0:
        length = ops.sum(ops.cast(magnitude > 0, dtype), axis=axis, keepdims=True)
    else:
        top = _backend.reduce_max(magnitude, axis=axis, keepdims=True)
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


@_float32_exact
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


@_float32_exact
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
__all__ += ["pcen_smooth_coefficient", "exponential_smoothing", "pcen", "max_filter", "pcen_compression",
            "SMOOTHING_BLOCK", "SMOOTHING_METHODS"]

from kapre.constants import decay_matrix as _decay_matrix  # noqa: E402  (this section's imports, kept in it)
from kapre.constants import decay_powers as _decay_powers  # noqa: E402
from kapre.constants import pcen_smooth_coefficient  # noqa: E402, F401  (re-exported)

# Frames per block of the blocked scan: within a block, one (32 x 32) matrix product; the block ends form a
# recurrence 32 times shorter, solved the same way (so a million frames take four levels).
SMOOTHING_BLOCK = 32
# The default method of exponential_smoothing on each backend, the faster on CPU for (32 examples, 1000 frames,
# 128 bands) float32 (issue 18's report; best of 15 runs on a shared 2-core machine): TensorFlow's and PyTorch's
# associative scans are built op by op in Python, 7x and 3.5x slower than the blocked products, forward and
# backward. JAX's is one XLA computation, faster forward (52 vs 65 ms, one coefficient; 58 vs 150 ms, one per band)
# but slower backward (436 vs 218 ms; 497 vs 383 ms) and 3 to 5x slower to compile with its gradient (10-17 s vs
# 3-5 s): blocked, for training, where the trainable form is used. Blocked also rounds less for small
# coefficients (its powers are exp(k log1p(-coef)); the associative scan multiplies float32 values of 1 - coef).
SMOOTHING_METHODS = {"jax": "blocked", "tensorflow": "blocked", "torch": "blocked"}


def _pcen_smoothing_method(method):
    if method is None:
        return SMOOTHING_METHODS.get(keras_backend.backend(), "blocked")
    if method not in ("blocked", "associative"):
        raise ValueError(f"method must be one of [None, 'blocked', 'associative'], received method={method!r}.")
    return method


def _pcen_float_dtype(x) -> str:
    """float64 kept, anything else computed in float32 (half precision too, as kapre's transforms)."""
    return "float64" if keras_backend.standardize_dtype(x.dtype) == "float64" else "float32"


def _decay_tables(log_decay, size: int, dtype: str, zero=None):
    """``(W, P)``: ``W[..., i, j] = a**(i - j)`` for ``i >= j`` (else 0) and ``P[..., i] = a**(i + 1)``, ``a =
    exp(log_decay)``, for a Python float (built in NumPy, float64, then cast) or a tensor ``(...)`` (in the graph,
    differentiable; ``log_decay`` finite, and ``zero``, where true, makes ``a = 0`` exactly: ``W`` the identity,
    ``P`` zeros)."""
    if isinstance(log_decay, float):
        return (ops.convert_to_tensor(_decay_matrix(log_decay, size).astype(dtype)),
                ops.convert_to_tensor(_decay_powers(log_decay, size).astype(dtype)))
    steps = np.arange(size)
    lags = steps[:, None] - steps[None, :]
    lower = ops.convert_to_tensor(lags >= 0)
    decay = ops.expand_dims(ops.expand_dims(log_decay, -1), -1)
    # the lags above the diagonal are zeroed before the exp: no inf there, so no NaN in the gradient
    powers = ops.exp(ops.convert_to_tensor(np.maximum(lags, 0).astype(dtype)) * decay)
    matrix = ops.where(lower, powers, ops.zeros_like(powers))
    exponents = ops.convert_to_tensor(np.arange(1, size + 1).astype(dtype))
    powers = ops.exp(exponents * ops.expand_dims(log_decay, -1))
    if zero is not None:
        identity = ops.convert_to_tensor(np.eye(size, dtype=dtype))
        matrix = ops.where(ops.expand_dims(ops.expand_dims(zero, -1), -1), identity, matrix)
        powers = ops.where(ops.expand_dims(zero, -1), ops.zeros_like(powers), powers)
    return matrix, powers


def _recurrence_time_middle(u, log_decay, initial, block: int, zero=None):
    """``M[t] = a M[t-1] + u[t]`` along axis 1 of ``u`` ``(P, T, Q)`` (``T`` static), ``M[-1] = initial`` ``(P,
    Q)``, one ``a = exp(log_decay)`` (a Python float or a scalar tensor). Blocks of ``block`` frames: the zero-state
    response of each is one matrix product; the state carried into each block solves the same recurrence over the
    block ends (decay ``a**block``), recursively. ``zero``: where ``a`` is exactly 0 (see :func:`_decay_tables`)."""
    dtype = _pcen_float_dtype(u)
    rows, length, cols = u.shape
    rows = rows if _is_static(rows) else -1
    if length <= block:
        matrix, powers = _decay_tables(log_decay, length, dtype, zero)
        return ops.einsum("ij,pjq->piq", matrix, u) + powers[None, :, None] * initial[:, None, :]
    n_blocks = -(-length // block)
    if n_blocks * block != length:
        u = ops.pad(u, [(0, 0), (0, n_blocks * block - length), (0, 0)])
    matrix, powers = _decay_tables(log_decay, block, dtype, zero)
    zero_state = ops.einsum("ij,pnjq->pniq", matrix, ops.reshape(u, (rows, n_blocks, block, cols)))
    ends = _recurrence_time_middle(zero_state[:, :, block - 1, :], log_decay * block, initial, block, zero)
    carried = ops.concatenate([initial[:, None, :], ends[:, :-1, :]], axis=1)  # the state entering each block
    smoothed = zero_state + powers[None, None, :, None] * carried[:, :, None, :]
    return ops.reshape(smoothed, (rows, n_blocks * block, cols))[:, :length]


def _recurrence_time_last(u, log_decay, initial, block: int, zero=None):
    """``M[t] = a[g] M[t-1] + u[t]`` along the last axis of ``u`` ``(G, N, T)`` (``T`` static), one decay per
    ``g`` (``log_decay`` ``(G,)``, a finite tensor), ``M[-1] = initial`` ``(G, N)``: batched matrix products with
    ``g`` as the batch axis, blocked as :func:`_recurrence_time_middle`."""
    dtype = _pcen_float_dtype(u)
    groups, rows, length = u.shape
    rows = rows if _is_static(rows) else -1
    if length <= block:
        matrix, powers = _decay_tables(log_decay, length, dtype, zero)
        return (_backend.matmul(u, ops.transpose(matrix, (0, 2, 1)))
                + powers[:, None, :] * initial[:, :, None])
    n_blocks = -(-length // block)
    if n_blocks * block != length:
        u = ops.pad(u, [(0, 0), (0, 0), (0, n_blocks * block - length)])
    matrix, powers = _decay_tables(log_decay, block, dtype, zero)
    flat_rows = rows * n_blocks if rows != -1 else -1
    zero_state = _backend.matmul(ops.reshape(u, (groups, flat_rows, block)), ops.transpose(matrix, (0, 2, 1)))
    zero_state = ops.reshape(zero_state, (groups, rows, n_blocks, block))
    ends = _recurrence_time_last(zero_state[..., block - 1], log_decay * block, initial, block, zero)
    carried = ops.concatenate([initial[:, :, None], ends[..., :-1]], axis=-1)
    smoothed = zero_state + powers[:, None, None, :] * carried[..., None]
    return ops.reshape(smoothed, (groups, rows, n_blocks * block))[..., :length]


def _recurrence_associative(x, coef, initial, axis: int):
    """The smoother as ``keras.ops.associative_scan`` of the affine maps ``m -> a m + u`` (``a = 1 - coef``,
    ``u = coef x``; the first absorbs ``initial``): ``log2(T)`` elementwise passes, exact products (no matrix
    multiply). ``coef`` broadcastable to ``x``."""
    decay = 1.0 - coef
    u = coef * x
    first = _pcen_slice(u, 0, 1, axis) + decay * ops.expand_dims(initial, axis)
    u = ops.concatenate([first, _pcen_slice(u, 1, x.shape[axis], axis)], axis=axis)
    # (a Python float straight to the dtype: TensorFlow's cast of one would round it to float32 first)
    decay = ops.broadcast_to(ops.convert_to_tensor(decay, dtype=u.dtype), tuple(x.shape))

    def combine(earlier, later):
        return earlier[0] * later[0], later[0] * earlier[1] + later[1]

    _, smoothed = ops.associative_scan(combine, (decay, u), axis=axis)
    return smoothed


def _recurrence_loop(x, coef, initial, axis: int):
    """The smoother as ``keras.ops.scan`` over the frames (a compiled while loop on TensorFlow): the path for a
    time axis of unknown length, which only a TensorFlow graph has."""
    frames = ops.moveaxis(x, axis, 0)

    def step(state, frame):
        state = (1.0 - coef) * state + coef * frame
        return state, state

    last, smoothed = ops.scan(step, initial, frames)
    return ops.moveaxis(smoothed, 0, axis), last


# Levels of blocks of the export smoother (:func:`_smoothing_free_length`) below its dense top level: the top is a
# (T / 32**2)-square matrix, 1 x 1 for up to 1,024 frames, 98 x 98 for 100,000.
EXPORT_SMOOTHING_LEVELS = 2


def _dims(x):
    """``x``'s shape, each axis a Python int where static, else its size in the graph."""
    return tuple(size if _is_static(size) else ops.shape(x)[axis] for axis, size in enumerate(x.shape))


def _dense_recurrence(u, log_decay, initial):
    """``M[t] = a M[t-1] + u[t]`` along the last axis of ``u`` ``(G, N, T)`` (``T`` free), ``a = exp(log_decay)``
    (a finite Python float, or a tensor ``()`` or ``(G,)``), ``M[-1] = initial`` ``(G, N)``: one product with the
    ``(T, T)`` matrix of decay powers, built in the graph from the length."""
    dtype = _pcen_float_dtype(u)
    length = _dims(u)[-1]
    steps = ops.arange(length, dtype=dtype)  # (the dtype given: Keras' PyTorch arange cannot infer one from a SymInt)
    lags = ops.expand_dims(steps, 1) - ops.expand_dims(steps, 0)  # (T, T): i - j
    decay = ops.reshape(ops.cast(log_decay, dtype), (-1, 1, 1))  # (G or 1, 1, 1)
    powers = ops.exp(ops.maximum(lags, ops.zeros_like(lags)) * decay)  # no inf above the diagonal
    matrix = ops.where(lags >= 0, powers, ops.zeros_like(powers))
    entry = ops.exp((steps + 1.0) * decay)  # (G or 1, 1, T): a**(t + 1)
    return _backend.matmul(u, ops.transpose(matrix, (0, 2, 1))) + entry * ops.expand_dims(initial, -1)


def _blocked_free_length(u, log_decay, initial, levels: int, zero=None):
    """:func:`_recurrence_time_last` for a free length ``T`` (an export's: no branch on it, no loop): ``levels``
    levels of blocks of :data:`SMOOTHING_BLOCK` frames (the signal padded to whole blocks), then
    :func:`_dense_recurrence` over the last level's block ends. ``log_decay``: a finite Python float, or a tensor
    ``()`` or ``(G,)``."""
    if levels == 0:
        return _dense_recurrence(u, log_decay, initial)
    block = SMOOTHING_BLOCK
    dtype = _pcen_float_dtype(u)
    groups, rows, length = _dims(u)
    n_blocks = (length + block - 1) // block
    # a static pad, then a slice to whole blocks (no pad width computed from the length)
    u = ops.pad(u, [(0, 0), (0, 0), (0, block - 1)])[..., : n_blocks * block]
    matrix, powers = _decay_tables(log_decay, block, dtype, zero)  # (block, block) or (G, block, block)
    zero_state = _backend.matmul(ops.reshape(u, (groups, -1, block)), ops.swapaxes(matrix, -1, -2))
    zero_state = ops.reshape(zero_state, (groups, rows, n_blocks, block))
    ends = _blocked_free_length(zero_state[..., block - 1], log_decay * block, initial, levels - 1, zero)
    carried = ops.concatenate([ops.expand_dims(initial, -1), ends[..., :-1]], axis=-1)  # entering each block
    smoothed = zero_state + ops.reshape(powers, (-1, 1, 1, block)) * ops.expand_dims(carried, -1)
    return ops.reshape(smoothed, (groups, rows, n_blocks * block))[..., :length]


def _smoothing_free_length(x, coef, initial_state, axis: int):
    """:func:`exponential_smoothing` as :mod:`kapre.export` traces it: the batch and time axes free (symbolic),
    no branch on a length and no loop (no TensorList: tf2onnx and LiteRT's builtins cannot carry one), by
    :func:`_blocked_free_length`; the frame shape (bands, channels) static."""
    shape = tuple(x.shape)
    rank = len(shape)
    dtype = _pcen_float_dtype(x)
    x = ops.cast(x, dtype)
    if initial_state is None:
        initial_state = ops.take(x, 0, axis=axis)
    initial_state = ops.cast(initial_state, dtype)
    frame_shape = shape[1:axis] + shape[axis + 1:]
    if not all(_is_static(d) for d in frame_shape):
        raise ValueError(f"Exporting PCEN's smoother needs a static frame shape (bands, channels), received "
                         f"{frame_shape}.")
    kind, log_decay, coef, zero = _resolve_coefficient(coef, dtype, frame_shape)
    if kind == "float" and coef == 1.0:  # no smoothing
        return x, ops.squeeze(_pcen_slice(x, -1, None, axis), axis)
    dims = _dims(x)
    batch, length = dims[0], dims[axis]
    groups = math.prod(frame_shape)
    others = [d for d in range(1, rank) if d != axis]
    u = ops.transpose(x, (*others, 0, axis))  # (frame..., batch, time)
    state = ops.transpose(initial_state, (*range(1, rank - 1), 0))  # (frame..., batch)
    if kind == "per_element":  # the elements as the products' batch axis, one decay each
        u = ops.reshape(u, (groups, batch, length)) * ops.reshape(coef, (groups, 1, 1))
        state = ops.reshape(state, (groups, batch))
    else:
        u = ops.reshape(u * coef, (1, -1, length))
        state = ops.reshape(state, (1, -1))
    smoothed = _blocked_free_length(u, log_decay, state, EXPORT_SMOOTHING_LEVELS, zero)
    last = ops.reshape(smoothed[..., -1], (*frame_shape, batch))
    smoothed = ops.reshape(smoothed, (*frame_shape, batch, length))
    inverse = np.argsort((*others, 0, axis))
    smoothed = ops.transpose(smoothed, tuple(int(i) for i in inverse))
    return smoothed, ops.transpose(last, (rank - 2, *range(rank - 2)))


def _resolve_coefficient(coef, dtype: str, frame_shape):
    """``(kind, log_decay, coef, zero)``: ``kind`` ``'float'`` (a Python float; ``log_decay = log(1 - coef)`` in
    float64, ``-inf`` at 1), ``'scalar'`` (a tensor of one value) or ``'per_element'`` (a tensor broadcast to
    ``frame_shape``, flattened). A tensor's ``log1p(-coef)`` is computed with ``coef`` kept below 1 by one ulp, so
    that every gradient stays finite at ``coef = 1``, and ``zero`` (``coef >= 1``) then makes the decay exactly 0
    (``M = x``, as the recurrence gives)."""
    if isinstance(coef, (int, float, np.number)) and not isinstance(coef, bool) or (
            isinstance(coef, np.ndarray) and coef.size == 1):
        value = float(np.asarray(coef).reshape(()))
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"coef must be in [0, 1], received coef={value!r}.")
        return "float", (math.log1p(-value) if value < 1.0 else -math.inf), value, None
    coef = ops.cast(ops.convert_to_tensor(coef), dtype)
    below_one = float(np.nextafter(np.array(1.0, dtype), np.array(0.0, dtype)))
    size = math.prod(coef.shape) if all(_is_static(d) for d in coef.shape) else None
    if size == 1:
        kind, coef = "scalar", ops.reshape(coef, ())
    else:
        if not all(_is_static(d) for d in frame_shape):
            raise ValueError(f"A coefficient per element needs a static frame shape, received frame shape "
                             f"{frame_shape}.")
        kind, coef = "per_element", ops.reshape(ops.broadcast_to(coef, tuple(frame_shape)), (-1,))
    # kapre._backend.minimum: PyTorch's keras.ops.minimum returns float32 for float64
    return kind, _log1p(-_backend.minimum(coef, ops.full_like(coef, below_one))), coef, coef >= 1.0


@_float32_exact
def exponential_smoothing(x, coef, initial_state=None, axis: int = 1, method: str | None = None):
    """The first-order low-pass filter of PCEN along ``axis`` (the frames): ``M[t] = (1 - coef) M[t-1] + coef
    x[t]``, as ``scipy.signal.lfilter([coef], [1, coef - 1], x, zi=(1 - coef) * initial_state)``.

    Args:
        x: a float tensor ``(batch, ...)`` with the frames along ``axis`` (not the batch axis 0).
        coef: the smoothing coefficient in ``[0, 1]`` (1: no smoothing; librosa's ``b``): a Python float, or a
            tensor broadcastable to one example's frame (``x``'s shape without the batch and time axes), e.g. one
            coefficient per frequency band (trainable: differentiable with respect to it).
        initial_state: ``M[-1]``, shaped as one frame of the batch (``x`` without ``axis``); ``None``: the first
            frame, ``M[-1] = x[0]`` (so ``M[0] = x[0]``: the steady state of a constant signal, LEAF's choice;
            librosa's default is ``M[-1] = 1``, see :func:`pcen`).
        method: ``'blocked'`` (blocks of :data:`SMOOTHING_BLOCK` frames, one matrix product each, then the same
            over the block ends, recursively), ``'associative'`` (``keras.ops.associative_scan``, ``log2(frames)``
            elementwise passes) or ``None``: the backend's entry in :data:`SMOOTHING_METHODS` (``'blocked'``
            on all three, measured there). Both are exact to float rounding (``'blocked'`` rounds less for small
            coefficients); on a GPU whose float32 matrix products may run in TF32 (TensorFlow's default on Ampere
            and later; JAX's default matmul precision there) ``'associative'`` keeps full float32 precision.

    Returns:
        ``(M, M[last frame])``: the smoothed tensor (``x``'s shape; float64 for float64 ``x``, else float32)
        and the state to pass as ``initial_state`` with the next chunk of the same signal (chunks so chained
        equal one call). With no frames: ``(x, initial_state)`` (zeros when ``None``).

    Both methods compile on every backend (no Python loop over frames); a TensorFlow graph whose time axis has no
    static length falls back to ``keras.ops.scan`` (a compiled while loop). A NaN or inf in ``x`` makes ``M`` NaN
    from its frame on; ``'blocked'`` also before it, over the whole sequence of that element (its matrix products
    multiply it by the zeros above their diagonals).
    """
    shape = tuple(x.shape)
    rank = len(shape)
    if rank < 2:
        raise ValueError(f"exponential_smoothing expects a batch of at least 2-D tensors, received shape {shape}.")
    axis = axis % rank
    if axis == 0:
        raise ValueError("axis must not be 0, the batch axis, received axis=0.")
    if _backend.EXPORTING:  # kapre.export: free batch and time axes, no loop
        return _smoothing_free_length(x, coef, initial_state, axis)
    dtype = _pcen_float_dtype(x)
    x = ops.cast(x, dtype)
    length = shape[axis]
    if initial_state is None:
        initial_state = ops.take(x, 0, axis=axis) if length != 0 else ops.sum(x, axis=axis)
    else:
        initial_state = ops.cast(initial_state, dtype)
        expected = shape[:axis] + shape[axis + 1:]
        got = tuple(initial_state.shape)
        if len(got) != len(expected) or any(
                _is_static(a) and _is_static(b) and a != b for a, b in zip(got, expected, strict=True)):
            raise ValueError(f"initial_state must be shaped as one frame of x, {expected}, received shape {got}.")
    method = _pcen_smoothing_method(method)
    if length == 0:
        return x, initial_state
    frame_shape = shape[1:axis] + shape[axis + 1:]
    kind, log_decay, coef, zero = _resolve_coefficient(coef, dtype, frame_shape)
    if not _is_static(length) or not all(_is_static(d) for d in frame_shape):
        return _recurrence_loop(x, ops.reshape(coef, frame_shape) if kind == "per_element" else coef,
                                initial_state, axis)
    if method == "associative":
        if kind == "per_element":
            coef = ops.expand_dims(ops.expand_dims(ops.reshape(coef, frame_shape), 0), axis)
        smoothed = _recurrence_associative(x, coef, initial_state, axis)
        return smoothed, ops.take(smoothed, length - 1, axis=axis)
    batch = shape[0] if _is_static(shape[0]) else -1
    if kind != "per_element":
        rows = math.prod(shape[:axis]) if batch != -1 else -1
        cols = math.prod(shape[axis + 1:])
        u = ops.reshape(x * coef, (rows, length, cols))  # a Python float keeps float64 (no float32 cast)
        smoothed = _recurrence_time_middle(u, log_decay, ops.reshape(initial_state, (rows, cols)), SMOOTHING_BLOCK,
                                           zero)
        smoothed = ops.reshape(smoothed, (batch, *shape[1:]))
    else:
        # (frame..., batch, time): the coefficient's elements first, as the batch axis of the matrix products
        others = [d for d in range(1, rank) if d != axis]
        groups = math.prod(frame_shape)
        u = ops.transpose(x, (*others, 0, axis))
        u = ops.reshape(u, (groups, batch, length)) * ops.expand_dims(ops.expand_dims(coef, -1), -1)
        state = ops.transpose(initial_state, (*range(1, rank - 1), 0))
        smoothed = _recurrence_time_last(u, log_decay, ops.reshape(state, (groups, batch)), SMOOTHING_BLOCK, zero)
        smoothed = ops.reshape(smoothed, (*frame_shape, batch, length))
        inverse = np.argsort((*others, 0, axis))
        smoothed = ops.transpose(smoothed, tuple(int(i) for i in inverse))
    return smoothed, ops.take(smoothed, length - 1, axis=axis)


def max_filter(x, size: int, axis: int):
    """The maximum over a window of ``size`` elements along ``axis``, ``[i - size // 2, i - size // 2 + size -
    1]`` cut to the axis' ends, for a non-negative ``x`` (``scipy.ndimage.maximum_filter1d``, whose reflected edges
    hold no value from outside the window, equal for such ``x``): librosa's max-filter over frequency in PCEN.
    ``log2(size)`` maximum operations (windows doubled)."""
    if size == 1:
        return x
    axis = axis % len(x.shape)
    length = x.shape[axis]
    before = size // 2
    padded = pad_along_axis(x, before, size - 1 - before, mode="constant", axis=axis)  # zeros: never a maximum
    total = length + size - 1
    width, running = 1, padded
    while 2 * width <= size:  # running[i] = max(padded[i : i + 2 * width])
        running = _backend.maximum(_pcen_slice(running, 0, total - 2 * width + 1, axis),
                                   _pcen_slice(running, width, total - width + 1, axis))
        width *= 2
    return _backend.maximum(_pcen_slice(running, 0, length, axis),
                            _pcen_slice(running, size - width, size - width + length, axis))


def _pcen_slice(x, start: int, stop: int, axis: int):
    index = [slice(None)] * len(x.shape)
    index[axis] = slice(start, stop)
    return x[tuple(index)]


def _log1p(x):
    """``log1p(x)``; exporting, without the op (tf2onnx 1.17 has no ``Log1p`` conversion): ``log(1 + x) * x / ((1
    + x) - 1)`` (Goldberg's correction: exact to a few ulps), ``x`` where ``1 + x`` rounds to 1."""
    if not _backend.EXPORTING:
        return ops.log1p(x)
    one_plus = 1.0 + x
    rounded = one_plus - 1.0
    nonzero = rounded != 0
    ratio = x / ops.where(nonzero, rounded, ops.ones_like(rounded))
    return ops.where(nonzero, ops.log(one_plus) * ratio, x)


def _expm1(x):
    """``expm1(x)``; exporting, without the op (tf2onnx 1.17 has no ``Expm1`` conversion): ``(u - 1) * x / log(u)``,
    ``u = exp(x)`` (Kahan's correction), ``x`` where ``u`` rounds to 1."""
    if not _backend.EXPORTING:
        return ops.expm1(x)
    u = ops.exp(x)
    less = u - 1.0
    inexact = (u != 1.0) & (less != -1.0)
    log_u = ops.log(ops.where(inexact, u, ops.full_like(u, 2.0)))
    return ops.where(inexact, less * x / log_u, ops.where(u == 1.0, x, less))


def _pcen_is_number(value) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def pcen_compression(x, smoother, gain=0.98, bias=2.0, power=0.5, eps: float = 1e-6):
    """PCEN's gain control and compression of ``x`` given its smoothed ``smoother`` (same shape), as
    ``librosa.pcen`` computes them: ``y = x / (eps + M)**gain``, then ``(y + bias)**power - bias**power`` as
    ``bias**power * expm1(power * log1p(y / bias))`` (no cancellation for small ``y``); ``power == 0``:
    ``log1p(y)``; ``bias == 0``: ``y**power`` (0 at ``y = 0``, with a zero gradient there below ``power = 1``,
    where the true one is infinite). ``gain``, ``bias`` and ``power`` are Python numbers or tensors broadcastable
    to ``x`` (then ``bias > 0`` and ``power > 0``: the general formula, differentiable in each)."""
    y = x * ops.exp(-gain * ops.log(smoother + eps))
    if _pcen_is_number(power) and power == 0:
        return _log1p(y)
    if _pcen_is_number(bias) and bias == 0:
        if _pcen_is_number(power) and power >= 1:
            return ops.power(y, power)
        positive = y > 0
        safe = ops.where(positive, y, ops.ones_like(y))
        return ops.where(positive, ops.exp(power * ops.log(safe)), ops.zeros_like(y))
    if _pcen_is_number(bias) and _pcen_is_number(power):
        return float(bias) ** float(power) * _expm1(power * _log1p(y / bias))
    return ops.exp(power * ops.log(bias)) * _expm1(power * _log1p(y / bias))


@_float32_exact
def pcen(x, coef, gain=0.98, bias=2.0, power=0.5, eps: float = 1e-6, initial_state=None, axis: int = 1,
         max_size: int = 1, max_axis: int | None = None, method: str | None = None):
    """Per-channel energy normalisation of a non-negative spectrogram ``x`` (frames along ``axis``), as
    ``librosa.pcen``: ``M`` the smoothed ``x`` (:func:`exponential_smoothing` with ``coef``, librosa's ``b``;
    :func:`kapre.constants.pcen_smooth_coefficient` turns a time constant into it), then
    :func:`pcen_compression`. Negative values of ``x`` (no spectrogram has them) count as 0 (librosa returns NaN
    where they make its logarithm's argument negative); NaN stays NaN (and spreads over its band: see
    :func:`exponential_smoothing`).

    ``initial_state`` is ``M[-1]`` (one frame of the batch); ``None``: 1 everywhere, librosa's default (its ``zi``
    is ``scipy.signal.lfilter_zi([b], [1, b - 1]) = 1 - b``, the steady state of a unit input; librosa's ``zi``
    is ``(1 - b) * M[-1]``, its ``zf`` ``(1 - b) * M[last]``). Pass ``ops.take(x, 0, axis)`` for LEAF's start,
    ``M[0] = x[0]``. ``max_size > 1``: ``M`` smooths ``x`` max-filtered over ``max_axis`` (librosa's ``max_size``,
    :func:`max_filter`), the compression still divides ``x``. ``method``: the smoother's scan, as
    :func:`exponential_smoothing`.

    Returns ``(P, state)``: ``x``'s shape, and ``M`` at the last frame, to continue with the next chunk.
    """
    dtype = _pcen_float_dtype(x)
    x = ops.cast(x, dtype)
    x = ops.where(x < 0, ops.zeros_like(x), x)  # NaN < 0 is False: NaN stays
    reference = x
    if max_size != 1:
        if max_axis is None:
            raise ValueError(f"max_size={max_size!r} filters over frequency: pass max_axis, the frequency axis.")
        reference = max_filter(x, max_size, max_axis)
    if initial_state is None:
        length = x.shape[axis]
        exporting_or_frames = _backend.EXPORTING or length != 0  # (exporting: a free length, at least one frame)
        initial_state = ops.ones_like(ops.take(x, 0, axis=axis) if exporting_or_frames else ops.sum(x, axis=axis))
    smoother, state = exponential_smoothing(reference, coef, initial_state, axis=axis, method=method)
    return pcen_compression(x, smoother, gain, bias, power, eps), state


# ==== end section: pcen ====


# ==== section: leaf (issue 18) ====
from kapre import constants as _constants  # noqa: E402  (this section's import, kept in it)

__all__ += ["gabor_constraint", "gabor_impulse_responses", "gaussian_lowpass_windows", "gabor_filterbank_power",
            "gaussian_pooling", "leaf_filterbank"]

LEAF_FLOOR = 1e-5  # LEAF's floor on the pooled energies, before the compression (leaf_audio.frontend.Leaf.call)


def _clip(x, lower: float, upper: float):
    """``clip(x, lower, upper)`` with the bounds in ``x``'s dtype (``ops.clip`` rounds Python bounds to float32 on
    PyTorch: pi becomes 3.1415927 in a float64 layer)."""
    dtype = keras_backend.standardize_dtype(x.dtype)
    return _backend.minimum(_backend.maximum(x, ops.convert_to_tensor(np.asarray(lower, dtype))),
                            ops.convert_to_tensor(np.asarray(upper, dtype)))


def gabor_constraint(kernel, kernel_size: int):
    """LEAF's ``GaborConstraint`` applied to ``(n_filters, 2)`` Gabor parameters: the centre frequencies (column
    0) clipped to ``[0, pi]`` radians per sample, the envelopes' standard deviations (column 1) to
    :func:`kapre.constants.gabor_sigma_bounds`. Returns ``(centers, sigmas)``, each ``(n_filters,)``."""
    lower, upper = _constants.gabor_sigma_bounds(kernel_size)
    return _clip(kernel[:, 0], 0.0, math.pi), _clip(kernel[:, 1], lower, upper)


def gabor_impulse_responses(centers, sigmas, times):
    """Complex Gabor filters ``exp(-t**2 / (2 sigma**2)) exp(i mu t) / (sqrt(2 pi) sigma)`` at ``times`` (samples,
    a NumPy array), as LEAF's ``impulse_responses.gabor_impulse_response``. Returns ``(real, imag)``, each
    ``(n_filters, len(times))`` in the parameters' dtype."""
    dtype = keras_backend.standardize_dtype(centers.dtype)
    t = ops.convert_to_tensor(np.asarray(times), dtype=dtype)
    sigmas = sigmas[:, None]
    envelope = ops.exp(-0.5 * ops.square(t / sigmas)) / (math.sqrt(2.0 * math.pi) * sigmas)
    phase = centers[:, None] * t
    if dtype != "float64":
        return envelope * ops.cos(phase), envelope * ops.sin(phase)
    # Keras' ops.cos / ops.sin compute float64 in float32 on JAX (its type promotion): the phasor as exp(i phase)
    phasor = ops.exp(_backend.make_complex(ops.zeros_like(phase), phase))
    return envelope * ops.real(phasor), envelope * ops.imag(phasor)


def gaussian_lowpass_windows(widths, kernel_size: int):
    """LEAF's Gaussian pooling windows (``impulse_responses.gaussian_lowpass``), ``(n_filters, kernel_size)``:
    ``exp(-0.5 ((t - (K - 1) / 2) / (w (K - 1) / 2)) ** 2)`` at ``t = 0 ... K - 1``, with each width ``w`` (the
    standard deviation as a fraction of half the window) clipped to ``[2 / K, 0.5]``. Not normalised (LEAF's)."""
    half = 0.5 * (kernel_size - 1)
    widths = _clip(widths, 2.0 / kernel_size, 0.5)[:, None]
    t = ops.convert_to_tensor(np.arange(kernel_size) - half, dtype=keras_backend.standardize_dtype(widths.dtype))
    return ops.exp(-0.5 * ops.square(t / (widths * half)))


def _leaf_fft_length(length, kernel_size: int):
    """The FFT size for ``length`` samples, at least ``length + K // 2`` (no wrap-around): a fast size
    (:func:`kapre.constants.fast_fft_length`) for a static length; for a length known only at run time
    (TensorFlow graphs), the next multiple of 1024."""
    if _is_static(length):
        return _constants.fast_fft_length(length + kernel_size // 2)
    return (length + kernel_size // 2 + 1023) // 1024 * 1024


@_float32_exact
def gabor_filterbank_power(signals, centers, sigmas, kernel_size: int):
    """``|y|**2`` of the complex Gabor filters applied to ``(rows, samples)`` signals as LEAF applies them: a
    cross-correlation (``tf.nn.conv1d``), stride 1, ``'same'`` padding (``(K - 1) // 2`` zeros before, ``K // 2``
    after), the filters from :func:`gabor_impulse_responses` at LEAF's taps (:func:`kapre.constants.
    gabor_time_axis`). Returns ``(n_filters, rows, samples)``.

    Computed in the frequency domain: the filters' taps in reverse order (the correlation as a convolution) are
    transformed, each part on its own (``rfft`` of the real and of the imaginary taps), multiplied with the
    signal's spectrum and brought back by two real inverse FFTs of size at least ``samples + K // 2``, so the
    circular convolution wraps onto zeros only: the real and imaginary outputs exactly (to rounding), at
    ``O(log N)`` multiply-adds per sample instead of ``K``, and differentiable with respect to every parameter.
    """
    length = ops.shape(signals)[-1]
    n_fft = _leaf_fft_length(length, kernel_size)
    return _filtered_power(signals, _gabor_spectra(centers, sigmas, kernel_size, n_fft), kernel_size, n_fft)


def _gabor_spectra(centers, sigmas, kernel_size: int, n_fft):
    """The ``rfft``s (size ``n_fft``) of the real and of the imaginary taps of the Gabor filters in reverse order,
    ``(n_filters, 1, n_fft // 2 + 1)`` each."""
    real, imag = gabor_impulse_responses(centers, sigmas, _constants.gabor_time_axis(kernel_size)[::-1])
    return [_backend.rfft(taps, n_fft)[:, None] for taps in (real, imag)]


def _filtered_power(signals, spectra, kernel_size: int, n_fft):
    """:func:`gabor_filterbank_power` with the filters' spectra given (:func:`_gabor_spectra`)."""
    length = ops.shape(signals)[-1]
    spectrum = _backend.rfft(signals, n_fft)[None]  # (1, rows, n_fft // 2 + 1)
    start = kernel_size // 2  # output sample n of the 'same' correlation is sample n + K // 2 of the convolution
    real, imag = (_backend.irfft(spectrum * part, n_fft)[..., start : start + length] for part in spectra)
    return real * real + imag * imag


@_float32_exact
def gaussian_pooling(power, windows, stride: int):
    """Each band of ``power`` ``(n_filters, rows, samples)`` pooled with its own window ``(n_filters, K)``
    (:func:`gaussian_lowpass_windows`) every ``stride`` samples, with TensorFlow's ``'same'`` padding
    (``ceil(samples / stride)`` frames; ``max((frames - 1) * stride + K - samples, 0)`` zeros, the smaller half
    before), as LEAF's ``depthwise_conv2d``. Returns ``(n_filters, rows, frames)``.

    The padded signal is cut into ``stride``-sample blocks and each window into ``ceil(K / stride)`` block-sized
    pieces: one batched matrix product of the blocks with the pieces, then the pieces' products of consecutive
    blocks added."""
    n_filters, kernel_size = windows.shape
    length = ops.shape(power)[-1]
    rows = ops.shape(power)[1]
    n_frames = (length + stride - 1) // stride
    pieces = -(-kernel_size // stride)
    n_blocks = n_frames + pieces - 1
    if _is_static(length):
        total = max((n_frames - 1) * stride + kernel_size - length, 0)
        before, after = total // 2, n_blocks * stride - length - total // 2
        # zeros joined on, not ops.pad: PyTorch's pad fills its whole output before copying the input in
        dtype = keras_backend.standardize_dtype(power.dtype)
        parts = ([ops.zeros((n_filters, rows, before), dtype)] if before else []) + [power] + (
            [ops.zeros((n_filters, rows, after), dtype)] if after else [])
        padded = ops.concatenate(parts, axis=-1) if len(parts) > 1 else power
    else:  # the leading pad depends on the length: pad by its largest value, then slice
        total = (n_frames - 1) * stride + kernel_size - length  # at least kernel_size - stride
        if kernel_size < stride:  # (else never negative: no maximum, so a SymInt stays one under torch.export)
            total = ops.maximum(total, 0)
        most = (kernel_size - 1) // 2
        padded = pad_along_axis(power, most, pieces * stride + kernel_size)
        first = most - total // 2
        padded = padded[..., first : first + n_blocks * stride]
    blocks = ops.reshape(padded, (n_filters, -1, stride))  # (n_filters, rows * n_blocks, stride)
    pieces_of_windows = ops.reshape(pad_along_axis(windows, 0, pieces * stride - kernel_size),
                                    (n_filters, pieces, stride))
    products = _backend.matmul(blocks, ops.transpose(pieces_of_windows, (0, 2, 1)))  # (filters, rows * blocks, pieces)
    products = ops.reshape(products, (n_filters, rows, n_blocks, pieces))
    pooled = products[:, :, 0:n_frames, 0]
    for piece in range(1, pieces):
        pooled = pooled + products[:, :, piece : piece + n_frames, piece]
    return pooled


def _gabor_power_direct(signals, centers, sigmas, kernel_size: int):
    """:func:`gabor_filterbank_power` as a direct correlation, for :mod:`kapre.export` (no FFT, no complex tensor;
    a free length): one convolution of the signals with the real and the imaginary taps (``2 * n_filters``
    output channels), ``'same'`` padding at stride 1 (``(K - 1) // 2`` zeros before, ``K // 2`` after: static).
    Returns ``(n_filters, rows, samples)``."""
    real, imag = gabor_impulse_responses(centers, sigmas, _constants.gabor_time_axis(kernel_size))
    taps = ops.transpose(ops.concatenate([real, imag], axis=0), (1, 0))  # (K, 2 * n_filters)
    padded = pad_along_axis(signals, (kernel_size - 1) // 2, kernel_size // 2)
    filtered = ops.transpose(apply_fir_filters(padded, taps), (2, 0, 1))  # (2 * n_filters, rows, samples)
    n_filters = real.shape[0]
    real, imag = filtered[:n_filters], filtered[n_filters:]
    return real * real + imag * imag


@_float32_exact
def leaf_filterbank(signals, kernel, widths, kernel_size: int, stride: int, rows_per_chunk: int | None = None):
    """LEAF's filterbank before its compression (``leaf_audio.frontend.Leaf`` up to ``tf.maximum(outputs,
    1e-5)``), on ``(rows, samples)`` signals: the complex Gabor filters of the ``(n_filters, 2)`` parameters
    ``kernel`` (:func:`gabor_constraint`, :func:`gabor_filterbank_power`), their squared modulus pooled by the
    Gaussian windows of ``widths`` ``(n_filters,)`` every ``stride`` samples (:func:`gaussian_pooling`), floored
    at 1e-5. Returns ``(rows, frames, n_filters)`` with ``frames = ceil(samples / stride)``.

    ``rows_per_chunk``: filter that many rows at a time (the intermediate results of a chunk stay in the CPU's
    cache; the result is the same), ``None`` for all at once.

    Example:
        >>> import numpy as np
        >>> from kapre import functional, params
        >>> leaf = params.Leaf.resolve()
        >>> kernel, widths = leaf.gabor_init().astype('float32'), leaf.pooling_init_values().astype('float32')
        >>> out = functional.leaf_filterbank(np.zeros((2, 16000), 'float32'), kernel, widths, 401, 160)
        >>> tuple(out.shape), bool(np.allclose(np.asarray(out), 1e-5))  # silence: every band at the floor
        ((2, 100, 40), True)
    """
    signals = ops.convert_to_tensor(signals)
    dtype = keras_backend.standardize_dtype(signals.dtype)
    centers, sigmas = gabor_constraint(ops.cast(kernel, dtype), kernel_size)
    windows = gaussian_lowpass_windows(ops.cast(widths, dtype), kernel_size)
    floor = ops.convert_to_tensor(np.asarray(LEAF_FLOOR, dtype))
    if _backend.EXPORTING:  # kapre.export: a direct convolution (no FFT, no complex tensor, a free length)
        pooled = gaussian_pooling(_gabor_power_direct(signals, centers, sigmas, kernel_size), windows, stride)
        return _backend.maximum(ops.transpose(pooled, (1, 2, 0)), floor)
    n_fft = _leaf_fft_length(ops.shape(signals)[-1], kernel_size)
    spectra = _gabor_spectra(centers, sigmas, kernel_size, n_fft)
    rows = signals.shape[0]
    if rows_per_chunk is None or rows is None or rows <= rows_per_chunk:
        pooled = gaussian_pooling(_filtered_power(signals, spectra, kernel_size, n_fft), windows, stride)
    else:
        pooled = ops.concatenate([
            gaussian_pooling(_filtered_power(signals[first : first + rows_per_chunk], spectra, kernel_size, n_fft),
                             windows, stride)
            for first in range(0, rows, rows_per_chunk)], axis=1)
    return _backend.maximum(ops.transpose(pooled, (1, 2, 0)), floor)


# ==== end section: leaf ====


# ==== section: sincconv (issue 18) ====
def _sin(x):
    """``sin(x)``, in float64 for float64 ``x``: Keras' ``ops.sin`` computes float64 in float32 on JAX (its type
    promotion maps float64 to float32 there, even with x64 enabled), so float64 goes through ``imag(exp(i x))``."""
    if keras_backend.standardize_dtype(x.dtype) != "float64":
        return ops.sin(x)
    return ops.imag(ops.exp(_backend.make_complex(ops.zeros_like(x), x)))


def sinc_cutoffs(low_hz_, band_hz_, sample_rate: float, min_low_hz: float = 50.0, min_band_hz: float = 50.0):
    """The band edges ``(low, high)`` in Hz of SincNet's filters from their parameters ``low_hz_`` and ``band_hz_``
    (``(filters,)`` each): ``low = min_low_hz + |low_hz_|``, ``high = clip(low + min_band_hz + |band_hz_|,
    min_low_hz, sample_rate / 2)``, as SincNet; and ``low`` stopped at ``sample_rate / 2 - min_band_hz``, which
    SincNet leaves open: past it, its band would be narrower than ``min_band_hz``, and at ``sample_rate / 2`` empty
    (a division by zero). So ``low >= min_low_hz`` and ``high - low >= min_band_hz`` always."""
    nyquist = float(sample_rate) / 2.0
    low = ops.clip(min_low_hz + ops.abs(low_hz_), min_low_hz, nyquist - min_band_hz)  # (ops.minimum: float32)
    high = ops.clip(low + min_band_hz + ops.abs(band_hz_), min_low_hz, nyquist)
    return low, high


def sinc_filters(low_hz_, band_hz_, kernel_size: int, sample_rate: float, min_low_hz: float = 50.0,
                 min_band_hz: float = 50.0, half_phase=None, half_window=None):
    """SincNet's band-pass filters ``(kernel_size, filters)`` (odd ``kernel_size``) in the parameters' dtype, from
    the cut-offs of :func:`sinc_cutoffs`: the difference of two low-pass sincs, ``(sin(2 pi high t / sr) - sin(2 pi
    low t / sr)) / (pi t / sr)``, times SincNet's half Hamming window (:func:`kapre.constants.sincnet_half_window`),
    divided by ``2 (high - low)`` so that the centre tap is 1; symmetric about the centre. Differentiable in
    ``low_hz_`` and ``band_hz_``; built per call from ``2 * filters`` numbers (cheap: ``filters x kernel_size``).
    ``half_phase`` and ``half_window``: :func:`kapre.constants.sincnet_half_phase` and ``sincnet_half_window`` as
    tensors of the parameters' dtype, converted once by the caller (a conversion in the call is a graph break
    under ``torch.compile``); ``None``: converted here."""
    from kapre import constants  # kapre.constants imports nothing of this module; kept local all the same

    dtype = keras_backend.standardize_dtype(low_hz_.dtype)
    low, high = sinc_cutoffs(low_hz_, band_hz_, sample_rate, min_low_hz, min_band_hz)
    phase = half_phase if half_phase is not None else _backend.constant(
        constants.sincnet_half_phase(kernel_size, sample_rate), dtype)
    window = half_window if half_window is not None else _backend.constant(
        constants.sincnet_half_window(kernel_size), dtype)
    band = ops.expand_dims(high - low, 1)
    low, high = ops.expand_dims(low, 1), ops.expand_dims(high, 1)
    # (sin(high t') - sin(low t')) / (t' / 2) / (2 band) at t' = 2 pi t / sr, t = -n .. -1; the centre tap is 1
    left = (_sin(high * phase) - _sin(low * phase)) / (band * phase) * window
    centre = ops.ones_like(band)
    return ops.transpose(ops.concatenate([left, centre, ops.flip(left, axis=1)], axis=1))


@_float32_exact
def apply_fir_filters(waveforms, kernel, stride: int = 1, padding: str = "valid", dilation: int = 1):
    """``waveforms`` ``(batch, time)`` cross-correlated with each filter of ``kernel`` ``(taps, filters)``:
    ``(batch, new_time, filters)``, as Keras' ``Conv1D`` (one input channel, no bias): ``'valid'`` gives ``(time -
    span) // stride + 1`` samples (``span = (taps - 1) * dilation + 1``); ``'same'`` gives ``ceil(time / stride)``
    with zeros padded as Keras pads them (``max((out - 1) * stride + span - time, 0)`` in all, the smaller half
    first). A signal shorter than ``span`` gives 0 samples with ``'valid'`` (:class:`kapre.SincConv` refuses it, as
    Keras' ``Conv1D``). One strided convolution (measured faster than frames + matmul, a block-Toeplitz matmul or an FFT
    convolution on all three backends for 16 x 1 s at 16 kHz, 80 filters of 251 taps)."""
    taps = kernel.shape[0]
    span = (taps - 1) * dilation + 1
    x = ops.expand_dims(waveforms, -1)
    kernel = ops.expand_dims(kernel, 1)  # (taps, 1, filters)

    def conv(signals):
        return ops.conv(signals, kernel, strides=stride, padding="valid", dilation_rate=dilation,
                        data_format="channels_last")

    batch, length = waveforms.shape
    if _is_static(length):
        out = -(-length // stride) if padding == "same" else (length - span) // stride + 1
        if batch == 0 or out <= 0:  # an empty batch (TensorFlow's convolution returns its input) or signal
            return ops.zeros((batch, max(out, 0), kernel.shape[2]), dtype=waveforms.dtype)
        if padding == "valid":
            return conv(x)
        total = max((out - 1) * stride + span - length, 0)
        return conv(ops.pad(x, [(0, 0), (total // 2, total - total // 2), (0, 0)]))
    if padding == "valid":
        return conv(x)
    # An unknown length (a TensorFlow graph traced with a free time axis): the left pad depends on the length, so
    # pad by its largest value, start at the actual one, and keep the first ceil(time / stride) outputs.
    length = ops.shape(waveforms)[1]
    out = (length + stride - 1) // stride
    left = ops.maximum((out - 1) * stride + span - length, 0) // 2
    most = (span - 1) // 2
    x = ops.pad(x, [(0, 0), (most, span - 1 + stride), (0, 0)])
    return conv(x[:, most - left:])[:, :out]


__all__ += ["sinc_cutoffs", "sinc_filters", "apply_fir_filters"]
# ==== end section: sincconv ====


# ==== section: inversion (issue 18) ====
# Griffin-Lim's random initial phases: an integer hash of (seed, frame, bin) computed in the graph, so that a seed
# gives the same phases on every backend, for any number of frames (frame t's phases do not depend on the length)
# and inside any trace. The hash is Chris Wellons' "lowbias32" (an xor-shift-multiply mixer); int32 arithmetic
# wraps on every backend, and the right shifts are made logical by masking.
_HASH_MULTIPLIERS = (0x7FEB352D, 0x846CA68B)
_FRAME_STRIDE, _BIN_STRIDE, _SEED_SALT = 0x9E3779B9, 0x85EBCA6B, 0x6A09E667


def _int32_constant(value: int):
    """``value``'s low 32 bits as a signed int32 tensor (0x846CA68B and the like exceed int32's range); the two's
    complement taken in Python (a NumPy reinterpretation in the call is a graph break under ``torch.compile``)."""
    low = value & 0xFFFFFFFF
    return ops.convert_to_tensor(low - (1 << 32) if low >= 1 << 31 else low, dtype="int32")


def _hash32(x):
    """Wellons' lowbias32 of an int32 tensor, elementwise: ``x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15;
    x *= 0x846ca68b; x ^= x >> 16`` on 32 unsigned bits."""
    first, second = (_int32_constant(value) for value in _HASH_MULTIPLIERS)
    x = ops.bitwise_xor(x, ops.bitwise_and(ops.right_shift(x, 16), 0xFFFF))
    x = ops.multiply(x, first)
    x = ops.bitwise_xor(x, ops.bitwise_and(ops.right_shift(x, 15), 0x1FFFF))
    x = ops.multiply(x, second)
    return ops.bitwise_xor(x, ops.bitwise_and(ops.right_shift(x, 16), 0xFFFF))


def random_phases(n_frames, n_freq: int, seed, dtype: str = "float32"):
    """Uniform random phases in ``[0, 2 pi)``, ``(n_frames, n_freq)``, a function of ``seed`` only (an integer in
    ``[0, 2**31)`` or an int32 scalar tensor): Griffin-Lim's ``init='random'`` in :class:`kapre.GriffinLim`.

    ``h = hash(hash(hash(seed ^ 0x6a09e667) + t * 0x9e3779b9) + f * 0x85ebca6b)`` on 32 unsigned bits (wrapping
    arithmetic; ``hash`` is Wellons' lowbias32), and the phase is ``2 pi (h mod 2**24) / 2**24``. The same seed gives
    the same phases on TensorFlow, JAX and PyTorch, and frame ``t``'s phases whatever the number of frames.
    (librosa draws ``2 pi * RandomState(seed).random(shape)``: other numbers, and all of them change with the
    length; pass those as ``init_angles`` to :func:`griffin_lim` to start where librosa starts.)

    Example:
        >>> import numpy as np
        >>> from kapre import functional
        >>> phases = np.asarray(functional.random_phases(3, 5, seed=0))
        >>> phases.shape, bool(((phases >= 0) & (phases < 2 * np.pi)).all())
        ((3, 5), True)
    """
    seed = ops.cast(ops.convert_to_tensor(seed), "int32")
    key = _hash32(ops.bitwise_xor(seed, _int32_constant(_SEED_SALT)))
    rows = _hash32(key + ops.arange(n_frames, dtype="int32") * _int32_constant(_FRAME_STRIDE))
    bins = ops.arange(n_freq, dtype="int32") * _int32_constant(_BIN_STRIDE)
    hashed = _hash32(ops.expand_dims(rows, -1) + ops.expand_dims(bins, 0))
    return ops.cast(ops.bitwise_and(hashed, 0xFFFFFF), dtype) * (2.0 * np.pi / 2.0**24)


def _float_dtype(x) -> str:
    dtype = keras_backend.standardize_dtype(x.dtype)
    return dtype if dtype in ("float32", "float64") else "float32"


@_float32_exact
def griffin_lim(
    magnitudes,
    n_fft: int,
    hop_length: int,
    window,
    n_iter: int = 32,
    momentum: float = 0.99,
    *,
    center: bool = True,
    pad_mode: str = "constant",
    pad_begin: bool = False,
    pad_end: bool = False,
    init_angles=None,
    length: int | None = None,
):
    """A waveform whose STFT magnitude approximates ``magnitudes``: librosa's fast Griffin-Lim
    (``librosa.griffinlim``; Perraudin, Balazs and Søndergaard, 2013), ``(..., frames, n_fft // 2 + 1)`` to
    ``(..., samples)``.

    Each of the ``n_iter`` iterations takes the least-squares inverse STFT of the current estimate (overlap-add
    divided, sample by sample, by the overlap-added squared window, as ``librosa.istft``), its STFT ``X`` with the
    same framing, and the next estimate ``magnitudes * A / |A|`` with ``A = X - momentum / (1 + momentum) *
    X_previous``; the result is the inverse STFT of the last estimate.

    Args:
        magnitudes: non-negative float tensor ``(..., frames, n_fft // 2 + 1)``, the STFT magnitude (not the power,
            not decibels). Negative values are taken as 0. Computed in float64 for float64 input, else float32.
            The iterations run on ``magnitudes`` divided by each spectrogram's maximum (the algorithm is
            homogeneous: this changes nothing but rounding, and keeps the division by ``|A|`` well away from
            underflow for any level).
        n_fft: FFT size of the STFT (``n_fft // 2 + 1`` bins).
        hop_length: samples between frames.
        window: the STFT's window, ``win_length <= n_fft`` values (1-D tensor), e.g. periodic Hann.
        n_iter: iterations (>= 0; 0 inverts the initial estimate).
        momentum: the fast Griffin-Lim momentum (0: the original Griffin-Lim; librosa's 0.99).
        center: ``True``: librosa's framing (``stft(center=True)``: the signal padded by ``n_fft // 2`` at both
            ends with ``pad_mode``, window centred in ``n_fft``); ``False``: kapre's (frames of ``win_length``
            samples zero-padded to ``n_fft``, with ``pad_begin`` / ``pad_end`` as :class:`kapre.STFT`).
        pad_mode: ``'constant'`` or ``'reflect'``, with ``center``.
        pad_begin, pad_end: kapre's STFT padding, without ``center``. The estimate is reframed as the STFT framed
            its input: the prepended zeros are dropped from the output (and stay zero), and with ``pad_end`` the
            signal is ``frames * hop_length - (pad_begin zeros)`` samples long.
        init_angles: ``None`` (zero phase: librosa's ``init=None``) or initial phases in radians broadcastable to
            ``magnitudes`` (librosa's ``init='random'`` draws ``2 * pi * rng.random(S.shape)``;
            :func:`random_phases` is :class:`kapre.GriffinLim`'s generator).
        length: the output's length in samples (the original signal's: it must give ``frames`` frames), or
            ``None``: librosa's ``istft`` length when centred (``(frames - 1) * hop_length``), else the samples the
            frames cover (see :meth:`kapre.params.GriffinLimOptions.natural_length`).

    Returns:
        ``(..., samples)`` in the magnitudes' float dtype (float32 for other input).

    Example:
        >>> import numpy as np
        >>> from kapre import constants, functional
        >>> window = constants.get_window("hann", 256)
        >>> y = np.sin(2 * np.pi * 440 * np.arange(4096) / 16000)
        >>> magnitudes = np.abs(np.asarray(functional.stft(y, 256, 64, window, center=True)))
        >>> functional.griffin_lim(magnitudes, 256, 64, window, n_iter=8, length=4096).shape[-1]
        4096
    """
    if n_iter < 0 or momentum < 0:
        raise ValueError(f"n_iter and momentum must be >= 0, received n_iter={n_iter!r}, momentum={momentum!r}.")
    dtype = _float_dtype(magnitudes)
    magnitudes = ops.cast(magnitudes, dtype)
    window = ops.cast(window, dtype)
    win_length = window.shape[0]
    frame_window = window
    if center:
        if win_length < n_fft:
            left = (n_fft - win_length) // 2
            frame_window = ops.pad(window, [(left, n_fft - win_length - left)])
        start, end_trim, end_pad = n_fft // 2, n_fft // 2, 0
    else:
        start = max(0, n_fft - hop_length) if pad_begin else 0
        end_trim = max(0, win_length - hop_length) if pad_end else 0
        end_pad = max(0, hop_length - win_length) if pad_end else 0
    frame_length = frame_window.shape[0]
    n_frames = ops.shape(magnitudes)[-2]
    tiny = float(np.finfo(dtype).tiny)  # librosa's threshold and eps (util.tiny)
    window_sum = overlap_add(ops.broadcast_to(frame_window * frame_window, (n_frames, frame_length)), hop_length)
    window_sum = ops.where(window_sum > tiny, window_sum, ops.ones_like(window_sum))

    def to_signal(spectrum):
        signal = _backend.windowed_overlap_add(spectrum, n_fft, hop_length, frame_window) / window_sum
        if length is not None:  # librosa's istft(length=...): zeros beyond what the frames cover
            needed, size = start + length, signal.shape[-1]
            if size is None or size < needed:
                signal = pad_along_axis(signal, 0, needed if size is None else needed - size)
            return signal[..., start:needed]
        if end_pad:
            signal = pad_along_axis(signal, 0, end_pad)
        if end_trim:
            return signal[..., start : ops.shape(signal)[-1] - end_trim]
        return signal[..., start:] if start else signal

    def to_spectrum(signal):
        return stft(signal, n_fft, hop_length, window, center=center, pad_mode=pad_mode, pad_begin=pad_begin,
                    pad_end=pad_end)

    magnitudes = ops.relu(magnitudes)  # (keras.ops.maximum computes float64 in float32 on PyTorch)
    rank = len(magnitudes.shape)
    peak = _example_max(magnitudes, (rank - 2, rank - 1))
    # homogeneous: the scale's own gradient contribution is 0, so it is held constant (its gradient through the
    # division would overflow for tiny spectra: S / peak**2)
    peak = ops.stop_gradient(ops.where(peak > 0, peak, ops.ones_like(peak)))
    target = magnitudes / peak
    if init_angles is None:
        angles = _backend.make_complex(target, ops.zeros_like(target))
    else:
        phase = ops.cast(init_angles, dtype)
        angles = _backend.make_complex(target * ops.cos(phase), target * ops.sin(phase))
    decay = momentum / (1.0 + momentum)
    # |A| at or below eps**2 (of a maximum of 1: far below rounding) gives phase 0, not A / tiny: the same numbers
    # as librosa, and gradients that stay finite where A vanishes (a silent region)
    floor = float(np.finfo(dtype).eps) ** 2

    def iteration(_, carry):
        angles, previous = carry
        rebuilt = to_spectrum(to_signal(angles))
        real = ops.real(rebuilt) - decay * ops.real(previous)
        imag = ops.imag(rebuilt) - decay * ops.imag(previous)
        size = magnitude(_backend.make_complex(real, imag))
        kept = size > floor
        scale = ops.where(kept, target / (ops.where(kept, size, ops.ones_like(size)) + tiny), ops.zeros_like(size))
        return _backend.make_complex(real * scale, imag * scale), rebuilt

    if n_iter > 0:
        angles, _ = ops.fori_loop(0, n_iter, iteration, (angles, ops.zeros_like(angles)))
    return to_signal(angles) * ops.squeeze(peak, -1)


def mel_inversion_tensors(tables: dict, dtype: str) -> dict:
    """:func:`kapre.constants.mel_inversion_tables` as tensors of ``dtype`` (``'step'`` stays a float), created
    outside any trace."""
    return {key: value if key == "step" else _backend.constant(value, dtype) for key, value in tables.items()}


@_float32_exact
def mel_to_stft(mel, tables: dict, power: float = 2.0, n_iter: int = 100):
    """Linear STFT magnitude from a mel spectrogram, as ``librosa.feature.inverse.mel_to_stft``: per frame, the
    non-negative least-squares ``x >= 0`` minimising ``||x @ F - mel||`` (``x`` the power ``|S| ** power``), then
    ``x ** (1 / power)``. ``(..., frames, n_mels)`` to ``(..., frames, n_freq)``, non-negative.

    The solver starts, as librosa's, from ``max(mel @ pinv(F), 0)`` and runs ``n_iter`` steps of FISTA (accelerated
    projected gradient, step ``1 / ||F||_2 ** 2``) where librosa runs L-BFGS-B to its default tolerances. The
    solution is not unique (``F`` has fewer rows than columns): two solvers land on different spectra with the
    same mel residual. On chirps, harmonic tones and noise (n_fft 512 to 2048, 48 to 128 bands), 100 steps left a
    smaller residual ``||F.T x - mel|| / ||mel||`` than librosa's in every case measured (1e-5 to 0.54 of it).

    Args:
        mel: non-negative float tensor ``(..., frames, n_mels)``: ``|S| ** power`` through the filterbank, linear
            (not decibels). Computed in float64 for float64 input, else float32.
        tables: :func:`mel_inversion_tensors` of :func:`kapre.constants.mel_inversion_tables` of the filterbank.
        power: the exponent the spectrogram was raised to before the filterbank (2: power, 1: magnitude).
        n_iter: solver steps (>= 0; 0 is the clipped least-squares start).

    Example:
        >>> import numpy as np
        >>> from kapre import constants, functional
        >>> tables = functional.mel_inversion_tensors(
        ...     constants.mel_inversion_tables(constants.mel_filterbank(16000, 257, 40)), "float32")
        >>> tuple(functional.mel_to_stft(np.ones((3, 40), "float32"), tables).shape)
        (3, 257)
    """
    if n_iter < 0 or not power > 0:
        raise ValueError(f"n_iter must be >= 0 and power > 0, received n_iter={n_iter!r}, power={power!r}.")
    dtype = _float_dtype(mel)
    mel = ops.cast(mel, dtype)
    filterbank, filterbank_t, pinv, step = (tables[key] for key in ("filterbank", "filterbank_t", "pinv", "step"))
    if keras_backend.standardize_dtype(filterbank.dtype) != dtype:
        filterbank, filterbank_t, pinv = (ops.cast(value, dtype) for value in (filterbank, filterbank_t, pinv))
    solution = ops.relu(_backend.matmul(mel, pinv))
    if n_iter > 0:

        def iteration(_, carry):  # FISTA: x = max(y - step * grad(y), 0); y = x + (t - 1) / t_next * (x - x_prev)
            previous, point, t = carry
            gradient = _backend.matmul(_backend.matmul(point, filterbank) - mel, filterbank_t)
            current = ops.relu(point - step * gradient)
            t_next = 0.5 * (1.0 + ops.sqrt(1.0 + 4.0 * t * t))
            return current, current + ((t - 1.0) / t_next) * (current - previous), t_next

        one = ops.ones((), dtype=dtype)
        solution, _, _ = ops.fori_loop(0, n_iter, iteration, (solution, solution, one))
    if power == 1.0:
        return solution
    if power == 2.0:
        return safe_sqrt(solution)
    positive = solution > 0
    root = ops.power(ops.where(positive, solution, ops.ones_like(solution)), 1.0 / power)
    return ops.where(positive, root, ops.zeros_like(solution))


_INVERSE_DCTS: dict = {}  # (MfccInversion, dtype) -> matrix, for mfcc_to_mel(): the last 16 used


def undo_log(x, log: str | None = "db", ref: float = 1.0):
    """The inverse of a logarithm applied to a (mel) spectrogram: ``'db'``: ``ref * 10 ** (x / 10)``
    (``librosa.db_to_power``; kapre's decibels, :class:`kapre.MagnitudeToDecibel`, above its floor);
    ``'natural'``: ``ref * exp(x)``; ``'log10'``: ``ref * 10 ** x``; ``None``: ``x`` itself."""
    if log is None:
        return x
    factor = {"db": math.log(10.0) / 10.0, "natural": 1.0, "log10": math.log(10.0)}[log]
    values = ops.exp(x * factor) if factor != 1.0 else ops.exp(x)
    return values * ref if ref != 1.0 else values


@_float32_exact
def mfcc_to_mel(mfcc, n_mels: int = 128, dct_type: int = 2, norm: str | None = "ortho", ref: float = 1.0,
                lifter: float = 0.0, log: str | None = "db"):
    """A mel spectrogram from MFCCs, as ``librosa.feature.inverse.mfcc_to_mel``: ``(..., n_mfcc)`` to
    ``(..., n_mels)``.

    The ``n_mfcc`` coefficients are zero-padded to ``n_mels``, the lifter is undone (librosa's
    ``1 + lifter / 2 * sin(pi * (i + 1) / lifter)``), the inverse DCT-II is applied (exact, one matrix product:
    :func:`kapre.constants.inverse_dct_matrix`) and the logarithm undone (:func:`undo_log`).

    Args:
        mfcc: float tensor ``(..., n_mfcc)``, coefficients on the last axis (float64 kept, else float32).
        n_mels: mel bands of the output (>= ``n_mfcc``).
        dct_type: 2 (the only DCT kapre's MFCCs use).
        norm: the forward DCT's normalisation, as :func:`kapre.constants.dct_matrix` names them: ``'ortho'``
            (librosa's default, ``kapre.LogmelToMFCC(dct_norm='ortho')``), ``None`` (``kapre.LogmelToMFCC``'s
            default, ``tf.signal``'s scaling) or ``'backward'`` (librosa's and scipy's ``norm=None``).
        ref: the reference power of the decibels (``librosa.db_to_power(ref=...)``); 1.0 with ``log=None``.
        lifter: librosa's ``lifter`` (>= 0; 0: none).
        log: the logarithm of the log-mel spectrogram the MFCCs were taken of: ``'db'`` (``power_to_db``,
            ``10 * log10``: librosa, kapre's ``return_decibel``), ``'natural'`` (``log``: Kaldi), ``'log10'``
            (Whisper) or ``None``: return the log-mel spectrogram itself.

    Example:
        >>> import numpy as np
        >>> from kapre import functional
        >>> mel = functional.mfcc_to_mel(np.zeros((2, 20), "float32"), n_mels=40)
        >>> tuple(mel.shape), float(np.asarray(mel).max())
        ((2, 40), 1.0)
    """
    from kapre.params import MfccInversion  # kapre.params imports nothing of this module; kept local all the same

    spec = MfccInversion.resolve(mfcc.shape[-1], n_mels, norm, lifter, log, ref, dct_type)
    dtype = _float_dtype(mfcc)
    key = (spec, dtype)
    matrix = _INVERSE_DCTS.get(key)
    if matrix is None:
        if len(_INVERSE_DCTS) >= 16:
            _INVERSE_DCTS.pop(next(iter(_INVERSE_DCTS)))
        matrix = _INVERSE_DCTS[key] = _backend.constant(spec.build(), dtype)
    return undo_log(_backend.matmul(ops.cast(mfcc, dtype), matrix), spec.log, spec.ref)


__all__ += ["random_phases", "griffin_lim", "mel_inversion_tensors", "mel_to_stft", "undo_log", "mfcc_to_mel"]

# ==== end section: inversion ====


# ==== section: streaming (issue 19) ====


def stream_frames(buffer, chunk, due, frame_length: int, hop_length: int, length=None):
    """One step of causal framing over a stream: the frames a chunk completes, in a fixed number of slots.

    Frames of ``frame_length`` samples every ``hop_length`` samples are cut from the stream as its samples
    arrive. The state is the last ``frame_length - 1`` samples seen (``buffer``, zeros at the start: they are the
    stream's left padding) and ``due``, how many more samples complete the next frame (``frame_length - padding``
    at the start). The chunk holds ``C`` samples (static), of which the first ``length`` are new (all of them by
    default: a shorter ``length``, an int32 tensor, lets chunks of many sizes share one compiled step). It completes
    between 0 and ``ceil(C / hop_length)`` frames (the slots), the valid ones first, the rest zeros.

    Args:
        buffer: ``(..., frame_length - 1)`` samples.
        chunk: ``(..., C)`` new samples, the same leading axes.
        due: int32 scalar tensor, in ``[1, max(frame_length, hop_length)]``.
        frame_length, hop_length: the framing.
        length: the number of new samples in ``chunk`` (``None``: ``C``).

    Returns:
        ``(frames, num_frames, new_buffer, new_due)``: frames ``(..., ceil(C / hop_length), frame_length)``,
        ``num_frames`` the int32 count of valid slots.
    """
    if _backend.EAGER_STREAMING is not None:  # None where it does not apply (a trace, autograd)
        result = _backend.EAGER_STREAMING.frames(buffer, chunk, due, frame_length, hop_length, length)
        if result is not None:
            return result
    capacity = chunk.shape[-1]
    slots = -(-capacity // hop_length)
    joined = ops.concatenate([buffer, ops.cast(chunk, buffer.dtype)], axis=-1)  # (..., frame_length - 1 + C)
    due = ops.cast(due, "int32")
    count = capacity if length is None else ops.cast(length, "int32")
    completes = due <= count
    num_frames = ops.where(completes, (count - due) // hop_length + 1, 0)
    new_due = ops.where(completes, hop_length - ops.mod(count - due, hop_length), due - count)
    # the slots' samples: frame j starts at joined[due - 1 + j * hop]; read one span, then frame it statically
    span = (slots - 1) * hop_length + frame_length
    last = joined.shape[-1] - 1
    index = ops.minimum(ops.arange(0, span, dtype="int32") + (due - 1), last)
    frames = frame(stream_take(joined, index, -1), frame_length, hop_length)  # (..., slots, frame_length)
    valid = ops.cast(ops.arange(0, slots, dtype="int32") < num_frames, frames.dtype)
    frames = frames * valid[:, None]
    if length is None:
        new_buffer = joined[..., capacity:]
    else:  # the frame_length - 1 samples before the end of the new ones
        new_buffer = stream_take(joined, ops.arange(0, frame_length - 1, dtype="int32") + count, -1)
    return frames, ops.cast(num_frames, "int32"), new_buffer, ops.cast(new_due, "int32")


def zero_invalid_slots(values, num_frames, time_axis: int):
    """``values`` with the slots at and after ``num_frames`` along ``time_axis`` set to zero."""
    if _backend.EAGER_STREAMING is not None:
        result = _backend.EAGER_STREAMING.zero_invalid(values, num_frames, time_axis)
        if result is not None:
            return result
    slots = values.shape[time_axis]
    mask = stream_slot_mask(slots, num_frames, values.dtype)
    shape = [1] * len(values.shape)
    shape[time_axis] = slots
    return values * ops.reshape(mask, shape)


def per_row(value, like):
    """The int32 scalar ``value`` repeated for each row (the first axis) of ``like``: ``(batch,)``, the batch size
    dynamic under an export trace."""
    if _backend.EAGER_STREAMING is not None and like.shape[0] is not None:
        result = _backend.EAGER_STREAMING.per_row(value, like.shape[0])
        if result is not None:
            return result
    value = ops.cast(value, "int32")
    if len(like.shape) == 1:
        return ops.zeros_like(like, dtype="int32") + value
    return ops.broadcast_to(ops.reshape(value, (1,)), (ops.shape(like)[0],))


def stream_slot_mask(slots: int, num_frames, dtype):
    """``(slots,)``: 1 for the valid leading slots of a streaming step's output, 0 for the rest."""
    return ops.cast(ops.arange(0, slots, dtype="int32") < ops.cast(num_frames, "int32"), dtype)


def stream_take(values, index, axis: int):
    """``ops.take(values, index, axis)`` for a 1-D int32 ``index``, written as a gather on the first axis of a
    2-D view, the form every exporter of a streaming step lowers cleanly: Keras' PyTorch ``take`` squeezes the
    gathered axis, which ``torch.onnx`` exports as an ONNX ``Squeeze`` of a non-unit axis (an invalid model);
    the 2-D gather is ONNX ``Gather`` and LiteRT ``GATHER``. (The streaming steps also write
    ``ops.arange(0, n)``, not ``ops.arange(n)``: jax2onnx, Keras' ONNX exporter on JAX, fails on the latter.)"""
    axis = axis % len(values.shape)
    moved = ops.moveaxis(values, axis, 0)  # (length, ...)
    rest = tuple(ops.shape(moved)[1:])  # a dynamic batch size stays dynamic (TensorFlow export)
    picked = ops.take(ops.reshape(moved, (moved.shape[0], -1)), index, axis=0)  # (len(index), prod(rest))
    return ops.moveaxis(ops.reshape(picked, (index.shape[0], *rest)), 0, axis)


# ==== end section: streaming ====


# ==== section: streaming-temporal (issue 19) ====
__all__ += ["stream_delta", "stream_running_max", "stream_pcen", "STREAM_UNROLLED_SLOTS"]


def _stream_broadcast(values, time_axis: int, rank: int):
    """``values`` ``(batch, slots)`` shaped to broadcast against a ``rank``-D tensor with the slots on ``time_axis``."""
    shape = [1] * rank
    shape[0], shape[time_axis] = -1, values.shape[1]
    return ops.reshape(values, shape)


def stream_delta(ring, inputs, num_frames, count, win_length: int, mode: str = "symmetric", time_axis: int = 1):
    """One streaming step of :func:`delta`: the delta of every frame whose look-ahead the step completes.

    The delta of frame ``c`` reads frames ``c - W .. c + W`` (``W = (win_length - 1) // 2``); it is emitted with
    frame ``c + W``. Before the first frame the offline function pads ``W`` frames by ``mode`` (``'symmetric'``:
    ``x[-k] = x[k - 1]``, ``'reflect'``: ``x[-k] = x[k]``, ``'constant'``: zeros), all of them frames that have
    arrived when the first delta is due: the first ``W`` deltas are the offline ones exactly.

    Args:
        ring: the last ``2 W`` frames seen, on ``time_axis`` (zeros before the stream; only shape and dtype of the
            unseen ones matter).
        inputs: this step's frame slots on ``time_axis``, the first ``num_frames`` valid.
        num_frames: int32 scalar tensor, the valid slots of ``inputs``.
        count: int32 scalar tensor, the frames seen before this step, saturated at ``2 W``.
        win_length, mode: as :func:`delta`.
        time_axis: the frames axis (not 0).

    Returns:
        ``(deltas, num_deltas, new_ring, new_count)``: ``deltas`` with ``inputs``' slots (the valid ones first,
        the rest zero), ``num_deltas`` the int32 count of valid ones.

    Only gathers (:func:`stream_take` with computed indices), elementwise arithmetic and static slicing:
    traceable, LiteRT builtins and ONNX.
    """
    half = (win_length - 1) // 2
    rank = len(inputs.shape)
    time_axis = time_axis % rank
    slots = inputs.shape[time_axis]
    joined = ops.concatenate([ring, ops.cast(inputs, ring.dtype)], axis=time_axis)  # 2 W + slots frames
    last = 2 * half + slots - 1
    count = ops.cast(count, "int32")
    num_frames = ops.cast(num_frames, "int32")
    first = ops.maximum(count - half, 0)  # the first centre this step emits (global frame index)
    total = count + num_frames
    num_deltas = ops.maximum(total - half, 0) - first
    centres = first + ops.arange(0, slots, dtype="int32")
    base = 2 * half - count  # global frame g sits at joined[g + base]
    mode = mode.lower()

    def frames_at(index):
        valid = None
        if mode == "symmetric":
            index = ops.where(index < 0, -index - 1, index)
        elif mode == "reflect":
            index = ops.where(index < 0, -index, index)
        else:  # constant: zeros before the stream
            valid = ops.cast(index >= 0, joined.dtype)
        position = ops.clip(index + base, 0, last)
        values = stream_take(joined, position, time_axis)
        if valid is not None:
            values = values * _stream_broadcast(ops.expand_dims(valid, 0), time_axis, rank)
        return values

    total_sum = None
    for k in range(1, half + 1):
        term = frames_at(centres + k) - frames_at(centres - k)
        term = term * float(k) if k > 1 else term
        total_sum = term if total_sum is None else total_sum + term
    denominator = 2.0 * sum(k * k for k in range(1, half + 1))
    mask = stream_slot_mask(slots, num_deltas, joined.dtype)
    deltas = total_sum / denominator * _stream_broadcast(ops.expand_dims(mask, 0), time_axis, rank)
    new_ring = stream_take(joined, ops.arange(0, 2 * half, dtype="int32") + num_frames, time_axis)
    new_count = ops.minimum(total, 2 * half)
    return deltas, ops.cast(num_deltas, "int32"), new_ring, ops.cast(new_count, "int32")


def stream_running_max(values, num_frames, state, time_axis: int = 1):
    """The running maximum of each example over the frames of a stream, at every slot of one streaming step.

    Args:
        values: ``(batch, ...)`` with the frame slots on ``time_axis``, the first ``num_frames`` valid.
        num_frames: int32 scalar tensor.
        state: ``(batch,)``, the maximum over every earlier frame and every non-batch axis (the dtype's lowest
            finite value before the stream).
        time_axis: the frames axis (not 0).

    Returns:
        ``(running, new_state)``: ``running`` ``(batch, slots)``, the maximum over every frame up to and including
        each slot (valid slots; the rest hold the maximum through the last valid one), and ``new_state`` the
        maximum through the last valid frame (``state`` when there is none).

    Elementwise work and reductions only (a lower-triangular mask over the slots), no scan.
    """
    rank = len(values.shape)
    time_axis = time_axis % rank
    slots = values.shape[time_axis]
    dtype = values.dtype
    lowest = ops.convert_to_tensor(float(np.finfo(keras_backend.standardize_dtype(dtype)).min), dtype=dtype)
    state = ops.cast(state, dtype)
    moved = ops.moveaxis(values, time_axis, 1)
    rest = math.prod(moved.shape[2:])
    frame_max = _backend.reduce_max(ops.reshape(moved, (-1, slots, rest)), axis=-1)  # (batch, slots)
    valid = ops.arange(0, slots, dtype="int32") < ops.cast(num_frames, "int32")
    frame_max = ops.where(ops.expand_dims(valid, 0), frame_max, lowest)
    upto = ops.arange(0, slots, dtype="int32")
    earlier = ops.expand_dims(upto, 1) >= ops.expand_dims(upto, 0)  # [j, i]: frame i is at or before slot j
    candidates = ops.where(ops.expand_dims(earlier, 0), ops.expand_dims(frame_max, 1), lowest)
    running = _backend.reduce_max(candidates, axis=-1)
    running = _backend.maximum(running, ops.expand_dims(state, 1))
    new_state = _backend.maximum(state, _backend.reduce_max(frame_max, axis=1))
    return running, new_state


# Up to this many slots the streaming smoother is the recurrence unrolled (elementwise ops and static slices only:
# exact, and every LiteRT converter carries it); longer steps use exponential_smoothing's blocked scan.
STREAM_UNROLLED_SLOTS = 64


def _stream_smoothing(reference, coef, initial, num_frames, axis: int):
    """PCEN's smoother over one step's slots from ``initial``: ``(M at every slot, M at the last valid slot)``
    (the latter meaningful when ``num_frames > 0``)."""
    slots = reference.shape[axis]
    if slots > STREAM_UNROLLED_SLOTS:
        smoother, _ = exponential_smoothing(reference, coef, initial, axis=axis)
        return smoother, ops.take(smoother, ops.maximum(num_frames - 1, 0), axis=axis)
    decay = 1.0 - coef
    smoothed, state, last = [], initial, initial
    for index in range(slots):
        state = decay * state + coef * ops.squeeze(_pcen_slice(reference, index, index + 1, axis), axis)
        smoothed.append(state)
        last = ops.where(num_frames > index, state, last)
    return ops.stack(smoothed, axis=axis), last


@_float32_exact
def stream_pcen(x, num_frames, state, coef, gain, bias, power, eps: float, axis: int = 1, max_size: int = 1,
                max_axis: int | None = None, started=None):
    """One streaming step of :func:`pcen`: the frames of ``x`` (slots on ``axis``, the first ``num_frames``
    valid) normalised with the smoother continued from ``state`` (``M`` before the first slot).

    ``started`` (``(batch,)`` int32, or ``None``): LEAF's start; where it is 0 the smoother starts at the first
    valid frame (``M[-1] = x[0]``, max-filtered) instead of ``state``. Only valid slots advance the state: the
    new state is ``M`` at the last valid slot, ``state`` unchanged without one.

    Returns ``(P, new_state, new_started)`` (``new_started`` ``None`` when ``started`` is), ``P`` with every slot
    (the invalid ones are not zeroed here).
    """
    dtype = _pcen_float_dtype(x)
    x = ops.cast(x, dtype)
    x = ops.where(x < 0, ops.zeros_like(x), x)
    reference = max_filter(x, max_size, max_axis) if max_size != 1 else x
    state = ops.cast(state, dtype)
    count = ops.cast(num_frames, "int32")
    initial, new_started = state, None
    if started is not None:
        first = ops.squeeze(_pcen_slice(reference, 0, 1, axis), axis)  # a static slice: no gather to export
        begun = ops.reshape(ops.cast(started, "int32") > 0, (-1,) + (1,) * (len(first.shape) - 1))
        initial = ops.where(begun, state, first)
        new_started = ops.where(count > 0, ops.ones_like(started), started)
    smoother, last = _stream_smoothing(reference, coef, initial, count, axis)
    new_state = ops.where(count > 0, last, state)
    return pcen_compression(x, smoother, gain, bias, power, eps), new_state, new_started


# ==== end section: streaming-temporal ====


# ==== section: streaming-inverse (issue 19) ====
__all__ += ["stream_overlap_add", "stream_normalize_and_trim"]


@_float32_exact
def stream_overlap_add(stfts, num_frames, tail, n_fft: int, hop_length: int, window, kernel=None):
    """One step of a streaming inverse STFT: the windowed overlap-add (:func:`istft` without ``center``) of the
    frames that arrive, carried from step to step.

    Once frame ``k`` has arrived, the overlap-added samples before ``(k + 1) * hop_length`` are final (no later
    frame reaches them); the step returns those, ``hop_length`` per valid frame, and keeps the partial sums after
    them (``tail``) for the next step.

    Args:
        stfts: complex ``(..., slots, n_fft // 2 + 1)``, the valid frames first (the other slots are ignored); with
            ``kernel``, also a ``(real, imag)`` pair of float tensors (no complex tensor in the computation).
        num_frames: int32 scalar tensor, the number of valid slots.
        tail: ``(..., (ceil(L / hop_length) - 1) * hop_length)`` partial sums (``L`` the window's length; zeros at
            the start of a stream), or ``None`` when that length is 0 (frames that do not overlap).
        n_fft: FFT size of the frames.
        hop_length: samples between frame starts.
        window: the synthesis window, ``L <= n_fft`` values (:func:`kapre.constants.inverse_stft_window`, or the
            centred forward window when the caller normalises by the window envelope itself).
        kernel: ``None`` (the backend's inverse FFT, as :func:`istft`) or a ``(2 * (n_fft // 2 + 1), L)`` matrix
            whose product with ``[real | imag]`` of a frame is its windowed inverse FFT (the window folded in,
            ``window`` then unused): one matrix product, no FFT op (LiteRT builtins).

    Returns:
        ``(samples, produced, new_tail)``: ``samples`` ``(..., slots * hop_length)`` with the ``produced =
        num_frames * hop_length`` final samples first and zeros after them; ``new_tail`` like ``tail``.
    """
    frame_length = window.shape[0]
    columns = -(-frame_length // hop_length)
    tail_length = (columns - 1) * hop_length
    slots = (stfts[0] if isinstance(stfts, tuple) else stfts).shape[-2]
    if kernel is None:
        frames = _backend.irfft(stfts, n_fft)
        if frame_length < n_fft:
            frames = frames[..., :frame_length]
        frames = frames * window  # the offline layer's arithmetic; then the invalid slots zeroed
    else:
        real, imag = stfts if isinstance(stfts, tuple) else (ops.real(stfts), ops.imag(stfts))
        parts = ops.concatenate([ops.cast(real, kernel.dtype), ops.cast(imag, kernel.dtype)], axis=-1)
        frames = _backend.matmul(parts, kernel)
    frames = frames * stream_slot_mask(slots, num_frames, frames.dtype)[:, None]
    signal = overlap_add(frames, hop_length)  # (..., (slots - 1) * hop + L)
    if columns * hop_length > frame_length:
        signal = pad_along_axis(signal, 0, columns * hop_length - frame_length)  # (..., slots * hop + tail_length)
    produced = ops.cast(num_frames, "int32") * hop_length
    new_tail = tail
    if tail_length:
        # ops.add: the tail may be the NumPy initial state, which `+` on a PyTorch tensor sends through NumPy
        # (a CUDA tensor cannot go there)
        signal = ops.concatenate([ops.add(signal[..., :tail_length], tail), signal[..., tail_length:]], axis=-1)
        new_tail = ops.take(signal, ops.arange(tail_length, dtype="int32") + produced, axis=-1)
    samples = signal[..., : slots * hop_length] * stream_slot_mask(slots * hop_length, produced, signal.dtype)
    return samples, produced, new_tail


def stream_normalize_and_trim(samples, produced, position, envelope, trim: int):
    """The centred inverse STFT's finish (:func:`istft` with ``center``) on a streaming step's samples.

    ``samples`` (``(..., S)``, the ``produced`` final ones first) start at sample ``position`` of the overlap-added
    signal; each is divided by the overlap-added squared window there (``envelope``, a 1-D table from sample 0,
    its values below the offline layer's threshold set to 1, at least ``position + S`` long), and the samples
    before ``trim`` (``n_fft // 2``, the centring padding) are dropped.

    Returns:
        ``(samples, count)``: the kept samples first (``count`` of them, int32), zeros after them.
    """
    length = samples.shape[-1]
    position = ops.cast(position, "int32")
    offsets = ops.arange(length, dtype="int32")
    samples = samples / ops.take(envelope, offsets + position, axis=0)
    drop = ops.minimum(ops.maximum(trim - position, 0), produced)
    count = produced - drop
    samples = ops.take(samples, ops.minimum(offsets + drop, length - 1), axis=-1)
    return samples * stream_slot_mask(length, count, samples.dtype), ops.cast(count, "int32")


# ==== end section: streaming-inverse ====
