"""The workloads of issue 5 (float32 uniform noise in [-1, 1], fixed seed; periodic Hann; Slaney mel, Slaney norm,
fmin 0, fmax sr/2; power 2; dB = 10 log10(max(S, 1e-10)), top_db 80 per clip; center=False), and the model
front-ends' (``FRONTENDS``: each kapre.frontends builder's defaults, the same noise)."""

from __future__ import annotations

import functools

import numpy as np

W1 = dict(batch=16, seconds=10, sr=22050, n_fft=2048, hop=512, n_mels=128)
W2 = dict(batch=64, seconds=1, sr=16000, n_fft=512, hop=160, n_mels=64)

WORKLOADS = {
    "W1 log-mel": dict(W1, task="logmel"),
    "W2 log-mel": dict(W2, task="logmel"),
    "STFT magnitude (W1)": dict(W1, task="stft_mag"),
    "MFCC-20 (W1)": dict(W1, task="mfcc"),
    "STFT->iSTFT (W1)": dict(W1, task="roundtrip"),
}
SWEEP_SECONDS = (1, 4, 16, 64)
SWEEP_BATCHES = (1, 8, 64)
for _seconds in SWEEP_SECONDS:
    for _batch in SWEEP_BATCHES:
        WORKLOADS[f"sweep {_batch}x{_seconds}s"] = dict(W2, batch=_batch, seconds=_seconds, task="logmel")

# The model front-ends (kapre.frontends), each against its reference implementation(s) on the same batch: 8 clips
# of 10 s at the front-end's rate (Whisper: 8 x 30 s), built with the builder's defaults (``kwargs``). ``refs``:
# reference impl (benchmarks/frontends.py) -> its row's name; the first is the reference the deviation is from.
FRONTENDS = {
    "whisper_log_mel": dict(sr=16000, seconds=30, refs={
        "ref_whisper_clip": "whisper.audio.log_mel_spectrogram per clip",
        "ref_whisper_batch": "whisper.audio.log_mel_spectrogram on the batch"}),
    "kaldi_fbank": dict(sr=16000, refs={
        "ref_ta_kaldi": "torchaudio.compliance.kaldi.fbank per clip",
        "ref_knf": "kaldi-native-fbank OnlineFbank per clip"}),
    "kaldi_mfcc": dict(sr=16000, refs={"ref_ta_kaldi": "torchaudio.compliance.kaldi.mfcc per clip"}),
    "ast_fbank": dict(sr=16000, refs={"ref_ast": "transformers ASTFeatureExtractor (torchaudio kaldi fbank)"}),
    "beats_fbank": dict(sr=16000, refs={"ref_beats": "BEATs.preprocess (torchaudio kaldi fbank per clip)"}),
    "panns_log_mel": dict(sr=32000, refs={
        "ref_torchlibrosa": "torchlibrosa Spectrogram + LogmelFilterBank (batched)"}),
    "clap_log_mel": dict(sr=48000, refs={
        "ref_clap": "transformers ClapFeatureExtractor._np_extract_fbank_features per clip"}),
    "yamnet_log_mel": dict(sr=16000, refs={
        "ref_tf_signal": "YAMNet features.py (tf.signal, batched)",
        "ref_numpy_mel": "NumPy transcription (mel_features) per clip"}),
    "vggish_log_mel": dict(sr=16000, refs={
        "ref_numpy_mel": "VGGish mel_features.py (NumPy) per clip",
        "ref_tf_signal": "tf.signal transcription (batched)"}),
    "torchaudio_melspectrogram": dict(sr=16000, refs={
        "ref_ta_transforms": "torchaudio.transforms.MelSpectrogram (batched)"}),
    "torchaudio_mfcc": dict(sr=16000, refs={
        "ref_ta_transforms": "torchaudio.transforms.MFCC (x[:, None]: top_db per clip)"}),
    "librosa_melspectrogram": dict(sr=22050, refs={"ref_librosa": "librosa.feature.melspectrogram (batched)"}),
    "librosa_mfcc": dict(sr=22050, refs={"ref_librosa": "librosa.feature.mfcc per clip"}),
}
FRONTEND_WORKLOADS = []
for _name, _fe in FRONTENDS.items():
    _fe = dict(dict(batch=8, seconds=10, kwargs={}), **_fe, frontend=_name, task="frontend")
    _workload = f"{_name} ({_fe['batch']} x {_fe['seconds']} s, {_fe['sr'] / 1000:g} kHz)"
    WORKLOADS[_workload] = _fe
    FRONTEND_WORKLOADS.append(_workload)
FRONTEND_WORKLOADS = tuple(FRONTEND_WORKLOADS)


def make_input(w) -> np.ndarray:
    """``(batch, samples)`` float32 uniform noise in [-1, 1], seed 0; music-like audio (``make_music``, seed 0) for a
    workload with ``signal="music"``."""
    if w.get("signal") == "music":
        return make_music(w["batch"], w["seconds"], w["sr"]).copy()
    return np.random.default_rng(0).uniform(-1.0, 1.0, (w["batch"], w["seconds"] * w["sr"])).astype("float32")

# Issue 17: the constant-Q transform and resampling (``python benchmarks/run.py --suite constantq``), on a music-like
# batch (``signal="music"``: ``make_music``), 16 clips x 10 s. ``refs``: reference impl (benchmarks/constantq.py) ->
# its row's name, the first the one the deviation is measured from (``deviation``: "relative" = ||y - ref|| /
# ||ref|| over the batch, "max_abs" = max |y - ref|); ``target``: the speed-up kapre's fastest backend must reach over
# the fastest reference (the acceptance).
C1_HZ = 32.70319566257483  # librosa.note_to_hz("C1"): CQT's default fmin
KAISER_BEST = dict(lowpass_filter_width=64, rolloff=0.9475937167399596, resampling_method="sinc_interp_kaiser",
                   beta=14.769656459379492)  # torchaudio's docs' (and librosa/resampy's) "kaiser_best"
CQT_REFS = {
    "ref_librosa_cqt_clip": "librosa.cqt per clip",
    "ref_librosa_cqt_batch": "librosa.cqt on the batch",
    "ref_nnaudio_cqt1992v2": "nnAudio CQT1992v2 (batched)",
    "ref_nnaudio_cqt2010v2": "nnAudio CQT2010v2 (batched)",
}
RESAMPLE_REFS = {
    "ref_ta_resample": "torchaudio.functional.resample",
    "ref_ta_resample_transform": "torchaudio.transforms.Resample (kernel built once)",
}
CONSTANTQ = {
    "CQT magnitude (16 x 10 s music, 22.05 kHz, hop 512, 84 bins)": dict(
        task="cqt", sr=22050, hop=512, n_bins=84, bins_per_octave=12, fmin=C1_HZ, refs=CQT_REFS,
        deviation="relative", target=1.5),
    "Resample 44.1 -> 16 kHz (16 x 10 s music)": dict(task="resample", sr=44100, new_sr=16000, kwargs={},
                                                      refs=RESAMPLE_REFS, deviation="max_abs", target=1.0),
    "Resample 44.1 -> 16 kHz, kaiser_best": dict(task="resample", sr=44100, new_sr=16000, kwargs=KAISER_BEST,
                                                 refs=RESAMPLE_REFS, deviation="max_abs", target=1.0),
    "Resample 48 -> 44.1 kHz (16 x 10 s music)": dict(task="resample", sr=48000, new_sr=44100, kwargs={},
                                                      refs=RESAMPLE_REFS, deviation="max_abs", target=1.0),
    "Resample 48 -> 44.1 kHz, kaiser_best": dict(task="resample", sr=48000, new_sr=44100, kwargs=KAISER_BEST,
                                                 refs=RESAMPLE_REFS, deviation="max_abs", target=1.0),
}
for _name, _w in CONSTANTQ.items():
    WORKLOADS[_name] = dict(dict(batch=16, seconds=10, signal="music"), **_w)
CONSTANTQ_WORKLOADS = tuple(CONSTANTQ)
CQT_WORKLOADS = tuple(name for name in CONSTANTQ if CONSTANTQ[name]["task"] == "cqt")
RESAMPLE_WORKLOADS = tuple(name for name in CONSTANTQ if CONSTANTQ[name]["task"] == "resample")


@functools.lru_cache(maxsize=2)  # several workloads of one worker share a rate; about 3 s to make on a small CPU
def make_music(batch: int, seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """``(batch, samples)`` float32 music-like audio, deterministic (``seed``) and the same notes at any ``sr``: per
    clip a sequence of notes of 0.2-0.6 s, each a chord of 1-3 pitches (MIDI 28-96, E1-C7, equal temperament), each
    pitch 8 harmonics below Nyquist (amplitude 0.7**k / k) under a 10-ms attack and an exponential decay, plus noise
    60 dB below; each clip scaled to a peak of 0.5."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    out = np.zeros((batch, n))
    for b in range(batch):
        start = 0.0
        while start < seconds:
            length = rng.uniform(0.2, 0.6)
            pitches = rng.integers(28, 97, size=rng.integers(1, 4))
            decay = rng.uniform(2.0, 8.0)
            i0, i1 = int(start * sr), min(n, int((start + length + 0.3) * sr))  # 0.3 s of release overlaps
            t = np.arange(i1 - i0) / sr
            envelope = np.minimum(t / 0.01, 1.0) * np.exp(-decay * t)
            for midi in pitches:
                f0 = 440.0 * 2.0 ** ((midi - 69) / 12.0)
                phase = rng.uniform(0, 2 * np.pi)
                for k in range(1, 9):
                    if k * f0 < 0.45 * min(sr, 22050):  # the same partials at every rate
                        out[b, i0:i1] += 0.7**k / k * envelope * np.sin(2 * np.pi * k * f0 * t + k * phase)
            start += length
        out[b] += 1e-3 * rng.standard_normal(n)
        out[b] *= 0.5 / np.abs(out[b]).max()
    return out.astype("float32")
