"""Close calls measured again: ``python benchmarks/alternate.py [--passes 5]``.

On a shared machine one benchmark row can move by a third between runs minutes apart, so a ratio between two rows
of one run depends on which minute each row caught. This script runs kapre's fastest configurations and the
fastest peers of the log-mel workloads in alternating passes (each configuration in its own process, as in
``run.py``, 21 timed calls), and reports each pass's ratio of the fastest peer over kapre's row, with the median
and range over the passes. Writes ``results/alternate.md`` and ``results/alternate.json``.
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

KAPRE = ("kapre", "torch", "eager")
CONFIGS = {
    "W1 log-mel": [KAPRE, ("kapre041", "tensorflow", "function"), ("kapre041", "tensorflow", "xla"),
                   ("keras", "tensorflow", "function"), ("keras", "tensorflow", "xla")],
    "W2 log-mel": [KAPRE, ("keras", "jax", "jit"), ("kapre041", "tensorflow", "xla"),
                   ("torch_stft", "torch", "compile")],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", type=int, default=5, help="alternating passes (default 5)")
    parser.add_argument("--runs", type=int, default=21, help="timed calls per configuration and pass")
    parser.add_argument("--out", default=str(HERE / "results"), help="output folder")
    args = parser.parse_args()
    if not run.ensure_venv(print):
        print("kapre 0.4.1's virtual environment could not be built; its rows will report the error")
    tmp = tempfile.mkdtemp(prefix="kapre-alternate-")
    medians: dict[tuple, list[float]] = {}
    for index in range(args.passes):
        for workload, configs in CONFIGS.items():
            for impl, backend, mode in configs:
                row = run.run_config(impl, backend, mode, [workload], args.runs, tmp, "alternate", 600)[0]
                value = row["median_s"] * 1e3 if row["status"] == "ok" else float("nan")
                medians.setdefault((workload, impl, backend, mode), []).append(value)
                label = run.label(dict(row, backend=backend))
                print(f"[pass {index + 1}/{args.passes}] {workload:11s} {label:55s} {value:7.2f} ms", flush=True)
    lines = [
        "# Alternating passes: kapre's row against the fastest peer",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')}; {args.passes} passes, each configuration in its own process with "
        f"{args.runs} timed calls (median per pass). Ratio = the pass's fastest peer / kapre 1.x [PyTorch, eager].",
        "",
        "| workload | kapre ms per pass | fastest peer per pass | ratio per pass | median ratio |",
        "|---|---|---|---|---|",
    ]
    summary = {}
    for workload, configs in CONFIGS.items():
        kapre = medians[(workload, *KAPRE)]
        peers = [medians[(workload, *config)] for config in configs[1:]]
        ratios, fastest = [], []
        for index in range(args.passes):
            times = [(p[index], run.label(dict(impl=c[0], backend=c[1], mode=c[2], workload=workload)))
                     for p, c in zip(peers, configs[1:], strict=True) if np.isfinite(p[index])]
            if not times or not np.isfinite(kapre[index]):
                fastest.append("failed")
                continue
            best = min(times)
            fastest.append(f"{best[0]:.1f} ({best[1]})")
            ratios.append(best[0] / kapre[index])
        median = float(np.median(ratios)) if ratios else float("nan")
        summary[workload] = dict(kapre_ms=kapre, ratios=ratios, median_ratio=median)
        lines.append(f"| {workload} | {', '.join(f'{t:.1f}' for t in kapre)} | {'; '.join(fastest)} | "
                     f"{', '.join(f'{r:.2f}' for r in ratios)} | {median:.2f} |")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "alternate.md").write_text("\n".join(lines) + "\n")
    (out / "alternate.json").write_text(json.dumps(
        dict(passes=args.passes, runs=args.runs, date=time.strftime("%Y-%m-%d %H:%M"),
             medians_ms={" | ".join(k): v for k, v in medians.items()}, summary=summary), indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
