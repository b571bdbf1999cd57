"""`kapre extract --feature mel --db` over a corpus of speech-like files (tests/speech_corpus.py), run as a subprocess
on the active backend.

What ``--db`` must mean: exactly ``kapre.MelSpectrogram(..., return_decibel=True)`` with its defaults (power mel,
10*log10, amin 1e-10, ref 1.0, floored 80 dB below each file's maximum), i.e. librosa's
``power_to_db(melspectrogram(..., center=False))``, on the file as ``kapre.audio.load_audio(path, 16000, mono=True)``
reads it (channels averaged, then soxr 'HQ'). Each file is checked against both, and the largest deviation of every
file is printed when one fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import BACKEND
from tests.speech_corpus import make_speech_corpus

SR, N_FFT, HOP, N_MELS = 16000, 512, 160, 64
TOP_DB = 80.0
CLI_ARGS = ("--feature", "mel", "--sr", str(SR), "--n-fft", str(N_FFT), "--hop", str(HOP), "--n-mels", str(N_MELS),
            "--db")

# The command and the layer called here run the same float32 computation on the same samples; at most the batch can
# differ (a command that zero-pads files of similar length into one batch and trims the frames changes the matmul
# blocking, and so the last bits). Measured: 0 when each file runs alone, at most ~1e-5 dB batched, on every backend.
KAPRE_TOL_DB = 1e-3
# librosa runs in float64, kapre in float32. The float32 rounding error of a frame's DFT is relative to the frame's
# energy, so in dB it grows (x10 per 20 dB) as a bin lies further below its frame's energy. Within NEAR_FLOOR_DB of
# the file's maximum that stays far below LIBROSA_TOL_DB (measured: at most ~1e-4 dB). The bins 60-80 dB below the
# maximum, just above the floor, can lie ~100 dB below their (loud, voiced) frame's energy: there float32 itself
# gives ~3e-4 dB (scipy's float32 FFT; TensorFlow and JAX alike) and PyTorch's eager path (a float32 matmul DFT)
# measured up to 1.25e-3 dB on this corpus, hence LIBROSA_TOL_NEAR_FLOOR_DB. Both are far below what any other
# front-end would give (magnitude instead of power, another window, mel scale, amin or floor: tenths of a dB or more).
LIBROSA_TOL_DB = 1e-3
LIBROSA_TOL_NEAR_FLOOR_DB = 5e-3
NEAR_FLOOR_DB = 60.0
# The corpus must exercise the decibel conversion: per file, a range of at least MIN_SPAN_DB, values on the floor
# (80 dB below the maximum) and values off it, some of these within 20 dB of the floor.
MIN_SPAN_DB = 60.0


def _describe(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[Path]]:
    folder = tmp_path_factory.mktemp("speech") / "corpus"
    return folder, make_speech_corpus(folder)


@pytest.fixture(scope="module")
def references(corpus) -> dict[str, dict]:
    """Per file (relative path): the audio as the command reads it, kapre.MelSpectrogram's dB of it (on this
    backend) and librosa's (float64), both ``(frames, mels, 1)``."""
    import keras
    import librosa

    import kapre
    from kapre.audio import load_audio

    layer = kapre.MelSpectrogram(n_fft=N_FFT, hop_length=HOP, sample_rate=SR, n_mels=N_MELS, return_decibel=True,
                                 input_data_format="channels_last", output_data_format="channels_last")
    folder, paths = corpus
    refs = {}
    for path in paths:
        audio, sr = load_audio(str(path), sample_rate=SR, mono=True)
        assert sr == SR and audio.ndim == 2 and audio.shape[1] == 1 and audio.dtype == np.float32
        mel = librosa.feature.melspectrogram(y=audio[:, 0].astype(np.float64), sr=SR, n_fft=N_FFT, hop_length=HOP,
                                             n_mels=N_MELS, center=False)
        refs[path.relative_to(folder).as_posix()] = {
            "audio": audio,
            "kapre": np.asarray(keras.ops.convert_to_numpy(layer(audio[None])))[0],
            "librosa": librosa.power_to_db(mel).T[:, :, None],
        }
    return refs


@pytest.fixture(scope="module")
def extracted(corpus, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    folder, _ = corpus
    out = tmp_path_factory.mktemp("speech-features") / "features"
    env = dict(os.environ, KERAS_BACKEND=BACKEND, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, "-m", "kapre", "extract", str(folder), "-o", str(out), *CLI_ARGS],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, _describe(proc)
    return out, proc


def _output_of(out: Path, relative: str) -> Path:
    return out / (relative.rsplit(".", 1)[0] + ".npy")  # data/a/b.wav -> OUT/a/b.npy


def _librosa_tolerance(below: np.ndarray) -> np.ndarray:
    return np.where(below <= NEAR_FLOOR_DB, LIBROSA_TOL_DB, LIBROSA_TOL_NEAR_FLOOR_DB)


def _deviation_table(out: Path, refs: dict, key: str, tolerance) -> tuple[list[str], list[str]]:
    """Lines ``file: max |dB difference| (where)`` for every file, and the names of those beyond the tolerance.

    ``tolerance(below)``: the allowed |difference| in dB of bins ``below`` dB under the file's maximum.
    """
    lines, failed = [], []
    for name, ref in refs.items():
        got, want = np.load(_output_of(out, name)), ref[key]
        if got.shape != want.shape:
            lines.append(f"  {name:28s} shape {got.shape} != {want.shape}")
            failed.append(name)
            continue
        diff = np.abs(got.astype(np.float64) - want)
        below = want.max() - want
        worst = np.unravel_index(np.argmax(diff), diff.shape)
        within = diff[below <= NEAR_FLOOR_DB]
        lines.append(f"  {name:28s} max |diff| {diff.max():.2e} dB at frame {worst[0]}, mel {worst[1]} "
                     f"({below[worst]:.1f} dB below the file's maximum); within {NEAR_FLOOR_DB:.0f} dB of the maximum "
                     f"{within.max() if within.size else 0.0:.2e} dB")
        if not np.all(diff <= tolerance(below)):
            failed.append(name)
    return lines, failed


def test_corpus_spans_the_db_floor(references):
    """The comparisons below can fail: every file's reference dB values cover the 80 dB floor from both sides."""
    problems = []
    for name, ref in references.items():
        db = ref["librosa"]
        top = db.max()
        floored = db <= top - TOP_DB + 1e-9
        near = ~floored & (db < top - TOP_DB + 20.0)
        summary = (f"{name}: span {top - db.min():.1f} dB, {floored.mean():.0%} on the floor, "
                   f"{near.mean():.0%} within 20 dB above it")
        if top - db.min() < MIN_SPAN_DB or not floored.any() or floored.all() or not near.any():
            problems.append(summary)
    assert not problems, "files that do not exercise the decibel floor:\n" + "\n".join(problems)


def test_extract_writes_every_file_with_its_shape(corpus, references, extracted):
    folder, paths = corpus
    out, proc = extracted
    with open(out / "manifest.jsonl") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    assert len(rows) == len(paths), rows
    by_output = {row["output"]: row for row in rows}
    assert all(row["status"] == "ok" and row["error"] is None for row in rows), rows
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npy"))
    expected = sorted(_output_of(out, name).relative_to(out).as_posix() for name in references)
    assert written == expected
    assert sorted(by_output) == expected
    for name, ref in references.items():
        output = _output_of(out, name)
        features = np.load(output)
        frames = 1 + (len(ref["audio"]) - N_FFT) // HOP  # center=False
        assert features.dtype == np.float32, name
        assert features.shape == (frames, N_MELS, 1), name
        row = by_output[output.relative_to(out).as_posix()]
        assert row["shape"] == [frames, N_MELS, 1], row
        assert (folder / row["path"]).resolve() == (folder / name).resolve(), row  # as given, or below the input
        info = sf.info(str(folder / name))
        assert (row["sample_rate"], row["channels"]) == (info.samplerate, info.channels), row


def test_extract_db_equals_kapre_melspectrogram(references, extracted):
    out, _ = extracted
    lines, failed = _deviation_table(out, references, "kapre", lambda below: KAPRE_TOL_DB)
    assert not failed, (f"kapre extract --db differs from kapre.MelSpectrogram(return_decibel=True) on {BACKEND} by "
                        f"more than {KAPRE_TOL_DB} dB in {failed}; per file:\n" + "\n".join(lines))


def test_extract_db_equals_librosa_power_to_db(references, extracted):
    out, _ = extracted
    lines, failed = _deviation_table(out, references, "librosa", _librosa_tolerance)
    assert not failed, (f"kapre extract --db differs from librosa.power_to_db(melspectrogram(center=False)) on "
                        f"{BACKEND} by more than {LIBROSA_TOL_DB} dB (within {NEAR_FLOOR_DB:.0f} dB of the file's "
                        f"maximum) or {LIBROSA_TOL_NEAR_FLOOR_DB} dB (below that) in {failed}; per file:\n"
                        + "\n".join(lines))
