"""Reading and resampling audio files for the ``kapre`` command (soundfile and soxr, both optional).

Install them with ``pip install "kapre[cli]"``. Both are imported only when a function here needs them, so
``import kapre`` works without them.

Example:
    >>> from kapre.audio import load_audio  # doctest: +SKIP
    >>> audio, sr = load_audio('speech.flac', sample_rate=16000, mono=True)  # doctest: +SKIP
    >>> audio.shape  # (time, channels), float32  # doctest: +SKIP
    (48000, 1)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import numpy as np

__all__ = [
    "AudioError",
    "MissingDependencyError",
    "audio_extensions",
    "find_audio_files",
    "audio_info",
    "read_audio",
    "resample",
    "load_audio",
]


class AudioError(ValueError):
    """A file that cannot be used as audio: unreadable, empty, or holding NaN or infinite samples."""


class MissingDependencyError(ImportError):
    """An optional package needed by the ``kapre`` command is not installed."""


def _require(module: str, purpose: str):
    try:
        return __import__(module)
    except ImportError as err:
        raise MissingDependencyError(
            f"{purpose} needs the optional package {module!r}, which is not installed. "
            f'Install it with: pip install "kapre[cli]"  (or: pip install {module})'
        ) from err


def _soundfile():
    return _require("soundfile", "Reading audio files")


def audio_extensions() -> frozenset[str]:
    """Lower-case file extensions (without dot) that the installed soundfile/libsndfile can read."""
    sf = _soundfile()
    names = {name.lower() for name in sf.available_formats()}
    names |= {"aif", "aifc", "wave"}  # other spellings of formats libsndfile lists under one name
    if "ogg" in names:
        names |= {"oga", "opus"}
    return frozenset(names)


def find_audio_files(directory: str, extensions: Iterable[str] | None = None) -> list[str]:
    """All audio files below ``directory`` (recursively, sorted, hidden files and folders skipped).

    Args:
        directory: the folder to search.
        extensions: extensions to accept (lower case, no dot); defaults to :func:`audio_extensions`.
    """
    accepted = frozenset(extensions) if extensions is not None else audio_extensions()
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1][1:].lower() in accepted:
                found.append(os.path.join(root, name))
    return found


def audio_info(path: str) -> tuple[int, int, int]:
    """``(sample_rate, frames, channels)`` from the file's header, without reading the samples.

    Raises:
        AudioError: if the file cannot be opened as audio.
    """
    sf = _soundfile()
    try:
        info = sf.info(path)
    except Exception as err:  # soundfile raises RuntimeError/LibsndfileError/TypeError for non-audio files
        raise AudioError(_read_error_message(path, err)) from err
    return int(info.samplerate), int(info.frames), int(info.channels)


def _read_error_message(path: str, err: Exception) -> str:
    if isinstance(err, FileNotFoundError) or not os.path.exists(path):
        return "no such file"
    if os.path.isdir(path):
        return "is a directory"
    text = str(err).strip() or type(err).__name__
    if os.path.getsize(path) == 0:
        return "empty file (0 bytes), not readable as audio"
    return f"cannot read as audio: {text}"


def read_audio(path: str) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 ``(time, channels)`` in [-1, 1] (for integer formats) and its sample rate.

    Raises:
        AudioError: unreadable file, no samples, or NaN/infinite samples.
        MissingDependencyError: soundfile is not installed.
    """
    sf = _soundfile()
    try:
        audio, sample_rate = sf.read(path, dtype="float32", always_2d=True)
    except Exception as err:
        raise AudioError(_read_error_message(path, err)) from err
    if audio.shape[0] == 0:
        raise AudioError("empty audio (0 samples)")
    if not np.all(np.isfinite(audio)):
        bad = int(np.count_nonzero(~np.isfinite(audio)))
        raise AudioError(f"holds {bad} NaN or infinite sample value(s)")
    return audio, int(sample_rate)


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample ``(time, channels)`` float32 audio from ``orig_sr`` to ``target_sr`` Hz with soxr (``'HQ'``).

    Returns ``audio`` itself when the rates are equal.

    Raises:
        MissingDependencyError: soxr is not installed.
    """
    if int(orig_sr) == int(target_sr):
        return audio
    soxr = _require("soxr", f"Resampling from {orig_sr} Hz to {target_sr} Hz")
    out = soxr.resample(np.ascontiguousarray(audio, dtype=np.float32), int(orig_sr), int(target_sr), quality="HQ")
    return np.asarray(out, dtype=np.float32).reshape(-1, audio.shape[1])


def load_audio(path: str, sample_rate: int | None = None, mono: bool = False) -> tuple[np.ndarray, int]:
    """Read, optionally downmix (mean of the channels) and resample a file; returns ``((time, channels), rate)``.

    The downmix comes before resampling. ``sample_rate=None`` keeps the file's rate.
    """
    audio, orig_sr = read_audio(path)
    if mono and audio.shape[1] > 1:
        audio = audio.mean(axis=1, keepdims=True, dtype=np.float32)
    if sample_rate is None:
        return audio, orig_sr
    return resample(audio, orig_sr, sample_rate), int(sample_rate)


def iter_chunks(items: list, size: int) -> Iterator[list]:
    """Consecutive slices of ``items`` of at most ``size`` elements."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
