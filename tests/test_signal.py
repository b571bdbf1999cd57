"""kapre.signal: Frame, Energy, MuLawEncoding, MuLawDecoding, LogmelToMFCC.

References: librosa.util.frame, a NumPy transcription of kapre's energy formula, librosa.mu_compress/mu_expand,
librosa.feature.mfcc (scipy's orthonormal DCT-II). Tolerances are written in each assertion.
"""

from __future__ import annotations

import keras
import librosa
import numpy as np
import pytest

import kapre
from kapre.signal import Energy, Frame, LogmelToMFCC, MuLawDecoding, MuLawEncoding
from tests.helpers import gradient, model_of, noise, save_and_load, to_numpy

CL, CF = "channels_last", "channels_first"
# JAX without jax_enable_x64 computes float64 inputs in float32: expect what the backend really supports
FLOAT64 = keras.backend.standardize_dtype(keras.ops.convert_to_tensor(np.zeros(1, "float64")).dtype)
F64_RTOL = 1e-10 if FLOAT64 == "float64" else 1e-5


# -- references --------------------------------------------------------------------------------------------------


def frame_reference(x, frame_length, hop_length, pad_end=False, pad_value=0.0, data_format=CL):
    """librosa.util.frame per (example, channel); tf.signal.frame's pad_end done with np.pad."""
    signals = x if data_format == CF else np.transpose(x, (0, 2, 1))  # (b, ch, t)
    length = signals.shape[-1]
    if pad_end:
        n_frames = -(-length // hop_length)
        target = (n_frames - 1) * hop_length + frame_length
        signals = np.pad(
            signals, ((0, 0), (0, 0), (0, max(0, target - length))), mode="constant", constant_values=pad_value
        )
    out = np.stack(
        [
            np.stack(
                [
                    librosa.util.frame(channel, frame_length=frame_length, hop_length=hop_length, axis=0)
                    for channel in ex
                ]
            )
            for ex in signals
        ]
    )  # (b, ch, frames, frame_length)
    return out if data_format == CF else np.transpose(out, (0, 2, 3, 1))


def energy_reference(x, sample_rate, ref_duration, frame_length, hop_length, pad_end, pad_value, data_format):
    """kapre's formula: sum of squares per frame times ref_duration / (frame_length / sample_rate)."""
    frames = frame_reference(x.astype(np.float64), frame_length, hop_length, pad_end, pad_value, data_format)
    frame_axis = 2 if data_format == CL else 3
    return np.sum(frames**2, axis=frame_axis) * ref_duration / (frame_length / sample_rate)


# -- Frame -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data_format", [CL, CF])
@pytest.mark.parametrize(
    "frame_length, hop_length, pad_end, pad_value",
    [(256, 64, False, 0), (256, 100, True, 0.5), (100, 300, True, -1), (7, 7, True, 2)],
)
def test_frame_equals_librosa(data_format, frame_length, hop_length, pad_end, pad_value):
    x = noise((2, 3, 1003) if data_format == CF else (2, 1003, 3), seed=1)
    layer = Frame(frame_length, hop_length, pad_end=pad_end, pad_value=pad_value, data_format=data_format)
    out = to_numpy(layer(x))
    ref = frame_reference(x, frame_length, hop_length, pad_end, pad_value, data_format)
    assert out.shape == ref.shape
    np.testing.assert_array_equal(out, ref)  # exact: framing only moves samples
    assert out.shape == layer.compute_output_shape(x.shape)


def test_frame_keeps_integer_and_float64_dtypes():
    x = (noise((2, 500, 1), seed=2) * 30000).astype("int16")
    out = Frame(100, 50, pad_end=True, pad_value=3, data_format=CL)(x)
    assert keras.backend.standardize_dtype(out.dtype) == "int16"
    np.testing.assert_array_equal(to_numpy(out), frame_reference(x, 100, 50, True, 3, CL))
    x64 = noise((1, 300, 2), seed=3, dtype="float64")
    out64 = Frame(100, 50, data_format=CL)(x64)
    assert keras.backend.standardize_dtype(out64.dtype) == FLOAT64
    np.testing.assert_array_equal(to_numpy(out64), frame_reference(x64.astype(FLOAT64), 100, 50, data_format=CL))


@pytest.mark.parametrize("pad_end, lengths", [(False, (99, 100, 149, 150, 151)), (True, (1, 50, 51, 100, 101, 151))])
def test_frame_shapes_edge_lengths(pad_end, lengths):
    """compute_output_shape, the symbolic shape and the eager shape agree, also at frame boundaries."""
    layer = Frame(100, 50, pad_end=pad_end, data_format=CL)
    for length in lengths:
        if not pad_end and length < 100:
            with pytest.raises(ValueError, match="shorter than one frame"):
                layer(noise((1, length, 2)))
            with pytest.raises(ValueError, match="shorter than one frame"):
                model_of(Frame(100, 50, data_format=CL), (length, 2))
            continue
        eager = tuple(layer(noise((1, length, 2))).shape)
        expected_frames = -(-length // 50) if pad_end else 1 + (length - 100) // 50
        assert eager == (1, expected_frames, 100, 2)
        assert layer.compute_output_shape((1, length, 2)) == eager
        symbolic = model_of(Frame(100, 50, pad_end=pad_end, data_format=CL), (length, 2)).output.shape
        assert tuple(symbolic) == (None, *eager[1:])


def test_frame_default_data_format_follows_keras():
    keras.config.set_image_data_format(CF)
    layer = Frame(10, 5)
    assert tuple(layer(noise((1, 2, 30))).shape) == (1, 2, 5, 10)
    assert layer.get_config()["data_format"] == "default"


def test_frame_dynamic_length_model():
    model = model_of(Frame(64, 32, pad_end=True, data_format=CL), (None, 1))
    for length in (64, 200):
        x = noise((2, length, 1), seed=length)
        np.testing.assert_array_equal(to_numpy(model(x)), frame_reference(x, 64, 32, True, 0, CL))


# -- Energy ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data_format", [CL, CF])
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        dict(sample_rate=16000, ref_duration=0.05, frame_length=1024, hop_length=256),
        dict(sample_rate=8000, ref_duration=1, frame_length=300, hop_length=128, pad_end=True, pad_value=0.25),
    ],
)
def test_energy_equals_numpy_reference(data_format, kwargs):
    x = noise((2, 2, 8000) if data_format == CF else (2, 8000, 2), seed=4)
    args = dict(sample_rate=22050, ref_duration=0.1, frame_length=2205, hop_length=1102, pad_end=False, pad_value=0)
    args.update(kwargs)
    layer = Energy(data_format=data_format, **kwargs)
    out = to_numpy(layer(x))
    ref = energy_reference(x, data_format=data_format, **args)
    assert out.shape == ref.shape == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


def test_energy_float64_and_gradient():
    x = noise((1, 1000, 1), seed=5, dtype="float64")
    layer = Energy(sample_rate=1000, ref_duration=0.2, frame_length=100, hop_length=50, data_format=CL)
    out = layer(x)
    assert keras.backend.standardize_dtype(out.dtype) == FLOAT64
    np.testing.assert_allclose(
        to_numpy(out), energy_reference(x, 1000, 0.2, 100, 50, False, 0, CL), rtol=F64_RTOL, atol=0
    )
    # d/dx sum(energy) = 2 * x * scale * (number of frames covering the sample)
    grad = gradient(lambda v: layer(v), x)
    coverage = frame_reference(np.ones_like(x), 100, 50, data_format=CL)  # (1, frames, 100, 1)
    counts = np.zeros(1000)
    for t in range(coverage.shape[1]):
        counts[t * 50 : t * 50 + 100] += 1
    np.testing.assert_allclose(grad[0, :, 0], 2 * x[0, :, 0] * (0.2 / 0.1) * counts, rtol=F64_RTOL, atol=1e-12)


def test_energy_too_short_and_bad_rank():
    with pytest.raises(ValueError, match="shorter than one frame"):
        Energy(data_format=CL)(noise((1, 2000, 1)))
    with pytest.raises(ValueError, match="3-D input"):
        Energy(data_format=CL)(noise((1, 3000)))
    assert tuple(Energy(pad_end=True, data_format=CL)(noise((1, 2000, 1))).shape) == (1, 2, 1)


# -- mu-law ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [256, 2])
def test_mu_law_encoding_matches_librosa_companding(channels):
    mu = channels - 1
    x = np.concatenate([noise((4000,), seed=6), [-1.0, 0.0, 1.0]]).astype("float32")
    codes = to_numpy(MuLawEncoding(channels)(x[None]))[0]
    assert codes.dtype == np.int32
    # librosa's companding (float64) rounded to the nearest of the mu + 1 levels: kapre's codes
    position = (librosa.mu_compress(x.astype(np.float64), mu=mu, quantize=False) + 1.0) / 2.0 * mu
    expected = np.floor(position + 0.5).astype(np.int32)
    near_tie = np.abs(position - np.floor(position) - 0.5) < 1e-4  # float32 vs float64 may round a tie differently
    assert np.array_equal(codes[~near_tie], expected[~near_tie])
    assert np.all(np.abs(codes - expected) <= 1)
    # librosa's quantized codes use the same levels but round up: ours are equal or one lower (after the offset)
    librosa_codes = librosa.mu_compress(x.astype(np.float64), mu=mu, quantize=True) + (mu + 1) // 2
    difference = librosa_codes - codes
    assert set(np.unique(difference[~near_tie]).tolist()) <= {0, 1}
    assert np.array_equal(codes[[-3, -1]], [0, mu])


@pytest.mark.parametrize("channels", [256, 1024])
def test_mu_law_round_trip_exact_and_decoding_equals_librosa(channels):
    mu = channels - 1
    codes = np.arange(channels, dtype=np.int32)[None]
    decoded = to_numpy(MuLawDecoding(channels)(codes))
    levels = 2.0 * np.arange(channels) / mu - 1.0
    np.testing.assert_allclose(decoded[0], librosa.mu_expand(levels, mu=mu, quantize=False), atol=1e-6, rtol=0)
    np.testing.assert_array_equal(to_numpy(MuLawEncoding(channels)(decoded)), codes)  # exact round trip


def test_mu_law_clips_and_keeps_shapes():
    x = np.array([[[-3.0], [1.5], [0.25]]], "float32")
    codes = to_numpy(MuLawEncoding(256)(x))
    assert codes.shape == (1, 3, 1)
    assert codes[0, 0, 0] == 0 and codes[0, 1, 0] == 255
    model = model_of(MuLawEncoding(256), (3, 1))
    assert model.output.dtype == "int32" and tuple(model.output.shape) == (None, 3, 1)
    decoder = model_of(MuLawDecoding(256), (3, 1), dtype="int32")
    assert decoder.output.dtype == "float32"
    np.testing.assert_array_equal(to_numpy(decoder(codes)), to_numpy(MuLawDecoding(256)(codes)))


# -- LogmelToMFCC ------------------------------------------------------------------------------------------------


def _log_mel(shape, seed=7):
    return (10.0 * np.log10(np.random.default_rng(seed).uniform(1e-4, 1.0, size=shape))).astype("float32")


@pytest.mark.parametrize("data_format", [CL, CF])
@pytest.mark.parametrize("n_mels, n_mfccs", [(128, 20), (40, 40), (13, 1)])
def test_mfcc_equals_librosa(data_format, n_mels, n_mfccs):
    log_mel = _log_mel((2, 30, n_mels, 2) if data_format == CL else (2, 2, 30, n_mels))
    mel_axis = 2 if data_format == CL else 3
    # librosa wants (..., n_mels, time)
    s = np.moveaxis(log_mel.astype(np.float64), mel_axis, -1)  # (..., time, mel)
    ref = librosa.feature.mfcc(S=np.swapaxes(s, -1, -2), n_mfcc=n_mfccs, dct_type=2, norm="ortho")
    ref = np.moveaxis(np.swapaxes(ref, -1, -2), -1, mel_axis)
    ortho = to_numpy(LogmelToMFCC(n_mfccs, data_format=data_format, dct_norm="ortho")(log_mel))
    assert ortho.shape == ref.shape
    scale = np.abs(ref).max()
    np.testing.assert_allclose(ortho, ref, atol=1e-4 * max(1.0, scale / 100), rtol=0)
    default = to_numpy(LogmelToMFCC(n_mfccs, data_format=data_format)(log_mel))
    ref_tf = ref.copy()
    np.moveaxis(ref_tf, mel_axis, 0)[0] *= np.sqrt(2.0)  # tf.signal scaling: c0 is sqrt(2) x orthonormal
    np.testing.assert_allclose(default, ref_tf, atol=1e-4 * max(1.0, scale / 100), rtol=0)


def test_mfcc_abs_tolerance_on_unit_scale_input():
    """The acceptance tolerance (atol 1e-4) on a log-mel of moderate scale."""
    log_mel = np.log(np.random.default_rng(8).uniform(0.1, 1.0, size=(3, 40, 64, 1))).astype("float32")
    out = to_numpy(LogmelToMFCC(20, data_format=CL, dct_norm="ortho")(log_mel))
    ref = np.swapaxes(librosa.feature.mfcc(S=np.swapaxes(log_mel[..., 0], 1, 2).astype(np.float64), n_mfcc=20), 1, 2)
    assert np.abs(out[..., 0] - ref).max() <= 1e-4


def test_mfcc_float64_gradient_and_errors():
    log_mel = _log_mel((1, 5, 16, 1)).astype("float64")
    layer = LogmelToMFCC(4, data_format=CL, dct_norm="ortho")
    assert keras.backend.standardize_dtype(layer(log_mel).dtype) == FLOAT64
    grad = gradient(lambda v: layer(v), log_mel)
    # d sum(mfcc) / d x[m] = sum_k ortho DCT coefficient (k < 4): scipy's DCT-II of a unit impulse
    import scipy.fft

    expected = scipy.fft.dct(np.eye(16), type=2, norm="ortho", axis=-1)[:, :4].sum(axis=1)
    np.testing.assert_allclose(grad[0, 0, :, 0], expected, rtol=F64_RTOL, atol=1e-6 if FLOAT64 == "float32" else 1e-12)
    with pytest.raises(ValueError, match="at least 20 mel bands"):
        LogmelToMFCC(20, data_format=CL)(np.zeros((1, 5, 16, 1), "float32"))
    with pytest.raises(ValueError, match="4-D input"):
        LogmelToMFCC(4, data_format=CL)(np.zeros((5, 16, 1), "float32"))
    with pytest.raises(ValueError, match="known number of mel bands"):
        model_of(LogmelToMFCC(4, data_format=CL), (5, None, 1))


# -- common: arguments, config, saving, batching, symbolic shapes ------------------------------------------------


@pytest.mark.parametrize(
    "cls, kwargs, error, fragment",
    [
        (Frame, dict(frame_length=0, hop_length=1), ValueError, "frame_length=0"),
        (Frame, dict(frame_length=2.5, hop_length=1), TypeError, "frame_length=2.5"),
        (Frame, dict(frame_length=4, hop_length=-1), ValueError, "hop_length=-1"),
        (Frame, dict(frame_length=4, hop_length=2, pad_end="yes"), TypeError, "pad_end='yes'"),
        (Frame, dict(frame_length=4, hop_length=2, pad_value="zero"), TypeError, "pad_value='zero'"),
        (Frame, dict(frame_length=4, hop_length=2, data_format="nchw"), ValueError, "data_format='nchw'"),
        (Energy, dict(sample_rate=0), ValueError, "sample_rate=0"),
        (Energy, dict(sample_rate="22k"), TypeError, "sample_rate='22k'"),
        (Energy, dict(ref_duration=-0.1), ValueError, "ref_duration=-0.1"),
        (Energy, dict(frame_length=None), TypeError, "frame_length=None"),
        (Energy, dict(hop_length=0), ValueError, "hop_length=0"),
        (Energy, dict(pad_end=1), TypeError, "pad_end=1"),
        (Energy, dict(data_format=3), TypeError, "data_format=3"),
        (MuLawEncoding, dict(quantization_channels=1), ValueError, "quantization_channels=1"),
        (MuLawEncoding, dict(quantization_channels=70000), ValueError, "quantization_channels=70000"),
        (MuLawDecoding, dict(quantization_channels=256.0), TypeError, "quantization_channels=256.0"),
        (LogmelToMFCC, dict(n_mfccs=0), ValueError, "n_mfccs=0"),
        (LogmelToMFCC, dict(n_mfccs="20"), TypeError, "n_mfccs='20'"),
        (LogmelToMFCC, dict(dct_norm="orthonormal"), ValueError, "dct_norm='orthonormal'"),
        (LogmelToMFCC, dict(data_format="last"), ValueError, "data_format='last'"),
    ],
)
def test_invalid_arguments(cls, kwargs, error, fragment):
    with pytest.raises(error) as info:
        cls(**kwargs)
    assert fragment in str(info.value)


LAYER_CASES = [
    (Frame, dict(frame_length=64, hop_length=32, pad_end=True, pad_value=1, data_format=CL), (400, 2), "float32"),
    (
        Energy,
        dict(sample_rate=8000, ref_duration=0.02, frame_length=128, hop_length=64, data_format=CF),
        (2, 400),
        "float32",
    ),
    (
        Energy,
        dict(sample_rate=16000, frame_length=100, hop_length=50, pad_end=True, data_format=CL),
        (401, 3),
        "float32",
    ),
    (MuLawEncoding, dict(quantization_channels=256), (300, 1), "float32"),
    (MuLawDecoding, dict(quantization_channels=64), (300, 1), "int32"),
    (LogmelToMFCC, dict(n_mfccs=13, data_format=CL), (20, 40, 2), "float32"),
    (LogmelToMFCC, dict(n_mfccs=13, data_format=CF, dct_norm="ortho"), (2, 20, 40), "float32"),
]


def _input(input_shape, dtype, batch=2, seed=9):
    x = noise((batch, *input_shape), seed=seed)
    if dtype == "int32":
        return np.floor((x + 1.0) * 31.9).astype("int32")
    return x


@pytest.mark.parametrize("cls, kwargs, input_shape, dtype", LAYER_CASES)
def test_config_save_load_batching_and_shapes(cls, kwargs, input_shape, dtype, tmp_path):
    layer = cls(**kwargs)
    config = layer.get_config()
    for key, value in kwargs.items():
        assert config[key] == value and type(config[key]) is type(value)  # user arguments kept verbatim
    assert keras.saving.get_registered_name(cls) == f"Kapre>{cls.__name__}"
    assert cls.from_config(config).get_config() == config

    x = _input(input_shape, dtype)
    model = model_of(layer, input_shape, dtype=dtype)
    eager = to_numpy(model(x))
    # symbolic == eager == compute_output_shape
    assert tuple(model.output.shape) == (None, *eager.shape[1:])
    assert tuple(cls(**kwargs).compute_output_shape(x.shape)) == eager.shape
    # batched == per example
    singles = np.concatenate([to_numpy(model(x[i : i + 1])) for i in range(len(x))])
    if cls in (Frame, MuLawEncoding):
        np.testing.assert_array_equal(eager, singles)
    else:
        np.testing.assert_allclose(eager, singles, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(eager).max()))
    loaded = save_and_load(model, tmp_path)
    np.testing.assert_array_equal(to_numpy(loaded(x)), eager)
    assert loaded.layers[-1].get_config() == model.layers[-1].get_config()


def test_legacy_kapre_configs_load():
    """Configs written by kapre 0.3.x/0.4 (no dct_norm, data_format wrapped by old tf.keras) still deserialize."""
    old = {
        "name": "log_mel_to_mfcc",
        "trainable": False,
        "dtype": "float32",
        "n_mfccs": 20,
        "data_format": {"class_name": "__passive_serialization__", "config": "channels_last"},
    }
    layer = keras.saving.deserialize_keras_object({"class_name": "Kapre>LogmelToMFCC", "config": old})
    assert isinstance(layer, kapre.LogmelToMFCC) and layer.dct_norm is None and layer.data_format == CL
    frame = keras.saving.deserialize_keras_object(
        {
            "class_name": "Kapre>Frame",
            "config": {
                "name": "f",
                "frame_length": 8,
                "hop_length": 4,
                "pad_end": False,
                "pad_value": 0,
                "data_format": "default",
            },
        }
    )
    assert isinstance(frame, kapre.Frame)
    energy = keras.saving.deserialize_keras_object(
        {
            "class_name": "Kapre>Energy",
            "config": {
                "name": "e",
                "sample_rate": 22050,
                "ref_duration": 0.1,
                "frame_length": 2205,
                "hop_length": 1102,
                "pad_end": False,
                "pad_value": 0,
                "data_format": "channels_last",
            },
        }
    )
    assert energy.get_config()["sample_rate"] == 22050


def test_top_level_exports():
    assert {"Frame", "Energy", "MuLawEncoding", "MuLawDecoding", "LogmelToMFCC"} <= set(kapre.signal.__all__)
    assert kapre.Frame is Frame and kapre.LogmelToMFCC is LogmelToMFCC


def test_frame_gradient_is_sample_coverage():
    x = noise((1, 300, 1), seed=10, dtype="float64")
    layer = Frame(100, 40, data_format=CL)
    grad = gradient(lambda v: layer(v), x)
    counts = np.zeros(300)
    for t in range(1 + (300 - 100) // 40):
        counts[t * 40 : t * 40 + 100] += 1
    np.testing.assert_array_equal(grad[0, :, 0], counts)
