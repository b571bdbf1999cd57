"""Log-mel on a GPU: kapre on PyTorch (eager, ``torch.compile``) and JAX (``jax.jit``) against GPU peers, one run.

Usage: ``python benchmarks/gpu.py [--out DIR] [--backends torch,jax,tensorflow] [--no-compile]``. Needs a CUDA GPU
visible to PyTorch, JAX or TensorFlow; a backend that sees none is skipped and the report says so.
``--dry-run-cpu`` runs the same rows on the CPU on small batches where there is no GPU, to try the script (its
figures are not GPU figures).

Workloads: W1 and W2 (``workloads.py``) and ``W2 x 16`` (1,024 clips of 1 s at 16 kHz, a training step's batch).
Rows, each backend in its own process (``KERAS_BACKEND`` is read once per process):

- PyTorch: ``kapre.MelSpectrogram`` eager and under ``torch.compile``; Keras' ``MelSpectrogram`` eager;
  ``torch.stft`` + mel matmul + dB, eager and compiled; torchaudio's ``MelSpectrogram`` + ``AmplitudeToDB``.
- JAX: ``kapre.MelSpectrogram`` and Keras' ``MelSpectrogram`` under ``jax.jit``.

The input is on the GPU before the clock starts and the output stays there (a front-end inside a model on the
accelerator); each timed call ends when the GPU is done (``torch.cuda.synchronize``, ``block_until_ready``). Per row:
5 warm-up calls, then single calls until ``MIN_TIME_S`` or ``MAX_CALLS``; the median. Peak memory: the GPU memory
allocated during the timed calls above what was allocated before them (PyTorch's allocator statistics; JAX's
``peak_bytes_in_use`` for the process, which does not reset between rows). Deviation: the largest difference from
librosa in dB on W1 and W2 (Keras' layer frames with ``center=True``: it is compared with librosa's centred
log-mel). ``x fastest peer`` is within the workload, on this GPU.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workloads import W2, WORKLOADS, make_input  # noqa: E402

GPU_WORKLOADS = {
    "W1 log-mel": WORKLOADS["W1 log-mel"],
    "W2 log-mel": WORKLOADS["W2 log-mel"],
    "W2 x 16 (1024 x 1 s)": dict(W2, batch=1024, task="logmel"),
}
CHECKED_WORKLOADS = ("W1 log-mel", "W2 log-mel")  # against librosa (workloads.py's; W2 x 16 is W2's clips, more)
# --dry-run-cpu: W1's and W2's settings on a few clips (the deviation check needs W1's and W2's own batches)
DRY_RUN_WORKLOADS = {"W1 small": dict(GPU_WORKLOADS["W1 log-mel"], batch=2, seconds=2),
                     "W2 small": dict(W2, batch=4, task="logmel")}
WARMUP_CALLS = 5
MIN_TIME_S = 1.0
MAX_CALLS = 300
ROWS = {  # backend -> (impl, mode) in the order they run
    "torch": [("kapre", "eager"), ("keras", "eager"), ("torch_stft", "eager"), ("torchaudio", "eager"),
              ("kapre", "compile"), ("torch_stft", "compile")],
    "jax": [("kapre", "jit"), ("keras", "jit")],
    "tensorflow": [("kapre", "xla"), ("keras", "xla")],
}
LABELS = {"kapre": "kapre.MelSpectrogram", "keras": "keras.layers.MelSpectrogram",
          "torch_stft": "torch.stft + mel matmul + dB", "torchaudio": "torchaudio MelSpectrogram + AmplitudeToDB"}


def _mel_fb(w) -> np.ndarray:
    from kapre import constants

    return constants.mel_filterbank(w["sr"], w["n_fft"] // 2 + 1, w["n_mels"]).astype("float32")


def build(impl: str, backend: str, mode: str, w: dict, torch_device: str = "cuda"):
    """``fn(x) -> (batch, frames, mels)`` on the device for a ``(batch, samples)`` device tensor ``x``."""
    if impl == "kapre":
        import keras

        import kapre

        layer = kapre.MelSpectrogram(n_fft=w["n_fft"], hop_length=w["hop"], sample_rate=w["sr"], n_mels=w["n_mels"],
                                     power=2.0, return_decibel=True, db_amin=1e-10, input_data_format="channels_last",
                                     output_data_format="channels_first")

        def fn(x):
            return layer(keras.ops.expand_dims(x, -1))[:, 0]
    elif impl == "keras":
        import keras

        layer = keras.layers.MelSpectrogram(
            fft_length=w["n_fft"], sequence_stride=w["hop"], sequence_length=w["n_fft"], window="hann",
            sampling_rate=w["sr"], num_mel_bins=w["n_mels"], min_freq=0.0, max_freq=w["sr"] / 2, power_to_db=True,
            top_db=80.0, mag_exp=2.0, min_power=1e-10, ref_power=1.0)

        def fn(x):
            return keras.ops.transpose(layer(x), (0, 2, 1))
    elif impl == "torch_stft":
        import torch

        window = torch.hann_window(w["n_fft"], periodic=True, device=torch_device)
        fb = torch.from_numpy(_mel_fb(w)).to(torch_device)

        def fn(x):
            spec = torch.stft(x, w["n_fft"], w["hop"], window=window, center=False, return_complex=True)
            db = 10.0 * torch.log10(torch.clamp(spec.transpose(1, 2).abs().pow(2) @ fb, min=1e-10))
            return torch.maximum(db, db.amax(dim=(1, 2), keepdim=True) - 80.0)  # top_db per clip
    elif impl == "torchaudio":
        import torch
        import torchaudio

        mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=w["sr"], n_fft=w["n_fft"], hop_length=w["hop"], window_fn=torch.hann_window, center=False,
            f_min=0.0, f_max=w["sr"] / 2, n_mels=w["n_mels"], power=2.0, norm="slaney", mel_scale="slaney",
        ).to(torch_device)
        to_db = torchaudio.transforms.AmplitudeToDB("power", top_db=80.0).to(torch_device)

        def fn(x):
            return to_db(mel(x[:, None]))[:, 0].transpose(1, 2)  # one spectrogram per clip: top_db per clip
    else:
        raise ValueError(impl)
    if backend == "torch" and mode == "compile":
        import torch

        return torch.compile(fn, dynamic=False)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=True)
    return fn


def gpu_seen(backend: str, cpu_dry_run: bool = False) -> str | None:
    """The GPU's name as ``backend`` sees it, or None (``cpu_dry_run``: "CPU (dry run)" when there is none)."""
    name = _gpu_name(backend)
    return name or ("CPU (dry run)" if cpu_dry_run else None)


def _gpu_name(backend: str) -> str | None:
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    if backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        return gpus[0].device_kind if gpus else None
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return gpus[0].name if gpus else None


class Device:
    """Moving data to and from ``backend``'s GPU, waiting for it, and its memory statistics."""

    def __init__(self, backend: str, gpu: bool = True):
        self.backend, self.gpu = backend, gpu
        self.torch_device = "cuda" if gpu else "cpu"

    def put(self, x: np.ndarray):
        if self.backend == "torch":
            import torch

            return torch.from_numpy(x).to(self.torch_device)
        if self.backend == "jax":
            import jax

            return jax.device_put(x, [d for d in jax.devices() if d.platform == ("gpu" if self.gpu else "cpu")][0])
        import tensorflow as tf

        with tf.device("/GPU:0" if self.gpu else "/CPU:0"):
            return tf.identity(x)

    def wait(self, y):
        if self.backend == "torch":
            import torch

            if self.gpu:
                torch.cuda.synchronize()
        elif self.backend == "jax":
            y.block_until_ready()
        else:
            y.numpy()  # TensorFlow has no wait without a copy
        return y

    def reset_peak(self) -> float:
        if self.backend == "torch" and self.gpu:
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            return torch.cuda.memory_allocated() / 2**20
        return 0.0

    def peak_mib(self, baseline: float) -> float | None:
        if not self.gpu:
            return None
        if self.backend == "torch":
            import torch

            return torch.cuda.max_memory_allocated() / 2**20 - baseline
        if self.backend == "jax":
            import jax

            stats = [d for d in jax.devices() if d.platform == "gpu"][0].memory_stats() or {}
            return stats.get("peak_bytes_in_use", 0) / 2**20 or None
        return None

    @staticmethod
    def to_numpy(y) -> np.ndarray:
        return y.detach().cpu().numpy() if hasattr(y, "detach") else np.asarray(y)


def time_row(fn, x, device: Device, min_time_s: float, max_calls: int) -> tuple[list[float], object, float | None]:
    """Warm-up calls, then single timed calls (each to the GPU's end); ``(times_s, last output, peak MiB)``."""
    for _ in range(WARMUP_CALLS):
        y = device.wait(fn(x))
    baseline = device.reset_peak()
    times: list[float] = []
    while len(times) < max_calls and (sum(times) < min_time_s or len(times) < 10):
        start = time.perf_counter()
        y = device.wait(fn(x))
        times.append(time.perf_counter() - start)
    return times, y, device.peak_mib(baseline)


def worker(backend: str, out_dir: Path, compile_rows: bool, min_time_s: float, max_calls: int,
           cpu_dry_run: bool = False, workloads: dict | None = None) -> int:
    """This process's rows (its backend chosen by ``KERAS_BACKEND``): one JSON line each, prefixed ``RESULT``."""
    name = gpu_seen(backend, cpu_dry_run)
    if name is None:
        print("RESULT " + json.dumps(dict(backend=backend, status="no GPU", gpu=None)), flush=True)
        return 0
    if backend == "torch":
        import torch

        torch.set_grad_enabled(False)
    device = Device(backend, gpu=name != "CPU (dry run)")
    for impl, mode in ROWS[backend]:
        if mode == "compile" and not compile_rows:
            continue
        for workload, w in (workloads or GPU_WORKLOADS).items():
            row = dict(backend=backend, impl=impl, mode=mode, workload=workload, gpu=name)
            try:
                x = device.put(make_input(w))
                fn = build(impl, backend, mode, w, device.torch_device)
                start = time.perf_counter()
                device.wait(fn(x))
                row["first_call_s"] = time.perf_counter() - start
                times, y, peak = time_row(fn, x, device, min_time_s, max_calls)
                out = device.to_numpy(y)
                row.update(status="ok", median_s=float(np.median(times)), min_s=float(np.min(times)),
                           calls=len(times), peak_mib=peak, out_shape=list(out.shape))
                if workload in CHECKED_WORKLOADS:
                    np.save(out_dir / f"{backend}-{impl}-{mode}-{workload[:2]}.npy", out.astype("float32"))
            except Exception as error:  # a row that fails is reported, the others still run
                row.update(status="error", error=f"{type(error).__name__}: {error}"[:400])
            print("RESULT " + json.dumps(row), flush=True)
    return 0


def run_backend(backend: str, out_dir: Path, compile_rows: bool, min_time_s: float, max_calls: int,
                timeout_s: float, cpu_dry_run: bool = False) -> list[dict]:
    env = dict(os.environ, KERAS_BACKEND=backend, XLA_PYTHON_CLIENT_PREALLOCATE="false",
               TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    command = [sys.executable, __file__, "--worker", backend, "--out", str(out_dir), "--min-time", str(min_time_s),
               "--max-calls", str(max_calls)] + ([] if compile_rows else ["--no-compile"])
    command += ["--dry-run-cpu"] if cpu_dry_run else []
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s)
        stdout, stderr, failed = done.stdout, done.stderr, done.returncode != 0
    except subprocess.TimeoutExpired as expired:
        stdout = expired.stdout.decode() if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        stderr, failed = f"timed out after {timeout_s:.0f} s", True
    rows = [json.loads(line[7:]) for line in stdout.splitlines() if line.startswith("RESULT ")]
    if failed or not rows:
        rows.append(dict(backend=backend, status="process failed", error=(stderr or "")[-600:]))
    return rows


def deviations(rows: list[dict], out_dir: Path) -> None:
    """Largest |dB| difference from librosa for the W1/W2 rows that ran (librosa on the host, float32 input)."""
    try:
        from run import reference

        reference("W2 log-mel")  # librosa imports and runs here
    except Exception as error:  # no working librosa: the rows stay unchecked (the report shows "-")
        print(f"deviations not checked: {type(error).__name__}: {error}", flush=True)
        return
    refs: dict[tuple[str, bool], np.ndarray] = {}
    for row in rows:
        if row.get("status") != "ok" or row["workload"] not in CHECKED_WORKLOADS:
            continue
        path = out_dir / f"{row['backend']}-{row['impl']}-{row['mode']}-{row['workload'][:2]}.npy"
        if not path.is_file():
            continue
        centered = row["impl"] == "keras"
        key = (row["workload"], centered)
        if key not in refs:
            refs[key] = reference(row["workload"], center=centered)
        out, ref = np.load(path), refs[key]
        row["deviation_db"] = float(np.abs(out - ref).max()) if out.shape == ref.shape else None


def report(rows: list[dict], meta: dict) -> str:
    lines = [f"# Log-mel on a GPU ({meta['gpu']})", "",
             f"{meta['date']}; GPU: {meta['gpu']} (driver {meta.get('driver', '?')}); host CPU: {meta['cpu']}, "
             f"{meta['cpu_count']} cores; {meta['versions']}. Input and output on the GPU, each timed call ends when "
             "the GPU is done; median over single calls; peak memory: GPU memory allocated during the timed calls "
             "above what was allocated before them (PyTorch), the process's peak (JAX); deviation: largest "
             "|dB| difference from librosa (Keras' layer: from librosa's centred log-mel; its own conventions, HTK mel "
             "without Slaney norm and top_db over the whole batch, make it large by design).", ""]
    missing = [r for r in rows if r.get("status") in ("no GPU", "process failed")]
    for r in missing:
        lines.append(f"- {r['backend']}: {r['status']}{': ' + r['error'] if r.get('error') else ''}")
    if missing:
        lines.append("")
    for workload, w in {**GPU_WORKLOADS, **DRY_RUN_WORKLOADS}.items():
        group = [r for r in rows if r.get("workload") == workload]
        ok = [r for r in group if r["status"] == "ok"]
        if not group:
            continue
        peers = [r["median_s"] for r in ok if r["impl"] != "kapre"]
        fastest_peer = min(peers) if peers else None
        lines += [f"## {workload}: {w['batch']} x {w['seconds']} s at {w['sr'] / 1000:g} kHz, n_fft {w['n_fft']}, "
                  f"hop {w['hop']}, {w['n_mels']} mels", "",
                  "| row | backend, mode | median ms | x fastest peer | first call s | peak MiB | dB from librosa |",
                  "|---|---|---|---|---|---|---|"]
        for r in sorted(ok, key=lambda r: r["median_s"]):
            ratio = f"{fastest_peer / r['median_s']:.2f}" if fastest_peer else "-"
            dev = f"{r['deviation_db']:.1e}" if r.get("deviation_db") is not None else "-"
            peak = f"{r['peak_mib']:.0f}" if r.get("peak_mib") is not None else "-"
            lines.append(f"| {LABELS[r['impl']]} | {r['backend']} {r['mode']} | {r['median_s'] * 1e3:.3f} | {ratio} "
                         f"| {r['first_call_s']:.1f} | {peak} | {dev} |")
        for r in group:
            if r["status"] != "ok":
                lines.append(f"| {LABELS.get(r.get('impl'), r.get('impl'))} | {r['backend']} {r.get('mode')} | "
                             f"failed: {r.get('error', '')[:160]} | | | | |")
        lines.append("")
    return "\n".join(lines) + "\n"


def installed(package: str) -> str | None:
    """The installed version of ``package`` (TensorFlow: also its CPU build), without importing it: imported here,
    Keras would pick a backend in the parent process."""
    for name in (package, f"{package}-cpu") if package == "tensorflow" else (package,):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return None


def host_meta() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = [f"{package} {installed(package) or 'not installed'}" for package in ("keras", "torch", "jax",
                                                                                     "tensorflow")]
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
        gpu, driver = (part.strip() for part in smi.split(","))
    except (OSError, IndexError, ValueError, subprocess.SubprocessError):
        gpu, driver = "GPU", "?"
    return dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), cpu=cpu, cpu_count=os.cpu_count(),
                versions=", ".join(versions), gpu=gpu, driver=driver)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "gpu")
    parser.add_argument("--backends", default="torch,jax,tensorflow")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
    parser.add_argument("--min-time", type=float, default=MIN_TIME_S, help="timed seconds per row at least")
    parser.add_argument("--max-calls", type=int, default=MAX_CALLS)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per backend process")
    parser.add_argument("--dry-run-cpu", action="store_true", help="no GPU: run the rows on the CPU, small batches")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.worker:
        status = worker(args.worker, args.out, not args.no_compile, args.min_time, args.max_calls, args.dry_run_cpu,
                        DRY_RUN_WORKLOADS if args.dry_run_cpu else None)
        # Every row is printed: leave without the interpreter's teardown, which on the H200 kept a PyTorch worker
        # (torch.compile's compile threads, CUDA's context) alive past its time limit after its last row.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    rows: list[dict] = []
    for backend in args.backends.split(","):
        if installed(backend) is None:
            rows.append(dict(backend=backend, status="no GPU", error=f"{backend} is not installed"))
            continue
        rows += run_backend(backend, args.out, not args.no_compile, args.min_time, args.max_calls, args.timeout,
                            args.dry_run_cpu)
        print(f"{backend}: {sum(r.get('status') == 'ok' for r in rows)} rows so far", flush=True)
    meta = host_meta()
    (args.out / "results.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    deviations(rows, args.out)
    (args.out / "results.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    text = report(rows, meta)
    (args.out / "results.md").write_text(text)
    for path in args.out.glob("*.npy"):
        path.unlink()
    print(text)
    return 0 if any(r.get("status") == "ok" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
