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
]


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
        V.check_int("window_length", window_length, minimum=1)
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
    ref_value, amin, dynamic_range = _check_decibel_args(ref_value, amin, dynamic_range)
    V.check_bool("amplitude", amplitude)
    x = ops.convert_to_tensor(x)
    return functional.magnitude_to_decibel(x, ref_value, amin, dynamic_range, amplitude)


# The names a caller's user knows these arguments by, for the messages (kapre.MelSpectrogram and the composed
# functions prefix them: db_amin, mel_f_min, log_n_bins, ...).
DB_NAMES = {"ref_value": "db_ref_value", "amin": "db_amin", "dynamic_range": "db_dynamic_range"}
MEL_NAMES = {"f_min": "mel_f_min", "f_max": "mel_f_max", "htk": "mel_htk", "norm": "mel_norm"}
LOG_NAMES = {"n_bins": "log_n_bins", "bins_per_octave": "log_bins_per_octave", "f_min": "log_f_min",
             "spread": "log_spread"}


def _check_decibel_args(ref_value, amin, dynamic_range, names: dict[str, str] | None = None):
    name = {**{key: key for key in ("ref_value", "amin", "dynamic_range")}, **(names or {})}
    if isinstance(ref_value, str):
        V.check_choice(name["ref_value"], ref_value, ("max",))
    else:
        ref_value = V.check_float(name["ref_value"], ref_value, exclusive_minimum=0.0)
    amin = V.check_float(name["amin"], amin, exclusive_minimum=0.0)
    dynamic_range = V.check_float(name["dynamic_range"], dynamic_range, exclusive_minimum=0.0, allow_none=True)
    return ref_value, amin, dynamic_range


def check_mel_args(sample_rate, n_freq, n_mels, f_min, f_max, htk, norm, names: dict[str, str] | None = None):
    """Validate the arguments of :func:`filterbank_mel`; returns them normalised (``f_max`` resolved).

    ``names`` maps an argument to the name the caller's user passed it as (e.g. ``{'f_min': 'fmin'}``), for the
    error messages.
    """
    keys = ("sample_rate", "n_freq", "n_mels", "f_min", "f_max", "htk", "norm")
    name = {**{key: key for key in keys}, **(names or {})}
    sample_rate = V.check_float(name["sample_rate"], sample_rate, exclusive_minimum=0.0)
    n_freq = V.check_int(name["n_freq"], n_freq, minimum=2)
    n_mels = V.check_int(name["n_mels"], n_mels, minimum=1)
    f_min = V.check_float(name["f_min"], f_min, minimum=0.0)
    f_max = V.check_float(name["f_max"], f_max, exclusive_minimum=0.0, allow_none=True)
    resolved_f_max = sample_rate / 2.0 if f_max is None else f_max
    if resolved_f_max <= f_min:
        raise ValueError(
            f"{name['f_max']} must be greater than {name['f_min']}={f_min}, received {name['f_max']}={f_max!r}."
        )
    if resolved_f_max > sample_rate / 2.0:
        raise ValueError(
            f"{name['f_max']} must be at most the Nyquist frequency {name['sample_rate']} / 2 = {sample_rate / 2.0}, "
            f"received {name['f_max']}={f_max!r}."
        )
    V.check_bool(name["htk"], htk)
    if norm is not None and norm != "slaney":
        if isinstance(norm, bool) or not isinstance(norm, (int, float, np.integer, np.floating)):
            raise ValueError(
                f"{name['norm']} must be None, 'slaney' or a number (p-norm), received {name['norm']}={norm!r}."
            )
    return sample_rate, n_freq, n_mels, f_min, f_max, bool(htk), norm


def check_log_args(sample_rate, n_freq, n_bins, bins_per_octave, f_min, spread, names: dict[str, str] | None = None):
    """Validate the arguments of :func:`filterbank_log` (``names`` as in :func:`check_mel_args`)."""
    keys = ("sample_rate", "n_freq", "n_bins", "bins_per_octave", "f_min", "spread")
    name = {**{key: key for key in keys}, **(names or {})}
    V.check_float(name["sample_rate"], sample_rate, exclusive_minimum=0.0)
    V.check_int(name["n_freq"], n_freq, minimum=2)
    V.check_int(name["n_bins"], n_bins, minimum=1)
    V.check_int(name["bins_per_octave"], bins_per_octave, minimum=1)
    V.check_float(name["f_min"], f_min, exclusive_minimum=0.0, allow_none=True)
    V.check_float(name["spread"], spread, exclusive_minimum=0.0)


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
    check_mel_args(sample_rate, n_freq, n_mels, f_min, f_max, htk, norm)
    weights = constants.mel_filterbank(sample_rate, n_freq, n_mels, f_min, f_max, htk, norm)
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
    check_log_args(sample_rate, n_freq, n_bins, bins_per_octave, f_min, spread)
    weights = constants.log_filterbank(sample_rate, n_freq, n_bins, bins_per_octave, f_min, spread)
    return ops.convert_to_tensor(weights.astype(keras.config.floatx()))


def mu_law_encoding(signal, quantization_channels: int):
    """Mu-law encode ``[-1, 1]`` audio to int32 codes ``0 .. quantization_channels - 1``."""
    V.check_int("quantization_channels", quantization_channels, minimum=2)
    return functional.mu_law_encoding(ops.convert_to_tensor(signal), quantization_channels)


def mu_law_decoding(signal_mu, quantization_channels: int):
    """Decode mu-law codes ``0 .. quantization_channels - 1`` to floats in ``[-1, 1]`` (Keras' floatx)."""
    V.check_int("quantization_channels", quantization_channels, minimum=2)
    return functional.mu_law_decoding(
        ops.convert_to_tensor(signal_mu), quantization_channels, dtype=keras.config.floatx()
    )
