"""``kapre extract``: features of audio files to one .npy per file, with a manifest; resumable.

The batching is :mod:`kapre.extraction`'s; this module finds the files, reads them, writes the outputs atomically
and keeps the manifest (``manifest.jsonl``, :class:`Manifest`) and the record of the front-end
(``kapre-frontend.json``).

What a user can count on (``docs/cli.md``):

* every output is written to a temporary file and renamed, so none is ever half-written;
* the manifest never loses a row: rows of earlier runs are kept (merged by input, the latest row wins), each
  finished file's row is appended and flushed at once (a killed run keeps every finished file's row), and the
  manifest is rewritten in order, atomically, on every exit (success, error, Ctrl-C, SIGTERM);
* output paths are the inputs' paths below one input root, recorded in ``kapre-frontend.json``, so a later run over
  a subfolder writes to the same paths;
* each file is computed alone by default (``--batch-size 1``), so its output does not depend on the other files
  of the run: an interrupted and resumed run gives the same bytes as an uninterrupted one.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import signal
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from kapre.cli._batch import (
    FRONTEND_NAME,
    compute_batch,
    fail_row,
    failure_reason,
    read_batch,
    save_features,
    warning_text,
)
from kapre.cli._batch import Job as _Job
from kapre.cli._output import OutputPathError, Reporter, atomic_write_text, prepare_output_dir
from kapre.cli.options import LEGACY_NOTE, build_reported, frontend_record, options_from_args, options_from_record
from kapre_cli import build_parser
from kapre_cli.parser import engine_problem

__all__ = ["run", "extract_folder", "Manifest", "ExtractSummary", "MANIFEST_NAME", "FRONTEND_NAME", "ROW_KEYS"]

MANIFEST_NAME = "manifest.jsonl"
ROW_KEYS = ("path", "output", "sample_rate", "duration", "channels", "shape", "status", "error", "warning")


def manifest_row(path: str, **fields) -> dict:
    row = dict.fromkeys(ROW_KEYS)
    row.update(path=path, status="ok")
    row.update(fields)
    return row


class Manifest:
    """``manifest.jsonl``: one JSON object per input, keyed by ``"path"`` (the input relative to the input root).

    Rows already in the file are kept; :meth:`add` replaces a row or adds one and appends it to the file at once
    (flushed); :meth:`close` rewrites the file atomically with one row per input, sorted by path. A reader of a
    file left by a killed run takes the last row of each path (what :meth:`read` does).
    """

    def __init__(self, path: str, rekey=None):
        self.path = path
        self.rows: dict[str, dict] = self.read(path)
        if rekey is not None:  # a kapre 1.0 pre-release's manifest: paths as given on its command line
            self.rows = {rekey(row): {**row, "path": rekey(row)} for row in self.rows.values()}
        self._file = None

    @staticmethod
    def read(path: str) -> dict[str, dict]:
        """The rows of a manifest by path, the last of each path winning; lines that are not a JSON object with a
        ``"path"`` (a line cut by a kill) are skipped."""
        rows: dict[str, dict] = {}
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    try:
                        row = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(row, dict) and isinstance(row.get("path"), str):
                        rows[row["path"]] = row
        except FileNotFoundError:
            pass
        return rows

    def text(self) -> str:
        return "".join(json.dumps(self.rows[key]) + "\n" for key in sorted(self.rows))

    def open(self) -> None:
        """Rewrite the file (earlier rows, one per path) and open it for appending."""
        atomic_write_text(self.path, self.text())
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115  (closed by close())

    def get(self, key: str) -> dict | None:
        return self.rows.get(key)

    def add(self, row: dict) -> None:
        self.rows[row["path"]] = row
        if self._file is not None:
            self._file.write(json.dumps(row) + "\n")
            self._file.flush()

    def close(self) -> None:
        """Rewrite the file atomically: one row per input, sorted by path."""
        if self._file is not None:
            self._file.close()
            self._file = None
        atomic_write_text(self.path, self.text())


def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([root, path]) == root


def input_root(parser: argparse.ArgumentParser, args: argparse.Namespace, recorded: str | None) -> str:
    """The folder output paths are relative to: ``--root``, else the one recorded by an earlier run into the
    same folder, else the inputs' common folder."""
    inputs = [os.path.abspath(item) for item in args.inputs]
    if args.root is not None:
        root = os.path.abspath(args.root)
        if recorded is not None and root != recorded and not args.overwrite:
            parser.error(f"--root {args.root}: {args.output_dir} was made with the input root {recorded} "
                         f"(recorded in {FRONTEND_NAME}); the same files would land at other paths. Use that root, "
                         "another -o, or --overwrite")
        outside = [item for item, full in zip(args.inputs, inputs, strict=True) if not _inside(full, root)]
        if outside:
            parser.error(f"--root {args.root}: {outside[0]} is not inside it")
        return root
    if recorded is not None:
        outside = [item for item, full in zip(args.inputs, inputs, strict=True) if not _inside(full, recorded)]
        if not outside:
            return recorded
        parser.error(f"{outside[0]} is outside the input root of the earlier runs into {args.output_dir} "
                     f"({recorded}, recorded in {FRONTEND_NAME}); extract it into another -o, or name a root "
                     "that holds every input with --root and a new -o")
    roots = [full if os.path.isdir(full) else os.path.dirname(full) for full in inputs]
    return os.path.commonpath(roots)


def collect_inputs(inputs: list[str], root: str, out_dir: str,
                   manifest: Manifest) -> tuple[list[_Job], list[tuple[str, dict]]]:
    """One job per audio file (output paths mirror the files below ``root``) and the inputs that failed, each as
    given on the command line with its error row."""
    from kapre.audio import find_audio_files

    errors, files = [], []
    for item in inputs:
        if os.path.isdir(item):
            found = find_audio_files(item)
            if not found:
                errors.append((item, manifest_row(_key(item, root), status="error",
                                                  error="folder holds no audio files")))
            files.extend(found)
        elif os.path.exists(item):
            files.append(item)
        else:
            errors.append((item, manifest_row(_key(item, root), status="error", error="no such file or folder")))
    seen, unique = set(), []
    for path in files:
        key = _key(path, root)
        if key not in seen:
            seen.add(key)
            unique.append((path, key))
    stems: dict[str, set] = {}
    for _, key in unique:
        stems.setdefault(os.path.splitext(key)[0], set()).add(key)
    for row in manifest.rows.values():  # outputs taken by inputs of earlier runs
        if row.get("output") and row["output"] == os.path.splitext(row["path"])[0] + ".npy":
            stems.setdefault(os.path.splitext(row["path"])[0], set()).add(row["path"])
    jobs = []
    for path, key in unique:
        stem = os.path.splitext(key)[0]
        name = stem if len(stems[stem]) == 1 else key  # a.wav and a.flac side by side: a.wav.npy, a.flac.npy
        previous = manifest.get(key)
        if previous and previous.get("output"):
            name = os.path.splitext(previous["output"])[0]  # where an earlier run put it
        output = name + ".npy"
        jobs.append(_Job(path, key, os.path.join(out_dir, output), manifest_row(key, output=output)))
    return jobs, errors


def _key(path: str, root: str) -> str:
    return os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")


def _without_names(value):
    if isinstance(value, dict):
        return {k: _without_names(v) for k, v in value.items() if k not in ("name", "build_config", "module")}
    if isinstance(value, list):
        return [_without_names(v) for v in value]
    return value


def _read_record(path: str) -> dict | None | str:
    """The earlier ``kapre-frontend.json``: a dict, ``None`` if there is none, ``"unreadable"``."""
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return "unreadable"
    return record if isinstance(record, dict) else "unreadable"


def _same_frontend(previous: dict, record: dict) -> bool:
    if previous.get("sample_rate") != record.get("sample_rate") or previous.get("mono") != record.get("mono"):
        return False
    if "frontend" in record or "frontend" in previous:  # --frontend: the same builder with the same arguments
        mine, theirs = record.get("frontend"), previous.get("frontend")
        return (isinstance(theirs, dict) and isinstance(mine, dict) and theirs.get("name") == mine.get("name")
                and theirs.get("arguments") == json.loads(json.dumps(mine.get("arguments"))))
    if "options" in record:
        return "options" in previous and asdict(options_from_record(previous)[0]) == asdict(
            options_from_record(record)[0])
    return _without_names(previous.get("model")) == _without_names(json.loads(json.dumps(record.get("model"))))


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from kapre.extraction import Extractor

    options, model = options_from_args(parser, args)
    if args.config_note:
        print(f"kapre extract: note: {args.config_note}", file=sys.stderr)
    if model is None:
        model = build_reported(parser, options)
    engine = getattr(args, "engine", "local")
    executor = getattr(args, "executor", None)  # the Python API's concurrent.futures.Executor
    if engine == "ray" and args.address is not None:
        from kapre.cli.engines import AddressError, check_address

        try:  # before anything is written
            check_address(args.address)
        except AddressError as err:
            parser.error(str(err))

    out_dir = args.output_dir
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        parser.error(f"-o {out_dir}: a file is in the way: {out_dir} is a file, not a folder")

    # One folder never mixes features made with different front-ends.
    frontend = args.frontend_spec  # a --frontend (kapre.frontends), else None
    record = frontend_record(options, args.keras_config, frontend=frontend)  # compared without its input root
    record_path = os.path.join(out_dir, FRONTEND_NAME)
    previous = _read_record(record_path)
    recorded_root = None
    if previous == "unreadable" and not args.overwrite:
        parser.error(f"{record_path} cannot be read; fix or remove it, or use --overwrite")
    if isinstance(previous, dict):
        if not _same_frontend(previous, record) and not args.overwrite:
            legacy = "format" not in previous and "options" in previous
            parser.error(f"{out_dir} holds features made with another front-end ({record_path}"
                         + (f", {LEGACY_NOTE}" if legacy else "") + "); use the same options, --config that file, "
                         "--overwrite, or another -o")
        if isinstance(previous.get("input_root"), str):
            recorded_root = previous["input_root"]
    root = input_root(parser, args, recorded_root)
    try:  # before anything is computed
        prepare_output_dir(out_dir)
    except OutputPathError as err:
        parser.error(f"-o {out_dir}: {err}")
    try:
        from kapre.audio import MissingDependencyError, audio_extensions
    except ImportError as err:  # pragma: no cover
        parser.error(str(err))
    try:
        audio_extensions()
    except MissingDependencyError as err:
        print(f"kapre extract: error: {err}", file=sys.stderr)
        return 1

    legacy_manifest = isinstance(previous, dict) and "format" not in previous
    manifest = Manifest(os.path.join(out_dir, MANIFEST_NAME),
                        rekey=(lambda row: _key(row["path"], root)) if legacy_manifest else None)
    jobs, error_rows = collect_inputs(args.inputs, root, out_dir, manifest)
    record = frontend_record(options, args.keras_config, root, frontend)
    atomic_write_text(record_path, json.dumps(record, indent=1) + "\n")
    if frontend is not None:
        print(f"kapre extract: --frontend {frontend.name} (kapre.frontends.{frontend.builder}) at "
              f"{frontend.sample_rate} Hz; each .npy holds ({', '.join(frontend.axes(options.mono))}), as recorded in "
              f"{record_path}", flush=True)
    manifest.open()
    counts = {"written": 0, "kept": 0, "failed": 0}
    reporter = Reporter(len(jobs), "kapre extract")
    sink = _RunSink(manifest, reporter, counts)
    stop = _TerminateAsInterrupt()
    interrupted = False
    started = time.monotonic()
    try:
        for given, row in error_rows:
            reporter.message(f"kapre extract: {given}: {row['error']}")
            manifest.add(row)
            counts["failed"] += 1
        todo = _inspect(jobs, options, manifest, sink, args.overwrite)
        if args.batch_size == 1:
            batches = [[job] for job in todo]
        else:  # similar lengths together, so that padding costs little; channel counts never mix in a batch
            todo.sort(key=lambda j: (j.channels, j.length, j.key))
            batches = [todo[start : start + args.batch_size] for start in range(0, len(todo), args.batch_size)]
        if engine == "local" and executor is None:
            extractor = Extractor(model)
            # A --frontend's layer adds a channels axis to (batch, samples, channels) input; mono files are saved
            # without it: the layer's output for the waveform (batch, samples), in the builder's layout.
            squeeze = frontend is not None and options.mono
            for batch in batches:
                _process_batch(batch, extractor, options, sink, squeeze)
        elif batches:
            from kapre.cli.engines import run_batches

            run_batches(batches, record, engine, sink, num_workers=args.num_workers, executor=executor,
                        address=args.address)
    except KeyboardInterrupt:
        interrupted = True
    finally:  # on every way out: the manifest rewritten, one row per input
        stop.restore()
        reporter.close()
        manifest.close()
    elapsed = time.monotonic() - started
    args.summary = summary = ExtractSummary(files=len(jobs) + len(error_rows), elapsed=elapsed,
                                            audio_seconds=sink.audio_seconds,
                                            first_file=None if sink.first_written is None
                                            else sink.first_written - started,
                                            engine=type(executor).__name__ if executor is not None else engine,
                                            **counts)
    if interrupted:
        print(f"kapre extract: interrupted: {counts['written']} written, {counts['kept']} kept, {counts['failed']} "
              f"failed so far; {os.path.join(out_dir, MANIFEST_NAME)} lists every finished file; run the same "
              "command again to resume", file=sys.stderr)
        return 130
    print(f"kapre extract: {counts['written']} written, {counts['kept']} kept (output exists), {counts['failed']} "
          f"failed; manifest: {os.path.join(out_dir, MANIFEST_NAME)}")
    print(f"kapre extract: {summary.text()}")
    return 1 if counts["failed"] else 0


@dataclass
class ExtractSummary:
    """What a run did: files (inputs found), written, kept (outputs of earlier runs), failed, the seconds of audio
    written, the seconds it took (listing, headers and computing), when the first file was written (a worker
    engine's start: importing the backend, building the front-end) and the engine."""

    files: int
    written: int
    kept: int
    failed: int
    audio_seconds: float
    elapsed: float
    engine: str
    first_file: float | None = None

    @property
    def files_per_second(self) -> float:
        return self.written / self.elapsed if self.elapsed > 0 else 0.0

    def text(self) -> str:
        seconds = self.audio_seconds
        audio = (f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min" if seconds >= 60
                 else f"{seconds:.1f} s")
        speed = (f"{self.files_per_second:.1f} files/s, {seconds / self.elapsed:.0f}x real time"
                 if self.written and self.elapsed > 0 else "nothing computed")
        first = f", the first after {self.first_file:.1f} s" if self.first_file is not None else ""
        return (f"summary: {self.files} files, {audio} of audio written in {self.elapsed:.1f} s ({speed}{first}) on "
                f"the {self.engine} engine; {self.written} written, {self.kept} kept, {self.failed} failed")


def _process_batch(jobs: list[_Job], extractor, options, sink, squeeze: bool = False) -> None:
    compute_batch(read_batch(jobs, options, sink), extractor, options, sink, squeeze)


class _TerminateAsInterrupt:
    """SIGTERM (a job scheduler's stop) ends the run as Ctrl-C does: the manifest is rewritten first."""

    def __init__(self):
        self.previous = None
        try:
            self.previous = signal.signal(signal.SIGTERM, self._raise)
        except ValueError:  # not the main thread
            pass

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt

    def restore(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
            self.previous = None


@contextlib.contextmanager
def _interrupts_deferred():
    """Ctrl-C or SIGTERM inside the block is raised (as KeyboardInterrupt) when it ends: an output file and its
    manifest row are written together or not at all (outside the main thread signals cannot be deferred)."""
    received = []
    previous = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda number, frame: received.append(number))
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            raise KeyboardInterrupt


def _inspect(jobs, options, manifest: Manifest, sink: _RunSink, overwrite: bool) -> list[_Job]:
    """Read each file's header; keep the rows of outputs that exist (resume); return the files to compute."""
    from kapre.audio import audio_info, audio_warnings

    todo = []
    for job in jobs:
        previous = manifest.get(job.key)
        if not overwrite and os.path.exists(job.output):
            if previous and previous.get("status") == "ok" and previous.get("output") == job.row["output"]:
                sink.kept(job)  # its row is in the manifest already
                continue
            try:  # an output without its row (the run was killed between the two): the row again
                shape = list(np.load(job.output, mmap_mode="r").shape)
                sr, frames, channels = audio_info(job.path)
            except Exception:  # an unreadable leftover, or the input changed: compute it again
                pass
            else:
                job.row.update(sample_rate=sr, duration=round(frames / sr, 6), channels=channels, shape=shape,
                               warning=warning_text(audio_warnings(job.path)))
                sink.kept(job, job.row)
                continue
        try:
            sr, frames, channels = audio_info(job.path)
        except Exception as err:
            sink.fail(job, failure_reason(err))
            continue
        job.row.update(sample_rate=sr, duration=round(frames / sr, 6) if sr else None, channels=channels)
        job.length = int(math.ceil(frames * options.sample_rate / sr)) if sr else frames
        job.channels = 1 if options.mono else channels
        todo.append(job)
    return todo


class _RunSink:
    """Where the outcome of each file goes in the process that owns the manifest: its row into the manifest (at
    once, flushed), the counts, the progress bar and the messages."""

    def __init__(self, manifest: Manifest, reporter, counts: dict):
        self.manifest, self.reporter, self.counts = manifest, reporter, counts
        self.audio_seconds = 0.0  # of the files written, for the summary
        self.first_written: float | None = None  # time.monotonic() of the first file written

    def kept(self, job: _Job, row: dict | None = None) -> None:
        if row is not None:
            self.manifest.add(row)
        self.counts["kept"] += 1
        self.reporter.update()

    def warn(self, job: _Job, text: str) -> None:
        self.reporter.message(f"kapre extract: {job.path}: {text}")

    def fail(self, job: _Job, message: str) -> None:
        fail_row(job, message)
        self.manifest.add(job.row)
        self.counts["failed"] += 1
        self.reporter.message(f"kapre extract: {job.path}: {message}")
        self.reporter.update()

    def save(self, job: _Job, features: np.ndarray) -> None:
        with _interrupts_deferred():  # an output on disk is always in the manifest, even on Ctrl-C
            problem = save_features(job, features)
            if problem is None:
                self.written(job)
        if problem is not None:
            self.fail(job, problem)

    def written(self, job: _Job) -> None:
        self.manifest.add(job.row)
        self.counts["written"] += 1
        self.audio_seconds += job.row.get("duration") or 0.0
        if self.first_written is None:
            self.first_written = time.monotonic()
        self.reporter.update()


def extract_folder(inputs: str | Sequence[str], output_dir: str, *, engine: str = "local",
                   executor=None, num_workers: int | None = None, address: str | None = None, **options):
    """``kapre extract`` from Python: features of audio files (or of every audio file in folders) to one ``.npy``
    per file under ``output_dir``, with its manifest, atomic writes, resume and bad-file handling (``docs/cli.md``).

    Args:
        inputs: audio files or folders.
        output_dir: where the features go (``-o``).
        engine: ``"local"`` (this process), ``"processes"`` (``num_workers`` processes on this machine) or
            ``"ray"`` (an actor pool on a Ray cluster at ``address``; needs ``kapre[ray]``).
        executor: any :class:`concurrent.futures.Executor` to compute on instead (a Dask client's
            ``client.get_executor()``, a ``ProcessPoolExecutor``, ...): each task is a few batches of files, computed by
            a top-level function that builds the front-end once per worker process. ``num_workers`` then bounds the
            tasks in flight (two per worker).
        num_workers: worker processes or Ray actors (default: the CPU cores, or the Ray cluster's CPUs).
        address: the Ray cluster to join (``HOST:PORT`` or ``"auto"``); default: start Ray on this machine.
        **options: the command's other options, by their flag's name with underscores: ``feature="mel"``,
            ``n_mels=64``, ``sr=16000``, ``db=True``, ``frontend="whisper"``,
            ``frontend_args={"n_mels": 128}``, ``config="front.json"``, ``root=...``, ``batch_size=...``,
            ``overwrite=True``, ``mono=False`` (per channel).

    Returns:
        :class:`kapre.cli.extract.ExtractSummary`: files, written, kept, failed (each failure is a manifest row
        with its ``"error"``), hours of audio, seconds.

    Raises:
        ValueError: an invalid option or output folder (the message the command prints).
        KeyboardInterrupt: the run was interrupted; the manifest lists every finished file, and the same call resumes.
    """
    from kapre.constants import EmptyFilterbankWarning

    argv = ["extract", *([inputs] if isinstance(inputs, str) else list(inputs)), "-o", output_dir, "--engine", engine]
    if num_workers is not None:
        argv += ["--num-workers", str(num_workers)]
    if address is not None:
        argv += ["--address", address]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if name == "frontend_args":
            for key, item in dict(value).items():
                argv += ["--frontend-arg", f"{key}={json.dumps(item) if not isinstance(item, str) else item}"]
        elif name == "mono":
            argv.append("--mono" if value else "--per-channel")
        elif value is True:
            argv.append(flag)
        elif value is not False and value is not None:
            argv += [flag, str(value)]

    def refuse(message: str):
        raise ValueError(message)

    parser = build_parser()
    usage = io.StringIO()
    try:
        with contextlib.redirect_stderr(usage):  # argparse's own errors (unknown option, bad value) exit
            args = parser.parse_args(argv)
    except SystemExit as exit_:
        lines = usage.getvalue().strip().splitlines()
        reason = lines[-1].split(": error: ", 1)[-1] if lines else f"invalid options: {argv}"
        raise ValueError(reason) from exit_
    args.command_parser.error = refuse
    if executor is not None and engine != "local":
        raise ValueError(f"executor= computes on the executor given; leave engine at 'local' (got {engine!r})")
    problem = engine_problem(args) if executor is None else None
    if problem:
        raise ValueError(problem)
    if executor is not None and not hasattr(executor, "submit"):
        raise TypeError(f"executor must be a concurrent.futures.Executor, received {type(executor).__name__}")
    args.executor = executor
    with warnings.catch_warnings():  # reported once, in the command's terms, where the front-end is built
        warnings.filterwarnings("ignore", category=EmptyFilterbankWarning)
        status = run(args.command_parser, args)
    if status == 130:
        raise KeyboardInterrupt("kapre extract was interrupted; the manifest lists every finished file")
    return args.summary
