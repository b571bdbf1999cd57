"""The ``kapre`` command: ``kapre demo``, ``kapre extract``, ``kapre show``, ``kapre invert``, ``kapre stream``,
``kapre export`` and ``kapre info``.

Run ``kapre --help`` or ``kapre COMMAND --help``. The arguments are parsed by :mod:`kapre_cli` (standard library
only, so that ``--help`` and ``--version`` answer without importing a backend); the commands run here, with kapre's
own layers on the active Keras backend (``KERAS_BACKEND``); see ``docs/cli.md``. One module per command
(:mod:`kapre.cli.demo`, :mod:`kapre.cli.extract`, :mod:`kapre.cli.show`, :mod:`kapre.cli.invert`,
:mod:`kapre.cli.stream`, :mod:`kapre.cli.export`, :mod:`kapre.cli.info`), the shared feature options in
:mod:`kapre.cli.options`; the batching of files of different lengths is the library's :mod:`kapre.extraction`.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from kapre.cli import demo, export, extract, info, invert, show, stream
from kapre.cli.extract import FRONTEND_NAME, MANIFEST_NAME, extract_folder
from kapre.cli.options import FEATURES, FeatureOptions, build_frontend, mfcc_layer
from kapre_cli import build_parser

__all__ = ["main", "run_command", "extract_folder", "build_parser", "FeatureOptions", "build_frontend",
           "compute_features", "mfcc_layer", "FEATURES", "MANIFEST_NAME", "FRONTEND_NAME"]

_COMMANDS = {"demo": demo, "extract": extract, "show": show, "invert": invert, "stream": stream, "export": export,
             "info": info}


def compute_features(frontend, waveforms: list) -> list:
    """The front-end's output for each waveform ``(time, channels)`` (equal channel counts), in one zero-padded
    batch: :class:`kapre.extraction.Extractor`. Kept for kapre 1.0 pre-releases; use :func:`kapre.extraction.extract`.
    """
    from kapre.extraction import Extractor

    extractor = frontend if isinstance(frontend, Extractor) else Extractor(frontend)
    return extractor(waveforms)


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command; returns the exit status (130 after Ctrl-C)."""
    from kapre.constants import EmptyFilterbankWarning

    try:
        with warnings.catch_warnings():  # reported once, in the command's terms, where the front-end is built
            warnings.filterwarnings("ignore", category=EmptyFilterbankWarning)
            return _COMMANDS[args.command].run(args.command_parser, args)
    except KeyboardInterrupt:
        print(f"kapre {args.command}: interrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kapre`` command (:func:`kapre_cli.main`); returns the exit status."""
    return run_command(build_parser().parse_args(argv))
