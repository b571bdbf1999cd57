"""``kapre extract --engine processes|ray`` and ``kapre.cli.extract_folder(executor=...)``: every engine writes
the bytes and the manifest the local engine writes, over a tree of a few hundred short files of mixed formats, rates
and channel counts with bad files among them, and survives a worker killed mid-run.

Byte-identity holds when every process computes with the same number of threads per kernel: on PyTorch a matmul's
last bits depend on its thread count (measured: 2.4e-7 on a 4.7 mel value between 1 and 2 threads). The runs here
all set ``OMP_NUM_THREADS=1``, as ``run_tests.py`` does for the whole suite; ``docs/cli.md`` ("Engines") says so.
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

import kapre_cli
from kapre import cli
from kapre.cli import extract_folder
from tests.helpers import BACKEND

FEATURE_ARGS = ["--feature", "mel", "--db", "--sr", "16000", "--n-fft", "256", "--hop", "80", "--n-mels", "32"]
FORMATS = ("wav", "flac", "ogg")
RATES = (8000, 16000, 22050, 44100, 48000)
N_GOOD = 240
BAD = ("bad/text.wav", "bad/empty.wav", "bad/three_samples.wav", "bad/cut.flac", "bad/nan.wav")


def _env(**extra) -> dict:
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1", **extra)


def _corpus(root) -> None:
    """``N_GOOD`` clips of 0.1-0.3 s (wav, flac, ogg; 8-48 kHz; mono and stereo) in nested folders, and the bad
    files of ``BAD``: not audio, no frame, shorter than one frame, a FLAC cut short, a NaN sample."""
    rng = np.random.default_rng(21)
    for i in range(N_GOOD):
        sr, ext, channels = RATES[i % len(RATES)], FORMATS[i % len(FORMATS)], 1 + (i % 4 == 0)
        folder = root / f"spk{i % 7}" / ("a" if i % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        n = int(sr * (0.1 + 0.02 * (i % 11)))
        t = np.arange(n)[:, None] / sr
        clip = 0.3 * np.sin(2 * np.pi * (200 + 37 * i) * t) + 0.05 * rng.standard_normal((n, channels))
        sf.write(folder / f"clip{i:03d}.{ext}", clip.astype(np.float32), sr)
    bad = root / "bad"
    bad.mkdir()
    (bad / "text.wav").write_text("not audio\n")
    sf.write(bad / "empty.wav", np.zeros((0, 1), np.float32), 16000)
    sf.write(bad / "three_samples.wav", np.full((3, 1), 0.1, np.float32), 16000)
    sf.write(bad / "cut.flac", rng.standard_normal((8000, 1)).astype(np.float32) * 0.1, 16000)
    whole = (bad / "cut.flac").read_bytes()
    (bad / "cut.flac").write_bytes(whole[: len(whole) // 2])
    with_nan = (0.1 * rng.standard_normal((4000, 1))).astype(np.float32)
    with_nan[100] = np.nan
    sf.write(bad / "nan.wav", with_nan, 16000, subtype="FLOAT")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The tree and the local engine's outputs over it (the reference every engine must equal)."""
    root = tmp_path_factory.mktemp("engines")
    src, local = root / "src", root / "local"
    _corpus(src)
    proc = _kapre(["extract", str(src), "-o", str(local), *FEATURE_ARGS])
    assert proc.returncode == 1, _describe(proc)  # the bad files fail, the others are written
    return src, local


def _kapre(args: list[str], **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kapre", *args], env=_env(**env), capture_output=True, text=True,
                          timeout=600)


def _describe(proc) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"


def _outputs(out) -> dict[str, bytes]:
    """Every file of an output folder, but the front-end record (it names the run's input root)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != cli.FRONTEND_NAME}


def _assert_same_as_local(out, local) -> None:
    mine, reference = _outputs(out), _outputs(local)
    assert sorted(mine) == sorted(reference), sorted(set(mine) ^ set(reference))[:5]
    different = [name for name in reference if mine[name] != reference[name]]
    assert not different, f"{len(different)} files differ from the local engine's, e.g. {different[:3]}"
    rows = [json.loads(line) for line in (out / cli.MANIFEST_NAME).read_text().splitlines()]
    assert len(rows) == len({row["path"] for row in rows}) == N_GOOD + len(BAD)  # one row per input
    failed = sorted(row["path"] for row in rows if row["status"] == "error")
    assert failed == sorted(BAD), failed
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # no partial write left


def _summary(stdout: str) -> str:
    lines = [line for line in stdout.splitlines() if "summary:" in line]
    assert lines, stdout
    return lines[-1]


def _wait_for_outputs(out, count: int, proc, deadline_s: float = 300) -> None:
    deadline = time.monotonic() + deadline_s
    while proc.poll() is None and time.monotonic() < deadline:
        if out.is_dir() and sum(1 for _ in out.rglob("*.npy")) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} outputs never appeared (exit {proc.poll()}); make the corpus larger")


def _processes_matching(words: str, parent: int | None = None) -> list[int]:
    """PIDs of this machine's processes whose command line holds ``words`` (children of ``parent`` if given)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "ppid"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if words in cmdline and (parent is None or proc.info["ppid"] == parent):
            found.append(proc.info["pid"])
    return found


# ---- processes and executors: every backend ------------------------------------------------------------------------


def test_processes_engine_and_an_executor_equal_the_local_engine(corpus, tmp_path):
    """Two worker processes, and a user's ProcessPoolExecutor through the Python API: the local engine's bytes and
    manifest; the summary counts the files; a second run keeps every output."""
    src, local = corpus
    out = tmp_path / "processes"
    proc = _kapre(["extract", str(src), "-o", str(out), *FEATURE_ARGS, "--engine", "processes", "--num-workers", "2"])
    assert proc.returncode == 1, _describe(proc)
    _assert_same_as_local(out, local)
    summary = _summary(proc.stdout)
    assert f"{N_GOOD + len(BAD)} files" in summary and "processes engine" in summary
    assert f"{N_GOOD} written, 0 kept, {len(BAD)} failed" in summary
    for name in BAD:  # each bad file's reason, said once
        assert proc.stderr.count(f"{name}:") == 1, proc.stderr[-2000:]

    again = _kapre(["extract", str(src), "-o", str(out), *FEATURE_ARGS, "--engine", "processes", "--num-workers", "2"])
    assert f"0 written, {N_GOOD} kept" in _summary(again.stdout), _describe(again)

    api_out = tmp_path / "executor"
    options = {"feature": "mel", "db": True, "sr": 16000, "n_fft": 256, "hop": 80, "n_mels": 32}
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as executor:
        summary = extract_folder(str(src), str(api_out), executor=executor, **options)
    assert (summary.files, summary.written, summary.kept, summary.failed) == (N_GOOD + len(BAD), N_GOOD, 0, len(BAD))
    assert summary.engine == "ProcessPoolExecutor" and summary.audio_seconds > 0
    _assert_same_as_local(api_out, local)


@pytest.mark.skipif(BACKEND != "torch", reason="the driver's side of a dead worker and of Ctrl-C is backend-"
                    "independent: run once, in the PyTorch run of the suite (the engines' results are checked on every "
                    "backend by the test above)")
def test_processes_engine_survives_a_killed_worker_and_ctrl_c(corpus, tmp_path):
    """A worker killed mid-run (SIGKILL, as the out-of-memory killer does): a new pool computes the rest and the run
    ends with every file. Ctrl-C mid-run: exit 130, every written file in the manifest; the same command resumes to
    the local engine's bytes."""
    src, local = corpus
    out = tmp_path / "killed"
    args = [sys.executable, "-m", "kapre", "extract", str(src), "-o", str(out), *FEATURE_ARGS, "--engine",
            "processes", "--num-workers", "2"]
    proc = subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_outputs(out, 20, proc)
    workers = _processes_matching("multiprocessing.spawn", parent=proc.pid)
    assert workers, "no worker process found"
    assert sum(1 for _ in out.rglob("*.npy")) < N_GOOD - 20, "the kill must land mid-run; make the corpus larger"
    os.kill(workers[0], signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 1, _describe(subprocess.CompletedProcess(args, proc.returncode, stdout, stderr))
    _assert_same_as_local(out, local)

    out = tmp_path / "interrupted"
    args[args.index("-o") + 1] = str(out)
    proc = subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _wait_for_outputs(out, 20, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 130, _describe(subprocess.CompletedProcess(args, proc.returncode, stdout, stderr))
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.npy"))
    rows = cli.extract.Manifest.read(str(out / cli.MANIFEST_NAME))
    assert sorted(row["output"] for row in rows.values() if row["status"] == "ok") == written
    assert len(written) < N_GOOD
    resumed = _kapre(args[3:])
    assert resumed.returncode == 1 and f"{len(written)} kept" in _summary(resumed.stdout), _describe(resumed)
    _assert_same_as_local(out, local)


# ---- Ray: a local cluster --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(BACKEND != "torch", reason="the Ray engine's cluster test runs once, in the PyTorch run of the "
                    "suite: what a Ray actor computes is the processes engine's code (compute_remote), tested on "
                    "every backend above; a second Ray cluster beside the other backends' runs would only add minutes")
def test_ray_engine_on_a_local_cluster_with_a_worker_killed(corpus, tmp_path):
    """A Ray cluster on this machine (a head and two worker nodes, loopback only): ``--engine ray --address`` writes
    the local engine's bytes and manifest, though one of its actors is killed mid-run (Ray restarts it and retries
    its batch), or a second run resumes what the first could not finish."""
    from ray.cluster_utils import Cluster

    src, local = corpus
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "redis_port": _free_port(),
                                                            "node_ip_address": "127.0.0.1",
                                                            "include_dashboard": False})
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        cluster.wait_for_nodes()
        out = tmp_path / "ray"
        args = [sys.executable, "-m", "kapre", "extract", str(src), "-o", str(out), *FEATURE_ARGS, "--engine", "ray",
                "--num-workers", "2", "--address", cluster.address]
        proc = subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for_outputs(out, 20, proc)
        actors = _processes_matching("KapreFrontend")
        assert actors, "no Ray actor process found"
        assert sum(1 for _ in out.rglob("*.npy")) < N_GOOD - 20, "the kill must land mid-run; make the corpus larger"
        os.kill(actors[0], signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=600)
        described = _describe(subprocess.CompletedProcess(args, proc.returncode, stdout, stderr))
        if proc.returncode != 1:  # Ray gave up on the batch: the same command resumes
            resumed = _kapre(args[3:])
            assert resumed.returncode == 1, described + "\n--- resumed\n" + _describe(resumed)
            stdout = resumed.stdout
        assert "ray engine" in _summary(stdout), described
        _assert_same_as_local(out, local)
    finally:
        cluster.shutdown()


# ---- bad options -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, words", [
    (["--engine", "spark"], "invalid choice: 'spark'"),
    (["--engine", "processes", "--num-workers", "0"], "--num-workers: expected a positive integer, got '0'"),
    (["--num-workers", "2"], "the local engine computes in this process"),
    (["--address", "127.0.0.1:6379"], "use it with --engine ray"),
], ids=["unknown-engine", "zero-workers", "workers-on-local", "address-without-ray"])
def test_engine_option_errors(argv, words, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        kapre_cli.main(["extract", str(tmp_path), "-o", str(tmp_path / "out"), *argv])
    assert exit_.value.code == 2 and words in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_unreachable_address_and_a_missing_ray_exit_2_before_anything_is_written(tmp_path, capsys, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    sf.write(src / "a.wav", np.zeros((1600, 1), np.float32), 16000)
    start = time.monotonic()
    with pytest.raises(SystemExit) as exit_:
        kapre_cli.main(["extract", str(src), "-o", str(tmp_path / "out"), "--engine", "ray", "--address",
                        f"127.0.0.1:{_free_port()}"])
    assert exit_.value.code == 2 and time.monotonic() - start < 30
    err = capsys.readouterr().err
    assert "no Ray cluster answers there" in err and "ray start --head" in err, err
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="expected HOST:PORT"):
        extract_folder(str(src), str(tmp_path / "out"), engine="ray", address="nowhere")

    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *rest: None if name == "ray" else real_find_spec(name, *rest))
    with pytest.raises(SystemExit) as exit_:
        kapre_cli.main(["extract", str(src), "-o", str(tmp_path / "out"), "--engine", "ray"])
    assert exit_.value.code == 2 and "pip install 'kapre[ray]'" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"kapre\[ray\]"):
        extract_folder(str(src), str(tmp_path / "out"), engine="ray")
    with pytest.raises(ValueError, match="leave engine at 'local'"):
        extract_folder(str(src), str(tmp_path / "out"), engine="processes",
                       executor=concurrent.futures.ThreadPoolExecutor(1))
    assert not (tmp_path / "out").exists()
