"""The entry point of the ``kapre`` command.

Importing anything below ``kapre`` runs ``kapre/__init__.py``, which chooses the Keras backend and imports it (a
few seconds to tens of seconds). This package sits beside ``kapre`` so that the command can parse its arguments,
answer ``--version`` and every ``--help``, and reject bad options with the standard library only; ``kapre`` (and
with it the backend) is imported only to run a command (:mod:`kapre.cli`).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re

from kapre_cli.parser import build_parser as _build_parser
from kapre_cli.parser import engine_problem, format_for, frontend_error

__all__ = ["main", "build_parser", "version", "start_worker"]


def version() -> str:
    """kapre's version, read from ``kapre/__init__.py`` without importing it (installed metadata as fallback)."""
    try:
        spec = importlib.util.find_spec("kapre")  # finds a top-level package without running its __init__
        if spec is not None and spec.origin:
            with open(spec.origin, encoding="utf-8") as f:
                found = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', f.read(), re.M)
            if found:
                return found.group(1)
    except (ImportError, OSError, ValueError):
        pass
    try:
        return importlib.metadata.version("kapre")
    except Exception:
        return "unknown"


# The thread pools of the backends' CPU kernels, each sized by its own variable, read when the backend starts.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")


def start_worker(threads: int) -> None:
    """A ``kapre extract --engine processes`` worker's first step, before kapre (and a backend) is imported: its CPU
    kernels use ``threads`` threads unless ``OMP_NUM_THREADS`` was set for the run, and Ctrl-C is left to the
    command (which stops handing out files and closes the manifest; a worker finishes its batch)."""
    import signal

    if "OMP_NUM_THREADS" not in os.environ:
        for name in _THREAD_VARIABLES:
            os.environ.setdefault(name, str(threads))
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def build_parser():
    """The ``kapre`` command's argument parser (standard library only)."""
    return _build_parser(version())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kapre`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    problem = frontend_error(args)  # a --frontend that conflicts with other options: before the backend is imported
    if args.command == "export":  # kapre export: FILE's suffix and --format
        problem = problem or format_for(args.output, args.format)[1]
    if args.command == "extract":  # kapre extract: --engine, --num-workers, --address
        problem = problem or engine_problem(args)
    if problem:
        args.command_parser.error(problem)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up logging, if it is imported
    from kapre.cli import run_command  # imports kapre: the backend is chosen and imported here

    return run_command(args)
