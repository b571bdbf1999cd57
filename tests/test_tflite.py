"""kapre.time_frequency_tflite: STFTTflite / MagnitudeTflite / PhaseTflite on every backend; LiteRT export on TF."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest

import kapre
from tests.helpers import BACKEND, gradient, noise, save_and_load, to_numpy

CL = dict(input_data_format="channels_last", output_data_format="channels_last")
CF = dict(input_data_format="channels_first", output_data_format="channels_first")


def wrapped(angle):
    """Angle differences folded into [-pi, pi] (phases of +-pi are the same angle)."""
    return np.angle(np.exp(1j * angle))


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_stft_tflite_equals_stft_and_numpy(fmt):
    kwargs = dict(n_fft=400, win_length=300, hop_length=160, input_data_format=fmt, output_data_format=fmt)
    x = noise((3, 3000, 2) if fmt == "channels_last" else (3, 2, 3000), seed=1)
    parts = to_numpy(kapre.STFTTflite(**kwargs)(x))
    spectrum = to_numpy(kapre.STFT(**kwargs)(x))
    assert parts.dtype == np.float32 and parts.shape == (*spectrum.shape, 2)
    scale = np.abs(spectrum).max()
    assert np.abs(parts[..., 0] + 1j * parts[..., 1] - spectrum).max() <= 1e-4 * scale
    # NumPy reference (frames of 300 samples every 160, periodic Hann, zero-padded to 400) for one channel
    signal = x[1, :, 0] if fmt == "channels_last" else x[1, 0]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(300) / 300)
    frames = np.stack([signal[t * 160 : t * 160 + 300] for t in range(1 + (3000 - 300) // 160)])
    ref = np.fft.rfft(frames * window, 400)
    got = parts[1, :, :, 0] if fmt == "channels_last" else parts[1, 0]
    assert np.abs(got[..., 0] + 1j * got[..., 1] - ref).max() <= 1e-4 * np.abs(ref).max()


def test_magnitude_and_phase_tflite():
    parts = to_numpy(kapre.STFTTflite(n_fft=256, hop_length=64, **CL)(noise((2, 2000, 1), seed=2)))
    spectrum = parts[..., 0] + 1j * parts[..., 1]
    magnitude = to_numpy(kapre.MagnitudeTflite()(parts))
    np.testing.assert_allclose(magnitude, np.abs(spectrum), rtol=1e-5, atol=1e-6)
    reliable = np.abs(spectrum) > 1e-3 * np.abs(spectrum).max()  # phase of near-zero bins is ill-conditioned
    for layer in (kapre.PhaseTflite(), kapre.PhaseTflite(approx_atan_accuracy=12)):
        phase = to_numpy(layer(parts))
        assert phase.shape == spectrum.shape and np.all(np.abs(phase) <= np.pi + 1e-6)
        assert np.abs(wrapped(phase - np.angle(spectrum)))[reliable].max() < 1e-4
    # exact zeros and the axes: atan2 conventions
    special = np.array([[0.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -2.0], [3.0, 4.0]], "float32")
    for accuracy in (None, 12):
        got = to_numpy(kapre.PhaseTflite(approx_atan_accuracy=accuracy)(special))
        np.testing.assert_allclose(got, np.arctan2(special[:, 1], special[:, 0]), atol=1e-6)


@pytest.mark.parametrize("length", [256, 300])
def test_symbolic_equals_eager_and_batched_equals_single(length):
    stft = kapre.STFTTflite(n_fft=256, hop_length=64, pad_end=length == 300, **CF)
    model = keras.Sequential([keras.Input((2, length)), stft, kapre.MagnitudeTflite()])
    x = noise((3, 2, length), seed=length)
    eager = to_numpy(stft(x))
    symbolic = stft.compute_output_spec(keras.KerasTensor((None, 2, length)))
    assert symbolic.shape == (None, *eager.shape[1:]) and symbolic.dtype == "float32"
    assert model.output_shape == (None, *eager.shape[1:-1])
    batched = to_numpy(model(x))
    single = np.concatenate([to_numpy(model(x[i : i + 1])) for i in range(3)])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    phase = kapre.PhaseTflite()
    assert phase.compute_output_spec(keras.KerasTensor((None, 2, 5, 129, 2))).shape == (None, 2, 5, 129)


def test_keras_round_trip(tmp_path):
    inputs = keras.Input((2000, 1))
    parts = kapre.STFTTflite(n_fft=200, hop_length=100, trainable_kernel=True, name="stft", **CL)(inputs)
    model = keras.Model(inputs, [kapre.MagnitudeTflite()(parts), kapre.PhaseTflite(approx_atan_accuracy=9)(parts)])
    kernel = model.get_layer("stft").dft_kernel
    kernel.assign(to_numpy(kernel) * 1.5)
    x = noise((2, 2000, 1), seed=4)
    loaded = save_and_load(model, tmp_path)
    for got, ref in zip(loaded(x), model(x), strict=True):
        np.testing.assert_allclose(to_numpy(got), to_numpy(ref), atol=1e-5)
    names = sorted(type(layer).__name__ for layer in loaded.layers[1:])
    assert names == ["MagnitudeTflite", "PhaseTflite", "STFTTflite"]
    assert keras.saving.get_registered_name(kapre.STFTTflite) == "Kapre>STFTTflite"
    assert keras.saving.get_registered_name(kapre.PhaseTflite) == "Kapre>PhaseTflite"
    assert keras.saving.get_registered_name(kapre.MagnitudeTflite) == "Kapre>MagnitudeTflite"


def test_kapre_03_config_loads():
    config = {
        "name": "stft_tflite",
        "trainable": True,
        "dtype": "float32",
        "n_fft": 512,
        "win_length": 400,
        "hop_length": 128,
        "window_name": "hann_window",
        "pad_begin": False,
        "pad_end": True,
        "input_data_format": "channels_last",
        "output_data_format": "channels_first",
    }
    layer = kapre.STFTTflite.from_config(config)
    assert layer.engine == "dft" and "engine" not in layer.get_config()
    assert {k: layer.get_config()[k] for k in config if k not in ("name", "dtype")} == {
        k: v for k, v in config.items() if k not in ("name", "dtype")
    }
    phase = kapre.PhaseTflite.from_config(
        {"name": "p", "trainable": True, "dtype": "float32", "approx_atan_accuracy": 29000}
    )
    assert phase.get_config()["approx_atan_accuracy"] == 29000


def test_invalid_arguments_and_inputs():
    with pytest.raises(ValueError, match="engine"):
        kapre.STFTTflite(engine="fft")
    with pytest.raises(TypeError, match="trainable_kernel"):
        kapre.STFTTflite(trainable_kernel=1)
    with pytest.raises(ValueError, match="approx_atan_accuracy"):
        kapre.PhaseTflite(approx_atan_accuracy=0)
    with pytest.raises(ValueError, match="last axis"):
        kapre.MagnitudeTflite()(np.zeros((1, 4, 3), "float32"))
    with pytest.raises(ValueError, match="last axis"):
        kapre.PhaseTflite().compute_output_spec(keras.KerasTensor((None, 4, 5)))
    with pytest.raises(TypeError, match="complex"):
        kapre.MagnitudeTflite()(np.zeros((1, 2), "complex64"))
    with pytest.raises(ValueError, match="shorter than one frame"):
        kapre.STFTTflite(n_fft=512, **CL)(np.zeros((1, 100, 1), "float32"))


def test_magnitude_gradient_finite_at_zeros():
    from tests.test_dft_engine import kernel_gradient

    x = np.zeros((2, 1000, 1), "float32")
    layer = kapre.STFTTflite(n_fft=128, trainable_kernel=True, **CL)
    magnitude = kapre.MagnitudeTflite()
    layer.build(x.shape)
    assert np.all(np.isfinite(gradient(lambda v: magnitude(layer(v)), x)))
    assert np.all(np.isfinite(kernel_gradient(layer, magnitude, x)))
    parts = np.array([[0.0, 0.0], [3.0, 4.0]], "float32")
    np.testing.assert_allclose(gradient(magnitude, parts), [[0.0, 0.0], [0.6, 0.8]], atol=1e-6)


# -- LiteRT -----------------------------------------------------------------------------------------------------


@pytest.mark.skipif(BACKEND != "tensorflow", reason="LiteRT conversion needs the TensorFlow backend")
def test_litert_builtin_conversion_matches_keras(tmp_path):
    """STFTTflite -> MagnitudeTflite -> ApplyFilterbank('mel') -> MagnitudeToDecibel (plus both phases), one
    conversion with builtin ops only; batch sizes 1 and 3 through the dynamic batch axis; n_fft 400."""
    import tensorflow as tf

    n_fft, length = 400, 4000
    inputs = keras.Input((length, 1))
    stft = kapre.STFTTflite(n_fft=n_fft, hop_length=160, **CL)
    parts = stft(inputs)
    magnitude = kapre.MagnitudeTflite()(parts)
    mel = kapre.ApplyFilterbank(
        "mel", {"sample_rate": 16000, "n_freq": n_fft // 2 + 1, "n_mels": 40}, data_format="channels_last"
    )(magnitude)
    decibel = kapre.MagnitudeToDecibel()(mel)
    outputs = {
        "magnitude": magnitude,
        "mel": mel,
        "decibel": decibel,
        "phase": kapre.PhaseTflite()(parts),
        "phase_approx": kapre.PhaseTflite(approx_atan_accuracy=12)(parts),
    }
    model = keras.Model(inputs, list(outputs.values()))
    # A kernel that is not the initializer's: a weight dropped or re-initialised by the converter would show.
    kernel = to_numpy(stft.dft_kernel)
    stft.dft_kernel.assign(kernel * np.random.default_rng(0).uniform(0.9, 1.1, kernel.shape).astype("float32"))

    export_dir = os.path.join(str(tmp_path), "saved_model")
    model.export(export_dir, format="tf_saved_model", verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(export_dir)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    flatbuffer = converter.convert()

    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = tf.lite.Interpreter
    interpreter = Interpreter(model_content=flatbuffer)
    op_names = {op["op_name"] for op in interpreter._get_ops_details()}
    assert not any(name.startswith("Flex") or name == "CUSTOM" for name in op_names), op_names
    input_index = interpreter.get_input_details()[0]["index"]
    for batch in (1, 3):
        x = noise((batch, length, 1), seed=batch)
        interpreter.resize_tensor_input(input_index, [batch, length, 1])
        interpreter.allocate_tensors()
        interpreter.set_tensor(input_index, x)
        interpreter.invoke()
        litert = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
        keras_out = dict(zip(outputs, (to_numpy(t) for t in model(x)), strict=True))
        # the flatbuffer's output order is not the model's: match each output by shape and value
        for name, ref in keras_out.items():
            candidates = [out for out in litert if out.shape == ref.shape]
            errors = [np.abs(wrapped(out - ref) if name.startswith("phase") else out - ref) for out in candidates]
            if name.startswith("phase"):
                reliable = keras_out["magnitude"] > 1e-3 * keras_out["magnitude"].max()
                errors = [error[reliable] for error in errors]
            best = min(error.max() for error in errors)
            tolerance = {"decibel": 1e-2, "phase": 1e-3, "phase_approx": 1e-3}.get(name, 1e-4)
            assert best <= tolerance, (name, batch, best)
