"""kapre 0.2's ``kapre.filterbank.Filterbank`` layer (mel or log-frequency, trainable), on every Keras 3 backend.

Registered as ``Kapre02>Filterbank``. For kapre 0.4's time-first layout use
:class:`kapre.time_frequency.ApplyFilterbank`.
"""

from __future__ import annotations

import keras
from keras import ops

from kapre import _validation as V
from kapre import constants, functional
from kapre._layer import FRAME, ArrayInitializer, KapreLayer
from kapre.params import LogFilterbank, MelFilterbank

__all__ = ["Filterbank"]

register = keras.saving.register_keras_serializable(package="Kapre02")


@register
class Filterbank(KapreLayer):
    """Map the frequency axis of a 0.2 image-format spectrogram through a mel or log-frequency filterbank.

    The filterbank is a weight ``filterbank`` of shape ``(n_freq, n_fbs)`` (``n_freq`` is the input's number of
    frequency bins, read when the layer is built), initialized as

    * ``init='mel'``: the triangular Slaney mel filters with area normalization (``librosa.filters.mel(sr,
      2 * (n_freq - 1), n_fbs, fmin, fmax, norm='slaney').T``, what 0.2 computed with ``norm=1`` on
      librosa < 0.8);
    * ``init='log'``: kapre's log-frequency filters (log-normal, each summing to 1) centred at
      ``fmin * 2 ** (i / bins_per_octave)`` (:func:`kapre.constants.log_filterbank`); ``fmax`` is ignored.

    and trained with ``trainable_fb=True``.

    Args:
        n_fbs: number of filters (>= 1).
        trainable_fb: whether the filterbank is trainable.
        sr: sampling rate in Hz (> 0), required.
        init: ``'mel'`` or ``'log'``.
        fmin: lowest frequency in Hz. For ``'mel'`` >= 0 (``None`` means 0); for ``'log'`` > 0, or ``None`` for
            C1 (32.70 Hz). Defaults to 0.
        fmax: highest mel frequency in Hz, ``fmin < fmax <= sr / 2``; ``None`` means ``sr / 2``.
        bins_per_octave: filters per octave for ``'log'`` (>= 1). Defaults to 12.
        image_data_format: ``'channels_last'`` (``(batch, freq, time, channels)``), ``'channels_first'``
            (``(batch, channels, freq, time)``) or ``'default'``.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: ``(batch, n_freq, time, channels)`` or ``(batch, channels, n_freq, time)``, ``n_freq`` known.

    Output shape: ``(batch, n_fbs, time, channels)`` or ``(batch, channels, n_fbs, time)``.

    Raises:
        ValueError: for a log filterbank whose top filter is above ``sr / 2``
            (:class:`kapre.constants.FilterbankRangeError`), a non-4-D input, or an unknown ``n_freq``.

    Example:
        >>> import numpy as np
        >>> from kapre.filterbank import Filterbank
        >>> fb = Filterbank(n_fbs=40, trainable_fb=False, sr=16000, image_data_format='channels_last')
        >>> tuple(fb(np.ones((1, 257, 10, 1), 'float32')).shape)
        (1, 40, 10, 1)
    """

    frame_locality = FRAME

    def __init__(
        self,
        n_fbs,
        trainable_fb,
        sr=None,
        init="mel",
        fmin=0.0,
        fmax=None,
        bins_per_octave=12,
        image_data_format="default",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.n_fbs = V.check_int("n_fbs", n_fbs, minimum=1, maximum=V.MAX_COUNT)
        self.trainable_fb = V.check_bool("trainable_fb", trainable_fb)
        if sr is None:
            raise ValueError("Filterbank needs the sampling rate: sr must be a number > 0, received sr=None.")
        self.sr = sr
        V.check_sample_rate("sr", sr)
        self.init = V.check_choice("init", init, ("mel", "log"))
        self.fmin = fmin
        self.fmax = fmax
        self.bins_per_octave = V.check_int("bins_per_octave", bins_per_octave, minimum=1, maximum=V.MAX_COUNT)
        self.image_data_format = V.check_data_format("image_data_format", image_data_format)
        self._format = V.resolve_data_format(self.image_data_format)
        self._freq_axis = 1 if self._format == V.CH_LAST else 2
        if self.init == "mel":
            MelFilterbank.resolve(
                sr, 2, self.n_fbs, 0.0 if fmin is None else fmin, fmax, False, "slaney",
                names={"sample_rate": "sr", "n_mels": "n_fbs", "f_min": "fmin", "f_max": "fmax"},
            )
        else:
            if fmin is not None and V.check_float("fmin", fmin) <= 0:
                raise ValueError(
                    f"fmin must be > 0 for init='log' (or None for C1 = 32.70 Hz), received fmin={fmin!r}."
                )
            # The range check needs no n_freq: raise at construction rather than at build.
            LogFilterbank.resolve(sr, 2, self.n_fbs, self.bins_per_octave, fmin, 0.125).build()
        self.filterbank = None

    def _check_input(self, shape, dtype=None):
        V.check_input_rank("Filterbank", shape, 4, "(batch, freq, time, channels) or (batch, channels, freq, time)")
        if dtype is not None:
            V.check_real_input("Filterbank", dtype)
        n_freq = shape[self._freq_axis]
        if n_freq is None or n_freq < 2:
            raise ValueError(
                f"Filterbank needs a known number (>= 2) of frequency bins on axis {self._freq_axis}, received an "
                f"input of shape {tuple(shape)}."
            )
        if self.filterbank is not None and n_freq != self.filterbank.shape[0]:
            raise ValueError(
                f"Filterbank was built for {self.filterbank.shape[0]} frequency bins (axis {self._freq_axis}), "
                f"received an input of shape {tuple(shape)}."
            )

    def build(self, input_shape):
        self._check_input(input_shape)
        n_freq = int(input_shape[self._freq_axis])
        if self.init == "mel":
            fmin = 0.0 if self.fmin is None else float(self.fmin)
            fmax = None if self.fmax is None else float(self.fmax)
            values = constants.mel_filterbank(float(self.sr), n_freq, self.n_fbs, fmin, fmax, False, "slaney")
        else:
            fmin = None if self.fmin is None else float(self.fmin)
            values = constants.log_filterbank(float(self.sr), n_freq, self.n_fbs, self.bins_per_octave, fmin)
        self.filterbank = self.add_weight(
            name="filterbank",
            shape=values.shape,
            dtype=self.transform_dtype,
            initializer=ArrayInitializer(values),
            trainable=self.trainable_fb,
        )
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        shape = list(input_shape)
        shape[self._freq_axis] = self.n_fbs
        return tuple(shape)

    def compute_output_spec(self, inputs):
        dtype = V.output_float_dtype(self.compute_dtype, self.transform_dtype)
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=dtype)

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        x = ops.cast(inputs, self.transform_dtype)
        result = functional.apply_filterbank(x, ops.cast(self.filterbank, self.transform_dtype), self._freq_axis)
        out_dtype = V.output_float_dtype(self.compute_dtype, self.transform_dtype)
        return result if out_dtype == self.transform_dtype else ops.cast(result, out_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "n_fbs": self.n_fbs,
                "trainable_fb": self.trainable_fb,
                "sr": self.sr,
                "init": self.init,
                "fmin": self.fmin,
                "fmax": self.fmax,
                "bins_per_octave": self.bins_per_octave,
                "image_data_format": self.image_data_format,
            }
        )
        return config
