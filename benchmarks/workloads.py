"""The workloads of issue 5 (float32 uniform noise in [-1, 1], fixed seed; periodic Hann; Slaney mel, Slaney norm,
fmin 0, fmax sr/2; power 2; dB = 10 log10(max(S, 1e-10)), top_db 80 per clip; center=False)."""

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


def make_input(w) -> np.ndarray:
    """``(batch, samples)`` float32 uniform noise in [-1, 1], seed 0."""
    return np.random.default_rng(0).uniform(-1.0, 1.0, (w["batch"], w["seconds"] * w["sr"])).astype("float32")
