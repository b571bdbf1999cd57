"""Registered names, `.keras` files saved on the other backends, and kapre 0.4-style files (safe_mode=True)."""

import json
import os
import zipfile

import keras
import librosa
import numpy as np
import pytest

import kapre
from tests.helpers import noise, to_numpy

DATA = os.path.join(os.path.dirname(__file__), "data")

# The .keras round trips of every layer and composed front-end (safe_mode=True, exact outputs, equal configs) are
# in tests/test_layer_harness.py; this module keeps the registered names, the files saved on each backend and the
# kapre 0.4-era files.


def test_registered_names_are_kapre_04s():
    for cls in (kapre.STFT, kapre.InverseSTFT, kapre.Magnitude, kapre.Phase, kapre.MagnitudeToDecibel,
                kapre.ApplyFilterbank, kapre.Delta, kapre.ConcatenateFrequencyMap):
        assert keras.saving.get_registered_name(cls) == f"Kapre>{cls.__name__}"
        assert keras.saving.get_registered_object(f"Kapre>{cls.__name__}") is cls


def test_config_keeps_user_arguments_verbatim():
    config = kapre.STFT(n_fft=1024).get_config()
    assert (config["win_length"], config["hop_length"], config["window_name"]) == (None, None, None)
    assert config["input_data_format"] == config["output_data_format"] == "default"
    assert kapre.STFT.from_config(config).get_config() == config


def _fixture_reference(x):
    """The fixture front-end (tests/data/make_fixtures.py) computed with librosa and NumPy."""
    mel = librosa.feature.melspectrogram(y=x, sr=16000, n_fft=512, hop_length=128, center=False, power=1.0,
                                         n_mels=40).T
    db = librosa.power_to_db(mel, ref=1.0, amin=1e-5, top_db=80.0)
    padded = np.pad(db, [(2, 2), (0, 0)], mode="symmetric")
    delta = sum(k * (padded[2 + k : 2 + k + len(db)] - padded[2 - k : 2 - k + len(db)]) for k in (1, 2)) / 10.0
    freq_map = np.broadcast_to(np.linspace(0, 1, 40), delta.shape)
    return np.stack([delta, freq_map], axis=-1)


@pytest.mark.parametrize("saved_under", ["tensorflow", "jax", "torch"])
def test_file_saved_under_each_backend_loads_here(saved_under):
    model = keras.saving.load_model(os.path.join(DATA, f"frontend_{saved_under}.keras"), safe_mode=True)
    x = noise((2, 4000, 1), seed=4)
    y = to_numpy(model(x))
    for b in range(2):
        np.testing.assert_allclose(y[b], _fixture_reference(x[b, :, 0]), atol=2e-3)


def test_file_written_by_kapre_041_loads():
    """tests/data/kapre041_tf220.keras was saved by kapre 0.4.1 from PyPI (TF 2.20, Keras 3.13)."""
    model = keras.saving.load_model(os.path.join(DATA, "kapre041_tf220.keras"), safe_mode=True)
    assert [type(layer).__module__ for layer in model.layers[1:]] == ["kapre.time_frequency"] * 6
    x = noise((2, 4000, 1), seed=6)
    y = to_numpy(model(x))
    for b in range(2):
        np.testing.assert_allclose(y[b], _fixture_reference(x[b, :, 0]), atol=2e-3)


def _kapre04_config():
    """A Sequential config as tf.keras 2.x wrote it for a kapre 0.4 model (resolved values, 0.3.7 Phase key)."""
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
                 "config": {"batch_input_shape": [None, 4000, 1], "dtype": "float32", "sparse": False,
                            "ragged": False, "name": "input_1"}},
                {"module": "kapre.time_frequency", "class_name": "STFT", "registered_name": "Kapre>STFT",
                 "build_config": {"input_shape": [None, 4000, 1]},
                 "config": {"name": "stft", "trainable": True, "dtype": "float32", "n_fft": 512, "win_length": 512,
                            "hop_length": 128, "window_name": None, "pad_begin": False, "pad_end": False,
                            "input_data_format": "channels_last", "output_data_format": "channels_last"}},
                {"module": "kapre.time_frequency", "class_name": "Magnitude", "registered_name": "Kapre>Magnitude",
                 "build_config": {"input_shape": [None, 28, 257, 1]},
                 "config": {"name": "magnitude", "trainable": True, "dtype": "float32"}},
                {"module": "kapre.time_frequency", "class_name": "ApplyFilterbank",
                 "registered_name": "Kapre>ApplyFilterbank", "build_config": {"input_shape": [None, 28, 257, 1]},
                 "config": {"name": "apply_filterbank", "trainable": True, "dtype": "float32", "type": "mel",
                            "filterbank_kwargs": {"sample_rate": 16000, "n_freq": 257, "n_mels": 40, "f_min": 0.0,
                                                  "f_max": None, "htk": False, "norm": "slaney"},
                            "data_format": {"class_name": "__tuple__", "config": "channels_last"}}},
                {"module": "kapre.time_frequency", "class_name": "MagnitudeToDecibel",
                 "registered_name": "Kapre>MagnitudeToDecibel", "build_config": {"input_shape": [None, 28, 40, 1]},
                 "config": {"name": "magnitude_to_decibel", "trainable": True, "dtype": "float32", "amin": 1e-05,
                            "dynamic_range": 80.0, "ref_value": 1.0}},
            ],
        },
        "registered_name": None,
        "build_config": {"input_shape": [None, 4000, 1]},
    }


def test_kapre04_style_keras_file_loads(tmp_path):
    # Start from a valid archive (weights file layout of this Keras) and put a kapre 0.4 / tf.keras 2 config in it.
    template = os.path.join(str(tmp_path), "template.keras")
    keras.Sequential([keras.Input((4000, 1)), kapre.Magnitude()]).save(template)
    old_file = os.path.join(str(tmp_path), "kapre04.keras")
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(old_file, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            if item == "config.json":
                data = json.dumps(_kapre04_config()).encode()
            elif item == "metadata.json":
                data = json.dumps({"keras_version": "2.15.0", "date_saved": "2023-01-01@00:00:00"}).encode()
            target.writestr(item, data)
    model = keras.saving.load_model(old_file, safe_mode=True)
    assert [type(layer).__name__ for layer in model.layers] == [
        "STFT", "Magnitude", "ApplyFilterbank", "MagnitudeToDecibel"]
    x = noise((2, 4000, 1), seed=5)
    y = to_numpy(model(x))
    for b in range(2):
        mel = librosa.feature.melspectrogram(y=x[b, :, 0], sr=16000, n_fft=512, hop_length=128, center=False,
                                             power=1.0, n_mels=40).T
        np.testing.assert_allclose(y[b, :, :, 0], librosa.power_to_db(mel, ref=1.0, amin=1e-5, top_db=80.0),
                                   atol=2e-3)


def test_phase_config_from_kapre_037_loads():
    config = {"module": "kapre.time_frequency", "class_name": "Phase", "registered_name": "Kapre>Phase",
              "config": {"name": "phase", "trainable": True, "dtype": "float32", "tflite_phase_accuracy": 30}}
    layer = keras.saving.deserialize_keras_object(config, safe_mode=True)
    assert layer.approx_atan_accuracy == 30
