"""Where ``kapre extract`` computes its files: worker processes on this machine, any
:class:`concurrent.futures.Executor` (a Dask client's ``get_executor()``, ...), or an actor pool on a Ray cluster.

The process that runs the command (the driver) keeps everything that makes a run safe to kill and resume: it lists
the files, reads their headers, keeps existing outputs, forms the batches (the same as the local engine's) and
owns the manifest. A worker gets batches of jobs and the front-end's record (``kapre-frontend.json``), builds the
front-end once from that record (as ``--config kapre-frontend.json`` would), reads and resamples its files, computes
them, writes each ``.npy`` atomically, and sends back the files' manifest rows; the driver adds each row as it
arrives. A worker killed between its write and its row leaves an output without a row, which a resumed run puts back
in the manifest from the file itself; a worker killed before its write leaves nothing (the write is a rename), and
the batch is computed again: by Ray (actors restart and their tasks are retried) or by the processes engine (a new
pool, twice at most; then the batch's files fail with a message).

On a Ray cluster the input and output folders must be on a file system every node sees under the same path, and
kapre (with the backend the driver uses, ``KERAS_BACKEND``) installed on every node.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import multiprocessing
import os
import signal
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import asdict

from kapre_cli import start_worker

__all__ = ["run_batches", "compute_remote", "check_address", "default_workers", "AddressError"]

# Batches in flight per worker: enough to keep each busy while the driver writes rows, few enough that Ctrl-C
# leaves little computed-but-unrecorded work.
_IN_FLIGHT_PER_WORKER = 2
_MAX_BATCHES_PER_TASK = 8
# Ray Data blocks: batches per block, and the most blocks (Ray's scheduling cost grows with their number).
_BATCHES_PER_BLOCK = 4
_MAX_BLOCKS = 20000
# A processes-engine batch whose worker died is computed again at most this many times.
_RETRIES = 2
# The environment a worker needs to compute exactly what the driver would: the backend and its settings.
_FORWARDED_ENV = ("KERAS_BACKEND", "KERAS_HOME", "TF_CPP_MIN_LOG_LEVEL", "OMP_NUM_THREADS",
                  "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "XLA_FLAGS",
                  "JAX_ENABLE_X64", "JAX_PLATFORMS", "CUDA_VISIBLE_DEVICES", "TF_DETERMINISTIC_OPS")

_built: dict[str, tuple] = {}  # in a worker: the front-end built from each record (JSON text), built once


class AddressError(ValueError):
    """``--address`` names no reachable Ray cluster."""


def default_workers() -> int:
    """The CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover  (macOS, Windows)
        return max(1, os.cpu_count() or 1)


def _frontend(record_text: str) -> tuple:
    """``(extractor, options, squeeze)`` of a ``kapre-frontend.json`` record, built once per process."""
    if record_text not in _built:
        from kapre.cli._batch import FRONTEND_NAME
        from kapre.cli.options import build_reported, options_from_args
        from kapre.extraction import Extractor
        from kapre_cli import build_parser

        with tempfile.TemporaryDirectory(prefix="kapre-worker-") as folder:
            path = os.path.join(folder, FRONTEND_NAME)
            with open(path, "w", encoding="utf-8") as f:
                f.write(record_text)
            args = build_parser().parse_args(["extract", path, "-o", folder, "--config", path])
            parser = args.command_parser
            try:
                options, model = options_from_args(parser, args)
                if model is None:
                    model = build_reported(parser, options)
            except SystemExit as exit_:  # parser.error: the record cannot be rebuilt here (another kapre version?)
                raise RuntimeError(f"the worker cannot rebuild the front-end of {FRONTEND_NAME} (exit {exit_.code}; "
                                   "is the same kapre version installed on every worker?)") from None
        squeeze = args.frontend_spec is not None and options.mono
        _built[record_text] = (Extractor(model), options, squeeze)
    return _built[record_text]


class _Collected:
    """A worker's sink (:func:`kapre.cli._batch.compute_batch`): each file's row and its messages, returned to the
    driver."""

    def __init__(self):
        self.results: dict[str, dict] = {}

    def _entry(self, job) -> dict:
        return self.results.setdefault(job.key, {"key": job.key, "row": job.row, "messages": []})

    def warn(self, job, text: str) -> None:
        self._entry(job)["messages"].append(text)

    def fail(self, job, message: str) -> None:
        from kapre.cli._batch import fail_row

        fail_row(job, message)
        entry = self._entry(job)
        entry["messages"].append(message)
        entry["done"] = True

    def save(self, job, features) -> None:
        from kapre.cli._batch import save_features

        problem = save_features(job, features)
        if problem is not None:
            self.fail(job, problem)
        else:
            self._entry(job)["done"] = True

    def rows(self, jobs) -> list[dict]:
        out = []
        for job in jobs:
            entry = self.results.get(job.key)
            if entry is not None and entry.get("done"):
                out.append({"key": entry["key"], "row": job.row, "messages": entry["messages"]})
        return out


def _jobs(payload: list[dict]) -> list:
    from kapre.cli._batch import Job

    return [Job(**item) for item in payload]


def compute_remote(record_text: str, payload: list[list[dict]]) -> list[dict]:
    """A worker's task: a few batches of jobs (``Job`` fields), each read, computed and written; their manifest rows
    and messages. A top-level function, so that any executor can pickle it."""
    from kapre.cli._batch import compute_batch, read_batch

    extractor, options, squeeze = _frontend(record_text)
    rows = []
    for batch in payload:
        jobs = _jobs(batch)
        sink = _Collected()
        compute_batch(read_batch(jobs, options, sink), extractor, options, sink, squeeze)
        rows.extend(sink.rows(jobs))
    return rows


def _payload(batch) -> list[dict]:
    """A batch's jobs with absolute paths (a worker's working folder may be another)."""
    return [{**asdict(job), "path": os.path.abspath(job.path), "output": os.path.abspath(job.output)} for job in batch]


def run_batches(batches: list[list], record: dict, engine: str, sink, *, num_workers: int | None = None,
                executor: concurrent.futures.Executor | None = None, address: str | None = None) -> None:
    """Compute ``batches`` (lists of ``kapre.cli._batch.Job``) on ``engine`` and hand every file's outcome to
    ``sink`` (the driver's: manifest, counts, progress) as it arrives.

    Ctrl-C or SIGTERM: no new batch is handed out, the batches being computed are waited for and their rows added
    (so that every output on disk is in the manifest), then ``KeyboardInterrupt``; a second Ctrl-C stops at once
    (a resumed run puts any output without its row back in the manifest)."""
    record_text = json.dumps(record, sort_keys=True)
    by_key = {job.key: job for batch in batches for job in batch}
    with _stop_requests() as stop:
        if engine == "ray":
            results = _ray_results(batches, record_text, num_workers, address, stop)
        elif executor is not None:
            results = _executor_results(executor, batches, record_text, num_workers or default_workers(), stop)
        else:
            results = _pool_results(batches, record_text, num_workers or default_workers(), stop)
        for outcome in results:
            _apply(outcome, by_key, sink)
    if stop:
        raise KeyboardInterrupt


@contextlib.contextmanager
def _stop_requests() -> Iterator[list]:
    """Ctrl-C and SIGTERM noted in the list the block gets (the dispatch loops look at it) instead of raised; the
    second one raises ``KeyboardInterrupt`` at once. Outside the main thread signals stay as they are."""
    received: list[int] = []

    def note(signum, frame):
        received.append(signum)
        if len(received) > 1:
            raise KeyboardInterrupt

    previous = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, note)
    except ValueError:  # not the main thread
        pass
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _apply(outcome: dict, by_key: dict, sink) -> None:
    job = by_key[outcome["key"]]
    job.row = outcome["row"]
    if job.row.get("status") == "ok":
        for text in outcome["messages"]:
            sink.warn(job, text)
        sink.written(job)
    else:
        for text in outcome["messages"][:-1]:
            sink.warn(job, text)
        sink.fail(job, job.row.get("error") or "failed")


def _lost(batch, reason: str) -> list[dict]:
    from kapre.cli._batch import fail_row

    out = []
    for job in batch:
        fail_row(job, reason)
        out.append({"key": job.key, "row": job.row, "messages": [reason]})
    return out


def _executor_results(executor, batches: list[list], record_text: str, width: int, stop: list,
                      reraise: tuple = ()) -> Iterator[dict]:
    """Rows of ``batches`` computed on ``executor``, at most ``width * 2`` tasks in flight; the files of a task
    that raised fail with the error (the executor's own retries are its business), except for the errors in
    ``reraise``, raised once every finished batch is yielded. Once ``stop`` holds a signal, no batch is submitted
    and those in flight are waited for."""
    # Several batches per task when there are many: a round trip to a worker costs about what a short file does.
    per_task = max(1, min(_MAX_BATCHES_PER_TASK, len(batches) // (width * _IN_FLIGHT_PER_WORKER * 4)))
    pending = [batches[start : start + per_task] for start in range(0, len(batches), per_task)][::-1]
    running: dict[concurrent.futures.Future, list] = {}
    try:
        while (pending and not stop) or running:
            while pending and not stop and len(running) < width * _IN_FLIGHT_PER_WORKER:
                task = pending.pop()
                payload = [_payload(batch) for batch in task]
                running[executor.submit(compute_remote, record_text, payload)] = [job for b in task for job in b]
            done, _ = concurrent.futures.wait(running, timeout=0.25, return_when=concurrent.futures.FIRST_COMPLETED)
            fatal = None
            for future in done:
                batch = running.pop(future)
                error = None if future.cancelled() else future.exception()
                if future.cancelled():
                    continue
                if error is None:
                    yield from future.result()
                elif isinstance(error, reraise):
                    fatal = error
                else:  # the task's own error: its files fail with it
                    from kapre.cli._batch import failure_reason

                    yield from _lost(batch, f"worker error: {type(error).__name__}: {failure_reason(error)}")
            if fatal is not None:
                raise fatal
    finally:
        for future in running:
            future.cancel()


def _pool_results(batches: list[list], record_text: str, num_workers: int, stop: list) -> Iterator[dict]:
    """Rows of ``batches`` computed by ``num_workers`` spawned processes. A dead worker (killed, out of memory)
    breaks the pool: a new one computes the files that had not come back, each at most :data:`_RETRIES` more
    times."""
    from concurrent.futures.process import BrokenProcessPool

    tries: dict[str, int] = {}
    remaining = list(batches)
    while remaining and not stop:
        finished: set[str] = set()
        # The cores shared out (kapre_cli.start_worker runs before the worker imports kapre and its backend).
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=num_workers, mp_context=multiprocessing.get_context("spawn"), initializer=start_worker,
            initargs=(max(1, default_workers() // num_workers),))
        try:
            for outcome in _executor_results(pool, remaining, record_text, num_workers, stop,
                                             reraise=(BrokenProcessPool,)):
                finished.add(outcome["key"])
                yield outcome
            remaining = []
        except BrokenProcessPool:
            pass
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        again = []
        for batch in remaining:
            batch = [job for job in batch if job.key not in finished]
            if not batch:
                continue
            for job in batch:
                tries[job.key] = tries.get(job.key, 0) + 1
            if max(tries[job.key] for job in batch) > _RETRIES:
                yield from _lost(batch, "a worker process died computing this file (out of memory?); run again to "
                                        "retry it")
            else:
                again.append(batch)
        remaining = again


# ---- Ray -------------------------------------------------------------------------------------------------------

def check_address(address: str, timeout: float = 5.0) -> None:
    """Raise :class:`AddressError` unless a Ray head answers at ``address`` (``HOST:PORT``, ``ray://HOST:PORT`` or
    ``auto``), so that a wrong address fails in seconds, not after Ray's minutes of retries."""
    if address == "auto":
        return
    host, port = _host(address), address.rpartition(":")[2]
    if not host or not port.isdigit():
        raise AddressError(f"--address {address}: expected HOST:PORT (as `ray start --head` prints it), "
                           "ray://HOST:PORT or auto")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as err:
        raise AddressError(f"--address {address}: no Ray cluster answers there ({err.strerror or err}); start one "
                           "with `ray start --head`, or leave --address out to start Ray on this machine") from None


def _host(address: str) -> str:
    return address.split("://", 1)[-1].rpartition(":")[0].strip("[]")


def _worker_env() -> dict[str, str]:
    return {name: os.environ[name] for name in _FORWARDED_ENV if name in os.environ}


def _ray_read(item: dict, record_text: str) -> dict:
    """Ray Data task: a batch's files read and resampled (reading needs no front-end)."""
    import pickle

    from kapre.cli._batch import read_batch
    from kapre.cli.options import options_from_record

    options, _ = options_from_record(json.loads(record_text))  # the rate and mix-down the files are read at
    sink = _Collected()
    read = [(job.key, audio, warnings) for job, audio, warnings in read_batch(_jobs(json.loads(item["jobs"])),
                                                                               options, sink)]
    return {"jobs": item["jobs"], "read": pickle.dumps((read, sink.results), protocol=5)}


class _RayCompute:
    """Ray Data actor: holds the built front-end; computes and writes the batches the read tasks hand it. A
    subclass per run carries the record (:func:`_ray_results`), so that the actor has no constructor arguments to
    lose in Ray's object store when it is restarted."""

    record_text = ""

    def __init__(self):
        _frontend(self.record_text)  # built once, when the actor starts

    def __call__(self, batch: dict) -> dict:
        import pickle

        import numpy as np

        from kapre.cli._batch import compute_batch

        extractor, options, squeeze = _frontend(self.record_text)
        out = []
        for jobs_text, read_blob in zip(batch["jobs"], batch["read"], strict=True):
            jobs = _jobs(json.loads(jobs_text))
            by_key = {job.key: job for job in jobs}
            read, failed = pickle.loads(read_blob)
            sink = _Collected()
            for key, entry in failed.items():  # files the read task could not read
                by_key[key].row = entry["row"]
                sink.results[key] = {**entry, "row": by_key[key].row}
            compute_batch([(by_key[key], audio, warnings) for key, audio, warnings in read], extractor, options,
                          sink, squeeze)
            out.extend(sink.rows(jobs))
        return {"outcome": np.array([json.dumps(item) for item in out], dtype=object)}


def _ray_results(batches: list[list], record_text: str, num_workers: int | None, address: str | None,
                 stop: list) -> Iterator[dict]:
    """Rows of ``batches`` computed on Ray Data: read tasks, then ``map_batches`` on an actor pool of
    ``num_workers`` actors (default: the cluster's CPUs), each holding the built front-end."""
    import logging

    # Ray Data's plan and timing lines and the core worker's notes would drown kapre's progress bar; failures still
    # come back as Python errors. A user's own setting wins.
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "WARNING")
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    if address and _host(address) in ("127.0.0.1", "localhost", "::1"):
        # A cluster on loopback is on this machine: Ray would replace the loopback address by the machine's network
        # address, where a loopback-only cluster does not listen. Ray's own switch keeps it (read at import).
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(address=address, runtime_env={"env_vars": _worker_env()}, include_dashboard=False,
                 logging_level=logging.WARNING, log_to_driver=True, configure_logging=True)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # kapre's own bar counts files
        context.execution_options.preserve_order = False
        cpus = int(ray.cluster_resources().get("CPU", 1))
        actors = num_workers or max(1, cpus)
        items = [{"jobs": json.dumps(_payload(batch))} for batch in batches]
        # A block is what a task reads, an actor retries after a restart, and the driver gets back at once: a few
        # batches each, so that rows (and the progress bar) follow the work, and a retry redoes little.
        blocks = max(1, min(_MAX_BLOCKS, -(-len(items) // _BATCHES_PER_BLOCK)))
        dataset = ray.data.from_items(items, override_num_blocks=blocks)
        # A read task takes a fraction of a CPU: it waits on the disk, and it must find room beside the actors.
        dataset = dataset.map(_ray_read, fn_args=(record_text,), num_cpus=0.25)
        actor_class = type("KapreFrontend", (_RayCompute,), {"record_text": record_text})
        dataset = dataset.map_batches(actor_class, batch_size=1,
                                      num_cpus=min(1.0, max(0.25, (cpus - 0.5) / actors)),
                                      compute=ray.data.ActorPoolStrategy(size=actors), batch_format="numpy")
        for row in dataset.iter_rows():
            yield json.loads(row["outcome"])
            if stop:  # the actors' batches in flight are dropped; a resumed run adds their outputs' rows
                break
    finally:
        if started:
            ray.shutdown()
