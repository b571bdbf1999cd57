"""Issue 22's reproductions (found by a property-based fuzzer on TensorFlow), one named test each, on every backend.

Each gives a clear ``ValueError``/``TypeError`` naming the argument, or a documented, finite result. The fuzz
suite itself is tests/test_fuzz.py; a failure it finds joins this file.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

import kapre
from kapre import augmentation, constants, utils
from tests.helpers import gradient, noise, to_numpy

FLOAT32_TINY_DB = 10.0 * np.log10(np.finfo(np.float32).tiny)  # -379.3 dB: the decibels of silence at a tiny amin


def _all_finite(x) -> bool:
    return bool(np.isfinite(to_numpy(x)).all())


# -- NaN gradients where training meets silence --------------------------------------------------------------------


@pytest.mark.parametrize("signal", ["zeros", "ones"])
def test_melspectrogram_magnitude_gradient_is_finite_on_silence(signal):
    """MelSpectrogram(power=1.0) on zeros or ones (every bin but DC zero): 1,012 of 1,030 entries were NaN."""
    layer = kapre.MelSpectrogram(n_fft=128, hop_length=42, sample_rate=16000, n_mels=17, power=1.0,
                                 return_decibel=False)
    x = np.zeros((2, 515, 1), "float32") if signal == "zeros" else np.ones((2, 515, 1), "float32")
    grad = gradient(layer, x)
    assert grad.shape == x.shape and np.isfinite(grad).all()


@pytest.mark.parametrize("scale", [0.0, 1e-30])
def test_stft_phase_gradient_is_finite_on_silence_and_tiny_signals(scale):
    """STFT -> Phase() on zeros gave NaN; at 1e-30 the derivative's x**2 + y**2 underflowed to 0 (inf)."""
    model = keras.Sequential([keras.Input((515, 1)), kapre.STFT(n_fft=128), kapre.Phase()])
    x = noise((2, 515, 1), seed=3) * scale
    assert np.isfinite(gradient(model, x)).all()


# -- non-finite outputs for finite inputs ---------------------------------------------------------------------------


def test_magnitude_to_decibel_with_an_amin_below_float32_on_zeros_is_finite():
    """amin=1e-50 rounds to 0 in float32: log10(0) - log10(0) was NaN. It counts as float32's smallest normal."""
    out = to_numpy(kapre.MagnitudeToDecibel(amin=1e-50)(np.zeros((2, 10, 5, 1), "float32")))
    np.testing.assert_allclose(out, FLOAT32_TINY_DB, rtol=1e-6)


def test_magnitude_to_decibel_ref_max_tiny_amin_no_range_on_noise_is_finite():
    x = np.abs(noise((2, 10, 5, 1), seed=1))
    x[0, :3] = 0.0  # silent frames
    out = to_numpy(kapre.MagnitudeToDecibel(ref_value="max", amin=1e-60, dynamic_range=None)(x))
    assert np.isfinite(out).all()
    expected = 10 * np.log10(np.maximum(x, np.finfo(np.float32).tiny).astype("float64"))
    expected -= expected.max(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(out, expected, atol=1e-3)


def test_melspectrogram_tiny_db_amin_ref_max_on_zeros_is_finite():
    out = to_numpy(kapre.MelSpectrogram(db_amin=1e-50, db_ref_value="max")(np.zeros((2, 4000, 1), "float32")))
    # every bin at the floor, which is the maximum (JAX's mel leaves a few bins a hair above float32's tiny)
    np.testing.assert_allclose(out, 0.0, atol=1e-3)


def test_amplitude_to_db_tiny_amin_on_a_1e40_scaled_input_is_finite():
    x = np.abs(noise((2, 10, 5, 1), seed=2)) * np.float32(1e-40)  # float32 subnormals
    out = to_numpy(utils.AmplitudeToDB(amin=1e-50)(x))
    assert np.isfinite(out).all() and out.max() == 0.0 and out.min() >= -80.0


def test_phase_tflite_on_a_1e40_scaled_input_is_finite():
    stft = kapre.STFTTflite(n_fft=64)(noise((2, 400, 1), seed=4) * np.float32(1e-40))
    for layer in (kapre.PhaseTflite(), kapre.PhaseTflite(approx_atan_accuracy=25)):
        assert _all_finite(layer(stft))


@pytest.mark.parametrize(
    "build",
    [lambda: kapre.MagnitudeToDecibel(amin=1e300), lambda: kapre.MelSpectrogram(db_amin=1e300),
     lambda: utils.AmplitudeToDB(amin=1e300)],
    ids=["MagnitudeToDecibel", "MelSpectrogram", "AmplitudeToDB"],
)
def test_an_amin_beyond_float32_is_an_error_naming_it(build):
    """amin=1e300 is inf in float32: every decibel was inf (NaN after LogmelToMFCC)."""
    with pytest.raises(ValueError, match=r"amin must be <= 3.40282e\+38"):
        build()


def test_decibels_of_the_smallest_amin_are_documented():
    assert kapre.functional.effective_amin(1e-50, "float32") == float(np.finfo(np.float32).tiny)
    assert kapre.functional.effective_amin(1e-50, "float64") == 1e-50
    assert kapre.functional.effective_amin(1e-5, "float32") == 1e-5


# -- invalid arguments silently accepted ----------------------------------------------------------------------------


def test_negative_mel_norm_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"mel_norm must be None, 'slaney' or a positive number.*mel_norm=-2"):
        kapre.composed.get_melspectrogram_layer(input_shape=(4000, 1), mel_norm=-2)
    with pytest.raises(ValueError, match="norm=-1"):
        kapre.ApplyFilterbank("mel", {"sample_rate": 16000, "n_freq": 129, "n_mels": 40, "norm": -1})
    with pytest.raises(ValueError, match="norm=nan"):
        kapre.backend.filterbank_mel(16000, 129, 40, norm=float("nan"))


@pytest.mark.parametrize("layer", [kapre.Frame, kapre.Energy])
@pytest.mark.parametrize("pad_value", [float("nan"), float("inf"), 1e300])
def test_non_finite_pad_value_is_an_error_naming_it(layer, pad_value):
    kwargs = {"frame_length": 10, "hop_length": 5} if layer is kapre.Frame else {}
    with pytest.raises(ValueError, match="pad_value"):
        layer(pad_end=True, pad_value=pad_value, **kwargs)


def test_empty_mel_bands_warn_with_their_number():
    """n_mels=200 on 129 FFT bins: 48 bands are all zero (librosa warns as well)."""
    with pytest.warns(constants.EmptyFilterbankWarning, match="48 of n_mels=200 mel bands are empty"):
        kapre.ApplyFilterbank("mel", {"sample_rate": 16000, "n_freq": 129, "n_mels": 200})
    with pytest.warns(constants.EmptyFilterbankWarning, match="70 of n_mels=128"):
        kapre.MelSpectrogram(n_fft=64, sample_rate=16000, n_mels=128)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kapre.MelSpectrogram(n_fft=2048, sample_rate=22050, n_mels=128)  # librosa's defaults: no empty band


def test_complex_input_to_a_composed_front_end_is_an_error():
    model = kapre.composed.get_melspectrogram_layer(input_shape=(4000, 1), n_fft=256, n_mels=16)
    with pytest.raises(TypeError, match="expects real audio.*complex64"):
        model(np.ones((1, 4000, 1), "complex64"))
    assert model(np.ones((1, 4000, 1), "float32")).shape == (1, 59, 16, 1)


# -- huge arguments ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: kapre.STFT(n_fft=2**40), "n_fft"),
        (lambda: kapre.STFT(n_fft=64, hop_length=2**40), "hop_length"),
        (lambda: kapre.STFT(n_fft=2**15, engine="dft"), "n_fft"),
        (lambda: kapre.Delta(win_length=2**40 + 1), "win_length"),
        (lambda: augmentation.SpecAugment(freq_mask_param=2, time_mask_param=2, n_time_masks=2**40), "n_time_masks"),
        (lambda: augmentation.AdditiveNoise(power=1e300), "power"),
        (lambda: kapre.MelSpectrogram(n_fft=2**20, n_mels=2**12), "n_mels"),
        (lambda: kapre.STFTSpectrogram(frame_length=2**20), "frame_length"),
    ],
    ids=["stft-n_fft", "stft-hop", "stft-dft-kernel", "delta-width", "specaugment-masks", "noise-power",
         "mel-filterbank-size", "stftspectrogram-kernel"],
)
def test_sizes_far_beyond_audio_are_errors_at_construction(build, name):
    with pytest.raises(ValueError, match=name):
        build()


# -- backend errors on valid inputs -----------------------------------------------------------------------------------


def test_pad_begin_with_a_hop_longer_than_n_fft_prepends_nothing():
    """hop 101 > n_fft 100 with pad_begin: TensorFlow raised 'Paddings must be non-negative'."""
    x = noise((1, 239, 1), seed=5)
    window = [0.868] * 100
    padded = kapre.STFT(n_fft=100, hop_length=101, pad_begin=True, window_name=window, dtype="mixed_float16")
    plain = kapre.STFT(n_fft=100, hop_length=101, window_name=window)
    out = padded(x)
    assert tuple(out.shape) == padded.compute_output_shape(x.shape) == (1, 2, 51, 1)
    np.testing.assert_allclose(to_numpy(out), to_numpy(plain(x)), rtol=1e-6, atol=1e-6)


def test_melspectrogram_float64_on_an_empty_batch():
    layer = kapre.MelSpectrogram(n_fft=100, win_length=70, hop_length=16, sample_rate=8000, n_mels=12,
                                 dtype="float64")
    out = layer(np.zeros((0, 400, 1), "float64"))
    assert tuple(out.shape) == layer.compute_output_shape((0, 400, 1)) == (0, 21, 12, 1)


def test_delta_on_integer_input_equals_delta_on_its_float_values():
    x = np.arange(50, dtype="int16").reshape(1, 10, 5, 1) % 7
    out = kapre.Delta(data_format="channels_last")(x)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    np.testing.assert_allclose(to_numpy(out), to_numpy(kapre.Delta(data_format="channels_last")(x.astype("float32"))))


# -- shape and dtype contracts ----------------------------------------------------------------------------------------


def test_stftspectrogram_on_a_zero_length_signal_is_the_same_error_symbolically_and_eagerly():
    layer = kapre.STFTSpectrogram(frame_length=263, frame_step=8, padding="same")
    for call in (lambda: layer.compute_output_shape((3, 0, 1)), lambda: layer(np.zeros((3, 0, 1), "float32")),
                 lambda: layer(keras.Input((0, 1)))):
        with pytest.raises(ValueError, match="empty signal"):
            call()


@pytest.mark.parametrize("dtype", ["int16", "int32", "uint8", "bool"])
@pytest.mark.parametrize(
    "build",
    [kapre.MagnitudeToDecibel,
     lambda: kapre.ApplyFilterbank("mel", {"sample_rate": 8000, "n_freq": 5, "n_mels": 2},
                                   data_format="channels_last"),
     lambda: kapre.Delta(data_format="channels_last"),
     lambda: kapre.ConcatenateFrequencyMap(data_format="channels_last")],
    ids=["MagnitudeToDecibel", "ApplyFilterbank", "Delta", "ConcatenateFrequencyMap"],
)
def test_integer_input_has_the_same_dtype_symbolically_and_eagerly(build, dtype):
    layer = build()
    symbolic = layer(keras.Input((10, 5, 1), dtype=dtype))
    eager = layer(np.ones((1, 10, 5, 1), dtype))
    assert keras.backend.standardize_dtype(symbolic.dtype) == keras.backend.standardize_dtype(eager.dtype) == "float32"
    assert tuple(eager.shape)[1:] == tuple(symbolic.shape)[1:]


# -- found by tests/test_fuzz.py --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: kapre.filterbank.Filterbank(n_fbs=2**63, trainable_fb=False, sr=8000), ValueError, "n_fbs"),
        (lambda: kapre.composed.get_stft_mag_phase(input_shape="bogus", n_fft=64), TypeError, "input_shape"),
        (lambda: kapre.composed.get_stft_magnitude_layer(input_shape=[1.0]), TypeError, "input_shape"),
        (lambda: kapre.composed.get_melspectrogram_layer(input_shape=(200, 2), n_fft=1, hop_length=16,
                                                         sample_rate=8000, n_mels=8), ValueError, "n_fft must be >= 2"),
        (lambda: kapre.composed.get_log_frequency_spectrogram_layer(input_shape=(3000, 1), n_fft=1024,
                                                                    hop_length=512, log_f_min=100.0),
         ValueError, "log_f_min=100.0"),
        (lambda: kapre.composed.get_log_frequency_spectrogram_layer(log_n_bins=2**16, log_bins_per_octave=1),
         ValueError, "log_n_bins"),
        (lambda: kapre.composed.get_perfectly_reconstructing_stft_istft(n_fft=2**40, hop_length=16), ValueError,
         "n_fft"),
        (lambda: kapre.composed.get_frequency_aware_conv2d("channels_last", "fa", 4, (3, 3), padding=2**40),
         ValueError, "Conv2D rejected"),
        (lambda: kapre.composed.get_frequency_aware_conv2d("channels_last", 1e300, 4, (3, 3)), TypeError,
         "freq_aware_name"),
        (lambda: kapre.compat.das.Spectrogram(n_dft=64, n_hop=16, power_spectrogram=1e300), ValueError,
         "power_spectrogram"),
        (lambda: kapre.compat.das.Melspectrogram(n_dft=64, n_hop=16, sr=8000, n_mels=8, power_melgram=1e300),
         ValueError, "power_melgram"),
    ],
    ids=["Filterbank-n_fbs", "mag-phase-input_shape", "magnitude-input_shape", "mel-n_fft-1", "log-f_min",
         "log-n_bins-overflow", "stft-istft-n_fft", "conv2d-padding", "conv2d-name", "das-power", "das-mel-power"],
)
def test_fuzz_found_arguments_are_errors_naming_them(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_mu_law_decoding_of_out_of_range_codes_is_the_nearest_end():
    """Code 32767 with 64 channels decoded to inf; a code outside [0, 63] is the nearest end of [-1, 1]."""
    codes = np.array([[[-5], [0], [63], [32767]]], "int16")
    np.testing.assert_allclose(to_numpy(kapre.MuLawDecoding(64)(codes)).ravel(), [-1.0, -1.0, 1.0, 1.0], atol=1e-6)


@pytest.mark.parametrize(
    ("layer", "x"),
    [(kapre.ConcatenateFrequencyMap(data_format="channels_last"), np.zeros((1, 12, 9, 2), "float16")),
     (kapre.MagnitudeTflite(), np.full((1, 12, 33, 1, 2), 1e-3, "float16")),
     (kapre.PhaseTflite(), np.full((1, 12, 33, 1, 2), 1e-3, "float16"))],
    ids=["ConcatenateFrequencyMap", "MagnitudeTflite", "PhaseTflite"],
)
def test_float16_input_has_the_symbolic_dtype_eagerly(layer, x):
    symbolic = layer.compute_output_spec(keras.KerasTensor(x.shape, dtype="float16"))
    eager = layer(x)
    assert keras.backend.standardize_dtype(eager.dtype) == symbolic.dtype == "float32"


@pytest.mark.parametrize("str_axis", ["freq", "data_sample", "batch"])
def test_normalization2d_gradient_on_silence_is_finite(str_axis):
    layer = utils.Normalization2D(str_axis=str_axis, image_data_format="channels_last")
    for x in (np.zeros((2, 9, 12, 1), "float32"), np.full((2, 9, 12, 1), 0.5, "float32")):
        assert np.isfinite(gradient(layer, x)).all()
        assert np.isfinite(to_numpy(utils.Normalization2D(str_axis=str_axis, eps=0.0)(x))).all()


# -- found by the long profile (KAPRE_FUZZ_PROFILE=long) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: kapre.MelSpectrogram(sample_rate=1e-300), "sample_rate must be a sampling rate from 1 Hz"),
        (lambda: kapre.ApplyFilterbank("mel", {"sample_rate": 1e-300, "n_freq": 33}), "sample_rate"),
        (lambda: kapre.filterbank.Filterbank(n_fbs=8, trainable_fb=False, sr=1e-300), "sr must be a sampling rate"),
        (lambda: kapre.Energy(ref_duration=1e300), "ref_duration must be <= 1e\\+06"),
        (lambda: kapre.Energy(sample_rate=1e300), "sample_rate"),
        (lambda: kapre.MelSpectrogram(mel_f_min=1000.0, mel_f_max=1000.0 + 1e-12, n_mels=40), "too narrow"),
        (lambda: kapre.composed.get_melspectrogram_layer(input_shape=(200, 2), n_fft=64,
                                                         input_data_format="channels_first"),
         "input_shape=\\(200, 2\\) with input_data_format='channels_first'.*2 samples"),
        (lambda: kapre.composed.get_stft_magnitude_layer(input_shape=[]), "input_shape=\\(\\)"),
        (lambda: kapre.composed.get_stft_mag_phase(input_shape=[], n_fft=64), "input_shape=\\(\\)"),
        (lambda: kapre.composed.get_perfectly_reconstructing_stft_istft(n_fft=16, hop_length=16),
         "window of 16 samples \\(win_length; n_fft by default\\)"),
    ],
    ids=["mel-sample_rate", "filterbank-sample_rate", "0.2-sr", "energy-ref_duration", "energy-sample_rate",
         "mel-collapsed-edges", "front-end-data-format", "front-end-rank", "mag-phase-rank", "istft-window"],
)
def test_long_profile_findings_are_errors_naming_the_argument(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_no_channels_and_empty_channel_swaps():
    """A zero-size channel axis: PyTorch's reshape(-1, ...) of 0 elements raised a RuntimeError."""
    with pytest.raises(ValueError, match="no channels"):
        kapre.STFTSpectrogram(mode="stft", frame_length=50, frame_step=20, padding="same",
                              data_format="channels_first")(np.zeros((1, 0, 2), "float32"))
    empty = np.zeros((0, 2, 0), "float32")
    assert to_numpy(augmentation.ChannelSwap()(empty, training=True)).shape == (0, 2, 0)
