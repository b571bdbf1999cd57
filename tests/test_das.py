"""The DAS fork's layers (kapre.compat.das): numbers, shapes, saving, and loading a DAS (tf.keras 2) model file."""

from __future__ import annotations

import json
import os

import h5py
import keras
import librosa
import numpy as np
import pytest

import kapre.compat.das as das

from .helpers import noise, save_and_load, to_numpy
from .test_legacy import ATOL_DB, assert_close_rel, ref_db, ref_power

CUSTOM_OBJECTS = {
    "Spectrogram": das.Spectrogram,
    "Melspectrogram": das.Melspectrogram,
    "AmplitudeToDB": das.AmplitudeToDB,
}


def test_spectrogram_channels_last_in_time_first_out():
    x = noise((2, 900, 3), seed=20)  # (batch, samples, channels)
    power = ref_power(x.transpose(0, 2, 1), 64, 16, "same")  # (batch, ch, time, freq)
    for data_format, expected in [
        ("channels_last", power.transpose(0, 2, 3, 1)),  # (batch, time, freq, ch)
        ("channels_first", power),  # (batch, ch, time, freq)
    ]:
        layer = das.Spectrogram(n_dft=64, n_hop=16, image_data_format=data_format)
        out = to_numpy(layer(x))
        assert_close_rel(out, expected)
        assert layer.compute_output_shape(x.shape) == out.shape
        db = das.Spectrogram(
            n_dft=64, n_hop=16, power_spectrogram=1.0, return_decibel_spectrogram=True, image_data_format=data_format
        )
        np.testing.assert_allclose(to_numpy(db(x)), ref_db(expected**0.5), atol=ATOL_DB)


def test_melspectrogram_norm_1_and_das_layout():
    x = noise((2, 1500, 2), seed=21)
    mel = librosa.filters.mel(sr=10000, n_fft=256, n_mels=24, norm=1).T  # DAS: norm=1 (each filter sums to 1)
    melgram = (ref_power(x.transpose(0, 2, 1), 256, 128, "valid") @ mel) ** 0.5  # (batch, ch, time, mel)
    for data_format, expected in [
        ("channels_last", melgram.transpose(0, 3, 2, 1)),  # (batch, mel, time, ch)
        ("channels_first", melgram.transpose(0, 1, 3, 2)),  # (batch, ch, mel, time)
    ]:
        layer = das.Melspectrogram(n_dft=256, padding="valid", sr=10000, n_mels=24, image_data_format=data_format)
        out = to_numpy(layer(x))
        assert_close_rel(out, expected)
        assert layer.compute_output_shape((None, 1500, 2)) == (None,) + out.shape[1:]
        np.testing.assert_allclose(np.asarray(layer.freq2mel).sum(axis=0), 1.0, rtol=1e-5)


def test_amplitude_to_db():
    x = np.abs(noise((2, 10, 4, 1), seed=22)) ** 4
    np.testing.assert_allclose(to_numpy(das.AmplitudeToDB(top_db=60.0)(x)), ref_db(x, 1e-10, 60.0), atol=ATOL_DB)
    assert keras.saving.get_registered_object("KapreDAS>AmplitudeToDB") is das.AmplitudeToDB
    assert keras.saving.get_registered_object("Kapre02>AmplitudeToDB") is not das.AmplitudeToDB


def test_edge_lengths_batched_and_bad_inputs():
    layer = das.Spectrogram(n_dft=32, n_hop=8, image_data_format="channels_last")
    for length in (1, 7, 8, 9, 31, 32, 33):
        assert layer.compute_output_shape((1, length, 2)) == (1, -(-length // 8), 17, 2)
    for length in (1, 33):
        assert tuple(to_numpy(layer(np.zeros((1, length, 2), "float32"))).shape) == (1, -(-length // 8), 17, 2)
    assert tuple(layer(keras.Input((None, 2))).shape) == (None, None, 17, 2)
    valid = das.Melspectrogram(n_dft=32, padding="valid", sr=8000, n_mels=8, image_data_format="channels_last")
    assert valid.compute_output_shape((None, 32, 1)) == (None, 8, 1, 1)
    with pytest.raises(ValueError, match=r"needs at least 32 samples.*\(1, 31, 1\) \(batch, samples, channels\)"):
        valid(np.zeros((1, 31, 1), "float32"))
    with pytest.raises(ValueError, match="3-D input"):
        layer(np.zeros((4, 100), "float32"))
    x = noise((3, 300, 2), seed=23)
    for lay in (das.Spectrogram(n_dft=32, return_decibel_spectrogram=True), das.Melspectrogram(n_dft=32, sr=8000)):
        single = np.concatenate([to_numpy(lay(x[i : i + 1])) for i in range(3)])
        np.testing.assert_allclose(to_numpy(lay(x)), single, rtol=1e-5, atol=1e-4)


def test_invalid_arguments():
    cases = [
        (lambda: das.Spectrogram(n_dft=100.5), TypeError, "n_dft=100.5"),
        (lambda: das.Spectrogram(padding="full"), ValueError, "padding='full'"),
        (lambda: das.Melspectrogram(norm="area"), ValueError, "norm='area'"),
        (lambda: das.Melspectrogram(sr=1000, fmax=600.0), ValueError, "received fmax=600.0"),
        (lambda: das.Melspectrogram(power_spectrogram=1.0), ValueError, "power_spectrogram=1.0"),
        (lambda: das.AmplitudeToDB(amin=-1.0), ValueError, "amin=-1.0"),
    ]
    for factory, exc, message in cases:
        with pytest.raises(exc, match=message.replace(".", r"\.")):
            factory()


def test_keras_round_trip(tmp_path):
    inputs = keras.Input((800, 2))
    spec = das.Spectrogram(n_dft=64, n_hop=32, return_decibel_spectrogram=True, trainable_kernel=True)(inputs)
    mel = das.AmplitudeToDB()(das.Melspectrogram(n_dft=64, n_hop=32, sr=8000, n_mels=12, trainable_fb=True)(inputs))
    model = keras.Model(inputs, [spec, mel])
    loaded = save_and_load(model, tmp_path)
    x = noise((2, 800, 2), seed=24)
    for a, b in zip(model(x), loaded(x), strict=True):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-6, atol=1e-6)
    assert [type(layer) for layer in loaded.layers[1:]] == [type(layer) for layer in model.layers[1:]]


# A model config as DAS (tf.keras 2.x) wrote it: bare class names, tf.keras 2 base-layer keys, legacy node lists.
DAS_LAYER_CONFIGS = [
    {
        "class_name": "Spectrogram",
        "config": {
            "name": "spectrogram",
            "trainable": True,
            "dtype": "float32",
            "n_dft": 64,
            "n_hop": 16,
            "padding": "same",
            "power_spectrogram": 1.0,
            "return_decibel_spectrogram": True,
            "trainable_kernel": True,
            "image_data_format": "channels_last",
        },
        "name": "spectrogram",
        "inbound_nodes": [[["input_1", 0, 0, {}]]],
    },
    {
        "class_name": "Reshape",
        "config": {"name": "reshape", "trainable": True, "dtype": "float32", "target_shape": [64, 66]},
        "name": "reshape",
        "inbound_nodes": [[["spectrogram", 0, 0, {}]]],
    },
    {
        "class_name": "Melspectrogram",
        "config": {
            "name": "melspectrogram",
            "trainable": True,
            "dtype": "float32",
            "n_dft": 128,
            "n_hop": 32,
            "padding": "same",
            "power_spectrogram": 2.0,
            "return_decibel_spectrogram": False,
            "trainable_kernel": False,
            "image_data_format": "channels_last",
            "sr": 10000,
            "n_mels": 20,
            "fmin": 0.0,
            "fmax": 5000.0,
            "trainable_fb": True,
            "power_melgram": 1.0,
            "return_decibel_melgram": False,
            "htk": False,
            "norm": 1,
        },
        "name": "melspectrogram",
        "inbound_nodes": [[["input_1", 0, 0, {}]]],
    },
    {
        "class_name": "AmplitudeToDB",
        "config": {"name": "amplitude_to_db", "trainable": True, "dtype": "float32", "amin": 1e-10, "top_db": 80.0},
        "name": "amplitude_to_db",
        "inbound_nodes": [[["melspectrogram", 0, 0, {}]]],
    },
]

DAS_MODEL_CONFIG = {
    "class_name": "Functional",
    "config": {
        "name": "TCN",
        "layers": [
            {
                "class_name": "InputLayer",
                "config": {
                    "batch_input_shape": [None, 1024, 2],
                    "dtype": "float32",
                    "sparse": False,
                    "ragged": False,
                    "name": "input_1",
                },
                "name": "input_1",
                "inbound_nodes": [],
            },
            *DAS_LAYER_CONFIGS,
        ],
        "input_layers": [["input_1", 0, 0]],
        "output_layers": [["reshape", 0, 0], ["amplitude_to_db", 0, 0]],
    },
    "keras_version": "2.4.0",
    "backend": "tensorflow",
}


def test_das_layer_configs_deserialize_with_custom_objects():
    for config in DAS_LAYER_CONFIGS[::2]:
        layer = keras.layers.deserialize(
            {"class_name": config["class_name"], "config": dict(config["config"])}, custom_objects=CUSTOM_OBJECTS
        )
        assert type(layer) is CUSTOM_OBJECTS[config["class_name"]]
        assert layer.get_config()["image_data_format"] == "channels_last"
    layer = keras.layers.deserialize(DAS_LAYER_CONFIGS[-1], custom_objects=CUSTOM_OBJECTS)
    assert type(layer) is das.AmplitudeToDB and layer.top_db == 80.0


def test_das_model_file_loads_with_custom_objects(tmp_path):
    """A DAS HDF5 model file (tf.keras 2 model config, weights in 0.2's shapes and order) loads and runs."""
    # Build the same network, give it non-initial weights, and write an HDF5 file with DAS's model config.
    inputs = keras.Input((1024, 2), name="input_1")
    spec = das.Spectrogram(
        n_dft=64,
        n_hop=16,
        power_spectrogram=1.0,
        return_decibel_spectrogram=True,
        trainable_kernel=True,
        image_data_format="channels_last",
        name="spectrogram",
    )
    mel = das.Melspectrogram(
        n_dft=128,
        n_hop=32,
        sr=10000,
        n_mels=20,
        fmax=5000.0,
        trainable_fb=True,
        image_data_format="channels_last",
        name="melspectrogram",
    )
    outputs = [
        keras.layers.Reshape((64, 66), name="reshape")(spec(inputs)),
        das.AmplitudeToDB(name="amplitude_to_db")(mel(inputs)),
    ]
    model = keras.Model(inputs, outputs, name="TCN")
    mel.freq2mel.assign(to_numpy(mel.freq2mel) * (1.0 + noise((65, 20), seed=25)))
    spec.real_kernels.assign(to_numpy(spec.real_kernels) * 0.5)
    path = os.path.join(str(tmp_path), "das_model.h5")
    model.save(path)
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = json.dumps(DAS_MODEL_CONFIG)
    # freq2mel is DAS's first legacy weight of the mel layer (trainable weights come first)
    assert [w.path.split("/")[-1] for w in mel.trainable_weights + mel.non_trainable_weights] == [
        "freq2mel",
        "real_kernels",
        "imag_kernels",
    ]

    loaded = keras.models.load_model(path, custom_objects=CUSTOM_OBJECTS, compile=False)
    x = noise((2, 1024, 2), seed=26)
    for a, b in zip(model(x), loaded(x), strict=True):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-5, atol=1e-5)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "InputLayer",
        "Spectrogram",
        "Melspectrogram",
        "Reshape",
        "AmplitudeToDB",
    ]
    assert loaded.get_layer("spectrogram").output.shape == (None, 64, 33, 2)  # time-first
    assert loaded.get_layer("melspectrogram").output.shape == (None, 20, 32, 2)  # DAS's mel-first layout
