"""Argument and input checks shared by kapre's layers: each error names the argument and the received value."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable

import keras
import numpy as np

CH_FIRST = "channels_first"
CH_LAST = "channels_last"
CH_DEFAULT = "default"
DATA_FORMATS = (CH_DEFAULT, CH_FIRST, CH_LAST)


# Bounds on sizes, far beyond any audio use, so that a typo (2**40) is an error at construction, not an 8 TiB
# allocation, a hang or an int32 overflow inside a backend.
MAX_SAMPLES = 2**24  # frame, FFT, hop and mask lengths: 16,777,216 samples (5.8 minutes at 48 kHz)
MAX_COUNT = 2**16  # bands, bins, coefficients, quantization channels
MAX_MASKS = 1024  # masks per example (each is one pass over the spectrogram)
MAX_DELTA_WIDTH = 1025  # delta window in frames (10 s at a 10 ms hop); each frame of it is one pass
MAX_DFT_LENGTH = 2**14  # a DFT kernel holds n_fft * (n_fft // 2 + 1) * 2 values: 2.1 GB in float64 at 16384
MAX_POWER = 4.0  # the exponent of |X| ** power: above it an ordinary spectrum (|X| ~ 1e7) overflows float32
FLOAT32_MAX = float(np.finfo(np.float32).max)

_SIZE_REASONS = {
    MAX_SAMPLES: "2**24 samples, 5.8 minutes at 48 kHz",
    MAX_COUNT: "2**16",
    MAX_MASKS: "masks per example",
    MAX_DELTA_WIDTH: "frames, 10 s at a 10 ms hop",
    MAX_DFT_LENGTH: "2**14: the DFT kernel holds n_fft * (n_fft // 2 + 1) * 2 values, 2.1 GB in float64",
}


def check_int(
    name: str, value, minimum: int | None = None, allow_none: bool = False, maximum: int | None = None
) -> int | None:
    """An integer (not a bool) in ``[minimum, maximum]``; ``None`` only if ``allow_none``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, received {name}={value!r} of type {type(value).__name__}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, received {name}={value!r}.")
    if maximum is not None and value > maximum:
        reason = _SIZE_REASONS.get(maximum)
        raise ValueError(f"{name} must be <= {maximum}" + (f" ({reason})" if reason else "")
                         + f", received {name}={value!r}.")
    return int(value)


def check_float(
    name: str,
    value,
    minimum: float | None = None,
    exclusive_minimum: float | None = None,
    allow_none: bool = False,
    maximum: float | None = None,
) -> float | None:
    """A finite real number, optionally ``>= minimum`` or ``> exclusive_minimum``, and ``<= maximum``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, received {name}={value!r} of type {type(value).__name__}.")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer beyond float64's range
        finite = False
    if not finite:
        raise ValueError(f"{name} must be finite, received {name}={value!r}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, received {name}={value!r}.")
    if exclusive_minimum is not None and value <= exclusive_minimum:
        raise ValueError(f"{name} must be > {exclusive_minimum}, received {name}={value!r}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum:g}, received {name}={value!r}.")
    return float(value)


MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1.0, 1e9  # 1 Hz to 1 GHz: far beyond audio on both sides


def check_sample_rate(name: str, value) -> float:
    """A sampling rate in Hz, from 1 Hz to 1 GHz (below, a filterbank's band edges collapse to 0 and divide by
    zero; above, scales derived from it overflow float32)."""
    value = check_float(name, value, exclusive_minimum=0.0)
    if not MIN_SAMPLE_RATE <= value <= MAX_SAMPLE_RATE:
        raise ValueError(
            f"{name} must be a sampling rate from {MIN_SAMPLE_RATE:g} Hz to {MAX_SAMPLE_RATE:g} Hz, received "
            f"{name}={value!r}."
        )
    return value


def check_float32_value(name: str, value) -> float:
    """A finite number that float32 can hold (a value written into a float32 tensor: pad, mask, fill)."""
    value = check_float(name, value)
    if abs(value) > FLOAT32_MAX:
        raise ValueError(
            f"{name} must be within float32's range (|{name}| <= {FLOAT32_MAX:.4g}), received {name}={value!r}."
        )
    return value


def check_shape(name: str, value) -> tuple:
    """The shape of one example: a tuple or list of positive integers or ``None`` (an unknown size)."""
    if not isinstance(value, (tuple, list)) or not all(
        size is None or (isinstance(size, numbers.Integral) and not isinstance(size, bool)) for size in value
    ):
        raise TypeError(
            f"{name} must be a tuple of integers (None for an unknown size), the shape of one example without the "
            f"batch axis, received {name}={value!r}."
        )
    if any(size is not None and not 1 <= size <= MAX_SAMPLES * 64 for size in value):
        raise ValueError(f"{name} must hold sizes from 1 to {MAX_SAMPLES * 64} (or None), received {name}={value!r}.")
    return tuple(None if size is None else int(size) for size in value)


def error_reason(error: BaseException) -> str:
    """The reason of an error a Keras layer raised, without Keras' frame around it: its terminal colours, the
    "Exception encountered when calling X.call()" line and the lists of the arguments received or of what to try;
    of a deserialization error, the layer's own error that Keras wraps ("... Exception encountered: <reason>")."""
    text = str(error).rsplit("\n\nException encountered: ", 1)[-1]
    highlighted = re.search(r"\x1b\[1m(.*?)\x1b\[0m", text, re.S)  # Keras sets the reason itself in bold
    if highlighted:
        text = highlighted.group(1)
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    text = re.sub(r"^\s*Exception encountered when calling \S+\.\s*", "", text)
    for tail in ("Arguments received by", "Make sure custom classes"):
        text = text.split(tail)[0]
    return text.strip()


def check_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, received {name}={value!r} of type {type(value).__name__}.")
    return bool(value)


def check_choice(name: str, value, choices: Iterable):
    """One of ``choices`` (strings, integers, ``None``); a bool or another type is never one."""
    choices = tuple(choices)
    plain = value is None or (isinstance(value, (str, int)) and not isinstance(value, bool))
    if not plain or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, received {name}={value!r}.")
    return value


def check_delta_args(win_length, mode) -> int:
    """The arguments of the delta layers: an odd ``win_length >= 3`` and a padding mode (case-insensitive)."""
    win_length = check_int("win_length", win_length, minimum=3, maximum=MAX_DELTA_WIDTH)
    if win_length % 2 != 1:
        raise ValueError(f"win_length must be an odd number, received win_length={win_length!r}.")
    if not isinstance(mode, str) or mode.lower() not in ("symmetric", "reflect", "constant"):
        raise ValueError(
            f"mode must be one of ['symmetric', 'reflect', 'constant'] (case-insensitive), received mode={mode!r}."
        )
    return win_length


def unwrap_data_format(value):
    """Old kapre/tf.keras files sometimes stored a data format as ``{'config': 'channels_last', ...}``."""
    if isinstance(value, dict) and "config" in value:
        return value["config"]
    return value


def check_data_format(name: str, value) -> str:
    """Validate a kapre data format string (``'default'``, ``'channels_first'``, ``'channels_last'``)."""
    value = unwrap_data_format(value)
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be a string, one of {list(DATA_FORMATS)}, received {name}={value!r} "
            f"of type {type(value).__name__}."
        )
    if value not in DATA_FORMATS:
        raise ValueError(f"{name} must be one of {list(DATA_FORMATS)}, received {name}={value!r}.")
    return value


def resolve_data_format(value: str) -> str:
    """``'default'`` becomes Keras' ``image_data_format()``."""
    return keras.config.image_data_format() if value == CH_DEFAULT else value


def check_input_rank(layer_name: str, shape, rank: int, layout: str) -> None:
    if len(shape) != rank:
        raise ValueError(
            f"{layer_name} expects a {rank}-D input {layout}, received an input of shape {tuple(shape)}."
        )


def check_real_input(layer_name: str, dtype) -> None:
    dtype = keras.backend.standardize_dtype(dtype)
    if dtype.startswith("complex"):
        raise TypeError(f"{layer_name} expects a real (float) input, received dtype {dtype}.")


def check_complex_input(layer_name: str, dtype) -> None:
    dtype = keras.backend.standardize_dtype(dtype)
    if not dtype.startswith("complex"):
        raise TypeError(
            f"{layer_name} expects a complex input (the output of STFT), received dtype {dtype}. "
            "For a real/imaginary pair in a trailing axis of size 2 use the Tflite layers."
        )


def fft_dtype(compute_dtype: str) -> str:
    """The float dtype transforms run in: float64 for a float64 layer, else float32.

    Half precision is never used for the transforms (FFTs in float16/bfloat16 fail or lose too much), so under
    ``mixed_float16``/``mixed_bfloat16`` they compute in float32.
    """
    return "float64" if compute_dtype == "float64" else "float32"


def complex_dtype(float_dtype: str) -> str:
    return "complex128" if float_dtype == "float64" else "complex64"


def real_dtype_of(dtype) -> str:
    dtype = keras.backend.standardize_dtype(dtype)
    return {"complex64": "float32", "complex128": "float64"}.get(dtype, dtype)


def output_float_dtype(compute_dtype: str, computed_dtype: str) -> str:
    """Hand back the policy's dtype under mixed precision; otherwise keep the computed precision."""
    if compute_dtype in ("float16", "bfloat16"):
        return compute_dtype
    return computed_dtype
