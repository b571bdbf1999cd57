"""kapre 0.2's ``kapre.utils`` layers: ``AmplitudeToDB``, ``Normalization2D`` and ``Delta``, on every Keras 3 backend.

They work on 0.2's 2-D image format: ``(batch, freq, time, channels)`` (``'channels_last'``) or
``(batch, channels, freq, time)`` (``'channels_first'``), the output of
:class:`kapre.time_frequency.Spectrogram` / :class:`~kapre.time_frequency.Melspectrogram`.

They are registered as ``Kapre02>AmplitudeToDB``, ``Kapre02>Normalization2D`` and ``Kapre02>Delta``: kapre 0.4's
``kapre.time_frequency.Delta`` (``Kapre>Delta``, time-first layout) is a different class and both load.
Invalid arguments raise ``ValueError``/``TypeError`` naming the argument (0.2 used ``assert``).
"""

from __future__ import annotations

import warnings

import keras
from keras import ops

from kapre import _validation as V
from kapre import functional
from kapre._layer import EXAMPLE_MAX, KapreLayer

__all__ = ["AmplitudeToDB", "Normalization2D", "Delta"]

register = keras.saving.register_keras_serializable(package="Kapre02")


def _work_dtype(dtype) -> str:
    dtype = keras.backend.standardize_dtype(dtype)
    return dtype if dtype in ("float32", "float64") else "float32"


class _ElementwiseShapeLayer(KapreLayer):
    """Output shape == input shape; float32/float64 math, the policy's dtype out under mixed precision."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def _check_input(self, shape, dtype=None):
        if dtype is not None:
            V.check_real_input(type(self).__name__, dtype)

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        return tuple(input_shape)

    def compute_output_spec(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        dtype = V.output_float_dtype(self.compute_dtype, _work_dtype(inputs.dtype))
        return keras.KerasTensor(tuple(inputs.shape), dtype=dtype)

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        work = _work_dtype(inputs.dtype)
        result = self._compute(ops.cast(inputs, work))
        out = V.output_float_dtype(self.compute_dtype, work)
        return result if out == work else ops.cast(result, out)


@register
class AmplitudeToDB(_ElementwiseShapeLayer):
    """kapre 0.2's decibel layer: ``10 * log10(max(x, amin))`` normalized per example to ``[-top_db, 0]``.

    Each example's maximum becomes 0 dB and everything more than ``top_db`` dB below it is clipped to
    ``-top_db`` (0.2's ``amplitude_to_decibel``; kapre 0.4's ``MagnitudeToDecibel(ref_value='max')``).
    ``Spectrogram(return_decibel_spectrogram=True)`` equals ``Spectrogram()`` followed by ``AmplitudeToDB()``.

    Args:
        amin: noise floor (> 0): smaller values count as ``amin``. Defaults to 1e-10.
        top_db: dynamic range in dB (> 0). Defaults to 80.
        **kwargs: base ``keras.layers.Layer`` arguments. ``ref_power`` (in some 0.1 docstrings) is accepted and
            ignored: the output is relative to each example's maximum whatever the reference.

    Input shape: any, first axis the batch (a 1-D input is one example). Output shape: same as input.

    Example:
        >>> import numpy as np
        >>> from kapre.utils import AmplitudeToDB
        >>> np.round(np.asarray(AmplitudeToDB()(np.array([[1.0, 0.1, 0.0]], 'float32'))), 3).tolist()
        [[0.0, -10.0, -80.0]]
    """

    frame_locality = EXAMPLE_MAX

    def __init__(self, amin=1e-10, top_db=80.0, **kwargs):
        kwargs.pop("ref_power", None)
        super().__init__(**kwargs)
        self.amin = V.check_float("amin", amin, exclusive_minimum=0.0, maximum=V.FLOAT32_MAX)
        self.top_db = V.check_float("top_db", top_db, exclusive_minimum=0.0)

    def _compute(self, x):
        return functional.magnitude_to_decibel(x, "max", self.amin, self.top_db, amplitude=False)

    def get_config(self):
        config = super().get_config()
        config.update({"amin": self.amin, "top_db": self.top_db})
        return config


_STR_AXES = ("batch", "data_sample", "channel", "freq", "time")


@register
class Normalization2D(_ElementwiseShapeLayer):
    """kapre 0.2's normalization: ``(x - mean) / (std + eps)``, statistics per index of one axis.

    ``mean`` and ``std`` (population standard deviation) are computed over every axis except the selected one,
    so each index of that axis is normalized separately:

    * ``'data_sample'`` (``int_axis=0``): per example, over (freq, time, channels);
    * ``'channel'``, ``'freq'``, ``'time'``: per channel / frequency bin / frame, over the batch and the other
      two axes (the statistics pool the whole batch, as in 0.2);
    * ``'batch'`` (``int_axis=-1``): one mean and std over the whole batch.

    Only ``'data_sample'`` gives each example a result independent of the rest of the batch.

    Args:
        str_axis: ``'batch'``, ``'data_sample'``, ``'channel'``, ``'freq'`` or ``'time'``; maps to an axis of the
            0.2 image format given ``image_data_format``. Takes precedence over ``int_axis``.
        int_axis: axis index kept: ``0`` (per example), ``1``, ``2``, ``3`` (channel, freq, time if
            ``'channels_first'``; freq, time, channel if ``'channels_last'``) or ``-1`` (whole batch). Used only
            when ``str_axis`` is ``None``; one of the two is required.
        image_data_format: ``'channels_last'`` (``(batch, freq, time, channels)``), ``'channels_first'``
            (``(batch, channels, freq, time)``) or ``'default'``.
        eps: added to the standard deviation (>= 0). Defaults to 1e-10.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: 4-D, ``(batch, freq, time, channels)`` or ``(batch, channels, freq, time)``. Output shape: same.

    Example:
        >>> import numpy as np
        >>> from kapre.utils import Normalization2D
        >>> x = np.arange(8, dtype='float32').reshape(1, 2, 2, 2)
        >>> y = np.asarray(Normalization2D(str_axis='data_sample')(x))
        >>> round(float(y.mean()), 6), round(float(y.std()), 4)
        (0.0, 1.0)
    """

    def __init__(self, str_axis=None, int_axis=None, image_data_format="default", eps=1e-10, **kwargs):
        super().__init__(**kwargs)
        self.image_data_format = V.check_data_format("image_data_format", image_data_format)
        self._format = V.resolve_data_format(self.image_data_format)
        if str_axis is None and int_axis is None:
            raise ValueError(
                "Normalization2D needs str_axis (one of "
                f"{list(_STR_AXES)}) or int_axis (-1, 0, 1, 2 or 3), received str_axis=None and int_axis=None."
            )
        if str_axis is not None:
            V.check_choice("str_axis", str_axis, _STR_AXES)
            if str_axis == "batch":
                axis = -1
            elif self._format == V.CH_FIRST:
                axis = ["data_sample", "channel", "freq", "time"].index(str_axis)
            else:
                axis = ["data_sample", "freq", "time", "channel"].index(str_axis)
            if int_axis is not None and int_axis != axis:
                warnings.warn(
                    f"Normalization2D: int_axis={int_axis!r} is ignored, str_axis={str_axis!r} (axis {axis}) is "
                    "used instead.",
                    stacklevel=2,
                )
        else:
            axis = V.check_int("int_axis", int_axis)
            if axis not in (-1, 0, 1, 2, 3):
                raise ValueError(f"int_axis must be one of [-1, 0, 1, 2, 3], received int_axis={int_axis!r}.")
        self.str_axis = str_axis
        self.int_axis = axis
        self.eps = V.check_float("eps", eps, minimum=0.0)

    def _check_input(self, shape, dtype=None):
        V.check_input_rank(
            "Normalization2D", shape, 4, "(batch, freq, time, channels) or (batch, channels, freq, time)"
        )
        super()._check_input(shape, dtype)

    def _compute(self, x):
        if self.int_axis == -1:
            axes = (0, 1, 2, 3)
        else:
            axes = tuple(a for a in range(4) if a != self.int_axis)
        mean = ops.mean(x, axis=axes, keepdims=True)
        centred = x - mean
        # safe_sqrt: gradient 0, not inf, at a zero variance (a constant example); a zero divisor (eps=0 on a
        # constant example) divides by 1, so the output there is 0 (centred), not 0/0
        scale = functional.safe_sqrt(ops.mean(centred * centred, axis=axes, keepdims=True)) + self.eps
        return centred / ops.where(scale > 0, scale, ops.ones_like(scale))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "str_axis": self.str_axis,
                "int_axis": self.int_axis,
                "image_data_format": self.image_data_format,
                "eps": self.eps,
            }
        )
        return config


@register
class Delta(_ElementwiseShapeLayer):
    """kapre 0.2's delta: a local estimate of the time derivative of a 2-D image-format spectrogram.

    ``delta[t] = sum_{k=1..n} k * (x[t + k] - x[t - k]) / (2 * sum_{k=1..n} k**2)``, ``n = (win_length - 1) // 2``,
    after padding the time axis by ``n`` frames with ``mode`` (kapre's formula, :func:`kapre.functional.delta`;
    in the interior it equals ``librosa.feature.delta(x, width=win_length)`` along time). This is 0.2's layout;
    for kapre 0.4's time-first spectrograms use :class:`kapre.time_frequency.Delta`.

    Args:
        win_length: odd number of frames (>= 3) the derivative is estimated over. Defaults to 5.
        mode: time padding: ``'symmetric'`` (edge repeated), ``'reflect'`` or ``'constant'`` (zeros);
            case-insensitive.
        data_format: ``'channels_last'`` (``(batch, freq, time, channels)``), ``'channels_first'``
            (``(batch, channels, freq, time)``) or ``'default'``.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: 4-D, ``(batch, freq, time, channels)`` or ``(batch, channels, freq, time)``. Output shape: same.

    Raises:
        ValueError: for a time axis shorter than ``n`` frames (``'symmetric'``) or ``n + 1`` (``'reflect'``).

    Example:
        >>> import numpy as np
        >>> from kapre.utils import Delta
        >>> x = np.array([1, 2, 3, 4], 'float32').reshape(1, 1, 4, 1)
        >>> np.asarray(Delta(win_length=3, data_format='channels_last')(x)).ravel().tolist()
        [0.5, 1.0, 1.0, 0.5]
    """

    def __init__(self, win_length=5, mode="symmetric", data_format="default", **kwargs):
        super().__init__(**kwargs)
        self.win_length = V.check_delta_args(win_length, mode)
        self.mode = mode
        self.data_format = V.check_data_format("data_format", data_format)
        self._time_axis = 2 if V.resolve_data_format(self.data_format) == V.CH_LAST else 3

    def _check_input(self, shape, dtype=None):
        V.check_input_rank("Delta", shape, 4, "(batch, freq, time, channels) or (batch, channels, freq, time)")
        super()._check_input(shape, dtype)
        frames, half = shape[self._time_axis], (self.win_length - 1) // 2
        needed = half + 1 if self.mode.lower() == "reflect" else max(half, 1)
        if frames is not None and frames < needed:
            raise ValueError(
                f"Delta with win_length={self.win_length} and mode={self.mode!r} needs at least {needed} frames on "
                f"the time axis (axis {self._time_axis}), received an input of shape {tuple(shape)}."
            )

    def _compute(self, x):
        return functional.delta(x, self.win_length, self.mode.lower(), self._time_axis)

    def get_config(self):
        config = super().get_config()
        config.update({"win_length": self.win_length, "mode": self.mode, "data_format": self.data_format})
        return config
