"""The benchmark's scaling figures (``benchmarks/run.py``): spread and growth from hand-made timings, pooled over
rounds and per round. Backend-independent (plain NumPy): run once, in the JAX session."""

from __future__ import annotations

import json
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


# -- the CPU the report states, the committed summary, the peers' environments ---------------------------------

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: Test CPU 9000
flags\t\t: fpu sse2 avx fma avx2 avx512f avx512bw
processor\t: 1
model name\t: Test CPU 9000
flags\t\t: fpu sse2 avx fma avx2 avx512f avx512bw
"""


def test_cpu_description_reads_model_cores_and_simd_flags():
    cpu = run.cpu_description(CPUINFO, cpu_count=2, usable=2)
    assert cpu == {"model": "Test CPU 9000", "logical_cpus": 2, "usable_cpus": 2,
                   "simd": {"avx512f": True, "avx2": True, "fma": True}}
    assert run.cpu_text(cpu) == "Test CPU 9000; 2 logical CPUs; avx512f yes, avx2 yes, fma yes"


def test_cpu_description_says_which_flags_are_missing():
    cpu = run.cpu_description(CPUINFO.replace(" avx512f avx512bw", ""), cpu_count=4, usable=2)
    assert cpu["simd"] == {"avx512f": False, "avx2": True, "fma": True}
    assert run.cpu_text(cpu) == ("Test CPU 9000; 4 logical CPUs (2 usable by the benchmark); "
                                 "avx512f no, avx2 yes, fma yes")


def test_cpu_description_falls_back_to_platform_processor():
    cpu = run.cpu_description("", cpu_count=8, usable=8, processor="arm")
    assert cpu["model"] == "arm" and cpu["simd"] is None
    assert run.cpu_text(cpu) == "arm; 8 logical CPUs; SIMD flags unknown"
    assert run.cpu_text(None) == "not recorded by this run"


def test_library_text():
    info = {"torch_mkl": True, "torch_cpu_capability": "AVX512", "numpy_blas": "openblas 0.3"}
    assert run.library_text(info) == "PyTorch MKL yes (kernels for AVX512), NumPy BLAS openblas 0.3"
    assert run.library_text({}) == ""


def _row(workload, impl, backend, mode, median_ms, audio_s, peak=100.0, imported=60.0, deviation=1e-5, **extra):
    seconds = median_ms / 1e3
    return dict(workload=workload, impl=impl, backend=backend, mode=mode, row_id=f"{impl}-{backend}-{mode}",
                status="ok", median_s=seconds, min_s=seconds * 0.9, max_s=seconds * 1.5, times_s=[seconds],
                audio_s=audio_s, peak_rss_mib=peak, import_rss_mib=imported, deviation=deviation,
                deviation_unit="dB", **extra)


def _meta(**extra):
    meta = {"machine": "8 GiB RAM, GPU: none visible to PyTorch; Python 3.x", "load_average_start": (0.5, 0.5, 0.5),
            "load_average_end": (0.5, 0.5, 0.5), "date": "2026-01-01 00:00", "runs": 7, "rounds": 1, "quick": True,
            "min_time_s": 0.25, "elapsed_min": 1.0, "notes": [],
            "cpu": run.cpu_description(CPUINFO, cpu_count=2, usable=2),
            "libraries": {"torch_mkl": False}}
    meta.update(extra)
    return meta


def _fake_run():
    missing = {"kapre041": f".bench-venv is missing; build it with `{run.SETUP_COMMAND}`"}
    rows = [
        _row("W1 log-mel", "kapre", "torch", "eager", 20.0, 160, peak=150.0, imported=100.0,
             versions={"kapre": "1.0", "torch": "2.x"}),
        _row("W1 log-mel", "librosa", "-", "-", 80.0, 160, versions={"librosa": "0.11"}),
        _row("W1 log-mel", "numpy", "-", "-", 40.0, 160, deviation=4e-6),
        dict(workload="W1 log-mel", impl="torch_stft", backend="torch", mode="compile", row_id="t", status="error",
             error="worker exited with 1: boom"),
    ] + run.skipped_rows("kapre041", "tensorflow", "function", ["W1 log-mel"], missing["kapre041"], "k")
    return rows, _meta(skipped=missing)


def test_summary_rows_ratios_memory_and_rows_not_run():
    rows, meta = _fake_run()
    summary = run.summary(rows, meta)
    assert summary["columns"] == list(run.SUMMARY_COLUMNS)
    table = {r[0]: dict(zip(summary["columns"], r, strict=True)) for r in summary["workloads"]["W1 log-mel"]}
    assert list(table) == ["kapre 1.x [PyTorch, eager]", "NumPy floor", "librosa"]  # fastest first
    kapre = table["kapre 1.x [PyTorch, eager]"]
    assert kapre["median_ms"] == 20.0 and kapre["min_ms"] == 18.0 and kapre["max_ms"] == 30.0
    assert kapre["audio_s_per_s"] == 8000 and kapre["peak_mib_beyond_import"] == 50
    assert kapre["x_fastest_peer"] == 0.5  # the fastest peer is the NumPy floor, 40 ms
    assert table["NumPy floor"]["x_fastest_peer"] == 1.0 and table["NumPy floor"]["max_dev_from_librosa"] == 4e-6
    not_run = summary["not_run"]["W1 log-mel"]
    assert not_run["torch.stft + mel [PyTorch, torch.compile]"].startswith("not run: worker exited")
    assert run.SETUP_COMMAND in not_run["kapre 0.4.1 (PyPI) [TF, tf.function]"]
    assert summary["cpu"]["model"] == "Test CPU 9000" and summary["libraries"] == {"torch_mkl": False}
    assert summary["versions"] == {"main": {"kapre": "1.0", "librosa": "0.11", "torch": "2.x"}}
    assert summary["date"] == "2026-01-01 00:00" and "scaling" not in summary


def test_summary_without_a_recorded_cpu_says_so():
    rows, meta = _fake_run()
    del meta["cpu"]
    assert run.summary(rows, meta)["cpu"]["model"] == "not recorded by this run"


def test_versions_by_environment_keeps_kapre_041_apart_and_lists_conflicts():
    rows = [{"impl": "kapre", "versions": {"keras": "3.15"}}, {"impl": "keras", "versions": {"keras": "3.16"}},
            {"impl": "kapre041", "versions": {"keras": "3.13"}}, {"impl": "numpy"}]
    assert run.versions_by_environment(rows) == {"kapre 0.4.1 (.bench-venv)": {"keras": "3.13"},
                                                  "main": {"keras": "3.15 / 3.16"}}


def test_write_summary_is_small_json_and_keeps_the_alternate_section(tmp_path):
    import json

    path = tmp_path / "summary.json"
    run.write_summary({"passes": 5, "workloads": {"W1 log-mel": {"ratios": [2.0, 2.1]}}}, path, section="alternate")
    rows, meta = _fake_run()
    summary = run.summary(rows, meta)
    run.write_summary(summary, path)
    saved = json.loads(path.read_text())
    assert saved == dict(summary, alternate={"passes": 5, "workloads": {"W1 log-mel": {"ratios": [2.0, 2.1]}}})
    # one line per table row: the file stays short and its diffs readable
    lines = path.read_text().splitlines()
    assert any(line.strip().startswith('["kapre 1.x [PyTorch, eager]", 20.0,') for line in lines)
    run.write_summary({"passes": 3}, path, section="alternate")  # alternate.py's section replaces only its own
    assert json.loads(path.read_text()) == dict(summary, alternate={"passes": 3})


def test_report_states_the_cpu_read_at_run_time_and_the_skipped_peers(tmp_path):
    rows, meta = _fake_run()
    run.write_report(rows, meta, tmp_path)
    text = (tmp_path / "results.md").read_text()
    assert "CPU: Test CPU 9000; 2 logical CPUs; avx512f yes, avx2 yes, fma yes; PyTorch MKL no." in text
    for fact in ("EPYC", "AVX-512", "2 cores", "2-core", "shared cores"):  # nothing about one particular machine
        assert fact not in text, fact
    assert "**Skipped rows**" in text and run.SETUP_COMMAND in text
    assert "| kapre 0.4.1 (PyPI) [TF, tf.function] | skipped: .bench-venv is missing" in text
    assert (tmp_path / "summary.json").exists() and (tmp_path / "results.json").exists()


def test_missing_peers_name_the_setup_command(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "VENV_PYTHON", tmp_path / "no-venv" / "bin" / "python")
    monkeypatch.setenv("BENCH_TORCHAUDIO_PATH", str(tmp_path))
    monkeypatch.setenv("BENCH_NNAUDIO_PATH", str(tmp_path))
    missing = run.missing_peers()
    assert set(missing) == {"kapre041", "torchaudio", "whisper", "nnaudio"}
    assert all(run.SETUP_COMMAND in why for why in missing.values())
    assert "benchmarks/setup_nnaudio.sh" in missing["nnaudio"]
    (tmp_path / "torchaudio").mkdir()
    assert set(run.missing_peers()) == {"kapre041", "whisper", "nnaudio"}
    (tmp_path / "whisper").mkdir()
    (tmp_path / "nnAudio").mkdir()
    assert set(run.missing_peers()) == {"kapre041"}


def test_constantq_rows_need_their_peer_folders_and_are_repeated_in_rounds():
    configs = run.configurations(False, "constantq")
    assert {run.needs(c[0]) for c in configs} >= {"kapre", "nnaudio", "torchaudio"}
    assert [c[1:3] for c in configs if c[0] == "kapre"] == list(run.CONSTANTQ_KAPRE) * 2
    assert all(set(c[3]) <= set(run.CONSTANTQ_WORKLOADS) for c in configs)
    assert set(run.configurations(False, "all")) >= set(configs)


def test_constantq_deviations_relative_and_max_abs(tmp_path):
    import numpy as np

    cqt, resample = run.CQT_WORKLOADS[0], run.RESAMPLE_WORKLOADS[0]
    ref = np.ones((2, 3, 4), "float32")
    rows = []
    for impl, scale in (("kapre", 1.01), ("ref_librosa_cqt_clip", 1.0)):
        rows.append(dict(workload=cqt, impl=impl, status="ok", row_id=impl))
        np.save(tmp_path / f"{impl}__{cqt}.npy", ref * scale)
    run.constantq_deviations(rows, tmp_path)
    assert rows[0]["deviation"] == pytest.approx(0.01, rel=1e-4) and rows[0]["deviation_unit"] == "relative"
    assert rows[1]["deviation"] == 0.0
    rows = [dict(workload=resample, impl="kapre", status="ok", row_id="k"),
            dict(workload=resample, impl="ref_ta_resample", status="ok", row_id="t")]
    np.save(tmp_path / f"k__{resample}.npy", np.array([[0.0, 0.5]], "float32"))
    np.save(tmp_path / f"t__{resample}.npy", np.array([[0.0, 0.25]], "float32"))
    run.constantq_deviations(rows, tmp_path)
    assert rows[0]["deviation"] == 0.25 and rows[0]["deviation_unit"] == "max abs"


def test_constantq_verdicts_take_kapres_fastest_backend_against_the_fastest_peer(tmp_path):
    cqt, resample = run.CQT_WORKLOADS[0], run.RESAMPLE_WORKLOADS[0]
    rows = [
        _row(cqt, "kapre", "jax", "jit", 100.0, 160, peak=300.0, imported=200.0),
        _row(cqt, "kapre", "torch", "eager", 400.0, 160),
        _row(cqt, "ref_librosa_cqt_batch", "-", "-", 140.0, 160, peak=100.0, imported=50.0),
        _row(cqt, "ref_nnaudio_cqt1992v2", "torch", "eager", 500.0, 160),
        _row(resample, "kapre", "torch", "eager", 50.0, 160),
        _row(resample, "ref_ta_resample", "torch", "eager", 60.0, 160),
    ]
    targets = {v["workload"]: v for v in run.constantq_verdicts(rows)}
    v = targets[cqt]
    assert v["kapre"]["configuration"] == "kapre.CQT (magnitude) [JAX, jax.jit]" and v["kapre"]["memory_mib"] == 100
    assert v["fastest_peer"]["configuration"] == "librosa.cqt on the batch" and v["fastest_peer"]["memory_mib"] == 50
    assert v["speedup"] == pytest.approx(1.4) and v["meets_target"] is False  # target 1.5x
    assert [p["speedup"] for p in v["peers"]] == pytest.approx([1.4, 5.0])
    assert targets[resample]["speedup"] == pytest.approx(1.2) and targets[resample]["meets_target"] is True
    run.write_report(rows, _meta(), tmp_path)
    text = (tmp_path / "results.md").read_text()
    assert "## CQT and resampling: kapre's fastest backend against the fastest peer" in text
    assert "| 1.40x | 1.5x | **no** |" in text
    import json

    summary = json.loads((tmp_path / "summary.json").read_text())["constantq"][cqt]
    assert summary["speedup_over_fastest_peer"] == 1.4 and summary["meets_target"] is False


def test_alternate_passes_table_skips_failed_passes():
    import alternate

    configs = {"W2 log-mel": [alternate.KAPRE, ("keras", "jax", "jit"), ("torch_stft", "torch", "compile")]}
    nan = float("nan")
    medians = {("W2 log-mel", "kapre", "torch", "eager"): [4.0, 5.0, nan],
               ("W2 log-mel", "keras", "jax", "jit"): [6.0, nan, 6.0],
               ("W2 log-mel", "torch_stft", "torch", "compile"): [7.0, 7.5, 7.0]}
    table = alternate.passes_table(medians, configs, 3)["W2 log-mel"]
    assert table["fastest_peer"] == [[6.0, "keras.layers.MelSpectrogram [JAX, jax.jit]"],
                                     [7.5, "torch.stft + mel [PyTorch, torch.compile]"], None]
    assert table["ratios"] == [1.5, 1.5] and table["median_ratio"] == 1.5
    lines = alternate.report_lines({"W2 log-mel": table}, "2026-01-01 00:00", 3, 21,
                                   run.cpu_description(CPUINFO, cpu_count=2, usable=2), {}, {})
    assert "CPU: Test CPU 9000; 2 logical CPUs; avx512f yes, avx2 yes, fma yes." in lines
    assert lines[-1].endswith("| 1.50, 1.50 | 1.50 |")


def test_isa_columns_native_and_avx2_only_where_the_cpu_has_avx512():
    assert run.isa_columns("both", has_avx512=True) == ["native", "avx2"]
    assert run.isa_columns("avx2", has_avx512=True) == ["avx2"]
    assert run.isa_columns("native", has_avx512=True) == ["native"]
    # without AVX-512 the native column is the AVX2 one: nothing to switch off, one column
    assert run.isa_columns("both", has_avx512=False) == ["native"]
    assert run.isa_columns("avx2", has_avx512=False) == ["native"]


def _two_column_rows():
    rows = []
    for column, timings in (("native", {("kapre", "torch", "eager"): 4.0, ("kapre", "jax", "jit"): 5.0,
                                        ("keras", "jax", "jit"): 6.0, ("torch_stft", "torch", "eager"): 7.0}),
                            ("avx2", {("kapre", "torch", "eager"): 5.0, ("kapre", "jax", "jit"): 7.0,
                                      ("keras", "jax", "jit"): 6.0, ("torch_stft", "torch", "eager"): 6.5})):
        for (impl, backend, mode), ms in timings.items():
            rows.append(_row("W2 log-mel", impl, backend, mode, ms, 64, isa=column))
            rows[-1]["row_id"] += f"-{column}"
    return rows


def test_speed_targets_are_computed_within_each_column():
    verdicts = {v["column"]: v for v in run.speed_targets(_two_column_rows())}
    native, avx2 = verdicts["native"], verdicts["avx2"]
    assert native["speedup"] == pytest.approx(6.0 / 4.0) and native["meets_target"]
    assert avx2["speedup"] == pytest.approx(6.0 / 5.0) and not avx2["meets_target"]
    assert avx2["peer"] == "keras.layers.MelSpectrogram [JAX, jax.jit]"
    per_backend = {b["backend"]: b["speedup"] for b in avx2["backends"]}
    assert per_backend == {"torch": pytest.approx(6.5 / 5.0), "jax": pytest.approx(6.0 / 7.0)}  # JAX behind its peer


def test_report_gives_every_row_both_columns_and_the_targets(tmp_path):
    meta = _meta(isa_columns=["native", "avx2"], isa_probe={})
    run.write_report(_two_column_rows(), meta, tmp_path)
    text = (tmp_path / "results.md").read_text()
    assert "AVX-512 off: median ms | AVX-512 off: x fastest peer |" in text
    # native 4.0 ms over the native fastest peer (6.0); AVX2 5.0 ms over the AVX2 fastest peer (6.0), not across
    assert "| kapre 1.x [PyTorch, eager] | 4.0 |" in text and "| 5.0 | 0.83 |" in text
    assert "| native ISA | W2 log-mel | kapre 1.x [PyTorch, eager] | keras.layers.MelSpectrogram [JAX, jax.jit] | " \
           "1.50 | 1.5 (met) |" in text
    assert "| AVX-512 off | W2 log-mel | kapre 1.x [PyTorch, eager] | keras.layers.MelSpectrogram [JAX, jax.jit] | " \
           "1.20 | 1.5 (**not met**) |" in text
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["avx2"]["workloads"]["W2 log-mel"][0] == ["kapre 1.x [PyTorch, eager]", 5.0, 0.83]
    assert [v["column"] for v in summary["speed_targets"]] == ["native", "avx2"]
    # the native tables hold one row per configuration: the AVX2 twins are beside them, not below
    assert sum(line.startswith("| kapre 1.x [PyTorch, eager] |") for line in text.splitlines()) == 1


def test_memory_against_the_previous_report():
    previous = {"date": "2026-01-01 00:00", "columns": list(run.SUMMARY_COLUMNS), "workloads": {"W2 log-mel": [
        ["kapre 1.x [PyTorch, eager]", 4.0, 3.6, 9.0, 16000, 0.64, 10, 1e-5, "dB"],
        ["kapre 1.x [JAX, jax.jit]", 5.4, 4.1, 10.1, 11782, 0.86, 16, 1e-5, "dB"]]}}
    rows = [_row("W2 log-mel", "kapre", "torch", "eager", 4.0, 64, peak=100.0, imported=60.0),  # 40 MiB vs 10
            _row("W2 log-mel", "kapre", "jax", "jit", 5.0, 64, peak=80.0, imported=60.0),  # 20 vs 16: within slack
            _row("W2 log-mel", "keras", "jax", "jit", 6.0, 64, peak=900.0, imported=60.0)]  # a peer: not compared
    verdicts = {m["configuration"]: m for m in run.memory_against(previous, rows)}
    assert set(verdicts) == {"kapre 1.x [PyTorch, eager]", "kapre 1.x [JAX, jax.jit]"}
    assert verdicts["kapre 1.x [PyTorch, eager]"]["above"] and not verdicts["kapre 1.x [JAX, jax.jit]"]["above"]
    assert run.memory_against(None, rows) == []
