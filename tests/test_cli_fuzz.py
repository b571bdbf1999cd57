"""A property-based fuzz of the ``kapre`` command's options (hypothesis), and the named regression tests of what it
and issue 22 found: ``--sr 1e15``, ``--config`` files of the wrong structure or missing, an FFT too small for the
mel bands (a warning), bad input files.

Every option of ``extract``, ``show``, ``demo`` and ``info`` is taken from the parser itself (an option added later is
fuzzed too, with generic values), drawn valid or adversarial, and run in-process through ``kapre_cli.main`` on tiny
WAVs (0.1 s) with small frames. The property: exit status 0 with complete outputs, 1 with every failed input named
(``extract``: a manifest row each; ``show``/``demo``: one error line), or 2 with one error line naming an option and
nothing written; never a traceback, never a half-written or partial output.

CI runs a fixed, bounded set of examples (``derandomize=True``, no example database); ``KAPRE_FUZZ_PROFILE=long``
draws many more at random. ``KAPRE_FUZZ_REPORT=1`` prints the outcome counts at the end of the module.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import re
import tempfile

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kapre_cli
from kapre_cli import parser as cli_parser

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("long", derandomize=False, database=None, deadline=None, max_examples=400,
                          print_blob=True, suppress_health_check=list(HealthCheck))
PROFILE = os.environ.get("KAPRE_FUZZ_PROFILE", "ci")
LONG = PROFILE == "long"
OUTCOMES: collections.Counter = collections.Counter()
SR = 16000


def _examples(ci: int) -> settings:
    return settings(settings.get_profile(PROFILE), max_examples=400 if LONG else ci)


@pytest.fixture(scope="module", autouse=True)
def _report_outcomes():
    yield
    if os.environ.get("KAPRE_FUZZ_REPORT"):
        print(f"\nkapre CLI fuzz outcomes ({PROFILE}): {dict(sorted(OUTCOMES.items()))}")


# ------------------------------------------------------------------------------------------------------------------
# The files the fuzz runs on (made once)
# ------------------------------------------------------------------------------------------------------------------


def _tone(n: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    t = np.arange(n)[:, None] / SR
    noise = 0.05 * np.random.default_rng(seed).standard_normal((n, channels))
    return (0.3 * np.sin(2 * np.pi * 440.0 * t * (1 + np.arange(channels))) + noise).astype(np.float32)


def _write_wav_bytes(n: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, _tone(n), SR, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def make_bad_files(folder) -> dict[str, str]:
    """Every kind of bad input file, with words the error of each must hold."""
    folder = str(folder)
    os.makedirs(folder, exist_ok=True)
    open(os.path.join(folder, "empty.wav"), "wb").close()
    with open(os.path.join(folder, "random.wav"), "wb") as f:
        f.write(np.random.default_rng(1).bytes(3000))
    with open(os.path.join(folder, "truncated_header.wav"), "wb") as f:
        f.write(_write_wav_bytes(1000)[:30])
    os.makedirs(os.path.join(folder, "folder.wav"), exist_ok=True)
    sf.write(os.path.join(folder, "zero_samples.wav"), np.zeros((0, 1), np.float32), SR)
    sf.write(os.path.join(folder, "one_sample.wav"), np.full((1, 1), 0.1, np.float32), SR)
    with_nan = _tone(1600)
    with_nan[100] = np.nan
    sf.write(os.path.join(folder, "nan.wav"), with_nan, SR, subtype="FLOAT")
    return {"empty.wav": "empty", "random.wav": "cannot read as audio", "truncated_header.wav": "cannot read as audio",
            "zero_samples.wav": "empty", "one_sample.wav": "too short", "nan.wav": "NaN"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import keras

    import kapre

    root = tmp_path_factory.mktemp("fuzz")
    audio = root / "audio"
    (audio / "sub").mkdir(parents=True)
    sf.write(audio / "a.wav", _tone(1600), SR)  # 0.1 s
    sf.write(audio / "sub" / "b.wav", _tone(1200, 2, seed=2), 12000)  # stereo, resampled
    bad = make_bad_files(root / "bad")
    (root / "a_file").write_text("in the way")
    configs = root / "configs"
    configs.mkdir()
    good_options = {"feature": "mel", "sr": SR, "n_fft": 256, "hop": 128, "n_mels": 32, "db": True}
    contents = {
        "options.json": good_options,
        "list.json": [1, 2, 3],
        "number.json": 5,
        "model_list.json": {"model": [1, 2]},
        "no_known_key.json": {"config": {"units": 3}},
        "unknown_class.json": {"class_name": "NoSuchLayer", "config": {}},
        "dense.json": keras.saving.serialize_keras_object(keras.layers.Dense(3)),
        "conv2d.json": keras.saving.serialize_keras_object(keras.layers.Conv2D(3, 3)),
        "complex_stft.json": keras.saving.serialize_keras_object(
            kapre.STFT(n_fft=256, input_data_format="channels_last", output_data_format="channels_last")),
        "huge_n_fft.json": {"class_name": "STFT", "module": "kapre.time_frequency", "registered_name": "Kapre>STFT",
                            "config": {"n_fft": 2**30}},
        "bad_value.json": {**good_options, "n_fft": -3},
        "huge_sr.json": {**good_options, "sr": 10**15},
    }
    for name, value in contents.items():
        (configs / name).write_text(json.dumps(value))
    (configs / "broken.json").write_text("{not json")
    (configs / "binary.json").write_bytes(b"\xff\xfe\x00\x01garbage")
    return {"root": root, "good": [str(audio / "a.wav"), str(audio / "sub" / "b.wav")], "audio": str(audio),
            "bad": {name: str(root / "bad" / name) for name in [*bad, "folder.wav"]}, "bad_words": bad,
            "a_file": str(root / "a_file"), "configs": {name: str(configs / name) for name in
                                                          [*contents, "broken.json", "binary.json"]}}


# ------------------------------------------------------------------------------------------------------------------
# Running the command in-process
# ------------------------------------------------------------------------------------------------------------------


def run(argv: list[str]) -> tuple[int, str, str]:
    """``kapre_cli.main(argv)`` in-process: (exit status, stdout, stderr). An exception other than SystemExit is a
    traceback: it propagates and fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = kapre_cli.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return code, out.getvalue(), err.getvalue()


# An error line names an option: argparse's "argument --x" or "-o/--output", or the command's own "--x ..." / "-o ...".
NAMES_AN_OPTION = re.compile(r"(^|[\s(:])(-o|--[a-z][a-z0-9-]*)\b|arguments are required|invalid choice")


def error_line(err: str, command: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith(f"kapre {command}: error: ")]
    assert len(lines) == 1, err
    return lines[0]


def tree(path) -> dict:
    """Every file below ``path`` with its size (nothing if it does not exist)."""
    found = {}
    for folder, _, names in os.walk(path):
        for name in names:
            full = os.path.join(folder, name)
            found[os.path.relpath(full, path)] = os.path.getsize(full)
    return found


# ------------------------------------------------------------------------------------------------------------------
# Option values, from the parser itself
# ------------------------------------------------------------------------------------------------------------------

# Valid values that keep the work small (0.1 s of audio, short frames).
VALID = {
    "--sr": ["8000", "16000", "22050", "44100", "4000"],
    "--n-fft": ["32", "64", "128", "256", "512"],
    "--hop": ["16", "64", "100", "256"],
    "--win-length": ["32", "100", "256"],
    "--n-mels": ["1", "8", "40", "64", "128"],
    "--n-mfcc": ["1", "13", "20"],
    "--n-bins": ["1", "12", "48", "84"],
    "--bins-per-octave": ["12", "24", "36"],
    "--tuning": ["0", "-0.5", "0.25"],
    "--filter-scale": ["0.5", "1", "2"],
    "--gamma": ["0", "10", "30"],
    "--n-chroma": ["12", "24"],
    "--n-octaves": ["3", "6", "7"],
    "--fmin": ["0", "20", "100", "1000", "5000"],
    "--fmax": ["100", "4000", "8000", "11025"],
    "--top-db": ["1", "80", "none", "200", "1e300"],
    "--amin": ["1e-10", "1e-5", "1e-38", "1e-45", "1"],
    "--ref": ["max", "1.0", "1e-3", "1e10"],
    "--power": ["1", "2"],
    "--batch-size": ["1", "2", "3"],
    "--frontend-arg": ["layout=frames_first", "layout=features_first", "floor=batch", "patches=true", "db=true"],
    # with the local engine (below) both are refused (exit 2, nothing written): a property the fuzz checks too
    "--num-workers": ["1", "2"],
    "--address": ["127.0.0.1:1", "auto"],
}
# Choices the fuzz keeps to: a worker engine per example would start processes or a Ray instance (seconds each);
# the engines are tested in tests/test_extract_engines.py.
VALID_CHOICES = {"--engine": ["local"]}
# Values no option takes (or none beyond its bound), plus each integer option's bound + 1.
ADVERSARIAL = ["0", "-1", "-0", "nan", "NaN", "inf", "-inf", "1e15", "1e400", "99999999999999999999", "1.5", "abc",
               "", " ", "0x10", "1e-400", "5e-324", "1e300", "-1e-300", "none", "max"]
BOUND_FLAGS = {"--sr": "sample_rate", "--n-fft": "n_fft", "--hop": "hop_length", "--win-length": "win_length",
               "--n-mels": "n_mels", "--n-mfcc": "n_mfcc", "--n-bins": "n_bins", "--batch-size": "batch_size",
               "--bins-per-octave": "bins_per_octave", "--n-chroma": "n_chroma", "--n-octaves": "n_octaves"}


def subcommand_actions(name: str) -> list[argparse.Action]:
    parser = kapre_cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [a for a in sub.choices[name]._actions if a.option_strings and a.dest != "help"]


def test_every_option_is_fuzzed():
    """The fuzz knows a valid value for every numeric option of the parser (a new one needs a line in VALID)."""
    for command in ("extract", "show"):
        for action in subcommand_actions(command):
            flag = action.option_strings[-1] if action.option_strings[-1].startswith("--") else action.option_strings[0]
            if action.nargs == 0 or action.choices or flag in ("--output-dir", "--output", "--root", "--config"):
                continue
            assert flag in VALID, f"kapre {command} {flag}: add valid values to VALID"


def option_values(action: argparse.Action, files, out: str, adversarial: bool):
    """A strategy for the arguments one option adds (a list of strings, maybe empty)."""
    flag = next((s for s in action.option_strings if s.startswith("--")), action.option_strings[0])
    if action.nargs == 0:  # a switch
        return st.just([flag])
    if flag in ("--output-dir", "--output"):
        picture = action.dest == "output"
        good = os.path.join(out, "pic.png" if picture else "feats")
        bad = [os.path.join(files["a_file"], "x.png" if picture else "sub"), files["a_file"] if not picture else out]
        return st.sampled_from([good] * 3 + (bad if adversarial else [])).map(lambda v: [flag, v])
    if flag == "--root":
        values = [str(files["root"])] + ([files["a_file"], "/nonexistent-root", files["audio"] + "/sub"]
                                         if adversarial else [])
        return st.sampled_from(values).map(lambda v: [flag, v])
    if flag == "--config":
        configs = files["configs"]
        values = [configs["options.json"]] + ([*configs.values(), os.path.join(out, "missing.json"), out]
                                              if adversarial else [])
        return st.sampled_from(values).map(lambda v: [flag, v])
    valid = VALID_CHOICES.get(flag) or (list(action.choices) if action.choices else VALID.get(flag, ["1", "2"]))
    values = st.sampled_from(valid)
    if adversarial:
        bad = list(ADVERSARIAL)
        if flag in BOUND_FLAGS:
            bad.append(str(cli_parser.INT_BOUNDS[BOUND_FLAGS[flag]][1] + 1))
        if action.choices:
            bad.append("bogus")
        values = st.sampled_from(bad)
    return values.map(lambda v: [flag, v])


@st.composite
def argv_for(draw, command: str, files, out: str):
    """An argument vector of ``kapre COMMAND``: a few options, all valid, or with one or two adversarial values."""
    actions = [a for a in subcommand_actions(command) if a.dest not in ("output_dir", "output")]
    n_bad = draw(st.sampled_from([0, 1, 1, 2]))
    chosen = draw(st.lists(st.sampled_from(actions), max_size=6, unique_by=lambda a: a.dest)) if actions else []
    bad = set(draw(st.lists(st.sampled_from(chosen), max_size=n_bad, unique_by=lambda a: a.dest))) if chosen else set()
    argv = [command]
    if command == "extract":
        inputs = list(files["good"])
        if draw(st.booleans()):
            inputs.append(draw(st.sampled_from(sorted(files["bad"].values()))))
        argv += [*inputs, "-o", os.path.join(out, "feats")]
    elif command == "show":
        source = draw(st.sampled_from(files["good"] * 3 + sorted(files["bad"].values())))
        argv += [source, "-o", os.path.join(out, "pic.png")]
    elif command == "demo":
        # The demo computes a 4 s clip on four front-ends: only its error paths are fuzzed (bad files, bad -o).
        argv += [draw(st.sampled_from(sorted(files["bad"].values()) + [os.path.join(out, "missing.wav")])),
                 "-o", os.path.join(out, "pic.png")]
    for action in chosen:
        adversarial = action in bad
        values = draw(option_values(action, files, out, adversarial))
        if action.dest == "mono" and values == ["--per-channel"] and "--mono" in argv:
            continue
        argv += values
    if command in ("show", "demo") and draw(st.booleans()):
        bad_o = draw(st.sampled_from([os.path.join(files["a_file"], "x.png"), out]))
        argv += ["-o", bad_o]  # the last -o wins: a folder, or a file in the way
    return argv


def check_outcome(command: str, argv: list[str], code: int, stdout: str, stderr: str, out: str) -> None:
    """The property every run must have."""
    assert "Traceback" not in stderr, stderr
    assert code in (0, 1, 2), (code, stderr)
    OUTCOMES[f"{command} exit {code}"] += 1
    leftovers = [name for name in tree(out) if name.endswith(".tmp")]
    assert not leftovers, leftovers  # never a half-written output
    if code == 2:
        line = error_line(stderr, command)
        assert NAMES_AN_OPTION.search(line), line
        written = tree(out)
        assert not any(name.endswith((".npy", ".png", ".jsonl")) for name in written), (line, written)
        return
    if command == "extract":
        feats = argv[argv.index("-o") + 1]
        with open(os.path.join(feats, "manifest.jsonl")) as f:
            rows = [json.loads(line) for line in f]
        assert len({row["path"] for row in rows}) == len(rows) == len(argv[1:argv.index("-o")])
        for row in rows:
            if row["status"] == "ok":
                features = np.load(os.path.join(feats, row["output"]))
                assert list(features.shape) == row["shape"] and features.dtype == np.float32
                assert np.isfinite(features).all(), (row, argv)
            else:
                assert row["status"] == "error" and row["error"] and row["output"] is None, row
        assert (code == 1) == any(row["status"] == "error" for row in rows), (code, rows)
        assert "written" in stdout.splitlines()[-1]
    elif command in ("show", "demo"):
        picture = [argv[i + 1] for i, a in enumerate(argv) if a in ("-o", "--output")][-1]
        if code == 0:
            assert os.path.getsize(picture) > 1000
        else:
            error_line(stderr, command)
            assert not os.path.exists(picture)


def fuzz(command: str, files, data) -> None:
    with tempfile.TemporaryDirectory() as out:
        argv = data.draw(argv_for(command, files, out), label="argv")
        code, stdout, stderr = run(argv)
        check_outcome(command, argv, code, stdout, stderr, out)


@_examples(ci=24)
@given(data=st.data())
def test_fuzz_extract(files, data):
    fuzz("extract", files, data)


@_examples(ci=12)
@given(data=st.data())
def test_fuzz_show(files, data):
    fuzz("show", files, data)


@_examples(ci=6)
@given(data=st.data())
def test_fuzz_demo_errors(files, data):
    fuzz("demo", files, data)


def test_info_takes_no_options(files):
    code, stdout, _ = run(["info"])
    assert code == 0 and "backend in use" in stdout
    code, _, stderr = run(["info", "--sr", "1"])
    assert code == 2 and "unrecognized arguments: --sr 1" in stderr


# ------------------------------------------------------------------------------------------------------------------
# Named regression tests (issue 22's reproductions)
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1e15", "1000000000000000", "10000001", "0", "-16000", "nan", "inf"])
def test_sr_beyond_any_audio_is_one_line_before_any_work(files, tmp_path, value):
    """``kapre extract --sr 1e15`` ended in a MemoryError traceback (resampling to 1e15 Hz)."""
    code, _, err = run(["extract", files["good"][0], "-o", str(tmp_path / "o"), "--sr", value])
    assert code == 2 and "Traceback" not in err
    assert "argument --sr: expected" in error_line(err, "extract") and repr(value) in err
    assert not (tmp_path / "o").exists()


def test_sr_from_a_config_file_is_bounded_too(files, tmp_path):
    code, _, err = run(["extract", files["good"][0], "-o", str(tmp_path / "o"), "--config",
                        files["configs"]["huge_sr.json"]])
    line = error_line(err, "extract")
    assert code == 2 and f"--config {files['configs']['huge_sr.json']}: --sr must be an integer from 1 to" in line
    assert "1000000000000000" in line and not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv, words", [
    (["--n-fft", "16777217"], "argument --n-fft: expected at most 16777216 (2**24 samples)"),
    (["--hop", "99999999999999999999"], "argument --hop: expected at most 16777216"),
    (["--n-mels", "4097"], "argument --n-mels: expected at most 4096"),
    (["--batch-size", "1025"], "argument --batch-size: expected at most 1024"),
    (["--amin", "1e300"], "argument --amin: expected at most 3.403e+38"),
    (["--fmax", "nan"], "argument --fmax: expected a finite number, got 'nan'"),
    (["--top-db=-inf"], "argument --top-db: expected a finite number, got '-inf'"),
    (["--top-db", "-inf"], "argument --top-db: expected one argument"),  # argparse: -inf looks like an option
    (["--n-fft", "16777216"], "--n-fft 16777216 with --n-mels 128 makes a mel filterbank of"),
    (["--feature", "logfreq", "--n-fft", "2097152", "--n-bins", "84"], "--n-fft 2097152 with --n-bins 84"),
    (["--feature", "logfreq", "--fmin", "20000"], "--fmin 20000 Hz must be below the Nyquist frequency"),
])
def test_sizes_beyond_any_audio_are_one_line_before_any_work(files, tmp_path, argv, words):
    code, _, err = run(["extract", files["good"][0], "-o", str(tmp_path / "o"), *argv])
    assert code == 2 and words in error_line(err, "extract"), err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name, words", [
    ("list.json", "must hold a JSON object (feature options, a Keras config or a kapre-frontend.json), got a list"),
    ("number.json", "got the number 5"),
    ("model_list.json", '"model" must be a Keras config (an object with "class_name" and "config"), got a list'),
    ("no_known_key.json", "holds none of the known keys ('config', ...)"),
    ("unknown_class.json", "cannot be rebuilt: TypeError: Could not locate class 'NoSuchLayer'"),
    ("conv2d.json", "the front-end does not take a (batch, samples, channels) waveform"),
    ("complex_stft.json", "the front-end returns complex numbers"),
    ("huge_n_fft.json", "cannot be rebuilt: ValueError: n_fft must be <= 16777216 (2**24 samples, 5.8 minutes at "
                        "48 kHz), received n_fft=1073741824"),
    ("bad_value.json", "--n-fft must be a positive integer, got -3"),
    ("broken.json", "is not valid JSON"),
    ("binary.json", "is not valid JSON: not UTF-8 text"),
    ("missing.json", "--config: cannot read"),
    (".", "--config: cannot read"),
])
def test_config_of_the_wrong_structure_is_one_line_before_any_work(files, tmp_path, name, words):
    """A --config list failed per file ("'list' object is not callable"); a missing one ended in a traceback."""
    path = files["configs"].get(name, str(tmp_path / name))
    out = tmp_path / "o"
    code, _, err = run(["extract", *files["good"], "-o", str(out), "--config", path])
    line = error_line(err, "extract")
    assert code == 2 and "Traceback" not in err and words in line and path in line, err
    assert len(line) < 400 and not out.exists()


def test_show_refuses_a_config_that_does_not_give_frames_by_bins(files, tmp_path):
    code, _, err = run(["show", files["good"][0], "-o", str(tmp_path / "p.png"), "--config",
                        files["configs"]["dense.json"]])
    assert code == 2 and "kapre show draws (batch, frames, bins, channels)" in error_line(err, "show")
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize("command", ["extract", "show"])
def test_empty_mel_bands_are_one_warning_in_the_command_s_terms(files, tmp_path, command):
    """`--n-fft 64 --n-mels 128` wrote 70 of 128 all-zero bands without a word."""
    out = str(tmp_path / ("o" if command == "extract" else "p.png"))
    code, _, err = run([command, files["good"][0], "-o", out, "--sr", "16000", "--n-fft", "64", "--n-mels", "128"])
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert warnings == [f"kapre {command}: warning: 70 of the 128 mel bands (--n-mels 128) are empty with --n-fft 64 "
                        "at --sr 16000 between --fmin 0 and --fmax 8000 Hz: no FFT bin lies inside them, so they are "
                        "always 0. Use a smaller --n-mels, a larger --n-fft, or a wider --fmin/--fmax range"], err
    if command == "extract":
        assert np.load(os.path.join(out, "a.npy")).shape[1:] == (128, 1)


def test_empty_mel_bands_of_a_config_front_end_are_one_warning(files, tmp_path):
    import keras

    import kapre

    config = tmp_path / "mel.json"
    with pytest.warns(kapre.constants.EmptyFilterbankWarning):
        mel = kapre.MelSpectrogram(n_fft=64, n_mels=128, sample_rate=SR, input_data_format="channels_last",
                                   output_data_format="channels_last")
    config.write_text(json.dumps(keras.saving.serialize_keras_object(mel)))
    code, _, err = run(["extract", files["good"][0], "-o", str(tmp_path / "o"), "--config", str(config)])
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and warnings[0].startswith(f"kapre extract: warning: --config {config}: 70 of n_mels=128")


def test_bad_input_files_are_rows_of_the_manifest_and_the_others_are_written(files, tmp_path):
    """Empty, random bytes, a truncated header, a folder named x.wav, 0 samples, 1 sample, NaN: each an error row
    with its reason (the folder holds no audio), the good files written."""
    out = tmp_path / "o"
    bad = files["bad"]
    code, stdout, err = run(["extract", *files["good"], *bad.values(), "-o", str(out), "--n-fft", "256",
                             "--n-mels", "32", "--root", str(files["root"])])
    assert code == 1 and "Traceback" not in err
    rows = {row["path"]: row for row in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    for name, words in {**files["bad_words"], "folder.wav": "folder holds no audio files"}.items():
        row = rows[f"bad/{name}"]
        assert row["status"] == "error" and words in row["error"] and row["output"] is None, row
        assert f"kapre extract: {bad[name]}: " in err
    assert [rows[key]["status"] for key in ("audio/a.wav", "audio/sub/b.wav")] == ["ok", "ok"]
    assert "2 written, 0 kept (output exists), 7 failed" in stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file without read permission")
def test_a_file_without_read_permission_is_an_error_row(files, tmp_path):
    locked = tmp_path / "locked.wav"
    sf.write(locked, _tone(1600), SR)
    locked.chmod(0)
    code, _, err = run(["extract", str(locked), files["good"][0], "-o", str(tmp_path / "o"), "--n-fft", "256"])
    assert code == 1 and "Traceback" not in err and "locked.wav: " in err


@pytest.mark.parametrize("name", ["empty.wav", "random.wav", "truncated_header.wav", "folder.wav", "zero_samples.wav",
                                  "one_sample.wav", "nan.wav"])
def test_show_a_bad_file_is_one_line_and_status_1(files, tmp_path, name):
    picture = tmp_path / "p.png"
    code, _, err = run(["show", files["bad"][name], "-o", str(picture), "--n-fft", "256", "--n-mels", "32"])
    assert code == 1 and "Traceback" not in err and not picture.exists()
    assert error_line(err, "show").startswith(f"kapre show: error: {files['bad'][name]}: ")
