"""An independent NumPy transcription of the published AudioSet feature code (tensorflow/models, research/audioset:
``vggish/mel_features.py``, ``vggish_input.py``, ``yamnet/features.py``), the reference of kapre's
``yamnet_log_mel`` and ``vggish_log_mel`` in tests/test_frontends_spectral.py and the NumPy rows of the benchmark.

16 kHz; window ``round(0.025 * 16000) = 400`` samples, hop ``round(0.010 * 16000) = 160``, FFT length the next
power of two (512), periodic Hann, ``|rfft|`` (zero-padded at the end), no centring, only complete frames; HTK-mel
triangles between 125 and 7500 Hz over the linearly spaced bins, the DC bin zeroed; ``log(mel + offset)`` (VGGish
0.01, YAMNet 0.001); patches of 96 frames (0.96 s).
"""

from __future__ import annotations

import numpy as np

WINDOW, HOP, FFT_LENGTH = 400, 160, 512


def frame(data: np.ndarray, length: int, hop: int) -> np.ndarray:
    """Complete frames of ``length`` every ``hop`` along axis 0, a strided view (``mel_features.frame``)."""
    data = np.ascontiguousarray(data)
    count = 1 + (data.shape[0] - length) // hop
    shape = (count, length) + data.shape[1:]
    strides = (data.strides[0] * hop,) + data.strides
    return np.lib.stride_tricks.as_strided(data, shape=shape, strides=strides, writeable=False)


def periodic_hann(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi / n * np.arange(n))


def hertz_to_mel(f):
    return 1127.0 * np.log(1.0 + np.asarray(f, np.float64) / 700.0)


def mel_matrix(n_mels: int = 64, n_bins: int = 257, sr: int = 16000, low: float = 125.0,
               high: float = 7500.0) -> np.ndarray:
    """``mel_features.spectrogram_to_mel_matrix``: ``(n_bins, n_mels)``."""
    bins_mel = hertz_to_mel(np.linspace(0.0, sr / 2, n_bins))
    edges = np.linspace(hertz_to_mel(low), hertz_to_mel(high), n_mels + 2)
    weights = np.empty((n_bins, n_mels))
    for i in range(n_mels):
        lower, center, upper = edges[i : i + 3]
        rising = (bins_mel - lower) / (center - lower)
        falling = (upper - bins_mel) / (upper - center)
        weights[:, i] = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights


def log_mel_spectrogram(clip: np.ndarray, log_offset: float, matrix: np.ndarray | None = None) -> np.ndarray:
    """``mel_features.log_mel_spectrogram`` of one clip: ``(frames, 64)``, float64."""
    matrix = mel_matrix() if matrix is None else matrix
    frames = frame(np.asarray(clip, np.float64), WINDOW, HOP) * periodic_hann(WINDOW)
    magnitude = np.abs(np.fft.rfft(frames, FFT_LENGTH))
    return np.log(magnitude @ matrix + log_offset)


def patches(log_mel: np.ndarray, hop_frames: int, window_frames: int = 96) -> np.ndarray:
    """Complete patches of ``window_frames`` frames every ``hop_frames`` of one clip's log mel."""
    return frame(log_mel, window_frames, hop_frames)
