"""What ``kapre extract``'s engines cost on one machine (issue 21): ``python benchmarks/extract_engines.py``.

One corpus, one front-end (W2's: log-mel, ``--sr 16000 --n-fft 512 --hop 160 --n-mels 64 --db``), every row the
command a user runs (``python -m kapre extract``, a fresh output folder, ``--batch-size 1``), on each backend:

- ``local``: the default engine, in the command's own process (its CPU kernels on every core);
- ``processes x1`` and ``processes xN`` (N = the usable cores): worker processes, each with cores / N threads;
- ``ray xN`` (when Ray is installed): a Ray instance started for the run, N actors.

The corpus: ``--files`` clips of 0.5-2.5 s, half at 16 kHz and half at 44.1 kHz (resampled by the reader), wav and
flac, mono and stereo (mixed down), written once into a temporary folder. Reported per row: the wall time of the
whole command (start-up, backend import, listing, computing, manifest), the compute phase the command's summary
line times: when the first file was written (a worker engine's start) and the files per second after it, and the
speed-up of each over ``local`` on the same backend. The CPU (model, SIMD flags, cores) is in the report; figures
from one run only. Results: ``benchmarks/results/engines/`` (``results.md``, ``results.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (the machine's description)

OUT = Path(__file__).resolve().parent / "results" / "engines"
FEATURES = ["--feature", "mel", "--db", "--sr", "16000", "--n-fft", "512", "--hop", "160", "--n-mels", "64"]
SUMMARY = re.compile(r"summary: (\d+) files, .* written in ([\d.]+) s \(([\d.]+) files/s, (\d+)x real time, "
                     r"the first after ([\d.]+) s\)")


def make_corpus(folder: Path, n_files: int) -> float:
    """The clips; returns their total duration in seconds."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    total = 0.0
    for i in range(n_files):
        sr = 16000 if i % 2 else 44100
        seconds = 0.5 + 2.0 * rng.random()
        channels = 2 if i % 5 == 0 else 1
        n = int(sr * seconds)
        t = np.arange(n)[:, None] / sr
        clip = 0.3 * np.sin(2 * np.pi * (150 + 5 * i) * t) + 0.05 * rng.standard_normal((n, channels))
        sub = folder / f"part{i % 8}"
        sub.mkdir(parents=True, exist_ok=True)
        sf.write(sub / f"clip{i:04d}.{'wav' if i % 3 else 'flac'}", clip.astype(np.float32), sr)
        total += n / sr
    return total


def one_row(backend: str, engine: str, workers: int | None, src: Path, work: Path) -> dict:
    out = work / f"{backend}-{engine}-{workers}"
    args = [sys.executable, "-m", "kapre", "extract", str(src), "-o", str(out), *FEATURES]
    if engine != "local":
        args += ["--engine", engine, "--num-workers", str(workers)]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env.update(KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    start = time.monotonic()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.monotonic() - start
    found = SUMMARY.search(proc.stdout)
    row = {"backend": backend, "engine": engine, "workers": workers, "exit": proc.returncode, "wall_s": round(wall, 2)}
    if proc.returncode != 0 or not found:
        row["error"] = (proc.stderr or proc.stdout)[-600:]
        return row
    written = int(re.search(r"; (\d+) written", proc.stdout).group(1))
    row.update(written=written, files=int(found.group(1)), compute_s=float(found.group(2)),
               files_per_s=float(found.group(3)), real_time=int(found.group(4)), first_s=float(found.group(5)))
    # once every worker is up: the files after the first over the time after it
    row["steady_files_per_s"] = round((written - 1) / max(row["compute_s"] - row["first_s"], 1e-9), 1)
    return row


def report(rows: list[dict], meta: dict) -> str:
    lines = ["# `kapre extract` engines on one machine", "",
             f"Run {meta['date']}; CPU: {meta['cpu']}; {meta['machine']}.",
             f"Corpus: {meta['files']} clips, {meta['audio_s'] / 60:.1f} min of audio (half at 44.1 kHz, resampled); "
             "front-end: log-mel, n_fft 512, hop 160, 64 mels, dB, --batch-size 1. "
             "`python benchmarks/extract_engines.py`.", "",
             "| backend | engine | whole command s | x local | first file s | files/s once running | x local |",
             "|---|---|---|---|---|---|---|"]
    local = {row["backend"]: row for row in rows if row["engine"] == "local" and "error" not in row}
    for row in rows:
        name = row["engine"] + (f" x{row['workers']}" if row["workers"] else "")
        if "error" in row:
            lines.append(f"| {row['backend']} | {name} | failed: {row['error'][-120:]!r} | | | | |")
            continue
        base = local.get(row["backend"])
        wall_ratio = f"{base['wall_s'] / row['wall_s']:.2f}" if base else ""
        steady_ratio = f"{row['steady_files_per_s'] / base['steady_files_per_s']:.2f}" if base else ""
        lines.append(f"| {row['backend']} | {name} | {row['wall_s']:.1f} | {wall_ratio} | {row['first_s']:.1f} | "
                     f"{row['steady_files_per_s']:.1f} | {steady_ratio} |")
    lines += ["", "`whole command`: wall time of `kapre extract` from start to exit (import, listing, headers, "
              "computing, manifest); `first file`: from the start of the compute phase to the first file written "
              "(a worker engine's workers importing the backend and building the front-end); `files/s once "
              "running`: the files after the first over the time after it; `x local`: over the local engine on the "
              "same backend (> 1 is faster).", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--backends", default="jax,torch,tensorflow")
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    engines = [("local", None), ("processes", 1), ("processes", cores)]
    if not args.no_ray:
        try:
            import ray  # noqa: F401

            engines.append(("ray", cores))
        except ImportError:
            print("Ray is not installed: no ray row (pip install 'kapre[ray]')", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory(prefix="kapre-engines-") as tmp:
        src = Path(tmp) / "corpus"
        audio_s = make_corpus(src, args.files)
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            for engine, workers in engines:
                row = one_row(backend, engine, workers, src, Path(tmp))
                print(json.dumps(row), flush=True)
                rows.append(row)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": run.cpu_text(run.cpu_description()),
            "machine": run.machine(), "files": args.files, "audio_s": audio_s, "load_before": os.getloadavg()}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    (OUT / "results.md").write_text(report(rows, meta))
    print(report(rows, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
