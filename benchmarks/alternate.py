"""Close calls measured again: ``python benchmarks/alternate.py [--passes 5]``.

On a shared machine one benchmark row can move by a third between runs minutes apart, so a ratio between two rows
of one run depends on which minute each row caught. This script runs kapre's fastest configurations and the
fastest peers of the log-mel workloads in alternating passes (each configuration in its own process, as in
``run.py``, 21 timed calls), and reports each pass's ratio of the fastest peer over kapre's row, with the median
and range over the passes. Writes ``results/alternate.md`` (with the CPU it ran on), the ``alternate`` section of
``results/summary.json`` (both committed) and ``results/alternate.json`` (every median; not committed). Peers whose
environment is missing (``python benchmarks/run.py --setup-peers`` builds them) are left out, with a note.
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


def config_label(workload, config) -> str:
    return run.label(dict(impl=config[0], backend=config[1], mode=config[2], workload=workload))


def passes_table(medians: dict[tuple, list[float]], configs: dict[str, list[tuple]], passes: int) -> dict:
    """Per workload: kapre's median per pass (ms), the pass's fastest peer ``[ms, label]`` (None where kapre's row
    or every peer failed), the ratios fastest peer / kapre (passes that ran) and their median. ``medians`` maps
    ``(workload, impl, backend, mode)`` to one median (ms, NaN if failed) per pass."""
    out = {}
    for workload, config_list in configs.items():
        kapre = medians[(workload, *config_list[0])]
        peers = [(medians[(workload, *c)], config_label(workload, c)) for c in config_list[1:]
                 if (workload, *c) in medians]
        ratios, fastest = [], []
        for index in range(passes):
            times = [(p[index], name) for p, name in peers if np.isfinite(p[index])]
            if not times or not np.isfinite(kapre[index]):
                fastest.append(None)
                continue
            best = min(times)
            fastest.append([round(best[0], 1), best[1]])
            ratios.append(round(best[0] / kapre[index], 2))
        out[workload] = dict(kapre_ms=[round(t, 1) for t in kapre], fastest_peer=fastest, ratios=ratios,
                             median_ratio=round(float(np.median(ratios)), 2) if ratios else None)
    return out


def report_lines(table: dict, date: str, passes: int, runs: int, cpu: dict | None, libraries: dict,
                 skipped: dict[str, str]) -> list[str]:
    lines = [
        "# Alternating passes: kapre's row against the fastest peer",
        "",
        f"{date}; {passes} passes, each configuration in its own process with {runs} timed calls (median per "
        "pass). Ratio = the pass's fastest peer / kapre 1.x [PyTorch, eager].",
        "",
        run.cpu_line(cpu, libraries),
        "",
    ]
    if skipped:
        lines += ["Left out (peer environment missing): "
                  + "; ".join(f"{run.PEER_LABEL.get(impl, impl)}: {why}" for impl, why in skipped.items()) + ".", ""]
    lines += ["| workload | kapre ms per pass | fastest peer per pass | ratio per pass | median ratio |",
              "|---|---|---|---|---|"]
    for workload, row in table.items():
        fastest = "; ".join("failed" if f is None else f"{f[0]:.1f} ({f[1]})" for f in row["fastest_peer"])
        median = "-" if row["median_ratio"] is None else f"{row['median_ratio']:.2f}"
        lines.append(f"| {workload} | {', '.join(f'{t:.1f}' for t in row['kapre_ms'])} | {fastest} | "
                     f"{', '.join(f'{r:.2f}' for r in row['ratios'])} | {median} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", type=int, default=5, help="alternating passes (default 5)")
    parser.add_argument("--runs", type=int, default=21, help="timed calls per configuration and pass")
    parser.add_argument("--out", default=str(HERE / "results"), help="output folder")
    args = parser.parse_args()
    missing = run.missing_peers()
    configs = {workload: [c for c in config_list if c[0] not in missing] for workload, config_list in CONFIGS.items()}
    for impl, why in missing.items():
        if any(c[0] == impl for config_list in CONFIGS.values() for c in config_list):
            print(f"leaving out the {run.PEER_LABEL[impl]} rows: {why}")
    tmp = tempfile.mkdtemp(prefix="kapre-alternate-")
    medians: dict[tuple, list[float]] = {}
    for index in range(args.passes):
        for workload, config_list in configs.items():
            for impl, backend, mode in config_list:
                row = run.run_config(impl, backend, mode, [workload], args.runs, tmp, "alternate", 600)[0]
                value = row["median_s"] * 1e3 if row["status"] == "ok" else float("nan")
                medians.setdefault((workload, impl, backend, mode), []).append(value)
                label = config_label(workload, (impl, backend, mode))
                print(f"[pass {index + 1}/{args.passes}] {workload:11s} {label:55s} {value:7.2f} ms", flush=True)
    date = time.strftime("%Y-%m-%d %H:%M")
    cpu, libraries = run.cpu_description(), run.library_info()
    skipped = {impl: why for impl, why in missing.items()
               if any(c[0] == impl for config_list in CONFIGS.values() for c in config_list)}
    table = passes_table(medians, configs, args.passes)
    lines = report_lines(table, date, args.passes, args.runs, cpu, libraries, skipped)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "alternate.md").write_text("\n".join(lines) + "\n")
    (out / "alternate.json").write_text(json.dumps(
        dict(passes=args.passes, runs=args.runs, date=date, cpu=cpu, libraries=libraries,
             medians_ms={" | ".join(k): v for k, v in medians.items()}, summary=table), indent=1))
    run.write_summary(dict(generated_by="benchmarks/alternate.py", date=date, cpu=cpu, libraries=libraries,
                           passes=args.passes, runs=args.runs, skipped=skipped, workloads=table),
                      out / "summary.json", section="alternate")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
