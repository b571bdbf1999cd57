"""kapre.augmentation: SpecAugment, ChannelSwap, AdditiveNoise.

Random layers are checked by their distributions (scipy.stats chi-square / Kolmogorov-Smirnov tests against the
exact distributions of kapre's rules) with fixed seeds, so every run draws the same numbers and no test is flaky.
"""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import scipy.stats

import kapre
from kapre.augmentation import AdditiveNoise, ChannelSwap, SpecAugment
from tests.helpers import BACKEND, gradient, model_of, noise, save_and_load, to_numpy

CL, CF = "channels_last", "channels_first"
# one shape for most SpecAugment tests: JAX compiles every eager op once per input shape
SHAPE = (64, 30, 20, 2)
P_MIN = 1e-3  # smallest p-value accepted by a goodness-of-fit test (the seeds are fixed: no flakiness)


def _runs(mask_1d):
    """(start, end) of the runs of True in a 1-D boolean array, end inclusive."""
    padded = np.concatenate([[False], mask_1d, [False]]).astype(int)
    edges = np.diff(padded)
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


# -- SpecAugment ---------------------------------------------------------------------------------------------------


def test_spec_augment_identity_at_inference():
    x = noise((3, 20, 16, 2), seed=1)
    layer = SpecAugment(4, 5, n_freq_masks=2, n_time_masks=2, data_format=CL, seed=0)
    np.testing.assert_array_equal(to_numpy(layer(x)), x)
    np.testing.assert_array_equal(to_numpy(layer(x, training=False)), x)
    model = model_of(layer, (20, 16, 2))
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


@pytest.mark.parametrize("data_format", [CL, CF])
def test_spec_augment_width_and_position_follow_kapre(data_format):
    """One time mask per example: w ~ U{0..T-1} masks frames s..s+w with s ~ U{0..L-w-1} (kapre's rule).

    The frequency axis is tested the same way in the other data format. Each example's mask is one run of w + 1
    bins, the same across frequency and channels; widths and starts are compared with their exact distributions.
    """
    batch, length, param = 3000, 12, 5
    if data_format == CL:
        layer = SpecAugment(1, param, n_freq_masks=0, n_time_masks=1, mask_value=-1.0, data_format=CL, seed=3)
        x = np.ones((batch, length, 3, 2), "float32")
        masked = to_numpy(layer(x, training=True)) == -1.0
        assert (masked == masked[:, :, :1, :1]).all()  # whole frames, all channels
        per_axis = masked[:, :, 0, 0]
    else:
        layer = SpecAugment(param, 1, n_freq_masks=1, n_time_masks=0, mask_value=-1.0, data_format=CF, seed=3)
        x = np.ones((batch, 2, 3, length), "float32")
        masked = to_numpy(layer(x, training=True)) == -1.0
        assert (masked == masked[:, :1, :1, :]).all()  # whole frequency bins, all channels and frames
        per_axis = masked[:, 0, 0, :]
    runs = [_runs(row) for row in per_axis]
    assert all(len(r) == 1 for r in runs)  # exactly one contiguous mask per example
    starts = np.array([r[0][0] for r in runs])
    widths = np.array([r[0][1] - r[0][0] for r in runs])  # kapre's w: the mask covers w + 1 bins
    assert widths.min() == 0 and widths.max() == param - 1
    counts = np.bincount(widths, minlength=param)
    assert scipy.stats.chisquare(counts).pvalue > P_MIN  # uniform over 0 .. param - 1
    # starts: given w, uniform over 0 .. length - w - 1; compare with the mixture's exact expected histogram
    expected = np.zeros(length)
    for w in widths:
        expected[: length - w] += 1.0 / (length - w)
    observed = np.bincount(starts, minlength=length)
    assert (starts + widths <= length - 1).all()
    assert scipy.stats.chisquare(observed, expected).pvalue > P_MIN
    assert starts.min() == 0 and (starts + widths).max() == length - 1  # both ends of the axis are reachable


def test_spec_augment_multiple_masks_any_channels():
    batch, frames, bins, channels = SHAPE
    layer = SpecAugment(4, 6, n_freq_masks=2, n_time_masks=3, data_format=CL, seed=5)
    x = noise(SHAPE, seed=2) + 2.0  # never 0 before masking
    out = to_numpy(layer(x, training=True))
    zero = out == 0.0
    np.testing.assert_array_equal(out[~zero], x[~zero])  # unmasked bins untouched
    assert (zero == zero[..., :1]).all()  # channels share the masks
    time_masked = zero[:, :, :, 0].all(axis=2)  # (batch, frames): whole frames
    freq_masked = zero[:, :, :, 0].all(axis=1)  # (batch, bins): whole bins
    np.testing.assert_array_equal(zero[..., 0], time_masked[:, :, None] | freq_masked[:, None, :])
    for t_row, f_row in zip(time_masked, freq_masked, strict=True):
        assert 1 <= len(_runs(t_row)) <= 3 and 1 <= t_row.sum() <= 3 * 6
        assert 1 <= len(_runs(f_row)) <= 2 and 1 <= f_row.sum() <= 2 * 4
    # masks differ between the examples of one batch ...
    assert len({row.tobytes() for row in time_masked}) > batch // 2
    # ... and between calls
    again = to_numpy(layer(x, training=True)) == 0.0
    assert (again != zero).any(axis=(1, 2, 3)).mean() > 0.9


def test_spec_augment_seed_reproducible_and_distinct():
    x = noise(SHAPE, seed=3)
    first = SpecAugment(8, 10, n_freq_masks=2, n_time_masks=3, data_format=CL, seed=42)
    second = SpecAugment(8, 10, n_freq_masks=2, n_time_masks=3, data_format=CL, seed=42)
    other = SpecAugment(8, 10, n_freq_masks=2, n_time_masks=3, data_format=CL, seed=43)
    a1, a2 = to_numpy(first(x, training=True)), to_numpy(first(x, training=True))
    b1, b2 = to_numpy(second(x, training=True)), to_numpy(second(x, training=True))
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a1, a2)
    assert not np.array_equal(a1, to_numpy(other(x, training=True)))


def test_spec_augment_errors_and_gradient():
    layer = SpecAugment(10, 3, data_format=CL, seed=0)
    with pytest.raises(ValueError, match="freq_mask_param=10 exceeds the 8 frequency bins"):
        layer(np.ones((1, 20, 8, 1), "float32"), training=True)
    with pytest.raises(ValueError, match="time_mask_param=30 exceeds the 20 frames"):
        SpecAugment(2, 30, data_format=CL)(np.ones((1, 20, 8, 1), "float32"), training=True)
    with pytest.raises(ValueError, match="4-D input"):
        SpecAugment(2, 3, data_format=CL)(np.ones((20, 8, 1), "float32"), training=True)
    # parameters equal to the axis lengths are allowed (kapre: axis length >= param)
    layer = SpecAugment(SHAPE[2], SHAPE[1], n_freq_masks=2, n_time_masks=3, data_format=CL, seed=1)
    assert to_numpy(layer(np.ones(SHAPE, "float32"), training=True)).shape == SHAPE
    x = noise((2, 12, 10, 1), seed=4)
    grad_layer = SpecAugment(3, 4, data_format=CL, seed=7)
    grad = gradient(lambda v: grad_layer(v, training=True), x)
    assert np.isfinite(grad).all() and set(np.unique(grad).tolist()) <= {0.0, 1.0} and (grad == 0).any()


class _MaskCounter(keras.layers.Layer):
    """Counts, in non-trainable variables, the elements it sees and those equal to ``mask_value`` (any shape)."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def build(self, input_shape):
        self.masked = self.add_weight(shape=(), initializer="zeros", trainable=False, name="masked")
        self.masked_frames = self.add_weight(shape=(), initializer="zeros", trainable=False, name="masked_frames")
        self.seen = self.add_weight(shape=(), initializer="zeros", trainable=False, name="seen")

    def call(self, x):
        is_masked = keras.ops.cast(keras.ops.equal(x, self.mask_value), "float32")
        self.masked.assign_add(keras.ops.sum(is_masked))
        # (batch, time, freq, channels): a frame masked in every frequency bin is a time mask
        self.masked_frames.assign_add(keras.ops.sum(keras.ops.min(is_masked, axis=(2, 3))))
        self.seen.assign_add(keras.ops.cast(keras.ops.size(x), "float32"))
        return x


def test_spec_augment_dynamic_time_axis_in_fit():
    """SpecAugment masks inside a compiled training step of a model whose number of frames is unknown when it is
    built: time and frequency masks are applied (the input, noise, is never exactly the mask value) to part of
    the input only, and the loss stays finite."""
    inputs = keras.Input((None, 16, 1))
    augmented = SpecAugment(4, 25, n_time_masks=2, data_format=CL, seed=11)(inputs)
    counter = _MaskCounter()
    outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(counter(augmented)))
    model = keras.Model(inputs, outputs)
    model.compile("sgd", "mse")
    x = noise((8, 30, 16, 1), seed=5)
    assert not (x == 0).any()
    history = model.fit(x, np.zeros((8, 1)), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    seen, masked = float(to_numpy(counter.seen)), float(to_numpy(counter.masked))
    assert seen == x.size  # two steps of 4 examples went through the counter
    assert 0 < masked < seen
    assert float(to_numpy(counter.masked_frames)) > 0  # whole frames masked: the time masks on the free axis


# -- ChannelSwap ---------------------------------------------------------------------------------------------------


class _Recorder(keras.layers.Layer):
    """Keeps the last tensor it saw in a non-trainable variable, so a compiled train step can be inspected."""

    def build(self, input_shape):
        self.record = self.add_weight(shape=tuple(input_shape), initializer="zeros", trainable=False)

    def call(self, x):
        self.record.assign(x)
        return x


def test_channel_swap_every_permutation_inside_compiled_fit():
    """All 3! permutations appear, per example and anew at every step of a compiled ``fit``.

    TensorFlow and JAX compile the train step with XLA (``jit_compile=True``); PyTorch runs Keras' default
    train step (``torch.compile`` works too but takes ~45 s to compile on CPU).
    """
    batch, frames, channels = 96, 4, 3
    inputs = keras.Input((frames, channels), batch_size=batch)
    recorder = _Recorder()
    swapped = recorder(ChannelSwap(data_format=CL, seed=0)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(swapped)))
    model.compile("sgd", "mse", jit_compile=BACKEND != "torch")
    x = np.tile(np.arange(channels, dtype="float32"), (batch, frames, 1))  # channel c holds the value c
    steps = []
    for _ in range(3):
        model.fit(x, np.zeros((batch, 1), "float32"), batch_size=batch, epochs=1, verbose=0, shuffle=False)
        steps.append(to_numpy(recorder.record).astype(int))
    all_permutations = set(itertools.permutations(range(channels)))
    for seen in steps:
        assert (seen == seen[:, :1, :]).all()  # one permutation per example, all frames
        permutations = [tuple(row) for row in seen[:, 0, :]]
        assert set(permutations) == all_permutations
        counts = [permutations.count(p) for p in sorted(all_permutations)]
        assert scipy.stats.chisquare(counts).pvalue > P_MIN  # uniform over the 6 permutations
    assert not np.array_equal(steps[0], steps[1]) and not np.array_equal(steps[1], steps[2])


@pytest.mark.parametrize("data_format, shape", [(CF, (64, 4, 5, 3)), (CL, (64, 5, 3, 4)), (CF, (64, 4, 10))])
def test_channel_swap_formats_and_ranks(data_format, shape):
    channel_axis = 1 if data_format == CF else len(shape) - 1
    x = noise(shape, seed=6)
    layer = ChannelSwap(data_format=data_format, seed=1)
    out = to_numpy(layer(x, training=True))
    x_last, out_last = np.moveaxis(x, channel_axis, -1), np.moveaxis(out, channel_axis, -1)
    permutations = set()
    for example, result in zip(x_last, out_last, strict=True):
        # every output channel is an input channel, each exactly once
        flat_in = example.reshape(-1, shape[channel_axis])
        flat_out = result.reshape(-1, shape[channel_axis])
        perm = tuple(
            int(np.flatnonzero((flat_in == flat_out[:, [c]]).all(axis=0))[0]) for c in range(flat_out.shape[1])
        )
        assert sorted(perm) == list(range(shape[channel_axis]))
        permutations.add(perm)
    assert len(permutations) > 10  # 4! = 24 possible: examples get their own permutations
    np.testing.assert_array_equal(to_numpy(layer(x)), x)  # inference: identity


def test_channel_swap_single_channel_seed_and_errors():
    x = noise((4, 10, 1), seed=7)
    np.testing.assert_array_equal(to_numpy(ChannelSwap(data_format=CL)(x, training=True)), x)
    x = noise((16, 10, 3), seed=8)
    a = to_numpy(ChannelSwap(data_format=CL, seed=5)(x, training=True))
    b = to_numpy(ChannelSwap(data_format=CL, seed=5)(x, training=True))
    np.testing.assert_array_equal(a, b)
    grad = gradient(lambda v: ChannelSwap(data_format=CL, seed=5)(v, training=True), x)
    np.testing.assert_array_equal(grad, np.ones_like(x))  # a permutation passes every gradient through once
    with pytest.raises(ValueError, match="3-D batch of waveforms or a 4-D"):
        ChannelSwap(data_format=CL)(noise((4, 10)), training=True)
    with pytest.raises(ValueError, match="known number of channels"):
        model_of(ChannelSwap(data_format=CL), (10, None))


# -- AdditiveNoise -------------------------------------------------------------------------------------------------


def test_additive_noise_is_white_gaussian_with_std_power():
    x = noise((4, 20000, 1), seed=9)
    layer = AdditiveNoise(power=0.3, seed=2)
    added = (to_numpy(layer(x, training=True)) - x).ravel().astype(np.float64)
    assert scipy.stats.kstest(added / 0.3, "norm").pvalue > P_MIN
    assert abs(added.std() - 0.3) < 0.003 and abs(added.mean()) < 0.003  # 80,000 samples: ~0.0008 std error
    lag1 = np.corrcoef(added[:-1], added[1:])[0, 1]
    assert abs(lag1) < 0.015  # white: uncorrelated neighbours
    np.testing.assert_array_equal(to_numpy(layer(x)), x)  # inference: identity
    np.testing.assert_array_equal(to_numpy(AdditiveNoise(power=0.0, seed=1)(x, training=True)), x)
    grad = gradient(lambda v: AdditiveNoise(power=0.3, seed=2)(v, training=True), x[:1, :100])
    np.testing.assert_array_equal(grad, np.ones_like(x[:1, :100]))
    with pytest.raises(TypeError, match="float input"):
        AdditiveNoise()(np.zeros((2, 3), "int32"))


def test_additive_noise_random_gain_is_uniform_per_call():
    x = np.zeros((2, 4000), "float32")
    layer = AdditiveNoise(power=0.5, random_gain=True, seed=3)
    stds = np.array([to_numpy(layer(x, training=True)).std() for _ in range(60)])
    assert stds.max() <= 0.5 * 1.05
    assert scipy.stats.kstest(stds, "uniform", args=(0.0, 0.5)).pvalue > P_MIN  # gain ~ U(0, power) per call
    a = to_numpy(AdditiveNoise(0.2, random_gain=True, seed=4)(x, training=True))
    b = to_numpy(AdditiveNoise(0.2, random_gain=True, seed=4)(x, training=True))
    np.testing.assert_array_equal(a, b)


# -- common: arguments, config, saving, shapes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls, kwargs, error, fragment",
    [
        (SpecAugment, dict(freq_mask_param=0, time_mask_param=3), ValueError, "freq_mask_param=0"),
        (SpecAugment, dict(freq_mask_param=2, time_mask_param=None), TypeError, "time_mask_param=None"),
        (SpecAugment, dict(freq_mask_param=2, time_mask_param=3, n_freq_masks=-1), ValueError, "n_freq_masks=-1"),
        (SpecAugment, dict(freq_mask_param=2, time_mask_param=3, n_time_masks=1.5), TypeError, "n_time_masks=1.5"),
        (SpecAugment, dict(freq_mask_param=2, time_mask_param=3, mask_value="min"), TypeError, "mask_value='min'"),
        (SpecAugment, dict(freq_mask_param=2, time_mask_param=3, data_format="NHWC"), ValueError, "'NHWC'"),
        (SpecAugment, dict(freq_mask_param=2, time_mask_param=3, seed=-1), ValueError, "seed=-1"),
        (ChannelSwap, dict(data_format="x"), ValueError, "data_format='x'"),
        (ChannelSwap, dict(seed="a"), TypeError, "seed='a'"),
        (AdditiveNoise, dict(power=-0.1), ValueError, "power=-0.1"),
        (AdditiveNoise, dict(power="loud"), TypeError, "power='loud'"),
        (AdditiveNoise, dict(random_gain="no"), TypeError, "random_gain='no'"),
        (AdditiveNoise, dict(noise_type="pink"), ValueError, "noise_type='pink'"),
        (AdditiveNoise, dict(seed=1.0), TypeError, "seed=1.0"),
    ],
)
def test_invalid_arguments(cls, kwargs, error, fragment):
    with pytest.raises(error) as info:
        cls(**kwargs)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "cls, kwargs, input_shape",
    [
        (SpecAugment, dict(freq_mask_param=3, time_mask_param=4, n_freq_masks=2, n_time_masks=3, mask_value=-80,
                           data_format=CL, seed=7), SHAPE[1:]),
        (ChannelSwap, dict(data_format=CL, seed=3), (50, 2)),
        (AdditiveNoise, dict(power=0.05, random_gain=True, seed=2), (50, 2)),
    ],
)  # fmt: skip
def test_config_save_load_and_shapes(cls, kwargs, input_shape, tmp_path):
    layer = cls(**kwargs)
    config = layer.get_config()
    for key, value in kwargs.items():
        assert config[key] == value and type(config[key]) is type(value)  # user arguments kept verbatim
    assert keras.saving.get_registered_name(cls) == f"Kapre>{cls.__name__}"
    model = model_of(layer, input_shape)
    x = noise((SHAPE[0], *input_shape), seed=10)
    assert tuple(model.output.shape) == (None, *input_shape)
    assert tuple(layer(x, training=True).shape) == x.shape == tuple(layer.compute_output_shape(x.shape))
    loaded = save_and_load(model, tmp_path)
    assert loaded.layers[-1].get_config() == model.layers[-1].get_config()
    np.testing.assert_array_equal(to_numpy(loaded(x)), x)  # inference: identity
    # the seed is part of the config (Keras does not save a stream's position): the loaded layer draws what a
    # freshly built layer with the same arguments draws
    np.testing.assert_array_equal(
        to_numpy(loaded.layers[-1](x, training=True)), to_numpy(cls(**kwargs)(x, training=True))
    )


def test_legacy_configs_load():
    old = {
        "name": "spec_augment",
        "trainable": True,
        "dtype": "float32",
        "freq_mask_param": 5,
        "time_mask_param": 10,
        "n_freq_masks": 1,
        "n_time_masks": 1,
        "mask_value": 0.0,
        "data_format": {"class_name": "__passive_serialization__", "config": "channels_last"},
    }
    layer = keras.saving.deserialize_keras_object({"class_name": "Kapre>SpecAugment", "config": old})
    assert isinstance(layer, SpecAugment) and layer.data_format == CL and layer.seed is None
    swap = keras.saving.deserialize_keras_object(
        {"class_name": "Kapre>ChannelSwap", "config": {"name": "cs", "data_format": "default"}}
    )
    assert isinstance(swap, ChannelSwap)
    additive = AdditiveNoise.from_config({"name": "n", "power": 0.2, "random_gain": False, "noise_type": "white"})
    assert additive.power == 0.2
    assert {"SpecAugment", "ChannelSwap", "AdditiveNoise"} <= set(kapre.augmentation.__all__)
