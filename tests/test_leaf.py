"""kapre.LEAF against independent NumPy transcriptions of LEAF (google-research/leaf-audio, leaf_audio/*.py).

The references below are written from LEAF's TensorFlow code, not from kapre's:

- the initialisation from ``initializers.GaborInit`` -> ``melfilters.Gabor.gabor_params_from_mels`` over
  ``tf.signal.linear_to_mel_weight_matrix`` (an HTK mel filterbank, 512-point FFT);
- the forward pass from ``frontend.Leaf.call``: ``convolution.GaborConv1D`` (the ``GaborConstraint``,
  ``impulse_responses.gabor_filters``, ``tf.nn.conv1d`` stride 1 ``'SAME'``: a direct complex correlation here),
  ``SquaredModulus``, ``pooling.GaussianLowpass`` (``impulse_responses.gaussian_lowpass``, ``depthwise_conv2d``
  with ``'SAME'`` padding as TensorFlow pads), ``tf.maximum(x, 1e-5)`` and ``postprocessing.PCENLayer`` (its
  ``ExponentialMovingAverage`` as a frame loop from the first frame), in float64.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import kapre
from tests.helpers import BACKEND, model_of, save_and_load, to_numpy, tone_mix

CL = {"input_data_format": "channels_last", "output_data_format": "channels_last"}
SMALL = dict(n_filters=8, sample_rate=8000, window_len=10.0, window_stride=5.0, min_freq=60.0, max_freq=3900.0)
PCEN_INIT = dict(alpha=0.96, delta=2.0, root=2.0, smooth=0.04)  # frontend.Leaf's PCENLayer arguments


# -- NumPy transcriptions of LEAF ---------------------------------------------------------------------------------


def leaf_window_size(sample_rate, window_len_ms):
    return int(sample_rate * window_len_ms // 1000 + 1)  # frontend.Leaf.__init__


def leaf_gabor_init(n_filters, sample_rate, min_freq, max_freq, n_fft=512):
    """``melfilters.Gabor(...).gabor_params_from_mels`` over ``tf.signal.linear_to_mel_weight_matrix``."""

    def hz_to_mel(f):  # tensorflow/python/ops/signal/mel_ops.py: _MEL_HIGH_FREQUENCY_Q * log(1 + f / 700)
        return 1127.0 * math.log(1.0 + f / 700.0)

    n_bins = n_fft // 2 + 1
    edges = np.linspace(hz_to_mel(min_freq), hz_to_mel(max_freq), n_filters + 2)
    mel_filters = np.zeros((n_filters, n_bins))
    for k in range(1, n_bins):  # bands_to_zero = 1: the DC bin stays 0
        m = hz_to_mel(k * (sample_rate / 2.0) / (n_bins - 1))
        for j in range(n_filters):
            lower, center, upper = edges[j], edges[j + 1], edges[j + 2]
            mel_filters[j, k] = max(0.0, min((m - lower) / (center - lower), (upper - m) / (upper - center)))
    sqrt_filters = np.sqrt(mel_filters)
    center_frequencies = np.argmax(sqrt_filters, axis=1).astype(float)
    peaks = np.max(sqrt_filters, axis=1, keepdims=True)
    fwhms = np.sum(sqrt_filters >= peaks / 2.0, axis=1).astype(float)
    coeff = math.sqrt(2.0 * math.log(2.0)) * n_fft
    return np.stack([center_frequencies * 2 * np.pi / n_fft, coeff / (np.pi * fwhms)], axis=1)


def leaf_forward(x, kernel, widths, sample_rate, window_len, window_stride, compression="pcen", pcen=None):
    """LEAF's forward pass for one signal ``x`` (samples,) in float64: ``(frames, n_filters)``."""
    size = leaf_window_size(sample_rate, window_len)
    stride = int(sample_rate * window_stride // 1000)
    # convolution.GaborConstraint
    mu = np.clip(kernel[:, 0], 0.0, math.pi)
    sigma = np.clip(kernel[:, 1], 4 * math.sqrt(2 * math.log(2)) / math.pi,
                    size * math.sqrt(2 * math.log(2)) / math.pi)
    # impulse_responses.gabor_filters / gabor_impulse_response
    t = np.arange(-(size // 2), (size + 1) // 2, dtype=float)
    filters = (1.0 / (math.sqrt(2.0 * math.pi) * sigma[:, None]) * np.exp(-(t**2) / (2.0 * sigma[:, None] ** 2))
               * np.exp(1j * mu[:, None] * t))
    # tf.nn.conv1d(stride=1, padding='SAME'): pad (K - 1) // 2 before, the rest after; a cross-correlation
    before = (size - 1) // 2
    padded = np.concatenate([np.zeros(before), x, np.zeros(size - 1 - before)])
    frames = np.lib.stride_tricks.sliding_window_view(padded, size)  # frames[n] = padded[n : n + size]
    outputs = frames @ filters.T  # (samples, n_filters), complex
    power = outputs.real**2 + outputs.imag**2  # SquaredModulus
    # pooling.GaussianLowpass: impulse_responses.gaussian_lowpass, depthwise_conv2d with 'SAME' padding
    w = np.clip(widths, 2.0 / size, 0.5)[:, None]
    taps = np.arange(size)
    windows = np.exp(-0.5 * ((taps - 0.5 * (size - 1)) / (w * 0.5 * (size - 1))) ** 2)  # (n_filters, size)
    n_frames = -(-len(x) // stride)
    pad_total = max((n_frames - 1) * stride + size - len(x), 0)
    power = np.concatenate([np.zeros((pad_total // 2, power.shape[1])), power,
                            np.zeros((pad_total - pad_total // 2, power.shape[1]))])
    pooled = np.stack([np.sum(windows.T * power[m * stride : m * stride + size], axis=0) for m in range(n_frames)])
    pooled = np.maximum(pooled, 1e-5)
    if compression is None:
        return pooled
    if compression == "log":  # frontend.log_compression
        return np.log(pooled + 1e-5)
    # postprocessing.PCENLayer with ExponentialMovingAverage (initial state: the first frame)
    p = pcen or {k: np.full(pooled.shape[1], v) for k, v in PCEN_INIT.items()}
    alpha, root, smooth = np.minimum(p["alpha"], 1.0), np.maximum(p["root"], 1.0), np.clip(p["smooth"], 0.0, 1.0)
    state = pooled[0]
    out = np.empty_like(pooled)
    for m in range(n_frames):
        state = smooth * pooled[m] + (1.0 - smooth) * state
        out[m] = ((pooled[m] / (1e-12 + state) ** alpha + p["delta"]) ** (1.0 / root)
                  - p["delta"] ** (1.0 / root))
    return out


def _weights(layer):
    return {w.path.split("/", 1)[1]: to_numpy(w).astype(np.float64) for w in layer.weights}


# -- initialisation ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", [dict(), dict(n_filters=64, sample_rate=22050, min_freq=0.0, max_freq=11025.0)])
def test_initial_weights_equal_leaf_initialisation(config):
    layer = kapre.LEAF(**config, **CL)
    layer.build((None, 4000, 1))
    weights = _weights(layer)
    expected = leaf_gabor_init(layer.n_filters, layer.sample_rate, layer.min_freq, layer.max_freq)
    np.testing.assert_allclose(weights["gabor_kernel"], expected, rtol=1e-6)  # float32 weights
    np.testing.assert_array_equal(weights["pooling_widths"], np.full(layer.n_filters, np.float32(0.4)))
    for name, value in PCEN_INIT.items():
        np.testing.assert_allclose(weights[f"pcen/{name}"], np.full(layer.n_filters, value), rtol=1e-7)
    assert layer.kernel_size == leaf_window_size(layer.sample_rate, 25.0) and layer.stride == int(
        layer.sample_rate * 10.0 // 1000)


# -- the forward pass against LEAF's -------------------------------------------------------------------------------


def _signal(length, sample_rate, seed=0):
    return tone_mix(length, sample_rate, seed)


def test_output_at_initialisation_equals_leaf():
    """Defaults, 0.25 s at 16 kHz, a length that is not a multiple of the stride (3,999 samples: 25 frames, the
    pooling padded by 120 + 121). Relative to each output's largest value: 1e-5."""
    layer = kapre.LEAF(**CL)
    x = np.stack([_signal(3999, 16000, seed) for seed in (0, 1)])[..., None]
    out = to_numpy(layer(x))
    assert out.shape == (2, 25, 40, 1)
    weights = _weights(layer)
    for i in range(2):
        expected = leaf_forward(x[i, :, 0].astype(np.float64), weights["gabor_kernel"], weights["pooling_widths"],
                                16000, 25.0, 10.0)
        scale = np.abs(expected).max()
        np.testing.assert_allclose(out[i, ..., 0], expected, rtol=0, atol=1e-5 * scale)


@pytest.mark.parametrize("compression", ["pcen", "log", None])
def test_output_with_other_weights_equals_leaf(compression):
    """Weights off their initial values (centres, envelopes and widths past LEAF's constraints, every PCEN weight
    different per band), two channels, channels first, 8 kHz, a 101-tap window, a 40-sample stride, 333 samples.
    Relative to each output's largest value: 1e-5."""
    config = dict(SMALL, window_len=12.5)  # 101 taps, 40-sample stride
    layer = kapre.LEAF(**config, compression=compression, input_data_format="channels_first",
                       output_data_format="channels_first")
    x = np.stack([np.stack([_signal(333, 8000, 2 * b + c) for c in range(2)]) for b in range(2)])  # (2, 2, 333)
    layer.build(x.shape)
    rng = np.random.default_rng(3)
    n = layer.n_filters
    kernel = np.stack([rng.uniform(-0.3, 3.4, n), rng.uniform(0.5, 60.0, n)], axis=1)  # some clipped
    widths = rng.uniform(0.0, 0.7, n)  # some clipped
    pcen = dict(alpha=rng.uniform(0.8, 1.1, n), delta=rng.uniform(0.5, 3.0, n), root=rng.uniform(0.8, 3.0, n),
                smooth=rng.uniform(-0.1, 0.5, n))
    values = {"gabor_kernel": kernel, "pooling_widths": widths, **{f"pcen/{k}": v for k, v in pcen.items()}}
    assert len(layer.weights) == (6 if compression == "pcen" else 2)
    for w in layer.weights:
        w.assign(values[w.path.split("/", 1)[1]].astype("float32"))
    out = to_numpy(layer(x.astype("float32")))
    assert out.shape == (2, 2, 9, n)
    weights = _weights(layer)
    pcen = {k: weights[f"pcen/{k}"] for k in PCEN_INIT} if compression == "pcen" else None  # as float32 holds them
    for b in range(2):
        for c in range(2):
            expected = leaf_forward(x[b, c].astype(np.float64), weights["gabor_kernel"], weights["pooling_widths"],
                                    8000, 12.5, 5.0, compression, pcen)
            np.testing.assert_allclose(out[b, c], expected, rtol=0, atol=1e-5 * np.abs(expected).max())


# -- training ----------------------------------------------------------------------------------------------------


def test_a_small_fit_trains_every_weight():
    """A student LEAF fitted to a teacher LEAF's outputs (other centres, widths and PCEN weights): the loss goes
    down, every weight of every group (centres, envelopes, pooling widths, alpha, delta, root, smoothing) moves,
    and the Gabor parameters stay within LEAF's constraints."""
    x = np.stack([_signal(800, 8000, seed) for seed in range(4)])[..., None] + np.random.default_rng(0).normal(
        0, 0.05, (4, 800, 1)).astype("float32")
    teacher = kapre.LEAF(**SMALL, **CL)
    teacher.build(x.shape)
    values = {w.path.split("/", 1)[1]: to_numpy(w) for w in teacher.weights}
    values["gabor_kernel"] = values["gabor_kernel"] * np.float32([1.15, 0.8])
    values["pooling_widths"] = values["pooling_widths"] * 0.7
    for name, factor in (("alpha", 0.9), ("delta", 1.3), ("root", 1.25), ("smooth", 2.0)):
        values[f"pcen/{name}"] = values[f"pcen/{name}"] * np.float32(factor)
    for w in teacher.weights:
        w.assign(values[w.path.split("/", 1)[1]])
    target = to_numpy(teacher(x))

    student = kapre.LEAF(**SMALL, **CL)
    model = model_of(student, x.shape[1:])
    before = _weights(student)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3), loss="mse")
    first = float(model.evaluate(x, target, verbose=0))
    history = model.fit(x, target, epochs=15, batch_size=4, verbose=0)
    last = float(model.evaluate(x, target, verbose=0))
    assert last < 0.7 * first, (first, history.history["loss"][-5:], last)
    after = _weights(student)
    assert set(after) == {"gabor_kernel", "pooling_widths", *(f"pcen/{k}" for k in PCEN_INIT)}
    for name in after:
        moved = np.abs(after[name] - before[name]) > 0
        assert moved.all(), (name, moved)
    lower, upper = 4 * math.sqrt(2 * math.log(2)) / math.pi, student.kernel_size * math.sqrt(2 * math.log(2)) / math.pi
    kernel = after["gabor_kernel"]
    assert np.all((kernel[:, 0] >= 0) & (kernel[:, 0] <= np.float32(math.pi)))
    assert np.all((kernel[:, 1] >= np.float32(lower)) & (kernel[:, 1] <= np.float32(upper)))


def test_the_constraint_clips_the_gabor_parameters_after_an_update():
    """LEAF's GaborConstraint on the weight (applied by the optimizer, as in LEAF): a step that pushes every centre
    and envelope far out leaves them on the bounds."""
    layer = kapre.LEAF(**SMALL, compression=None, **CL)
    layer.build((None, 400, 1))
    kernel = layer.gabor_kernel
    optimizer = keras.optimizers.SGD(learning_rate=1.0)
    push = np.stack([np.full(8, -10.0), np.full(8, 1e4)], axis=1).astype("float32")  # mu up, sigma down
    optimizer.apply([keras.ops.convert_to_tensor(push)], [kernel])
    after = to_numpy(kernel)
    np.testing.assert_allclose(after[:, 0], np.float32(math.pi))
    np.testing.assert_allclose(after[:, 1], np.float32(4 * math.sqrt(2 * math.log(2)) / math.pi), rtol=1e-6)


# -- saving, shapes, arguments -----------------------------------------------------------------------------------


def test_keras_file_round_trip_keeps_trained_weights(tmp_path):
    layer = kapre.LEAF(**SMALL, **CL)
    model = model_of(layer, (None, 1))
    rng = np.random.default_rng(5)
    for w in layer.weights:
        value = to_numpy(w)
        w.assign((value * rng.uniform(0.8, 1.2, value.shape)).astype("float32"))
    x = _signal(777, 8000)[None, :, None]
    before = to_numpy(model(x))
    loaded = save_and_load(model, tmp_path)
    np.testing.assert_array_equal(to_numpy(loaded(x)), before)
    assert {w.path: to_numpy(w).tolist() for w in loaded.layers[-1].weights} == {
        w.path: to_numpy(w).tolist() for w in layer.weights}


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_shapes_at_lengths_that_are_not_multiples_of_the_stride(data_format):
    """40-sample stride, 81 taps: 1 sample (one frame), 39 and 203 samples; two channels."""
    layer = kapre.LEAF(**SMALL, compression="log", input_data_format=data_format, output_data_format=data_format)
    for length in (1, 39, 203):
        shape = (2, length, 2) if data_format == "channels_last" else (2, 2, length)
        out = layer(np.random.default_rng(length).normal(size=shape).astype("float32"))
        frames = -(-length // 40)
        expected = (2, frames, 8, 2) if data_format == "channels_last" else (2, 2, frames, 8)
        assert tuple(out.shape) == expected == tuple(layer.compute_output_shape(shape))
        assert np.isfinite(to_numpy(out)).all()
    symbolic = layer(keras.Input((None, 2) if data_format == "channels_last" else (2, None)))
    assert tuple(symbolic.shape) == ((None, None, 8, 2) if data_format == "channels_last" else (None, 2, None, 8))


def test_a_compiled_call_with_a_length_unknown_until_run_time_equals_the_eager_call():
    """TensorFlow traces with an unknown length (the FFT size and the pooling's padding then come from the run-time
    length); JAX and PyTorch compile for the shape they are given."""
    layer = kapre.LEAF(**SMALL, **CL)
    x = _signal(517, 8000)[None, :, None]
    eager = to_numpy(layer(x))
    if BACKEND == "tensorflow":
        import tensorflow as tf

        compiled = tf.function(lambda v: layer(v), input_signature=[tf.TensorSpec((None, None, 1), tf.float32)])
    elif BACKEND == "jax":
        import jax

        compiled = jax.jit(lambda v: layer(v))
    else:
        compiled = lambda v: layer(v)  # noqa: E731  (PyTorch: eager)
    np.testing.assert_allclose(to_numpy(compiled(x)), eager, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs, error", [
    (dict(n_filters=0), "n_filters"),
    (dict(n_filters=4.0), "n_filters"),
    (dict(sample_rate=0), "sample_rate"),
    (dict(window_len=0.0), "window_len"),
    (dict(window_len=1e9), "window_len"),
    (dict(window_stride=0.01), "window_stride"),
    (dict(window_stride="10"), "window_stride"),
    (dict(min_freq=-1.0), "min_freq"),
    (dict(max_freq=8001.0), "max_freq"),
    (dict(min_freq=3000.0, max_freq=2000.0), "min_freq"),
    (dict(pooling_init=0.0), "pooling_init"),
    (dict(pooling_init=0.6), "pooling_init"),
    (dict(compression="pcen2"), "compression"),
    (dict(input_data_format="NCW"), "input_data_format"),
    (dict(output_data_format=1), "output_data_format"),
])
def test_invalid_arguments_are_rejected_by_name(kwargs, error):
    with pytest.raises((ValueError, TypeError), match=error):
        kapre.LEAF(**kwargs)


def test_invalid_inputs_are_rejected():
    layer = kapre.LEAF(**SMALL, **CL)
    with pytest.raises(ValueError, match="LEAF"):
        layer(np.zeros((2, 100), "float32"))  # no channel axis
    with pytest.raises(ValueError, match="at least one sample"):
        layer.compute_output_shape((2, 0, 1))
    with pytest.raises(TypeError):
        layer(np.zeros((2, 100, 1), "complex64"))


def test_config_holds_the_arguments_verbatim():
    layer = kapre.LEAF(n_filters=20, sample_rate=22050, window_len=20, compression=None, **CL)
    config = layer.get_config()
    assert {k: config[k] for k in ("n_filters", "sample_rate", "window_len", "compression")} == dict(
        n_filters=20, sample_rate=22050, window_len=20, compression=None)
    assert kapre.LEAF.from_config(config).get_config() == config
