"""kapre's speed benchmark: ``python benchmarks/run.py [--quick]``.

Every configuration (implementation x backend x mode) runs in its own subprocess (``_worker.py``), one after
the other; results go to ``benchmarks/results/results.{md,json,png}``. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from workloads import SWEEP_BATCHES, SWEEP_SECONDS, WORKLOADS, make_input  # noqa: E402

VENV_PYTHON = ROOT / ".bench-venv" / "bin" / "python"
TORCHAUDIO_DIR = ROOT / ".bench-torchaudio"
BACKEND_MODES = {"tensorflow": ("eager", "function", "xla"), "jax": ("eager", "jit"), "torch": ("eager", "compile")}
MODE_LABEL = {"eager": "eager", "function": "tf.function", "xla": "tf.function(jit_compile=True)",
              "jit": "jax.jit", "compile": "torch.compile", "-": "-"}
LOGMEL = ("W1 log-mel", "W2 log-mel")
EXTRA = ("STFT magnitude (W1)", "MFCC-20 (W1)", "STFT->iSTFT (W1)")
SWEEP = tuple(f"sweep {b}x{s}s" for s in SWEEP_SECONDS for b in SWEEP_BATCHES)


def configurations(quick: bool):
    """(impl, backend, mode, workloads) in run order."""
    out = []
    log_mel = LOGMEL
    for backend, modes in BACKEND_MODES.items():
        for mode in modes:
            if quick and mode != BACKEND_MODES[backend][1]:
                continue
            out.append(("kapre", backend, mode, log_mel))
            out.append(("keras", backend, mode, log_mel))
    for mode in ("eager", "compile"):
        if not (quick and mode == "compile"):
            out.append(("torch_stft", "torch", mode, log_mel))
            out.append(("torchaudio", "torch", mode, log_mel))
    if quick:  # torch.compile takes up to a minute to compile on 2 cores; eager is the PyTorch row of --quick
        out = [c for c in out if c[2] != "compile"] + [("kapre", "torch", "eager", log_mel)]
    out += [("librosa", "-", "-", log_mel), ("numpy", "-", "-", log_mel)]
    for mode in ("eager", "function", "xla"):
        if not (quick and mode != "function"):
            out.append(("kapre041", "tensorflow", mode, log_mel))
    if quick:
        return out
    for workload in EXTRA:
        for backend, mode in (("tensorflow", "function"), ("jax", "jit"), ("torch", "eager")):
            out.append(("kapre", backend, mode, (workload,)))
        out += [("librosa", "-", "-", (workload,)), ("numpy", "-", "-", (workload,)),
                ("torch_stft", "torch", "eager", (workload,)), ("kapre041", "tensorflow", "function", (workload,))]
        if workload != "STFT->iSTFT (W1)":  # torchaudio's inverse is torch.istft, the torch.stft row's
            out.append(("torchaudio", "torch", "eager", (workload,)))
    for backend, mode in (("tensorflow", "function"), ("tensorflow", "xla"), ("jax", "jit"), ("torch", "eager")):
        out.append(("kapre", backend, mode, SWEEP))
    out.append(("numpy", "-", "-", SWEEP))
    return out


def pool_rounds(row, later):
    """Join a later round's timed runs to ``row`` (the first round's): median/min/max over all of them, the
    largest peak memory beyond the import footprint. A round that failed leaves the timings as they were; a
    first round that failed is replaced. ``round_medians_s`` holds each round's median in round order, ``None``
    for a failed round, so that the report's per-round figures compare the inputs of one and the same round."""
    medians = row.get("round_medians_s", [row["median_s"] if row["status"] == "ok" else None])
    medians.append(later["median_s"] if later["status"] == "ok" else None)
    if later["status"] != "ok":
        row["round_medians_s"] = medians
        return
    if row["status"] != "ok":
        row.clear()
        row.update(later, round_medians_s=medians)
        return
    row["round_medians_s"] = medians
    row["times_s"] = row["times_s"] + later["times_s"]
    row["median_s"] = float(np.median(row["times_s"]))
    row["min_s"], row["max_s"] = float(min(row["times_s"])), float(max(row["times_s"]))
    if later["peak_rss_mib"] - later["import_rss_mib"] > row["peak_rss_mib"] - row["import_rss_mib"]:
        row["peak_rss_mib"], row["import_rss_mib"] = later["peak_rss_mib"], later["import_rss_mib"]
    row["rounds"] = row.get("rounds", 1) + 1


def ensure_venv(log):
    if VENV_PYTHON.exists():
        return True
    log("building .bench-venv for kapre 0.4.1 (benchmarks/setup_kapre04_venv.sh) ...")
    return subprocess.call(["bash", str(HERE / "setup_kapre04_venv.sh")]) == 0 and VENV_PYTHON.exists()


def ensure_torchaudio(log):
    """The folder holding torchaudio for its rows: BENCH_TORCHAUDIO_PATH, else .bench-torchaudio (built by
    setup_torchaudio.sh when missing); None if it cannot be built."""
    if os.environ.get("BENCH_TORCHAUDIO_PATH"):
        return os.environ["BENCH_TORCHAUDIO_PATH"]
    if not (TORCHAUDIO_DIR / "torchaudio").exists():
        log("installing torchaudio into .bench-torchaudio (benchmarks/setup_torchaudio.sh) ...")
        if subprocess.call(["bash", str(HERE / "setup_torchaudio.sh")]) != 0:
            return None
    return str(TORCHAUDIO_DIR)


def run_config(impl, backend, mode, workloads, runs, out_dir, row_id, timeout, min_time=0.0, torchaudio_path=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    env["KERAS_BACKEND"] = "tensorflow" if backend == "-" else backend
    python = sys.executable
    if impl == "kapre041":
        python = str(VENV_PYTHON)
    if impl == "torchaudio":
        env["PYTHONPATH"] = str(TORCHAUDIO_DIR) if torchaudio_path is None else torchaudio_path
    # the scaling sweep's inputs are timed round-robin in one process (_worker.run_interleaved)
    spec = dict(impl=impl, mode=mode, workloads=list(workloads), runs=runs, min_time_s=min_time, out_dir=out_dir,
                row_id=row_id, interleave=tuple(workloads) == SWEEP)
    try:
        proc = subprocess.run([python, str(HERE / "_worker.py"), json.dumps(spec)], env=env, capture_output=True,
                              text=True, timeout=timeout, cwd=str(HERE))
        stdout, stderr, rc = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as error:
        stdout, stderr, rc = error.stdout or "", f"timed out after {timeout} s", -1
        stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
    rows = [json.loads(line[7:]) for line in stdout.splitlines() if line.startswith("RESULT ")]
    done = {r["workload"] for r in rows}
    tail = (stderr or "").strip().splitlines()[-3:]
    for name in workloads:
        if name not in done:
            rows.append(dict(workload=name, impl=impl, mode=mode, backend=backend, status="error",
                             error=f"worker exited with {rc}: {' | '.join(tail)}"[:600]))
    for row in rows:
        row["backend"] = backend
        row["row_id"] = row_id
    return rows


# -- references and deviations --------------------------------------------------------------------------------


def reference(name, center=False):
    """librosa's result for a workload (center=False, the same conventions), in the workers' layout.
    ``center=True`` (reflect padding) is the reference of keras.layers.MelSpectrogram, which frames that way."""
    import librosa

    w = WORKLOADS[name]
    x = make_input(w)
    kw = dict(n_fft=w["n_fft"], hop_length=w["hop"], window="hann", center=center)
    if center:
        kw["pad_mode"] = "reflect"
    if w["task"] == "roundtrip":
        return x
    if w["task"] == "stft_mag":
        return np.abs(librosa.stft(x, **kw)).transpose(0, 2, 1)
    s = librosa.feature.melspectrogram(y=x, sr=w["sr"], **kw, power=2.0, n_mels=w["n_mels"], fmin=0.0,
                                       fmax=w["sr"] / 2, htk=False, norm="slaney")
    db = np.stack([librosa.power_to_db(c, ref=1.0, amin=1e-10, top_db=80.0) for c in s])
    if w["task"] == "mfcc":
        return librosa.feature.mfcc(S=db, n_mfcc=20, dct_type=2, norm="ortho").transpose(0, 2, 1)
    return db.transpose(0, 2, 1)


def _db(mag_or_power, power):
    p = mag_or_power**2 if not power else mag_or_power
    db = 10.0 * np.log10(np.maximum(p.astype(np.float64), 1e-10))
    return np.maximum(db, db.max(axis=(1, 2), keepdims=True) - 80.0)


def deviation(name, out, ref):
    """Largest deviation from librosa: dB for log-mel and STFT magnitude (as dB of power), MFCC units for
    MFCC, and max |error| in samples (interior, all frames overlapping) against the input for the round trip."""
    w = WORKLOADS[name]
    if out.shape != ref.shape:
        if w["task"] == "roundtrip" and out.shape[0] == ref.shape[0]:
            n = min(out.shape[1], ref.shape[1])
            out, ref = out[:, :n], ref[:, :n]
        else:
            return None, f"shape {tuple(out.shape)} vs librosa {tuple(ref.shape)}"
    if w["task"] == "stft_mag":
        return float(np.abs(_db(out, False) - _db(ref, False)).max()), "dB"
    if w["task"] == "roundtrip":
        edge = w["n_fft"]
        return float(np.abs(out[:, edge:-edge] - ref[:, edge:-edge]).max()), "samples"
    return float(np.abs(out.astype(np.float64) - ref).max()), "dB" if w["task"] == "logmel" else "MFCC"


# -- report ---------------------------------------------------------------------------------------------------


def label(row):
    names = {"kapre": "kapre 1.x", "keras": "keras.layers.MelSpectrogram", "librosa": "librosa",
             "numpy": "NumPy floor", "torch_stft": "torch.stft + mel", "torchaudio": "torchaudio MelSpectrogram",
             "kapre041": "kapre 0.4.1 (PyPI)"}
    base = names[row["impl"]]
    task = WORKLOADS[row["workload"]]["task"]
    if row["impl"] == "torch_stft" and task not in ("logmel", "mfcc"):
        base = "torch.stft" if task == "stft_mag" else "torch.stft + torch.istft"
    if row["impl"] == "torchaudio" and task != "logmel":
        base = "torchaudio MFCC" if task == "mfcc" else "torchaudio Spectrogram"
    backend = {"tensorflow": "TF", "jax": "JAX", "torch": "PyTorch", "-": ""}[row["backend"]]
    mode = MODE_LABEL[row["mode"]]
    return f"{base} [{backend}, {mode}]" if backend else base


def write_report(rows, meta, out_dir: Path):
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    load = ", ".join(f"{v:.1f}" for v in meta["load_average_start"])
    lines = ["# kapre benchmark results", "", f"Machine: {meta['machine']}; 1/5/15-min load average at the "
             f"start {load} (other jobs share the machine). Run: {meta['date']}, "
             f"{meta['runs']} timed runs per row after one warm-up"
             + (f", more for cheap rows (until {meta['min_time_s']} s of timed calls, at most 200)"
                if meta.get("min_time_s") else "")
             + (f"; the log-mel rows and kapre's scaling sweeps ran in {meta['rounds']} rounds (separate passes "
                "over all configurations, their timed runs pooled)" if meta.get("rounds", 1) > 1 else "")
             + f"; {meta['elapsed_min']:.1f} min in all.", "",
             "Columns: median / min / max wall time of the whole batch (output back in a NumPy array), audio "
             "seconds processed per second (median), `x fastest peer` = this row's median over the fastest "
             "*non-kapre-1.x* row's median for the workload (< 1 is faster than every peer), peak RSS of the "
             "worker process and its part beyond the import footprint (for the second workload of a worker, beyond "
             "the RSS left by the first: allocators keep memory, so W2's figure is a lower bound), largest deviation "
             "from librosa "
             "(center=False, same conventions).", ""]
    workloads = [w for w in WORKLOADS if any(r["workload"] == w for r in rows) and not w.startswith("sweep")]
    for name in workloads:
        group = [r for r in rows if r["workload"] == name]
        ok = [r for r in group if r["status"] == "ok"]
        peers = [r for r in ok if r["impl"] != "kapre"]
        best_peer = min((r["median_s"] for r in peers), default=None)
        lines += [f"## {name}", "", "| configuration | median ms | min ms | max ms | audio-s/s | x fastest peer "
                  "| peak RSS MiB (beyond import) | max dev. from librosa |", "|---|---|---|---|---|---|---|---|"]
        for r in sorted(ok, key=lambda r: r["median_s"]):
            ratio = f"{r['median_s'] / best_peer:.2f}" if best_peer else "-"
            dev = r.get("deviation")
            dev_s = f"{dev:.2g} {r['deviation_unit']}" if dev is not None else str(r.get("deviation_unit", "-"))
            lines.append(
                f"| {label(r)} | {r['median_s'] * 1e3:.1f} | {r['min_s'] * 1e3:.1f} | {r['max_s'] * 1e3:.1f} | "
                f"{r['audio_s'] / r['median_s']:.0f} | {ratio} | {r['peak_rss_mib']:.0f} "
                f"({r['peak_rss_mib'] - r['import_rss_mib']:.0f}) | {dev_s} |"
            )
        for r in group:
            if r["status"] != "ok":
                error = " ".join(r["error"].split()).replace("|", "/")[:300]
                lines.append(f"| {label(r)} | not run: {error} | | | | | | |")
        lines.append("")
    sweep = [r for r in rows if r["workload"].startswith("sweep") and r["status"] == "ok"]
    if sweep:
        lines += ["## Scaling (W2 settings): ms per audio-second (median)", "",
                  "Over the inputs holding at least 8 s of audio: the spread (largest / smallest cost per "
                  "audio-second) and the growth (largest cost per audio-second / the cost at the smallest such "
                  "input, 8 x 1 s): a growth above 1 means some larger input costs more per second (super-linear). "
                  "`pooled` takes them from the medians of all rounds' runs (the cells); `per round` computes them "
                  "within each round, where one process measures every input within a few seconds, and gives the "
                  "median (min-max) over the rounds. This machine has phases of 10-60 s in which every input runs "
                  "1.5-1.8x slower (benchmarks/README.md, session 7); inputs measured minutes apart can land in "
                  "different phases, inputs of one round rarely do.",
                  "",
                  "| configuration | " + " | ".join(SWEEP)
                  + " | spread pooled | growth pooled | spread per round | growth per round |",
                  "|---|" + "---|" * (len(SWEEP) + 4)]
        for row_id in dict.fromkeys(r["row_id"] for r in sweep):
            per = {r["workload"]: r for r in sweep if r["row_id"] == row_id}
            cells = [f"{per[name]['median_s'] / per[name]['audio_s'] * 1e3:.3f}" if name in per else "-"
                     for name in SWEEP]
            pooled = scaling_figures({name: r["median_s"] for name, r in per.items()}, per)
            per_round = {name: r.get("round_medians_s", [r["median_s"]]) for name, r in per.items()}  # 1 round
            rounds = [scaling_figures({name: m[k] for name, m in per_round.items() if len(m) > k and m[k] is not None},
                                      per)
                      for k in range(max(len(m) for m in per_round.values()))]
            rounds = [f for f in rounds if f is not None]
            figures = [f"{pooled[0]:.2f}", f"{pooled[1]:.2f}"] if pooled else ["-", "-"]
            for index in (0, 1):
                values = [f[index] for f in rounds]
                figures.append(f"{np.median(values):.2f} ({min(values):.2f}-{max(values):.2f})" if values else "-")
            lines.append(f"| {label(next(iter(per.values())))} | " + " | ".join(cells + figures) + " |")
        lines.append("")
    lines += ["## Notes", ""] + [f"- {n}" for n in meta["notes"] + [conversion_note(rows)] if n] + [""]
    (out_dir / "results.md").write_text("\n".join(lines))
    try:
        plot(rows, workloads, out_dir / "results.png")
    except Exception as error:  # the chart is a convenience; the table is the result
        print(f"chart not written: {error}")


def scaling_figures(median_s: dict[str, float], rows: dict[str, dict]) -> tuple[float, float] | None:
    """``(spread, growth)`` over the sweep inputs holding at least 8 s of audio, from ``median_s`` (workload ->
    seconds per call; ``rows`` gives each workload's audio seconds), or ``None`` when an eligible input is
    missing: spread = largest / smallest cost per audio-second, growth = largest / the smallest input's."""
    eligible = sorted((rows[name]["audio_s"], seconds / rows[name]["audio_s"]) for name, seconds in median_s.items()
                      if rows[name]["audio_s"] >= 8)
    if not eligible or len(eligible) < sum(r["audio_s"] >= 8 for r in rows.values()):
        return None
    costs = [cost for _, cost in eligible]
    return max(costs) / min(costs), max(costs) / eligible[0][1]


def conversion_note(rows) -> str:
    """The NumPy -> backend tensor conversion (outside the timed region) per backend, for a few inputs."""
    parts = []
    for backend, name in (("tensorflow", "TF"), ("jax", "JAX"), ("torch", "PyTorch")):
        costs = []
        for workload in ("W1 log-mel", "W2 log-mel", "sweep 64x64s"):
            times = [r["input_conversion_s"] for r in rows if r["backend"] == backend and r["impl"] == "kapre"
                     and r["workload"] == workload and "input_conversion_s" in r]
            if times:
                costs.append(f"{workload.replace('sweep ', '')} {np.median(times) * 1e3:.1f} ms")
        if costs:
            parts.append(f"{name}: " + ", ".join(costs))
    if not parts:
        return ""
    return ("Input conversion from NumPy to the backend's tensor, made before each row's clock starts (median; "
            "not in the timed figures): " + "; ".join(parts) + ".")


def plot(rows, workloads, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(workloads), 1, figsize=(10, 3.2 * len(workloads)), squeeze=False)
    for ax, name in zip(axes[:, 0], workloads, strict=True):
        ok = sorted((r for r in rows if r["workload"] == name and r["status"] == "ok"),
                    key=lambda r: r["audio_s"] / r["median_s"])
        speeds = [r["audio_s"] / r["median_s"] for r in ok]
        colors = ["tab:red" if r["impl"] == "kapre" else "tab:gray" for r in ok]
        ax.barh([label(r) for r in ok], speeds, color=colors)
        ax.set_title(f"{name}: audio-seconds per second (higher is better; red = kapre 1.x)")
        ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, no GPU, shared; Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="W1/W2 log-mel, compiled modes only (< 3 min)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per row (>= 7)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="times the log-mel rows and kapre's scaling sweeps are run, in separate passes over "
                             "all configurations; their timed runs are pooled (load on a shared machine comes and "
                             "goes)")
    parser.add_argument("--min-time", type=float, default=0.25,
                        help="seconds of timed calls per row and round at least: cheap rows get more than --runs "
                             "calls (at most 200)")
    parser.add_argument("--out", default=str(HERE / "results"), help="output folder")
    parser.add_argument("--timeout", type=int, default=420, help="seconds per configuration")
    parser.add_argument("--report-only", action="store_true", help="rewrite results.md/png from results.json")
    parser.add_argument("--compile-timeout", type=int, default=420,
                        help="seconds per torch.compile configuration (compilation included)")
    args = parser.parse_args()
    if args.report_only:
        saved = json.loads((Path(args.out) / "results.json").read_text())
        write_report(saved["rows"], saved["meta"], Path(args.out))
        return 0
    start = time.time()
    load_start = os.getloadavg()
    notes = []

    def log(msg):
        print(msg, flush=True)

    venv_ok = ensure_venv(log)
    if not venv_ok:
        notes.append("kapre 0.4.1: the virtual environment could not be built (see setup_kapre04_venv.sh).")
    import torch

    torchaudio_path = ensure_torchaudio(log)
    notes.append(
        f"torchaudio: PyPI has no build for torch {torch.__version__.split('+')[0]} (newest: 2.11.0). "
        "torchaudio 2.11.0 is installed with --no-deps and without its compiled extension, which is built "
        "against torch 2.11's ABI and does not load next to torch 2.13 (benchmarks/setup_torchaudio.sh); it then "
        "runs as pure Python, and its MelSpectrogram, MFCC, Spectrogram and AmplitudeToDB are torch code. Each "
        "clip is passed as its own spectrogram (`x[:, None]`) so that AmplitudeToDB's top_db floor is per clip."
        + ("" if torchaudio_path else " The folder could not be built: the torchaudio rows report the error.")
    )
    notes.append("kapre 0.4.1 requires `tensorflow<2.21,>=2.16` and `keras<3.14`; it runs in .bench-venv on "
                 "tensorflow-cpu 2.20 (the newest TF it supports), see setup_kapre04_venv.sh.")
    notes.append("keras.layers.MelSpectrogram has its own conventions (center=True framing, HTK mel without "
                 "Slaney norm, top_db over the whole batch), so its deviation from librosa is large by design.")
    notes.append("GPU: not measured (no GPU machine was lent to this task).")
    tmp = tempfile.mkdtemp(prefix="kapre-bench-")
    rows = []
    configs = configurations(args.quick)
    rounds = max(1, args.rounds)
    repeated = [c for c in configs if set(c[3]) <= set(LOGMEL) or (c[3] == SWEEP and c[0] == "kapre")]
    schedule = configs + repeated * (rounds - 1)
    first = {}  # (impl, backend, mode, workload) -> the first round's row, which later rounds' times join
    for i, (impl, backend, mode, workloads) in enumerate(schedule):
        row_id = f"{impl}-{backend}-{mode}-{i}"
        t0 = time.time()
        timeout = min(args.timeout, args.compile_timeout) if mode == "compile" else args.timeout
        got = run_config(impl, backend, mode, workloads, max(7, args.runs), tmp, row_id, timeout, args.min_time,
                         torchaudio_path)
        for r in got:
            shown = f"{r['median_s'] * 1e3:8.1f} ms" if r["status"] == "ok" else r["error"][:100]
            log(f"[{i + 1}/{len(schedule)}] {r['workload']:22s} {label(r):55s} {shown}")
            key = (impl, backend, mode, r["workload"])
            if key not in first:
                first[key] = r
                rows.append(r)
            else:
                pool_rounds(first[key], r)
        log(f"    ({time.time() - t0:.0f} s)")
    log("correctness: computing librosa references ...")
    for name in dict.fromkeys(r["workload"] for r in rows):
        w = WORKLOADS[name]
        if w["batch"] * w["seconds"] > 512:
            for r in rows:
                if r["workload"] == name:
                    r["deviation"], r["deviation_unit"] = None, "not checked (> 512 s of audio)"
            continue
        ref = reference(name)
        ref_centered = reference(name, center=True) if any(r["impl"] == "keras" for r in rows) else None
        for r in rows:
            if r["workload"] == name and r["status"] == "ok" and r["impl"] == "keras":
                path = Path(tmp) / f"{r['row_id']}__{name}.npy"
                r["deviation"], unit = deviation(name, np.load(path), ref_centered)
                r["deviation_unit"] = f"{unit} (vs librosa center=True)"
            elif r["workload"] == name and r["status"] == "ok":
                path = Path(tmp) / f"{r['row_id']}__{name}.npy"
                r["deviation"], r["deviation_unit"] = deviation(name, np.load(path), ref)
    for r in rows:
        r.pop("traceback", None)
    meta = dict(machine=machine(), load_average_start=load_start, load_average_end=os.getloadavg(),
                date=time.strftime("%Y-%m-%d %H:%M"), runs=max(7, args.runs), rounds=rounds, quick=args.quick,
                min_time_s=args.min_time,
                elapsed_min=(time.time() - start) / 60, notes=notes)
    write_report(rows, meta, Path(args.out))
    log(f"wrote {args.out}/results.md, results.json, results.png in {(time.time() - start) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
