"""The benchmark's scaling figures (``benchmarks/run.py``): spread and growth from hand-made timings, pooled over
rounds and per round. Backend-independent (plain NumPy): run once, in the JAX session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "jax", reason="backend-independent; run once, in the JAX session")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import run  # noqa: E402

SWEEP_AUDIO = {"sweep 1x1s": 1, "sweep 8x1s": 8, "sweep 64x1s": 64, "sweep 1x64s": 64, "sweep 64x64s": 4096}


def _rows(ms_per_audio_second: dict[str, float]) -> dict[str, dict]:
    return {name: {"audio_s": SWEEP_AUDIO[name], "median_s": cost * SWEEP_AUDIO[name] / 1e3}
            for name, cost in ms_per_audio_second.items()}


def test_spread_and_growth_ignore_inputs_under_8_seconds():
    # 1 x 1 s costs 10x per second but holds under 8 s: it must not count; 8 x 1 s is the smallest eligible input
    rows = _rows({"sweep 1x1s": 1.0, "sweep 8x1s": 0.2, "sweep 64x1s": 0.1, "sweep 1x64s": 0.25, "sweep 64x64s": 0.3})
    spread, growth = run.scaling_figures({name: r["median_s"] for name, r in rows.items()}, rows)
    assert spread == pytest.approx(0.3 / 0.1)
    assert growth == pytest.approx(0.3 / 0.2)  # super-linear: the largest input costs 1.5x the smallest's per second


def test_growth_is_one_when_the_smallest_input_is_the_most_expensive():
    rows = _rows({"sweep 8x1s": 0.16, "sweep 64x1s": 0.09, "sweep 64x64s": 0.08})
    spread, growth = run.scaling_figures({name: r["median_s"] for name, r in rows.items()}, rows)
    assert (spread, growth) == (pytest.approx(2.0), pytest.approx(1.0))


def test_a_round_missing_an_eligible_input_gives_no_figures():
    rows = _rows({"sweep 8x1s": 0.16, "sweep 64x64s": 0.08})
    assert run.scaling_figures({"sweep 8x1s": rows["sweep 8x1s"]["median_s"]}, rows) is None


def test_pooled_rounds_keep_each_rounds_median():
    first = {"status": "ok", "times_s": [1.0, 1.0, 1.0], "median_s": 1.0, "peak_rss_mib": 10, "import_rss_mib": 5}
    for times in ([2.0, 2.0, 2.0], [3.0, 3.0, 3.0]):
        later = {"status": "ok", "times_s": times, "median_s": times[0], "peak_rss_mib": 10, "import_rss_mib": 5}
        run.pool_rounds(first, later)
    assert first["round_medians_s"] == [1.0, 2.0, 3.0]
    assert first["median_s"] == 2.0 and first["rounds"] == 3
    run.pool_rounds(first, {"status": "error"})  # a failed round leaves the timings, and holds its place as None
    assert first["round_medians_s"] == [1.0, 2.0, 3.0, None]
    assert first["median_s"] == 2.0 and first["rounds"] == 3


def test_a_failed_first_round_keeps_the_later_rounds_in_place():
    row = {"status": "error"}
    later = {"status": "ok", "times_s": [2.0], "median_s": 2.0, "peak_rss_mib": 10, "import_rss_mib": 5}
    run.pool_rounds(row, later)
    assert row["round_medians_s"] == [None, 2.0] and row["median_s"] == 2.0


def test_report_gives_a_single_round_sweep_its_own_per_round_figures(tmp_path):
    rows = []
    for name, seconds_per_call in (("sweep 8x1s", 0.0016), ("sweep 64x64s", 0.4096)):
        batch, seconds = (8, 1) if name == "sweep 8x1s" else (64, 64)
        rows.append({"workload": name, "impl": "kapre", "backend": "torch", "mode": "eager", "row_id": "kapre-torch-0",
                     "status": "ok", "median_s": seconds_per_call, "min_s": seconds_per_call,
                     "max_s": seconds_per_call, "times_s": [seconds_per_call], "audio_s": batch * seconds,
                     "peak_rss_mib": 10.0, "import_rss_mib": 5.0})
    meta = {"machine": "test", "load_average_start": (0.0, 0.0, 0.0), "load_average_end": (0.0, 0.0, 0.0),
            "date": "2026-01-01 00:00", "runs": 7, "rounds": 1, "quick": False, "min_time_s": 0.25,
            "elapsed_min": 0.0, "notes": []}
    run.write_report(rows, meta, tmp_path)
    line = next(line for line in (tmp_path / "results.md").read_text().splitlines()
                if line.startswith("| kapre 1.x [PyTorch, eager]"))
    # 0.2 ms per audio-second at 8 x 1 s, 0.1 at 64 x 64 s: spread 2, growth 1, pooled and in the one round
    assert line.endswith("| 2.00 | 1.00 | 2.00 (2.00-2.00) | 1.00 (1.00-1.00) |"), line
