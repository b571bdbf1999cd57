"""Frame counts and chunk plans: pure integer arithmetic, importable from anywhere in kapre (a leaf module).

Signals are framed without padding (``center=False``): ``1 + (samples - frame_length) // hop_length`` frames.
Large inputs are processed a chunk of frames at a time so that a chunk's intermediates stay in the CPU cache; the
plans here say which frames each chunk holds.
"""

from __future__ import annotations

import math

import numpy as np

from kapre import _cpu

__all__ = ["CHUNK_SAMPLES", "num_frames", "frames_per_chunk", "frame_chunks", "row_chunks", "static_frame_chunks"]

# Frames are processed about this many samples at a time where a backend computes in chunks (kapre.MelSpectrogram's
# map_frame_chunks; PyTorch's STFT and inverse STFT), so that the chunk's intermediates stay in the CPU cache: the
# CPU rule of kapre._cpu.chunk_samples (2**20 on a 32 MiB last-level cache)
CHUNK_SAMPLES = _cpu.chunk_samples()


def num_frames(length: int | None, frame_length: int, hop_length: int, pad_end: bool = False) -> int | None:
    """Frames that :func:`kapre.functional.frame` makes of ``length`` samples (``None`` if ``length`` is unknown).

    Without ``pad_end``: ``1 + (length - frame_length) // hop_length`` (0 if the signal is shorter than a frame);
    with ``pad_end``: ``ceil(length / hop_length)``, as ``tf.signal.frame``.

    Example:
        >>> num_frames(16000, 400, 160), num_frames(16000, 400, 160, pad_end=True), num_frames(300, 400, 160)
        (98, 100, 0)
    """
    if length is None:
        return None
    if pad_end:
        return -(-length // hop_length)
    if not isinstance(length, (int, np.integer)):  # symbolic (an export's free length): assumed long enough
        return 1 + (length - frame_length) // hop_length
    if length < frame_length:
        return 0
    return 1 + (length - frame_length) // hop_length


def frames_per_chunk(rows: int | None, frame_length: int, target_samples: int) -> int:
    """Frames per chunk: ``rows`` signals (batch x channels, 1 if unknown) are framed side by side, so a chunk of
    ``k`` frames holds ``rows * k * frame_length`` samples; aim at ``target_samples``, at least one frame."""
    rows = rows if isinstance(rows, (int, np.integer)) else 1  # unknown or symbolic (an export's free batch)
    return max(1, target_samples // max(1, rows * frame_length))


def frame_chunks(total: int, per_chunk: int) -> list[tuple[int, int]]:
    """``[(f0, f1), ...]``: ``total`` frames in ``ceil(total / per_chunk)`` ranges whose sizes differ by at most one.

    Example:
        >>> frame_chunks(10, 4)
        [(0, 3), (3, 6), (6, 10)]
    """
    count = max(1, -(-total // per_chunk))
    bounds = [(index * total) // count for index in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def row_chunks(rows: int, signals_per_row: int, n_frames: int, frame_length: int,
               target_samples: int) -> list[tuple[int, int]] | None:
    """``[(r0, r1), ...]``: ``rows`` of ``signals_per_row`` signals (a batch of clips and their channels), each of
    ``n_frames`` frames, in chunks of whole rows of at most ``target_samples`` framed samples (sizes differing by at
    most one row); ``None`` where one row's frames exceed ``target_samples`` (or there is no frame). A chunk of
    whole rows is contiguous in the input and in the output, so its products can be written straight into the
    output; a chunk of frames (:func:`frame_chunks`) is a strided slice of every row.

    Example:
        >>> row_chunks(64, 1, 97, 512, 2**20)  # W2: 64 clips of 97 frames, 16 clips a chunk
        [(0, 16), (16, 32), (32, 48), (48, 64)]
        >>> len(row_chunks(16, 1, 309, 2048, 2**20)), row_chunks(1, 1, 6397, 512, 2**20)  # W1: a clip a chunk
        (16, None)
    """
    row_samples = signals_per_row * n_frames * frame_length
    if rows <= 0 or row_samples <= 0 or row_samples > target_samples:
        return None
    return frame_chunks(rows, target_samples // row_samples)


def static_frame_chunks(frames_shape, target_samples: int = CHUNK_SAMPLES) -> list[tuple[int, int]] | None:
    """:func:`frame_chunks` for a ``(..., frames, frame_length)`` tensor of known shape, about ``target_samples``
    samples per chunk (the leading axes side by side); ``None`` when a dimension is unknown."""
    if not all(isinstance(dim, int) for dim in frames_shape):
        return None
    *leading, n_frames, frame_length = frames_shape
    return frame_chunks(n_frames, frames_per_chunk(math.prod(leading), frame_length, target_samples))
