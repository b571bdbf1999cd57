"""``kapre export CONFIG -o FILE`` (issue 20): a front-end as a .keras, ONNX or LiteRT model, checked in its runtime.

In-process through ``kapre.cli.main`` (what the ``kapre`` command runs), on the active backend. Two small front-ends:
a 40-band mel power spectrogram at 16 kHz from feature options, and a ``kaldi_fbank`` record (``kapre-frontend.json``
written with ``--frontend``). The exported file must run in its runtime on a batch and a length other than the
command's test signal (free axes) and equal the Keras model to 1e-4 of its largest value; every bad input is one line
of error, exit status 2, and leaves nothing in the output folder. Under JAX an ONNX or LiteRT export goes through a
TensorFlow child process (tens of seconds): one export there, to ONNX (tests/test_export*.py cover the routes).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

from kapre import cli
from kapre import export as kapre_export
from kapre.cli.export import check_signal, deviation
from kapre_cli.parser import format_for
from tests.helpers import BACKEND

RTOL = 1e-4  # of the Keras model's largest |value|
MEL = {"feature": "mel", "sr": 16000, "n_fft": 512, "hop": 160, "n_mels": 40}
KALDI = {"format": 2, "sample_rate": 16000, "mono": True, "frontend": {"name": "kaldi_fbank", "given": {}}}


def _run(argv, capsys):
    try:
        code = cli.main(["export", *argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _config(folder, name: str, content) -> str:
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(content if isinstance(content, str) else json.dumps(content))
    return path


def _number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in:\n{text}"
    return float(found.group(1))


def _files(folder) -> list[str]:
    return sorted(os.listdir(folder))


def _keras_model(config: dict, tmp_path):
    """The Keras model the command exports, rebuilt here: the options' or the builder's layers on a free input."""
    from kapre.cli.export import export_model

    if "frontend" in config:
        from kapre import frontends

        return export_model(frontends.kaldi_fbank(), (None,))
    from kapre.cli.options import FeatureOptions, build_frontend

    options = FeatureOptions(feature="mel", sample_rate=16000, n_fft=512, hop_length=160, n_mels=40,
                             db=bool(config.get("db", False)))
    return export_model(build_frontend(options), (None, 1))


def _exported(code: int, err: str, fmt: str) -> None:
    """A successful export: every route carries these front-ends (tests/test_export.py's matrix), so an ExportError
    (exit status 2) fails the test like any other failure."""
    assert code == 0, err


def _check_free_axes(path: str, fmt: str, model, samples_layout: bool) -> None:
    """The file on a batch of 3 and 1.5 s (the command checked 2 x 1 s): the Keras model's numbers."""
    x = check_signal(16000, 24000, channels=not samples_layout)
    x = np.concatenate([x, x[:1] * 0.25])
    want = np.asarray(keras.ops.convert_to_numpy(model(x)))
    got = (kapre_export.run_onnx if fmt == "onnx" else kapre_export.run_litert)(path, [x])[0]
    assert got.shape == want.shape, (got.shape, want.shape)
    error = float(np.max(np.abs(got - want))) / float(np.max(np.abs(want)))
    assert error <= RTOL, f"{fmt}: max |difference| / max |Keras| = {error:.3g} on (3, 24000)"


# ------------------------------------------------------------------------------------------------------------------
# The three formats
# ------------------------------------------------------------------------------------------------------------------


def test_keras_format_round_trips_with_decibels(tmp_path, capsys):
    config = _config(tmp_path, "mel.json", {**MEL, "db": True})
    out = tmp_path / "mel.keras"
    code, stdout, err = _run([config, "-o", str(out)], capsys)  # the format from the suffix
    assert code == 0, err
    assert f"wrote {out}" in stdout and "keras.saving.load_model" in stdout
    assert "output shape (2, 97, 40, 1)" in stdout
    assert _number(r"deviation from the Keras model: (\S+) dB absolute", stdout) <= 1e-4
    assert "within 40 dB of each example's maximum" in stdout
    assert _files(tmp_path) == ["mel.json", "mel.keras"]  # no temporary left
    loaded = keras.saving.load_model(out)
    assert loaded.inputs[0].shape == (None, None, 1)
    x = check_signal(16000, 20000)[:1]
    want = keras.ops.convert_to_numpy(_keras_model({**MEL, "db": True}, tmp_path)(x))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), want, atol=1e-4)


def test_keras_format_of_a_keras_config(tmp_path, capsys):
    """A Keras config (a kapre-frontend.json written with --config LAYER.json): rebuilt on a free input."""
    import kapre

    layer = kapre.STFT(n_fft=256, hop_length=128, input_data_format="channels_last",
                       output_data_format="channels_last")
    chain = keras.Sequential([layer, kapre.Magnitude()], name="stft_magnitude")
    record = {"format": 2, "sample_rate": 8000, "mono": True, "model": keras.saving.serialize_keras_object(chain)}
    config = _config(tmp_path, "kapre-frontend.json", record)
    out = tmp_path / "stft.keras"
    code, stdout, err = _run([config, "-o", str(out), "--format", "keras"], capsys)
    assert code == 0, err
    assert "STFT > Magnitude at 8000 Hz" in stdout and "output shape (2, 61, 129, 1)" in stdout
    assert "0 absolute" in stdout and "dB" not in stdout
    loaded = keras.saving.load_model(out)
    assert loaded.inputs[0].shape == (None, None, 1)
    assert tuple(loaded(check_signal(8000, 4000)).shape) == (2, 30, 129, 1)


def test_onnx_of_a_mel_spectrogram(tmp_path, capsys):
    config = _config(tmp_path, "mel.json", MEL)
    out = tmp_path / "mel.onnx"
    code, stdout, err = _run([config, "-o", str(out)], capsys)
    _exported(code, err, "onnx")
    assert "ONNX Runtime" in stdout and "output shape (2, 97, 40, 1)" in stdout
    assert "input (batch, samples, 1) float32, batch and length free" in stdout
    assert _number(r"absolute, (\S+) of the output's largest", stdout) <= RTOL
    assert re.search(rf"wrote {re.escape(str(out))} \([\d.]+ (kB|MB)\)", stdout), stdout
    assert _files(tmp_path) == ["mel.json", "mel.onnx"]
    _check_free_axes(str(out), "onnx", _keras_model(MEL, tmp_path), samples_layout=False)


@pytest.mark.skipif(BACKEND == "jax", reason="one export under JAX (a TensorFlow child process each): the ONNX one")
def test_litert_of_a_kaldi_fbank_record(tmp_path, capsys):
    config = _config(tmp_path, "kapre-frontend.json", KALDI)
    out = tmp_path / "fbank.bin"
    code, stdout, err = _run([config, "-o", str(out), "--format", "litert"], capsys)  # any suffix with --format
    _exported(code, err, "litert")
    assert "--frontend kaldi_fbank" in stdout and "LiteRT interpreter" in stdout
    assert "input (batch, samples) float32" in stdout and "output shape (2, 98, 23)" in stdout
    assert _number(r"absolute, (\S+) of the output's largest", stdout) <= RTOL
    assert "natural-log units" in stdout and "dB" in stdout
    assert _number(r"within 40 dB of each example's maximum (\S+) dB", stdout) <= 1e-3
    assert _files(tmp_path) == ["fbank.bin", "kapre-frontend.json"]
    _check_free_axes(str(out), "litert", _keras_model(KALDI, tmp_path), samples_layout=True)


@pytest.mark.skipif(BACKEND == "jax", reason="one export under JAX (a TensorFlow child process each): the ONNX one")
@pytest.mark.parametrize("fmt", ["onnx", "litert"])
def test_the_other_pairs(tmp_path, capsys, fmt):
    """A kaldi_fbank to ONNX and a log-mel to LiteRT: each front-end in each format."""
    kaldi = fmt == "onnx"
    config = _config(tmp_path, "c.json", KALDI if kaldi else {**MEL, "db": True})
    out = tmp_path / ("fbank.onnx" if kaldi else "mel.tflite")
    code, stdout, err = _run([config, "-o", str(out)], capsys)
    _exported(code, err, fmt)
    assert _number(r"absolute, (\S+) of the output's largest", stdout) <= RTOL
    assert os.path.getsize(out) > 0


# ------------------------------------------------------------------------------------------------------------------
# The format from the suffix
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path, given, expected", [
    ("m.keras", None, "keras"), ("m.onnx", None, "onnx"), ("m.tflite", None, "litert"), ("d/M.ONNX", None, "onnx"),
    ("m.TFLite", None, "litert"), ("m.onnx", "onnx", "onnx"), ("m.bin", "onnx", "onnx"), ("m", "litert", "litert"),
    ("m.keras", "keras", "keras"),
])
def test_format_from_the_suffix(path, given, expected):
    assert format_for(path, given) == (expected, None)


@pytest.mark.parametrize("path, given, words", [
    ("m.bin", None, "has the suffix '.bin': name a .keras, .onnx or .tflite file, or give --format"),
    ("model", None, "has no suffix"),
    ("m.onnx", "litert", "--format litert and the suffix of m.onnx (.onnx, onnx) disagree"),
    ("m.keras", "onnx", "disagree"),
    ("m.tflite", "keras", "disagree"),
    ("m.bin", "keras", "--format keras writes a .keras file"),
])
def test_format_problems(path, given, words):
    fmt, problem = format_for(path, given)
    assert fmt is None and words in problem


# ------------------------------------------------------------------------------------------------------------------
# Bad inputs: one line, exit status 2, nothing written
# ------------------------------------------------------------------------------------------------------------------


def _bad(tmp_path, name):
    """Configs and paths for the bad-input cases."""
    good = _config(tmp_path, "mel.json", MEL)
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "dir.onnx").mkdir()
    (tmp_path / "cfgdir.json").mkdir()
    configs = {
        "not-json": _config(tmp_path, "broken.json", "{\"feature\": "),
        "not-object": _config(tmp_path, "list.json", [1, 2]),
        "no-known-key": _config(tmp_path, "other.json", {"learning_rate": 0.1}),
        "unknown-key": _config(tmp_path, "typo.json", {"feature": "mel", "n_melz": 40}),
        "bad-value": _config(tmp_path, "value.json", {"feature": "mel", "n_mels": 0}),
        "no-class": _config(tmp_path, "class.json", {"class_name": "NoSuchLayer", "config": {}}),
        "not-a-frontend": _config(tmp_path, "conv.json",
                                  keras.saving.serialize_keras_object(keras.layers.Conv2D(2, 3))),
        "bad-frontend": _config(tmp_path, "fe.json", {**KALDI, "frontend": {"name": "nope", "given": {}}}),
    }
    return good, configs[name] if name in configs else None


BAD = {
    # name: (arguments after CONFIG (or a CONFIG of _bad), the words of the message)
    "unknown-format": (["-o", "m.onnx", "--format", "tensorrt"], "argument --format: unknown format 'tensorrt'"),
    "no-suffix": (["-o", "OUT/model"], "has no suffix"),
    "unknown-suffix": (["-o", "OUT/m.pb"], "has the suffix '.pb'"),
    "disagree": (["-o", "OUT/m.onnx", "--format", "litert"], "disagree"),
    "keras-suffix": (["-o", "OUT/m.h5", "--format", "keras"], "--format keras writes a .keras file"),
    "missing-folder": (["-o", "OUT/missing/m.onnx"], "missing does not exist"),
    "file-in-the-way": (["-o", "OUT/a_file/m.onnx"], "a file is in the way"),
    "output-is-a-folder": (["-o", "OUT/dir.onnx"], "is a folder"),
    "missing": (["-o", "OUT/m.onnx"], "cannot read"),
    "unreadable": (["-o", "OUT/m.onnx"], "cannot read"),
    "not-json": (["-o", "OUT/m.onnx"], "broken.json is not valid JSON"),
    "not-object": (["-o", "OUT/m.onnx"], "must hold a JSON object (feature options, a Keras config or a "
                                         "kapre-frontend.json), got a list"),
    "no-known-key": (["-o", "OUT/m.onnx"], "holds none of the known keys"),
    "unknown-key": (["-o", "OUT/m.onnx"], "unknown key(s) ['n_melz']"),
    "bad-value": (["-o", "OUT/m.onnx"], "--n-mels must be a positive integer, got 0"),
    "no-class": (["-o", "OUT/m.onnx"], "holds a Keras config that cannot be rebuilt"),
    "not-a-frontend": (["-o", "OUT/m.onnx"], "conv.json: the front-end does not take a (batch, samples, channels) "
                                             "waveform"),
    "bad-frontend": (["-o", "OUT/m.onnx"], "\"frontend\" must name one of"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, name):
    good, config = _bad(tmp_path, name)
    if name == "missing":
        config = str(tmp_path / "missing.json")
    elif name == "unreadable":
        config = str(tmp_path / "cfgdir.json")
    argv, words = BAD[name]
    argv = [a.replace("OUT", str(tmp_path)) for a in argv]
    before = _files(tmp_path)
    code, stdout, err = _run([config or good, *argv], capsys)
    assert code == 2, (code, stdout, err)
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith("kapre export: error: "), err
    assert words in errors[0], err
    assert "--config" not in errors[0], err  # CONFIG is positional: the messages name the file
    assert _files(tmp_path) == before
    assert stdout == ""


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes in any folder")
def test_a_folder_that_cannot_be_written(tmp_path, capsys):
    good = _config(tmp_path, "mel.json", MEL)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, _, err = _run([good, "-o", str(locked / "m.onnx")], capsys)
    finally:
        locked.chmod(0o755)
    assert code == 2 and "cannot write in the folder" in err, err
    assert _files(locked) == []


def test_an_export_error_is_exit_2_and_file_left_as_it_was(tmp_path, capsys, monkeypatch):
    """kapre.export's ExportError (a front-end the format cannot carry): its message, exit 2; FILE untouched."""
    good = _config(tmp_path, "mel.json", MEL)
    out = tmp_path / "m.onnx"
    out.write_bytes(b"the previous model")

    def refuse(model, path, input_shape=None):
        with open(path, "wb") as f:
            f.write(b"half a model")
        raise kapre_export.ExportError("the route cannot carry this layer: a reason\nover two lines.")

    monkeypatch.setattr(kapre_export, "to_onnx", refuse)
    code, stdout, err = _run([good, "-o", str(out)], capsys)
    assert code == 2, err
    assert "kapre export: error: MelSpectrogram cannot be exported to onnx" in err
    assert "the route cannot carry this layer: a reason over two lines." in err
    assert out.read_bytes() == b"the previous model" and _files(tmp_path) == ["m.onnx", "mel.json"]


@pytest.mark.parametrize("failure", ["runtime", "converter", "package"])
def test_a_tool_that_fails_is_exit_1_and_writes_nothing(tmp_path, capsys, monkeypatch, failure):
    good = _config(tmp_path, "mel.json", MEL)
    out = tmp_path / "m.tflite"

    def write(model, path, input_shape=None):
        if failure == "converter":
            raise RuntimeError("the converter crashed")
        if failure == "package":
            raise ModuleNotFoundError("No module named 'some_converter'", name="some_converter")
        with open(path, "wb") as f:
            f.write(b"not a flatbuffer")

    monkeypatch.setattr(kapre_export, "to_litert", write)
    code, stdout, err = _run([good, "-o", str(out)], capsys)
    assert code == 1, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("kapre export: error: "), err
    words = {"runtime": "the litert file was made but the LiteRT interpreter (kapre.export.run_litert) cannot run it",
             "converter": "the litert export failed: RuntimeError: the converter crashed",
             "package": "needs the package some_converter"}[failure]
    assert words in line, err
    assert _files(tmp_path) == ["mel.json"]


def test_deviation_of_log_outputs():
    want = np.array([[[0.0, -10.0, -100.0]], [[5.0, 4.0, -60.0]]])
    got = want + np.array([[[1e-3, 2e-3, 0.5]], [[0.0, 1e-2, 0.0]]])
    dev = deviation(got, want, db_per_unit=1.0)
    assert dev["absolute"] == pytest.approx(0.5) and dev["relative"] == pytest.approx(0.005)
    assert dev["near_max_db"] == pytest.approx(1e-2)  # -100 dB (50 below) left out
    assert deviation(got, want)["near_max_db"] is None


def test_help_and_a_bad_suffix_answer_without_importing_a_backend(tmp_path):
    script = """
import sys, kapre_cli
for argv in (["export", "--help"], ["export", "c.json", "-o", "m.pb"],
             ["export", "c.json", "-o", "m", "--format", "x"]):
    try:
        kapre_cli.main(argv)
    except SystemExit as exc:
        print("EXIT", exc.code)
print("LOADED", sorted(m for m in ("kapre", "keras", "numpy", "tensorflow", "jax", "torch") if m in sys.modules))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout and proc.stdout.count("EXIT 2") == 2, proc.stdout
    assert "--format keras|onnx|litert" in proc.stdout and "CONFIG.json" in proc.stdout
    assert "m.pb has the suffix '.pb'" in proc.stderr and "unknown format 'x'" in proc.stderr
