"""Writing outputs that a killed run never leaves half-written, and a progress bar that messages do not break."""

from __future__ import annotations

import glob
import os
import sys
import tempfile

import numpy as np

__all__ = ["atomic_save", "atomic_write_text", "replace_atomically", "Reporter", "OutputPathError",
           "prepare_output_dir", "prepare_output_file", "file_mode"]


class OutputPathError(ValueError):
    """An output path that cannot be written: a file in the way, no permission, a folder where a file must go."""


def _reason(err: OSError) -> str:
    if isinstance(err, NotADirectoryError) or err.errno == 20:
        return "a file is in the way (a parent of it is a file, not a folder)"
    if isinstance(err, PermissionError):
        return "permission denied"
    if isinstance(err, FileExistsError):
        return "exists and is not a folder"
    return err.strerror or str(err)


def prepare_output_dir(path: str) -> None:
    """Create the folder ``path`` (and its parents) and check that files can be written in it.

    Raises:
        OutputPathError: with a one-line reason.
    """
    existing = os.path.abspath(path)
    while not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):  # the folder itself or one of its parents
        shown = os.path.relpath(existing) if not os.path.isabs(path) else existing
        raise OutputPathError(f"a file is in the way: {shown} is a file, not a folder")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        raise OutputPathError(f"cannot create the folder: {_reason(err)}") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".kapre-write-test.", dir=path)
        os.close(fd)
        os.remove(probe)
    except OSError as err:
        raise OutputPathError(f"cannot write in the folder: {_reason(err)}") from None


def prepare_output_file(path: str) -> None:
    """Create the folder of the file ``path`` and check that it can be written (before anything is computed).

    Raises:
        OutputPathError: with a one-line reason.
    """
    if os.path.isdir(path):
        raise OutputPathError("is a folder; give a file name (e.g. picture.png)")
    prepare_output_dir(os.path.dirname(path) or ".")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise OutputPathError("the file exists and is not writable")


def file_mode() -> int:
    """The permissions a new file gets under the process's umask (``0o666 & ~umask``), as ``open`` gives."""
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return 0o666 & ~mask


def atomic_save(path: str, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` (.npy) through a temporary file in the same folder and ``os.replace``; temporary
    files left by a killed earlier run for the same output are removed first."""
    directory, base = os.path.dirname(path) or ".", os.path.basename(path)
    for stale in glob.glob(os.path.join(glob.escape(directory), f".{glob.escape(base)}.*.tmp")):
        try:
            os.remove(stale)
        except OSError:
            pass
    replace_atomically(path, "wb", lambda f: np.save(f, array))


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    replace_atomically(path, "w", lambda f: f.write(text))


def replace_atomically(path: str, mode: str, write) -> None:
    """``write(file)`` into a temporary file next to ``path``, flushed to disk, then renamed over ``path``: a reader
    sees the old file or the whole new one, never part of it; the temporary file goes on any error. The file gets
    the permissions the user's umask gives new files (a temporary file is created private)."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), file_mode())
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
