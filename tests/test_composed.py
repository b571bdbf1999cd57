"""kapre.composed against librosa, with kapre 0.4's shapes and the two fixed kapre 0.4 bugs."""

import keras
import librosa
import numpy as np
import pytest

import kapre
from kapre import composed
from tests.helpers import noise, to_numpy, tone_mix

CL = {"input_data_format": "channels_last", "output_data_format": "channels_last"}


@pytest.mark.parametrize("return_decibel", [False, True])
@pytest.mark.parametrize("htk, norm", [(False, "slaney"), (True, None)])
def test_melspectrogram_layer_equals_librosa(return_decibel, htk, norm):
    x = np.stack([tone_mix(6000, seed=1), 0.01 * tone_mix(6000, seed=2)])[:, :, None]  # two levels: per-example dB
    layer = composed.get_melspectrogram_layer(
        input_shape=(6000, 1), n_fft=1024, hop_length=256, sample_rate=16000, n_mels=64, mel_f_min=30.0,
        mel_f_max=7600.0, mel_htk=htk, mel_norm=norm, return_decibel=return_decibel, **CL,
    )
    y = to_numpy(layer(x))
    assert layer.output_shape == (None, 20, 64, 1) and y.shape == (2, 20, 64, 1)
    for b in range(2):
        mel = librosa.feature.melspectrogram(
            y=x[b, :, 0], sr=16000, n_fft=1024, hop_length=256, center=False, power=1.0, n_mels=64, fmin=30.0,
            fmax=7600.0, htk=htk, norm=norm,
        ).T
        if return_decibel:
            np.testing.assert_allclose(y[b, :, :, 0], librosa.power_to_db(mel, ref=1.0, amin=1e-5, top_db=80.0),
                                       atol=2e-3)
        else:
            np.testing.assert_allclose(y[b, :, :, 0], mel, rtol=1e-4, atol=1e-4 * mel.max())


def test_stft_magnitude_layer_shapes_of_the_manual():
    layer = composed.get_stft_magnitude_layer(input_shape=(2048, 1), n_fft=1024, return_decibel=True,
                                              input_data_format="channels_last", output_data_format="channels_first")
    assert layer.output_shape == (None, 1, 5, 513)
    x = noise((1, 2048, 1))
    expected = librosa.amplitude_to_db(np.abs(librosa.stft(x[0, :, 0], n_fft=1024, hop_length=256, center=False)),
                                       ref=1.0, amin=1e-5 ** 0.5, top_db=None)
    y = to_numpy(layer(x))[0, 0]
    # 10*log10(|X|) is half of librosa's 20*log10(|X|); the floor 80 dB below the max applies on top
    expected = np.maximum(expected.T / 2, expected.max() / 2 - 80.0)
    np.testing.assert_allclose(y, expected, atol=2e-3)


def test_manual_example_shapes():
    stft_magnitude = composed.get_stft_magnitude_layer(input_shape=(320000, 2), return_decibel=True, **CL)
    assert stft_magnitude.output_shape == (None, 622, 1025, 2)
    model = keras.Sequential([keras.Input((320000, 2)), kapre.STFT(
        n_fft=2048, win_length=2018, hop_length=1024, window_name="hann_window", pad_end=False, **CL)])
    assert model.output_shape == (None, 311, 1025, 2)
    melgram = composed.get_melspectrogram_layer(input_shape=(2, 2048), n_fft=1024, return_decibel=True, n_mels=96,
                                                input_data_format="channels_first",
                                                output_data_format="channels_last")
    assert melgram.output_shape == (None, 5, 96, 2)


@pytest.mark.parametrize("output_data_format", ["channels_last", "channels_first"])
def test_log_frequency_spectrogram_layer(output_data_format):
    x = noise((2, 2, 4096), seed=3)
    layer = composed.get_log_frequency_spectrogram_layer(
        input_shape=(2, 4096), n_fft=1024, log_n_bins=84, input_data_format="channels_first",
        output_data_format=output_data_format,
    )
    y = to_numpy(layer(x))
    if output_data_format == "channels_last":
        y = np.transpose(y, (0, 3, 1, 2))
    fb = to_numpy(kapre.backend.filterbank_log(22050, 513, 84))
    for b in range(2):
        for c in range(2):
            magnitude = np.abs(librosa.stft(x[b, c], n_fft=1024, hop_length=256, center=False)).T
            np.testing.assert_allclose(y[b, c], magnitude @ fb, rtol=1e-4, atol=1e-4 * magnitude.max())


@pytest.mark.parametrize("global_format", ["channels_last", "channels_first"])
def test_stft_mag_phase_concatenates_on_the_channel_axis(global_format):
    keras.config.set_image_data_format(global_format)
    channels = 3
    shape = (2048, channels) if global_format == "channels_last" else (channels, 2048)
    model = composed.get_stft_mag_phase(input_shape=shape, n_fft=1024, return_decibel=False)
    x = noise((1, *shape), seed=4)
    y = to_numpy(model(x))
    signal = x[0, :, 0] if global_format == "channels_last" else x[0, 0]
    spectrum = librosa.stft(signal, n_fft=1024, hop_length=256, center=False).T
    if global_format == "channels_last":
        assert y.shape == (1, 5, 513, 2 * channels)
        magnitude, phase = y[0, :, :, 0], y[0, :, :, channels]
    else:  # kapre 0.4 concatenated on axis 3 (frequency) here
        assert y.shape == (1, 2 * channels, 5, 513)
        magnitude, phase = y[0, 0], y[0, channels]
    np.testing.assert_allclose(magnitude, np.abs(spectrum), rtol=1e-4, atol=1e-4 * np.abs(spectrum).max())
    significant = np.abs(spectrum) > 1e-3 * np.abs(spectrum).max()
    np.testing.assert_allclose(phase[significant], np.angle(spectrum)[significant], atol=1e-3)


def test_frequency_aware_conv2d():
    layer = composed.get_frequency_aware_conv2d("channels_last", "fa_conv", 16, (3, 3), padding="same")
    assert [type(sub).__name__ for sub in layer.layers] == ["ConcatenateFrequencyMap", "Conv2D"]
    assert tuple(layer(np.zeros((1, 10, 20, 2), "float32")).shape) == (1, 10, 20, 16)
    assert layer.layers[1].kernel.shape == (3, 3, 3, 16)  # one extra input channel: the frequency map
    with pytest.raises(ValueError, match="received groups=2"):
        composed.get_frequency_aware_conv2d("channels_last", "fa", 16, (3, 3), groups=2)
    # groups given positionally (7th Conv2D argument; kapre 0.4 looked at the 8th)
    with pytest.raises(ValueError, match="received groups=4"):
        composed.get_frequency_aware_conv2d("default", "fa", 16, (3, 3), (1, 1), "same", None, (1, 1), 4)


def test_composed_argument_validation():
    with pytest.raises(ValueError, match="input_data_format must be one of"):
        composed.get_melspectrogram_layer(input_data_format="nhwc")
    with pytest.raises(ValueError, match="f_max must be at most the Nyquist frequency"):
        composed.get_melspectrogram_layer(sample_rate=16000, mel_f_max=9000.0)
    with pytest.raises(ValueError, match="needs input_shape"):
        composed.get_stft_mag_phase(None)
    with pytest.raises(ValueError, match="above the Nyquist frequency"):
        composed.get_log_frequency_spectrogram_layer(sample_rate=8000)
