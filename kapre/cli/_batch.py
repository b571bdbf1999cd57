"""One batch of ``kapre extract``'s files, read, computed and written: what the command's own process runs on the
local engine and what a worker runs on the others (:mod:`kapre.cli.engines`). A *sink* takes each file's outcome:
``save(job, features)``, ``fail(job, message)``, ``warn(job, text)``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kapre.cli._output import atomic_save
from kapre.cli.show import check_length

__all__ = ["Job", "read_batch", "compute_batch", "save_features", "failure_reason", "fail_row", "warning_text"]

FRONTEND_NAME = "kapre-frontend.json"


@dataclass
class Job:
    path: str  # as found (relative to the current folder if given so)
    key: str  # relative to the input root: the manifest's "path"
    output: str
    row: dict
    length: int = 0
    channels: int = 0


def warning_text(warnings) -> str | None:
    return "; ".join(warnings) if warnings else None


def read_batch(jobs: list[Job], options, sink) -> list[tuple[Job, np.ndarray, list]]:
    """Each file read, mixed down (``--mono``) and resampled: ``(job, audio, warnings)``; a file that cannot be read
    goes to ``sink.fail``."""
    from kapre.audio import AudioError, MissingDependencyError, audio_warnings, read_audio, resample

    read = []
    for job in jobs:
        try:
            audio, sr = read_audio(job.path)
            warnings = audio_warnings(job.path, frames_read=audio.shape[0])
            if options.mono and audio.shape[1] > 1:
                audio = audio.mean(axis=1, keepdims=True, dtype=np.float32)
            audio = resample(audio, sr, options.sample_rate)
        except (AudioError, MissingDependencyError, ValueError) as err:
            sink.fail(job, failure_reason(err))
            continue
        read.append((job, audio, warnings))
    return read


def compute_batch(read: list[tuple[Job, np.ndarray, list]], extractor, options, sink, squeeze: bool = False) -> None:
    """The front-end on the files :func:`read_batch` read, in one zero-padded batch (one at a time to find the
    culprit if the batch fails); each file's features go to ``sink.save``, its problems to ``sink.fail``."""
    ready = []
    for job, audio, warnings in read:
        try:
            check_length(extractor, audio, options.sample_rate)
        except ValueError as err:
            sink.fail(job, failure_reason(err))
            continue
        if warnings:
            job.row["warning"] = warning_text(warnings)
            sink.warn(job, f"warning: {job.row['warning']}")
        ready.append((job, audio))
    if not ready:
        return
    try:
        results = extractor([audio for _, audio in ready])
    except KeyboardInterrupt:
        raise
    except Exception:  # find the culprit: one at a time
        results = []
        for job, audio in ready:
            try:
                results.append(extractor([audio])[0])
            except Exception as err:
                sink.fail(job, failure_reason(err))
                results.append(None)
    for (job, _), features in zip(ready, results, strict=True):
        if features is None:
            continue
        if squeeze:
            features = features[..., 0]
        sink.save(job, features)


def save_features(job: Job, features: np.ndarray) -> str | None:
    """Write one file's features atomically and fill its row; the reason if the output cannot be written."""
    try:
        atomic_save(job.output, features.astype(np.float32, copy=False))
    except OSError as err:
        return "cannot write output: " + failure_reason(err)
    job.row.update(status="ok", shape=list(features.shape))
    return None


def failure_reason(err: BaseException) -> str:
    from kapre._validation import error_reason

    return error_reason(err) or type(err).__name__  # a layer's reason without Keras' frame


def fail_row(job: Job, message: str) -> None:
    job.row.update(status="error", error=message, output=None, shape=None)
