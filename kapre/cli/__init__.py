"""The ``kapre`` command: ``kapre demo``, ``kapre extract``, ``kapre show`` and ``kapre info``.

Run ``kapre --help`` or ``kapre COMMAND --help``. The features are computed by kapre's own layers on the active Keras
backend (``KERAS_BACKEND``); see ``docs/cli.md``. One module per command (:mod:`kapre.cli.demo`,
:mod:`kapre.cli.extract`, :mod:`kapre.cli.show`, :mod:`kapre.cli.info`), the shared feature options in
:mod:`kapre.cli.options`; the batching of files of different lengths is the library's :mod:`kapre.extraction`.
"""

from __future__ import annotations

import argparse
import sys

from kapre.cli import demo, extract, info, show
from kapre.cli.extract import FRONTEND_NAME, MANIFEST_NAME
from kapre.cli.options import FEATURES, FeatureOptions, build_frontend, kapre_version, mfcc_layer

__all__ = ["main", "build_parser", "FeatureOptions", "build_frontend", "compute_features", "mfcc_layer",
           "FEATURES", "MANIFEST_NAME", "FRONTEND_NAME"]

_COMMANDS = {"demo": demo, "extract": extract, "show": show, "info": info}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``kapre`` command."""
    parser = argparse.ArgumentParser(
        prog="kapre",
        description="kapre: audio features with Keras 3 layers (TensorFlow, JAX or PyTorch).",
        epilog="Start with: kapre demo",
    )
    parser.add_argument("--version", action="version", version=f"kapre {kapre_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in _COMMANDS.values():
        subparser = module.add_parser(sub)
        subparser.set_defaults(command_parser=subparser)  # errors after parsing print this command's usage
    return parser


def compute_features(frontend, waveforms: list) -> list:
    """The front-end's output for each waveform ``(time, channels)`` (equal channel counts), in one zero-padded
    batch: :class:`kapre.extraction.Extractor`. Kept for kapre 1.0 pre-releases; use :func:`kapre.extraction.extract`.
    """
    from kapre.extraction import Extractor

    extractor = frontend if isinstance(frontend, Extractor) else Extractor(frontend)
    return extractor(waveforms)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kapre`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command].run(args.command_parser, args)
    except KeyboardInterrupt:
        print("kapre: interrupted", file=sys.stderr)
        return 130
