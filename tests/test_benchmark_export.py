"""The export benchmark (``benchmarks/export.py``, issue 20): its hand-built ONNX graphs (the front-end on ONNX's
STFT op, the two-stage DFT prototype) against a NumPy log-mel, and its report's ratios from hand-made timings.
Backend-independent (NumPy, onnx, onnxruntime): run once, in the JAX session. Nothing here times anything."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from kapre import constants
from tests.helpers import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "jax", reason="backend-independent; run once, in the JAX session")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import export  # noqa: E402

W2 = export.W2
FILTERBANK = constants.mel_filterbank(W2["sr"], W2["n_fft"] // 2 + 1, W2["n_mels"]).astype("float32")


def _log_mel(x):
    """W2's front-end in NumPy (float64): periodic Hann, power, Slaney mel, dB floored 80 dB below each clip's max."""
    n_fft, hop = W2["n_fft"], W2["hop"]
    frames = 1 + (x.shape[1] - n_fft) // hop
    index = np.arange(frames)[:, None] * hop + np.arange(n_fft)
    power = np.abs(np.fft.rfft(x[:, index, 0] * constants.get_window(None, n_fft), axis=-1)) ** 2
    db = 10.0 * np.log10(np.maximum(power @ FILTERBANK, 1e-10))
    return np.maximum(db, db.max(axis=(1, 2), keepdims=True) - 80.0)[..., None]


@pytest.mark.parametrize("build", ["stft_op_graph", "two_stage_graph"])
def test_hand_built_graphs_equal_numpy_on_any_batch_and_length(build):
    import onnxruntime as ort  # test requirements ([test]): missing, the test fails
    assert np.array_equal(export.hann(W2["n_fft"]), constants.get_window(None, W2["n_fft"]))
    model = getattr(export, build)(FILTERBANK, export.hann(W2["n_fft"]))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for batch, length in ((1, 16000), (3, 16100), (2, W2["n_fft"]), (2, 700)):
        x = np.random.default_rng(length).uniform(-1, 1, (batch, length, 1)).astype("float32")
        got, want = session.run(None, {"x": x})[0], _log_mel(x)
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


def _pooled(ms: dict[str, float]) -> dict[str, list[float]]:
    return {key: [value / 1e3] * 7 for key, value in ms.items()}


def test_summary_has_the_issues_two_ratios_and_the_verdicts():
    ms = {"kapre/tensorflow/tf.function": 6.0, "kapre/jax/jax.jit": 5.0, "kapre/torch/eager": 4.0,
          "onnxruntime/kapre-tensorflow/default": 12.0, "onnxruntime/kapre-tensorflow/threads": 7.0,
          "onnxruntime/stft-op/default": 100.0, "onnxruntime/stft-op/threads": 80.0,
          "onnxruntime/two-stage/default": 5.0}
    failures = {"onnxruntime/kapre-torch/default": "ONNX Runtime: Fail: boom",
                "onnxruntime/kapre-torch/threads": "ONNX Runtime: Fail: boom"}
    checks = {"kapre-tensorflow": {"relative_error": 1e-6, "ok": True, "ops": {"MatMul": 3},
                                   "profile_ms": {"MatMul": 5.0, "Gather": 3.0}},
              "kapre-torch": {"error": "ONNX Runtime: Fail: boom"}}
    summary = export.summarize(_pooled(ms), failures, checks, {"kapre/jax/jax.jit": 2e-6})
    rows, acceptance = summary["rows"], summary["acceptance"]
    assert acceptance["kapre_fastest"] == "kapre/torch/eager"
    assert rows["onnxruntime/kapre-tensorflow/default"]["x_kapre_fastest"] == pytest.approx(3.0)
    assert rows["onnxruntime/kapre-tensorflow/default"]["relative_error"] == 1e-6
    assert rows["kapre/jax/jax.jit"]["relative_error"] == 2e-6
    assert rows["onnxruntime/kapre-torch/default"]["not_run"].startswith("ONNX Runtime")
    default = acceptance["per_session"]["kapre-tensorflow/default"]
    assert default["x_kapre_fastest"] == pytest.approx(3.0) and not default["within_2x_of_kapre"]
    assert default["stft_op_over_export"] == pytest.approx(100 / 12) and not default["10x_faster_than_stft_op"]
    threads = acceptance["per_session"]["kapre-tensorflow/threads"]
    assert threads["within_2x_of_kapre"] and threads["stft_op_over_export"] == pytest.approx(80 / 7)
    assert threads["10x_faster_than_stft_op"]
    best = acceptance["best"]
    assert best["row"] == "kapre-tensorflow/threads" and best["within_2x_of_kapre"]
    assert best["stft_op_over_export"] == pytest.approx(80 / 7) and best["10x_faster_than_stft_op"]
    assert set(acceptance["per_session"]) == {"kapre-tensorflow/default", "kapre-tensorflow/threads"}
    assert acceptance["prototype"]["two-stage/default"]["x_kapre_fastest"] == pytest.approx(1.25)

    meta = {"date": "2026-01-01 00:00", "cpu": {"model": "Test CPU", "logical_cpus": 2, "usable_cpus": 2,
                                                 "simd": {"avx512f": True, "avx2": True, "fma": True}},
            "load_start": (0.1, 0.1, 0.1), "load_end": (0.1, 0.1, 0.1), "versions": {"onnxruntime": "1.x"},
            "rounds": 1, "runs": 7, "min_time_s": 0.1, "notes": []}
    text = "\n".join(export.report_lines(summary, meta, checks))
    assert "CPU: Test CPU; 2 logical CPUs; avx512f yes, avx2 yes, fma yes" in text
    assert "| 12.00 | 3.00 (misses) | 100.00 | 8.33 (misses) |" in text
    assert "| 7.00 | 1.75 (holds) | 80.00 | 11.43 (holds) |" in text
    assert "kapre-tensorflow/threads, 7.00 ms = 1.75x kapre's fastest backend (target <= 2: **holds**)" in text
    assert "MatMul 5.0 (62 %), Gather 3.0 (38 %)" in text
    assert "not run: ONNX Runtime: Fail: boom" in text
