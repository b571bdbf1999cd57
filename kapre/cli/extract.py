"""``kapre extract``: features of audio files to one .npy per file, with a manifest; resumable.

The batching is :mod:`kapre.extraction`'s; this module finds the files, reads them, writes the outputs atomically
and keeps the manifest (``manifest.jsonl``) and the record of the front-end (``kapre-frontend.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import asdict, dataclass

import numpy as np

from kapre.cli._output import Reporter, atomic_save, atomic_write_text
from kapre.cli.options import (
    FeatureOptions,
    add_feature_options,
    build_frontend,
    kapre_version,
    options_from_args,
    positive_int,
)
from kapre.cli.show import check_length

__all__ = ["add_parser", "run", "MANIFEST_NAME", "FRONTEND_NAME"]

MANIFEST_NAME = "manifest.jsonl"
FRONTEND_NAME = "kapre-frontend.json"


def add_parser(sub) -> argparse.ArgumentParser:
    extract = sub.add_parser("extract", help="extract features of audio files to .npy files",
                             description="Extract features of audio files (or of every audio file in folders, "
                                         "recursively) to one .npy per file under OUTDIR, mirroring the input tree, "
                                         "with a manifest (manifest.jsonl). Existing outputs are kept (resume) unless "
                                         "--overwrite.")
    extract.add_argument("inputs", nargs="+", metavar="INPUT", help="audio files or folders")
    extract.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR", help="where to write the features")
    add_feature_options(extract)
    extract.add_argument("--batch-size", type=positive_int, default=16, metavar="N",
                         help="files per batch (default: 16)")
    extract.add_argument("--overwrite", action="store_true", help="recompute outputs that already exist")
    return extract


@dataclass
class _Job:
    index: int
    path: str
    output: str
    row: dict
    length: int = 0
    channels: int = 0


def collect_inputs(inputs: list[str], out_dir: str) -> tuple[list[tuple[str, str]], list[dict]]:
    """``[(audio path, output path)]`` mirroring the inputs below their common folder, and error rows."""
    from kapre.audio import find_audio_files

    errors, files = [], []
    roots = []
    for item in inputs:
        if os.path.isdir(item):
            found = find_audio_files(item)
            if not found:
                errors.append(manifest_row(item, status="error", error="folder holds no audio files"))
            roots.append(os.path.abspath(item))
            files.extend(found)
        elif os.path.exists(item):
            roots.append(os.path.dirname(os.path.abspath(item)))
            files.append(item)
        else:
            errors.append(manifest_row(item, status="error", error="no such file or folder"))
    if not files:
        return [], errors
    base = os.path.commonpath(roots)
    seen, unique = set(), []
    for path in files:
        key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    stems = {}
    for path in unique:
        stem = os.path.splitext(os.path.relpath(os.path.abspath(path), base))[0]
        stems.setdefault(stem, []).append(path)
    pairs = []
    for path in unique:
        rel = os.path.relpath(os.path.abspath(path), base)
        stem = os.path.splitext(rel)[0]
        name = stem if len(stems[stem]) == 1 else rel  # a.wav and a.flac side by side: a.wav.npy, a.flac.npy
        pairs.append((path, os.path.join(out_dir, name + ".npy")))
    return pairs, errors


def manifest_row(path: str, **fields) -> dict:
    row = {"path": path, "output": None, "sample_rate": None, "duration": None, "channels": None, "shape": None,
           "status": "ok", "error": None}
    row.update(fields)
    return row


def frontend_record(options: FeatureOptions, keras_config: dict | None) -> dict:
    """What ``kapre-frontend.json`` holds: the options, or the Keras config given with --config."""
    record = {"kapre_version": kapre_version(), "sample_rate": options.sample_rate, "mono": options.mono}
    if keras_config is None:
        record["options"] = {k: v for k, v in asdict(options).items() if k not in ("sample_rate", "mono")}
    else:
        record["model"] = keras_config
    return record


def _without_names(value):
    if isinstance(value, dict):
        return {k: _without_names(v) for k, v in value.items() if k not in ("name", "build_config", "module")}
    if isinstance(value, list):
        return [_without_names(v) for v in value]
    return value


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from kapre.extraction import Extractor

    options, model = options_from_args(parser, args)
    from_config = model is not None
    if model is None:
        try:
            model = build_frontend(options)
        except (ValueError, TypeError) as err:
            parser.error(str(err))
    out_dir = args.output_dir
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        parser.error(f"-o {out_dir}: exists and is not a folder")

    # The same folder must not mix features made with different front-ends.
    record = frontend_record(options, getattr(args, "keras_config", None) if from_config else None)
    record_path = os.path.join(out_dir, FRONTEND_NAME)
    if os.path.exists(record_path) and not args.overwrite:
        try:
            with open(record_path) as f:
                previous = json.load(f)
        except (OSError, ValueError):
            previous = None
        same = isinstance(previous, dict) and all(
            _without_names(previous.get(k)) == _without_names(json.loads(json.dumps(record.get(k))))
            for k in ("sample_rate", "mono", "options", "model")
        )
        if not same:
            parser.error(f"{out_dir} holds features made with another front-end ({record_path}); use the same "
                         "options, --config that file, --overwrite, or another -o")
    try:
        from kapre.audio import MissingDependencyError, audio_info
    except ImportError as err:  # pragma: no cover
        parser.error(str(err))
    try:
        pairs, rows = collect_inputs(args.inputs, out_dir)
    except MissingDependencyError as err:
        print(f"kapre extract: error: {err}", file=sys.stderr)
        return 1
    os.makedirs(out_dir, exist_ok=True)
    atomic_write_text(record_path, json.dumps(record, indent=1) + "\n")

    reporter = Reporter(len(pairs), "kapre extract")
    for row in rows:
        reporter.message(f"kapre extract: {row['path']}: {row['error']}")
    extractor = Extractor(model)
    jobs: list[_Job] = []
    for index, (path, output) in enumerate(pairs):
        row = manifest_row(path, output=os.path.relpath(output, out_dir))
        rows.append(row)
        try:
            sr, frames, channels = audio_info(path)
            row.update(sample_rate=sr, duration=round(frames / sr, 6) if sr else None, channels=channels)
        except Exception as err:
            row.update(status="error", error=str(err), output=None)
            reporter.message(f"kapre extract: {path}: {err}")
            reporter.update()
            continue
        if os.path.exists(output) and not args.overwrite:
            try:
                row.update(status="skipped", shape=list(np.load(output, mmap_mode="r").shape))
            except Exception:  # an unreadable leftover: compute it again
                pass
            else:
                reporter.update()
                continue
        n_out = 1 if options.mono else channels
        expected = int(math.ceil(frames * options.sample_rate / sr)) if sr else frames
        jobs.append(_Job(index, path, output, row, expected, n_out))

    # Similar lengths together, so that padding costs little; channel counts never mix in a batch.
    jobs.sort(key=lambda j: (j.channels, j.length, j.index))
    for start in range(0, len(jobs), args.batch_size):
        _process_batch(jobs[start : start + args.batch_size], extractor, options, reporter)
    reporter.close()

    order = {id(r): i for i, r in enumerate(rows)}
    rows.sort(key=lambda r: order[id(r)])
    atomic_write_text(os.path.join(out_dir, MANIFEST_NAME), "".join(json.dumps(r) + "\n" for r in rows))
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "skipped", "error")}
    print(f"kapre extract: {counts['ok']} written, {counts['skipped']} skipped (output exists), "
          f"{counts['error']} failed; manifest: {os.path.join(out_dir, MANIFEST_NAME)}")
    return 1 if counts["error"] else 0


def _process_batch(jobs: list[_Job], extractor, options: FeatureOptions, reporter: Reporter) -> None:
    from kapre.audio import AudioError, MissingDependencyError, load_audio

    ready = []
    for job in jobs:
        try:
            audio, _ = load_audio(job.path, sample_rate=options.sample_rate, mono=options.mono)
            check_length(extractor, audio, options.sample_rate)
            ready.append((job, audio))
        except (AudioError, MissingDependencyError, ValueError) as err:
            _fail(job, err, reporter)
    if not ready:
        return
    try:
        results = extractor([audio for _, audio in ready])
    except Exception:  # find the culprit: one at a time
        results = []
        for job, audio in ready:
            try:
                results.append(extractor([audio])[0])
            except Exception as err:
                _fail(job, err, reporter)
                results.append(None)
    for (job, _), features in zip(ready, results, strict=True):
        if features is None:
            continue
        try:
            atomic_save(job.output, features.astype(np.float32, copy=False))
        except OSError as err:
            _fail(job, err, reporter, prefix="cannot write output: ")
            continue
        job.row.update(status="ok", shape=list(features.shape))
        reporter.update()


def _fail(job: _Job, err: Exception, reporter: Reporter, prefix: str = "") -> None:
    message = prefix + (str(err) or type(err).__name__)
    job.row.update(status="error", error=message, output=None, shape=None)
    reporter.message(f"kapre extract: {job.path}: {message}")
    reporter.update()
