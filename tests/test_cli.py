"""The ``kapre`` command, run as a subprocess on the active backend (the subprocess inherits KERAS_BACKEND).

Each subprocess imports Keras and a backend (several seconds), so the cases are combined into few runs: one demo, two
extract run over a tree holding every kind of bad input, a run killed mid-way, one show. Re-runs (skip, resume), option
errors and ``kapre info`` run in-process through ``kapre.cli.main``, which is what the subprocesses run too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

# The test extra installs the command line's optional dependencies; a missing one must fail, not skip.
import matplotlib  # noqa: E402, F401
import numpy as np
import pytest
import soundfile as sf  # noqa: E402
import soxr  # noqa: E402

from kapre import _backend_choice, cli
from tests.helpers import BACKEND

# Features written by `kapre extract` equal the same kapre layer run here on the same (soxr-resampled) audio up to
# float32 rounding: the command runs files in zero-padded batches (frames trimmed, decibels per file), whose matmul
# blocking differs from a single-file call. In dB, |difference| stays well below 1e-3 dB; magnitudes are compared
# relative to each file's peak.
ATOL_DB = 2e-3
RTOL_MAG = 1e-4


def run_kapre(*args: str, cwd=None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "kapre", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _describe(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"


def _noise(n: int, channels: int, seed: int) -> np.ndarray:
    t = np.arange(n)[:, None] / 8000.0
    rng = np.random.default_rng(seed)
    tone = 0.3 * np.sin(2 * np.pi * (300.0 + 100 * seed) * t * (1 + np.arange(channels)))
    return (tone + 0.05 * rng.standard_normal((n, channels))).astype(np.float32)


def _read_manifest(out_dir) -> dict:
    with open(os.path.join(out_dir, cli.MANIFEST_NAME)) as f:
        return {row["path"]: row for row in map(json.loads, f)}


def _reference(path: str, sr: int, mono: bool, model) -> np.ndarray:
    import keras

    audio, file_sr = sf.read(path, dtype="float32", always_2d=True)
    if mono:
        audio = audio.mean(axis=1, keepdims=True, dtype=np.float32)
    if file_sr != sr:
        audio = soxr.resample(audio, file_sr, sr, quality="HQ").astype(np.float32).reshape(-1, audio.shape[1])
    return keras.ops.convert_to_numpy(model(audio[None]))[0]


# ------------------------------------------------------------------------------------------------------------------


def test_demo_writes_picture_and_table(tmp_path):
    import matplotlib.image

    proc = run_kapre("demo", "-o", "demo.png", cwd=tmp_path)
    assert proc.returncode == 0, _describe(proc)
    assert "Traceback" not in proc.stderr
    assert f"on {BACKEND}" in proc.stdout  # says which backend ran
    for name in ("STFT magnitude", "mel spectrogram", "log-frequency spectrogram", "MFCC"):
        assert name in proc.stdout
    assert "(1, 337, 1025, 1)" in proc.stdout  # 4 s at 22,050 Hz, n_fft 2048, hop 256, center=False
    image = matplotlib.image.imread(tmp_path / "demo.png")
    assert image.shape[:2] == (1400, 1100)  # figsize (11, 14) at 100 dpi
    assert float(np.var(image[..., :3])) > 0.01  # not blank
    # The spectrogram panels are dark (magma) where the clip is silent and bright on the chirp and harmonics.
    assert 0.05 < float(np.mean(image[..., :3])) < 0.95
    if "librosa not installed" not in proc.stdout:
        rows = [line for line in proc.stdout.splitlines() if line.startswith(("STFT", "mel"))]
        for row in rows:  # "... 0.0013 dB": kapre and librosa agree to within 0.05 dB
            assert float(row.split()[-2]) < 0.05, row


def _make_tree(root) -> dict:
    """Audio at 8, 16, 22.05 and 44.1 kHz, mono and stereo, wav and flac, plus every kind of bad input."""
    good = {}
    specs = [(8000, 1, "wav"), (16000, 2, "flac"), (22050, 1, "flac"), (44100, 2, "wav"), (44100, 1, "flac"),
             (22050, 2, "wav"), (16000, 1, "wav"), (8000, 2, "flac")]
    for i, (sr, channels, ext) in enumerate(specs):
        folder = root / "audio" / ("deep/er" if i % 3 == 0 else "sub" if i % 3 == 1 else "")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"clip{i}_{sr}_{channels}ch.{ext}"
        seconds = 0.3 + 0.11 * i
        sf.write(path, _noise(int(sr * seconds), channels, i), sr)
        good[str(path.relative_to(root))] = (sr, channels)
    # Two files of identical length share a batch without padding.
    sf.write(root / "audio" / "same_a.wav", _noise(8000, 1, 20), 16000)
    sf.write(root / "audio" / "same_b.wav", _noise(8000, 1, 21), 16000)
    good["audio/same_a.wav"] = good["audio/same_b.wav"] = (16000, 1)

    bad = root / "audio" / "bad"
    bad.mkdir()
    (bad / "text.wav").write_text("this is not a wav file\n")
    sf.write(bad / "zero.wav", np.zeros((0, 1), np.float32), 16000)
    sf.write(bad / "three.wav", np.full((3, 1), 0.1, np.float32), 16000)
    with_nan = _noise(4000, 1, 9)
    with_nan[1234] = np.nan
    sf.write(bad / "nan.wav", with_nan, 16000, subtype="FLOAT")
    (root / "no_audio").mkdir()
    (root / "no_audio" / "readme.txt").write_text("nothing to see")
    return good


def test_extract_tree_bad_inputs_and_resume(tmp_path, capsys, monkeypatch):
    from kapre.composed import get_melspectrogram_layer

    good = _make_tree(tmp_path)
    args = ["extract", "audio", "no_audio", "missing.wav", "-o", "feats", "--feature", "mel", "--sr", "16000",
            "--n-fft", "512", "--hop", "160", "--n-mels", "40", "--db", "--per-channel", "--batch-size", "3"]
    first = run_kapre(*args, cwd=tmp_path)
    assert first.returncode == 1, _describe(first)  # some inputs failed
    assert "Traceback" not in first.stderr, _describe(first)
    out = tmp_path / "feats"
    rows = _read_manifest(out)

    # Every bad input: a manifest row with a clear error, and a line on stderr.
    expected_errors = {
        "missing.wav": "no such file",
        "no_audio": "no audio files",
        "audio/bad/text.wav": "cannot read as audio",
        "audio/bad/zero.wav": "empty",
        "audio/bad/three.wav": "too short",
        "audio/bad/nan.wav": "NaN",
    }
    for path, words in expected_errors.items():
        assert rows[path]["status"] == "error", rows[path]
        assert words in rows[path]["error"], rows[path]
        assert f"{path}: " in first.stderr and words in first.stderr
    assert not list(out.rglob("bad/*.npy"))

    # Every good file: written, mirrored under the input folder, equal to the kapre layer run here.
    model = get_melspectrogram_layer(n_fft=512, hop_length=160, sample_rate=16000, n_mels=40, return_decibel=True,
                                     input_data_format="channels_last", output_data_format="channels_last")
    for path, (sr, channels) in good.items():
        row = rows[path]
        assert row["status"] == "ok", row
        assert row["sample_rate"] == sr and row["channels"] == channels
        npy = out / (os.path.splitext(path)[0] + ".npy")  # inputs audio/ and no_audio/: mirrored below their parent
        assert row["output"] == os.path.relpath(npy, out)
        features = np.load(npy)
        assert features.dtype == np.float32 and list(features.shape) == row["shape"]
        expected = _reference(str(tmp_path / path), 16000, mono=False, model=model)
        assert features.shape == expected.shape == (features.shape[0], 40, channels)
        np.testing.assert_allclose(features, expected, atol=ATOL_DB, rtol=0, err_msg=path)
    assert len(rows) == len(good) + len(expected_errors)
    assert "written" in first.stdout

    # A second run skips every existing output and does not touch it (in-process: the logic is the same, and a
    # subprocess costs seconds of imports).
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.npy")}
    monkeypatch.chdir(tmp_path)
    assert cli.main(args) == 1
    second = capsys.readouterr()
    rows = _read_manifest(out)
    assert all(rows[path]["status"] == "skipped" for path in good), rows
    assert all(rows[path]["status"] == "error" for path in expected_errors)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.npy")} == stamps
    assert f"0 written, {len(good)} skipped" in second.out


def test_extract_interrupted_then_resumed(tmp_path):
    import keras

    from kapre.composed import get_stft_magnitude_layer

    src = tmp_path / "many"
    n_files = 240
    for i in range(n_files):
        sr = 16000 if i % 2 else 22050  # half of them resampled
        (src / f"part{i // 60}").mkdir(parents=True, exist_ok=True)
        sf.write(src / f"part{i // 60}" / f"f{i:03d}.wav", _noise(int(0.05 * sr) + i, 2, i), sr)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "kapre", "extract", str(src), "-o", str(out), "--feature", "stft", "--sr", "16000",
            "--n-fft", "256", "--batch-size", "1"]  # mono (the default): stereo files are averaged
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while len(list(out.rglob("*.npy"))) < 10 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    still_running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert still_running, "the run finished before it could be killed; make the test's input larger"
    written = sorted(out.rglob("*.npy"))
    assert 10 <= len(written) < n_files
    for path in written:  # no truncated .npy: every one loads completely
        assert np.load(path).shape[1:] == (129, 1)
    assert not [p for p in out.rglob("*") if p.is_file() and p.name.endswith(".npy") and p not in written]

    assert cli.main(args[3:]) == 0  # resume (in-process, as above)
    rows = _read_manifest(out)
    assert len(rows) == n_files
    statuses = [row["status"] for row in rows.values()]
    assert statuses.count("skipped") >= len(written) and statuses.count("ok") >= 1
    assert set(statuses) == {"ok", "skipped"}
    assert len(list(out.rglob("*.npy"))) == n_files
    assert not list(out.rglob("*.tmp"))  # leftovers of the killed write are removed when the file is redone

    model = get_stft_magnitude_layer(n_fft=256, input_data_format="channels_last", output_data_format="channels_last")
    for i in (0, 1, n_files - 1):
        path = src / f"part{i // 60}" / f"f{i:03d}.wav"
        features = np.load(out / f"part{i // 60}" / f"f{i:03d}.npy")
        expected = _reference(str(path), 16000, mono=True, model=model)
        np.testing.assert_allclose(features, expected, atol=RTOL_MAG * float(np.max(expected)), rtol=0)
    keras.backend.clear_session()


def test_demo_on_a_user_file(tmp_path, capsys):
    """`kapre demo FILE` (in-process: the subprocess path is covered by the built-in clip's demo above)."""
    import matplotlib.image

    sf.write(tmp_path / "tones.wav", _noise(16000, 1, 4), 16000)
    code = cli.main(["demo", str(tmp_path / "tones.wav"), "-o", str(tmp_path / "mine.png")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "tones.wav" in out and "(1, 55, 1025, 1)" in out  # 1 s at 16 kHz, n_fft 2048, hop 256
    image = matplotlib.image.imread(tmp_path / "mine.png")
    assert image.shape[:2] == (1400, 1100) and float(np.var(image[..., :3])) > 0.01


def test_show(tmp_path):
    import matplotlib.image

    sf.write(tmp_path / "stereo.flac", _noise(16000, 2, 3), 16000)
    proc = run_kapre("show", "stereo.flac", "-o", "fig.png", "--feature", "logfreq", "--sr", "16000", "--n-bins",
                     "72", "--per-channel", cwd=tmp_path)
    assert proc.returncode == 0, _describe(proc)
    image = matplotlib.image.imread(tmp_path / "fig.png")
    assert image.shape[:2] == (840, 1000) and float(np.var(image[..., :3])) > 0.01



@pytest.mark.parametrize(
    "argv, words",
    [
        (["extract", "a.wav"], "required: -o"),
        (["extract", "a.wav", "-o", "o", "--feature", "cqt"], "invalid choice: 'cqt'"),
        (["extract", "a.wav", "-o", "o", "--hop", "-3"], "expected a positive integer"),
        (["extract", "a.wav", "-o", "o", "--sr", "fast"], "expected a positive integer"),
        (["extract", "a.wav", "-o", "o", "--n-fft", "256", "--win-length", "512"], "at most --n-fft"),
        (["extract", "a.wav", "-o", "o", "--feature", "mfcc", "--n-mels", "10", "--n-mfcc", "20"], "--n-mfcc"),
        (["extract", "a.wav", "-o", "o", "--feature", "logfreq", "--sr", "8000"], "use --n-bins 83 or less"),
        (["extract", "a.wav", "-o", "o", "--mono", "--per-channel"], "not allowed with argument"),
        (["extract", "a.wav", "-o", "o", "--batch-size", "0"], "expected a positive integer"),
        (["extract", "a.wav", "-o", "o", "--n-fft", "0"], "usage: kapre extract"),
        (["extract", "a.wav", "-o", "o", "--config", "nope.json"], "--config: cannot read"),
        (["show", "a.wav"], "required: -o"),
        (["frobnicate"], "invalid choice"),
        ([], "required: COMMAND"),
    ],
)
def test_invalid_options_are_argparse_errors(argv, words, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: kapre") and words in err, err


def test_config_files(tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "keys.json").write_text(json.dumps({"feature": "mel", "n_ffts": 5}))
    for name, words in (("bad.json", "not valid JSON"), ("keys.json", "unknown key(s) ['n_ffts']")):
        with pytest.raises(SystemExit):
            cli.main(["extract", "a.wav", "-o", str(tmp_path / "o"), "--config", str(tmp_path / name)])
        assert words in capsys.readouterr().err

    # An options file and a kapre-frontend.json (a Keras config) give the same features.
    sf.write(tmp_path / "a.wav", _noise(6000, 1, 1), 8000)
    (tmp_path / "opts.json").write_text(json.dumps({"feature": "mfcc", "sr": 8000, "n_fft": 256, "n_mels": 32,
                                                    "n_mfcc": 13}))
    assert cli.main(["extract", str(tmp_path / "a.wav"), "-o", str(tmp_path / "o1"), "--config",
                     str(tmp_path / "opts.json")]) == 0
    record = tmp_path / "o1" / cli.FRONTEND_NAME
    assert cli.main(["extract", str(tmp_path / "a.wav"), "-o", str(tmp_path / "o2"), "--config", str(record)]) == 0
    # A Keras config of the front-end (what model.get_config() serializes): the sample rate comes from its filterbank.
    import keras

    options = cli.FeatureOptions(feature="mfcc", sample_rate=8000, n_fft=256, n_mels=32, n_mfcc=13)
    serialized = keras.saving.serialize_keras_object(cli.build_frontend(options))
    (tmp_path / "model.json").write_text(json.dumps(serialized))
    assert cli.main(["extract", str(tmp_path / "a.wav"), "-o", str(tmp_path / "o3"), "--config",
                     str(tmp_path / "model.json")]) == 0
    first, second, third = (np.load(tmp_path / name / "a.npy") for name in ("o1", "o2", "o3"))
    assert first.shape == (90, 13, 1)  # 1 + (6000 - 256) // 64
    np.testing.assert_allclose(first, second, atol=1e-5)
    np.testing.assert_allclose(first, third, atol=1e-5)
    with pytest.raises(SystemExit):
        cli.main(["extract", "a.wav", "-o", str(tmp_path / "o4"), "--config", str(tmp_path / "model.json"),
                  "--n-fft", "512"])
    assert "do not combine it with --n-fft" in capsys.readouterr().err

    # A kapre-frontend.json written by kapre 1.0's first pre-releases holds the composed chain (STFT > Magnitude >
    # ApplyFilterbank('mel') > MagnitudeToDecibel); it gives the numbers of today's --feature mel --db.
    from kapre.composed import get_melspectrogram_layer

    old = get_melspectrogram_layer(n_fft=256, sample_rate=8000, n_mels=32, return_decibel=True,
                                   input_data_format="channels_last", output_data_format="channels_last")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / cli.FRONTEND_NAME).write_text(json.dumps(
        {"kapre_version": "1.0.0.dev0", "sample_rate": 8000, "mono": True,
         "model": keras.saving.serialize_keras_object(old)}))
    assert cli.main(["extract", str(tmp_path / "a.wav"), "-o", str(tmp_path / "o5"), "--config",
                     str(tmp_path / "old" / cli.FRONTEND_NAME)]) == 0
    assert cli.main(["extract", str(tmp_path / "a.wav"), "-o", str(tmp_path / "o6"), "--feature", "mel", "--db",
                     "--sr", "8000", "--n-fft", "256", "--n-mels", "32"]) == 0
    from_old, today = (np.load(tmp_path / name / "a.npy") for name in ("o5", "o6"))
    assert from_old.shape == today.shape == (90, 32, 1)
    np.testing.assert_allclose(from_old, today, atol=1e-3, rtol=0)

    # Another front-end into the same folder is refused (resume would mix features).
    with pytest.raises(SystemExit):
        cli.main(["extract", str(tmp_path / "a.wav"), "-o", str(tmp_path / "o1"), "--feature", "stft"])
    assert "another front-end" in capsys.readouterr().err


def test_batched_equals_single():
    """The command's engine (kapre.extraction) on a zero-padded batch equals one file at a time, decibels included."""
    from kapre.extraction import Extractor

    options = cli.FeatureOptions(feature="logfreq", sample_rate=16000, n_fft=512, hop_length=100, n_bins=60, db=True)
    extractor = Extractor(cli.build_frontend(options))
    assert [type(layer).__name__ for layer in extractor.batched_layers][-1] == "MagnitudeToDecibel"
    assert not extractor.per_clip_layers
    waves = [_noise(n, 2, n) for n in (600, 2000, 1234, 2000)]
    waves[1][-50:] *= 40  # a loud tail beyond the last full frame must not change the dB floor of that file
    batched = cli.compute_features(extractor, waves)
    for wave, features in zip(waves, batched, strict=True):
        single = cli.compute_features(extractor, [wave])[0]
        assert features.shape == single.shape == (1 + (wave.shape[0] - 512) // 100, 60, 2)
        np.testing.assert_allclose(features, single, atol=ATOL_DB, rtol=0)


def test_info(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"backend in use  {BACKEND}" in out
    assert "keras" in out and "devices" in out


@pytest.mark.parametrize(
    "env, configured, installed, expected, because",
    [
        ("torch", "jax", {"jax"}, ("torch", False), "set by KERAS_BACKEND"),  # KERAS_BACKEND wins
        (None, "torch", {"jax", "torch"}, ("torch", False), "set in {keras_json}"),  # keras.json, installed
        # nothing chosen: jax first
        (None, None, {"jax", "tensorflow", "torch"}, ("jax", True), "picked by kapre (KERAS_BACKEND unset and no "
         "backend in keras.json): first installed of jax, tensorflow, torch"),
        # Keras' own default: no variable needed
        (None, None, {"tensorflow", "torch"}, ("tensorflow", False), "picked by kapre (KERAS_BACKEND unset and no "
         "backend in keras.json): first installed of jax, tensorflow, torch"),
        # keras.json written by Keras, TF not installed
        (None, "tensorflow", {"jax"}, ("jax", True), "picked by kapre ({keras_json} names 'tensorflow', which is not "
         "installed): first installed of jax, tensorflow, torch"),
        (None, None, {"torch"}, ("torch", True), "picked by kapre (KERAS_BACKEND unset and no backend in "
         "keras.json): first installed of jax, tensorflow, torch"),
        (None, None, set(), (None, False), "none of jax, tensorflow, torch is installed"),
    ],
)
def test_backend_choice(env, configured, installed, expected, because):
    """The backend picked, whether KERAS_BACKEND must be set, and the reason `kapre info` prints for the choice."""
    name, set_env, reason = _backend_choice.decide(env, configured, installed.__contains__, _backend_choice.CLI_ORDER)
    assert (name, set_env) == expected
    assert reason == because.format(keras_json=_backend_choice.keras_config_path())


@pytest.mark.skipif(BACKEND != "jax", reason="backend-independent; run once, in the JAX session")
def test_cli_picks_an_installed_backend_without_configuration(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(tmp_path)  # no keras.json
    proc = subprocess.run([sys.executable, "-m", "kapre", "info"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, _describe(proc)
    assert "backend in use  jax (picked by kapre" in proc.stdout
