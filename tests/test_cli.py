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
    for name in ("STFT power", "mel spectrogram", "log-frequency spectrogram", "MFCC"):
        assert name in proc.stdout
    assert "(1, 337, 1025, 1)" in proc.stdout  # 4 s at 22,050 Hz, n_fft 2048, hop 256, center=False
    image = matplotlib.image.imread(tmp_path / "demo.png")
    assert image.shape[:2] == (1400, 1100)  # figsize (11, 14) at 100 dpi
    assert float(np.var(image[..., :3])) > 0.01  # not blank
    # The spectrogram panels are dark (magma) where the clip is silent and bright on the chirp and harmonics.
    assert 0.05 < float(np.mean(image[..., :3])) < 0.95
    if "librosa not installed" not in proc.stdout:
        rows = [line for line in proc.stdout.splitlines() if line.startswith(("STFT", "mel", "MFCC"))]
        assert len(rows) == 3
        for row in rows:  # "... 0.0013 dB": kapre and librosa (power_to_db, mfcc) agree to within 0.05 (dB)
            assert float(row.split()[-2 if row.endswith("dB") else -1]) < 0.05, row

    # Beside the picture, the mel spectrogram back into sound (kapre invert's chain): the clip's rate and length,
    # mono, float, peak 0.9; its STFT magnitude close to the clip's, librosa's STFT with the demo's frames, at the
    # best gain (the peak was scaled). Measured 0.118 on TensorFlow, JAX and PyTorch; the random initial phase alone (0
    # iterations) gives 0.57.
    import librosa

    from kapre._demo_clip import DEMO_SAMPLE_RATE, demo_clip

    assert "wrote demo.wav: the mel spectrogram back into sound" in proc.stdout, proc.stdout
    info = sf.info(str(tmp_path / "demo.wav"))
    clip = demo_clip()
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (DEMO_SAMPLE_RATE, 1, clip.shape[0], "FLOAT")
    sound, _ = sf.read(tmp_path / "demo.wav", dtype="float32")
    assert abs(float(np.abs(sound).max()) - 0.9) < 1e-6
    want, got = (np.abs(librosa.stft(y.astype(np.float64), n_fft=2048, hop_length=256, center=False))
                 for y in (clip, sound))
    gain = float(np.sum(want * got) / np.sum(got * got))
    assert np.linalg.norm(gain * got - want) / np.linalg.norm(want) < 0.2


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
    import kapre

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
    model = kapre.MelSpectrogram(n_fft=512, hop_length=160, sample_rate=16000, n_mels=40, return_decibel=True,
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

    # A second run keeps every existing output and its "ok" row and does not touch it (in-process: the logic is the
    # same, and a subprocess costs seconds of imports).
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.npy")}
    before = (out / cli.MANIFEST_NAME).read_text()
    monkeypatch.chdir(tmp_path)
    assert cli.main(args) == 1
    second = capsys.readouterr()
    rows = _read_manifest(out)
    assert all(rows[path]["status"] == "ok" for path in good), rows
    assert all(rows[path]["status"] == "error" for path in expected_errors)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.npy")} == stamps
    assert f"0 written, {len(good)} kept" in second.out
    assert (out / cli.MANIFEST_NAME).read_text() == before


def _many_files(src, n_files: int) -> None:
    for i in range(n_files):
        sr = 16000 if i % 2 else 22050  # half of them resampled
        (src / f"part{i // 60}").mkdir(parents=True, exist_ok=True)
        sf.write(src / f"part{i // 60}" / f"f{i:03d}.wav", _noise(int(0.05 * sr) + 7 * i, 2, i), sr)


def _outputs(out) -> dict:
    """Every file of an output folder (bytes), but the front-end record (it names the folder's input root)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != cli.FRONTEND_NAME}


def _interrupt(args, out, sig, n_files: int) -> subprocess.CompletedProcess:
    """Start `kapre extract`, send ``sig`` once 10 outputs exist, return the finished process."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    # SIGINT as a terminal delivers it: a shell that starts the tests in the background (no job control) leaves
    # SIGINT ignored, and a child would inherit that and never see the Ctrl-C
    proc = subprocess.Popen([sys.executable, "-m", "kapre", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        if out.is_dir() and sum(1 for _ in out.rglob("*.npy")) >= 10:
            break
        time.sleep(0.002)
    still_running = proc.poll() is None
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert still_running, "the run finished before it could be interrupted; make the test's input larger"
    written = len(list(out.rglob("*.npy")))
    assert 10 <= written < n_files
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_between_an_output_and_its_manifest_row_waits_for_the_row(tmp_path, monkeypatch, sig):
    """The race CI once hit: Ctrl-C right after an output file was written but before its manifest row was added
    left a complete .npy that the manifest did not list. The signal now waits until the row is written."""
    import kapre_cli

    src, out = tmp_path / "few", tmp_path / "out"
    _many_files(src, 4)
    saved = []
    real_save = cli._batch.atomic_save

    def save_then_signal(path, array):
        real_save(path, array)
        saved.append(path)
        if len(saved) == 2:
            os.kill(os.getpid(), sig)  # delivered at once, between this output and its manifest row

    monkeypatch.setattr(cli._batch, "atomic_save", save_then_signal)
    # the handler in force before the run (default_int_handler; SIG_IGN where the shell started the tests in the
    # background): the run must leave it as it found it
    before = signal.getsignal(signal.SIGINT)
    code = kapre_cli.main(["extract", str(src), "-o", str(out), "--feature", "mel", "--sr", "16000", "--n-fft", "256",
                           "--n-mels", "40"])
    assert code == 130
    rows = cli.extract.Manifest.read(str(out / cli.MANIFEST_NAME))
    listed = sorted(row["output"] for row in rows.values() if row["status"] == "ok")
    assert listed == sorted(str(p.relative_to(out)) for p in out.rglob("*.npy")) and len(listed) == 2
    assert signal.getsignal(signal.SIGINT) is before  # the handlers are restored


def test_resume_puts_back_the_row_of_an_output_written_just_before_a_kill(tmp_path):
    """What a kill between an output's write and its manifest row leaves (a complete .npy, no row): the resumed run
    lists it from the file itself, without computing it again, and the manifest equals an uninterrupted run's."""
    src, out, reference = tmp_path / "few", tmp_path / "out", tmp_path / "reference"
    _many_files(src, 4)
    args = ["extract", str(src), "-o", str(out), "--feature", "mel", "--sr", "16000", "--n-fft", "256",
            "--n-mels", "40"]
    assert cli.main(args) == 0
    assert cli.main([*args[:3], str(reference), *args[4:]]) == 0
    manifest = out / cli.MANIFEST_NAME
    lines = manifest.read_text().splitlines()
    dropped = json.loads(lines[1])
    manifest.write_text("\n".join(lines[:1] + lines[2:]) + "\n")  # the row a kill would not have written
    output = out / dropped["output"]
    before = output.stat().st_mtime_ns
    assert cli.main(args) == 0
    assert output.stat().st_mtime_ns == before  # kept, not computed again
    rows = _read_manifest(out)
    assert rows[dropped["path"]] == dropped
    assert manifest.read_text() == (reference / cli.MANIFEST_NAME).read_text().replace(str(reference), str(out))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_extract_interrupted_then_resumed_equals_an_uninterrupted_run(tmp_path, monkeypatch, sig):
    """Ctrl-C (SIGINT), a scheduler's SIGTERM or a kill mid-run: every finished file is in the manifest (after a
    kill, all but the one whose row was being appended), nothing is half-written, and resuming gives the same bytes
    as a run never interrupted, manifest included."""
    if sig != signal.SIGINT and BACKEND != "jax":
        pytest.skip("the manifest logic is backend-independent: SIGTERM and SIGKILL run in the JAX session; SIGINT "
                    "(with the byte-identical resume) on every backend")
    src, out, reference = tmp_path / "many", tmp_path / "out", tmp_path / "reference"
    n_files = 300
    _many_files(src, n_files)
    args = ["extract", str(src), "-o", str(out), "--feature", "mel", "--db", "--sr", "16000", "--n-fft", "256",
            "--hop", "80", "--n-mels", "40"]  # mono (the default): stereo files are averaged
    proc = _interrupt(args, out, sig, n_files)
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.npy"))
    for path in written:  # no truncated .npy: every one loads completely
        assert np.load(out / path).shape[1:] == (40, 1)
    rows = cli.extract.Manifest.read(str(out / cli.MANIFEST_NAME))  # the last row of each input wins
    listed = sorted(row["output"] for row in rows.values() if row["status"] == "ok")
    if sig == signal.SIGKILL:
        # no handler can run: a kill between a file's (atomic) write and its row's append leaves that one complete
        # file without a row, which the resume below puts back in the manifest from the file (kapre.cli.engines'
        # design); every listed file exists, and at most the one in flight is unlisted
        assert set(listed) <= set(written) and len(set(written) - set(listed)) <= 1, _describe(proc)
    else:
        assert listed == written, _describe(proc)
    if sig != signal.SIGKILL:
        assert proc.returncode == 130, _describe(proc)
        assert "interrupted" in proc.stderr and "run the same command again to resume" in proc.stderr
        assert "Traceback" not in proc.stderr, _describe(proc)
        text = (out / cli.MANIFEST_NAME).read_text()  # rewritten on the way out: one row per file, sorted
        assert text.splitlines() == sorted(text.splitlines()) and len(text.splitlines()) == len(written)

    # Resume, then an uninterrupted run of the same command into another folder (in-process: the same code that
    # the subprocess ran, after other files were computed in this process: the bytes must not depend on that).
    monkeypatch.chdir(tmp_path)
    assert cli.main(args) == 0
    rows = _read_manifest(out)
    assert len(rows) == n_files and {row["status"] for row in rows.values()} == {"ok"}
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    if sig != signal.SIGINT:  # the byte-identical union is checked once per backend, with SIGINT
        return
    assert cli.main([*args[:3], str(reference), *args[4:]]) == 0
    resumed, uninterrupted = _outputs(out), _outputs(reference)
    assert sorted(resumed) == sorted(uninterrupted)
    different = [name for name in resumed if resumed[name] != uninterrupted[name]]
    assert not different, f"{len(different)} files differ, e.g. {different[:3]}"


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
    info = sf.info(str(tmp_path / "mine.wav"))  # the sound of its mel spectrogram, at the file's rate and length
    assert (info.samplerate, info.channels, info.frames) == (16000, 1, 16000)


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
        (["extract", "a.wav", "-o", "o", "--feature", "gammatone"], "invalid choice: 'gammatone'"),
        (["extract", "a.wav", "-o", "o", "--hop", "-3"], "expected a positive integer"),
        (["extract", "a.wav", "-o", "o", "--sr", "fast"], "expected a positive integer"),
        (["extract", "a.wav", "-o", "o", "--n-fft", "256", "--win-length", "512"], "at most --n-fft"),
        (["extract", "a.wav", "-o", "o", "--feature", "mfcc", "--n-mels", "10", "--n-mfcc", "20"], "--n-mfcc"),
        (["extract", "a.wav", "-o", "o", "--feature", "logfreq", "--sr", "8000"], "use --n-bins 83 or less"),
        (["extract", "a.wav", "-o", "o", "--mono", "--per-channel"], "not allowed with argument"),
        (["extract", "a.wav", "-o", "o", "--batch-size", "0"], "expected a positive integer"),
        (["extract", "a.wav", "-o", "o", "--n-fft", "0"], "usage: kapre extract"),
        (["extract", "a.wav", "-o", "o", "--config", "nope.json"], "--config: cannot read"),
        (["extract", "a.wav", "-o", "o", "--power", "3"], "expected 1 (magnitude) or 2 (power)"),
        (["extract", "a.wav", "-o", "o", "--top-db", "0"], "expected a number > 0"),
        (["extract", "a.wav", "-o", "o", "--ref", "loud"], "expected a number, got 'loud'"),
        (["extract", "a.wav", "-o", "o", "--amin", "-1"], "expected a number > 0"),
        (["extract", "a.wav", "-o", "o", "--pad-mode", "reflect"], "--pad-mode applies to centred frames"),
        (["extract", "a.wav", "-o", "o", "--window", "gauss"], "invalid choice: 'gauss'"),
        (["extract", "a.wav", "-o", "o", "--sr", "16000", "--fmax", "9000"], "above the Nyquist frequency"),
        (["extract", "a.wav", "-o", "o", "--fmin", "900", "--fmax", "800"], "--fmin (900 Hz) must be below --fmax"),
        (["extract", "a.wav", "-o", "o", "--feature", "stft", "--fmax", "800"], "--fmax applies to --feature mel"),
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
    # ApplyFilterbank('mel') > MagnitudeToDecibel); it gives the numbers of today's --feature mel --db with that
    # chain's magnitude decibels: --power 1 --amin 1e-5.
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
                     "--sr", "8000", "--n-fft", "256", "--n-mels", "32", "--power", "1", "--amin", "1e-5"]) == 0
    from_old, today = (np.load(tmp_path / name / "a.npy") for name in ("o5", "o6"))
    assert from_old.shape == today.shape == (90, 32, 1)
    np.testing.assert_allclose(from_old, today, atol=1e-3, rtol=0)

    # A kapre-frontend.json written from options by a pre-release (no "format"): read with the numbers it had
    # (--db was 10*log10 of the magnitude mel with amin 1e-5), and the command says so.
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / cli.FRONTEND_NAME).write_text(json.dumps(
        {"kapre_version": "1.0.0.dev0", "sample_rate": 8000, "mono": True, "options": {
            "feature": "mel", "n_fft": 256, "hop_length": None, "win_length": None, "n_mels": 32, "n_mfcc": 20,
            "n_bins": 84, "db": True}}))
    capsys.readouterr()
    assert cli.main(["extract", str(tmp_path / "a.wav"), "-o", str(tmp_path / "o7"), "--config",
                     str(tmp_path / "legacy" / cli.FRONTEND_NAME)]) == 0
    assert "written by a kapre 1.0 pre-release: its numbers are kept" in capsys.readouterr().err
    np.testing.assert_array_equal(np.load(tmp_path / "o7" / "a.npy"), today)
    record = json.loads((tmp_path / "o7" / cli.FRONTEND_NAME).read_text())
    assert record["format"] == 2 and record["options"]["power"] == 1.0 and record["options"]["amin"] == 1e-5
    # The same command line into the legacy folder means today's numbers: refused, saying why.
    with pytest.raises(SystemExit):
        cli.main(["extract", str(tmp_path / "a.wav"), "-o", str(tmp_path / "legacy"), "--feature", "mel", "--db",
                  "--sr", "8000", "--n-fft", "256", "--n-mels", "32"])
    assert "another front-end" in capsys.readouterr().err

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


# ------------------------------------------------------------------------------------------------------------------
# The command as a user meets it: several commands per subprocess (each subprocess pays the backend's import once)
# ------------------------------------------------------------------------------------------------------------------

_RUNNER = """
import json, os, sys
import kapre_cli
if sys.argv[2]:
    os.umask(int(sys.argv[2], 8))
for argv in json.loads(sys.argv[1]):
    print("@@@", flush=True)
    print("@@@", file=sys.stderr, flush=True)
    try:
        code = kapre_cli.main(argv)
    except SystemExit as exit:
        code = exit.code
    print("@@@ exit", code, flush=True)
"""


def run_commands(commands: list[list[str]], cwd, umask: int | None = None) -> list[tuple[int, str, str]]:
    """Run ``kapre`` commands one after another in one fresh process, through the command's entry point
    (``kapre_cli.main``); ``[(exit status, stdout, stderr)]``."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps(commands), "" if umask is None else oct(umask)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, _describe(proc)
    outs, errs = proc.stdout.split("@@@\n")[1:], proc.stderr.split("@@@\n")[1:]
    assert len(outs) == len(errs) == len(commands), _describe(proc)
    results = []
    for out, err in zip(outs, errs, strict=True):
        body, _, code = out.rpartition("@@@ exit ")
        results.append((int(code.strip()), body, err))
    return results


def test_version_and_help_answer_without_importing_a_backend():
    """`kapre --version` and every `--help` parse with the standard library only (no Keras, no backend)."""
    from importlib.metadata import entry_points

    assert [e.value for e in entry_points(group="console_scripts") if e.name == "kapre"] == ["kapre_cli:main"]
    script = """
import sys, time
import kapre_cli
for argv in (["--version"], ["--help"], ["demo", "--help"], ["extract", "--help"], ["show", "--help"],
             ["info", "--help"], ["extract", "a.wav", "-o", "o", "--power", "3"]):
    start = time.perf_counter()
    try:
        kapre_cli.main(argv)
    except SystemExit:
        pass
    print("seconds", argv[0], time.perf_counter() - start, file=sys.stderr)
loaded = sorted(m for m in ("kapre", "keras", "numpy", "tensorflow", "jax", "torch") if m in sys.modules)
print("LOADED", loaded)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, _describe(proc)
    assert "LOADED []" in proc.stdout, _describe(proc)
    assert proc.stdout.startswith("kapre 1."), proc.stdout
    assert "--top-db" in proc.stdout and "--pad-mode" in proc.stdout and "--root" in proc.stdout


def _librosa_db(power, top_db=80.0, amin=1e-10, ref=1.0):
    import librosa

    return librosa.power_to_db(power, ref=np.max if ref == "max" else ref, amin=amin, top_db=top_db).T


# (options, reference(audio64 mono) -> (frames, bins), tolerance): librosa in float64 against the command's float32
# layers. Mel bands sum many bins, so 1e-3 dB holds down to the 80 dB floor; a single STFT bin 45-55 dB below the
# maximum carries float32 FFT rounding of a few 1e-3 dB (two correct float32 STFTs differ that much there), so for
# STFT decibels 1e-3 dB applies within 40 dB of the maximum and 1e-2 dB below.
STFT_DB_FAR_BELOW = 1e-2
def _options_cases():
    import librosa

    def stft(y, **kw):
        return np.abs(librosa.stft(y, n_fft=512, hop_length=160, center=False, **kw))

    def mel(y, power=2.0, **kw):
        return librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=160, n_mels=40, power=power, **kw)

    return {
        "stft-db": (["--feature", "stft", "--db"], lambda y: _librosa_db(stft(y) ** 2), "stft-db"),
        "stft-magnitude": (["--feature", "stft", "--power", "1"], lambda y: stft(y).T, "relative"),
        "mel-power1-top60-amin-refmax": (
            ["--feature", "mel", "--db", "--power", "1", "--top-db", "60", "--amin", "1e-5", "--ref", "max"],
            lambda y: _librosa_db(mel(y, power=1.0, center=False), top_db=60.0, amin=1e-5, ref="max"), 1e-3),
        "mel-center-reflect-fmin-fmax-hamming-win400": (
            ["--feature", "mel", "--db", "--center", "--pad-mode", "reflect", "--fmin", "50", "--fmax", "7000",
             "--window", "hamming", "--win-length", "400"],
            lambda y: _librosa_db(mel(y, center=True, pad_mode="reflect", fmin=50.0, fmax=7000.0, window="hamming",
                                      win_length=400)), 1e-3),
        "mel-center-constant-top-db-none": (
            ["--feature", "mel", "--db", "--center", "--top-db", "none"],
            lambda y: _librosa_db(mel(y, center=True, pad_mode="constant"), top_db=None), 1e-3),
        # MFCCs: an orthonormal DCT of 40 dB values, each within 1e-3 dB: at most 1e-3 * sqrt(40) apart.
        "mfcc": (["--feature", "mfcc", "--n-mfcc", "13"],
                 lambda y: librosa.feature.mfcc(y=y, sr=16000, n_fft=512, hop_length=160, n_mels=40, n_mfcc=13,
                                                center=False).T, 1e-3 * np.sqrt(40)),
    }


def test_feature_options_equal_librosa(tmp_path):
    """--db is librosa's power_to_db of the power (mel) spectrogram, and --power, --top-db, --amin, --ref, --center,
    --pad-mode, --fmin, --fmax, --window, --win-length and the MFCC mean what librosa means by them."""
    from kapre.audio import load_audio

    sf.write(tmp_path / "mono16k.wav", _noise(16000, 1, 3), 16000)
    sf.write(tmp_path / "stereo22k.flac", _noise(20000, 2, 4), 22050)
    base = ["--sr", "16000", "--n-fft", "512", "--hop", "160", "--n-mels", "40"]
    cases = _options_cases()
    commands = [["extract", "mono16k.wav", "stereo22k.flac", "-o", name, *base, *options]
                for name, (options, _, _) in cases.items()]
    results = run_commands(commands, cwd=tmp_path)
    for (name, (options, reference, atol)), (code, stdout, stderr) in zip(cases.items(), results, strict=True):
        assert code == 0, (name, stdout, stderr)
        record = json.loads((tmp_path / name / cli.FRONTEND_NAME).read_text())
        assert record["format"] == 2 and record["options"]["feature"] == options[1]
        for file in ("mono16k", "stereo22k"):
            audio, _ = load_audio(str(tmp_path / (file + (".wav" if file == "mono16k" else ".flac"))),
                                  sample_rate=16000, mono=True)
            expected = reference(audio[:, 0].astype(np.float64))
            features = np.load(tmp_path / name / f"{file}.npy")[:, :, 0]
            assert features.shape == expected.shape, (name, features.shape, expected.shape)
            if atol == "relative":
                np.testing.assert_allclose(features, expected, atol=1e-5 * expected.max(), rtol=0, err_msg=name)
            elif atol == "stft-db":
                near = expected > expected.max() - 40.0
                assert near.mean() > 0.2  # the comparison covers a good part of the bins
                np.testing.assert_allclose(features[near], expected[near], atol=1e-3, rtol=0, err_msg=name)
                np.testing.assert_allclose(features, expected, atol=STFT_DB_FAR_BELOW, rtol=0, err_msg=name)
            else:
                np.testing.assert_allclose(features, expected, atol=atol, rtol=0, err_msg=f"{name} {file}")


@pytest.mark.skipif(BACKEND != "jax", reason="paths, permissions, the manifest merge and warnings are backend-"
                                             "independent: run once, in the JAX session")
def test_output_paths_permissions_merge_and_warnings(tmp_path):
    data = tmp_path / "data"
    for lang, n in (("en", 4), ("fr", 3)):
        (data / lang).mkdir(parents=True)
        for i in range(n):
            sf.write(data / lang / f"s{i}.wav", _noise(8000 + 500 * i, 1, 10 * n + i), 16000)
    # A truncated wav: the header declares 5.68 s at 8 kHz, 0.68 s of samples are there (the rest was cut off).
    full = data / "fr" / "cut.wav"
    sf.write(full, _noise(int(5.68 * 8000), 1, 99), 8000, subtype="PCM_16")
    full.write_bytes(full.read_bytes()[: 44 + 2 * int(0.68 * 8000)])
    (tmp_path / "afile").write_text("in the way")
    base = ["--sr", "16000", "--n-fft", "512", "--hop", "160", "--n-mels", "40", "--db"]
    results = run_commands([
        ["extract", "data", "-o", "features", *base],
        ["extract", "data/fr", "-o", "features", "--config", "features/kapre-frontend.json"],
        ["extract", "data/en/s0.wav", "-o", "afile/sub", *base],
        ["show", "data/en/s1.wav", "-o", "new/dir/fig.png", *base],
        ["show", "data/en/s1.wav", "-o", "afile/fig.png", *base],
        ["show", "data/en/s1.wav", "-o", "new", *base],
        ["demo", "-o", "afile/demo.png"],
    ], cwd=tmp_path, umask=0o027)
    (first, _, first_err), (second, second_out, _), bad_extract, show_new, show_bad, show_dir, demo_bad = results
    features = tmp_path / "features"
    assert first == 0, first_err

    # Files are created with the user's umask (027: rw-r-----), folders too.
    for path in [features / cli.MANIFEST_NAME, features / cli.FRONTEND_NAME, *features.rglob("*.npy"),
                 tmp_path / "new" / "dir" / "fig.png"]:
        assert oct(path.stat().st_mode & 0o777) == oct(0o640), path
    assert oct((features / "en").stat().st_mode & 0o777) == oct(0o750)

    # The truncated file is extracted (what could be read) and reported, in the manifest and on stderr.
    rows = _read_manifest(features)
    assert rows["fr/cut.wav"]["status"] == "ok"
    assert rows["fr/cut.wav"]["warning"] == "truncated: the header declares 5.68 s of audio, the file holds 0.68 s"
    assert "fr/cut.wav: warning: truncated" in first_err
    assert all(row["warning"] is None for path, row in rows.items() if path != "fr/cut.wav")

    # A subfolder of the first run's input, into the same output: the same relative paths, every row kept.
    assert second == 0, second_out
    assert sorted(str(p.relative_to(features)) for p in features.rglob("*.npy")) == sorted(
        [f"en/s{i}.npy" for i in range(4)] + [f"fr/s{i}.npy" for i in range(3)] + ["fr/cut.npy"])
    assert "0 written, 4 kept" in second_out
    assert _read_manifest(features) == rows
    assert json.loads((features / cli.FRONTEND_NAME).read_text())["input_root"] == str(data)

    # Bad output paths: one line, exit status 2, nothing computed; `show` creates its folder as `extract` does.
    for code, out, err in (bad_extract, show_bad, show_dir, demo_bad):
        assert code == 2 and "Traceback" not in err, err
        assert out.strip() == "", out  # nothing computed: no summary line
    assert "-o afile/sub: a file is in the way: afile is a file, not a folder" in bad_extract[2]
    assert "-o afile/fig.png: a file is in the way: afile is a file, not a folder" in show_bad[2]
    assert "-o new: is a folder" in show_dir[2]
    assert "-o afile/demo.png: a file is in the way: afile is a file, not a folder" in demo_bad[2]
    assert show_new[0] == 0 and (tmp_path / "new" / "dir" / "fig.png").stat().st_size > 1000, show_new


def test_a_pre_release_output_folder_is_continued_with_its_numbers_and_its_rows(tmp_path, capsys, monkeypatch):
    """A folder written by a kapre 1.0 pre-release (record without "format", manifest paths as given on its command
    line, "skipped" rows): `--config` continues it with its own numbers, and every row is kept, re-keyed, "ok"."""
    import kapre

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    for i in range(3):
        sf.write(tmp_path / "data" / f"c{i}.wav", _noise(6000 + 1000 * i, 1, i), 8000)
    out = tmp_path / "old"
    out.mkdir()
    legacy_options = {"feature": "mel", "n_fft": 256, "hop_length": None, "win_length": None, "n_mels": 32,
                      "n_mfcc": 20, "n_bins": 84, "db": True}
    (out / cli.FRONTEND_NAME).write_text(json.dumps({"kapre_version": "1.0.0.dev0", "sample_rate": 8000, "mono": True,
                                                     "options": legacy_options}))
    layer = kapre.MelSpectrogram(n_fft=256, sample_rate=8000, n_mels=32, power=1.0, db_amin=1e-5,
                                 input_data_format="channels_last", output_data_format="channels_last")
    features = _reference(str(tmp_path / "data" / "c0.wav"), 8000, mono=True, model=layer)
    np.save(out / "c0.npy", features)
    rows = [{"path": "data/c0.wav", "output": "c0.npy", "sample_rate": 8000, "duration": 0.75, "channels": 1,
             "shape": list(features.shape), "status": "skipped", "error": None},
            {"path": "data/c1.wav", "output": None, "sample_rate": 8000, "duration": 0.875, "channels": 1,
             "shape": None, "status": "error", "error": "cannot write output: disk full"}]
    (out / cli.MANIFEST_NAME).write_text("".join(json.dumps(row) + "\n" for row in rows))

    assert cli.main(["extract", "data", "-o", "old", "--config", "old/kapre-frontend.json"]) == 0
    err = capsys.readouterr().err
    assert "written by a kapre 1.0 pre-release: its numbers are kept" in err
    rows = _read_manifest(out)
    assert sorted(rows) == ["c0.wav", "c1.wav", "c2.wav"]  # re-keyed below the input root, one row each
    assert {row["status"] for row in rows.values()} == {"ok"}
    assert rows["c0.wav"]["shape"] == list(features.shape) and rows["c0.wav"]["warning"] is None
    np.testing.assert_array_equal(np.load(out / "c0.npy"), features)  # kept, not recomputed
    for name in ("c1", "c2"):  # computed with the pre-release's numbers (magnitude decibels, amin 1e-5)
        expected = _reference(str(tmp_path / "data" / f"{name}.wav"), 8000, mono=True, model=layer)
        np.testing.assert_allclose(np.load(out / f"{name}.npy"), expected, atol=1e-4, rtol=0)
