"""kapre 0.2's API at its 0.2 paths: time_frequency.Spectrogram / Melspectrogram, utils.*, filterbank.Filterbank.

References are independent NumPy (and librosa for the mel filters) implementations of the 0.2 formulas: a strided
'same'/'valid' convolution with Hann-windowed DFT kernels, power -> power / 2, the per-example decibel
normalization to [-80, 0], K.mean/K.std normalization, the delta convolution and librosa 0.4's log filters.
"""

from __future__ import annotations

import json
import math
import re
import warnings

import keras
import librosa
import numpy as np
import pytest

import kapre
import kapre.filterbank
import kapre.time_frequency
import kapre.utils
from kapre.filterbank import Filterbank
from kapre.time_frequency import Melspectrogram, Spectrogram
from kapre.utils import AmplitudeToDB, Delta, Normalization2D

from .helpers import gradient, model_of, noise, save_and_load, to_numpy

RTOL_SPEC = 2e-5  # float32 DFT as a matrix product: max abs error relative to the largest value
ATOL_DB = 2e-3  # dB


# ---------------------------------------------------------------------------------------------------------------
# NumPy references
# ---------------------------------------------------------------------------------------------------------------


def ref_frames(x, n_dft, hop, padding):
    """(..., samples) -> (..., frames, n_dft), framed as a strided conv1d with padding 'same'/'valid'."""
    length = x.shape[-1]
    if padding == "same":
        frames = math.ceil(length / hop)
        total = max((frames - 1) * hop + n_dft - length, 0)
        x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(total // 2, total - total // 2)])
    else:
        frames = (length - n_dft) // hop + 1
    return np.stack([x[..., t * hop : t * hop + n_dft] for t in range(frames)], axis=-2)


def ref_power(x, n_dft, hop, padding):
    """|rfft(hann * frame)|**2: (batch, ch, samples) -> (batch, ch, time, freq), float64."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_dft) / n_dft)  # periodic Hann
    spectrum = np.fft.rfft(ref_frames(x.astype(np.float64), n_dft, hop, padding) * window, axis=-1)
    return np.abs(spectrum) ** 2


def ref_db(x, amin=1e-10, top_db=80.0):
    log = 10.0 * np.log10(np.maximum(x, amin))
    log = log - log.reshape(log.shape[0], -1).max(axis=1).reshape((-1,) + (1,) * (log.ndim - 1))
    return np.maximum(log, -top_db)


def to_02_layout(bctf, data_format):
    """(batch, ch, time, freq) -> 0.2's (b, freq, time, ch) or (b, ch, freq, time)."""
    return bctf.transpose(0, 3, 2, 1) if data_format == "channels_last" else bctf.transpose(0, 1, 3, 2)


def assert_close_rel(actual, expected, rtol=RTOL_SPEC):
    actual = np.asarray(actual, np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    err = np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-30)
    assert err <= rtol, f"max abs error {err:.3g} x the largest value"


# ---------------------------------------------------------------------------------------------------------------
# Spectrogram / Melspectrogram numbers and shapes
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_spectrogram_numbers(data_format):
    for padding, n_dft, n_hop, length in [("same", 256, None, 1000), ("same", 64, 48, 333), ("valid", 128, 50, 700)]:
        for power in (2.0, 1.0):
            _check_spectrogram(data_format, padding, n_dft, n_hop, length, power)


def _check_spectrogram(data_format, padding, n_dft, n_hop, length, power):
    x = noise((2, 3, length), seed=1)
    layer = Spectrogram(
        n_dft=n_dft, n_hop=n_hop, padding=padding, power_spectrogram=power, image_data_format=data_format
    )
    expected = to_02_layout(ref_power(x, n_dft, n_hop or n_dft // 2, padding) ** (power / 2.0), data_format)
    assert_close_rel(to_numpy(layer(x)), expected)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_spectrogram_decibel_normalized_per_example(data_format):
    x = noise((3, 2, 800), seed=2)
    x[1] *= 1e-3  # a quiet example: still normalized to a 0 dB maximum
    layer = Spectrogram(
        n_dft=128, n_hop=64, power_spectrogram=1.0, return_decibel_spectrogram=True, image_data_format=data_format
    )
    out = to_numpy(layer(x))
    expected = ref_db(to_02_layout(ref_power(x, 128, 64, "same") ** 0.5, data_format))
    np.testing.assert_allclose(out, expected, atol=ATOL_DB)
    np.testing.assert_allclose(out.reshape(3, -1).max(axis=1), 0.0, atol=1e-6)
    assert out.min() >= -80.0 - 1e-4
    # Spectrogram(return_decibel_spectrogram=True) == Spectrogram() -> AmplitudeToDB()
    plain = Spectrogram(n_dft=128, n_hop=64, power_spectrogram=1.0, image_data_format=data_format)
    np.testing.assert_allclose(to_numpy(AmplitudeToDB()(plain(x))), out, atol=ATOL_DB)


def test_same_padding_matches_strided_convolution():
    """'same' framing is a strided convolution with Keras' padding='same' (computed here with keras.ops.conv)."""
    x = noise((1, 1, 1001), seed=3)
    layer = Spectrogram(n_dft=64, n_hop=7, image_data_format="channels_first")
    out = to_numpy(layer(x))  # (1, 1, freq, time)
    kernel = np.concatenate([to_numpy(layer.real_kernels), to_numpy(layer.imag_kernels)], axis=-1)[:, 0]  # (64,1,66)
    conv = to_numpy(keras.ops.conv(x.transpose(0, 2, 1), kernel, strides=7, padding="same"))  # (1, time, 66)
    power = conv[..., :33] ** 2 + conv[..., 33:] ** 2
    assert_close_rel(out[0, 0], power[0].T.astype(np.float64))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_melspectrogram_numbers(data_format):
    for power_melgram, decibel in [(1.0, False), (2.0, False), (1.0, True)]:
        _check_melspectrogram(data_format, power_melgram, decibel)


def _check_melspectrogram(data_format, power_melgram, decibel):
    x = noise((2, 2, 1200), seed=4)
    layer = Melspectrogram(
        n_dft=256,
        n_hop=100,
        sr=16000,
        n_mels=40,
        fmin=50.0,
        fmax=7000.0,
        power_melgram=power_melgram,
        return_decibel_melgram=decibel,
        image_data_format=data_format,
    )
    mel = librosa.filters.mel(sr=16000, n_fft=256, n_mels=40, fmin=50.0, fmax=7000.0, norm="slaney").T
    melgram = ref_power(x, 256, 100, "same") @ mel  # mel of the power spectrum
    expected = to_02_layout(melgram ** (power_melgram / 2.0), data_format)
    out = to_numpy(layer(x))
    if decibel:
        np.testing.assert_allclose(out, ref_db(expected), atol=ATOL_DB)
    else:
        assert_close_rel(out, expected)


def test_melspectrogram_power_one_is_sqrt_of_mel_of_power():
    x = noise((1, 1, 2048), seed=5)
    amp = Melspectrogram(n_dft=512, sr=22050, n_mels=64, power_melgram=1.0, image_data_format="channels_last")
    pwr = Melspectrogram(n_dft=512, sr=22050, n_mels=64, power_melgram=2.0, image_data_format="channels_last")
    assert_close_rel(to_numpy(amp(x)), np.sqrt(to_numpy(pwr(x)).astype(np.float64)))


def test_melspectrogram_filter_options():
    for htk, norm in [(True, "slaney"), (False, None), (False, 1), (False, 2.0)]:
        _check_mel_filters(htk, norm)


def _check_mel_filters(htk, norm):
    layer = Melspectrogram(n_dft=128, sr=8000, n_mels=20, htk=htk, norm=norm, image_data_format="channels_last")
    layer.build((None, 1, 512))
    expected = librosa.filters.mel(sr=8000, n_fft=128, n_mels=20, htk=htk, norm=norm).T
    np.testing.assert_allclose(to_numpy(layer.freq2mel), expected, rtol=1e-5, atol=1e-7)


def test_kernels_are_weights_with_02_shapes_and_trainable_flags():
    spec = Spectrogram(n_dft=64, image_data_format="channels_last")
    spec.build((None, 1, 256))
    assert [w.shape for w in spec.weights] == [(64, 1, 1, 33), (64, 1, 1, 33)]
    assert not spec.trainable_weights
    mel = Melspectrogram(n_dft=64, sr=8000, n_mels=8, trainable_kernel=True, trainable_fb=True)
    mel.build((None, 1, 256))
    assert [w.path.split("/")[-1] for w in mel.trainable_weights] == ["real_kernels", "imag_kernels", "freq2mel"]


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_symbolic_equals_eager_shape_at_edge_lengths(padding):
    for data_format in ("channels_last", "channels_first"):
        _check_edge_shapes(data_format, padding)


def _check_edge_shapes(data_format, padding):
    n_dft, hop = 64, 24
    lengths = [n_dft - 1, n_dft, n_dft + 1, 2 * hop, 2 * hop + 1, 200]
    if padding == "same":
        lengths += [1, hop - 1, hop, hop + 1]
    for cls, kwargs in [(Spectrogram, {}), (Melspectrogram, {"sr": 8000, "n_mels": 10})]:
        layer = cls(n_dft=n_dft, n_hop=hop, padding=padding, image_data_format=data_format, **kwargs)
        for length in lengths:
            if padding == "valid" and length < n_dft:
                with pytest.raises(ValueError, match=f"needs at least {n_dft} samples"):
                    layer.compute_output_shape((2, 3, length))
                continue
            frames = math.ceil(length / hop) if padding == "same" else (length - n_dft) // hop + 1
            n_out = 10 if cls is Melspectrogram else n_dft // 2 + 1
            expected = (2, n_out, frames, 3) if data_format == "channels_last" else (2, 3, n_out, frames)
            assert layer.compute_output_shape((2, 3, length)) == expected
            if length in (1, n_dft, hop + 1):  # eager calls at the edges only (each new shape compiles on JAX)
                assert tuple(to_numpy(layer(np.zeros((2, 3, length), "float32"))).shape) == expected
        symbolic = layer(keras.Input((3, None))).shape
        free = layer.compute_output_shape((None, 3, None))
        assert tuple(symbolic) == free and free.count(None) == 2


def test_unknown_length_model_runs_at_two_lengths():
    inputs = keras.Input((1, None))
    layer = Melspectrogram(n_dft=128, n_hop=50, sr=8000, n_mels=16, image_data_format="channels_last")
    model = keras.Model(inputs, layer(inputs))
    for length in (500, 777):
        x = noise((2, 1, length), seed=length)
        np.testing.assert_allclose(model.predict(x, verbose=0), to_numpy(layer(x)), rtol=1e-5, atol=1e-6)


def test_batched_equals_per_example():
    """The batch changes nothing but float32 rounding. The output is dB relative to each example's maximum
    (``ref='max'``): within 40 dB of it, equal to 1e-4 dB; everywhere, equal as powers relative to the maximum
    (``10 ** (dB / 10)``) to 1e-5 (the 1e-4 dB above, at the peak). A float32 DFT-as-matmul rounds at about
    1e-7 of the peak, so far below the peak a dB value moves by more than 1e-4 when the backend blocks the matmul
    differently for another batch size (JAX 0.10: 1.0e-3 dB at -61.6 dB, 1.7e-10 of the maximum as a power)."""
    x = noise((3, 2, 900), seed=6)
    layers = [
        Spectrogram(n_dft=128, n_hop=60, return_decibel_spectrogram=True),
        Melspectrogram(n_dft=128, sr=8000, n_mels=16, return_decibel_melgram=True),
    ]
    for layer in layers:
        batched = to_numpy(layer(x))
        single = np.concatenate([to_numpy(layer(x[i : i + 1])) for i in range(3)])
        assert batched.shape == single.shape and batched.max() == 0.0  # dB below each example's maximum
        near = single > -40.0
        np.testing.assert_allclose(batched[near], single[near], rtol=0, atol=1e-4)
        np.testing.assert_allclose(10 ** (batched / 10), 10 ** (single / 10), rtol=0, atol=1e-5)


def test_gradients_finite_at_zero_input_with_trainable_kernels():
    layer = Melspectrogram(n_dft=64, sr=8000, n_mels=8, power_melgram=1.0, trainable_kernel=True, trainable_fb=True)
    layer.build((None, 1, 256))
    grad = gradient(layer, np.zeros((1, 1, 256), "float32"))
    assert np.all(np.isfinite(grad))


def test_trainable_front_end_fits():
    keras.utils.set_random_seed(0)  # the Dense initialisation: a reproducible run on every backend
    inputs = keras.Input((1, 512))
    spec = Melspectrogram(
        n_dft=64,
        n_hop=32,
        sr=8000,
        n_mels=8,
        trainable_kernel=True,
        trainable_fb=True,
        image_data_format="channels_last",
    )
    outputs = keras.layers.Dense(1)(keras.layers.Flatten()(spec(inputs)))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")  # bounded steps: no divergence
    x, y = noise((8, 1, 512), seed=7), np.ones((8, 1), "float32")
    before = to_numpy(spec.real_kernels).copy()
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert not np.allclose(to_numpy(spec.real_kernels), before)


# ---------------------------------------------------------------------------------------------------------------
# Saving, registered names, old configs
# ---------------------------------------------------------------------------------------------------------------


def test_keras_round_trip_all_02_layers(tmp_path):
    inputs = keras.Input((2, 1024))
    spec = Spectrogram(
        n_dft=128, n_hop=64, power_spectrogram=1.0, trainable_kernel=True, image_data_format="channels_last"
    )(inputs)
    mel = Melspectrogram(
        n_dft=128, n_hop=64, sr=8000, n_mels=20, trainable_fb=True, image_data_format="channels_last", name="mel"
    )(inputs)
    fb = Filterbank(n_fbs=12, trainable_fb=True, sr=8000, init="log", fmin=100.0, image_data_format="channels_last")(
        spec
    )
    db = AmplitudeToDB(top_db=60.0)(fb)
    norm = Normalization2D(str_axis="freq", image_data_format="channels_last")(mel)
    delta = Delta(win_length=3, data_format="channels_last")(norm)
    delta04 = kapre.time_frequency.Delta(win_length=3, data_format="channels_last")(db)  # the 0.4 class, too
    model = keras.Model(inputs, [db, delta, delta04])
    model.get_layer("mel").freq2mel.assign(noise((65, 20), seed=8) + 1.0)  # a trained (non-initial) filterbank
    loaded = save_and_load(model, tmp_path)
    x = noise((2, 2, 1024), seed=9)
    for a, b in zip(model(x), loaded(x), strict=True):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-6, atol=1e-6)
    names = {layer["registered_name"] for layer in json.loads(model.to_json())["config"]["layers"]}
    assert {
        "Kapre02>Spectrogram",
        "Kapre02>Melspectrogram",
        "Kapre02>Filterbank",
        "Kapre02>AmplitudeToDB",
        "Kapre02>Normalization2D",
        "Kapre02>Delta",
        "Kapre>Delta",
    } <= names


def test_name_clashes_resolve_to_both_apis():
    get = keras.saving.get_registered_object
    assert get("Kapre>Delta") is kapre.time_frequency.Delta
    assert get("Kapre02>Delta") is kapre.utils.Delta
    assert get("Kapre02>Spectrogram") is kapre.time_frequency.Spectrogram
    assert get("Kapre>STFT") is kapre.STFT
    assert kapre.Delta is kapre.time_frequency.Delta  # the 0.4 top-level name is untouched


def test_02_saved_layer_config_loads_with_custom_objects():
    """A layer config as kapre 0.2 / tf.keras 2 wrote it (no module, resolved data format, base-layer keys)."""
    config = {
        "class_name": "Melspectrogram",
        "config": {
            "name": "trainable_stft",
            "trainable": True,
            "batch_input_shape": [None, 6, 4410],
            "dtype": "float32",
            "n_dft": 512,
            "n_hop": 256,
            "padding": "same",
            "power_spectrogram": 2.0,
            "return_decibel_spectrogram": False,
            "trainable_kernel": False,
            "image_data_format": "channels_first",
            "sr": 44100,
            "n_mels": 128,
            "fmin": 0.0,
            "fmax": 22050.0,
            "trainable_fb": False,
            "power_melgram": 1.0,
            "return_decibel_melgram": False,
            "htk": False,
            "norm": "slaney",
        },
    }
    config["config"].pop("batch_input_shape")  # Keras 3's deserialize takes no input shape in a layer config
    layer = keras.layers.deserialize(config, custom_objects={"Melspectrogram": Melspectrogram})
    assert isinstance(layer, Melspectrogram)
    assert tuple(layer(np.zeros((1, 6, 4410), "float32")).shape) == (1, 6, 128, 18)


# ---------------------------------------------------------------------------------------------------------------
# utils: AmplitudeToDB, Normalization2D, Delta
# ---------------------------------------------------------------------------------------------------------------


def test_amplitude_to_db_numbers():
    x = np.abs(noise((3, 5, 7, 2), seed=10)) ** 3
    x[0, 0, 0, 0] = 0.0
    for amin, top_db in [(1e-10, 80.0), (1e-3, 20.0)]:
        out = to_numpy(AmplitudeToDB(amin=amin, top_db=top_db)(x))
        np.testing.assert_allclose(out, ref_db(x, amin, top_db), atol=ATOL_DB)
    single = np.concatenate([to_numpy(AmplitudeToDB()(x[i : i + 1])) for i in range(3)])
    np.testing.assert_allclose(to_numpy(AmplitudeToDB()(x)), single, atol=1e-5)
    assert tuple(to_numpy(AmplitudeToDB()(np.array([1.0, 0.5], "float32"))).shape) == (2,)


def ref_normalize(x, kept_axis):
    axes = (0, 1, 2, 3) if kept_axis == -1 else tuple(a for a in range(4) if a != kept_axis)
    return (x - x.mean(axis=axes, keepdims=True)) / (x.std(axis=axes, keepdims=True) + 1e-10)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_normalization2d_every_str_axis(data_format):
    x = noise((3, 4, 5, 2), seed=11) * 3.0 + 1.0
    order = (
        ["data_sample", "channel", "freq", "time"]
        if data_format == "channels_first"
        else ["data_sample", "freq", "time", "channel"]
    )
    for str_axis in ["batch", "data_sample", "channel", "freq", "time"]:
        kept = -1 if str_axis == "batch" else order.index(str_axis)
        out = to_numpy(Normalization2D(str_axis=str_axis, image_data_format=data_format)(x))
        np.testing.assert_allclose(out, ref_normalize(x.astype(np.float64), kept), rtol=1e-4, atol=1e-4)
    for int_axis in (-1, 0, 1, 2, 3):
        out = to_numpy(Normalization2D(int_axis=int_axis, image_data_format=data_format)(x))
        np.testing.assert_allclose(out, ref_normalize(x.astype(np.float64), int_axis), rtol=1e-4, atol=1e-4)
    # Only per-example statistics are independent of the rest of the batch.
    layer = Normalization2D(str_axis="data_sample", image_data_format=data_format)
    single = np.concatenate([to_numpy(layer(x[i : i + 1])) for i in range(3)])
    np.testing.assert_allclose(to_numpy(layer(x)), single, atol=1e-5)


def test_normalization2d_str_axis_wins_with_warning():
    with pytest.warns(UserWarning, match="int_axis=3 is ignored"):
        layer = Normalization2D(str_axis="freq", int_axis=3, image_data_format="channels_last")
    assert layer.int_axis == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Normalization2D.from_config(layer.get_config())  # a saved config (both keys, consistent) does not warn


def ref_delta(x, win_length, mode, time_axis):
    n = (win_length - 1) // 2
    moved = np.moveaxis(x.astype(np.float64), time_axis, -1)
    padded = np.pad(moved, [(0, 0)] * (moved.ndim - 1) + [(n, n)], mode=mode)
    length = moved.shape[-1]
    out = sum(k * padded[..., n + k : n + k + length] for k in range(-n, n + 1)) / (n * (n + 1) * (2 * n + 1) / 3)
    return np.moveaxis(out, -1, time_axis)


@pytest.mark.parametrize("data_format, time_axis", [("channels_last", 2), ("channels_first", 3)])
def test_delta_numbers(data_format, time_axis):
    for win_length, mode in [(5, "symmetric"), (3, "REFLECT"), (7, "constant")]:
        _check_delta(data_format, time_axis, win_length, mode)


def _check_delta(data_format, time_axis, win_length, mode):
    x = noise((2, 3, 8, 9), seed=12)
    out = to_numpy(Delta(win_length=win_length, mode=mode, data_format=data_format)(x))
    np.testing.assert_allclose(out, ref_delta(x, win_length, mode.lower(), time_axis), atol=1e-5)
    if win_length == 5 and mode == "symmetric":  # interior equals librosa's delta along time
        lib = librosa.feature.delta(x.astype(np.float64), width=5, axis=time_axis, mode="interp")
        interior = [slice(None)] * 4
        interior[time_axis] = slice(2, -2)
        np.testing.assert_allclose(out[tuple(interior)], lib[tuple(interior)], atol=1e-5)


# ---------------------------------------------------------------------------------------------------------------
# filterbank.Filterbank
# ---------------------------------------------------------------------------------------------------------------


def ref_log_filterbank(sr, n_freq, n_bins, bins_per_octave, fmin, spread=0.125):
    """librosa 0.4's ``logfrequency`` (kapre 0.2's filterbank_log), written out as a loop: (n_bins, n_freq)."""
    sigma = spread / bins_per_octave
    log_freqs = np.log2(np.linspace(0, sr / 2.0, n_freq)[1:])
    basis = np.zeros((n_bins, n_freq))
    for i in range(n_bins):
        centre = np.log2(fmin * 2.0 ** (i / bins_per_octave))
        basis[i, 1:] = np.exp(-0.5 * ((log_freqs - centre) / sigma) ** 2 - np.log2(sigma) - log_freqs)
    return librosa.util.normalize(basis, norm=1, axis=1)  # as 0.2 did; all-but-zero rows stay as they are


@pytest.mark.parametrize("init", ["mel", "log"])
def test_filterbank_numbers_and_shapes(init):
    for data_format, freq_axis in [("channels_last", 1), ("channels_first", 2)]:
        _check_filterbank(data_format, freq_axis, init)


def _check_filterbank(data_format, freq_axis, init):
    n_freq, sr = 257, 16000
    shape = [2, 3, 7, 2]
    shape[freq_axis] = n_freq
    x = np.abs(noise(tuple(shape), seed=13))
    if init == "mel":
        layer = Filterbank(n_fbs=24, trainable_fb=False, sr=sr, fmin=30.0, fmax=7600.0, image_data_format=data_format)
        bank = librosa.filters.mel(sr=sr, n_fft=512, n_mels=24, fmin=30.0, fmax=7600.0, norm="slaney").T
    else:
        layer = Filterbank(
            n_fbs=48, trainable_fb=True, sr=sr, init="log", fmin=None, bins_per_octave=12, image_data_format=data_format
        )
        bank = ref_log_filterbank(sr, n_freq, 48, 12, 32.70319566).T
    out = to_numpy(layer(x))
    expected = np.moveaxis(np.moveaxis(x.astype(np.float64), freq_axis, -1) @ bank, -1, freq_axis)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-6)
    assert layer.compute_output_shape(tuple(shape)) == out.shape
    assert len(layer.trainable_weights) == (1 if init == "log" else 0)
    assert layer.filterbank.shape == bank.shape


# ---------------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------------


INVALID = [
    (lambda: Spectrogram(n_dft=511), ValueError, "n_dft=511"),
    (lambda: Spectrogram(n_dft=1), ValueError, "n_dft=1"),
    (lambda: Spectrogram(n_dft=512.0), TypeError, "n_dft=512.0"),
    (lambda: Spectrogram(n_hop=0), ValueError, "n_hop=0"),
    (lambda: Spectrogram(padding="causal"), ValueError, "padding='causal'"),
    (lambda: Spectrogram(power_spectrogram=0.0), ValueError, "power_spectrogram=0.0"),
    (lambda: Spectrogram(return_decibel_spectrogram="yes"), TypeError, "return_decibel_spectrogram='yes'"),
    (lambda: Spectrogram(trainable_kernel=1), TypeError, "trainable_kernel=1"),
    (lambda: Spectrogram(image_data_format="nhwc"), ValueError, "image_data_format='nhwc'"),
    (lambda: Melspectrogram(sr=0), ValueError, "sr must be > 0.0, received sr=0"),
    (lambda: Melspectrogram(n_mels=0), ValueError, "n_mels=0"),
    (lambda: Melspectrogram(fmin=-1.0), ValueError, "received fmin=-1.0"),
    (lambda: Melspectrogram(sr=8000, fmax=5000.0), ValueError, "received fmax=5000.0"),
    (lambda: Melspectrogram(fmin=3000.0, fmax=2000.0), ValueError, "received fmax=2000.0"),
    (lambda: Melspectrogram(norm="l2"), ValueError, "norm='l2'"),
    (lambda: Melspectrogram(power_melgram=-1.0), ValueError, "power_melgram=-1.0"),
    (lambda: Melspectrogram(power_spectrogram=1.0), ValueError, "power_spectrogram=1.0"),
    (lambda: Melspectrogram(return_decibel_spectrogram=True), ValueError, "return_decibel_spectrogram=True"),
    (lambda: Melspectrogram(trainable_fb="no"), TypeError, "trainable_fb='no'"),
    (lambda: AmplitudeToDB(amin=0.0), ValueError, "amin=0.0"),
    (lambda: AmplitudeToDB(top_db=-80.0), ValueError, "top_db=-80.0"),
    (lambda: Normalization2D(), ValueError, "str_axis=None and int_axis=None"),
    (lambda: Normalization2D(str_axis="frequency"), ValueError, "str_axis='frequency'"),
    (lambda: Normalization2D(int_axis=4), ValueError, "int_axis=4"),
    (lambda: Normalization2D(int_axis="1"), TypeError, "int_axis='1'"),
    (lambda: Normalization2D(str_axis="freq", eps=-1.0), ValueError, "eps=-1.0"),
    (lambda: Delta(win_length=4), ValueError, "win_length=4"),
    (lambda: Delta(win_length=1), ValueError, "win_length=1"),
    (lambda: Delta(mode="wrap"), ValueError, "mode='wrap'"),
    (lambda: Delta(data_format="nchw"), ValueError, "data_format='nchw'"),
    (lambda: Filterbank(n_fbs=0, trainable_fb=False, sr=8000), ValueError, "n_fbs=0"),
    (lambda: Filterbank(n_fbs=8, trainable_fb=None, sr=8000), TypeError, "trainable_fb=None"),
    (lambda: Filterbank(n_fbs=8, trainable_fb=False), ValueError, "sr=None"),
    (lambda: Filterbank(n_fbs=8, trainable_fb=False, sr=8000, init="linear"), ValueError, "init='linear'"),
    (lambda: Filterbank(n_fbs=8, trainable_fb=False, sr=8000, init="log"), ValueError, "fmin=0.0"),
    (lambda: Filterbank(n_fbs=8, trainable_fb=False, sr=8000, fmax=9000.0), ValueError, "received fmax=9000.0"),
    (lambda: Filterbank(n_fbs=120, trainable_fb=False, sr=8000, init="log", fmin=None), ValueError, "Nyquist"),
    (lambda: Filterbank(n_fbs=8, trainable_fb=False, sr=8000, bins_per_octave=0), ValueError, "bins_per_octave=0"),
]


def test_invalid_arguments_name_argument_and_value():
    for factory, exc, message in INVALID:
        with pytest.raises(exc, match=re.escape(message)):
            factory()


def test_bad_inputs_raise_clear_errors():
    spec = Spectrogram(n_dft=64, padding="valid", image_data_format="channels_last")
    with pytest.raises(ValueError, match="3-D input"):
        spec(np.zeros((2, 100), "float32"))
    with pytest.raises(ValueError, match=r"needs at least 64 samples.*\(2, 1, 63\)"):
        spec(np.zeros((2, 1, 63), "float32"))
    with pytest.raises(ValueError, match="3-D input"):
        Melspectrogram(n_dft=64, sr=8000, n_mels=8)(keras.Input((64,)))
    with pytest.raises(ValueError, match="4-D input"):
        Normalization2D(str_axis="freq")(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match="4-D input"):
        Delta()(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match="needs at least 3 frames"):
        Delta(win_length=5, mode="reflect", data_format="channels_last")(np.zeros((1, 4, 2, 1), "float32"))
    fb = Filterbank(n_fbs=8, trainable_fb=False, sr=8000, image_data_format="channels_last")
    with pytest.raises(ValueError, match="known number"):
        fb(keras.Input((None, 10, 1)))
    fb(np.ones((1, 33, 5, 1), "float32"))
    with pytest.raises(ValueError, match="built for 33 frequency bins"):
        fb(np.ones((1, 65, 5, 1), "float32"))


def test_models_from_the_02_readme(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((6, 4410)),
            Melspectrogram(
                n_dft=512,
                n_hop=256,
                padding="same",
                sr=44100,
                n_mels=128,
                fmin=0.0,
                fmax=22050.0,
                power_melgram=1.0,
                return_decibel_melgram=False,
                trainable_fb=False,
                trainable_kernel=False,
                name="trainable_stft",
            ),
            Normalization2D(str_axis="freq"),
        ]
    )
    assert model.output_shape == (None, 128, 18, 6) or model.output_shape == (None, 6, 128, 18)
    loaded = save_and_load(model, tmp_path)
    x = noise((2, 6, 4410), seed=14)
    np.testing.assert_allclose(to_numpy(model(x)), to_numpy(loaded(x)), atol=1e-5)
    spec = Spectrogram(n_dft=512, image_data_format="channels_last")
    assert model_of(spec, (1, 4410)).output_shape == (None, 257, 18, 1)
