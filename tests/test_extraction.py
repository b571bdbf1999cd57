"""kapre.extraction: clips of different lengths in zero-padded batches equal each clip run alone, for every kind of
frame locality; the ``kapre`` command's mel and MFCC front-ends (kapre.MelSpectrogram) equal the composed chain they
replace; bad inputs are clear errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kapre
from kapre import extraction
from kapre.cli import FeatureOptions, build_frontend
from kapre.composed import get_melspectrogram_layer, get_stft_magnitude_layer
from kapre.extraction import Extractor, extract

CL = {"input_data_format": "channels_last", "output_data_format": "channels_last"}
CF = {"input_data_format": "channels_first", "output_data_format": "channels_first"}
# Batched and single calls differ by float32 rounding only (a batch's matmul blocking differs).
ATOL_DB = 2e-3
RTOL_PEAK = 1e-5


def _clips(lengths, channels=1, seed=0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    clips = []
    for i, n in enumerate(lengths):
        t = np.arange(n)[:, None] / 16000.0
        tone = 0.3 * np.sin(2 * np.pi * (200.0 + 150 * i) * t * (1 + np.arange(channels)))
        clips.append((tone + 0.05 * rng.standard_normal((n, channels))).astype(np.float32))
    clips[1][-40:] *= 30  # a loud tail beyond the clip's last full frame must change nothing (dB floors included)
    return clips


def _alone(frontend, clip, channels_first=False) -> np.ndarray:
    x = clip.T[None] if channels_first else clip[None]
    return np.asarray(keras.ops.convert_to_numpy(frontend(x)))[0]


# The decibels of a delta (a difference of decibels, then MagnitudeToDecibel): a delta near 0 is a difference of
# two numbers of tens of dB, so float32 rounding of 4e-6 in them is a large part of it and its decibels carry it
# (2.7e-3 dB measured at -38.7 dB on JAX 0.10). Compared as powers, relative to the largest, as linear outputs.
OF_DIFFERENCES = "decibels of differences"


def _assert_close(got, want, decibels):
    assert got.shape == want.shape
    if decibels == OF_DIFFERENCES:
        got, want = 10.0 ** (got / 10.0), 10.0 ** (want / 10.0)
        np.testing.assert_allclose(got, want, atol=RTOL_PEAK * float(np.max(np.abs(want))), rtol=0)
    elif decibels:
        np.testing.assert_allclose(got, want, atol=ATOL_DB, rtol=0)
    else:
        np.testing.assert_allclose(got, want, atol=RTOL_PEAK * max(1.0, float(np.max(np.abs(want)))), rtol=0)


class _FrameDense(keras.layers.Dense):
    """A layer of the user's declaring itself frame-local: a Dense over the channel axis of each frame."""

    frame_locality = "frame"


def _mel(db=True):
    return kapre.MelSpectrogram(n_fft=512, hop_length=160, sample_rate=16000, n_mels=40, power=1.0,
                                return_decibel=db, db_amin=1e-5, **CL)


def _stft(**kwargs):
    return kapre.STFT(n_fft=512, hop_length=128, **{**CL, **kwargs})


# (front-end, names of the batched layers, of the per-clip layers, masked indices, output in dB, channels_first in)
FRONTENDS = {
    "melspectrogram_db": (lambda: _mel(), ["MelSpectrogram"], [], [], True, False),
    "stft_magnitude_db": (lambda: get_stft_magnitude_layer(n_fft=512, hop_length=128, return_decibel=True, **CL),
                          ["STFT", "Magnitude", "MagnitudeToDecibel"], [], [2], True, False),
    "mfcc": (lambda: keras.Sequential([_mel(), kapre.LogmelToMFCC(n_mfccs=13, data_format="channels_last")]),
             ["MelSpectrogram", "LogmelToMFCC"], [], [], True, False),
    "delta_runs_per_clip": (lambda: keras.Sequential([_mel(), kapre.Delta(data_format="channels_last"),
                                                      kapre.MagnitudeToDecibel()]),
                            ["MelSpectrogram"], ["Delta", "MagnitudeToDecibel"], [], OF_DIFFERENCES, False),
    # MagnitudeToDecibel on decibels (negative numbers): frames of zeros sit at amin, below any frame of the clip.
    "decibels_twice_channels_first": (
        lambda: keras.Sequential([_stft(**CF), kapre.Magnitude(), kapre.MagnitudeToDecibel(),
                                  kapre.MagnitudeToDecibel(ref_value="max", amplitude=True)]),
        ["STFT", "Magnitude", "MagnitudeToDecibel", "MagnitudeToDecibel"], [], [2, 3], True, True),
    "user_frame_layer_center": (
        lambda: keras.Sequential([_stft(center=True), kapre.Magnitude(), _FrameDense(3, use_bias=False)]),
        ["STFT", "Magnitude", "_FrameDense"], [], [], False, False),
    "reflect_padding_not_batched": (lambda: keras.Sequential([_stft(center=True, pad_mode="reflect"),
                                                              kapre.Magnitude()]),
                                    [], [], [], False, False),
}


@pytest.mark.parametrize("name", list(FRONTENDS))
def test_batched_equals_per_clip(name):
    make, batched, per_clip, masked, decibels, channels_first = FRONTENDS[name]
    frontend = make()
    extractor = Extractor(frontend)
    assert [type(layer).__name__ for layer in extractor.batched_layers] == batched
    assert [type(layer).__name__ for layer in extractor.per_clip_layers] == per_clip
    assert sorted(extractor.masked) == masked
    assert extractor.channels_first_in == channels_first
    clips = _clips((3000, 1700, 800, 3000, 2222), channels=2)
    outputs = extract(extractor, clips, batch_size=4)
    for clip, output in zip(clips, outputs, strict=True):
        _assert_close(output, _alone(frontend, clip, channels_first), decibels)
    if extractor.batched:
        frames = extractor.num_frames(clips[1].shape[0], 2)
        assert outputs[1].shape[1 if channels_first else 0] == frames


def test_unknown_model_runs_whole_and_batches_equal_lengths():
    inputs = keras.Input((None, 1))
    model = keras.Model(inputs, _mel()(inputs))
    extractor = Extractor(model)
    assert not extractor.batched and extractor.num_frames(16000) is None
    clips = _clips((1600, 2000, 1600))
    for clip, output in zip(clips, extract(model, clips), strict=True):
        _assert_close(output, _alone(model, clip), decibels=True)


def test_extract_keeps_order_across_channel_counts_and_batches():
    mono, stereo = _clips((900, 2500, 1300), channels=1), _clips((1800, 700), channels=2, seed=1)
    clips = [mono[0], stereo[0], mono[1], stereo[1], mono[2]]
    frontend = _mel()
    outputs = extract(frontend, clips, batch_size=2)
    assert [o.shape for o in outputs] == [(1 + (c.shape[0] - 512) // 160, 40, c.shape[1]) for c in clips]
    for clip, output in zip(clips, outputs, strict=True):
        _assert_close(output, _alone(frontend, clip), decibels=True)
    assert extract(frontend, []) == []


def test_files(tmp_path):
    import soundfile as sf  # a test dependency (kapre[cli]): a missing install fails, not skips

    from kapre.audio import AudioError, load_audio

    paths = []
    for i, clip in enumerate(_clips((4000, 2600), channels=2)):
        paths.append(str(tmp_path / f"clip{i}.wav"))
        sf.write(paths[-1], clip, 8000)  # resampled to the front-end's 16 kHz
    frontend = _mel()
    assert extraction.sample_rate_of(frontend) == 16000
    outputs = extraction.extract_files(frontend, paths)
    for path, output in zip(paths, outputs, strict=True):
        audio, sr = load_audio(path, sample_rate=16000, mono=True)
        assert sr == 16000
        _assert_close(output, _alone(frontend, audio), decibels=True)
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(AudioError, match="text.wav"):
        extraction.extract_files(frontend, [paths[0], str(tmp_path / "text.wav")])


def test_frontend_layers_and_sample_rate():
    inner = get_melspectrogram_layer(n_fft=256, sample_rate=8000, n_mels=32, **CL)
    outer = keras.Sequential([inner, kapre.MagnitudeToDecibel()])
    assert [type(layer).__name__ for layer in extraction.frontend_layers(outer)] == [
        "STFT", "Magnitude", "ApplyFilterbank", "MagnitudeToDecibel"]
    assert extraction.sample_rate_of(outer) == 8000
    assert extraction.sample_rate_of(_stft()) is None
    assert Extractor(outer).masked == frozenset({3})


def test_bad_inputs():
    frontend = _mel()
    with pytest.raises(TypeError, match="list of arrays"):
        extract(frontend, np.zeros((1000, 1), np.float32))
    with pytest.raises(ValueError, match=r"waveform 1 has shape \(1000,\); expected \(time, channels\)"):
        extract(frontend, [np.zeros((1000, 1), np.float32), np.zeros(1000, np.float32)])
    with pytest.raises(ValueError, match="waveform 0 is empty"):
        extract(frontend, [np.zeros((0, 1), np.float32)])
    with pytest.raises(ValueError, match="waveform 1: .*512"):
        extract(frontend, [np.zeros((1000, 1), np.float32), np.zeros((300, 1), np.float32)])
    with pytest.raises(ValueError, match="real numbers"):
        extract(frontend, [np.zeros((1000, 1), np.complex64)])
    with pytest.raises(ValueError, match="batch_size"):
        extract(frontend, [np.zeros((1000, 1), np.float32)], batch_size=0)
    with pytest.raises(ValueError, match="equal channel counts"):
        Extractor(frontend)([np.zeros((1000, 1), np.float32), np.zeros((1000, 2), np.float32)])


# ------------------------------------------------------------------------------------------------------------------
# The command's front-ends: kapre.MelSpectrogram gives the numbers of the composed chain of layers; with a
# pre-release's options (power 1, amin 1e-5, kapre's DCT) the numbers of the chain those pre-releases ran.


def _composed(options: FeatureOptions, db: bool):
    if options.power == 1.0:  # kapre 0.4's composed chain: magnitude, MagnitudeToDecibel() (amin 1e-5)
        return get_melspectrogram_layer(n_fft=options.n_fft, hop_length=options.hop_length,
                                        sample_rate=options.sample_rate, n_mels=options.n_mels, return_decibel=db, **CL)
    layers = [kapre.STFT(n_fft=options.n_fft, hop_length=options.hop_length, **CL), kapre.Magnitude(power=2.0),
              kapre.ApplyFilterbank("mel", {"sample_rate": options.sample_rate, "n_freq": options.n_fft // 2 + 1,
                                            "n_mels": options.n_mels}, data_format="channels_last")]
    if db:
        layers.append(kapre.MagnitudeToDecibel(amin=1e-10))
    return keras.Sequential(layers)


@pytest.mark.parametrize("legacy", [False, True], ids=["today", "pre-release-options"])
@pytest.mark.parametrize("feature, db", [("mel", False), ("mel", True), ("mfcc", False), ("mel", "picture")])
def test_cli_mel_and_mfcc_equal_the_composed_chain(feature, db, legacy):
    from kapre.cli.options import LEGACY_OPTIONS

    options = FeatureOptions(feature=feature, sample_rate=16000, n_fft=512, hop_length=160, n_mels=48, n_mfcc=13,
                             db=db is True, **(LEGACY_OPTIONS if legacy else {}))
    frontend = build_frontend(options, db="picture" if db == "picture" else "auto")
    assert type(frontend.layers[0]).__name__ == "MelSpectrogram"
    if feature == "mfcc":
        old = keras.Sequential([*_composed(options, True).layers,
                                kapre.LogmelToMFCC(n_mfccs=13, data_format="channels_last", dct_norm=options.dct_norm)])
    elif db == "picture":  # what kapre show draws: decibels of the power, 20 log10 of a magnitude
        old = keras.Sequential([*_composed(options, False).layers, kapre.MagnitudeToDecibel(
            amplitude=legacy, amin=np.sqrt(options.amin) if legacy else options.amin)])
    else:
        old = _composed(options, db)
    clip = _clips((8000, 100))[0]
    clip[:2000] *= 1e-4  # quiet frames: reach the 80 dB floor
    new_out, old_out = _alone(frontend, clip), _alone(old, clip)
    assert new_out.shape == old_out.shape == (47, 13 if feature == "mfcc" else 48, 1)
    if db is False and feature == "mel":  # magnitudes: relative to the peak
        np.testing.assert_allclose(new_out, old_out, atol=1e-6 * float(np.max(old_out)), rtol=1e-5)
    else:  # decibels and MFCCs of decibels
        np.testing.assert_allclose(new_out, old_out, atol=1e-4, rtol=0)


def test_unbatched_front_end_rejects_a_short_clip_before_calling_it():
    # A reflect-padded CQT runs whole (frame locality None). A clip too short for its reflection must fail with the
    # layer's own message before the call: a keras.Sequential whose first call fails stays configured to that
    # shape, and every later clip would fail with Keras' shape message instead.
    cqt = kapre.CQT(sr=8000, hop_length=16, fmin=110.0, n_bins=24, pad_mode="reflect", output_type="magnitude",
                    input_data_format="channels_last", output_data_format="channels_last")
    extractor = Extractor(keras.Sequential([cqt]))
    assert not extractor.batched
    with pytest.raises(ValueError, match="reflect"):
        extractor([np.zeros((50, 1), "float32")])
    clip = np.random.default_rng(0).standard_normal((3000, 1)).astype("float32")
    (features,) = extractor([clip])
    np.testing.assert_allclose(features, keras.ops.convert_to_numpy(cqt(clip[None]))[0], rtol=1e-5, atol=1e-6)
