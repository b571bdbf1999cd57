"""Random augmentation layers: SpecAugment masking, random channel permutation and additive white noise.

``SpecAugment`` and ``ChannelSwap`` are kapre 0.3/0.4's layers (arguments, semantics and registered names
``Kapre>SpecAugment``, ``Kapre>ChannelSwap``); ``AdditiveNoise`` is kapre 0.2's layer. All three:

- act only in training (``model.fit``, or a call with ``training=True``); at inference they return the input
  unchanged;
- draw new random numbers on every call and for every example of the batch, also inside a compiled training
  step (kapre 0.4's ``ChannelSwap`` drew one permutation when the graph was traced and reused it forever);
- take a ``seed`` and use Keras' seeded random ops (``keras.random`` with a ``keras.random.SeedGenerator``), so two
  layers built with the same seed draw the same numbers, on every backend.
"""

from __future__ import annotations

import keras
from keras import ops

from kapre import _validation as V
from kapre._layer import KapreLayer

__all__ = ["SpecAugment", "ChannelSwap", "AdditiveNoise"]

register = keras.saving.register_keras_serializable(package="Kapre")


def _check_seed(seed):
    return V.check_int("seed", seed, minimum=0, allow_none=True)


def _is_training(training) -> bool:
    """kapre's rule: only an explicit ``training=True`` (as set by ``fit``) augments; ``None`` is inference."""
    return training is not None and bool(training)


class _RandomLayer(KapreLayer):
    """Seed handling and the dtype/shape logic shared by the augmentation layers (output = input shape/dtype)."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = _check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_output_spec(self, inputs, training=None):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config


@register
class SpecAugment(_RandomLayer):
    """SpecAugment time and frequency masking (Park et al., 2019, https://arxiv.org/abs/1904.08779).

    For every example, ``n_time_masks`` time masks and ``n_freq_masks`` frequency masks are drawn (kapre's rule):
    a mask with parameter ``P`` on an axis of length ``L`` draws ``w`` uniformly from ``0 .. P - 1`` and a start
    ``s`` uniformly from ``0 .. L - w - 1``, and sets bins ``s .. s + w`` (``w + 1`` bins, so 1 to ``P`` bins) to
    ``mask_value``. Masks of one axis may overlap. Each example of a batch gets its own masks; all channels of an
    example share them (any number of channels is accepted). At inference the input is returned unchanged.

    Args:
        freq_mask_param: ``F`` of the paper, >= 1: a frequency mask covers 1 to ``F`` bins (e.g. 5 of 128 mel
            bands). At most the number of frequency bins.
        time_mask_param: ``T`` of the paper, >= 1: a time mask covers 1 to ``T`` frames (e.g. 10 frames = 116 ms
            at a hop of 256 samples at 22,050 Hz). At most the number of frames.
        n_freq_masks: frequency masks per example (default 1; 0 for none).
        n_time_masks: time masks per example (default 1; 0 for none).
        mask_value: value written into the masked bins (default 0.0; for a decibel spectrogram its minimum, e.g.
            -80.0, may be more natural).
        data_format: ``'channels_last'`` for ``(batch, time, freq, channels)``, ``'channels_first'`` for
            ``(batch, channels, time, freq)``, ``'default'`` (the default) for ``keras.config.image_data_format()``.
        seed: integer seed of the layer's random stream, or ``None`` (default) for an unseeded stream.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: ``(batch, time, freq, channels)`` or ``(batch, channels, time, freq)``.

    Output shape: same as input, same dtype.

    Raises:
        ValueError: in training, when ``time_mask_param`` exceeds the number of frames or ``freq_mask_param`` the
            number of frequency bins (of a known input length). For a time axis whose length is unknown until run
            time, a mask width is capped at that length instead.

    Example:
        >>> import numpy as np, kapre
        >>> spec_augment = kapre.augmentation.SpecAugment(freq_mask_param=5, time_mask_param=10, n_freq_masks=2,
        ...                                               n_time_masks=3, data_format='channels_last', seed=0)
        >>> x = np.ones((4, 100, 128, 1), 'float32')
        >>> masked = np.asarray(spec_augment(x, training=True))
        >>> bool((masked == 0).any()), bool((np.asarray(spec_augment(x)) == x).all())
        (True, True)
    """

    def __init__(
        self,
        freq_mask_param,
        time_mask_param,
        n_freq_masks=1,
        n_time_masks=1,
        mask_value=0.0,
        data_format="default",
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.freq_mask_param = V.check_int("freq_mask_param", freq_mask_param, minimum=1, maximum=V.MAX_SAMPLES)
        self.time_mask_param = V.check_int("time_mask_param", time_mask_param, minimum=1, maximum=V.MAX_SAMPLES)
        self.n_freq_masks = V.check_int("n_freq_masks", n_freq_masks, minimum=0, maximum=V.MAX_MASKS)
        self.n_time_masks = V.check_int("n_time_masks", n_time_masks, minimum=0, maximum=V.MAX_MASKS)
        V.check_float32_value("mask_value", mask_value)
        self.mask_value = mask_value
        self.data_format = V.check_data_format("data_format", data_format)
        self._format = V.resolve_data_format(self.data_format)
        self._time_axis, self._freq_axis = (1, 2) if self._format == V.CH_LAST else (2, 3)

    def _check_input(self, shape, dtype=None):
        V.check_input_rank(
            "SpecAugment", shape, 4, "(batch, time, freq, channels) or (batch, channels, time, freq) per data_format"
        )
        if dtype is not None:
            V.check_real_input("SpecAugment", dtype)

    def _check_lengths(self, shape):
        for axis, name, param, n_masks, what in (
            (self._time_axis, "time_mask_param", self.time_mask_param, self.n_time_masks, "frames"),
            (self._freq_axis, "freq_mask_param", self.freq_mask_param, self.n_freq_masks, "frequency bins"),
        ):
            length = shape[axis]
            if n_masks and length is not None and length < param:
                raise ValueError(
                    f"SpecAugment: {name}={param} exceeds the {length} {what} of the input (shape {tuple(shape)}, "
                    f"axis {axis}). Use {name} <= {length}."
                )

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        return tuple(input_shape)

    def _axis_mask(self, batch, length, mask_param, n_masks):
        """``(batch, length)`` booleans: the union of ``n_masks`` kapre masks per example."""
        widths = keras.random.randint((batch, n_masks), 0, mask_param, dtype="int32", seed=self.seed_generator)
        if not isinstance(length, int):  # unknown until run time: keep every mask inside the axis
            widths = ops.minimum(widths, ops.cast(length, "int32") - 1)
        room = ops.cast(length - widths, "float32")  # a start is drawn from 0 .. room - 1
        unit = keras.random.uniform((batch, n_masks), dtype="float32", seed=self.seed_generator)
        starts = ops.minimum(ops.cast(ops.floor(unit * room), "int32"), ops.cast(room, "int32") - 1)
        index = ops.reshape(ops.arange(length, dtype="int32"), (1, 1, -1))
        starts = ops.expand_dims(starts, -1)
        inside = ops.logical_and(index >= starts, index <= starts + ops.expand_dims(widths, -1))
        return ops.any(inside, axis=1)

    def call(self, inputs, training=None):
        self._check_input(inputs.shape, inputs.dtype)
        if not _is_training(training):
            return inputs
        self._check_lengths(inputs.shape)
        shape = ops.shape(inputs)
        batch = shape[0]
        masked = None
        for axis, param, n_masks in (
            (self._time_axis, self.time_mask_param, self.n_time_masks),
            (self._freq_axis, self.freq_mask_param, self.n_freq_masks),
        ):
            if n_masks == 0:
                continue
            mask = self._axis_mask(batch, shape[axis], param, n_masks)  # (batch, length)
            broadcast_shape = [-1, 1, 1, 1]
            broadcast_shape[axis] = shape[axis]
            mask = ops.reshape(mask, broadcast_shape)
            masked = mask if masked is None else ops.logical_or(masked, mask)
        if masked is None:
            return inputs
        fill = ops.cast(self.mask_value, inputs.dtype)
        return ops.where(masked, fill, inputs)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "freq_mask_param": self.freq_mask_param,
                "time_mask_param": self.time_mask_param,
                "n_freq_masks": self.n_freq_masks,
                "n_time_masks": self.n_time_masks,
                "mask_value": self.mask_value,
                "data_format": self.data_format,
            }
        )
        return config


@register
class ChannelSwap(_RandomLayer):
    """Randomly permute the channels of each example (e.g. swap left and right of a stereo recording).

    Every call draws a new uniformly random permutation for every example of the batch, also inside a compiled
    ``fit`` (kapre 0.4 drew one permutation at trace time and reused it for the whole training run). With one
    channel the input is returned unchanged. At inference the input is returned unchanged.

    Args:
        data_format: ``'channels_last'`` (channels on the last axis: ``(batch, time, channels)`` or
            ``(batch, time, freq, channels)``), ``'channels_first'`` (channels on axis 1: ``(batch, channels, time)``
            or ``(batch, channels, time, freq)``), ``'default'`` (the default) for
            ``keras.config.image_data_format()``.
        seed: integer seed of the layer's random stream, or ``None`` (default) for an unseeded stream.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: a batch of waveforms (3-D) or of spectrograms (4-D), with a known number of channels.

    Output shape: same as input, same dtype.

    Example:
        >>> import numpy as np, kapre
        >>> swap = kapre.augmentation.ChannelSwap(data_format='channels_last', seed=0)
        >>> x = np.tile(np.arange(4, dtype='float32'), (8, 100, 1))  # channel c holds the value c
        >>> permuted = np.asarray(swap(x, training=True))
        >>> sorted(permuted[0, 0].tolist())
        [0.0, 1.0, 2.0, 3.0]
    """

    def __init__(self, data_format="default", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.data_format = V.check_data_format("data_format", data_format)
        self._format = V.resolve_data_format(self.data_format)

    def _channel_axis(self, rank):
        return rank - 1 if self._format == V.CH_LAST else 1

    def _check_input(self, shape):
        if len(shape) not in (3, 4):
            raise ValueError(
                "ChannelSwap expects a 3-D batch of waveforms or a 4-D batch of spectrograms, received an input of "
                f"shape {tuple(shape)}."
            )
        axis = self._channel_axis(len(shape))
        if shape[axis] is None:
            raise ValueError(
                f"ChannelSwap needs a known number of channels (axis {axis} for data_format={self.data_format!r}), "
                f"received an input of shape {tuple(shape)}."
            )
        return axis

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        return tuple(input_shape)

    def call(self, inputs, training=None):
        axis = self._check_input(inputs.shape)
        n_channels = inputs.shape[axis]
        if not _is_training(training) or n_channels <= 1 or 0 in inputs.shape:  # nothing to permute
            return inputs
        shape = ops.shape(inputs)
        keys = keras.random.uniform((shape[0], n_channels), seed=self.seed_generator)
        permutations = ops.argsort(keys, axis=-1)  # a uniformly random permutation per example
        index_shape = [1] * len(inputs.shape)
        index_shape[0], index_shape[axis] = -1, n_channels
        indices = ops.broadcast_to(ops.reshape(permutations, index_shape), shape)
        return ops.take_along_axis(inputs, indices, axis=axis)

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format})
        return config


@register
class AdditiveNoise(_RandomLayer):
    """Add white Gaussian noise to the input in training (kapre 0.2's layer).

    The noise is ``N(0, power ** 2)`` per element: ``power`` is the standard deviation, as in kapre 0.2 (not a
    power in the physical sense). With ``random_gain=True`` the standard deviation is drawn from
    ``uniform(0, power)`` once per call (once per batch, as kapre 0.2 documented). At inference the input is
    returned unchanged.

    Args:
        power: standard deviation of the noise, >= 0 (default 0.1; for a waveform in ``[-1, 1]`` that is 20 dB
            below full scale).
        random_gain: draw the standard deviation from ``uniform(0, power)`` on every call (default ``False``).
        noise_type: ``'white'``, the only kind (default).
        seed: integer seed of the layer's random stream, or ``None`` (default) for an unseeded stream.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: any, float. Output shape: same as input, same dtype.

    Example:
        >>> import numpy as np, kapre.augmentation
        >>> noise = kapre.augmentation.AdditiveNoise(power=0.2, seed=0)
        >>> noisy = np.asarray(noise(np.zeros((2, 44100, 1), 'float32'), training=True))
        >>> round(float(noisy.std()), 1)
        0.2
    """

    def __init__(self, power=0.1, random_gain=False, noise_type="white", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        V.check_float("power", power, minimum=0.0, maximum=1e18)  # its square stays finite in float32
        self.power = power
        self.random_gain = V.check_bool("random_gain", random_gain)
        self.noise_type = V.check_choice("noise_type", noise_type, ("white",))

    def call(self, inputs, training=None):
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if not dtype.startswith(("float", "bfloat")):
            raise TypeError(f"AdditiveNoise expects a float input, received dtype {dtype}.")
        if not _is_training(training):
            return inputs
        noise = keras.random.normal(ops.shape(inputs), dtype=dtype, seed=self.seed_generator)
        if self.random_gain:
            gain = keras.random.uniform((), 0.0, float(self.power), dtype=dtype, seed=self.seed_generator)
        else:
            gain = ops.cast(float(self.power), dtype)
        return inputs + gain * noise

    def get_config(self):
        config = super().get_config()
        config.update({"power": self.power, "random_gain": self.random_gain, "noise_type": self.noise_type})
        return config
