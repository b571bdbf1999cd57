"""The built-in clip of ``kapre demo``: four seconds generated in NumPy, no file and no network.

0.0-1.5 s  an exponential chirp from 60 Hz to 8 kHz (a rising curve in every spectrogram)
1.5-3.1 s  two harmonic tones (A3, then E4 over it) with vibrato: stacks of wavy partials
0.6, 3.2 s noise bursts (broadband, then high-passed): vertical bands
3.45-3.95 s clicks every 0.1 s: thin vertical lines
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEMO_SAMPLE_RATE", "DEMO_DESCRIPTION", "demo_clip"]

DEMO_SAMPLE_RATE = 22050
DEMO_DESCRIPTION = "chirp 60 Hz-8 kHz, harmonic tones with vibrato, noise bursts, clicks"


def _envelope(t: np.ndarray, start: float, stop: float, fade: float) -> np.ndarray:
    rise = np.clip((t - start) / fade, 0.0, 1.0)
    fall = np.clip((stop - t) / fade, 0.0, 1.0)
    return np.minimum(rise, fall)


def _harmonic_tone(t: np.ndarray, f0: float, n_partials: int, vibrato_hz: float, depth: float) -> np.ndarray:
    # Instantaneous frequency f0 * (1 + depth * sin(2 pi v t)); integrate for the phase.
    phase = 2 * np.pi * f0 * (t - depth / (2 * np.pi * vibrato_hz) * np.cos(2 * np.pi * vibrato_hz * t))
    return sum(np.sin(k * phase) / k for k in range(1, n_partials + 1))


def demo_clip(sample_rate: int = DEMO_SAMPLE_RATE, duration: float = 4.0, seed: int = 0) -> np.ndarray:
    """The demo signal, float32 of shape ``(samples,)``, peak 0.9.

    Args:
        sample_rate: sampling rate in Hz (at least 16 kHz keeps the chirp below Nyquist).
        duration: length in seconds; the events are placed for 4 s.
        seed: seed of the noise.
    """
    n = int(round(sample_rate * duration))
    t = np.arange(n) / sample_rate
    rng = np.random.default_rng(seed)
    signal = np.zeros(n)

    # Exponential chirp 60 Hz -> 8 kHz in 1.5 s.
    f_start, f_stop, length = 60.0, min(8000.0, 0.45 * sample_rate), 1.5
    rate = np.log(f_stop / f_start) / length
    chirp_phase = 2 * np.pi * f_start * (np.exp(rate * np.minimum(t, length)) - 1) / rate
    signal += 0.5 * np.sin(chirp_phase) * _envelope(t, 0.0, length, 0.02)

    # Harmonic tones with vibrato.
    signal += 0.12 * _harmonic_tone(t, 220.0, 12, 5.5, 0.02) * _envelope(t, 1.55, 3.1, 0.05)
    signal += 0.08 * _harmonic_tone(t, 329.63, 10, 6.5, 0.015) * _envelope(t, 2.3, 3.1, 0.05)

    # Noise bursts: broadband at 0.6 s, high-passed (first difference) at 3.2 s.
    white = rng.standard_normal(n)
    signal += 0.15 * white * _envelope(t, 0.6, 0.75, 0.01)
    high = np.diff(white, prepend=0.0) / 2
    signal += 0.2 * high * _envelope(t, 3.15, 3.3, 0.01)

    # Clicks: short decaying impulses every 0.1 s.
    for start in np.arange(3.45, 3.95, 0.1):
        i = int(start * sample_rate)
        k = np.arange(min(64, n - i))
        signal[i : i + k.size] += 0.8 * np.exp(-k / 6.0) * np.cos(np.pi * k / 3)

    signal += 1e-4 * rng.standard_normal(n)  # a faint noise floor so silence is not -inf dB
    return (0.9 * signal / np.max(np.abs(signal))).astype(np.float32)
