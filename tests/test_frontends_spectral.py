"""kapre.frontends' spectral front-ends equal their references, on every backend.

=============================  ===================================================================================
front-end                      reference (called as the reference's own users call it)
=============================  ===================================================================================
``whisper_log_mel``            openai-whisper ``whisper.audio.log_mel_spectrogram`` (per clip; ``floor="batch"``:
                               on the whole batch at once; ``pad_or_trim``: ``log_mel_spectrogram(pad_or_trim(x))``)
                               and transformers' ``WhisperFeatureExtractor`` (30 s padding), 80 and 128 bands
``panns_log_mel``              torchlibrosa ``Spectrogram`` + ``LogmelFilterBank`` as PANNs builds them (ref 1.0,
                               amin 1e-10, top_db None, frozen parameters)
``clap_log_mel``               transformers' ``ClapFeatureExtractor._np_extract_fbank_features`` with both of its
                               filter sets (``mel_filters``: htk, fusion; ``mel_filters_slaney``: rand_trunc)
``yamnet_log_mel``             a NumPy transcription of YAMNet's ``features.py`` (below) and the same algorithm in
                               ``tf.signal`` (stft, linear_to_mel_weight_matrix, frame), features and patches
``vggish_log_mel``             a NumPy transcription of VGGish's ``mel_features.py`` / ``vggish_input.py``
``torchaudio_melspectrogram``  ``torchaudio.transforms.MelSpectrogram``
``torchaudio_mfcc``            ``torchaudio.transforms.MFCC`` per clip (its top_db floor is per call), in float32
                               and float64 (acceptance reading: the 1e-3 point holds against either precision)
``librosa_melspectrogram``     ``librosa.feature.melspectrogram`` (+ ``librosa.power_to_db`` per clip with ``db``)
``librosa_mfcc``               ``librosa.feature.mfcc`` per clip
=============================  ===================================================================================

Tolerances: max abs error <= 1e-3 in the reference's own units for log outputs (dB, natural log, Whisper's
normalised log10); <= 1e-4 of the clip's largest value for linear outputs. Signals: speech-like clips
(tests/speech_corpus.py: voiced syllables, fricatives, digital silence and pauses 60-75 dB down), white noise and
silence (zeros), at lengths that are and are not multiples of the hop, batched.

The references torchaudio and openai-whisper live in ``.test-references/`` (``python tests/references.py``);
a missing reference fails the test, it is never skipped. ``KAPRE_SPECTRAL_DEVIATIONS=<file>`` appends the measured
max abs deviations (per front-end and reference) to that file as one JSON line per backend.
"""

from __future__ import annotations

import functools
import json
import math
import os

import keras
import numpy as np
import pytest
from keras import ops

from kapre import frontends
from tests import audioset_transcription as audioset
from tests.helpers import BACKEND, float64_backend, save_and_load, to_numpy
from tests.speech_corpus import synthesize_speech

LOG_TOL = 1e-3  # reference units (dB, log, Whisper's (log10 + 4) / 4)
LIN_REL_TOL = 1e-4  # of the clip's largest value
MISSING = "the test reference {name} is missing ({error}): run `python tests/references.py`"

# (front-end, reference) -> max abs deviation measured (relative to the clip's peak for linear outputs)
DEVIATIONS: dict[tuple[str, str], float] = {}


@pytest.fixture(scope="module", autouse=True)
def _deviation_report():
    yield
    path = os.environ.get("KAPRE_SPECTRAL_DEVIATIONS")
    if path:
        rows = {f"{front} | {ref}": err for (front, ref), err in sorted(DEVIATIONS.items())}
        with open(path, "a") as f:
            f.write(json.dumps({"backend": BACKEND, "max_abs_deviation": rows}) + "\n")


# ---------------------------------------------------------------------------------------------------- references


def _whisper_audio():
    try:
        import whisper.audio
    except ImportError as error:  # pragma: no cover - the environment is broken
        pytest.fail(MISSING.format(name="openai-whisper", error=error))
    return whisper.audio


def _torchaudio_transforms():
    try:
        import torchaudio.transforms
    except ImportError as error:  # pragma: no cover
        pytest.fail(MISSING.format(name="torchaudio", error=error))
    return torchaudio.transforms


def _torch(x):
    import torch

    return torch.from_numpy(np.array(x))


def whisper_ref(x, n_mels, floor="clip", pad_or_trim=False):
    """(batch, n_mels, frames): whisper's function per clip, or on the whole batch (its global max)."""
    audio = _whisper_audio()
    if pad_or_trim:
        x = audio.pad_or_trim(np.array(x))
    if floor == "batch":
        return audio.log_mel_spectrogram(_torch(x), n_mels).numpy()
    return np.stack([audio.log_mel_spectrogram(_torch(clip), n_mels).numpy() for clip in x])


def whisper_feature_extractor_ref(x, n_mels):
    from transformers import WhisperFeatureExtractor

    fe = WhisperFeatureExtractor(feature_size=n_mels)
    return fe(list(np.array(x)), sampling_rate=16000, return_tensors="np")["input_features"]


def panns_ref(x, sample_rate=32000, window_size=1024, hop_size=320, mel_bins=64, fmin=50.0, fmax=14000.0,
              float64=False):
    """(batch, time, mel): PANNs' front end (models.py: Spectrogram + LogmelFilterBank, ref 1, amin 1e-10,
    top_db None, frozen), torchlibrosa's (batch, 1, time, mel) less its channel axis."""
    import torch
    from torchlibrosa.stft import LogmelFilterBank, Spectrogram

    spectrogram = Spectrogram(n_fft=window_size, hop_length=hop_size, win_length=window_size, window="hann",
                              center=True, pad_mode="reflect", freeze_parameters=True)
    logmel = LogmelFilterBank(sr=sample_rate, n_fft=window_size, n_mels=mel_bins, fmin=fmin, fmax=fmax, ref=1.0,
                              amin=1e-10, top_db=None, freeze_parameters=True)
    waveform = _torch(x)
    if float64:  # the same module in float64, its DFT kernels and mel matrix computed in float64 (torchlibrosa
        # rounds them to float32 when it builds them)
        import librosa

        spectrogram, logmel, waveform = spectrogram.double(), logmel.double(), waveform.double()
        window = librosa.util.pad_center(librosa.filters.get_window("hann", window_size, fftbins=True),
                                         size=window_size)
        kernel = (spectrogram.stft.W[:, : window_size // 2 + 1] * window[:, None]).T[:, None, :]
        spectrogram.stft.conv_real.weight.data = torch.from_numpy(np.ascontiguousarray(np.real(kernel)))
        spectrogram.stft.conv_imag.weight.data = torch.from_numpy(np.ascontiguousarray(np.imag(kernel)))
        bank = librosa.filters.mel(sr=sample_rate, n_fft=window_size, n_mels=mel_bins, fmin=fmin, fmax=fmax,
                                   dtype=np.float64)
        logmel.melW.data = torch.from_numpy(np.ascontiguousarray(bank.T))
    with torch.no_grad():
        out = logmel(spectrogram(waveform))
    assert out.shape[1] == 1
    return out[:, 0].numpy()


def clap_ref(x, mel_scale="htk", sampling_rate=48000, fft_window_size=1024, hop_length=480, feature_size=64,
             frequency_min=50.0, frequency_max=14000.0):
    """(batch, frames, feature_size): ClapFeatureExtractor._np_extract_fbank_features per clip with the fusion
    filters (``mel_filters``: htk, no norm) or the rand_trunc ones (``mel_filters_slaney``)."""
    from transformers import ClapFeatureExtractor

    fe = ClapFeatureExtractor(feature_size=feature_size, sampling_rate=sampling_rate, hop_length=hop_length,
                              fft_window_size=fft_window_size, frequency_min=frequency_min,
                              frequency_max=frequency_max)
    filters = {"htk": fe.mel_filters, "slaney": fe.mel_filters_slaney}[mel_scale]
    return np.stack([fe._np_extract_fbank_features(clip.astype(np.float64), filters) for clip in x])


# --- YAMNet / VGGish: an independent NumPy transcription of the published algorithm (tensorflow/models,
# research/audioset: vggish/mel_features.py + vggish_input.py + vggish_params.py, yamnet/features.py + params.py).
# 16 kHz; window round(0.025 * 16000) = 400 samples, hop round(0.010 * 16000) = 160, FFT length the next power of
# two (512), periodic Hann, |rfft| (zero-padded at the end), no centring, only complete frames; HTK-mel triangles
# between 125 and 7500 Hz over the linearly spaced bins, the DC bin zeroed; log(mel + offset).


def audioset_log_mel_ref(x, log_offset):
    """(batch, frames, 64) in float64 (tests/audioset_transcription.py)."""
    matrix = audioset.mel_matrix()
    return np.stack([audioset.log_mel_spectrogram(clip, log_offset, matrix) for clip in x])


def audioset_patches_ref(log_mel, hop_frames, window_frames=96):
    """(batch, patches, 96, 64): complete patches of 96 frames every ``hop_frames``."""
    return np.stack([audioset.patches(clip, hop_frames, window_frames) for clip in log_mel])


def yamnet_tf_ref(x, patch_hop_seconds=0.48):
    """YAMNet's features.waveform_to_log_mel_spectrogram_patches written with the actual tf.signal functions."""
    import tensorflow as tf

    magnitude = tf.abs(tf.signal.stft(tf.constant(np.array(x, np.float32)), frame_length=400, frame_step=160,
                                      fft_length=512))
    matrix = tf.signal.linear_to_mel_weight_matrix(num_mel_bins=64, num_spectrogram_bins=257, sample_rate=16000,
                                                   lower_edge_hertz=125.0, upper_edge_hertz=7500.0)
    log_mel = tf.math.log(tf.matmul(magnitude, matrix) + 0.001)
    patches = tf.signal.frame(log_mel, frame_length=96, frame_step=int(round(100 * patch_hop_seconds)), axis=-2)
    return log_mel.numpy(), patches.numpy()


def torchaudio_mel_ref(x, **kwargs):
    transform = _torchaudio_transforms().MelSpectrogram(**kwargs)
    return transform(_torch(x)).numpy()


def torchaudio_mfcc_ref(x, float64=False, **kwargs):
    """(batch, n_mfcc, time), one call per clip (torchaudio's top_db floor spans whatever one call holds)."""
    import torch

    transform = _torchaudio_transforms().MFCC(**kwargs)
    dtype = torch.float64 if float64 else torch.float32
    transform = transform.to(dtype)
    return np.stack([transform(_torch(clip).to(dtype)).numpy() for clip in x])


def librosa_mel_ref(x, db=None, float64=True, **kwargs):
    """librosa per clip, on the float32 clip (librosa then computes in float32) or on it cast to float64."""
    import librosa

    out = []
    for clip in x:
        spec = librosa.feature.melspectrogram(y=np.asarray(clip, np.float64 if float64 else np.float32), **kwargs)
        if db is not None:
            options = dict(ref=1.0, amin=1e-10, top_db=80.0) if db is True else db
            spec = librosa.power_to_db(spec, **options)
        out.append(spec)
    return np.stack(out)


def librosa_mfcc_ref(x, float64=True, **kwargs):
    import librosa

    dtype = np.float64 if float64 else np.float32
    return np.stack([librosa.feature.mfcc(y=np.asarray(clip, dtype), **kwargs) for clip in x])


# ----------------------------------------------------------------------------------------------------- signals


@functools.cache
def clips(length: int, sr: int, levels: tuple = (1.0, 1.0, 1.0, 1.0)) -> np.ndarray:
    """(4, length) float32: speech-like, white noise, silence (zeros), another speech-like clip; each scaled by
    its ``levels`` entry."""
    rng = np.random.default_rng(length + sr)
    speech = [synthesize_speech(sr, length / sr, 1, seed=seed)[:, 0] for seed in (sr + 1, sr + 2)]
    assert all(s.shape == (length,) for s in speech)
    batch = np.stack([speech[0], 0.1 * rng.standard_normal(length), np.zeros(length), speech[1]])
    batch = (batch * np.asarray(levels)[:, None]).astype(np.float32)
    batch.setflags(write=False)
    return batch


_LAYERS: dict = {}


def layer(builder, **options):
    """One layer per (builder, options), shared by the tests: a compiled backend (JAX) compiles a layer once per
    input shape, and the tests below reuse the reference tests' layers and inputs."""
    key = (builder.__name__, repr(sorted(options.items())))
    if key not in _LAYERS:
        _LAYERS[key] = builder(**options)
    return _LAYERS[key]


def run(layer_, x) -> np.ndarray:
    return to_numpy(layer_(ops.convert_to_tensor(np.array(x))))


# The float32 reading (shared/acceptance-readings.md, "1e-3 dB for log outputs applies on the bins within 40 dB of
# each example's maximum: further down, two correct float32 STFTs differ by ~1e-2 dB"; "MFCC: 1e-3 x sqrt(n_mels)
# absolute, the bound an orthonormal DCT puts on a 1e-3 dB error per mel band"). It is written there for the
# exports; the float32 arithmetic it describes is the same here, so a float32 comparison that misses the literal
# 1e-3 is held to it, and test_float64_layer_equals_float64_reference holds the literal 1e-3 on every bin. Both
# figures are recorded (KAPRE_SPECTRAL_DEVIATIONS).
WITHIN_DB = 40.0
# (kind, value): "db" (10 log10 power), "ln_magnitude" (natural log of a magnitude: 40 dB is ln(100)),
# "mfcc" (value = 1e-3 dB per band carried through the DCT: sqrt(n_mels) for 'ortho', 2 n_mels for norm=None)
READING_SPAN = {"db": WITHIN_DB, "ln_magnitude": math.log(10.0 ** (WITHIN_DB / 20.0))}


def _reading_error(ours, ref, reading):
    """The error under the float32 reading: ``(error, tolerance)``."""
    kind, value = reading
    if kind == "mfcc":
        return float(np.max(np.abs(ours - ref))), LOG_TOL * value
    top = ref.reshape(ref.shape[0], -1).max(axis=1).reshape((-1,) + (1,) * (ref.ndim - 1))  # per clip
    near = ref >= top - READING_SPAN[kind]
    return float(np.max(np.abs(ours - ref)[near])), LOG_TOL


def check_log(name, reference, ours, ref, tol=LOG_TOL, reading=None):
    """Max abs error <= tol (reference units); with ``reading`` the float32 reading where the literal misses."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, f"{name} vs {reference}: shape {ours.shape} != {ref.shape}"
    assert np.all(np.isfinite(ours)), f"{name}: non-finite output"
    err = float(np.max(np.abs(ours - ref)))
    DEVIATIONS[(name, reference)] = max(DEVIATIONS.get((name, reference), 0.0), err)
    if err > tol and reading is not None:
        read_err, read_tol = _reading_error(ours, ref, reading)
        key = (name, f"{reference} [float32 reading {reading[0]}]")
        DEVIATIONS[key] = max(DEVIATIONS.get(key, 0.0), read_err)
        assert read_err <= read_tol, (f"{name} vs {reference}: max abs error {err:.3g} > {tol:.3g}, and "
                                      f"{read_err:.3g} > {read_tol:.3g} under the float32 reading ({BACKEND})")
        return read_err
    assert err <= tol, f"{name} vs {reference}: max abs error {err:.3g} > {tol:.3g} ({BACKEND})"
    return err


def check_log_either(name, references: dict, ours, tol=LOG_TOL, reading=None):
    """Max abs error <= tol against at least one precision of the same reference (acceptance reading); with
    ``reading``, the float32 reading where the literal misses against every one."""
    ours = np.asarray(ours, np.float64)
    errs, read = {}, {}
    for reference, ref in references.items():
        ref = np.asarray(ref, np.float64)
        assert ours.shape == ref.shape, f"{name} vs {reference}: shape {ours.shape} != {ref.shape}"
        errs[reference] = float(np.max(np.abs(ours - ref)))
        DEVIATIONS[(name, reference)] = max(DEVIATIONS.get((name, reference), 0.0), errs[reference])
        if reading is not None:
            read[reference] = _reading_error(ours, ref, reading)
            key = (name, f"{reference} [float32 reading {reading[0]}]")
            DEVIATIONS[key] = max(DEVIATIONS.get(key, 0.0), read[reference][0])
    assert np.all(np.isfinite(ours)), f"{name}: non-finite output"
    if min(errs.values()) <= tol:
        return
    assert reading is not None, f"{name}: max abs error {errs} > {tol:.3g} against every precision ({BACKEND})"
    assert any(e <= t for e, t in read.values()), (
        f"{name}: max abs error {errs} > {tol:.3g} against every precision, and {read} under the float32 reading "
        f"({BACKEND})")


def check_linear(name, reference, ours, ref):
    """Per clip: max abs error <= 1e-4 x that clip's largest reference value (a silent clip: exactly ~0)."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, f"{name} vs {reference}: shape {ours.shape} != {ref.shape}"
    for i, (o, r) in enumerate(zip(ours, ref, strict=True)):
        peak = float(np.max(np.abs(r)))
        err = float(np.max(np.abs(o - r)))
        rel = err / peak if peak > 0 else err
        DEVIATIONS[(name, reference + " (rel. to peak)")] = max(
            DEVIATIONS.get((name, reference + " (rel. to peak)"), 0.0), rel)
        assert err <= max(LIN_REL_TOL * peak, 1e-10), (
            f"{name} vs {reference}, clip {i}: max abs error {err:.3g} > 1e-4 x peak {peak:.3g} ({BACKEND})")


# ------------------------------------------------------------------------------------------------------ Whisper

# ------------------------------------------------------------------------------------------------------ Whisper

W_LEVELS = (1.0, 0.003, 1.0, 0.05)  # very different levels: the per-clip and the batch floor differ
W_PAD_LEVELS = (1.0, 0.01, 1.0, 1.0)


@pytest.mark.parametrize("n_mels, length", [(80, 32077), (128, 32000)])
def test_whisper_per_clip_floor(n_mels, length):
    x = clips(length, 16000, W_LEVELS)
    ours = run(layer(frontends.whisper_log_mel, n_mels=n_mels), x)
    assert ours.shape == (4, n_mels, length // 160)
    check_log("whisper_log_mel", "whisper.audio.log_mel_spectrogram per clip", ours, whisper_ref(x, n_mels))


def test_whisper_batch_floor_is_whispers_on_the_batch():
    x = clips(32077, 16000, W_LEVELS)
    per_clip, whole = whisper_ref(x, 80), whisper_ref(x, 80, floor="batch")
    assert np.max(np.abs(per_clip - whole)) > 0.1  # the data tells the two floors apart
    ours = run(layer(frontends.whisper_log_mel, floor="batch"), x)
    check_log("whisper_log_mel(floor='batch')", "whisper.audio.log_mel_spectrogram on the batch", ours, whole)


@pytest.mark.parametrize("length", [48077, 484037])  # 3 s (padded), 30.25 s (cut)
def test_whisper_pad_or_trim(length):
    x = clips(length, 16000, W_PAD_LEVELS)
    ours = run(layer(frontends.whisper_log_mel, pad_or_trim=True), x)
    assert ours.shape == (4, 80, 3000)
    check_log("whisper_log_mel(pad_or_trim=True)", "whisper log_mel_spectrogram(pad_or_trim(x))", ours,
              whisper_ref(x, 80, pad_or_trim=True))


@pytest.mark.parametrize("n_mels", [80, 128])
def test_whisper_equals_whisper_feature_extractor(n_mels):
    x = clips(48077, 16000, W_PAD_LEVELS)
    ours = run(layer(frontends.whisper_log_mel, pad_or_trim=True, **({"n_mels": 128} if n_mels == 128 else {})), x)
    ref = whisper_feature_extractor_ref(x, n_mels)
    assert ref.shape == (4, n_mels, 3000)
    check_log("whisper_log_mel(pad_or_trim=True)", "transformers WhisperFeatureExtractor", ours, ref)


# ---------------------------------------------------------------------------------------------------- PANNs/CLAP

PANNS_16K = dict(sample_rate=16000, window_size=512, hop_size=160, mel_bins=64, fmin=50.0, fmax=8000.0)
PANNS_CASES = [({}, 64111), (PANNS_16K, 16000)]  # hop 320 and 160: not and a multiple of the hop


@pytest.mark.parametrize("options, length", PANNS_CASES)
def test_panns_equals_torchlibrosa(options, length):
    x = clips(length, options.get("sample_rate", 32000))
    ours = run(layer(frontends.panns_log_mel, **options), x)
    references = {"torchlibrosa (float32)": panns_ref(x, **options),
                  "torchlibrosa (float64)": panns_ref(x, float64=True, **options)}
    check_log_either("panns_log_mel", references, ours, reading=("db", None))


CLAP_16K = dict(sampling_rate=16000, fft_window_size=512, hop_length=160, feature_size=40, frequency_min=0.0,
                frequency_max=8000.0)
CLAP_CASES = [("htk", {}, 48123), ("slaney", {}, 48000), ("htk", CLAP_16K, 16037)]


@pytest.mark.parametrize("mel_scale, options, length", CLAP_CASES)
def test_clap_equals_clap_feature_extractor(mel_scale, options, length):
    x = clips(length, options.get("sampling_rate", 48000))
    ours = run(layer(frontends.clap_log_mel, mel_scale=mel_scale, **options), x)
    filters = {"htk": "mel_filters", "slaney": "mel_filters_slaney"}[mel_scale]
    check_log("clap_log_mel", f"ClapFeatureExtractor._np_extract_fbank_features({filters})", ours,
              clap_ref(x, mel_scale=mel_scale, **options), reading=("db", None))


# ------------------------------------------------------------------------------------------------ YAMNet/VGGish

YAMNET = "NumPy transcription of yamnet/features.py (float64)"
YAMNET_TF = "tf.signal, yamnet/features.py (float32)"
VGGISH = "NumPy transcription of vggish/mel_features.py"


def test_yamnet_equals_transcription_and_tf_signal():
    x = clips(32077, 16000)  # 198 frames
    ours = run(layer(frontends.yamnet_log_mel), x)
    assert ours.shape == (4, 198, 64)
    check_log_either("yamnet_log_mel", {YAMNET: audioset_log_mel_ref(x, 0.001), YAMNET_TF: yamnet_tf_ref(x)[0]}, ours,
                     reading=("ln_magnitude", None))


def test_yamnet_patches():
    x = clips(32000, 16000)  # 198 frames: 3 patches of 96 every 48
    ours = run(layer(frontends.yamnet_log_mel, patches=True), x)
    expected = audioset_patches_ref(audioset_log_mel_ref(x, 0.001), 48)
    assert ours.shape == expected.shape == (4, 3, 96, 64)
    check_log_either("yamnet_log_mel(patches=True)", {YAMNET: expected, YAMNET_TF: yamnet_tf_ref(x)[1]}, ours,
                     reading=("ln_magnitude", None))


def test_vggish_equals_transcription():
    x = clips(32000, 16000)
    ours = run(layer(frontends.vggish_log_mel), x)
    assert ours.shape == (4, 198, 64)
    check_log("vggish_log_mel", VGGISH, ours, audioset_log_mel_ref(x, 0.01))


def test_vggish_patches():
    x = clips(32077, 16000)  # 198 frames: 2 patches of 96 every 96 (vggish_params.EXAMPLE_HOP_SECONDS 0.96)
    ours = run(layer(frontends.vggish_log_mel, patches=True), x)
    expected = audioset_patches_ref(audioset_log_mel_ref(x, 0.01), 96)
    assert ours.shape == expected.shape == (4, 2, 96, 64)
    check_log("vggish_log_mel(patches=True)", VGGISH, ours, expected)


def test_transcription_is_the_published_algorithm():
    """The NumPy transcription equals tf.signal's YAMNet features (float64 vs float32), and its mel matrix equals
    tf.signal.linear_to_mel_weight_matrix: the two routes to the reference agree."""
    import tensorflow as tf

    matrix = tf.signal.linear_to_mel_weight_matrix(64, 257, 16000, 125.0, 7500.0, dtype=tf.float64).numpy()
    np.testing.assert_allclose(audioset.mel_matrix(), matrix, atol=1e-9)
    x = clips(32077, 16000)
    exact, tf_float32 = audioset_log_mel_ref(x, 0.001), yamnet_tf_ref(x)[0]
    # white noise (no band far below its frame's maximum): float32 rounding only
    np.testing.assert_allclose(exact[1], tf_float32[1], atol=1e-4, rtol=0)
    # speech: bands ~80 dB below their frame's maximum carry float32 STFT rounding (~1e-7 of the frame's
    # magnitude), a few 1e-3 in log(mel + 0.001) (measured 2.6e-3); compared in the linear domain
    scale = np.max(np.exp(exact), axis=-1, keepdims=True)
    np.testing.assert_allclose(np.exp(exact) / scale, np.exp(tf_float32) / scale, atol=1e-5, rtol=0)


# -------------------------------------------------------------------------------------------------- torchaudio

TA_MEL = [
    (16000, 16037, {}),  # defaults: n_fft 400, hop 200, 128 htk bands without norm, reflect-centred
    (16000, 16000, dict(n_fft=512, win_length=400, hop_length=160, f_min=50.0, f_max=7600.0, n_mels=64,
                        norm="slaney", mel_scale="slaney", power=1.0, pad=32, normalized=True, pad_mode="constant")),
    # no centring, window shorter than n_fft (torch.stft centres it in the n_fft frame)
    (22050, 22050, dict(sample_rate=22050, n_fft=1024, win_length=800, hop_length=256, n_mels=80, center=False,
                        norm="slaney")),
]


@pytest.mark.parametrize("sr, length, options", TA_MEL)
def test_torchaudio_melspectrogram(sr, length, options):
    x = clips(length, sr)
    ours = run(layer(frontends.torchaudio_melspectrogram, **options), x)
    check_linear("torchaudio_melspectrogram", "torchaudio.transforms.MelSpectrogram", ours,
                 torchaudio_mel_ref(x, **options))


MFCC_LEVELS = (1.0, 0.01, 1.0, 0.2)
TA_MFCC = [
    (16000, 16000, {}),  # 40 coefficients of 128 htk bands (n_fft 400)
    (16000, 16037, dict(n_mfcc=13, log_mels=True, melkwargs=dict(n_fft=512, win_length=400, hop_length=160,
                                                                 n_mels=64, f_min=20.0, f_max=7600.0))),
    (22050, 22061, dict(sample_rate=22050, n_mfcc=20, norm=None, melkwargs=dict(
        n_fft=1024, hop_length=256, n_mels=40, mel_scale="slaney", norm="slaney", center=False))),
]


@pytest.mark.parametrize("sr, length, options", TA_MFCC)
def test_torchaudio_mfcc(sr, length, options):
    x = clips(length, sr, MFCC_LEVELS)
    ours = run(layer(frontends.torchaudio_mfcc, **options), x)
    references = {"torchaudio.transforms.MFCC per clip (float32)": torchaudio_mfcc_ref(x, **options),
                  "torchaudio.transforms.MFCC per clip (float64)": torchaudio_mfcc_ref(x, float64=True, **options)}
    melkwargs = options.get("melkwargs") or {}
    n_mels = melkwargs.get("n_mels", 128)
    gain = math.sqrt(n_mels) if options.get("norm", "ortho") == "ortho" else 2.0 * n_mels
    check_log_either("torchaudio_mfcc", references, ours, reading=("mfcc", gain))


# ----------------------------------------------------------------------------------------------------- librosa

LR_MEL = [
    (22050, 22061, {}),  # defaults: n_fft 2048, hop 512, constant-padded centre, 128 slaney bands
    (16000, 16000, dict(sr=16000, n_fft=512, hop_length=160, win_length=400, window="hamming", n_mels=64,
                        fmin=50.0, fmax=7600.0, htk=True, norm=None, power=1.0, pad_mode="reflect")),
    # no centring, window shorter than n_fft (librosa centres it in the n_fft frame)
    (22050, 22050, dict(n_fft=1024, hop_length=256, win_length=800, window="blackman", center=False, n_mels=80)),
]


@pytest.mark.parametrize("sr, length, options", LR_MEL)
def test_librosa_melspectrogram(sr, length, options):
    x = clips(length, sr)
    ours = run(layer(frontends.librosa_melspectrogram, **options), x)
    check_linear("librosa_melspectrogram", "librosa.feature.melspectrogram", ours,
                 librosa_mel_ref(x, sr=sr, **{k: v for k, v in options.items() if k != "sr"}))


LR_DB = [
    ({}, True),  # power_to_db(ref=1, amin=1e-10, top_db=80) per clip
    (dict(n_fft=1024, hop_length=256), dict(ref=10.0, amin=1e-10, top_db=60.0)),
    (dict(n_fft=1024, hop_length=256, power=1.0), dict(ref=1.0, amin=1e-5, top_db=None)),
]


@pytest.mark.parametrize("options, db", LR_DB)
def test_librosa_melspectrogram_db(options, db):
    x = clips(22061, 22050, MFCC_LEVELS)
    ours = run(layer(frontends.librosa_melspectrogram, db=db, **options), x)
    check_log_either("librosa_melspectrogram(db)", {
        "librosa melspectrogram + power_to_db per clip (float64)": librosa_mel_ref(x, db=db, sr=22050, **options),
        "librosa melspectrogram + power_to_db per clip (float32)": librosa_mel_ref(x, db=db, float64=False,
                                                                                  sr=22050, **options)}, ours,
        reading=("db", None))


LR_MFCC = [
    (22050, 22061, {}),  # 20 coefficients, ortho DCT-II, power_to_db(top_db=80) of the default melspectrogram
    (22050, 22050, dict(n_mfcc=13, lifter=22, n_fft=1024, hop_length=256, n_mels=40)),
    (16000, 16037, dict(sr=16000, norm=None, n_fft=512, hop_length=160, win_length=400, window="hamming",
                        center=False, fmax=8000.0, htk=True, n_mels=64)),
    (22050, 22061, dict(n_mfcc=30, lifter=40, pad_mode="reflect", n_fft=1024, hop_length=256, mel_norm=None)),
]


@pytest.mark.parametrize("sr, length, options", LR_MFCC)
def test_librosa_mfcc(sr, length, options):
    x = clips(length, sr, MFCC_LEVELS)
    ours = run(layer(frontends.librosa_mfcc, **options), x)
    options = {k: v for k, v in options.items() if k != "sr"}
    check_log_either("librosa_mfcc", {
        "librosa.feature.mfcc per clip (float64)": librosa_mfcc_ref(x, sr=sr, **options),
        "librosa.feature.mfcc per clip (float32)": librosa_mfcc_ref(x, float64=False, sr=sr, **options)}, ours,
        reading=("mfcc", math.sqrt(options.get("n_mels", 128)) if options.get("norm", "ortho") == "ortho"
                 else 2.0 * options.get("n_mels", 128)))


# ------------------------------------------------------------------------------------------------------ float64
# In float32 a bin 100-135 dB below its clip's maximum holds STFT rounding (~1e-7 of the frame's magnitude):
# outputs without a floor there (PANNs, CLAP, YAMNet's log(x + 0.001) on quiet bands, power_to_db with
# top_db=None) differ between any two float32 implementations by more than 1e-3. The layers in float64 against
# the float64 references show that the algorithm is the reference's to 1e-3 on every bin.


FLOAT64 = {
    "panns_log_mel": (lambda: frontends.panns_log_mel(dtype="float64"), 64111, 32000,
                      lambda x: panns_ref(x, float64=True), "torchlibrosa (float64)"),
    "clap_log_mel_htk": (lambda: frontends.clap_log_mel(dtype="float64"), 48123, 48000,
                         lambda x: clap_ref(x, "htk"), "ClapFeatureExtractor (mel_filters)"),
    "yamnet_log_mel": (lambda: frontends.yamnet_log_mel(patches=True, dtype="float64"), 32077, 16000,
                       lambda x: audioset_patches_ref(audioset_log_mel_ref(x, 0.001), 48), YAMNET),
    "librosa_mfcc": (lambda: frontends.librosa_mfcc(dtype="float64"), 22061, 22050,
                     lambda x: librosa_mfcc_ref(x, sr=22050), "librosa.feature.mfcc (float64)"),
}


@pytest.mark.parametrize("name", sorted(FLOAT64))
def test_float64_layer_equals_float64_reference(name):
    make, length, sr, reference, label = FLOAT64[name]
    x = clips(length, sr, MFCC_LEVELS).astype(np.float64)
    with float64_backend():
        ours = run(make(), x)
    assert ours.dtype == np.float64
    check_log(f"{name} (float64 layer)", label, ours, reference(x))


# ------------------------------------------------------------------------------- shared properties of every layer

# name -> (builder, options, sample rate, length, levels): the layers and inputs of the reference tests above
SHARED = {
    "whisper_log_mel": (frontends.whisper_log_mel, dict(n_mels=80), 16000, 32077, W_LEVELS),
    "whisper_log_mel(floor='batch')": (frontends.whisper_log_mel, dict(floor="batch"), 16000, 32077, W_LEVELS),
    "panns_log_mel": (frontends.panns_log_mel, PANNS_16K, 16000, 16000, (1.0,) * 4),
    "clap_log_mel": (frontends.clap_log_mel, dict(mel_scale="htk", **CLAP_16K), 16000, 16037, (1.0,) * 4),
    "yamnet_log_mel": (frontends.yamnet_log_mel, {}, 16000, 32077, (1.0,) * 4),
    "vggish_log_mel(patches)": (frontends.vggish_log_mel, dict(patches=True), 16000, 32077, (1.0,) * 4),
    "torchaudio_melspectrogram": (frontends.torchaudio_melspectrogram, TA_MEL[1][2], 16000, 16000, (1.0,) * 4),
    "torchaudio_mfcc": (frontends.torchaudio_mfcc, TA_MFCC[1][2], 16000, 16037, MFCC_LEVELS),
    "librosa_melspectrogram(db)": (frontends.librosa_melspectrogram, dict(db=LR_DB[1][1], **LR_DB[1][0]), 22050,
                                   22061, MFCC_LEVELS),
    "librosa_mfcc": (frontends.librosa_mfcc, LR_MFCC[1][2], 22050, 22050, MFCC_LEVELS),
}
DEFAULT_LAYOUT = {"whisper": "features_first", "torchaudio": "features_first", "librosa": "features_first"}


def _default_layout(name):
    return DEFAULT_LAYOUT.get(name.split("_")[0], "frames_first")


@pytest.mark.parametrize("name", sorted(SHARED))
def test_layout_channels_keras_round_trip_and_output_shape(name, tmp_path):
    """The other layout, on a (batch, samples, channels) input, in a model saved as .keras and loaded with
    safe_mode=True: the default layer's output transposed, each channel its own clip; compute_output_shape is
    the eager shape."""
    builder, options, sr, length, levels = SHARED[name]
    x = clips(length, sr, levels)
    default_layer = layer(builder, **options)
    default = run(default_layer, x)
    assert tuple(default_layer.compute_output_shape((None, length))) == (None, *default.shape[1:])

    other = {"features_first": "frames_first", "frames_first": "features_first"}[_default_layout(name)]
    model = keras.Sequential([keras.Input((length, 2)), builder(layout=other, **options)])
    loaded = save_and_load(model, tmp_path)
    assert loaded.layers[-1].get_config() == model.layers[-1].get_config()
    stereo = np.stack([x[:2], x[2:]], axis=-1)  # channel c of example b is clip 2c + b
    out = run(loaded, stereo)
    # the whole batch holds the same 4 clips: the batch floor is the same too
    expected = np.swapaxes(np.stack([default[:2], default[2:]], axis=-1), -2, -3)
    assert out.shape == expected.shape
    assert tuple(loaded.layers[-1].compute_output_shape((None, length, 2))) == (None, *out.shape[1:])
    np.testing.assert_allclose(out, expected, atol=1e-5 * max(1.0, float(np.max(np.abs(expected)))), rtol=0)


@pytest.mark.parametrize("name", ["whisper_log_mel", "torchaudio_mfcc", "librosa_melspectrogram(db)",
                                  "librosa_mfcc"])
def test_batched_equals_per_clip(name):
    """The front-ends with a floor below each clip's maximum: a clip's output does not depend on its batch."""
    builder, options, sr, length, levels = SHARED[name]
    x = clips(length, sr, levels)
    batched = run(layer(builder, **options), x)
    for i in range(len(x)):
        single = run(layer(builder, **options), x[i : i + 1])[0]
        scale = max(float(np.max(np.abs(batched[i]))), 1.0)
        np.testing.assert_allclose(batched[i], single, atol=1e-5 * scale, rtol=0, err_msg=f"{name} clip {i}")


# name -> (builder, options, edge lengths, reference shape function or None)
EDGES = {
    "whisper_log_mel": (frontends.whisper_log_mel, {}, [319, 320], lambda x: whisper_ref(x, 80).shape),
    "whisper_log_mel(pad_or_trim)": (frontends.whisper_log_mel, dict(pad_or_trim=True), [400, 16001], None),
    "yamnet_log_mel": (frontends.yamnet_log_mel, {}, [559, 560], lambda x: audioset_log_mel_ref(x, 0.001).shape),
    "yamnet_log_mel(patches)": (frontends.yamnet_log_mel, dict(patches=True), [23279, 23280],
                                lambda x: yamnet_tf_ref(x)[1].shape),
    "torchaudio_melspectrogram": (frontends.torchaudio_melspectrogram, dict(n_fft=512, win_length=400,
                                                                            hop_length=160, center=False),
                                  [671, 672], lambda x: torchaudio_mel_ref(x, n_fft=512, win_length=400,
                                                                           hop_length=160, center=False).shape),
    "librosa_melspectrogram": (frontends.librosa_melspectrogram, {}, [2559, 2560],
                               lambda x: librosa_mel_ref(x, sr=22050).shape),
}


def noise_batch(length):
    return (0.1 * np.random.default_rng(length).standard_normal((2, length))).astype(np.float32)


@pytest.mark.parametrize("name", sorted(EDGES))
def test_compute_output_shape_at_edge_lengths(name):
    builder, options, lengths, reference_shape = EDGES[name]
    layer_ = builder(**options)
    for length in lengths:
        x = noise_batch(length)
        eager = run(layer_, x).shape
        assert tuple(layer_.compute_output_shape((None, length))) == (None, *eager[1:]), (name, length)
        if reference_shape is not None:  # the default layout is the reference's own
            assert eager == tuple(reference_shape(x)), (name, length, eager)


# -------------------------------------------------------------------------------------------------------- errors

INVALID = [
    (frontends.whisper_log_mel, dict(n_mels=64), "n_mels"),
    (frontends.whisper_log_mel, dict(floor="global"), "floor"),
    (frontends.whisper_log_mel, dict(layout="time_first"), "layout"),
    (frontends.panns_log_mel, dict(window_size=0), "window_size"),
    (frontends.panns_log_mel, dict(hop_size=0), "hop_size"),
    (frontends.panns_log_mel, dict(mel_bins=0), "mel_bins"),
    (frontends.panns_log_mel, dict(fmin=-1.0), "fmin"),
    (frontends.panns_log_mel, dict(fmin=9000.0, fmax=8000.0), "fm(in|ax)"),
    (frontends.clap_log_mel, dict(mel_scale="kaldi"), "mel_scale"),
    (frontends.clap_log_mel, dict(feature_size=0), "feature_size"),
    (frontends.clap_log_mel, dict(hop_length=-480), "hop_length"),
    (frontends.yamnet_log_mel, dict(patch_hop_seconds=0.0), "patch_hop_seconds"),
    (frontends.yamnet_log_mel, dict(layout="channels_last"), "layout"),
    (frontends.vggish_log_mel, dict(patch_hop_seconds=-0.96), "patch_hop_seconds"),
    (frontends.torchaudio_melspectrogram, dict(n_fft=400, win_length=500), "win_length"),
    (frontends.torchaudio_melspectrogram, dict(mel_scale="bark"), "mel_scale"),
    (frontends.torchaudio_melspectrogram, dict(norm="l2"), "norm"),
    (frontends.torchaudio_melspectrogram, dict(pad_mode="wrap"), "pad_mode"),
    (frontends.torchaudio_melspectrogram, dict(hop_length=0), "hop_length"),
    (frontends.torchaudio_melspectrogram, dict(n_mels=0), "n_mels"),
    (frontends.torchaudio_melspectrogram, dict(power=-1.0), "power"),
    (frontends.torchaudio_melspectrogram, dict(f_min=5000.0, f_max=4000.0), "f_m(in|ax)"),
    (frontends.torchaudio_mfcc, dict(n_mfcc=200), "n_mfcc"),
    (frontends.torchaudio_mfcc, dict(dct_type=3), "dct_type"),
    (frontends.torchaudio_mfcc, dict(norm="l1"), "norm"),
    (frontends.torchaudio_mfcc, dict(melkwargs=dict(n_fft=0)), "n_fft"),
    (frontends.librosa_melspectrogram, dict(window="no_such_window"), "window"),
    (frontends.librosa_melspectrogram, dict(pad_mode="bogus"), "pad_mode"),
    (frontends.librosa_melspectrogram, dict(n_fft=1024, win_length=2048), "win_length"),
    (frontends.librosa_melspectrogram, dict(norm="l3"), "norm"),
    (frontends.librosa_melspectrogram, dict(db=dict(top_db=-1.0)), "top_db"),
    (frontends.librosa_melspectrogram, dict(db=dict(amin=0.0)), "amin"),
    (frontends.librosa_melspectrogram, dict(db=dict(ref=-1.0)), "ref"),
    (frontends.librosa_mfcc, dict(dct_type=4), "dct_type"),
    (frontends.librosa_mfcc, dict(dct_type=3), "dct_type"),  # librosa's DCT-III: not offered, refused by name
    (frontends.librosa_mfcc, dict(lifter=-1), "lifter"),
    (frontends.librosa_mfcc, dict(n_mfcc=0), "n_mfcc"),
    (frontends.librosa_mfcc, dict(norm="l2"), "norm"),
]


@pytest.mark.parametrize("builder, options, argument", INVALID,
                         ids=[f"{b.__name__}-{'-'.join(map(str, o))}" for b, o, _ in INVALID])
def test_invalid_options_raise_value_error_naming_the_argument(builder, options, argument):
    with pytest.raises(ValueError, match=argument):
        builder(**options)


TOO_SHORT = [
    (frontends.yamnet_log_mel, {}, 399),  # one 400-sample window
    (frontends.vggish_log_mel, {}, 399),
    (frontends.yamnet_log_mel, dict(patches=True), 15599),  # one 96-frame patch
    (frontends.vggish_log_mel, dict(patches=True), 15599),
    (frontends.torchaudio_melspectrogram, dict(center=False), 399),
    (frontends.librosa_mfcc, dict(center=False), 2047),
    (frontends.torchaudio_melspectrogram, dict(n_fft=512, win_length=400, center=False), 511),  # n_fft frames
    (frontends.whisper_log_mel, {}, 200),  # reflect padding of 200 needs more than 200 samples
]


@pytest.mark.parametrize("builder, options, length", TOO_SHORT,
                         ids=[f"{b.__name__}-{'-'.join(map(str, o))}-{n}" for b, o, n in TOO_SHORT])
def test_too_short_input_raises_value_error(builder, options, length):
    layer_ = builder(**options)
    with pytest.raises(ValueError):
        layer_.compute_output_shape((None, length))
    with pytest.raises(ValueError):
        run(layer_, noise_batch(length))
