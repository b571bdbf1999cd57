"""The XLA-tail benchmark's summary (``benchmarks/xla_tail.py``): medians per configuration, the switch's speed-up
over the same mode without it, failed passes left out. Backend-independent: run once, in the JAX session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "jax", reason="backend-independent; run once, in the JAX session")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import xla_tail  # noqa: E402


def _passes():
    nan = float("nan")
    return {
        ("W1 log-mel", "eager"): [(16.0, 90.0), (18.0, 92.0), (17.0, 91.0)],
        ("W1 log-mel", "eager, XLA tail"): [(12.0, 150.0), (nan, nan), (14.0, 156.0)],
        ("W1 log-mel", "tf.function"): [(15.0, 91.0), (15.0, 92.0), (16.0, 92.0)],
        ("W1 log-mel", "tf.function, XLA tail"): [(nan, nan)] * 3,
        ("W2 log-mel", "eager"): [(4.0, 8.0)] * 3,
        ("W2 log-mel", "eager, XLA tail"): [(3.2, 20.0)] * 3,
        ("W2 log-mel", "tf.function"): [(3.9, 8.0)] * 3,
        ("W2 log-mel", "tf.function, XLA tail"): [(3.0, 25.0)] * 3,
    }


def test_summary_takes_medians_and_the_switch_against_its_own_mode():
    table = xla_tail.summarize(_passes())
    w1, w2 = table["W1 log-mel"], table["W2 log-mel"]
    assert w1["eager"]["median_ms"] == 17.0 and "speedup" not in w1["eager"]
    assert w1["eager, XLA tail"]["median_ms"] == 13.0  # the failed pass left out
    assert w1["eager, XLA tail"]["speedup"] == pytest.approx(17.0 / 13.0, abs=0.01)
    assert w1["eager, XLA tail"]["mib"] == [150, 156]
    assert xla_tail.report_lines(table, "d", 3, 21, None, {})[-7].count("failed") == 1  # the pass, not the row
    assert w1["tf.function, XLA tail"]["median_ms"] is None and "speedup" not in w1["tf.function, XLA tail"]
    assert w2["tf.function, XLA tail"]["speedup"] == pytest.approx(1.3)


def test_report_gives_a_row_per_configuration_and_names_failures():
    lines = xla_tail.report_lines(xla_tail.summarize(_passes()), "2026-12-05 05:00", 3, 21, None, {})
    text = "\n".join(lines)
    assert "| W2 log-mel | tf.function, XLA tail | 3.00, 3.00, 3.00 | 3.00 | 1.30 | 25, 25, 25 |" in text
    assert "| W1 log-mel | tf.function, XLA tail | failed, failed, failed | failed | - |  |" in text
    assert "| W1 log-mel | eager | 16.00, 18.00, 17.00 | 17.00 | (the default) | 90, 92, 91 |" in text
    assert sum(line.startswith("| W") for line in lines) == 8
