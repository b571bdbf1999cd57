"""The GPU benchmark (``benchmarks/gpu.py``) where there is no GPU: its report (ratios within a workload, failed and
missing backends said), and one of its rows timed on the CPU (``--dry-run-cpu``'s path) on the active backend."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tests.helpers import BACKEND

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import gpu  # noqa: E402

META = dict(date="2026-12-04 07:09 UTC", cpu="a CPU", cpu_count=16, versions="torch 2.11", gpu="NVIDIA H200",
            driver="580")


def _row(impl, backend, mode, workload, median_s, **extra):
    return dict(impl=impl, backend=backend, mode=mode, workload=workload, status="ok", median_s=median_s,
                first_call_s=0.5, peak_mib=10.0, **extra)


def test_report_ratios_within_each_workload_and_failures_said():
    rows = [
        _row("kapre", "jax", "jit", "W1 log-mel", 0.002, deviation_db=2e-6),
        _row("keras", "jax", "jit", "W1 log-mel", 0.004),
        _row("torch_stft", "torch", "eager", "W1 log-mel", 0.001),  # the fastest peer of W1
        _row("kapre", "torch", "eager", "W2 log-mel", 0.001),
        _row("torchaudio", "torch", "eager", "W2 log-mel", 0.003),
        dict(impl="kapre", backend="torch", mode="compile", workload="W2 log-mel", status="error",
             error="RuntimeError: no"),
        dict(backend="tensorflow", status="no GPU", error="tensorflow is not installed"),
    ]
    text = gpu.report(rows, META)
    w1 = text.split("## W1")[1].split("## W2")[0]
    w2 = text.split("## W2")[1]
    assert "| kapre.MelSpectrogram | jax jit | 2.000 | 0.50 |" in w1 and "2.0e-06" in w1
    assert "| torch.stft + mel matmul + dB | torch eager | 1.000 | 1.00 |" in w1
    assert "| kapre.MelSpectrogram | torch eager | 1.000 | 3.00 |" in w2
    assert "failed: RuntimeError: no" in w2
    assert "- tensorflow: no GPU: tensorflow is not installed" in text
    assert "NVIDIA H200" in text.splitlines()[0]


def test_deviations_only_for_the_checked_workloads(tmp_path, monkeypatch):
    """Only W1 and W2 are compared with librosa; a row of another workload is not looked up (its batch has no
    reference), and a missing librosa leaves every row unchecked instead of failing the run."""
    import run

    calls = []
    w2 = gpu.GPU_WORKLOADS["W2 log-mel"]
    frames = (w2["seconds"] * w2["sr"] - w2["n_fft"]) // w2["hop"] + 1
    reference = np.zeros((w2["batch"], frames, w2["n_mels"]))
    monkeypatch.setattr(run, "reference", lambda name, center=False: calls.append(name) or reference)
    np.save(tmp_path / "jax-kapre-jit-W2.npy", (reference + 0.25).astype("float32"))
    rows = [_row("kapre", "jax", "jit", "W2 log-mel", 0.001), _row("kapre", "jax", "jit", "W2 x 16 (1024 x 1 s)", 0.01)]
    gpu.deviations(rows, tmp_path)
    assert rows[0]["deviation_db"] == 0.25 and "deviation_db" not in rows[1]
    assert set(calls) == {"W2 log-mel"}

    def no_librosa(name, center=False):
        raise ImportError("No module named 'librosa'")

    monkeypatch.setattr(run, "reference", no_librosa)
    rows = [_row("kapre", "jax", "jit", "W2 log-mel", 0.001)]
    gpu.deviations(rows, tmp_path)
    assert "deviation_db" not in rows[0]


def test_a_kapre_row_times_on_the_cpu():
    """The row builder and timer of the dry run, on the active backend (TensorFlow's compiled row included)."""
    mode = {"torch": "eager", "jax": "jit", "tensorflow": "xla"}[BACKEND]
    device = gpu.Device(BACKEND, gpu=False)
    w = gpu.DRY_RUN_WORKLOADS["W2 small"]
    x = device.put(np.random.default_rng(0).uniform(-1, 1, (w["batch"], w["seconds"] * w["sr"])).astype("float32"))
    fn = gpu.build("kapre", BACKEND, mode, w, device.torch_device)
    times, y, peak = gpu.time_row(fn, x, device, min_time_s=0.0, max_calls=3)
    assert len(times) == 3 and all(t > 0 for t in times) and peak is None
    assert gpu.Device.to_numpy(y).shape == (w["batch"], (w["sr"] - w["n_fft"]) // w["hop"] + 1, w["n_mels"])
