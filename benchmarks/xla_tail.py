"""TensorFlow's opt-in XLA tail, measured: ``python benchmarks/xla_tail.py [--passes 4]``.

``kapre.config.enable_xla_tail()`` runs :class:`kapre.MelSpectrogram`'s steps after the FFT as one XLA cluster in
TensorFlow graphs; it is off by default because XLA maps its compiler into the process. This script measures the
trade: kapre's log-mel on TensorFlow, eager and in a ``tf.function``, with the switch off and on, on W1 and W2,
each configuration in its own worker process (``_worker.py``, as in ``run.py``: W1 then W2 in one process, so W2's
memory is beyond what W1 left), in alternating passes. Reported per configuration and workload: each pass's median
time, the median over the passes, the speed-up of the switch over the default (median over median), and the peak
resident memory beyond the import footprint in each pass. Writes ``results/xla-tail/results.md`` (with the CPU it
ran on; committed) and ``results.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run  # noqa: E402

WORKLOADS = ("W1 log-mel", "W2 log-mel")
# (label, worker mode): the worker enables the switch for a mode ending in "/xla-tail"
CONFIGS = (
    ("eager", "eager"),
    ("eager, XLA tail", "eager/xla-tail"),
    ("tf.function", "function"),
    ("tf.function, XLA tail", "function/xla-tail"),
)


def summarize(passes: dict[tuple[str, str], list[tuple[float, float]]]) -> dict:
    """``passes[(workload, label)]``: ``(ms, MiB beyond import)`` per pass (NaN where the row failed). Per workload
    and configuration: the passes' times and memory, the median time, and for a configuration with the switch, its
    speed-up over the same mode without it (the default's median over its median)."""
    out: dict[str, dict] = {}
    for workload in WORKLOADS:
        rows = {}
        for label, _ in CONFIGS:
            values = passes.get((workload, label), [])
            times = [t for t, _ in values if np.isfinite(t)]
            rows[label] = dict(ms=[round(t, 2) for t, _ in values], mib=[round(m) for _, m in values if np.isfinite(m)],
                               median_ms=round(float(np.median(times)), 2) if times else None)
        for label, _ in CONFIGS:
            base = label.removesuffix(", XLA tail")
            if base != label and rows[label]["median_ms"] and rows[base]["median_ms"]:
                rows[label]["speedup"] = round(rows[base]["median_ms"] / rows[label]["median_ms"], 2)
        out[workload] = rows
    return out


def report_lines(table: dict, date: str, n_passes: int, runs: int, cpu: dict | None, libraries: dict) -> list[str]:
    lines = [
        "# TensorFlow's XLA tail (`kapre.config.enable_xla_tail`): speed and memory",
        "",
        f"{date}; {n_passes} alternating passes, each configuration in its own process (W1 then W2), {runs} timed "
        "calls per workload (median per pass). Memory: peak RSS beyond the import footprint (W2: beyond what W1 "
        "left in the process).",
        "",
        run.cpu_line(cpu, libraries),
        "",
        "| workload | kapre.MelSpectrogram on TF | ms per pass | median ms | speed-up over the default "
        "| MiB beyond import per pass |",
        "|---|---|---|---|---|---|",
    ]
    for workload, rows in table.items():
        for label, row in rows.items():
            median = "failed" if row["median_ms"] is None else f"{row['median_ms']:.2f}"
            if "speedup" in row:
                speedup = f"{row['speedup']:.2f}"
            else:
                speedup = "-" if label.endswith(", XLA tail") else "(the default)"
            per_pass = ", ".join("failed" if t != t else f"{t:.2f}" for t in row["ms"])  # t != t: NaN
            lines.append(f"| {workload} | {label} | {per_pass} | {median} | "
                         f"{speedup} | {', '.join(str(m) for m in row['mib'])} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", type=int, default=4, help="alternating passes (default 4)")
    parser.add_argument("--runs", type=int, default=21, help="timed calls per workload and pass")
    parser.add_argument("--out", default=str(HERE / "results" / "xla-tail"), help="output folder")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="kapre-xla-tail-")
    passes: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for index in range(args.passes):
        for label, mode in CONFIGS:
            rows = run.run_config("kapre", "tensorflow", mode, list(WORKLOADS), args.runs, tmp, "xla-tail", 600,
                                  min_time=0.5)
            for row in rows:
                ok = row.get("status") == "ok"
                ms = row["median_s"] * 1e3 if ok else float("nan")
                mib = row["peak_rss_mib"] - row["import_rss_mib"] if ok else float("nan")
                passes.setdefault((row["workload"], label), []).append((ms, mib))
                print(f"[pass {index + 1}/{args.passes}] {row['workload']:11s} {label:22s} {ms:7.2f} ms "
                      f"{mib:6.0f} MiB" + ("" if ok else f"  {row.get('error', '')[:200]}"), flush=True)
    date = time.strftime("%Y-%m-%d %H:%M")
    cpu, libraries = run.cpu_description(), run.library_info()
    table = summarize(passes)
    lines = report_lines(table, date, args.passes, args.runs, cpu, libraries)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text("\n".join(lines) + "\n")
    (out / "results.json").write_text(json.dumps(
        dict(date=date, passes=args.passes, runs=args.runs, cpu=cpu, libraries=libraries,
             per_pass={" | ".join(k): v for k, v in passes.items()}, summary=table), indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
