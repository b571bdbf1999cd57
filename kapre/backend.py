"""Backend operations of kapre, with kapre 0.4's names and signatures.

This module keeps kapre's public helpers (``get_window_fn``, ``magnitude_to_decibel``, ``filterbank_mel``, ...)
working on every Keras backend. The numbers are computed by :mod:`kapre.constants` (NumPy) and
:mod:`kapre.functional` (``keras.ops``). kapre 0.2's NumPy helpers ``mel`` and ``get_stft_kernels`` are here too
(0.2's ``amplitude_to_decibel`` is in :mod:`kapre.backend_keras`), and ``filterbank_log`` also takes 0.2's
``sr=`` / ``fmin=``.

Attributes:
    _CH_FIRST_STR (str): ``'channels_first'``, a pre-defined string.
    _CH_LAST_STR (str): ``'channels_last'``, a pre-defined string.
    _CH_DEFAULT_STR (str): ``'default'``, a pre-defined string.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from keras import ops

from kapre import _validation as V
from kapre import constants, functional
from kapre.params import DB_NAMES, LOG_NAMES, MEL_NAMES, Decibel, LogFilterbank, MelFilterbank  # noqa: F401

_CH_FIRST_STR = V.CH_FIRST
_CH_LAST_STR = V.CH_LAST
_CH_DEFAULT_STR = V.CH_DEFAULT

__all__ = [
    "_CH_FIRST_STR",
    "_CH_LAST_STR",
    "_CH_DEFAULT_STR",
    "get_window_fn",
    "validate_data_format_str",
    "magnitude_to_decibel",
    "filterbank_mel",
    "filterbank_log",
    "mel",
    "get_stft_kernels",
    "mu_law_encoding",
    "mu_law_decoding",
    "_get_floatx",
    "_get_image_data_format",
]


def _get_floatx() -> str:
    """Keras' default float dtype (``keras.config.floatx()``), kapre 0.4's helper."""
    return keras.config.floatx()


def _get_image_data_format() -> str:
    """Keras' image data format (``'channels_last'`` or ``'channels_first'``), kapre 0.4's helper."""
    return keras.config.image_data_format()


class UnknownWindowError(ValueError, NotImplementedError):
    """An unknown window name: a ``ValueError`` that is also the ``NotImplementedError`` kapre 0.4 raised."""


def get_window_fn(window_name: str | None = None) -> Callable:
    """Return a window function given its name, as kapre's ``get_window_fn``.

    Args:
        window_name: ``None`` (``'hann_window'``) or one of ``'hann_window'``, ``'hamming_window'``,
            ``'kaiser_window'``, ``'kaiser_bessel_derived_window'``, ``'vorbis_window'`` (the ``tf.signal``
            windows kapre named), or a plain name such as ``'hann'`` or ``'blackman'``.

    Returns:
        ``fn(window_length, periodic=True, dtype='float32')`` returning a 1-D backend tensor. ``periodic=False``
        gives the symmetric Hann/Hamming window, as ``tf.signal``; the Kaiser and Vorbis windows ignore it.

    Example:
        >>> import kapre.backend
        >>> window = kapre.backend.get_window_fn('hamming_window')(400)
        >>> tuple(window.shape)
        (400,)
    """
    name = "hann_window" if window_name is None else window_name
    if not isinstance(name, str):
        raise TypeError(f"window_name must be a string or None, received window_name={window_name!r}.")
    if name not in constants.KAPRE_WINDOW_NAMES + constants.PLAIN_WINDOW_NAMES:
        raise UnknownWindowError(
            f"Window name {name!r} is not supported. Use one of {list(constants.KAPRE_WINDOW_NAMES)} "
            f"or {list(constants.PLAIN_WINDOW_NAMES)}."
        )

    def window_fn(window_length: int, periodic: bool = True, dtype: str = "float32"):
        V.check_int("window_length", window_length, minimum=1, maximum=V.MAX_SAMPLES)
        if periodic or name not in ("hann_window", "hamming_window", "hann", "hamming"):
            values = constants.get_window(name, window_length)
        elif window_length == 1:
            values = np.ones(1)
        else:  # symmetric: the periodic window one sample shorter, closed with its first sample
            values = constants.get_window(name, window_length - 1)
            values = np.append(values, values[0])
        return ops.convert_to_tensor(values.astype(dtype))

    window_fn.__name__ = name
    return window_fn


def validate_data_format_str(data_format: str) -> None:
    """Raise ``TypeError``/``ValueError`` unless ``data_format`` is ``'default'``, ``'channels_first'`` or
    ``'channels_last'``."""
    V.check_data_format("data_format", data_format)


def magnitude_to_decibel(x, ref_value=1.0, amin: float = 1e-5, dynamic_range: float = 80.0, amplitude: bool = False):
    """Convert a magnitude (or power) to decibels, per example, as kapre does.

    ``10 * log10(max(x, amin)) - 10 * log10(max(amin, ref_value))``, floored at ``dynamic_range`` dB below the
    maximum of each example (the first axis is the batch when ``x`` has rank >= 2). Similar to
    ``librosa.power_to_db(x, ref=ref_value, amin=amin, top_db=dynamic_range)`` applied per example.

    Args:
        x: float tensor, e.g. an STFT magnitude ``(batch, time, freq, ch)``.
        ref_value: the input value that becomes 0 dB (> 0), or ``'max'`` for the maximum of each example.
        amin: the smallest input value (> 0); smaller inputs count as ``amin``.
        dynamic_range: the range (dB, > 0) kept below each example's maximum.
        amplitude: use ``20 * log10`` (for amplitudes, as ``librosa.amplitude_to_db``) instead of ``10 * log10``.

    Example:
        >>> import numpy as np, kapre.backend
        >>> db = kapre.backend.magnitude_to_decibel(np.array([[1.0, 0.1]], 'float32'))
        >>> np.round(np.asarray(db), 3).tolist()
        [[0.0, -10.0]]
    """
    d = Decibel.resolve(ref_value, amin, dynamic_range, amplitude)
    return functional.magnitude_to_decibel(ops.convert_to_tensor(x), d.ref_value, d.amin, d.dynamic_range, d.amplitude)


def _check_decibel_args(ref_value, amin, dynamic_range, names: dict[str, str] | None = None):
    """:meth:`kapre.params.Decibel.resolve`'s checks; returns ``(ref_value, amin, dynamic_range)``."""
    decibel = Decibel.resolve(ref_value, amin, dynamic_range, names=names)
    return decibel.ref_value, decibel.amin, decibel.dynamic_range


def check_mel_args(sample_rate, n_freq, n_mels, f_min, f_max, htk, norm, names: dict[str, str] | None = None):
    """Validate the arguments of :func:`filterbank_mel` (:meth:`kapre.params.MelFilterbank.resolve`); returns them
    normalised. ``names`` maps an argument to the name the caller's user passed it as, for the messages."""
    mel = MelFilterbank.resolve(sample_rate, n_freq, n_mels, f_min, f_max, htk, norm, names=names)
    return mel.sample_rate, mel.n_freq, mel.n_mels, mel.f_min, mel.f_max, mel.htk, mel.norm


def check_log_args(sample_rate, n_freq, n_bins, bins_per_octave, f_min, spread, names: dict[str, str] | None = None):
    """Validate the arguments of :func:`filterbank_log` (:meth:`kapre.params.LogFilterbank.resolve`)."""
    LogFilterbank.resolve(sample_rate, n_freq, n_bins, bins_per_octave, f_min, spread, names=names)


def filterbank_mel(
    sample_rate: int,
    n_freq: int,
    n_mels: int = 128,
    f_min: float = 0.0,
    f_max: float | None = None,
    htk: bool = False,
    norm="slaney",
):
    """A mel filterbank of shape ``(n_freq, n_mels)``, equal to ``librosa.filters.mel(...).T``.

    Computed in NumPy (no librosa at run time); see :func:`kapre.constants.mel_filterbank` for the arguments
    (``norm``: ``'slaney'``, ``None`` or a number). Returns a float32 backend tensor.
    """
    weights = MelFilterbank.resolve(sample_rate, n_freq, n_mels, f_min, f_max, htk, norm).build()
    return ops.convert_to_tensor(weights.astype(keras.config.floatx()))


def _alias(new_name: str, new_value, old_name: str, old_value):
    """The value of an argument kapre 0.2 called ``old_name`` and kapre 0.4 ``new_name``; at most one given."""
    if new_value is not None and old_value is not None:
        raise TypeError(
            f"Pass {new_name}= (kapre 0.4) or {old_name}= (kapre 0.2), not both; received {new_name}={new_value!r} "
            f"and {old_name}={old_value!r}."
        )
    return old_value if new_value is None else new_value


def filterbank_log(
    sample_rate: float | None = None,
    n_freq: int | None = None,
    n_bins: int = 84,
    bins_per_octave: int = 12,
    f_min: float | None = None,
    spread: float = 0.125,
    *,
    sr: float | None = None,
    fmin: float | None = None,
):
    """kapre's log-frequency filterbank of shape ``(n_freq, n_bins)`` (log-normal filters, each summing to 1).

    ``f_min`` defaults to C1 (32.70 Hz); ``spread`` is each filter's width as a fraction of a bin. Raises
    :class:`kapre.constants.FilterbankRangeError` (a ``ValueError``) if the top filter is above Nyquist.

    kapre 0.2's keywords ``sr=`` and ``fmin=`` are accepted for ``sample_rate`` and ``f_min`` (one of each pair;
    both is a ``TypeError``, and so is no sample rate). The result is kapre 0.4's: a ``(n_freq, n_bins)`` backend
    tensor, the transpose of 0.2's ``(n_bins, n_freq)`` NumPy array, with 0.2's numbers.
    """
    if sample_rate is None and sr is None:
        raise TypeError("filterbank_log needs a sample rate: pass sample_rate= (kapre 0.4) or sr= (kapre 0.2).")
    if n_freq is None:
        raise TypeError("filterbank_log needs n_freq (the number of input frequency bins, n_fft // 2 + 1).")
    names = {"sample_rate": "sr" if sample_rate is None else "sample_rate",
             "f_min": "fmin" if fmin is not None else "f_min"}
    sample_rate = _alias("sample_rate", sample_rate, "sr", sr)
    f_min = _alias("f_min", f_min, "fmin", fmin)
    spec = LogFilterbank.resolve(sample_rate, n_freq, n_bins, bins_per_octave, f_min, spread, names=names)
    return ops.convert_to_tensor(spec.build().astype(keras.config.floatx()))


def _check_even_n_dft(n_dft, maximum: int) -> int:
    n_dft = V.check_int("n_dft", n_dft, minimum=2, maximum=maximum)
    if n_dft % 2:  # kapre's filterbanks and kernels take n_dft // 2 + 1 bins of an even-length DFT
        raise ValueError(f"n_dft must be an even number (kapre 0.2: a power of two), received n_dft={n_dft!r}.")
    return n_dft


def mel(sr: float, n_dft: int, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None, htk: bool = False,
        norm="slaney") -> np.ndarray:
    """kapre 0.2's mel filterbank: ``librosa.filters.mel(sr=sr, n_fft=n_dft, ...)``, shape
    ``(n_mels, n_dft // 2 + 1)``, a NumPy array in Keras' floatx (as 0.2 returned it).

    Computed in NumPy (no librosa at run time). ``norm`` is librosa's (from 0.8 on, as kapre 0.2's default
    ``'slaney'`` assumes): ``'slaney'`` divides each triangle by its width in Hz, a number ``p`` by its p-norm,
    ``None`` leaves peaks at 1. ``fmax=None`` is ``sr / 2``. Unlike 0.2 (librosa took any ``n_fft``), ``n_dft``
    must be even and ``fmax`` at most ``sr / 2``; bad arguments raise ``ValueError`` naming them.

    Example:
        >>> import kapre.backend
        >>> kapre.backend.mel(16000, 512, n_mels=40).shape
        (40, 257)
    """
    n_dft = _check_even_n_dft(n_dft, V.MAX_SAMPLES)
    names = {"sample_rate": "sr", "n_freq": "n_dft // 2 + 1", "f_min": "fmin", "f_max": "fmax"}
    spec = MelFilterbank.resolve(sr, n_dft // 2 + 1, n_mels, fmin, fmax, htk, norm, names=names)
    return np.ascontiguousarray(spec.build().T.astype(keras.config.floatx()))


def get_stft_kernels(n_dft: int) -> tuple[np.ndarray, np.ndarray]:
    """kapre 0.2's DFT kernels: ``(real, imag)`` NumPy arrays in Keras' floatx, each ``(n_dft, 1, 1, n_dft // 2 + 1)``.

    ``real[n, 0, 0, k] = w[n] * cos(2 pi k n / n_dft)`` and ``imag[n, 0, 0, k] = -w[n] * sin(2 pi k n / n_dft)``
    with ``w`` the periodic Hann window of ``n_dft`` samples, so a frame convolved with them gives the real and
    imaginary parts of ``np.fft.rfft(w * frame)``. 0.2 asserted that ``n_dft`` is a power of two > 1; here any even
    ``n_dft >= 2`` works (``ValueError`` otherwise).

    Example:
        >>> import kapre.backend
        >>> real, imag = kapre.backend.get_stft_kernels(512)
        >>> real.shape, imag.shape
        ((512, 1, 1, 257), (512, 1, 1, 257))
    """
    n_dft = _check_even_n_dft(n_dft, V.MAX_DFT_LENGTH)  # the kernels hold n_dft * (n_dft // 2 + 1) values each
    real, imag = constants.dft_kernels(n_dft, constants.get_window("hann", n_dft))  # (n_dft, n_dft // 2 + 1)
    floatx = keras.config.floatx()
    return real[:, None, None, :].astype(floatx), imag[:, None, None, :].astype(floatx)


def mu_law_encoding(signal, quantization_channels: int):
    """Mu-law encode ``[-1, 1]`` audio to int32 codes ``0 .. quantization_channels - 1``."""
    V.check_int("quantization_channels", quantization_channels, minimum=2, maximum=V.MAX_SAMPLES)
    return functional.mu_law_encoding(ops.convert_to_tensor(signal), quantization_channels)


def mu_law_decoding(signal_mu, quantization_channels: int):
    """Decode mu-law codes ``0 .. quantization_channels - 1`` to floats in ``[-1, 1]`` (Keras' floatx)."""
    V.check_int("quantization_channels", quantization_channels, minimum=2, maximum=V.MAX_SAMPLES)
    return functional.mu_law_decoding(
        ops.convert_to_tensor(signal_mu), quantization_channels, dtype=keras.config.floatx()
    )
