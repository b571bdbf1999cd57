"""The workloads of issue 5 (float32 uniform noise in [-1, 1], fixed seed; periodic Hann; Slaney mel, Slaney norm,
fmin 0, fmax sr/2; power 2; dB = 10 log10(max(S, 1e-10)), top_db 80 per clip; center=False), and the model
front-ends' (``FRONTENDS``: each kapre.frontends builder's defaults, the same noise)."""

from __future__ import annotations

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
    """``(batch, samples)`` float32 uniform noise in [-1, 1], seed 0."""
    return np.random.default_rng(0).uniform(-1.0, 1.0, (w["batch"], w["seconds"] * w["sr"])).astype("float32")
