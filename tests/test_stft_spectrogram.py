"""kapre.STFTSpectrogram against keras.layers.STFTSpectrogram and an independent NumPy reference.

Comparisons with Keras:

* float64 (both layers ``dtype='float64'``, Keras with its own kernels): every mode, atol ``1e-5 x scale``.
* float32 with Keras' own kernels loaded into kapre (``set_weights``; the weights have Keras' names and shapes):
  the linear modes at atol ``1e-5 x scale``; ``'log'`` and ``'angle'`` are compared where they are well
  conditioned (through the magnitude and the phasor ``|X| e^{i angle}``), since a float32 rounding of ``1e-7 x
  max|X|`` in a bin with ``|X| = 1e-3 x max|X|`` moves its log and angle by 1e-4 in any float32 implementation.
* kapre's own float32 kernels are exact (float64, ``t * k`` reduced modulo ``N``); Keras' are rounded in float32
  (documented): the difference between the two sets of kernels is bounded, and kapre is checked against NumPy.

Documented differences from Keras (kapre correct, tested against NumPy): odd ``fft_length`` (Keras builds its
DFT for ``fft_length - 1`` points), odd-``fft_length`` PSD (no Nyquist bin), kernel precision, finite
``'angle'`` gradients at zero.
"""

import warnings

import keras
import numpy as np
import pytest
import scipy.signal

import kapre
from tests.helpers import BACKEND, float64_backend, gradient, model_of, noise, save_and_load, to_numpy

MODES = ["log", "magnitude", "psd", "real", "imag", "angle", "stft"]
LINEAR_MODES = ["magnitude", "psd", "real", "imag", "stft"]
EPSILON = 1e-7  # keras.config.epsilon()

# Argument sets covering every option: (kwargs, signal length, channels).
CONFIGS = [
    (dict(), 1500, 1),  # Keras' defaults: hann, symmetric, density, valid, channels_last
    (
        dict(
            frame_length=100,
            frame_step=30,
            fft_length=128,
            periodic=True,
            window="hamming",
            scaling="spectrum",
            padding="same",
            expand_dims=True,
            data_format="channels_first",
        ),
        1001,
        3,
    ),
    (
        dict(frame_length=64, frame_step=64, fft_length=64, window=None, padding="same", data_format="channels_first"),
        700,
        2,
    ),
    (
        dict(frame_length=33, frame_step=7, periodic=True, scaling=None, padding="same", expand_dims=True),
        523,
        2,
    ),
    (dict(frame_length=160, frame_step=80, fft_length=256, window="blackman", data_format="channels_last"), 1111, 2),
]
CONFIG_IDS = ["defaults", "same-cf-expand", "no-window", "odd-frame", "blackman"]


# ------------------------------------------------------------------------------------------------------------------
# Independent NumPy reference (scipy windows, np.fft.rfft, frame by frame)
# ------------------------------------------------------------------------------------------------------------------


def resolved(kwargs):
    frame_length = kwargs.get("frame_length", 256)
    return dict(
        mode=kwargs.get("mode", "log"),
        frame_length=frame_length,
        frame_step=kwargs.get("frame_step") or max(1, frame_length // 2),
        fft_length=kwargs.get("fft_length") or int(2 ** np.ceil(np.log2(frame_length))),
        window=kwargs.get("window", "hann"),
        periodic=kwargs.get("periodic", False),
        scaling=kwargs.get("scaling", "density"),
        padding=kwargs.get("padding", "valid"),
        expand_dims=kwargs.get("expand_dims", False),
        data_format=kwargs.get("data_format") or keras.config.image_data_format(),
    )


def reference_spectrum(x_bct, kwargs):
    """Complex STFT ``(batch, channels, frames, fft_length // 2 + 1)`` of ``(batch, channels, time)`` signals."""
    p = resolved(kwargs)
    k, step, n_fft = p["frame_length"], p["frame_step"], p["fft_length"]
    x = np.asarray(x_bct, np.float64)
    length = x.shape[-1]
    if p["padding"] == "same":
        total = max(0, (-(-length // step) - 1) * step + k - length)
        x = np.pad(x, [(0, 0), (0, 0), (total // 2, total - total // 2)])
    n_frames = 1 + (x.shape[-1] - k) // step
    frames = np.stack([x[..., t * step : t * step + k] for t in range(n_frames)], axis=-2)
    window = p["window"]
    if window is None:
        w = np.ones(k)
    else:
        w = scipy.signal.get_window(window, k, fftbins=p["periodic"]) if isinstance(window, str) else np.asarray(window)
        if p["scaling"] == "density":
            w = w / np.sqrt(np.sum(w**2))
        elif p["scaling"] == "spectrum":
            w = w / np.sum(np.abs(w))
    return np.fft.rfft(frames * w, n=n_fft)


def reference_output(x_bct, kwargs):
    """The layer's output in NumPy: the mode applied to :func:`reference_spectrum`, in the layer's layout."""
    p = resolved(kwargs)
    spectrum = reference_spectrum(x_bct, kwargs)
    mode = p["mode"]
    power = np.abs(spectrum) ** 2
    if mode == "real":
        out = spectrum.real
    elif mode == "imag":
        out = spectrum.imag
    elif mode == "angle":
        out = np.arctan2(spectrum.imag, spectrum.real)
    elif mode == "stft":
        out = np.concatenate([spectrum.real, spectrum.imag], axis=-1)
    elif mode == "psd":
        doubled = np.full(power.shape[-1], 2.0)
        doubled[0] = 1.0
        if p["fft_length"] % 2 == 0:
            doubled[-1] = 1.0  # the Nyquist bin has no conjugate partner
        out = power * doubled
    else:
        out = np.sqrt(np.maximum(power, EPSILON))
        if mode == "log":
            out = np.log(np.maximum(out, EPSILON))
    return to_layout(out, p["data_format"], p["expand_dims"])


def to_layout(out, data_format, expand_dims):
    """``(batch, channels, frames, F)`` to the output layout."""
    batch, channels, frames, n_freq = out.shape
    if expand_dims:
        return np.transpose(out, (0, 2, 3, 1)) if data_format == "channels_last" else out
    if data_format == "channels_last":
        return np.transpose(out, (0, 2, 1, 3)).reshape(batch, frames, channels * n_freq)
    return np.transpose(out, (0, 1, 3, 2)).reshape(batch, channels * n_freq, frames)


def signal_for(kwargs, length, channels, seed=0, dtype="float32"):
    """Noise in the layer's input layout, and the same signal as (batch, channels, time)."""
    x_bct = noise((2, channels, length), seed=seed, dtype=dtype)
    if resolved(kwargs)["data_format"] == "channels_last":
        return np.ascontiguousarray(np.transpose(x_bct, (0, 2, 1))), x_bct
    return x_bct, x_bct


# ------------------------------------------------------------------------------------------------------------------
# Comparison helpers
# ------------------------------------------------------------------------------------------------------------------


def max_error(actual, expected, mode):
    """Max abs error over the max abs of ``expected`` (angles: the wrapped difference, scale pi)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if mode == "angle":
        return np.abs(np.angle(np.exp(1j * (actual - expected)))).max() / np.pi
    return np.abs(actual - expected).max() / np.abs(expected).max()


def assert_equal_mode(actual, expected, mode, tolerance, magnitude=None):
    """``atol = tolerance x scale``; for float32 'log' / 'angle' pass the magnitude so that they are compared
    where they are well conditioned (the magnitude ``exp(log)``, the phasor ``magnitude * exp(i angle)``)."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if magnitude is not None and mode == "log":
        actual, expected, mode = np.exp(actual), np.exp(expected), "magnitude"
    if magnitude is not None and mode == "angle":
        actual, expected = magnitude * np.exp(1j * actual), magnitude * np.exp(1j * expected)
        error = np.abs(actual - expected).max() / np.abs(expected).max()
    else:
        error = max_error(actual, expected, mode)
    assert error <= tolerance, f"{mode}: max abs error {error:.3g} x scale > {tolerance}"
    return error


def call_keras(layer, x):
    """Keras' layer on the active backend (built on first use). TensorFlow's CPU convolution supports only NHWC
    (TensorFlow 2.21: "The Conv2D op currently only supports the NHWC tensor format on the CPU", float32 too;
    earlier versions lacked only the float64 NCW kernel), so a channels_first layer runs there as Keras'
    channels_last layer, with the same weights, and the axes move in NumPy."""
    if not layer.built:
        layer.build(x.shape)
    if BACKEND == "tensorflow" and layer.data_format == "channels_first":
        config = dict(layer.get_config(), data_format="channels_last")
        config.pop("name")
        twin = keras_layer(**config)
        twin.build((None, None, x.shape[1]))
        twin.set_weights(layer.get_weights())
        out = to_numpy(twin(np.transpose(x, (0, 2, 1))))
        if layer.expand_dims:  # (batch, frames, F, channels) -> (batch, channels, frames, F)
            return np.transpose(out, (0, 3, 1, 2))
        return np.transpose(out, (0, 2, 1))  # (batch, frames, channels * F) -> (batch, channels * F, frames)
    return to_numpy(layer(x))


def keras_layer(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns about a non-power-of-two fft_length
        return keras.layers.STFTSpectrogram(**kwargs)


# ------------------------------------------------------------------------------------------------------------------
# Equality with keras.layers.STFTSpectrogram
# ------------------------------------------------------------------------------------------------------------------


def magnitude_for(x_bct, kwargs, shape):
    """The reference magnitude in the output layout (for the conditioning-aware float32 'log'/'angle' check)."""
    if kwargs.get("mode") == "stft":
        return None
    return np.abs(reference_output(x_bct, dict(kwargs, mode="magnitude"))).reshape(shape)


def test_equals_keras_float64():
    """float64, every mode: the same numbers as Keras (atol 1e-5 x scale) with the same weights, which load
    unchanged from Keras' layer; Keras' own float64 kernels equal kapre's (to 1e-12; to 2e-5 on JAX, where Keras
    takes pi in float32 for its float64 kernels)."""
    with float64_backend():
        for (kwargs, length, channels), mode in [(config, mode) for config in CONFIGS[:2] for mode in MODES]:
            kw = dict(kwargs, mode=mode)
            x, _ = signal_for(kw, length, channels, dtype="float64")
            reference = keras_layer(dtype="float64", **kw)
            reference.build(x.shape)
            expected = call_keras(reference, x)
            layer = kapre.STFTSpectrogram(dtype="float64", **kw)
            layer.build(x.shape)
            kernel_tolerance = 2e-5 if BACKEND == "jax" else 1e-12
            for ours, theirs in zip(layer.get_weights(), reference.get_weights(), strict=True):
                assert ours.dtype == np.float64 and np.abs(ours - theirs).max() <= kernel_tolerance
            layer.set_weights(reference.get_weights())
            actual = to_numpy(layer(x))
            assert actual.dtype == np.float64
            assert actual.shape == expected.shape == layer.compute_output_shape(x.shape)
            assert_equal_mode(actual, expected, mode, 1e-5)


@pytest.mark.parametrize("config", CONFIGS[:4], ids=CONFIG_IDS[:4])
def test_equals_keras_float32_and_numpy(config):
    """float32, Keras' default layer, every mode.

    * Keras' weights (same names and shapes) loaded into kapre: Keras' numbers, atol 1e-5 x scale ('log' and
      'angle' where well conditioned, see the module docstring).
    * kapre's own kernels: the NumPy reference, same tolerance; they differ from Keras' float32 kernels by
      Keras' float32 phase rounding only (<= 2e-5 for frame_length <= 256).
    """
    kwargs, length, channels = config
    for mode in MODES:
        kw = dict(kwargs, mode=mode)
        x, x_bct = signal_for(kw, length, channels)
        reference = keras_layer(**kw)
        expected = call_keras(reference, x)
        layer = kapre.STFTSpectrogram(**kw)
        actual = to_numpy(layer(x))
        magnitude = magnitude_for(x_bct, kw, actual.shape)
        assert_equal_mode(actual, reference_output(x_bct, kw), mode, 1e-5, magnitude=magnitude)
        assert [w.path.split("/")[-1] for w in layer.weights] == [w.path.split("/")[-1] for w in reference.weights]
        for ours, theirs in zip(layer.get_weights(), reference.get_weights(), strict=True):
            assert ours.shape == theirs.shape and np.abs(ours - theirs).max() <= 2e-5
        layer.set_weights(reference.get_weights())
        assert_equal_mode(to_numpy(layer(x)), expected, mode, 1e-5, magnitude=magnitude)


def test_float64_equals_numpy_reference():
    with float64_backend():
        for kwargs, length, channels in (CONFIGS[1], CONFIGS[4]):
            for mode in MODES:
                kw = dict(kwargs, mode=mode)
                x, x_bct = signal_for(kw, length, channels, dtype="float64")
                actual = to_numpy(kapre.STFTSpectrogram(dtype="float64", **kw)(x))
                assert_equal_mode(actual, reference_output(x_bct, kw), mode, 1e-8)


# ------------------------------------------------------------------------------------------------------------------
# Keras defects: kapre is correct, Keras is not
# ------------------------------------------------------------------------------------------------------------------


def test_odd_fft_length_equals_numpy_where_keras_does_not():
    """Keras builds an odd fft_length's kernels for a (fft_length - 1)-point DFT; kapre's output is np.fft.rfft."""
    for frame_length, fft_length in [(255, 257), (7, 7)]:
        kwargs = dict(mode="stft", frame_length=frame_length, fft_length=fft_length, padding="same")
        x, x_bct = signal_for(kwargs, 1200, 2)
        expected = reference_output(x_bct, kwargs)
        assert_equal_mode(to_numpy(kapre.STFTSpectrogram(**kwargs)(x)), expected, "stft", 1e-5)
        assert max_error(to_numpy(keras_layer(**kwargs)(x)), expected, "stft") > 1e-2  # Keras' defect
        # The one-sided PSD of an odd-length DFT has no Nyquist bin: every bin but DC is doubled.
        kwargs["mode"] = "psd"
        actual = to_numpy(kapre.STFTSpectrogram(**kwargs)(x))
        assert_equal_mode(actual, reference_output(x_bct, kwargs), "psd", 1e-5)


def test_long_frames_are_more_accurate_than_keras():
    """Keras rounds its kernel angles in float32 (error growing with frame_length); kapre's kernels are exact."""
    kwargs = dict(mode="stft", frame_length=2048, frame_step=512)
    x, x_bct = signal_for(kwargs, 6000, 1)
    expected = reference_output(x_bct, kwargs)
    ours = max_error(to_numpy(kapre.STFTSpectrogram(**kwargs)(x)), expected, "stft")
    theirs = max_error(to_numpy(keras_layer(**kwargs)(x)), expected, "stft")
    assert ours <= 1e-5 < theirs, (ours, theirs)


def test_gradients_finite_for_all_zero_input():
    """Finite input gradients at an all-zero signal (Keras' 'angle' gives NaN on TensorFlow and JAX)."""
    x = np.zeros((2, 300, 1), "float32")
    for mode in ("log", "magnitude", "angle", "psd", "stft"):
        layer = kapre.STFTSpectrogram(mode=mode, frame_length=64, padding="same")
        grads = gradient(lambda v, layer=layer: layer(v), x)
        assert grads.shape == x.shape and np.all(np.isfinite(grads)), mode


def test_trainable_kernels_fit_and_stay_finite_at_zero():
    layer = kapre.STFTSpectrogram(mode="log", frame_length=32, frame_step=16, data_format="channels_last")
    model = model_of(layer, (256, 1))
    assert len(model.trainable_weights) == 2
    model.compile(optimizer=keras.optimizers.SGD(1e-2), loss="mse")
    initial = [w.copy() for w in layer.get_weights()]
    x = noise((4, 256, 1), seed=3)
    target = np.zeros(model.output_shape[1:], "float32")[None].repeat(4, axis=0)
    history = model.fit(x, target, epochs=3, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert any(np.abs(a - b).max() > 0 for a, b in zip(initial, layer.get_weights(), strict=True))
    model.fit(np.zeros_like(x), target, epochs=1, batch_size=4, verbose=0)  # all-zero input
    assert all(np.all(np.isfinite(w)) for w in layer.get_weights())

    frozen = kapre.STFTSpectrogram(mode="real", frame_length=32, trainable=False)
    frozen.build((None, 256, 1))
    assert len(frozen.weights) == 1 and not frozen.trainable_weights
    assert len(kapre.STFTSpectrogram(mode="imag", frame_length=32).trainable_weights) == 0  # unbuilt


# ------------------------------------------------------------------------------------------------------------------
# Shapes
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_shapes_equal_keras_at_edge_lengths(padding):
    frame_length, step = 16, 5
    lengths = [16, 17, 20, 21, 22, 40] + ([1, 4, 15] if padding == "same" else [])
    grid = [
        (m, e, d) for m in ("magnitude", "stft") for e in (False, True) for d in ("channels_last", "channels_first")
    ]
    for mode, expand_dims, data_format in grid:
        kwargs = dict(
            mode=mode,
            frame_length=frame_length,
            frame_step=step,
            fft_length=32,
            padding=padding,
            expand_dims=expand_dims,
            data_format=data_format,
        )
        layer, reference = kapre.STFTSpectrogram(**kwargs), keras_layer(**kwargs)
        for length in lengths:
            shape = (2, length, 3) if data_format == "channels_last" else (2, 3, length)
            expected = reference.compute_output_shape(shape)
            assert layer.compute_output_shape(shape) == expected, (length, expected)
            assert layer(keras.KerasTensor((None,) + shape[1:])).shape == (None,) + expected[1:]
    # Eager shapes of both layers, every length and every (mode, expand_dims, data_format) at least once.
    for length, (mode, expand_dims, data_format) in zip(lengths[::2], grid[::-1], strict=False):
        kwargs = dict(
            mode=mode,
            frame_length=frame_length,
            frame_step=step,
            fft_length=32,
            padding=padding,
            expand_dims=expand_dims,
            data_format=data_format,
        )
        layer, reference = kapre.STFTSpectrogram(**kwargs), keras_layer(**kwargs)
        shape = (2, length, 3) if data_format == "channels_last" else (2, 3, length)
        x = noise(shape, seed=length)
        eager = to_numpy(layer(x)).shape
        assert eager == call_keras(reference, x).shape == layer.compute_output_shape(shape), (length, eager)


def test_unknown_length_in_a_model():
    """A model with a free time axis gives the eager numbers at every length (TensorFlow: also in a graph)."""
    for padding in ("valid", "same"):
        layer = kapre.STFTSpectrogram(mode="magnitude", frame_length=64, frame_step=24, padding=padding)
        model = model_of(layer, (None, 2))
        assert model.output_shape == (None, None, 2 * 33)
        for length in (300, 313):
            x = noise((2, length, 2), seed=length)
            expected = to_numpy(layer(x))
            np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-6)
            if BACKEND == "tensorflow":
                import tensorflow as tf

                graph = tf.function(layer, input_signature=[tf.TensorSpec((None, None, 2), tf.float32)])
                np.testing.assert_allclose(graph(x).numpy(), expected, atol=1e-6)


def test_batched_equals_per_example():
    kwargs = dict(mode="stft", frame_length=100, frame_step=40, padding="same", data_format="channels_first")
    layer = kapre.STFTSpectrogram(**kwargs)
    x = noise((4, 2, 900), seed=9)
    batched = to_numpy(layer(x))
    single = np.concatenate([to_numpy(layer(x[i : i + 1])) for i in range(4)])
    np.testing.assert_allclose(batched, single, atol=1e-6 * np.abs(single).max())


def test_mixed_precision_returns_policy_dtype():
    x = noise((2, 800, 1), seed=4)
    expected = to_numpy(kapre.STFTSpectrogram(mode="magnitude")(x))
    keras.config.set_dtype_policy("mixed_float16")
    layer = kapre.STFTSpectrogram(mode="magnitude")
    y = layer(x)
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    assert layer(keras.KerasTensor((None, 800, 1))).dtype == "float16"
    np.testing.assert_allclose(to_numpy(y).astype(np.float32), expected, atol=2e-3 * np.abs(expected).max())


# ------------------------------------------------------------------------------------------------------------------
# Configuration, serialization
# ------------------------------------------------------------------------------------------------------------------


CONFIG_KWARGS = [
    dict(),
    dict(
        mode="psd",
        frame_length=100,
        frame_step=25,
        fft_length=200,
        window="hamming",
        periodic=True,
        scaling="spectrum",
        padding="same",
        expand_dims=True,
        data_format="channels_first",
    ),
    dict(mode="stft", window=None, scaling=None, data_format="channels_last", trainable=False),
]


def test_get_config_equals_keras():
    for kwargs in CONFIG_KWARGS:
        ours = kapre.STFTSpectrogram(name="spec", **kwargs).get_config()
        theirs = keras_layer(name="spec", **kwargs).get_config()
        assert ours == theirs
        assert kapre.STFTSpectrogram.from_config(ours).get_config() == ours


def test_registered_name():
    assert keras.saving.get_registered_name(kapre.STFTSpectrogram) == "Kapre>STFTSpectrogram"
    assert keras.saving.get_registered_object("Kapre>STFTSpectrogram") is kapre.STFTSpectrogram


ROUND_TRIP_KWARGS = [
    dict(mode="log", frame_length=64, frame_step=16, padding="same"),
    dict(
        mode="stft",
        frame_length=48,
        window=list(np.linspace(0.1, 1.0, 48)),
        expand_dims=True,
        data_format="channels_first",
        trainable=False,
    ),
]


def test_keras_file_round_trip_safe_mode(tmp_path):
    for index, kwargs in enumerate(ROUND_TRIP_KWARGS):
        layer = kapre.STFTSpectrogram(**kwargs)
        shape = (2, 500) if kwargs.get("data_format") == "channels_first" else (500, 2)
        model = model_of(layer, shape)
        rng = np.random.default_rng(0)
        layer.set_weights([w + 0.01 * rng.standard_normal(w.shape).astype("float32") for w in layer.get_weights()])
        x = noise((3,) + shape, seed=5)
        (tmp_path / str(index)).mkdir()
        loaded = save_and_load(model, tmp_path / str(index))
        loaded_layer = loaded.layers[-1]
        assert isinstance(loaded_layer, kapre.STFTSpectrogram)
        assert loaded_layer.get_config() == layer.get_config()
        assert loaded_layer.trainable == layer.trainable
        np.testing.assert_allclose(to_numpy(loaded(x)), to_numpy(model(x)), atol=1e-6)


# ------------------------------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------------------------------


INVALID_ARGUMENTS = [
    (dict(mode="spectrogram"), ValueError, "mode='spectrogram'"),
    (dict(mode=None), ValueError, "mode=None"),
    (dict(frame_length=0), ValueError, "frame_length=0"),
    (dict(frame_length=256.0), TypeError, "frame_length=256.0"),
    (dict(frame_length=True), TypeError, "frame_length=True"),
    (dict(frame_step=0), ValueError, "frame_step=0"),
    (dict(frame_step=300), ValueError, "frame_step=300"),
    (dict(frame_step=2.5), TypeError, "frame_step=2.5"),
    (dict(fft_length=128), ValueError, "fft_length=128"),
    (dict(fft_length="512"), TypeError, "fft_length='512'"),
    (dict(window="hanning"), ValueError, "window='hanning'"),
    (dict(window=np.ones(10)), ValueError, "frame_length=256"),
    (dict(window=np.ones((256, 1))), ValueError, "(256, 1)"),
    (dict(window=[np.nan] * 256), ValueError, "NaN"),
    (dict(window=np.zeros(256)), ValueError, "scaling='density'"),
    (dict(window=5), TypeError, "window=5"),
    (dict(periodic="yes"), TypeError, "periodic='yes'"),
    (dict(scaling="psd"), ValueError, "scaling='psd'"),
    (dict(padding="causal"), ValueError, "padding='causal'"),
    (dict(expand_dims=1), TypeError, "expand_dims=1"),
    (dict(data_format="NCW"), ValueError, "data_format='NCW'"),
]


def test_invalid_arguments():
    """Each error is raised in __init__ and names the argument and the received value."""
    for kwargs, error, words in INVALID_ARGUMENTS:
        with pytest.raises(error) as info:
            kapre.STFTSpectrogram(**kwargs)
        assert words in str(info.value), (kwargs, str(info.value))


def test_small_frames_and_windows_keras_cannot_build():
    """frame_length=1 (Keras: frame_step 0 and a 0-point DFT) and a zero-norm window without scaling work."""
    x = noise((1, 10, 1), seed=1)
    y = to_numpy(kapre.STFTSpectrogram(mode="real", frame_length=1)(x))
    np.testing.assert_allclose(y, x, atol=1e-7)  # a 1-point DFT with a one-sample window is the signal itself
    y = to_numpy(kapre.STFTSpectrogram(mode="psd", frame_length=4, window=np.zeros(4), scaling=None)(x))
    assert np.all(y == 0)


def test_invalid_inputs():
    layer = kapre.STFTSpectrogram(frame_length=64)
    with pytest.raises(ValueError, match=r"3-D input .*\(2, 100\)"):
        layer(noise((2, 100)))
    with pytest.raises(TypeError, match="int32"):
        layer(np.zeros((1, 100, 1), "int32"))
    with pytest.raises(ValueError, match="shorter than one frame"):
        layer(noise((1, 63, 1)))
    with pytest.raises(ValueError, match="shorter than one frame"):
        layer(keras.KerasTensor((None, 10, 1)))
    with pytest.raises(ValueError, match="empty signal"):
        kapre.STFTSpectrogram(frame_length=64, padding="same")(keras.KerasTensor((None, 0, 1)))


# Issue 23: the layer object created outside a tf.data pipeline and first called (so built) inside its map. On
# TensorFlow the kernels are created in the tf.data graph (their initial values were eager constants TensorFlow
# could not lift out of it: UnliftableError); under JAX and PyTorch the layer bridges itself (kapre.pipeline).
FIRST_BUILD_FFTS = [dict(frame_length=256, frame_step=128, fft_length=512),
                    dict(frame_length=256, frame_step=128, fft_length=715),
                    dict(frame_length=200, frame_step=80, fft_length=256, padding="same")]


@pytest.mark.parametrize("fft", FIRST_BUILD_FFTS, ids=["512", "715", "256-frame200-same"])
@pytest.mark.parametrize("mode", MODES)
def test_first_built_inside_a_tf_data_map_equals_eager(mode, fft):
    import tensorflow as tf

    kwargs = dict(mode=mode, **fft)
    x = noise((2, 3000, 1), seed=12)
    layer = kapre.STFTSpectrogram(**kwargs)
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(2).map(layer)
    (mapped,) = [np.asarray(batch) for batch in dataset]
    eager = to_numpy(layer(x))
    fresh = kapre.STFTSpectrogram(**kwargs)
    expected = to_numpy(fresh(x))
    np.testing.assert_array_equal(eager, expected)  # the kernels built in the map are the eagerly built ones
    for built_in_map, built_eagerly in zip(layer.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(built_in_map, built_eagerly)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(mapped, expected, rtol=1e-6, atol=1e-6 * scale)
    if mode in LINEAR_MODES:  # and the numbers are the transform's (NumPy, float64)
        reference = reference_output(np.transpose(x, (0, 2, 1)), kwargs)
        np.testing.assert_allclose(mapped, reference, atol=1e-5 * np.abs(reference).max())
