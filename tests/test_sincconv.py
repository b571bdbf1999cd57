"""kapre.SincConv against SincNet (Ravanelli and Bengio, 2018), on this run's backend.

The reference is a NumPy transcription, written here, of ``SincConv_fast`` in mravanelli/SincNet's dnn_models.py:
its initialisation (``__init__``: mel-spaced band edges, the half Hamming window, the half time axis) and its
``forward`` (the cut-offs from ``low_hz_`` and ``band_hz_``, the band-pass taps, the normalisation by ``2 band``),
computed in float64. The convolution's reference is ``scipy.signal.correlate`` (SincNet calls PyTorch's ``conv1d``, a
cross-correlation; the filters are symmetric anyway) of the zero-padded input, padded by Keras' ``Conv1D`` rule for
``'same'`` (TensorFlow's ``SAME``: ``max((out - 1) * stride + span - length, 0)`` zeros, the smaller half before).

Tolerances:
- weights at initialisation: float32 weights equal SincNet's float64 values rounded to float32 (rtol 1e-7, half a
  float32 ulp is 6e-8); float64 weights to rtol 1e-13.
- filters, float64 layer: 1e-12 (measured 2.2e-16 on all three backends).
- filters, float32 layer: 1e-5 absolute (the centre tap is 1). Measured 4.1e-6 at 80 x 251 taps, 16 kHz, the same
  as SincNet's own float32 code, 4.1e-6 from its float64 result: the phases ``2 pi f t / sr`` reach 400 rad, and
  storing the initial cut-offs in float32 alone moves the filters by 1.8e-6 (a 4.7 kHz filter 219 Hz wide).
- layer output vs correlation with SincNet's float64 filters: 1e-5 x max |reference| (float32 layer).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from scipy import signal as scipy_signal

import kapre
from kapre import functional
from tests.helpers import float64_backend, gradient, save_and_load, to_numpy

FILTER_TOLERANCE = {"float32": 1e-5, "float64": 1e-12}
OUTPUT_TOLERANCE = 1e-5
CONFIGS = [  # filters, kernel_size, sample_rate, min_low_hz, min_band_hz
    (80, 251, 16000, 50.0, 50.0),  # SincNet's first layer (cnn_N_filt 80, cnn_len_filt 251, TIMIT/LibriSpeech)
    (24, 129, 22050, 20.0, 30.0),
]


# -- the reference: SincNet's SincConv_fast, transcribed -----------------------------------------------------------


def sincnet_init(out_channels, sample_rate, min_low_hz=50.0, min_band_hz=50.0):
    """SincConv_fast.__init__: (low_hz_, band_hz_), float64."""
    def to_mel(hz):
        return 2595 * np.log10(1 + hz / 700)

    def to_hz(mel):
        return 700 * (10 ** (mel / 2595) - 1)

    low_hz = 30
    high_hz = sample_rate / 2 - (min_low_hz + min_band_hz)
    mel = np.linspace(to_mel(low_hz), to_mel(high_hz), out_channels + 1)
    hz = to_hz(mel)
    return hz[:-1], np.diff(hz)


def sincnet_filters(low_hz_, band_hz_, kernel_size, sample_rate, min_low_hz=50.0, min_band_hz=50.0):
    """SincConv_fast.forward's filters, (out_channels, kernel_size), float64 (kernel_size odd)."""
    n_lin = np.linspace(0, (kernel_size / 2) - 1, int(kernel_size / 2))  # only half of the window
    window_ = 0.54 - 0.46 * np.cos(2 * math.pi * n_lin / kernel_size)
    n = (kernel_size - 1) / 2.0
    n_ = 2 * math.pi * np.arange(-n, 0).reshape(1, -1) / sample_rate
    low = min_low_hz + np.abs(np.asarray(low_hz_, "float64").reshape(-1, 1))
    high = np.clip(low + min_band_hz + np.abs(np.asarray(band_hz_, "float64").reshape(-1, 1)), min_low_hz,
                   sample_rate / 2)
    band = (high - low)[:, 0]
    f_times_t_low = low @ n_
    f_times_t_high = high @ n_
    band_pass_left = ((np.sin(f_times_t_high) - np.sin(f_times_t_low)) / (n_ / 2)) * window_
    band_pass_center = 2 * band.reshape(-1, 1)
    band_pass_right = np.flip(band_pass_left, axis=1)
    band_pass = np.concatenate([band_pass_left, band_pass_center, band_pass_right], axis=1)
    return band_pass / (2 * band[:, None])


def correlate(x, filters, stride=1, padding="valid", dilation=1):
    """(batch, time) cross-correlated with each of filters (n_filters, taps): (batch, new_time, n_filters)."""
    taps = filters.shape[1]
    span = (taps - 1) * dilation + 1
    dilated = np.zeros((filters.shape[0], span))
    dilated[:, ::dilation] = filters
    if padding == "same":
        out = -(-x.shape[1] // stride)
        total = max((out - 1) * stride + span - x.shape[1], 0)
        x = np.pad(x, [(0, 0), (total // 2, total - total // 2)])
    y = np.stack([np.stack([scipy_signal.correlate(row, h, mode="valid", method="direct") for h in dilated], -1)
                  for row in np.asarray(x, "float64")])
    return y[:, ::stride]


def _weights(layer):
    return to_numpy(layer.low_hz_).astype("float64"), to_numpy(layer.band_hz_).astype("float64")


def _noise(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape)


# -- initialisation -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("config", CONFIGS, ids=["sincnet-80x251-16k", "24x129-22k"])
def test_initial_weights_and_filters_equal_sincnets(config, dtype):
    filters, kernel_size, sr, min_low, min_band = config
    low_ref, band_ref = sincnet_init(filters, sr, min_low, min_band)
    reference = sincnet_filters(low_ref, band_ref, kernel_size, sr, min_low, min_band)
    with float64_backend():
        layer = kapre.SincConv(filters, kernel_size, sr, min_low_hz=min_low, min_band_hz=min_band, dtype=dtype)
        layer.build((None, kernel_size, 1))
        low, band = _weights(layer)
        kernel = to_numpy(layer.sinc_filters())
        low_hz, high_hz = (to_numpy(v) for v in layer.cutoff_frequencies())
    assert to_numpy(layer.low_hz_).dtype == dtype and kernel.dtype == dtype
    rtol = 1e-7 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(low, low_ref, rtol=rtol)
    np.testing.assert_allclose(band, band_ref, rtol=rtol)
    assert kernel.shape == (kernel_size, filters)
    error = np.abs(kernel.T - reference).max()
    print(f"{config} {dtype}: max |filters - SincNet (float64)| = {error:.2e}")
    assert error <= FILTER_TOLERANCE[dtype]
    # the pass bands: from min_low_hz + 30 Hz up to sample_rate / 2, edges shared by neighbours
    np.testing.assert_allclose(low_hz[0], min_low + 30.0, rtol=1e-6)
    np.testing.assert_allclose(high_hz[-1], sr / 2, rtol=1e-6)
    np.testing.assert_allclose(low_hz[1:] - min_low, high_hz[:-1] - min_low - min_band, rtol=1e-5)


def test_filters_from_trained_weights_equal_sincnets():
    """Any weights, negative ones (|.| is taken) and bands past the Nyquist frequency (clipped) included."""
    sr, kernel_size = 16000, 101
    rng = np.random.default_rng(1)
    low = rng.uniform(-6000.0, 6000.0, 12)
    band = rng.uniform(-4000.0, 4000.0, 12)
    low[0], band[0] = 7800.0, 1000.0  # high clipped at 8 kHz
    layer = kapre.SincConv(12, kernel_size, sr)
    layer.build((None, kernel_size, 1))
    layer.set_weights([low.astype("float32"), band.astype("float32")])
    reference = sincnet_filters(*_weights(layer), kernel_size, sr)
    error = np.abs(to_numpy(layer.sinc_filters()).T - reference).max()
    print(f"trained weights: max |filters - SincNet (float64)| = {error:.2e}")
    assert error <= FILTER_TOLERANCE["float32"]


# -- the convolution ------------------------------------------------------------------------------------------------


CONV_CASES = [  # padding, stride, dilation, length, input format, output format
    ("valid", 1, 1, 1000, "channels_last", "channels_last"),
    ("valid", 3, 1, 1001, "channels_first", "channels_last"),  # (1001 - 101) % 3 != 0
    ("same", 1, 1, 997, "channels_last", "channels_first"),
    ("same", 4, 1, 1002, "channels_first", "channels_first"),  # 1002 % 4 != 0: the leading pad is 49, not 50
    ("same", 1, 3, 650, "channels_last", "channels_last"),
    ("same", 2, 1, 60, "channels_last", "channels_last"),  # shorter than the kernel
]


@pytest.mark.parametrize("case", CONV_CASES, ids=["-".join(map(str, case[:4])) for case in CONV_CASES])
def test_output_equals_correlation_with_sincnets_filters(case):
    padding, stride, dilation, length, input_format, output_format = case
    filters, kernel_size, sr = 16, 101, 16000
    x = _noise((2, length), seed=length)
    layer = kapre.SincConv(filters, kernel_size, sr, stride=stride, padding=padding, dilation=dilation,
                           input_data_format=input_format, output_data_format=output_format)
    inputs = x[:, :, None] if input_format == "channels_last" else x[:, None, :]
    y = to_numpy(layer(inputs.astype("float32")))
    if output_format == "channels_first":
        y = np.transpose(y, (0, 2, 1))
    reference = correlate(x, sincnet_filters(*sincnet_init(filters, sr), kernel_size, sr), stride, padding, dilation)
    if padding == "valid":
        assert reference.shape[1] == (length - (kernel_size - 1) * dilation - 1) // stride + 1
    else:
        assert reference.shape[1] == math.ceil(length / stride)
    assert y.shape == reference.shape
    assert tuple(layer.compute_output_shape(inputs.shape)) == (y.shape if output_format == "channels_last"
                                                               else (2, filters, y.shape[1]))
    error = np.abs(y - reference).max() / np.abs(reference).max()
    print(f"{case}: max |output - correlation| / max |correlation| = {error:.2e}")
    assert error <= OUTPUT_TOLERANCE


def test_free_length_in_a_compiled_model_equals_correlation():
    """A model on (None, 1) called on several lengths: TensorFlow's predict function relaxes the length to unknown
    after a few shapes (the layer then pads for 'same' with the length known only when it runs)."""
    filters, kernel_size, sr = 8, 31, 8000
    inputs = keras.Input((None, 1))
    layer = kapre.SincConv(filters, kernel_size, sr, stride=3, padding="same", input_data_format="channels_last",
                           output_data_format="channels_last")
    model = keras.Model(inputs, layer(inputs))
    assert tuple(model.output.shape) == (None, None, filters)
    reference_filters = sincnet_filters(*sincnet_init(filters, sr), kernel_size, sr)
    for length in (300, 301, 302, 303, 304):
        x = _noise((2, length), seed=length)
        y = model.predict(x[:, :, None].astype("float32"), verbose=0)
        reference = correlate(x, reference_filters, 3, "same")
        assert y.shape == reference.shape
        assert np.abs(y - reference).max() <= OUTPUT_TOLERANCE * np.abs(reference).max()


def test_functional_form_equals_the_layer():
    layer = kapre.SincConv(6, 21, 8000, stride=2, padding="same", input_data_format="channels_last",
                           output_data_format="channels_last")
    x = _noise((2, 200, 1), seed=5).astype("float32")
    y = to_numpy(layer(x))
    low, band = (keras.ops.convert_to_tensor(w.astype("float32")) for w in _weights(layer))
    kernel = functional.sinc_filters(low, band, 21, 8000)
    np.testing.assert_array_equal(to_numpy(kernel), to_numpy(layer.sinc_filters()))
    z = functional.apply_fir_filters(keras.ops.convert_to_tensor(x[:, :, 0]), kernel, stride=2, padding="same")
    np.testing.assert_allclose(to_numpy(z), y, rtol=0, atol=1e-6)


# -- training and constraints ---------------------------------------------------------------------------------------


def test_trains_and_keeps_its_constraints():
    """A small fit toward the outputs of other cut-offs: the loss goes down, both weight groups move, and after
    training low >= min_low_hz and high - low >= min_band_hz."""
    filters, kernel_size, sr = 6, 41, 8000
    x = _noise((8, 400, 1), seed=2).astype("float32")
    teacher = kapre.SincConv(filters, kernel_size, sr, input_data_format="channels_last",
                             output_data_format="channels_last")
    teacher.build(x.shape)
    low0, band0 = _weights(teacher)
    teacher.set_weights([(low0 * 1.3 + 40.0).astype("float32"), (band0 * 0.5).astype("float32")])
    target = to_numpy(teacher(x))
    layer = kapre.SincConv(filters, kernel_size, sr, input_data_format="channels_last",
                           output_data_format="channels_last")
    model = keras.Sequential([keras.Input((400, 1)), layer])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=20.0), loss="mse")
    history = model.fit(x, target, batch_size=8, epochs=25, verbose=0).history["loss"]
    print(f"loss {history[0]:.4g} -> {history[-1]:.4g}")
    assert history[-1] < 0.5 * history[0]
    low, band = _weights(layer)
    assert np.abs(low - low0).max() > 1.0 and np.abs(band - band0).max() > 1.0
    low_hz, high_hz = (to_numpy(v) for v in layer.cutoff_frequencies())
    assert (low_hz >= 50.0).all() and (high_hz - low_hz >= 50.0 * (1 - 1e-6)).all() and (high_hz <= sr / 2).all()


def test_a_low_cutoff_past_nyquist_keeps_a_band_and_finite_gradients():
    """SincNet leaves low unbounded above; past sr / 2 - min_band_hz its band shrinks, at sr / 2 it is 0 (NaN
    filters). kapre stops low at sr / 2 - min_band_hz: the filter is the top band, finite, with finite gradients."""
    sr, kernel_size = 8000, 31
    layer = kapre.SincConv(3, kernel_size, sr, input_data_format="channels_last", output_data_format="channels_last")
    layer.build((None, 100, 1))
    layer.set_weights([np.array([3950.0, -4000.0, 9000.0], "float32"), np.array([0.0, 10.0, -5.0], "float32")])
    low_hz, high_hz = (to_numpy(v) for v in layer.cutoff_frequencies())
    np.testing.assert_allclose(low_hz, [3950.0, 3950.0, 3950.0])
    np.testing.assert_allclose(high_hz, [4000.0, 4000.0, 4000.0])
    kernel = to_numpy(layer.sinc_filters())
    assert np.isfinite(kernel).all()
    top = sincnet_filters([3900.0], [0.0], kernel_size, sr)[0]  # SincNet's filter of the band 3950 - 4000 Hz
    np.testing.assert_allclose(kernel[:, 0], top, atol=FILTER_TOLERANCE["float32"])
    grad = gradient(lambda v: layer(v), _noise((1, 100, 1), seed=3).astype("float32"))
    assert np.isfinite(grad).all() and np.abs(grad).max() > 0


# -- serialization ----------------------------------------------------------------------------------------------------


def test_keras_file_keeps_trained_weights(tmp_path):
    layer = kapre.SincConv(10, 51, 16000, stride=2, padding="same", dilation=1, min_low_hz=40.0, min_band_hz=60.0,
                           input_data_format="channels_first", output_data_format="channels_last")
    model = keras.Sequential([keras.Input((1, 300)), layer])
    low, band = _weights(layer)
    layer.set_weights([(low + 17.0).astype("float32"), (band * 1.5).astype("float32")])
    x = _noise((2, 1, 300), seed=4).astype("float32")
    before = to_numpy(model(x))
    loaded = save_and_load(model, tmp_path)
    np.testing.assert_array_equal(to_numpy(loaded(x)), before)
    new = loaded.layers[0]
    assert new.get_config() == layer.get_config()
    np.testing.assert_array_equal(_weights(new)[0], (low + 17.0).astype("float32"))


# -- arguments and inputs ---------------------------------------------------------------------------------------------


BAD_ARGUMENTS = [
    ({"filters": 0}, ValueError, "filters must be >= 1, received filters=0"),
    ({"filters": 8.0}, TypeError, "filters must be an integer"),
    ({"kernel_size": 250}, ValueError, "kernel_size must be odd.*received kernel_size=250; use kernel_size=251"),
    ({"kernel_size": 1}, ValueError, "kernel_size must be >= 3, received kernel_size=1"),
    ({"sample_rate": 0}, ValueError, "sample_rate must be > 0"),
    ({"stride": 0}, ValueError, "stride must be >= 1, received stride=0"),
    ({"padding": "causal"}, ValueError, r"padding must be one of \['valid', 'same'\], received padding='causal'"),
    ({"padding": "SAME"}, ValueError, "received padding='SAME'"),
    ({"dilation": 0}, ValueError, "dilation must be >= 1, received dilation=0"),
    ({"stride": 2, "dilation": 2}, ValueError, "received stride=2, dilation=2"),
    ({"min_low_hz": -1.0}, ValueError, "min_low_hz must be >= 0.0, received min_low_hz=-1.0"),
    ({"min_band_hz": 0.0}, ValueError, "min_band_hz must be > 0.0, received min_band_hz=0.0"),
    ({"min_low_hz": 7000.0, "min_band_hz": 980.0}, ValueError,
     "min_low_hz \\+ min_band_hz must stay below sample_rate / 2 - 30 Hz.*min_low_hz=7000.0, min_band_hz=980.0"),
    ({"min_low_hz": float("nan")}, ValueError, "min_low_hz must be finite"),
    ({"input_data_format": "channels_middle"}, ValueError, "input_data_format must be one of"),
    ({"output_data_format": 3}, TypeError, "output_data_format must be a string"),
]


@pytest.mark.parametrize("kwargs,error,message", BAD_ARGUMENTS, ids=[str(case[0]) for case in BAD_ARGUMENTS])
def test_invalid_arguments_are_refused_by_name(kwargs, error, message):
    with pytest.raises(error, match=message):
        kapre.SincConv(**kwargs)


def test_input_checks_and_short_inputs():
    layer = kapre.SincConv(4, 11, 8000, input_data_format="channels_last", output_data_format="channels_last")
    with pytest.raises(ValueError, match="single-channel waveform.*with 2 channels.*batch \\* channels"):
        layer(np.zeros((1, 100, 2), "float32"))
    with pytest.raises(ValueError, match="expects a 3-D input"):
        layer(np.zeros((1, 100), "float32"))
    # 'valid' needs one kernel of input (as Keras' Conv1D): 11 samples give one output, 10 an error
    assert tuple(layer(np.zeros((2, 11, 1), "float32")).shape) == (2, 1, 4)
    with pytest.raises(ValueError, match="needs at least 11 samples \\(kernel_size=11\\), received an input of 10"):
        layer(np.zeros((2, 10, 1), "float32"))
    with pytest.raises(ValueError, match="needs at least 11 samples"):
        layer.compute_output_shape((2, 10, 1))
    dilated = kapre.SincConv(4, 11, 8000, dilation=3, input_data_format="channels_first")
    with pytest.raises(ValueError, match="needs at least 31 samples \\(kernel_size=11, dilation=3\\)"):
        dilated.compute_output_shape((2, 1, 30))
    # 'same' takes any length, 0 included
    same = kapre.SincConv(4, 11, 8000, stride=2, padding="same", input_data_format="channels_last",
                          output_data_format="channels_last")
    assert tuple(same(np.zeros((2, 5, 1), "float32")).shape) == (2, 3, 4)
    assert tuple(same(np.zeros((2, 0, 1), "float32")).shape) == (2, 0, 4)
    assert same.compute_output_shape((None, None, 1)) == (None, None, 4)
    assert same.frame_locality is None and layer.frame_locality == "waveform"


def test_mixed_precision_returns_the_policy_dtype_and_keeps_float32_weights():
    keras.config.set_dtype_policy("mixed_float16")
    layer = kapre.SincConv(8, 31, 8000, input_data_format="channels_last", output_data_format="channels_last")
    y = layer(_noise((2, 100, 1), seed=6).astype("float32"))
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    assert keras.backend.standardize_dtype(layer.low_hz_.dtype) == "float32"
    reference = correlate(_noise((2, 100), seed=6), sincnet_filters(*sincnet_init(8, 8000), 31, 8000))
    assert np.abs(to_numpy(y).astype("float64") - reference).max() <= 2e-3 * np.abs(reference).max()

