"""Writing outputs that a killed run never leaves half-written, and a progress bar that messages do not break."""

from __future__ import annotations

import glob
import os
import sys
import tempfile

import numpy as np

__all__ = ["atomic_save", "atomic_write_text", "Reporter"]


def atomic_save(path: str, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` (.npy) through a temporary file in the same folder and ``os.replace``; temporary
    files left by a killed earlier run for the same output are removed first."""
    directory, base = os.path.dirname(path) or ".", os.path.basename(path)
    for stale in glob.glob(os.path.join(glob.escape(directory), f".{glob.escape(base)}.*.tmp")):
        try:
            os.remove(stale)
        except OSError:
            pass
    _replace_atomically(path, "wb", lambda f: np.save(f, array))


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    _replace_atomically(path, "w", lambda f: f.write(text))


def _replace_atomically(path: str, mode: str, write) -> None:
    """``write(file)`` into a temporary file next to ``path``, flushed to disk, then renamed over ``path``: a reader
    sees the old file or the whole new one, never part of it; the temporary file goes on any error."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


class Reporter:
    """Progress bar (tqdm on stderr, when installed and stderr is a terminal) and messages that do not break it."""

    def __init__(self, total: int, desc: str):
        self.bar = None
        try:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="file", file=sys.stderr, disable=None, dynamic_ncols=True)
        except ImportError:
            pass

    def update(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def message(self, text: str) -> None:
        if self.bar is not None and not self.bar.disable:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
