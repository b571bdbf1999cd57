"""The DAS fork's layers (kapre.compat.das): numbers, shapes, saving, and loading a DAS (tf.keras 2) model file."""

from __future__ import annotations

import json
import os
import warnings

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


def das_layers(spec_trainable_kernel: bool, **mel_flags):
    """The Spectrogram and Melspectrogram of DAS's TCN front-end (the network of ``DAS_MODEL_CONFIG``)."""
    spec = das.Spectrogram(n_dft=64, n_hop=16, power_spectrogram=1.0, return_decibel_spectrogram=True,
                           trainable_kernel=spec_trainable_kernel, image_data_format="channels_last",
                           name="spectrogram")
    mel = das.Melspectrogram(n_dft=128, n_hop=32, sr=10000, n_mels=20, fmax=5000.0, image_data_format="channels_last",
                             name="melspectrogram", **mel_flags)
    return spec, mel


def test_das_model_file_loads_with_custom_objects(tmp_path):
    """A DAS HDF5 model file (tf.keras 2 model config, weights in 0.2's shapes and order) loads and runs."""
    # Build the same network, give it non-initial weights, and write an HDF5 file with DAS's model config.
    inputs = keras.Input((1024, 2), name="input_1")
    spec, mel = das_layers(True, trainable_fb=True)
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


# ---------------------------------------------------------------------------------------------------------------
# A model file as the DAS fork wrote it (tf.keras 2, HDF5), written here with h5py, and the fork's numbers
# ---------------------------------------------------------------------------------------------------------------

# The fork's Melspectrogram output (power_melgram=1.0, no decibels) equals the NumPy reference below within this
# fraction of each example's maximum; decibel outputs within ATOL_DB.
RTOL_FORK_MEL = 1e-6


def fork_kernels(n_dft, seed):
    """The fork's ``get_stft_kernels`` (DFT times a periodic Hann window, shape ``(n_dft, 1, 1, n_dft//2+1)``),
    each value scaled by a seeded factor in [0.8, 1.2) so that a kernel loaded into the wrong slot, or not loaded,
    shows."""
    n = np.arange(n_dft)
    k = np.arange(n_dft // 2 + 1)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_dft)
    phase = 2 * np.pi * np.outer(n, k) / n_dft  # (n_dft, n_freq)
    rng = np.random.default_rng(seed)
    real = np.cos(phase) * window[:, None] * rng.uniform(0.8, 1.2, phase.shape)
    imag = -np.sin(phase) * window[:, None] * rng.uniform(0.8, 1.2, phase.shape)
    return real[:, None, None, :].astype("float32"), imag[:, None, None, :].astype("float32")


def fork_power(x, real, imag, n_hop):
    """The fork's Spectrogram before its power/decibel step: per channel, ``conv2d`` of the audio with the kernels
    (stride ``n_hop``, TensorFlow ``'same'`` padding: ``total // 2`` zeros on the left), ``re**2 + im**2``,
    channels-last ``(batch, time, freq, channels)``."""
    x = np.asarray(x, np.float64)
    n_dft, length = real.shape[0], x.shape[1]
    frames = -(-length // n_hop)
    total = max((frames - 1) * n_hop + n_dft - length, 0)
    padded = np.pad(x, ((0, 0), (total // 2, total - total // 2), (0, 0)))
    windows = padded[:, np.arange(frames)[:, None] * n_hop + np.arange(n_dft), :]  # (batch, time, n_dft, ch)
    re = np.einsum("btnc,nf->btfc", windows, np.asarray(real, np.float64)[:, 0, 0, :])
    im = np.einsum("btnc,nf->btfc", windows, np.asarray(imag, np.float64)[:, 0, 0, :])
    return re**2 + im**2


def fork_decibel(x, amin=1e-10, dynamic_range=80.0):
    """The fork's ``amplitude_to_decibel``: 10 log10, minus each example's maximum, floored at -dynamic_range."""
    log_spec = 10.0 * np.log10(np.maximum(x, amin))
    log_spec = log_spec - log_spec.max(axis=tuple(range(1, x.ndim)), keepdims=True)
    return np.maximum(log_spec, -dynamic_range)


def fork_outputs(x, weights):
    """The three outputs of ``das_fork_model_config`` by the fork's formulas: the Spectrogram (power 1, decibels,
    reshaped), the Melspectrogram (``sqrt(power @ freq2mel)``, ``(batch, mel, time, ch)``) and its decibels."""
    spec_real, spec_imag = weights["spectrogram"]
    spec = fork_decibel(np.sqrt(fork_power(x, spec_real, spec_imag, 16)))  # (batch, 64, 33, 2)
    mel_real, mel_imag, freq2mel = weights["melspectrogram"]
    power = fork_power(x, mel_real, mel_imag, 32).transpose(0, 3, 1, 2)  # (batch, ch, time, freq)
    mel = np.sqrt(power @ np.asarray(freq2mel, np.float64)).transpose(0, 3, 2, 1)  # (batch, mel, time, ch)
    return [spec.reshape(len(x), 64, 66), mel, fork_decibel(mel)]


def das_fork_model_config(trainable_kernel, trainable_fb):
    """DAS_MODEL_CONFIG with the given flags on both layers and the raw mel-spectrogram as an extra output."""
    config = json.loads(json.dumps(DAS_MODEL_CONFIG))
    for layer in config["config"]["layers"]:
        if layer["class_name"] in ("Spectrogram", "Melspectrogram"):
            layer["config"]["trainable_kernel"] = trainable_kernel
        if layer["class_name"] == "Melspectrogram":
            layer["config"]["trainable_fb"] = trainable_fb
    config["config"]["output_layers"] = [["reshape", 0, 0], ["melspectrogram", 0, 0], ["amplitude_to_db", 0, 0]]
    config["keras_version"] = "2.13.1"
    return config


def das_fork_model(trainable_kernel, trainable_fb):
    """The network of ``das_fork_model_config`` built in code, as DAS's ``load_model_from_params`` does."""
    inputs = keras.Input((1024, 2), name="input_1")
    spec_layer, mel_layer = das_layers(trainable_kernel, trainable_kernel=trainable_kernel, trainable_fb=trainable_fb)
    spec, mel = spec_layer(inputs), mel_layer(inputs)
    outputs = [
        keras.layers.Reshape((64, 66), name="reshape")(spec),
        mel,
        das.AmplitudeToDB(name="amplitude_to_db")(mel),
    ]
    return keras.Model(inputs, outputs, name="TCN")


def das_fork_weights(seed):
    """Non-default weights for the two layers, in the order the fork's HDF5 files list them."""
    mel_real, mel_imag = fork_kernels(128, seed)
    freq2mel = librosa.filters.mel(sr=10000, n_fft=128, n_mels=20, fmax=5000.0, norm=1).T  # DAS's default norm=1
    freq2mel = (freq2mel * np.random.default_rng(seed + 1).uniform(0.5, 1.5, freq2mel.shape)).astype("float32")
    return {"spectrogram": list(fork_kernels(64, seed + 2)), "melspectrogram": [mel_real, mel_imag, freq2mel]}


def write_das_fork_h5(path, model_config, weights):
    """An HDF5 model file laid out as tf.keras 2 (TF 2.13) ``model.save(path)`` writes it for the DAS fork's layers.

    tf.keras 2 lists a layer's weights as ``trainable_weights + non_trainable_weights``. The fork creates its
    weights as ``K.variable`` attributes, which tf.keras 2 tracks as trainable variables in creation order; its
    ``self.trainable_weights.append(...)`` / ``self.non_trainable_weights.append(...)`` append to a copy and change
    nothing. So for every ``trainable_kernel`` / ``trainable_fb`` the file lists ``real_kernels``,
    ``imag_kernels`` and then the unnamed ``freq2mel`` (``Variable:0``), under the layer's name scope.
    """
    names = {"spectrogram": ["real_kernels:0", "imag_kernels:0"]}
    names["melspectrogram"] = names["spectrogram"] + ["Variable:0"]
    layer_names = [layer["name"] for layer in model_config["config"]["layers"]]
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.13.1"
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = np.asarray([name.encode() for name in layer_names])
        group.attrs["backend"] = b"tensorflow"
        group.attrs["keras_version"] = b"2.13.1"
        for name in sorted(layer_names):
            layer_group = group.create_group(name)
            weight_names = [f"{name}/{weight}" for weight in names.get(name, [])]
            layer_group.attrs["weight_names"] = np.asarray([weight.encode() for weight in weight_names])
            for weight_name, value in zip(weight_names, weights.get(name, []), strict=True):
                layer_group.create_dataset(weight_name, data=value)
        group.create_group("top_level_model_weights").attrs["weight_names"] = np.asarray([])


def assert_fork_numbers(outputs, expected):
    spec, mel, mel_db = (to_numpy(out).astype(np.float64) for out in outputs)
    np.testing.assert_allclose(spec, expected[0], atol=ATOL_DB)
    scale = np.abs(expected[1]).max(axis=(1, 2, 3), keepdims=True)  # each example's maximum
    err = np.abs(mel - expected[1]) / scale
    assert err.max() <= RTOL_FORK_MEL, f"max error {err.max():.3g} x each example's maximum"
    np.testing.assert_allclose(mel_db, expected[2], atol=ATOL_DB)


@pytest.mark.parametrize("trainable_kernel", [False, True])
@pytest.mark.parametrize("trainable_fb", [True, False])
def test_das_fork_h5_file_loads_and_gives_the_fork_numbers(tmp_path, trainable_kernel, trainable_fb):
    """A file in the fork's layout ([real_kernels, imag_kernels, freq2mel] whatever the flags) loads with
    ``custom_objects``, through ``load_model`` and through ``load_weights`` (DAS's fallback: ``by_name=True,
    skip_mismatch=True``, which must not skip), and gives the fork's numbers with the file's weights."""
    path = os.path.join(str(tmp_path), "das_fork_model.h5")
    config = das_fork_model_config(trainable_kernel, trainable_fb)
    weights = das_fork_weights(seed=30)
    write_das_fork_h5(path, config, weights)
    x = noise((2, 1024, 2), seed=31)
    expected = fork_outputs(x, weights)

    loaded = keras.models.load_model(path, custom_objects=CUSTOM_OBJECTS, compile=False)
    mel = loaded.get_layer("melspectrogram")
    assert (mel.trainable_kernel, mel.trainable_fb) == (trainable_kernel, trainable_fb)
    for name, attributes in [("spectrogram", ["real_kernels", "imag_kernels"]), ("melspectrogram", None)]:
        attributes = attributes or ["real_kernels", "imag_kernels", "freq2mel"]
        for attribute, value in zip(attributes, weights[name], strict=True):
            np.testing.assert_array_equal(to_numpy(getattr(loaded.get_layer(name), attribute)), value)
    assert_fork_numbers(loaded(x), expected)

    rebuilt = das_fork_model(trainable_kernel, trainable_fb)
    rebuilt.load_weights(path)
    assert_fork_numbers(rebuilt(x), expected)
    rebuilt = das_fork_model(trainable_kernel, trainable_fb)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Skipping")  # a skipped weight would leave the defaults
        rebuilt.load_weights(path, by_name=True, skip_mismatch=True)
    assert_fork_numbers(rebuilt(x), expected)


def test_das_melspectrogram_set_weights_takes_the_fork_order():
    """``set_weights`` takes the fork's ``get_weights`` order and kapre's own, recognising ``freq2mel`` by shape."""
    real, imag, freq2mel = das_fork_weights(seed=32)["melspectrogram"]
    for trainable_kernel, trainable_fb in [(False, True), (True, True), (False, False), (True, False)]:
        _, layer = das_layers(False, trainable_kernel=trainable_kernel, trainable_fb=trainable_fb)
        layer.build((None, 1024, 2))
        layer.set_weights([real, imag, freq2mel])  # the fork's order
        loaded = [to_numpy(layer.real_kernels), to_numpy(layer.imag_kernels), to_numpy(layer.freq2mel)]
        for actual, value in zip(loaded, [real, imag, freq2mel], strict=True):
            np.testing.assert_array_equal(actual, value)
        layer.set_weights([value * 2.0 for value in layer.get_weights()])  # kapre's own order round-trips
        np.testing.assert_array_equal(to_numpy(layer.freq2mel), freq2mel * 2.0)
        np.testing.assert_array_equal(to_numpy(layer.imag_kernels), imag * 2.0)
        with pytest.raises(ValueError):
            layer.set_weights([real, imag])
