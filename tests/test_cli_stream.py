"""``kapre stream FILE -o OUT.npy`` (issue 19): a file through the streaming twin of a front-end, chunk by chunk.

In-process through ``kapre.cli.main`` (what the ``kapre`` command runs), on the active backend. The features written
must equal the offline front-end on the whole file (the frames the stream completes), to 1e-5 of the largest value;
the report must hold the chunks, the frames, the per-chunk latency, the real-time factor and the algorithmic latency;
and an input or option that cannot be used must leave no output. The clips are 16 kHz (no resampling) and short, with
lengths that are not a multiple of the chunk, so that every run also traces the last, shorter chunk.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import soundfile as sf

import kapre
import kapre.frontends as frontends
from kapre import cli
from kapre.cli.options import FeatureOptions, build_frontend
from kapre.cli.stream import REPORT_KEYS, stream_audio
from kapre.streaming import to_streaming

SR = 16000
RTOL = 1e-5  # of the largest |value| of the offline features (float32)


def _clip(samples: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    t = np.arange(samples)[:, None] / SR
    rng = np.random.default_rng(seed)
    tone = 0.3 * np.sin(2 * np.pi * 440.0 * t * (1 + np.arange(channels))) + 0.1 * np.sin(2 * np.pi * 2500.0 * t)
    return (tone + 0.02 * rng.standard_normal((samples, channels))).astype(np.float32)


def _run(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _assert_close(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = float(np.max(np.abs(want)))
    error = float(np.max(np.abs(got - want))) / scale
    assert error <= RTOL, f"max |difference| / max |reference| = {error:.3g}"


def _number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in:\n{text}"
    return float(found.group(1))


def _leftovers(folder) -> list[str]:
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_default_log_mel_equals_the_offline_front_end_and_reports(tmp_path, capsys):
    samples = 8000  # 50 chunks of 10 ms (the shorter last chunk: the next test)
    clip = _clip(samples)
    sf.write(tmp_path / "clip.wav", clip, SR, subtype="FLOAT")
    out = tmp_path / "out" / "clip.npy"
    code, stdout, err = _run(["stream", str(tmp_path / "clip.wav"), "-o", str(out)], capsys)
    assert code == 0, err
    got = np.load(out)
    # The documented default: a 64-band log-mel at 16 kHz, 25 ms frames every 10 ms, decibels without a floor.
    offline = build_frontend(FeatureOptions(feature="mel", sample_rate=SR, n_fft=512, win_length=400, hop_length=160,
                                            n_mels=64, db=True, top_db=None))
    want = keras.ops.convert_to_numpy(offline(clip[None]))[0]
    frames = (samples - 400) // 160 + 1
    assert want.shape == (frames, 64, 1) and got.dtype == np.float32
    _assert_close(got, want)

    assert f"wrote {out} ({frames}, 64, 1)" in stdout, stdout
    assert _number(r"chunks: (\d+) of 160 samples \(10 ms\), as fast as possible", stdout) == 50
    assert _number(r"frames: (\d+), hop 160 samples", stdout) == frames
    median = _number(r"median ([\d.]+) ms", stdout)
    p99 = _number(r"99th percentile ([\d.]+) ms", stdout)
    assert 0 < median <= p99, stdout
    rtf = _number(r"real-time factor: ([\d.]+)", stdout)
    compute_ms = _number(r"compute ([\d.]+) ms for", stdout)
    assert rtf > 0 and compute_ms > 0
    assert rtf == pytest.approx(compute_ms / 1000 / (samples / SR), rel=0.02, abs=2e-4)
    assert _number(r"algorithmic latency: ([\d.]+) ms", stdout) == 25  # one 400-sample frame, no look-ahead
    assert "a look-ahead of 0 samples" in stdout
    assert _leftovers(out.parent) == ["clip.npy"]  # no temporary file left


def test_kaldi_fbank_in_odd_chunks_in_real_time(tmp_path, capsys):
    """A model front-end (--frontend), chunks of 7.3 ms (117 samples, not a multiple of the 160-sample hop), paced by
    the wall clock: the run lasts at least the clip's duration."""
    samples = 4100
    clip = _clip(samples, seed=1)
    sf.write(tmp_path / "speech.wav", clip, SR, subtype="FLOAT")
    out = tmp_path / "fbank.npy"
    start = time.perf_counter()
    code, stdout, err = _run(["stream", str(tmp_path / "speech.wav"), "-o", str(out), "--frontend", "kaldi_fbank",
                              "--chunk-ms", "7.3", "--realtime"], capsys)
    wall = time.perf_counter() - start
    assert code == 0, err
    assert wall >= samples / SR
    layer = frontends.kaldi_fbank()
    want = keras.ops.convert_to_numpy(layer(clip[None, :, 0]))[0]  # (frames, 23): as kapre extract saves it
    got = np.load(out)
    assert want.shape == ((samples - 400) // 160 + 1, 23)
    _assert_close(got, want)
    assert _number(r"chunks: (\d+) of 117 samples \(7\.312 ms\), the last 5 samples", stdout) == 36
    assert "in real time" in stdout and "chunk(s) late" in stdout, stdout


def test_stream_audio_report_fields_per_channel():
    """The loop from Python: two channels through kapre.MelSpectrogram's twin, every field of the report."""
    samples, chunk = 3000, 250
    clip = _clip(samples, channels=2, seed=2)
    mel = kapre.MelSpectrogram(n_fft=256, win_length=200, hop_length=100, sample_rate=SR, n_mels=32,
                               return_decibel=True, db_dynamic_range=None, input_data_format="channels_last",
                               output_data_format="channels_last")
    want = keras.ops.convert_to_numpy(mel(clip[None]))[0]
    features, report = stream_audio(to_streaming(mel, mode="external"), clip, SR, chunk)
    _assert_close(features, want)
    assert set(report) == set(REPORT_KEYS)
    assert report["backend"] == keras.backend.backend()
    assert (report["sample_rate"], report["channels"], report["samples"]) == (SR, 2, samples)
    assert (report["chunk_samples"], report["chunks"], report["last_chunk_samples"]) == (chunk, 12, 250)
    assert report["frames"] == want.shape[0] == (samples - 200) // 100 + 1  # frames of win_length samples
    assert report["shape"] == list(want.shape)
    assert (report["hop_samples"], report["frame_samples"], report["lookahead_samples"]) == (100, 200, 0)
    assert report["chunk_ms"] == pytest.approx(15.625) and report["frame_ms"] == pytest.approx(12.5)
    assert report["algorithmic_latency_ms"] == pytest.approx(12.5)
    assert 0 < report["latency_median_ms"] <= report["latency_p99_ms"] <= report["latency_max_ms"]
    assert report["compute_s"] <= report["wall_s"]
    assert report["real_time_factor"] == pytest.approx(report["compute_s"] / (samples / SR))
    assert report["warmup_s"] > 0 and report["realtime"] is False and report["late_chunks"] is None
    with pytest.raises(ValueError, match="chunk"):
        stream_audio(to_streaming(mel, mode="external"), clip, SR, 0)


def test_bad_input_leaves_no_output(tmp_path, capsys):
    sf.write(tmp_path / "ok.wav", _clip(2000), SR, subtype="FLOAT")
    sf.write(tmp_path / "short.wav", _clip(100), SR, subtype="FLOAT")  # shorter than one 400-sample frame
    (tmp_path / "noise.wav").write_bytes(np.random.default_rng(0).bytes(3000))  # not audio
    out_dir = tmp_path / "out"
    out = out_dir / "f.npy"
    ok = str(tmp_path / "ok.wav")
    cases = [
        ([str(tmp_path / "noise.wav")], 1, "cannot read as audio"),
        ([str(tmp_path / "missing.wav")], 1, "no such file"),
        ([str(tmp_path / "short.wav")], 1, "too short: 100 samples"),
        ([ok, "--chunk-ms", "0"], 2, "expected a number > 0, got '0'"),
        ([ok, "--chunk-ms", "-5"], 2, "expected a number > 0"),
        ([ok, "--chunk-ms", "ten"], 2, "expected a number, got 'ten'"),
        ([ok, "--chunk-ms", "nan"], 2, "expected a finite number"),
        ([ok, "--chunk-ms", "0.01"], 2, "less than one sample at 16000 Hz"),
        ([ok, "--center", "--pad-mode", "reflect"], 2, "cannot stream: MelSpectrogram"),
        ([ok, "--frontend", "whisper"], 2, "--frontend whisper (kapre.frontends.whisper_log_mel) cannot stream"),
    ]
    for argv, status, words in cases:
        code, _, err = _run(["stream", *argv, "-o", str(out)], capsys)
        assert code == status and words in err, (argv, code, err)
        assert _leftovers(out_dir) == [], argv
    code, _, err = _run(["stream", ok, "-o", str(out_dir / "f.txt")], capsys)
    assert code == 2 and "name a .npy file" in err, err
    assert _leftovers(out_dir) == []


def test_stream_help_answers_without_importing_a_backend():
    script = """
import sys
import kapre_cli
try:
    kapre_cli.main(["stream", "--help"])
except SystemExit:
    pass
print("LOADED", sorted(m for m in ("kapre", "keras", "numpy", "tensorflow", "jax", "torch") if m in sys.modules))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout and "--chunk-ms" in proc.stdout and "--realtime" in proc.stdout, proc.stdout
