"""The stage breakdown's report (``benchmarks/stages.py``): each stage beside its floor, the totals, kapre's fastest
backend against the sum of the floors. Backend-independent: run once, in the JAX session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "jax", reason="backend-independent; run once, in the JAX session")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import stages  # noqa: E402


def _result(backend, total, stage_ms, floor_ms, mode="eager"):
    return dict(backend=backend, mode=mode, total_ms=total, stages_ms=dict(zip(stages.STAGES, stage_ms, strict=True)),
                rest_ms=total - sum(stage_ms), floors_ms=dict(zip(stages.STAGES, floor_ms, strict=True)),
                rest_floor_ms=0.05, fft_floors_ms={"numpy.fft.rfft": 6.0, f"{backend} rfft": floor_ms[1]},
                chunks=4, chunk_frames=1536, frames=6208)


def test_floors_sum_and_the_fastest_backend():
    torch = _result("torch", 4.0, [0.2, 1.3, 0.6, 0.8, 0.3], [0.4, 1.2, 0.4, 0.1, 0.05])
    jax = _result("jax", 5.0, [0.5, 1.6, 0.4, 0.7, 0.2], [0.4, 1.5, 0.4, 0.1, 0.05], mode="jit")
    assert stages.floors_sum(torch) == pytest.approx(0.4 + 1.2 + 0.4 + 0.1 + 0.05 + 0.05)
    assert stages.fastest([jax, torch]) is torch
    assert stages.fastest([{"backend": "tensorflow", "error": "boom"}]) is None


def test_report_puts_each_stage_beside_its_floor_and_names_failures():
    torch = _result("torch", 4.4, [0.2, 1.3, 0.6, 0.8, 0.3], [0.4, 1.2, 0.4, 0.1, 0.05])
    lines = stages.report_lines({"native ISA": [torch, {"backend": "tensorflow", "error": "exited with 1: boom"}]},
                                "W2 log-mel")
    text = "\n".join(lines)
    assert "| FFT | 1.30 (1.20) | failed | the fastest real FFT in the process |" in text
    assert "| the rest | 1.20 (0.05) | failed | a copy of the output |" in text
    assert "| total / sum of floors | 2.00 | - | |" in text  # 4.4 / 2.2
    assert "kapre's fastest backend here: torch [eager], 4.40 ms against a sum of floors of 2.20 ms: **2.00x**" in text
    assert "- tensorflow: exited with 1: boom" in text
    assert "torch rfft 1.20, numpy.fft.rfft 6.00" in text  # the process's FFTs, fastest first

