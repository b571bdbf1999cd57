"""Backend operations of kapre, with kapre 0.4's names and signatures.

This module keeps kapre's public helpers (``get_window_fn``, ``magnitude_to_decibel``, ``filterbank_mel``, ...)
working on every Keras backend. The numbers are computed by :mod:`kapre.constants` (NumPy) and
:mod:`kapre.functional` (``keras.ops``).

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


def filterbank_log(
    sample_rate: int,
    n_freq: int,
    n_bins: int = 84,
    bins_per_octave: int = 12,
    f_min: float | None = None,
    spread: float = 0.125,
):
    """kapre's log-frequency filterbank of shape ``(n_freq, n_bins)`` (log-normal filters, each summing to 1).

    ``f_min`` defaults to C1 (32.70 Hz); ``spread`` is each filter's width as a fraction of a bin. Raises
    :class:`kapre.constants.FilterbankRangeError` (a ``ValueError``) if the top filter is above Nyquist.
    """
    weights = LogFilterbank.resolve(sample_rate, n_freq, n_bins, bins_per_octave, f_min, spread).build()
    return ops.convert_to_tensor(weights.astype(keras.config.floatx()))


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
