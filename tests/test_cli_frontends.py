"""``kapre extract --frontend NAME`` and ``kapre show --frontend NAME``: the model and library front-ends of
kapre.frontends through the command (docs/cli.md, "Model and library front-ends").

The saved features must equal the builder's layer applied to the decoded audio (read with soundfile, mixed to mono,
resampled with soxr as the command does). Two subprocesses (``extract`` and ``show``, each importing a backend); the
rest runs in-process through ``kapre.cli.main``, which is what the subprocesses run too; the option errors are
checked before kapre is imported (``kapre_cli``, standard library only).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import soxr

import kapre.frontends as frontends
from kapre import cli

# The command runs each file alone (--batch-size 1) or in zero-padded batches cut to each file's frames; either way
# the numbers are the layer's, up to float32 rounding of a different batch shape: log features (Whisper's scaled
# log10, Kaldi's natural log, dB) agree to within 1e-4 absolute (a 1e-5 relative error of a power is 4e-6 dB).
ATOL_LOG = 1e-4


def run_kapre(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "kapre", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def _describe(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"


def _clip(seconds: float, sr: int, channels: int, seed: int) -> np.ndarray:
    t = np.arange(int(seconds * sr))[:, None] / sr
    rng = np.random.default_rng(seed)
    tone = 0.3 * np.sin(2 * np.pi * (330.0 + 110 * seed) * t * (1 + np.arange(channels)))
    return (tone + 0.02 * rng.standard_normal(tone.shape)).astype(np.float32)


def _decoded(path, sr: int, mono: bool = True) -> np.ndarray:
    """The file as the command feeds it: soundfile, the channels averaged, soxr 'HQ' to ``sr``; ``(samples,
    channels)``."""
    audio, file_sr = sf.read(path, dtype="float32", always_2d=True)
    if mono:
        audio = audio.mean(axis=1, keepdims=True, dtype=np.float32)
    if file_sr != sr:
        audio = soxr.resample(audio, file_sr, sr, quality="HQ").astype(np.float32).reshape(-1, audio.shape[1])
    return audio


def _layer_output(layer, audio: np.ndarray, mono: bool = True) -> np.ndarray:
    """The layer on one clip: ``(batch, samples)`` for mono, ``(batch, samples, channels)`` otherwise."""
    import keras

    x = audio[None, :, 0] if mono else audio[None]
    return keras.ops.convert_to_numpy(layer(x))[0]


def _manifest(out) -> dict:
    with open(out / cli.MANIFEST_NAME) as f:
        return {row["path"]: row for row in map(json.loads, f)}


# ------------------------------------------------------------------------------------------------------------------


def test_help_lists_the_frontends_and_conflicts_fail_before_kapre_is_imported(tmp_path):
    """`--help` names every front-end; an option that does not combine with --frontend is one line of error (exit
    status 2) from the standard-library parser: no backend imported, no output folder created."""
    script = """
import json, sys
import kapre_cli
results = []
for argv in json.loads(sys.argv[1]):
    try:
        kapre_cli.main(argv)
    except SystemExit as exit:
        results.append(exit.code)
    print("@@@", flush=True)
    print("@@@", file=sys.stderr, flush=True)
print("LOADED", sorted(m for m in ("kapre", "keras", "numpy", "tensorflow", "jax", "torch") if m in sys.modules))
print("CODES", json.dumps(results))
"""
    cases = [
        (["extract", "--help"], None),
        (["show", "--help"], None),
        (["extract", "a.wav", "-o", "out", "--frontend", "whisper", "--n-fft", "512"],
         "--n-fft does not apply to --frontend whisper"),
        (["extract", "a.wav", "-o", "out", "--frontend", "whisper", "--hop", "100"],
         "--hop does not apply to --frontend whisper"),
        (["extract", "a.wav", "-o", "out", "--frontend", "whisper", "--sr", "22050"],
         "--frontend whisper works at 16000 Hz"),
        (["extract", "a.wav", "-o", "out", "--frontend", "yamnet", "--n-mels", "40"],
         "--n-mels does not apply to --frontend yamnet"),
        (["extract", "a.wav", "-o", "out", "--frontend", "kaldi_fbank", "--db"], "--db does not apply"),
        (["extract", "a.wav", "-o", "out", "--frontend", "panns", "--feature", "mel"], "both choose the front-end"),
        (["extract", "a.wav", "-o", "out", "--frontend", "panns", "--config", "f.json"], "both choose the front-end"),
        (["extract", "a.wav", "-o", "out", "--frontend", "torchaudio_mfcc", "--n-mels", "40", "--frontend-arg",
          'melkwargs={"n_mels": 64}'], "--n-mels and --frontend-arg melkwargs (its 'n_mels') set the same"),
        (["extract", "a.wav", "-o", "out", "--frontend-arg", "n_mels=128"], "add --frontend NAME"),
        (["extract", "a.wav", "-o", "out", "--frontend", "whisper", "--frontend-arg", "n_mels"], "NAME=VALUE"),
        (["show", "a.wav", "-o", "f.png", "--frontend", "clap", "--window", "hamming"], "--window does not apply"),
        (["extract", "a.wav", "-o", "out", "--frontend", "wav2vec"], "invalid choice: 'wav2vec'"),
    ]
    proc = subprocess.run([sys.executable, "-c", script, json.dumps([argv for argv, _ in cases])], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, _describe(proc)
    assert "LOADED []" in proc.stdout, _describe(proc)
    assert json.loads(proc.stdout.split("CODES ")[1]) == [0, 0] + [2] * (len(cases) - 2)
    outs, errs = proc.stdout.split("@@@\n"), proc.stderr.split("@@@\n")
    for help_text in outs[:2]:
        assert "--frontend NAME" in help_text and "--frontend-arg NAME=VALUE" in help_text
        flat = " ".join(help_text.split())
        for name in ("whisper (16 kHz)", "kaldi_fbank", "kaldi_mfcc", "ast", "beats", "panns (32 kHz)",
                     "clap (48 kHz)", "yamnet", "vggish", "torchaudio_mel", "torchaudio_mfcc",
                     "librosa_mel (22.05 kHz)", "librosa_mfcc"):
            assert name in flat, name
    for (argv, words), err in zip(cases[2:], errs[2:], strict=False):
        lines = [line for line in err.splitlines() if line.startswith("kapre ")]
        assert err.startswith("usage: kapre") and len(lines) == 1 and words in lines[0], (argv, err)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--frontend", "whisper", "--frontend-arg", "nmels=80"], "whisper_log_mel has no argument 'nmels'"),
        (["--frontend", "whisper", "--frontend-arg", "floor=everywhere"], "--frontend whisper: floor must be"),
        (["--frontend", "whisper", "--n-mels", "64"], "--frontend whisper: n_mels must be one of [80, 128]"),
        (["--frontend", "librosa_mel", "--sr", "8000", "--fmax", "6000"], "--frontend librosa_mel: "),
        (["--frontend", "kaldi_mfcc", "--frontend-arg", "sample_frequency=16000.5"], "must be a whole number of Hz"),
    ],
)
def test_a_frontend_the_builder_refuses_is_one_line_before_any_work(tmp_path, capsys, argv, words):
    with pytest.raises(SystemExit) as info:
        cli.main(["extract", str(tmp_path / "a.wav"), "-o", str(tmp_path / "out"), *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("kapre ")]
    assert len(lines) == 1 and words in lines[0], err
    assert not (tmp_path / "out").exists()


def test_extract_whisper_equals_the_layer(tmp_path):
    """The command's own entry point: a 44.1 kHz stereo WAV, mixed and resampled to 16 kHz, saved as Whisper's
    (80, frames), recorded in kapre-frontend.json."""
    sf.write(tmp_path / "speech.wav", _clip(1.3, 44100, 2, 0), 44100)
    proc = run_kapre("extract", "speech.wav", "-o", "feats", "--frontend", "whisper", cwd=tmp_path)
    assert proc.returncode == 0, _describe(proc)
    assert "(features, frames)" in proc.stdout, proc.stdout
    saved = np.load(tmp_path / "feats" / "speech.npy")
    expected = _layer_output(frontends.whisper_log_mel(), _decoded(tmp_path / "speech.wav", 16000))
    assert saved.shape == expected.shape == (80, int(1.3 * 16000) // 160)
    np.testing.assert_allclose(saved, expected, atol=ATOL_LOG, rtol=0)
    record = json.loads((tmp_path / "feats" / cli.FRONTEND_NAME).read_text())
    assert record["sample_rate"] == 16000 and record["mono"] is True
    assert record["frontend"]["name"] == "whisper"
    assert record["frontend"]["builder"] == "kapre.frontends.whisper_log_mel"
    assert record["frontend"]["axes"] == ["features", "frames"] and record["frontend"]["layout"] == "features_first"
    assert record["frontend"]["arguments"]["n_mels"] == 80 and record["frontend"]["arguments"]["floor"] == "clip"
    row = _manifest(tmp_path / "feats")["speech.wav"]
    assert row["status"] == "ok" and row["shape"] == [80, 130] and row["sample_rate"] == 44100


@pytest.mark.parametrize(
    "name, argv, builder, kwargs, rate, mono",
    [
        # Batched (frame_locality 'waveform'): three files of different lengths in one zero-padded batch.
        ("kaldi_fbank", ["--n-mels", "40", "--batch-size", "3"], frontends.kaldi_fbank, {"num_mel_bins": 40},
         16000, True),
        # Per clip (reflect padding at the ends): resampled up from 22.05 and 16 kHz to PANNs' 32 kHz.
        ("panns", ["--batch-size", "3"], frontends.panns_log_mel, {}, 32000, True),
        # The options that map to librosa's arguments, a builder argument, two channels kept, batched.
        ("librosa_mel", ["--sr", "16000", "--n-fft", "512", "--hop", "160", "--n-mels", "40", "--frontend-arg",
                         "db=true", "--per-channel", "--batch-size", "3"],
         frontends.librosa_melspectrogram, {"sr": 16000, "n_fft": 512, "hop_length": 160, "n_mels": 40, "db": True},
         16000, False),
    ],
    ids=["kaldi_fbank", "panns", "librosa_mel"],
)
def test_extract_equals_the_layer_on_each_file(tmp_path, name, argv, builder, kwargs, rate, mono):
    files = {"a.wav": (1.1, 16000, 2), "b.flac": (0.45, 22050, 2), "c.wav": (0.8, 16000, 2)}
    for i, (file, (seconds, sr, channels)) in enumerate(files.items()):
        sf.write(tmp_path / file, _clip(seconds, sr, channels, i), sr)
    out = tmp_path / "feats"
    code = cli.main(["extract", *(str(tmp_path / f) for f in files), "-o", str(out), "--frontend", name, *argv])
    assert code == 0
    layer = builder(**kwargs)
    rows = _manifest(out)
    for file in files:
        saved = np.load(out / (os.path.splitext(file)[0] + ".npy"))
        expected = _layer_output(layer, _decoded(tmp_path / file, rate, mono), mono)
        assert saved.shape == expected.shape and rows[file]["shape"] == list(saved.shape), file
        np.testing.assert_allclose(saved, expected, atol=ATOL_LOG, rtol=0, err_msg=file)
    record = json.loads((out / cli.FRONTEND_NAME).read_text())
    assert record["sample_rate"] == rate and record["frontend"]["name"] == name
    assert record["frontend"]["axes"] == (["frames", "features"] if mono else ["features", "frames", "channels"])


def test_resume_config_record_and_another_frontend_refused(tmp_path, capsys):
    """A second run keeps the outputs; the kapre-frontend.json given back with --config continues the folder with the
    same front-end (a command-line option on top of it, into another folder, changes only that argument); another
    front-end, or other arguments, into the same folder is refused."""
    sf.write(tmp_path / "a.wav", _clip(0.5, 16000, 1, 1), 16000)
    sf.write(tmp_path / "b.wav", _clip(0.7, 16000, 1, 2), 16000)
    out, a, b = tmp_path / "feats", str(tmp_path / "a.wav"), str(tmp_path / "b.wav")
    argv = ["--frontend", "kaldi_mfcc", "--n-mfcc", "20", "--n-mels", "30", "--frontend-arg", "layout=features_first"]
    assert cli.main(["extract", a, "-o", str(out), *argv]) == 0
    first = np.load(out / "a.npy")
    assert first.shape == (20, 48)  # (num_ceps, frames): 1 + (8000 - 400) // 160
    assert cli.main(["extract", a, "-o", str(out), *argv]) == 0
    assert "0 written, 1 kept" in capsys.readouterr().out
    record = str(out / cli.FRONTEND_NAME)
    assert cli.main(["extract", b, "-o", str(out), "--config", record]) == 0
    np.testing.assert_allclose(np.load(out / "b.npy"), _layer_output(frontends.kaldi_mfcc(
        num_ceps=20, num_mel_bins=30, layout="features_first"), _decoded(tmp_path / "b.wav", 16000)), atol=ATOL_LOG)
    assert cli.main(["extract", a, "-o", str(tmp_path / "more"), "--config", record, "--n-mfcc", "13"]) == 0
    assert np.load(tmp_path / "more" / "a.npy").shape == (13, 48)
    np.testing.assert_allclose(np.load(tmp_path / "more" / "a.npy"), first[:13], atol=ATOL_LOG)
    capsys.readouterr()
    for other in (["--frontend", "kaldi_fbank"], [*argv, "--frontend-arg", "dither=0.5"], ["--n-mfcc", "13"]):
        with pytest.raises(SystemExit) as info:
            cli.main(["extract", a, "-o", str(out), *other])
        assert info.value.code == 2
        assert "holds features made with another front-end" in capsys.readouterr().err, other


def test_show_draws_the_frontend(tmp_path):
    import matplotlib.image

    sf.write(tmp_path / "clip.wav", _clip(1.0, 22050, 1, 3), 22050)
    proc = run_kapre("show", "--frontend", "whisper", "clip.wav", "-o", "fig.png", cwd=tmp_path)
    assert proc.returncode == 0, _describe(proc)
    assert "shape (80, 100)" in proc.stdout and "(features, frames)" in proc.stdout, proc.stdout
    image = matplotlib.image.imread(tmp_path / "fig.png")
    assert image.shape[:2] == (520, 1000) and float(np.var(image[..., :3])) > 0.01
