"""An empty batch (a data pipeline's last, filtered-out or sharded batch) goes through every layer and gives an
empty output of the shape the layer computes for it. PyTorch's FFT (MKL) rejected zero-size tensors
("Intel oneMKL DFTI ERROR: Inconsistent configuration parameters") and Keras' ``ops.max`` raises on any empty
tensor (TensorFlow eager, PyTorch); both are handled in kapre."""

from __future__ import annotations

import pytest

import kapre
from kapre import augmentation, filterbank, legacy, utils
from kapre.compat import das
from tests.helpers import chain, noise, to_numpy

CL = {"input_data_format": "channels_last", "output_data_format": "channels_last"}
WAVE = ((2000, 1), "float32")
SPEC = ((20, 129, 1), "float32")
COMPLEX_SPEC = ((20, 129, 1), "complex64")

CASES = {
    "STFT": (lambda: kapre.STFT(n_fft=256, hop_length=64, **CL), WAVE),
    "STFT-dft": (lambda: kapre.STFT(n_fft=256, hop_length=64, engine="dft", **CL), WAVE),
    "STFT-center": (lambda: kapre.STFT(n_fft=256, hop_length=64, center=True, pad_mode="reflect", **CL), WAVE),
    "InverseSTFT": (lambda: kapre.InverseSTFT(n_fft=256, hop_length=64, **CL), COMPLEX_SPEC),
    "Magnitude": (lambda: kapre.Magnitude(), COMPLEX_SPEC),
    "Phase": (lambda: kapre.Phase(), COMPLEX_SPEC),
    "Phase-approx": (lambda: kapre.Phase(approx_atan_accuracy=10), COMPLEX_SPEC),
    "MagnitudeToDecibel": (lambda: kapre.MagnitudeToDecibel(), SPEC),
    "MagnitudeToDecibel-ref-max": (lambda: kapre.MagnitudeToDecibel(ref_value="max"), SPEC),
    "ApplyFilterbank": (lambda: kapre.ApplyFilterbank("mel", {"sample_rate": 8000, "n_freq": 129, "n_mels": 20},
                                                      data_format="channels_last"), SPEC),
    "Delta": (lambda: kapre.Delta(data_format="channels_last"), SPEC),
    "ConcatenateFrequencyMap": (lambda: kapre.ConcatenateFrequencyMap(data_format="channels_last"), SPEC),
    "MelSpectrogram": (lambda: kapre.MelSpectrogram(n_fft=256, hop_length=64, sample_rate=8000, n_mels=20, **CL),
                       WAVE),
    "STFTSpectrogram-psd": (lambda: kapre.STFTSpectrogram(mode="psd", frame_length=256, frame_step=64), WAVE),
    "STFTTflite-Magnitude": (lambda: chain(kapre.STFTTflite(n_fft=256, hop_length=64, **CL),
                                            kapre.MagnitudeTflite()), WAVE),
    "LogmelToMFCC": (lambda: kapre.LogmelToMFCC(n_mfccs=13), SPEC),
    "Frame": (lambda: kapre.Frame(frame_length=256, hop_length=64, data_format="channels_last"), WAVE),
    "Energy": (lambda: kapre.Energy(frame_length=256, hop_length=64, data_format="channels_last"), WAVE),
    "MuLawEncoding": (lambda: kapre.MuLawEncoding(256), WAVE),
    "MuLawDecoding": (lambda: kapre.MuLawDecoding(256), WAVE),
    "ChannelSwap": (lambda: augmentation.ChannelSwap(data_format="channels_last", seed=0), ((20, 129, 2), "float32")),
    "STFTTflite-Phase": (lambda: chain(kapre.STFTTflite(n_fft=256, hop_length=64, **CL), kapre.PhaseTflite()),
                         WAVE),
    "STFTSpectrogram-log": (lambda: kapre.STFTSpectrogram(mode="log", frame_length=256, frame_step=64), WAVE),
    "SpecAugment": (lambda: augmentation.SpecAugment(freq_mask_param=5, time_mask_param=5, seed=0,
                                                     data_format="channels_last"), SPEC),
    "AdditiveNoise": (lambda: augmentation.AdditiveNoise(seed=0), WAVE),
    "0.2 Spectrogram": (lambda: legacy.Spectrogram(n_dft=256, n_hop=64, return_decibel_spectrogram=True),
                        ((1, 2000), "float32")),
    "0.2 Melspectrogram": (lambda: legacy.Melspectrogram(n_dft=256, n_hop=64, sr=8000, n_mels=20),
                           ((1, 2000), "float32")),
    "0.2 AmplitudeToDB": (lambda: utils.AmplitudeToDB(), SPEC),
    "0.2 Normalization2D": (lambda: utils.Normalization2D(str_axis="batch"), SPEC),
    "0.2 Filterbank": (lambda: filterbank.Filterbank(n_fbs=20, trainable_fb=False, sr=8000,
                                                     image_data_format="channels_last"), ((129, 20, 1), "float32")),
    "0.2 Delta": (lambda: utils.Delta(data_format="channels_last"), SPEC),
    "DAS Spectrogram": (lambda: das.Spectrogram(n_dft=256, n_hop=64), ((2000, 1), "float32")),
    "DAS Melspectrogram": (lambda: das.Melspectrogram(n_dft=256, n_hop=64, sr=8000, n_mels=20),
                           ((2000, 1), "float32")),
    "DAS AmplitudeToDB": (lambda: das.AmplitudeToDB(), SPEC),
}


def _batch(size, shape, dtype):
    x = noise((size, *shape))
    if dtype == "complex64":
        x = (x + 1j * noise((size, *shape), seed=1)).astype("complex64")
    return x


@pytest.mark.parametrize("name", sorted(CASES))
def test_empty_batch_gives_an_empty_output(name):
    make, (shape, dtype) = CASES[name]
    layer = make()
    full = to_numpy(layer(_batch(2, shape, dtype)))
    empty = to_numpy(layer(_batch(0, shape, dtype)))
    assert empty.shape == (0, *full.shape[1:])
