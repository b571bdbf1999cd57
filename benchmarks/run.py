"""kapre's speed benchmark: ``python benchmarks/run.py [--quick]``.

Every configuration (implementation x backend x mode) runs in its own subprocess (``_worker.py``), one after
the other; results go to ``benchmarks/results/``: ``results.md`` (the tables, with the CPU they ran on),
``results.png`` (the chart), ``summary.json`` (a small per-row summary; committed) and ``results.json`` (every
timing; not committed). ``--suite frontends`` runs only the model front-ends (kapre.frontends against their
reference implementations; report in ``benchmarks/results/frontends/``). The peers' environments (kapre 0.4.1; the
test references' folder ``.test-references`` with torchaudio and openai-whisper) are built by an explicit step,
``python benchmarks/run.py --setup-peers``; rows whose environment is missing are skipped with a note.
``--suite constantq`` runs kapre.CQT and kapre.Resample against nnAudio, librosa and torchaudio (issue 17; report in
``benchmarks/results/constantq/``; nnAudio from ``.bench-nnaudio``, ``bash benchmarks/setup_nnaudio.sh``). See
``benchmarks/README.md``.
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
import constantq  # noqa: E402
import frontends  # noqa: E402
import isa  # noqa: E402
import stages  # noqa: E402
from workloads import (  # noqa: E402
    CONSTANTQ_WORKLOADS,
    CQT_WORKLOADS,
    FRONTEND_WORKLOADS,
    RESAMPLE_WORKLOADS,
    SWEEP_BATCHES,
    SWEEP_SECONDS,
    WORKLOADS,
    make_input,
)

VENV_PYTHON = ROOT / ".bench-venv" / "bin" / "python"
REFERENCES_DIR = ROOT / ".test-references"  # torchaudio and openai-whisper, built by tests/references.py
NNAUDIO_DIR = ROOT / ".bench-nnaudio"  # nnAudio (pip --target --no-deps), built by benchmarks/setup_nnaudio.sh
SETUP_COMMAND = "python benchmarks/run.py --setup-peers"
PEER_SETUP = {  # peer -> (what it needs, the command that builds it)
    "kapre041": (".bench-venv (kapre 0.4.1 on tensorflow-cpu 2.20)", "bash benchmarks/setup_kapre04_venv.sh"),
    "torchaudio": (".test-references (torchaudio and openai-whisper; or a folder named by BENCH_TORCHAUDIO_PATH)",
                   "python tests/references.py"),
    "nnaudio": (".bench-nnaudio (nnAudio, --no-deps, on the installed torch/numpy/scipy; or a folder named by "
                "BENCH_NNAUDIO_PATH)", "bash benchmarks/setup_nnaudio.sh"),
}
TARGET_SPEEDUP = 1.5  # each front-end on its fastest backend against each of its references
SIMD_FLAGS = ("avx512f", "avx2", "fma")  # x86 flags that decide which FFT / matmul kernels run
BACKEND_MODES = {"tensorflow": ("eager", "function", "xla"), "jax": ("eager", "jit"), "torch": ("eager", "compile")}
MODE_LABEL = {"eager": "eager", "function": "tf.function", "xla": "tf.function(jit_compile=True)",
              "jit": "jax.jit", "compile": "torch.compile", "-": "-"}
LOGMEL = ("W1 log-mel", "W2 log-mel")
EXTRA = ("STFT magnitude (W1)", "MFCC-20 (W1)", "STFT->iSTFT (W1)")
SWEEP = tuple(f"sweep {b}x{s}s" for s in SWEEP_SECONDS for b in SWEEP_BATCHES)
SUITES = ("all", "core", "logmel", "frontends", "constantq", "learnable")
FRONTEND_KAPRE = (("tensorflow", "function"), ("jax", "jit"), ("torch", "eager"))  # kapre's mode per backend
CONSTANTQ_KAPRE = FRONTEND_KAPRE  # kapre.CQT / kapre.Resample: one mode per backend, as the front-ends


def configurations(quick: bool, suite: str = "core"):
    """(impl, backend, mode, workloads) in run order: the ``core`` rows (log-mel, STFT, MFCC, round trip, scaling;
    ``quick``: W1/W2 only), the model ``frontends``' rows, the ``constantq`` rows (CQT, resampling), or ``all``
    of them."""
    if suite == "frontends":
        return frontend_configurations()
    if suite == "constantq":
        return constantq_configurations()
    if suite == "logmel":
        return core_configurations(quick, logmel_only=True)
    core = core_configurations(quick)
    return core + frontend_configurations() + constantq_configurations() if suite == "all" else core


def constantq_configurations():
    """kapre.CQT and kapre.Resample on each backend (the CQT in a process of its own, so that its memory is its
    own; the resampling workloads together in another), then each peer with the workloads it is a peer of,
    interleaved: kapre's CQT rows and their peers first, then the resampling rows."""
    out = []
    for group in (CQT_WORKLOADS, RESAMPLE_WORKLOADS):
        out += [("kapre", backend, mode, group) for backend, mode in CONSTANTQ_KAPRE]
        for impl in constantq.BUILDERS:
            workloads = tuple(name for name in group if impl in WORKLOADS[name]["refs"])
            if workloads:
                out.append((impl, *constantq.backend_mode(impl), workloads))
    return out


def frontend_configurations():
    """kapre.frontends on each backend (all front-ends in one process per backend), then each reference
    implementation with the front-ends it is a reference of."""
    out = [("kapre", backend, mode, FRONTEND_WORKLOADS) for backend, mode in FRONTEND_KAPRE]
    for impl in frontends.BUILDERS:
        workloads = tuple(name for name in FRONTEND_WORKLOADS if impl in WORKLOADS[name]["refs"])
        out.append((impl, *frontends.backend_mode(impl), workloads))
    return out


def core_configurations(quick: bool, logmel_only: bool = False):
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
    if quick:  # torch.compile can take a minute per workload to compile; eager is the PyTorch row of --quick
        out = [c for c in out if c[2] != "compile"] + [("kapre", "torch", "eager", log_mel)]
    out += [("librosa", "-", "-", log_mel), ("numpy", "-", "-", log_mel)]
    for mode in ("eager", "function", "xla"):
        if not (quick and mode != "function"):
            out.append(("kapre041", "tensorflow", mode, log_mel))
    if quick or logmel_only:
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


def nnaudio_path() -> str:
    """The folder put on PYTHONPATH for the nnAudio rows: BENCH_NNAUDIO_PATH, else .bench-nnaudio."""
    return os.environ.get("BENCH_NNAUDIO_PATH") or str(NNAUDIO_DIR)


def torchaudio_path() -> str:
    """The folder put on PYTHONPATH for the torchaudio rows and the front-ends' references: BENCH_TORCHAUDIO_PATH,
    else the test references' folder .test-references (torchaudio, openai-whisper)."""
    return os.environ.get("BENCH_TORCHAUDIO_PATH") or str(REFERENCES_DIR)


def needs(impl) -> str:
    """The peer environment an impl's rows need (``missing_peers``' keys): kapre041, torchaudio, whisper, or the
    impl itself when it needs none; nnaudio for the nnAudio rows."""
    return frontends.NEEDS.get(impl) or constantq.NEEDS.get(impl, impl)


def missing_peers() -> dict[str, str]:
    """peer -> why its rows cannot run (its environment is missing) and which command builds it; nothing is built
    here: building the peers' environments is the explicit step ``--setup-peers``."""
    missing = {}
    if not VENV_PYTHON.exists():
        missing["kapre041"] = f"{PEER_SETUP['kapre041'][0]} is missing; build it with `{SETUP_COMMAND}`"
    where = os.environ.get("BENCH_TORCHAUDIO_PATH") or ".test-references"
    for package in ("torchaudio", "whisper"):
        if not (Path(torchaudio_path()) / package).exists():
            missing[package] = f"no {package} in {where}; build .test-references with `{SETUP_COMMAND}`"
    if not (Path(nnaudio_path()) / "nnAudio").exists():
        where = os.environ.get("BENCH_NNAUDIO_PATH") or ".bench-nnaudio"
        missing["nnaudio"] = (f"no nnAudio in {where}; build it with `{PEER_SETUP['nnaudio'][1]}` (or "
                              f"`{SETUP_COMMAND}`)")
    return missing


def setup_peers(which=("kapre041", "torchaudio", "nnaudio")) -> int:
    """Build the peers' environments (``.bench-venv``; ``.test-references`` with torchaudio and openai-whisper;
    ``.bench-nnaudio``) with their setup commands; they download packages from PyPI. Returns the number of
    commands that failed."""
    failed = 0
    for impl in which:
        what, command = PEER_SETUP[impl]
        print(f"building {what} ({command}) ...", flush=True)
        argv = [sys.executable if part == "python" else part for part in command.split()]
        if subprocess.call(argv, cwd=str(ROOT)) != 0:
            print(f"{command} failed", flush=True)
            failed += 1
    return failed


def skipped_rows(impl, backend, mode, workloads, reason, row_id):
    """The rows of a configuration that was not run because its peer environment is missing."""
    return [dict(workload=name, impl=impl, mode=mode, backend=backend, status="skipped", error=reason,
                 row_id=row_id) for name in workloads]


def run_config(impl, backend, mode, workloads, runs, out_dir, row_id, timeout, min_time=0.0, column="native"):
    """Run one configuration in a worker process; ``column``: ``native``, or ``avx2`` with every library's AVX-512
    code paths switched off (:func:`isa.avx2_env`)."""
    env = {k: v for k, v in os.environ.items() if not (column == "avx2" and k in isa.AVX2_ENV)}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    if column == "avx2":
        env.update(isa.avx2_env(impl == "kapre041"))
    env["KERAS_BACKEND"] = "tensorflow" if backend == "-" else backend
    python = sys.executable
    if impl == "kapre041":
        python = str(VENV_PYTHON)
    if impl == "torchaudio" or impl in frontends.BUILDERS or needs(impl) == "torchaudio":
        env["PYTHONPATH"] = torchaudio_path()
    elif needs(impl) == "nnaudio":
        env["PYTHONPATH"] = nnaudio_path()
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
        row["isa"] = column
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


def frontend_deviations(group, tmp: Path):
    """For a front-end's rows: the largest absolute difference of each row's output from the first reference (in
    ``refs`` order) that ran, in the front-end's output units (the reference's own row: 0)."""
    ok = [r for r in group if r["status"] == "ok"]
    refs = WORKLOADS[group[0]["workload"]]["refs"]
    primary = next((r for impl in refs for r in ok if r["impl"] == impl), None)
    if primary is None:
        return
    ref = np.load(tmp / f"{primary['row_id']}__{primary['workload']}.npy").astype(np.float64)
    for r in ok:
        out = np.load(tmp / f"{r['row_id']}__{r['workload']}.npy")
        unit = f"vs {refs[primary['impl']].split(' ')[0]}"
        if out.shape != ref.shape:
            r["deviation"], r["deviation_unit"] = None, f"shape {tuple(out.shape)} {unit} {tuple(ref.shape)}"
        else:
            r["deviation"], r["deviation_unit"] = float(np.abs(out - ref).max()), unit


def constantq_deviations(group, tmp: Path):
    """For a CQT / resampling workload's rows: the deviation of each row's output from the first reference (in
    ``refs`` order) that ran: ``||y - ref|| / ||ref||`` over the batch (``deviation="relative"``: the CQT
    magnitude against librosa.cqt) or ``max |y - ref|`` (``"max_abs"``: the resampled samples against
    torchaudio.functional.resample)."""
    ok = [r for r in group if r["status"] == "ok"]
    w = WORKLOADS[group[0]["workload"]]
    primary = next((r for impl in w["refs"] for r in ok if r["impl"] == impl), None)
    if primary is None:
        return
    ref = np.load(tmp / f"{primary['row_id']}__{primary['workload']}.npy").astype(np.float64)
    unit = "relative" if w["deviation"] == "relative" else "max abs"
    for r in ok:
        out = np.load(tmp / f"{r['row_id']}__{r['workload']}.npy").astype(np.float64)
        if out.shape != ref.shape:
            r["deviation"], r["deviation_unit"] = None, f"shape {tuple(out.shape)} vs {tuple(ref.shape)}"
        elif w["deviation"] == "relative":
            r["deviation"] = float(np.linalg.norm(out - ref) / np.linalg.norm(ref))
            r["deviation_unit"] = unit
        else:
            r["deviation"], r["deviation_unit"] = float(np.abs(out - ref).max()), unit


def deviation_source(name) -> str:
    """What a workload's deviation column is measured from (the table's header)."""
    w = WORKLOADS[name]
    if w["task"] == "frontend":
        return "the reference"
    if w["task"] in ("cqt", "resample"):
        return next(iter(w["refs"].values()))
    return "librosa"


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
    w = WORKLOADS[row["workload"]]
    if w["task"] in ("cqt", "resample"):
        if row["impl"] == "kapre":
            base = "kapre.CQT (magnitude)" if w["task"] == "cqt" else "kapre.Resample"
        else:
            base = w["refs"][row["impl"]]
        return _with_backend(base, row)
    if w["task"] == "frontend":
        base = f"kapre.frontends.{w['frontend']}" if row["impl"] == "kapre" else w["refs"][row["impl"]]
        return _with_backend(base, row)
    names = {"kapre": "kapre 1.x", "keras": "keras.layers.MelSpectrogram", "librosa": "librosa",
             "numpy": "NumPy floor", "torch_stft": "torch.stft + mel", "torchaudio": "torchaudio MelSpectrogram",
             "kapre041": "kapre 0.4.1 (PyPI)"}
    base = names[row["impl"]]
    task = WORKLOADS[row["workload"]]["task"]
    if row["impl"] == "torch_stft" and task not in ("logmel", "mfcc"):
        base = "torch.stft" if task == "stft_mag" else "torch.stft + torch.istft"
    if row["impl"] == "torchaudio" and task != "logmel":
        base = "torchaudio MFCC" if task == "mfcc" else "torchaudio Spectrogram"
    return _with_backend(base, row)


def _with_backend(base, row):
    backend = {"tensorflow": "TF", "jax": "JAX", "torch": "PyTorch", "-": ""}[row["backend"]]
    mode = MODE_LABEL[row["mode"]]
    return f"{base} [{backend}, {mode}]" if backend else base


ISA_COLUMNS = ("native", "avx2")
ISA_LABEL = {"native": "native ISA", "avx2": "AVX-512 off"}
# each backend's own peers (issue 25): kapre 1.x on that backend must be ahead of all of them in each ISA column
OWN_PEERS = {"tensorflow": (("kapre041", "tensorflow"), ("keras", "tensorflow")),
             "torch": (("torch_stft", "torch"), ("torchaudio", "torch")), "jax": (("keras", "jax"),)}
SPEED_TARGETS = {"W1 log-mel": 2.0, "W2 log-mel": 1.5}  # kapre's fastest row over the fastest peer, each column


def isa_columns(which: str, has_avx512: bool | None = None) -> list[str]:
    """The ISA columns a run measures: ``native`` and ``avx2`` (AVX-512 switched off); on a CPU without AVX-512
    the native column is the AVX2 one, so only it runs."""
    has_avx512 = isa.cpu_has_avx512() if has_avx512 is None else has_avx512
    wanted = ISA_COLUMNS if which == "both" else (which,)
    if not has_avx512:
        return ["native"]
    return [c for c in ISA_COLUMNS if c in wanted]


def column_rows(rows, column: str) -> list[dict]:
    """The rows of one ISA column (rows from before the columns existed are native)."""
    return [r for r in rows if r.get("isa", "native") == column]


def speed_targets(rows) -> list[dict]:
    """Per ISA column and log-mel workload: kapre's fastest row against the fastest peer (the target of
    ``SPEED_TARGETS``), and per backend kapre's fastest row against that backend's own fastest peer."""
    out = []
    for column in ISA_COLUMNS:
        for name, target in SPEED_TARGETS.items():
            ok = [r for r in column_rows(rows, column) if r["workload"] == name and r["status"] == "ok"]
            kapre = [r for r in ok if r["impl"] == "kapre"]
            peers = [r for r in ok if r["impl"] != "kapre"]
            if not kapre or not peers:
                continue
            best, peer = min(kapre, key=lambda r: r["median_s"]), min(peers, key=lambda r: r["median_s"])
            verdict = dict(column=column, workload=name, target=target, kapre=label(best), peer=label(peer),
                           speedup=peer["median_s"] / best["median_s"], backends=[])
            verdict["meets_target"] = verdict["speedup"] >= target
            for backend, own in OWN_PEERS.items():
                mine = [r for r in kapre if r["backend"] == backend]
                theirs = [r for r in peers if (r["impl"], r["backend"]) in own]
                if mine and theirs:
                    a, b = min(mine, key=lambda r: r["median_s"]), min(theirs, key=lambda r: r["median_s"])
                    verdict["backends"].append(dict(backend=backend, kapre=label(a), peer=label(b),
                                                    speedup=b["median_s"] / a["median_s"]))
            out.append(verdict)
    return out


def speed_target_lines(verdicts) -> list[str]:
    lines = ["## Speed targets per ISA column", "",
             "kapre's fastest row over the fastest peer (`speed-up`, target W1 >= 2, W2 >= 1.5), and per backend "
             "kapre's fastest row on it over that backend's own fastest peer (TensorFlow: kapre 0.4.1 and "
             "keras.layers.MelSpectrogram on TF; PyTorch: torch.stft + mel and torchaudio, eager and compiled; "
             "JAX: keras.layers.MelSpectrogram under jit), each within one column.", "",
             "| column | workload | kapre's fastest | fastest peer | speed-up | target | per backend: speed-up "
             "over its own peers |", "|---|---|---|---|---|---|---|"]
    for v in verdicts:
        per = ", ".join(f"{b['backend']} {b['speedup']:.2f}" for b in v["backends"])
        lines.append(f"| {ISA_LABEL[v['column']]} | {v['workload']} | {v['kapre']} | {v['peer']} | "
                     f"{v['speedup']:.2f} | {v['target']:.1f} ({'met' if v['meets_target'] else '**not met**'}) | "
                     f"{per} |")
    return lines + [""]


def fastest_peer_s(ok_rows) -> float | None:
    """The median of the fastest row that is not kapre 1.x (kapre 0.4.1 and Keras' layer are peers)."""
    return min((r["median_s"] for r in ok_rows if r["impl"] != "kapre"), default=None)


def table_workloads(rows) -> list[str]:
    """The workloads with a table of their own (all but the scaling sweep), in WORKLOADS order."""
    return [w for w in WORKLOADS if any(r["workload"] == w for r in rows) and not w.startswith("sweep")]


def scaling_rows(rows) -> list[tuple[str, dict, tuple | None, list[tuple]]]:
    """Per sweep row: ``(label, {workload: ms per audio-second}, pooled (spread, growth) or None, per-round
    [(spread, growth), ...])``."""
    sweep = [r for r in rows if r["workload"].startswith("sweep") and r["status"] == "ok"]
    out = []
    for row_id in dict.fromkeys(r["row_id"] for r in sweep):
        per = {r["workload"]: r for r in sweep if r["row_id"] == row_id}
        cells = {name: r["median_s"] / r["audio_s"] * 1e3 for name, r in per.items()}
        pooled = scaling_figures({name: r["median_s"] for name, r in per.items()}, per)
        per_round = {name: r.get("round_medians_s", [r["median_s"]]) for name, r in per.items()}  # 1 round
        rounds = [scaling_figures({name: m[k] for name, m in per_round.items() if len(m) > k and m[k] is not None},
                                  per)
                  for k in range(max(len(m) for m in per_round.values()))]
        out.append((label(next(iter(per.values()))), cells, pooled, [f for f in rounds if f is not None]))
    return out


def not_run_text(row) -> str:
    prefix = "skipped" if row["status"] == "skipped" else "not run"
    return f"{prefix}: " + " ".join(row["error"].split()).replace("|", "/")[:300]


MEMORY_SLACK_MIB = 8  # allocator noise between runs: a row is "above" the previous report beyond 10% + this


def memory_against(previous: dict | None, rows) -> list[dict]:
    """kapre 1.x's rows against the same rows of the ``previous`` report's ``summary.json``: peak memory beyond
    import (MiB) now and then, and whether it is above (more than 10% + ``MEMORY_SLACK_MIB``)."""
    if not previous or "workloads" not in previous:
        return []
    columns = previous.get("columns", list(SUMMARY_COLUMNS))
    index = columns.index("peak_mib_beyond_import") if "peak_mib_beyond_import" in columns else None
    out = []
    for r in rows:
        if r["impl"] != "kapre" or r["status"] != "ok" or index is None:
            continue
        before = {row[0]: row[index] for row in previous["workloads"].get(r["workload"], [])}.get(label(r))
        if before is None:
            continue
        now = round(r["peak_rss_mib"] - r["import_rss_mib"])
        out.append(dict(workload=r["workload"], configuration=label(r), now=now, before=before,
                        above=now > before * 1.1 + MEMORY_SLACK_MIB))
    return out


def write_report(all_rows, meta, out_dir: Path):
    out_dir.mkdir(parents=True, exist_ok=True)
    previous_summary = Path(meta["baseline"]) if meta.get("baseline") else out_dir / "summary.json"
    previous = json.loads(previous_summary.read_text()) if previous_summary.exists() else None
    (out_dir / "results.json").write_text(json.dumps(dict(meta=meta, rows=all_rows), indent=1))
    rows = column_rows(all_rows, "native")  # the tables' rows; the AVX2 column's are looked up beside them
    avx2 = {(r["impl"], r["backend"], r["mode"], r["workload"]): r for r in column_rows(all_rows, "avx2")}
    load = ", ".join(f"{v:.1f}" for v in meta["load_average_start"])
    lines = ["# kapre benchmark results", "",
             cpu_line(meta.get("cpu"), meta.get("libraries")), "",
             f"Machine: {meta['machine']}; 1/5/15-min load average at the start {load} (load from other "
             f"processes is only partly visible in it). Run: {meta['date']}, "
             f"{meta['runs']} timed runs per row after one warm-up"
             + (f", more for cheap rows (until {meta['min_time_s']} s of timed calls, at most 200)"
                if meta.get("min_time_s") else "")
             + (f"; the log-mel rows, the front-ends' rows, the CQT and resampling rows and kapre's scaling sweeps ran "
                f"in {meta['rounds']} rounds "
                "(separate passes over all configurations, their timed runs pooled)" if meta.get("rounds", 1) > 1
                else "")
             + f"; {meta['elapsed_min']:.1f} min in all.", "",
             "Columns: median / min / max wall time of the whole batch (output back in a NumPy array), audio "
             "seconds processed per second (median), `x fastest peer` = this row's median over the fastest "
             "*non-kapre-1.x* row's median for the workload (< 1 is faster than every peer), peak RSS of the "
             "worker process and its part beyond the import footprint (for the second workload of a worker, beyond "
             "the RSS left by the first: allocators keep memory, so W2's figure is a lower bound), largest deviation "
             "from librosa "
             "(center=False, same conventions)."
             + (" `AVX-512 off`: the same row run with every library's AVX-512 code paths switched off, each by its "
                "own switch (benchmarks/isa.py `AVX2_ENV`; which library honours its switch: the table `AVX-512 "
                "switches` below), in the same rounds, the two columns alternating; its `x fastest peer` is over "
                "that column's peers." if avx2 else "")
             + (" In the front-ends' tables the peers are the reference implementations (`x fastest reference`), "
                "and the deviation is the largest absolute difference from the first reference listed for the "
                "front-end, in the front-end's output units." if any(WORKLOADS[r["workload"]]["task"] == "frontend"
                                                                      for r in rows) else "")
             + (" In the CQT and resampling tables the deviation is from the first peer listed in the table's header: "
                "the CQT magnitude's relative error ||y - ref|| / ||ref|| over the batch, the resampled samples' "
                "largest absolute difference." if any(WORKLOADS[r["workload"]]["task"] in ("cqt", "resample")
                                                     for r in rows) else ""), ""]
    skipped = meta.get("skipped") or {}
    if skipped:
        lines += ["**Skipped rows** (their peer environment is missing; `x fastest peer` is over the peers that "
                  "ran): " + "; ".join(f"{PEER_LABEL.get(impl, impl)}: {why}" for impl, why in skipped.items())
                  + ".", ""]
    workloads = table_workloads(rows)
    for name in workloads:
        group = [r for r in rows if r["workload"] == name]
        ok = [r for r in group if r["status"] == "ok"]
        best_peer = fastest_peer_s(ok)
        peer = "reference" if WORKLOADS[name]["task"] == "frontend" else "peer"
        dev_from = deviation_source(name)
        twins = {r["row_id"]: avx2.get((r["impl"], r["backend"], r["mode"], name)) for r in group}
        avx2_ok = [t for t in twins.values() if t and t["status"] == "ok"]
        avx2_peer = fastest_peer_s(avx2_ok)
        extra = f" AVX-512 off: median ms | AVX-512 off: x fastest {peer} |" if avx2_ok else ""
        lines += [f"## {name}", "", f"| configuration | median ms | min ms | max ms | audio-s/s | x fastest {peer} "
                  f"| peak RSS MiB (beyond import) | max dev. from {dev_from} |" + extra,
                  "|---|---|---|---|---|---|---|---|" + ("---|---|" if avx2_ok else "")]
        for r in sorted(ok, key=lambda r: r["median_s"]):
            ratio = f"{r['median_s'] / best_peer:.2f}" if best_peer else "-"
            dev = r.get("deviation")
            dev_s = f"{dev:.2g} {r['deviation_unit']}" if dev is not None else str(r.get("deviation_unit", "-"))
            twin = twins.get(r["row_id"])
            cells = ""
            if avx2_ok:
                if twin and twin["status"] == "ok":
                    cells = (f" {twin['median_s'] * 1e3:.1f} | "
                             f"{twin['median_s'] / avx2_peer:.2f} |" if avx2_peer else " - |")
                else:
                    cells = f" {not_run_text(twin) if twin else 'not run'} | - |"
            lines.append(
                f"| {label(r)} | {r['median_s'] * 1e3:.1f} | {r['min_s'] * 1e3:.1f} | {r['max_s'] * 1e3:.1f} | "
                f"{r['audio_s'] / r['median_s']:.0f} | {ratio} | {r['peak_rss_mib']:.0f} "
                f"({r['peak_rss_mib'] - r['import_rss_mib']:.0f}) | {dev_s} |" + cells
            )
        for r in group:
            if r["status"] != "ok":
                lines.append(f"| {label(r)} | {not_run_text(r)} | | | | | | |" + (" | |" if avx2_ok else ""))
        lines.append("")
    targets_by_column = speed_targets(all_rows)
    if targets_by_column:
        lines += speed_target_lines(targets_by_column)
    memory = memory_against(previous, rows)
    if memory:
        above = [m for m in memory if m["above"]]
        lines += ["## Memory against the previous report", "",
                  f"kapre 1.x's peak memory beyond import (MiB, native column) against the report this run replaces "
                  f"({previous.get('date', 'undated')}): {len(memory) - len(above)} of {len(memory)} rows no worse "
                  f"(within 10% + {MEMORY_SLACK_MIB} MiB)"
                  + (": " + "; ".join(f"{m['configuration']} on {m['workload']}: {m['now']} vs {m['before']}"
                                      for m in above) + " above." if above else "."), ""]
    if meta.get("stages"):
        lines += ["## Where the time goes: W2 log-mel, stage by stage", "", *stages.intro_lines(),
                  *stages.report_lines(meta["stages"], "W2 log-mel", heading="###")]
    if meta.get("isa_probe"):
        lines += ["## AVX-512 switches", "",
                  "Each library's kernels run natively and with `isa.AVX2_ENV` in child processes of this run "
                  "(benchmarks/isa.py); `honoured`: the evidence changed from AVX-512 to AVX2. n/a: no switch "
                  "(the library cannot use AVX-512 here, or has none).", "",
                  *isa.report_lines(meta["isa_probe"]), ""]
    verdicts = frontend_verdicts(rows)
    if verdicts:
        lines += frontend_lines(verdicts)
    targets = constantq_verdicts(rows)
    if targets:
        lines += constantq_lines(targets)
    sweep = scaling_rows(rows)
    if sweep:
        lines += ["## Scaling (W2 settings): ms per audio-second (median)", "",
                  "Over the inputs holding at least 8 s of audio: the spread (largest / smallest cost per "
                  "audio-second) and the growth (largest cost per audio-second / the cost at the smallest such "
                  "input, 8 x 1 s): a growth above 1 means some larger input costs more per second (super-linear). "
                  "`pooled` takes them from the medians of all rounds' runs (the cells); `per round` computes them "
                  "within each round, where one process measures every input within a few seconds, and gives the "
                  "median (min-max) over the rounds. On a shared machine every input can slow down together for "
                  "tens of seconds (docs/benchmark-experiments.md); inputs measured minutes apart can land in "
                  "different such phases, inputs of one round rarely do.",
                  "",
                  "| configuration | " + " | ".join(SWEEP)
                  + " | spread pooled | growth pooled | spread per round | growth per round |",
                  "|---|" + "---|" * (len(SWEEP) + 4)]
        for row_label, cells, pooled, rounds in sweep:
            shown = [f"{cells[name]:.3f}" if name in cells else "-" for name in SWEEP]
            figures = [f"{pooled[0]:.2f}", f"{pooled[1]:.2f}"] if pooled else ["-", "-"]
            for index in (0, 1):
                values = [f[index] for f in rounds]
                figures.append(f"{np.median(values):.2f} ({min(values):.2f}-{max(values):.2f})" if values else "-")
            lines.append(f"| {row_label} | " + " | ".join(shown + figures) + " |")
        lines.append("")
    lines += ["## Notes", ""] + [f"- {n}" for n in meta["notes"] + [conversion_note(rows)] if n] + [""]
    (out_dir / "results.md").write_text("\n".join(lines))
    digest = summary(rows, meta)
    if avx2:
        digest["avx2"] = dict(
            columns=["configuration", "median_ms", "x_fastest_peer"],
            workloads={name: [[label(r), round(r["median_s"] * 1e3, 1),
                               round(r["median_s"] / best, 2) if (best := fastest_peer_s(
                                   [t for t in avx2.values() if t["workload"] == name and t["status"] == "ok"]))
                               else None]
                              for r in sorted((t for t in avx2.values() if t["workload"] == name
                                               and t["status"] == "ok"), key=lambda r: r["median_s"])]
                       for name in table_workloads(list(avx2.values()))})
    if targets_by_column:
        digest["speed_targets"] = [dict(v, speedup=round(v["speedup"], 2),
                                        backends=[dict(b, speedup=round(b["speedup"], 2)) for b in v["backends"]])
                                   for v in targets_by_column]
    write_summary(digest, out_dir / "summary.json")
    try:
        plot(rows, workloads, out_dir / "results.png")
    except Exception as error:  # the chart is a convenience; the table is the result
        print(f"chart not written: {error}")


def _memory_mib(row) -> float:
    return row["peak_rss_mib"] - row["import_rss_mib"]


def constantq_verdicts(rows) -> list[dict]:
    """Per CQT / resampling workload (issue 17's speed acceptance): kapre's fastest row (over its backends) against
    the fastest peer that ran, the speed-up (peer median / kapre median) and whether it reaches the workload's
    ``target``; each peer's median, memory and speed-up; the memory is the peak RSS beyond the import footprint."""
    out = []
    for name in CONSTANTQ_WORKLOADS:
        ok = [r for r in rows if r["workload"] == name and r["status"] == "ok"]
        if not any(r["workload"] == name for r in rows):
            continue
        kapre = min((r for r in ok if r["impl"] == "kapre"), key=lambda r: r["median_s"], default=None)
        peers = sorted((r for r in ok if r["impl"] != "kapre"), key=lambda r: r["median_s"])
        entry = dict(workload=name, target=WORKLOADS[name]["target"], kapre=None, fastest_peer=None, peers=[])
        if kapre is not None:
            entry["kapre"] = dict(configuration=label(kapre), median_ms=kapre["median_s"] * 1e3,
                                  memory_mib=_memory_mib(kapre))
        for peer in peers:
            item = dict(configuration=label(peer), median_ms=peer["median_s"] * 1e3, memory_mib=_memory_mib(peer))
            if kapre is not None:
                item["speedup"] = peer["median_s"] / kapre["median_s"]
            entry["peers"].append(item)
        if peers:
            entry["fastest_peer"] = entry["peers"][0]
            if kapre is not None:
                entry["speedup"] = entry["peers"][0]["speedup"]
                entry["meets_target"] = entry["speedup"] >= entry["target"]
        out.append(entry)
    return out


def constantq_lines(targets) -> list[str]:
    """The report's section on issue 17's speed acceptance: kapre's fastest backend against the fastest peer."""
    lines = ["## CQT and resampling: kapre's fastest backend against the fastest peer", "",
             "Speed-up = the fastest peer's median / the median of kapre's fastest backend (the CQT's target: >= 1.5x "
             "over the fastest of nnAudio's two CQTs and librosa; resampling's: >= 1x, at least as fast as "
             "torchaudio). Memory: peak RSS of the row's worker beyond its import footprint (MiB).", "",
             "| workload | kapre's fastest backend | kapre ms | kapre MiB | fastest peer | peer ms | peer MiB | "
             "speed-up | target | met |", "|---|---|---|---|---|---|---|---|---|---|"]
    missed = []
    for v in targets:
        kapre, peer = v["kapre"], v["fastest_peer"]
        kapre_cells = (f"{kapre['configuration']} | {kapre['median_ms']:.1f} | {kapre['memory_mib']:.0f}" if kapre
                       else "not run | - | -")
        peer_cells = (f"{peer['configuration']} | {peer['median_ms']:.1f} | {peer['memory_mib']:.0f}" if peer
                      else "no peer ran | - | -")
        if "speedup" in v:
            met = "yes" if v["meets_target"] else "**no**"
            if not v["meets_target"]:
                missed.append(f"{v['workload']} ({v['speedup']:.2f}x, target {v['target']:g}x)")
            verdict = f"{v['speedup']:.2f}x | {v['target']:g}x | {met}"
        else:
            verdict = f"- | {v['target']:g}x | -"
        lines.append(f"| {v['workload']} | {kapre_cells} | {peer_cells} | {verdict} |")
    lines += ["", "Against each peer (speed-up of kapre's fastest backend):", ""]
    for v in targets:
        if v["kapre"] and v["peers"]:
            lines.append(f"- {v['workload']}: " + "; ".join(
                f"{p['configuration']} {p['median_ms']:.1f} ms ({p['memory_mib']:.0f} MiB): {p['speedup']:.2f}x"
                for p in v["peers"]) + ".")
    lines += ["", ("Below target: " + "; ".join(missed) + ".") if missed else
              "Every workload that ran meets its target.", ""]
    return lines


def frontend_verdicts(rows) -> list[dict]:
    """Per front-end workload: kapre's fastest row (over its backends) against each reference that ran, as
    ``kapre / reference`` (median over median) and the speed-up (its inverse), and whether the speed-up reaches
    TARGET_SPEEDUP."""
    out = []
    for name in FRONTEND_WORKLOADS:
        ok = [r for r in rows if r["workload"] == name and r["status"] == "ok"]
        kapre = min((r for r in ok if r["impl"] == "kapre"), key=lambda r: r["median_s"], default=None)
        refs = [r for impl in WORKLOADS[name]["refs"] for r in ok if r["impl"] == impl]
        if not any(r["workload"] == name for r in rows):
            continue
        entry = dict(frontend=WORKLOADS[name]["frontend"], workload=name, kapre=None, references=[])
        if kapre is not None:
            entry["kapre"] = dict(configuration=label(kapre), median_ms=kapre["median_s"] * 1e3)
        for ref in refs:
            item = dict(configuration=label(ref), median_ms=ref["median_s"] * 1e3)
            if kapre is not None:
                item.update(kapre_over_reference=kapre["median_s"] / ref["median_s"],
                            speedup=ref["median_s"] / kapre["median_s"])
                item["meets_target"] = item["speedup"] >= TARGET_SPEEDUP
            entry["references"].append(item)
        out.append(entry)
    return out


def frontend_lines(verdicts) -> list[str]:
    """The report's section on the front-ends' target: kapre's fastest backend against each reference."""
    lines = [f"## Front-ends: kapre's fastest backend against each reference (target: >= {TARGET_SPEEDUP:g}x faster)",
             "", "`kapre / reference` = the median of kapre's fastest backend for the front-end over the reference's "
             f"median (target: <= {1 / TARGET_SPEEDUP:.2f}); speed-up = its inverse.", "",
             "| front-end | kapre's fastest backend | kapre ms | reference | reference ms | kapre / reference "
             f"| speed-up | >= {TARGET_SPEEDUP:g}x |", "|---|---|---|---|---|---|---|---|"]
    below = []
    for v in verdicts:
        kapre = v["kapre"]
        kapre_cells = f"{kapre['configuration']} | {kapre['median_ms']:.1f}" if kapre else "not run | -"
        if not v["references"]:
            lines.append(f"| {v['frontend']} | {kapre_cells} | no reference ran | - | - | - | - |")
        for ref in v["references"]:
            if kapre:
                mark = "yes" if ref["meets_target"] else f"**below {TARGET_SPEEDUP:g}x**"
                if not ref["meets_target"]:
                    below.append(f"{v['frontend']} vs {ref['configuration']} ({ref['speedup']:.2f}x)")
                cells = f"{ref['kapre_over_reference']:.2f} | {ref['speedup']:.2f}x | {mark}"
            else:
                cells = "- | - | -"
            lines.append(f"| {v['frontend']} | {kapre_cells} | {ref['configuration']} | {ref['median_ms']:.1f} | "
                         f"{cells} |")
    lines += ["", (f"Below {TARGET_SPEEDUP:g}x: " + "; ".join(below) + ".") if below else
              f"Every front-end that ran is at least {TARGET_SPEEDUP:g}x faster than each of its references.", ""]
    return lines


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


# -- the committed summary ------------------------------------------------------------------------------------

SUMMARY_COLUMNS = ("configuration", "median_ms", "min_ms", "max_ms", "audio_s_per_s", "x_fastest_peer",
                   "peak_mib_beyond_import", "max_dev_from_librosa", "dev_unit")


def _sig(value, digits=2):
    """``value`` rounded to ``digits`` significant digits (JSON-friendly; None stays None)."""
    return None if value is None else float(f"{value:.{digits}g}")


def versions_by_environment(rows) -> dict[str, dict[str, str]]:
    """The library versions the rows reported, per environment: the main one and kapre 0.4.1's .bench-venv."""
    out: dict[str, dict[str, str]] = {}
    for r in rows:
        env = "kapre 0.4.1 (.bench-venv)" if r["impl"] == "kapre041" else "main"
        for package, version in r.get("versions", {}).items():
            seen = out.setdefault(env, {}).get(package)
            if seen is None:
                out[env][package] = version
            elif version not in seen.split(" / "):
                out[env][package] = f"{seen} / {version}"
    return {env: dict(sorted(v.items())) for env, v in sorted(out.items())}


def summary(rows, meta) -> dict:
    """A small, committed digest of a run: per table row median / min / max ms, audio-seconds per second, the
    ratio to the fastest peer, peak memory beyond import and the deviation from librosa (``SUMMARY_COLUMNS``);
    the scaling sweep's cost per audio-second and its figures; the rows not run; the CPU, libraries and versions."""
    out = dict(generated_by="benchmarks/run.py", date=meta["date"], cpu=meta.get("cpu") or cpu_unrecorded(),
               libraries=meta.get("libraries") or {}, machine=meta.get("machine"),
               versions=versions_by_environment(rows), runs=meta["runs"], rounds=meta.get("rounds", 1),
               min_time_s=meta.get("min_time_s"), quick=meta.get("quick", False),
               load_average_start=[round(v, 2) for v in meta["load_average_start"]],
               columns=list(SUMMARY_COLUMNS), workloads={}, not_run={})
    for name in table_workloads(rows):
        group = [r for r in rows if r["workload"] == name]
        ok = sorted((r for r in group if r["status"] == "ok"), key=lambda r: r["median_s"])
        best_peer = fastest_peer_s(ok)
        out["workloads"][name] = [
            [label(r), round(r["median_s"] * 1e3, 1), round(r["min_s"] * 1e3, 1), round(r["max_s"] * 1e3, 1),
             round(r["audio_s"] / r["median_s"]), round(r["median_s"] / best_peer, 2) if best_peer else None,
             round(r["peak_rss_mib"] - r["import_rss_mib"]), _sig(r.get("deviation")),
             r.get("deviation_unit")]
            for r in ok]
        failed = {label(r): not_run_text(r)[:200] for r in group if r["status"] != "ok"}
        if failed:
            out["not_run"][name] = failed
    verdicts = frontend_verdicts(rows)
    if verdicts:
        out["frontends"] = dict(target_speedup=TARGET_SPEEDUP, rows={
            v["frontend"]: dict(
                kapre=[v["kapre"]["configuration"], round(v["kapre"]["median_ms"], 1)] if v["kapre"] else None,
                references=[[ref["configuration"], round(ref["median_ms"], 1),
                             round(ref["kapre_over_reference"], 2) if "speedup" in ref else None,
                             round(ref["speedup"], 2) if "speedup" in ref else None, ref.get("meets_target")]
                            for ref in v["references"]])
            for v in verdicts},
            reference_columns=["configuration", "median_ms", "kapre_over_reference", "speedup", "meets_target"])
    targets = constantq_verdicts(rows)
    if targets:
        out["constantq"] = {v["workload"]: dict(
            target_speedup=v["target"],
            kapre=[v["kapre"]["configuration"], round(v["kapre"]["median_ms"], 1), round(v["kapre"]["memory_mib"])]
            if v["kapre"] else None,
            peers=[[p["configuration"], round(p["median_ms"], 1), round(p["memory_mib"]),
                    round(p["speedup"], 2) if "speedup" in p else None] for p in v["peers"]],
            speedup_over_fastest_peer=round(v["speedup"], 2) if "speedup" in v else None,
            meets_target=v.get("meets_target"))
            for v in targets}
        out["constantq_columns"] = dict(kapre=["configuration", "median_ms", "peak_mib_beyond_import"],
                                        peers=["configuration", "median_ms", "peak_mib_beyond_import", "speedup"])
    sweep = scaling_rows(rows)
    if sweep:
        out["scaling"] = {
            "unit": "ms per audio-second (median); spread and growth over the inputs of >= 8 s of audio",
            "rows": {row_label: dict(
                ms_per_audio_s={name.replace("sweep ", ""): round(cost, 3) for name, cost in cells.items()},
                spread_pooled=round(pooled[0], 2) if pooled else None,
                growth_pooled=round(pooled[1], 2) if pooled else None,
                spread_per_round=_median_min_max([f[0] for f in rounds]),
                growth_per_round=_median_min_max([f[1] for f in rounds]))
                for row_label, cells, pooled, rounds in sweep}}
    return out


def _median_min_max(values) -> list[float] | None:
    return [round(float(np.median(values)), 2), round(min(values), 2), round(max(values), 2)] if values else None


def _compact_json(value, indent=0) -> str:
    """JSON with one line per table row: containers of scalars, or short ones, stay on one line."""
    inline = json.dumps(value)
    items = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else None
    if items is None or len(inline) <= 100 or not any(isinstance(v, (dict, list)) for v in items):
        return inline
    pad = " " * (indent + 1)
    if isinstance(value, dict):
        parts = [f"{pad}{json.dumps(k)}: {_compact_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(parts) + "\n" + " " * indent + "}"
    return "[\n" + ",\n".join(pad + _compact_json(v, indent + 1) for v in value) + "\n" + " " * indent + "]"


def write_summary(new: dict, path: Path, section: str | None = None):
    """Write ``summary.json``: the whole run's summary (``section`` None; an ``alternate`` section already in the
    file is kept, it has its own date), or one section of it (``alternate.py``'s), keeping the rest."""
    old = {}
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            old = {}
    if section is None:
        data = dict(new)
        if "alternate" in old and "alternate" not in data:
            data["alternate"] = old["alternate"]
    else:
        data = dict(old, **{section: new})
    path.write_text(_compact_json(data) + "\n")


# -- the machine ----------------------------------------------------------------------------------------------


def cpu_description(cpuinfo: str | None = None, cpu_count: int | None = None, usable: int | None = None,
                    processor: str | None = None) -> dict:
    """The CPU the benchmark runs on, read at run time: model name, logical CPUs (and those this process may use),
    and which of ``SIMD_FLAGS`` it has, from ``/proc/cpuinfo`` (``cpuinfo``: its text, for tests); without it
    the model is ``platform.processor()`` and the flags are unknown (None)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    model, flags, processors = None, None, 0
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "processor":
            processors += 1
        elif key in ("model name", "hardware", "cpu model") and model is None and value.strip():
            model = value.strip()
        elif key in ("flags", "features") and flags is None:
            flags = set(value.split())
    if cpu_count is None:
        cpu_count = os.cpu_count() or processors or None
    if usable is None and hasattr(os, "sched_getaffinity"):
        usable = len(os.sched_getaffinity(0))
    if model is None:
        model = (platform.processor() if processor is None else processor) or platform.machine() or "unknown CPU"
    return dict(model=model, logical_cpus=cpu_count, usable_cpus=usable,
                simd=None if flags is None else {flag: flag in flags for flag in SIMD_FLAGS})


def cpu_unrecorded() -> dict:
    return dict(model="not recorded by this run", logical_cpus=None, usable_cpus=None, simd=None)


def cpu_text(cpu: dict | None) -> str:
    """One line for the report: ``AMD EPYC; 2 logical CPUs; avx512f no, avx2 yes, fma yes`` (+ libraries)."""
    if not cpu:
        return "not recorded by this run"
    parts = [cpu["model"]]
    if cpu.get("logical_cpus"):
        usable = cpu.get("usable_cpus")
        parts.append(f"{cpu['logical_cpus']} logical CPUs"
                     + (f" ({usable} usable by the benchmark)" if usable and usable != cpu["logical_cpus"] else ""))
    if cpu.get("simd"):
        parts.append(", ".join(f"{flag} {'yes' if has else 'no'}" for flag, has in cpu["simd"].items()))
    elif "simd" in cpu:
        parts.append("SIMD flags unknown")
    if cpu.get("note"):
        parts.append(cpu["note"])
    return "; ".join(parts)


def library_info() -> dict:
    """What the numeric libraries run on, where cheap to ask: PyTorch's MKL and the CPU capability its kernels
    were dispatched for, NumPy's BLAS."""
    info = {}
    try:
        import torch

        info["torch_mkl"] = bool(torch.backends.mkl.is_available())
        if hasattr(torch.backends, "cpu") and hasattr(torch.backends.cpu, "get_cpu_capability"):
            info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except Exception:  # optional detail
        pass
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        if blas.get("name"):
            info["numpy_blas"] = f"{blas['name']} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no mode="dicts"
        pass
    return info


def library_text(info: dict) -> str:
    parts = []
    if "torch_mkl" in info:
        parts.append(f"PyTorch MKL {'yes' if info['torch_mkl'] else 'no'}"
                     + (f" (kernels for {info['torch_cpu_capability']})" if info.get("torch_cpu_capability") else ""))
    if info.get("numpy_blas"):
        parts.append(f"NumPy BLAS {info['numpy_blas']}")
    return ", ".join(parts)


def cpu_line(cpu: dict | None, libraries: dict | None) -> str:
    """The report's ``CPU: ...`` line: the CPU (:func:`cpu_text`) and, where known, its libraries."""
    extra = library_text(libraries or {})
    return f"CPU: {cpu_text(cpu)}" + (f"; {extra}" if extra else "") + "."


def machine() -> str:
    """Memory, GPU visibility and Python, read at run time (the CPU is ``cpu_description``)."""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpu = "none visible to PyTorch"
    try:
        import torch

        if torch.cuda.is_available():
            gpu = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    except Exception:
        gpu = "not checked"
    return f"{mem:.0f} GiB RAM, GPU: {gpu}; Python {platform.python_version()}"


PEER_LABEL = {"kapre041": "kapre 0.4.1 (PyPI)", "torchaudio": "torchaudio", "whisper": "openai-whisper",
              "nnaudio": "nnAudio"}


def peer_notes(rows) -> list[str]:
    """Notes on how the peers ran, with the versions the rows reported."""
    notes = []
    ta = next((r for r in rows if r["impl"] == "torchaudio" and r["status"] == "ok"), None)
    if ta:
        versions = ta.get("versions", {})
        notes.append(
            f"torchaudio {versions.get('torchaudio', '?')} on torch {versions.get('torch', '?')}: installed with "
            "--no-deps and without its compiled extension (tests/references.py: PyPI's newest torchaudio "
            "may be built against another torch's ABI); it runs as pure Python, and its MelSpectrogram, MFCC, "
            "Spectrogram and AmplitudeToDB are torch code. Each clip is passed as its own spectrogram (`x[:, None]`) "
            "so that AmplitudeToDB's top_db floor is per clip.")
    old = next((r for r in rows if r["impl"] == "kapre041" and r["status"] == "ok"), None)
    if old:
        versions = old.get("versions", {})
        notes.append(
            f"kapre 0.4.1 requires `tensorflow<2.21,>=2.16` and `keras<3.14`; it runs in .bench-venv on tensorflow "
            f"{versions.get('tensorflow', '?')} with keras {versions.get('keras', '?')} "
            "(benchmarks/setup_kapre04_venv.sh).")
    refs = [r for r in rows if r["impl"] in frontends.BUILDERS and r["status"] == "ok"]
    if refs:
        versions = {}
        for r in refs:
            versions.update(r.get("versions", {}))
        shown = ", ".join(f"{package} {version}" for package, version in sorted(versions.items())
                          if package in ("torch", "torchaudio", "whisper", "transformers", "kaldi_native_fbank",
                                         "torchlibrosa", "librosa", "tensorflow"))
        notes.append(
            f"The front-ends' references ({shown}) are called as their users call them: per clip where they take "
            "one clip (whisper also on the batch, where its floor is over the whole batch), on the batch where "
            "they take one (torchlibrosa, tf.signal, torchaudio.transforms, librosa.feature.melspectrogram). "
            "torchaudio and openai-whisper come from .test-references (tests/references.py), put on PYTHONPATH "
            "for the reference rows only. kapre.frontends runs with its builders' defaults on each backend "
            f"({', '.join(_with_backend('', dict(backend=b, mode=m)).strip() for b, m in FRONTEND_KAPRE)}).")
    nn = next((r for r in rows if constantq.NEEDS.get(r["impl"]) == "nnaudio" and r["status"] == "ok"), None)
    if nn:
        versions = nn.get("versions", {})
        notes.append(
            f"nnAudio {versions.get('nnAudio', '?')} (benchmarks/setup_nnaudio.sh: `pip install --target "
            f".bench-nnaudio --no-deps`, on the installed torch {versions.get('torch', '?')}, scipy "
            f"{versions.get('scipy', '?')}), put on PYTHONPATH for its rows only: `nnAudio.features.CQT1992v2` / "
            "`CQT2010v2` with sr, hop, fmin C1, 84 bins, 12 per octave, `output_format='Magnitude'` and its "
            "librosa normalisation (its defaults), `pad_mode='constant'` (librosa's and kapre's padding), on the "
            "batch, kernels built once outside the clock. librosa.cqt with its defaults (soxr_hq decimation), "
            "`np.abs` of its output, per clip and on the batch; kapre.CQT with `output_type='magnitude'`. The input is "
            "music-like (benchmarks/workloads.py `make_music`: chords of harmonic tones, seed 0).")
    ta = next((r for r in rows if r["impl"] in ("ref_ta_resample", "ref_ta_resample_transform")
               and r["status"] == "ok"), None)
    if ta:
        versions = ta.get("versions", {})
        notes.append(
            f"Resampling: torchaudio {versions.get('torchaudio', '?')} (.test-references, pure Python) "
            "`functional.resample(batch, orig, new, **kw)` (which builds its kernel on every call, as its users "
            "call it) and `transforms.Resample` (kernel built once, as kapre.Resample's), on the (16, samples) "
            "batch; kapre.Resample with the same parameters on (16, samples, 1). `kaiser_best`: "
            "lowpass_filter_width 64, rolloff 0.9475937167399596, sinc_interp_kaiser, beta 14.769656459379492.")
    if any(r["impl"] == "keras" and r["status"] == "ok" for r in rows):
        notes.append("keras.layers.MelSpectrogram has its own conventions (center=True framing, HTK mel without "
                     "Slaney norm, top_db over the whole batch), so its deviation from librosa is large by design.")
    return notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--setup-peers", action="store_true",
                        help="build the peers' environments (.bench-venv: kapre 0.4.1; .test-references: torchaudio, "
                             "openai-whisper) from PyPI, then exit; a run never builds them itself")
    parser.add_argument("--suite", choices=SUITES, default=None,
                        help="core: log-mel, STFT, MFCC, round trip, scaling; frontends: kapre.frontends against "
                             "their reference implementations (default --out benchmarks/results/frontends); "
                             "constantq: kapre.CQT and kapre.Resample against nnAudio, librosa and torchaudio "
                             "(default --out benchmarks/results/constantq); logmel: the W1/W2 log-mel rows of core "
                             "only, every mode; all: core, frontends and constantq (the default; --quick "
                             "alone means core); learnable: kapre.LEAF and kapre.SincConv against speechbrain's "
                             "(benchmarks/learnable.py, its own driver; default --out benchmarks/results/learnable)")
    parser.add_argument("--quick", action="store_true", help="W1/W2 log-mel, compiled modes only (< 3 min)")
    parser.add_argument("--baseline", default=None,
                        help="the summary.json whose memory figures this run's kapre rows are compared with "
                             "(default: the one in --out that the run replaces)")
    parser.add_argument("--isa", choices=("both", "native", "avx2"), default="both",
                        help="both (the default): every row twice, natively and with every library's AVX-512 code "
                             "paths switched off (benchmarks/isa.py), in two columns; on a CPU without AVX-512 the "
                             "native column is the AVX2 one and only it runs")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per row (>= 7)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="times the log-mel rows, the front-ends' and CQT/resampling rows and kapre's scaling "
                             "sweeps are run, in separate passes over all configurations; their timed runs are "
                             "pooled (load on a shared machine comes and goes)")
    parser.add_argument("--min-time", type=float, default=0.25,
                        help="seconds of timed calls per row and round at least: cheap rows get more than --runs "
                             "calls (at most 200)")
    parser.add_argument("--out", default=None,
                        help="output folder (default benchmarks/results, benchmarks/results/frontends for "
                             "--suite frontends)")
    parser.add_argument("--timeout", type=int, default=420, help="seconds per configuration")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite results.md/png and summary.json from results.json")
    parser.add_argument("--compile-timeout", type=int, default=420,
                        help="seconds per torch.compile configuration (compilation included)")
    args = parser.parse_args()
    suite = args.suite or ("core" if args.quick else "all")
    if suite == "learnable":  # issue 18: benchmarks/learnable.py times its rows itself
        import learnable

        return learnable.main(["--runs", str(args.runs), "--rounds", str(args.rounds), "--min-time",
                               str(args.min_time), "--timeout", str(args.timeout)]
                              + (["--out", args.out] if args.out else []))
    if args.out is None:
        args.out = str(HERE / "results" / suite if suite in ("frontends", "constantq") else HERE / "results")
    if args.setup_peers:
        return 1 if setup_peers() else 0
    if args.report_only:
        saved = json.loads((Path(args.out) / "results.json").read_text())
        write_report(saved["rows"], saved["meta"], Path(args.out))
        return 0
    start = time.time()
    load_start = os.getloadavg()

    def log(msg):
        print(msg, flush=True)

    configs = configurations(args.quick, suite)
    missing = {peer: why for peer, why in missing_peers().items() if any(needs(c[0]) == peer for c in configs)}
    for impl, why in missing.items():
        log(f"skipping the {PEER_LABEL[impl]} rows: {why}")
    tmp = tempfile.mkdtemp(prefix="kapre-bench-")
    rows = []
    rounds = max(1, args.rounds)
    repeated = [c for c in configs if set(c[3]) <= set(LOGMEL) or set(c[3]) <= set(FRONTEND_WORKLOADS)
                or set(c[3]) <= set(CONSTANTQ_WORKLOADS) or (c[3] == SWEEP and c[0] == "kapre")]
    schedule = configs + repeated * (rounds - 1)
    first = {}  # (impl, backend, mode, workload) -> the first round's row, which later rounds' times join
    columns = isa_columns(args.isa)
    if len(columns) > 1:
        log("ISA columns: native, and AVX-512 off (benchmarks/isa.py AVX2_ENV; the switches are probed at the end)")
    for i, (impl, backend, mode, workloads) in enumerate(schedule):
        # the columns alternate in order from one configuration to the next, so that drift in the machine's
        # speed does not favour one of them
        for column in columns if i % 2 == 0 else columns[::-1]:
            row_id = f"{impl}-{backend}-{mode}-{column}-{i}"
            if needs(impl) in missing:
                for r in skipped_rows(impl, backend, mode, workloads, missing[needs(impl)], row_id):
                    r["isa"] = column
                    if (column, impl, backend, mode, r["workload"]) not in first:
                        first[(column, impl, backend, mode, r["workload"])] = r
                        rows.append(r)
                continue
            t0 = time.time()
            timeout = min(args.timeout, args.compile_timeout) if mode == "compile" else args.timeout
            got = run_config(impl, backend, mode, workloads, max(7, args.runs), tmp, row_id, timeout, args.min_time,
                             column=column)
            for r in got:
                shown = f"{r['median_s'] * 1e3:8.1f} ms" if r["status"] == "ok" else r["error"][:100]
                log(f"[{i + 1}/{len(schedule)}] {column:6s} {r['workload']:22s} {label(r)[:70]:70s} {shown}")
                key = (column, impl, backend, mode, r["workload"])
                if key not in first:
                    first[key] = r
                    rows.append(r)
                else:
                    pool_rounds(first[key], r)
            log(f"    ({time.time() - t0:.0f} s)")
    log("correctness: computing librosa references ...")
    for name in dict.fromkeys(r["workload"] for r in rows if r["status"] == "ok"):
        w = WORKLOADS[name]
        if w["task"] == "frontend":
            frontend_deviations([r for r in rows if r["workload"] == name], Path(tmp))
            continue
        if w["task"] in ("cqt", "resample"):
            constantq_deviations([r for r in rows if r["workload"] == name], Path(tmp))
            continue
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
    breakdown = {}
    if suite in ("core", "logmel", "all"):  # where kapre's W2 time goes, per backend and column, against the floors
        log("stage breakdown (benchmarks/stages.py), W2 log-mel ...")
        breakdown = stages.breakdown("W2 log-mel", "both" if len(columns) > 1 else "native", log=log)
    isa_probe = {}
    if len(columns) > 1:  # which library honours which switch, checked on this machine in this run
        for backend in ("torch", "jax", "tensorflow", "numpy"):
            try:
                isa_probe.update(isa.probe(backend, kernels=True))
            except (ImportError, RuntimeError, subprocess.TimeoutExpired) as error:
                log(f"{backend}: switches not probed ({str(error).splitlines()[0][:200]})")
    meta = dict(cpu=cpu_description(), libraries=library_info(), machine=machine(), load_average_start=load_start,
                isa_columns=columns, isa_probe=isa_probe, stages=breakdown, baseline=args.baseline,
                load_average_end=os.getloadavg(), date=time.strftime("%Y-%m-%d %H:%M"), runs=max(7, args.runs),
                rounds=rounds, quick=args.quick, min_time_s=args.min_time, elapsed_min=(time.time() - start) / 60,
                skipped=missing, notes=peer_notes(rows))
    write_report(rows, meta, Path(args.out))
    log(f"wrote {args.out}/results.md, summary.json, results.png and results.json (not committed) in "
        f"{(time.time() - start) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
