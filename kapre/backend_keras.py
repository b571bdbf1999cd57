"""kapre 0.2's Keras-backend helper, at its 0.2 path: ``amplitude_to_decibel``.

kapre 0.2 kept its NumPy helpers in :mod:`kapre.backend` (``mel``, ``get_stft_kernels``, ``filterbank_log``; in
kapre 1.x there too) and this one, which ran on Keras' backend, here. It runs on every Keras 3 backend.
"""

from __future__ import annotations

import keras
from keras import ops

from kapre import functional
from kapre.params import Decibel

__all__ = ["amplitude_to_decibel"]


def amplitude_to_decibel(x, amin: float = 1e-10, dynamic_range: float = 80.0):
    """kapre 0.2's decibels: ``10 * log10(max(x, amin))`` minus its maximum, floored at ``-dynamic_range``.

    The maximum is taken per example: over every axis but the first when ``x`` has rank >= 2 (the batch axis, as
    0.2's ``K.max(..., axis=(1, ..., ndim - 1))``), over all of ``x`` otherwise. Every example lies in
    ``[-dynamic_range, 0]`` dB. As in 0.2 the factor is 10 whatever ``x`` holds (amplitude or power).

    Args:
        x: a batch tensor (or array), e.g. a spectrogram ``(batch, freq, time, channels)``; integers count as
            Keras' floatx.
        amin: the smallest value (> 0); smaller inputs count as ``amin``.
        dynamic_range: the range in dB (> 0) kept below each example's maximum.

    Returns:
        A backend tensor of the shape of ``x`` (its float dtype, else Keras' floatx).

    Example:
        >>> import numpy as np
        >>> from kapre.backend_keras import amplitude_to_decibel
        >>> db = amplitude_to_decibel(np.array([[1.0, 0.1, 0.0]], 'float32'))
        >>> np.round(np.asarray(db), 3).tolist()
        [[0.0, -10.0, -80.0]]
    """
    decibel = Decibel.resolve("max", amin, dynamic_range)
    x = ops.convert_to_tensor(x)
    dtype = keras.backend.standardize_dtype(x.dtype)
    if "complex" in dtype:
        raise TypeError(f"amplitude_to_decibel takes a real tensor, received x of dtype {dtype}.")
    if not dtype.startswith(("float", "bfloat")):  # 0.2 needed a float tensor; ints and bools count as floatx
        x = ops.cast(x, keras.config.floatx())
    return functional.magnitude_to_decibel(x, "max", decibel.amin, decibel.dynamic_range, amplitude=False)
