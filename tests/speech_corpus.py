"""A small corpus of synthetic, speech-like audio files for tests: no download, no external program, seeded.

:func:`make_speech_corpus` writes :data:`CORPUS` (15 files, or 12 where soundfile cannot write MP3) below a folder,
in subfolders per "language" (``en/``, ``en/news/``, ``fr/``, ``de/``):

* sample rates 8000, 16000, 22050, 44100 and 48000 Hz, each in mono and in stereo files (the two channels differ:
  the second is delayed, has another gain and panning wobble and its own noise floor);
* formats WAV (PCM_16 and FLOAT), FLAC (PCM_16 and PCM_24), Ogg Vorbis and MP3;
* 0.4, 1, 1.6, 2.2 or 3 s each.

Each file is a "sentence": syllables whose voiced part is a glottal pulse train (Rosenberg pulses, differentiated for
the lip radiation, with a smooth f0 contour between 80 and 250 Hz and a little aspiration noise) through four formant
resonators (vowel formants gliding within a syllable), with unvoiced noise bursts (fricatives, plosive bursts) before
or after it; pauses between words are digital silence (exact zeros) or very low noise (60-75 dB below the peak);
every file starts and ends with digital silence. All filtering is done in NumPy (FFT), so a corpus takes well under a
second to make.

The corpus is built so that a decibel spectrogram of any of its files spans more than 80 dB: both sides of an 80 dB
floor (``top_db``) are populated, and the low-noise pauses sit close to it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CorpusFile", "CORPUS", "SAMPLE_RATES", "mp3_writable", "corpus_files", "synthesize_speech",
           "make_speech_corpus"]

SAMPLE_RATES = (8000, 16000, 22050, 44100, 48000)


@dataclass(frozen=True)
class CorpusFile:
    """One file of the corpus: where (relative, with extension), rate, channels, length and soundfile subtype."""

    path: str
    sample_rate: int
    channels: int
    seconds: float
    subtype: str

    @property
    def format(self) -> str:
        return {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "mp3": "MP3"}[self.path.rsplit(".", 1)[1]]


# Every rate has mono and stereo files; every stem is unique (the outputs of `kapre extract` are <stem>.npy). Five
# lengths only: files of one length have the same number of samples at 16 kHz, and a compiled backend (JAX) compiles
# a layer once per input shape.
CORPUS = (
    CorpusFile("en/greeting.wav", 16000, 1, 1.6, "PCM_16"),
    CorpusFile("en/question.wav", 44100, 2, 2.2, "FLOAT"),
    CorpusFile("en/short.flac", 8000, 1, 0.4, "PCM_16"),
    CorpusFile("en/reading.ogg", 48000, 2, 3.0, "VORBIS"),
    CorpusFile("en/news/headline.mp3", 22050, 1, 1.0, "MPEG_LAYER_III"),
    CorpusFile("en/news/weather.flac", 48000, 1, 2.2, "PCM_24"),
    CorpusFile("fr/bonjour.wav", 22050, 1, 1.0, "PCM_16"),
    CorpusFile("fr/phrase.flac", 44100, 2, 3.0, "PCM_16"),
    CorpusFile("fr/chuchote.ogg", 16000, 1, 1.0, "VORBIS"),
    CorpusFile("fr/radio.mp3", 44100, 2, 1.6, "MPEG_LAYER_III"),
    CorpusFile("fr/lent.wav", 8000, 2, 2.2, "FLOAT"),
    CorpusFile("de/hallo.ogg", 22050, 2, 0.4, "VORBIS"),
    CorpusFile("de/zahlen.mp3", 16000, 2, 1.6, "MPEG_LAYER_III"),
    CorpusFile("de/satz.wav", 44100, 1, 3.0, "PCM_16"),
    CorpusFile("de/telefon.flac", 8000, 1, 1.0, "PCM_16"),
)

# (F1, F2, F3, F4) in Hz of a few vowels; bandwidths grow with the formant number.
VOWELS = (
    (730.0, 1090.0, 2440.0, 3400.0),  # a
    (530.0, 1840.0, 2480.0, 3500.0),  # e
    (270.0, 2290.0, 3010.0, 3700.0),  # i
    (570.0, 840.0, 2410.0, 3300.0),  # o
    (300.0, 870.0, 2240.0, 3200.0),  # u
)
BANDWIDTHS = (60.0, 90.0, 130.0, 180.0)


def mp3_writable() -> bool:
    """Whether the installed soundfile (libsndfile >= 1.1 built with LAME and mpg123) can write MP3."""
    import soundfile as sf

    return "MP3" in sf.available_formats() and "MPEG_LAYER_III" in sf.available_subtypes("MP3")


def corpus_files(mp3: bool | None = None) -> list[CorpusFile]:
    """The entries of :data:`CORPUS` that can be written here (``mp3=None``: MP3 ones if :func:`mp3_writable`)."""
    if mp3 is None:
        mp3 = mp3_writable()
    return [f for f in CORPUS if mp3 or f.format != "MP3"]


def _ramp_envelope(n: int, ramp: int) -> np.ndarray:
    env = np.ones(n)
    ramp = min(ramp, n // 2)
    if ramp > 0:
        rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
        env[:ramp] = rise
        env[n - ramp :] = rise[::-1]
    return env


def _fft_filter(x: np.ndarray, response) -> np.ndarray:
    """``x`` through a filter given by its frequency response ``response(freqs in cycles/sample)``; zero-padded so that
    the (short) impulse response does not wrap around."""
    n = len(x)
    size = 1 << int(np.ceil(np.log2(n + 4096)))
    spectrum = np.fft.rfft(x, size)
    return np.fft.irfft(spectrum * response(np.fft.rfftfreq(size)), size)[:n]


def _formant_response(formants, sample_rate: int):
    def response(freqs):
        z1 = np.exp(-2j * np.pi * freqs)
        h = np.ones_like(z1)
        for freq, bandwidth in zip(formants, BANDWIDTHS, strict=False):
            if freq >= 0.45 * sample_rate:
                continue
            r = np.exp(-np.pi * bandwidth / sample_rate)
            c = 2 * r * np.cos(2 * np.pi * freq / sample_rate)
            h = h * (1 - c + r * r) / (1 - c * z1 + r * r * z1 * z1)  # unit gain at 0 Hz
        return h

    return response


def _band_response(low: float, high: float, sample_rate: int):
    low, high = low / sample_rate, min(high, 0.45 * sample_rate) / sample_rate

    def response(freqs):
        # smooth band-pass: 4th-order-like skirts on both sides
        return 1 / np.sqrt(1 + (low / np.maximum(freqs, 1e-9)) ** 8) / np.sqrt(1 + (freqs / high) ** 8)

    return response


def _glottal_source(f0: np.ndarray, sample_rate: int) -> np.ndarray:
    """Rosenberg glottal flow pulses at the instantaneous ``f0``, differentiated (lip radiation)."""
    phase = np.cumsum(f0 / sample_rate)
    p = phase - np.floor(phase)
    opening, closing = 0.4, 0.16
    flow = np.where(p < opening, 0.5 - 0.5 * np.cos(np.pi * p / opening), 0.0)
    closing_part = (p >= opening) & (p < opening + closing)
    flow = np.where(closing_part, np.cos(0.5 * np.pi * (p - opening) / closing), flow)
    return np.diff(flow, prepend=0.0) * sample_rate / 1000.0


def _plan(n: int, sample_rate: int, rng: np.random.Generator) -> list[tuple[str, int, int]]:
    """Segments ``(kind, start, stop)`` filling ``n`` samples: kinds 'silence', 'hush' (very low noise),
    'voiced', 'fricative', 'burst'. Starts and ends with silence; at least one syllable."""
    ms = sample_rate // 1000
    lead, trail = int(rng.integers(60, 150)) * ms, int(rng.integers(60, 160)) * ms
    segments = [("silence", 0, lead)]
    cursor, end = lead, n - trail
    while True:
        syllable = []
        if rng.random() < 0.45:
            syllable.append(("fricative" if rng.random() < 0.6 else "burst",
                             int(rng.integers(50, 130) if rng.random() < 0.6 else rng.integers(10, 25)) * ms))
        syllable.append(("voiced", int(rng.integers(110, 320)) * ms))
        if rng.random() < 0.25:
            syllable.append(("fricative", int(rng.integers(40, 110)) * ms))
        length = sum(s for _, s in syllable)
        if cursor + length > end and len(segments) > 1:
            break
        for kind, size in syllable:
            size = min(size, max(end - cursor, 8 * ms))
            segments.append((kind, cursor, cursor + size))
            cursor += size
        if cursor >= end:
            break
        if rng.random() < 0.35:  # a pause between words
            size = min(int(rng.integers(60, 260)) * ms, end - cursor)
            segments.append(("silence" if rng.random() < 0.5 else "hush", cursor, cursor + size))
            cursor += size
    segments.append(("silence", cursor, n))
    return [s for s in segments if s[2] > s[1]]


def synthesize_speech(sample_rate: int, seconds: float, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Speech-like float32 audio ``(time, channels)``, peak 0.5-0.9 (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    segments = _plan(n, sample_rate, rng)
    ramp = 8 * sample_rate // 1000

    # f0: a declining baseline with slow wiggles, kept within 80-250 Hz
    base = rng.uniform(100.0, 200.0)
    wiggle = sum(rng.uniform(8, 30) * np.sin(2 * np.pi * rng.uniform(0.5, 4.0) * t + rng.uniform(0, 2 * np.pi))
                 for _ in range(3))
    f0 = np.clip(base * (1 - 0.15 * t / max(seconds, 1e-9)) + wiggle, 80.0, 250.0)
    source = _glottal_source(f0, sample_rate)
    source = source + 0.03 * np.std(source) * rng.standard_normal(n)  # aspiration

    vowels = rng.permutation(len(VOWELS))
    filtered = {int(v): _fft_filter(source, _formant_response(VOWELS[v], sample_rate)) for v in vowels}
    weights = {v: np.zeros(n) for v in filtered}
    voiced_env, noise_env = np.zeros(n), np.zeros(n)
    hiss = _fft_filter(rng.standard_normal(n), _band_response(3500.0, 9000.0, sample_rate))
    hush = _fft_filter(rng.standard_normal(n), _band_response(1800.0, 4800.0, sample_rate))
    broad = rng.standard_normal(n)
    unvoiced = np.zeros(n)
    for kind, start, stop in segments:
        size = stop - start
        if kind == "voiced":
            first, second = (int(v) for v in rng.choice(vowels, 2))
            glide = np.clip((np.arange(size) / size - 0.3) / 0.4, 0.0, 1.0)  # first vowel, glide, second vowel
            weights[first][start:stop] += 1 - glide
            weights[second][start:stop] += glide
            level = rng.uniform(0.35, 1.0)
            shape = np.sin(np.pi * (np.arange(size) + 0.5) / size) ** 0.3  # syllable nucleus louder
            voiced_env[start:stop] = level * shape * _ramp_envelope(size, ramp)
        elif kind in ("fricative", "burst"):
            noise = {"fricative": hiss if rng.random() < 0.6 else hush, "burst": broad}[kind]
            level = rng.uniform(0.08, 0.3) * (3.0 if kind == "burst" else 1.0)
            env = _ramp_envelope(size, ramp if kind == "fricative" else max(1, size // 4))
            unvoiced[start:stop] = level * env * noise[start:stop] / (np.std(noise) + 1e-12)
            noise_env[start:stop] = 1.0
    voiced = sum(weights[v] * filtered[v] for v in filtered)
    voiced = voiced / (np.max(np.abs(voiced)) + 1e-12)
    mono = voiced * voiced_env + 0.25 * unvoiced

    if channels == 1:
        audio = mono[:, None]
    else:
        delay = int(rng.integers(5, 40)) * sample_rate // 10000  # 0.5-4 ms
        wobble = 1.0 + 0.25 * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * t)
        other = rng.uniform(0.5, 0.85) * wobble * np.concatenate([np.zeros(delay), mono[: n - delay]])
        audio = np.stack([mono] + [other] * (channels - 1), axis=1)
    audio = audio * (rng.uniform(0.5, 0.9) / np.max(np.abs(audio)))

    # very low noise in the "hush" pauses, its own in each channel; silence stays exact zeros
    for kind, start, stop in segments:
        if kind == "hush":
            size = stop - start
            level = 10 ** (-rng.uniform(60.0, 75.0) / 20) * np.max(np.abs(audio))
            env = _ramp_envelope(size, ramp)[:, None]
            audio[start:stop] += level * env * rng.standard_normal((size, audio.shape[1]))
    for kind, start, stop in segments:
        if kind == "silence":
            audio[start:stop] = 0.0
    return audio.astype(np.float32)


def make_speech_corpus(folder, files: list[CorpusFile] | None = None, seed: int = 20240521) -> list[Path]:
    """Write the corpus below ``folder`` (created if needed); returns the files' paths, in :data:`CORPUS` order.

    Args:
        folder: where to write (subfolders ``en/``, ``en/news/``, ``fr/``, ``de/``).
        files: the entries to write; default :func:`corpus_files` (all, less MP3 where soundfile cannot write it).
        seed: the same seed writes the same samples (the encoded bytes of lossy formats also depend on the
            libsndfile/libvorbis/LAME versions).
    """
    import soundfile as sf

    folder = Path(folder)
    paths = []
    for entry in corpus_files() if files is None else files:
        file_seed = seed + zlib.crc32(entry.path.encode())  # a file's samples do not depend on which others are made
        audio = synthesize_speech(entry.sample_rate, entry.seconds, entry.channels, seed=file_seed)
        path = folder / entry.path
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), audio, entry.sample_rate, format=entry.format, subtype=entry.subtype)
        paths.append(path)
    return paths
