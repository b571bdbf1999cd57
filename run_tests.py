"""Run kapre's whole test suite once per Keras backend (TensorFlow, JAX, PyTorch), each in its own process.

Usage: ``python run_tests.py [--backends tensorflow,jax,torch] [--jobs N] [extra pytest arguments]``

Each backend's pytest output goes to ``test-logs/<backend>.log`` and is printed when it finishes (JAX's, the
longest, runs as two processes: ``jax.log`` and ``jax-2.log`` for the modules of ``JAX_SECOND_SHARD``, started when
a core is free); ``ruff check`` runs first. The last line sums the runs ("N passed, N failed"); the exit status is
non-zero if a run failed, ran no test, or the lint failed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BACKENDS = ("tensorflow", "jax", "torch")
COUNT_PATTERN = re.compile(r"(\d+) (passed|failed|skipped|error|errors|xfailed|xpassed)")


# JAX's run is the longest (it compiles every layer variant): these modules run in a second JAX process, started
# when the TensorFlow and PyTorch runs are done, so that two cores stay busy to the end.
JAX_SECOND_SHARD = ("tests/test_streaming.py", "tests/test_streaming_temporal.py", "tests/test_streaming_inverse.py",
                    "tests/test_streaming_export.py", "tests/test_cli_stream.py", "tests/test_cli.py",
                    "tests/test_cli_frontends.py", "tests/test_cli_invert.py", "tests/test_export.py",
                    "tests/test_cli_export.py", "tests/test_data_pipelines.py", "tests/test_benchmark_export.py",
                    "tests/test_extract_engines.py", "tests/test_distribution.py")


def jobs_for(backends: list[str], pytest_args: list[str]) -> list[tuple[str, str, list[str]]]:
    """``(label, backend, pytest arguments)`` per process, the longest first; JAX in two shards unless the
    arguments name tests themselves."""
    names_tests = any(not arg.startswith("-") for arg in pytest_args)
    jobs = []
    for backend in backends:
        if backend == "jax" and not names_tests:
            jobs.append(("jax", backend, [*pytest_args, "tests", *(f"--ignore={p}" for p in JAX_SECOND_SHARD)]))
        else:
            jobs.append((backend, backend, pytest_args))
    if "jax" in backends and not names_tests:
        jobs.append(("jax-2", "jax", [*pytest_args, *JAX_SECOND_SHARD]))
    return jobs


def run_backend(label: str, backend: str, pytest_args: list[str], log_dir: Path
                ) -> tuple[str, int, dict[str, int], float]:
    env = dict(os.environ)
    env.update(
        KERAS_BACKEND=backend,
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONUNBUFFERED="1",
        # The backends run side by side on few cores: one thread pool each avoids oversubscription.
        OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"),
        MPLBACKEND="Agg",
    )
    log_path = log_dir / f"{label}.log"
    start = time.monotonic()
    with open(log_path, "w") as log:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args]
        returncode = subprocess.call(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    elapsed = time.monotonic() - start
    text = log_path.read_text(errors="replace")
    last_line = text.strip().splitlines()[-1] if text.strip() else ""
    counts: dict[str, int] = {}
    for number, kind in COUNT_PATTERN.findall(last_line):
        kind = "error" if kind == "errors" else kind
        counts[kind] = counts.get(kind, 0) + int(number)
    return label, returncode, counts, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated backends to test")
    parser.add_argument("--jobs", type=int, default=min(3, os.cpu_count() or 1), help="backends run at once")
    parser.add_argument("--no-lint", action="store_true", help="skip `ruff check`")
    args, pytest_args = parser.parse_known_args()
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        parser.error(f"unknown backend(s) {unknown}; choose from {list(BACKENDS)}")

    failures = 0
    # torchaudio and openai-whisper, the references pip cannot install beside the pinned torch
    subprocess.run([sys.executable, str(ROOT / "tests" / "references.py")], cwd=ROOT, check=True)
    if not args.no_lint:
        lint = subprocess.call([sys.executable, "-m", "ruff", "check", "kapre", "tests", "benchmarks", "run_tests.py"],
                               cwd=ROOT)
        print(f"ruff check: {'ok' if lint == 0 else 'FAILED'}", flush=True)
        failures += lint != 0

    log_dir = ROOT / "test-logs"
    log_dir.mkdir(exist_ok=True)
    totals: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_backend, *job, log_dir) for job in jobs_for(backends, pytest_args)]
        for future in futures:
            label, returncode, counts, elapsed = future.result()
            print(f"\n===== {label} ({elapsed:.0f} s, exit {returncode}) =====", flush=True)
            print((log_dir / f"{label}.log").read_text(errors="replace"), flush=True)
            for kind, number in counts.items():
                totals[kind] = totals.get(kind, 0) + number
            if returncode != 0 or counts.get("passed", 0) == 0:
                failures += 1

    summary = ", ".join(f"{backend}" for backend in backends)
    print(f"\nbackends: {summary}")
    failed = totals.get("failed", 0) + totals.get("error", 0)
    skipped = totals.get("skipped", 0)
    print(f"{totals.get('passed', 0)} passed, {failed} failed, {skipped} skipped")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
