"""``--feature cqt|vqt|chroma`` in ``kapre extract``, ``kapre show`` and ``kapre demo``, and ``kapre.plot.specshow``'s
``'cqt_note'`` and ``'chroma'`` axes (issue 17).

Everything runs in-process through ``kapre.cli.main`` (the subprocess path of the command is covered by
tests/test_cli.py). The features written are compared with the layers called directly on the same audio:
``kapre.CQT``/``kapre.VQT``/``kapre.Chroma``; the decibels of ``--db`` with ``CQT(output_type='db')`` (librosa's
``amplitude_to_db(|C|)``), which the command computes another way (``output_type='power' > MagnitudeToDecibel``).
"""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest
import soundfile as sf

import kapre
from kapre import cli, plot

matplotlib.use("Agg")

C1 = 32.70319566257483
SR = 16000
ATOL_DB = 2e-3  # float32: 10*log10(|C|**2) against 20*log10(|C|), and batches against single files
RTOL = 1e-4  # linear values, relative to each file's peak


def _tone(n: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Harmonic tones on bin centres (A3, E5 and their harmonics) and a little noise."""
    t = np.arange(n)[:, None] / SR
    rng = np.random.default_rng(seed)
    y = sum(0.3 / k * np.sin(2 * np.pi * k * f * t * (1 + c)) for k in (1, 2, 3) for f in (220.0, 659.26)
            for c in [np.arange(channels)])
    return (0.5 * y + 0.01 * rng.standard_normal((n, channels))).astype(np.float32)


def _run(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------------------------------------------------------------
# kapre.plot.specshow: note and chroma axes (matplotlib only)
# ------------------------------------------------------------------------------------------------------------------


def _labels(ax) -> list[str]:
    ax.figure.canvas.draw()
    return [t.get_text() for t in ax.get_yticklabels() if t.get_text()]


def test_cqt_note_axis_labels_each_c():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    S = np.random.default_rng(0).random((20, 84))
    plot.specshow(S, sr=22050, hop_length=512, y_axis="cqt_note", center=True, ax=ax)
    assert _labels(ax) == [f"C{octave}" for octave in range(1, 8)]
    ticks = ax.get_yticks()
    np.testing.assert_allclose(ticks, C1 * 2.0 ** np.arange(7), rtol=1e-9)  # at the C1 ... C7 bins' centres
    low, high = ax.get_ylim()
    np.testing.assert_allclose([low, high], [C1 * 2 ** (-0.5 / 12), C1 * 2 ** (83.5 / 12)], rtol=1e-9)
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "note"
    plt.close(fig)


def test_cqt_note_axis_with_36_bins_per_octave_tuning_and_a_short_range():
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(2)
    S = np.zeros((10, 252))
    plot.specshow(S, y_axis="cqt_note", bins_per_octave=36, ax=a, center=True)
    assert _labels(a) == [f"C{octave}" for octave in range(1, 8)]
    # 12 bins from C4: one C only, so every natural note is labelled
    plot.specshow(np.zeros((10, 12)), y_axis="cqt_note", fmin=261.6255653005986, ax=b, center=True)
    assert _labels(b) == ["C4", "D4", "E4", "F4", "G4", "A4", "B4"]
    plt.close(fig)
    fig, ax = plt.subplots()
    plot.specshow(np.zeros((10, 24)), y_axis="cqt_hz", tuning=0.25, ax=ax, center=True)
    np.testing.assert_allclose(ax.get_ylim()[0], C1 * 2 ** ((0.25 - 0.5) / 12), rtol=1e-9)
    plt.close(fig)


def test_note_names_are_librosa_s():
    import librosa
    freqs = librosa.midi_to_hz(np.arange(12, 120)) * 2 ** (np.linspace(-0.45, 0.45, 108) / 12)
    assert [plot.note_name(f) for f in freqs] == list(librosa.hz_to_note(freqs, unicode=False))
    assert plot.note_name(C1) == "C1" and plot.note_name(440.0) == "A4" and plot.note_name(466.16) == "A#4"
    assert plot.note_name(445.0, cents=True) == "A4+20" and plot.note_name(440.0, octave=False) == "A"


@pytest.mark.parametrize("n_chroma", [12, 24, 36])
def test_chroma_axis_labels_pitch_classes(n_chroma):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    plot.specshow(np.random.default_rng(1).random((30, n_chroma)), y_axis="chroma", ax=ax, center=True)
    assert _labels(ax) == ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    half = 6.0 / n_chroma  # half a bin, in semitones
    np.testing.assert_allclose(ax.get_ylim(), [-half, 12 - half])
    np.testing.assert_allclose(ax.get_yticks(), np.arange(12.0))
    assert ax.get_ylabel() == "pitch class"
    plt.close(fig)


def test_specshow_refuses_unknown_axes_and_names_the_new_ones():
    with pytest.raises(ValueError, match="'cqt_note', 'chroma'"):
        plot.specshow(np.zeros((3, 4)), y_axis="notes")


# ------------------------------------------------------------------------------------------------------------------
# Option errors: one line naming the flag, exit status 2, before anything is read or written
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, words", [
    (["--feature", "cqt", "--sr", "8000"], "--n-bins 84 at --bins-per-octave 12 from --fmin 32.7 Hz reaches 4122 Hz "
                                           "(the top filter's upper edge), above the Nyquist frequency of --sr 8000 "
                                           "(4000 Hz); use --n-bins 83 or less"),
    (["--feature", "vqt", "--sr", "8000", "--gamma", "0"], "use --n-bins 83 or less"),
    (["--feature", "vqt", "--sr", "8000"], "reaches 4129 Hz"),  # librosa's ERB gamma widens the filters
    # librosa.cqt(sr=22050, bins_per_octave=24) takes n_bins=201 and refuses 202
    (["--feature", "cqt", "--n-bins", "250", "--bins-per-octave", "24"], "use --n-bins 201 or less"),
    (["--feature", "cqt", "--fmin", "8000", "--sr", "16000"], "no two bins fit: lower --fmin or raise --sr"),
    (["--feature", "chroma", "--chroma-source", "cqt", "--sr", "8000"], "use --n-octaves 6 or less"),
    (["--feature", "chroma", "--chroma-source", "cqt", "--n-chroma", "24"],
     "--bins-per-octave 36 must be a multiple of --n-chroma 24"),
    (["--feature", "cqt", "--n-bins", "1"], "--n-bins 1 gives 1 bin: --feature cqt needs at least 2"),
    (["--feature", "cqt", "--fmin", "0"], "--fmin must be > 0 for --feature cqt"),
    (["--feature", "cqt", "--fmin", "0.01"], "makes the lowest filter 3.82e+07 samples long at --sr 22050, more than "
                                             "2**24"),
    (["--feature", "cqt", "--window", "triang"], "--window triang cannot shape --feature cqt's filters; use one of"),
    (["--feature", "cqt", "--n-fft", "512"], "--n-fft applies to the STFT's frames, not to cqt"),
    (["--feature", "vqt", "--center"], "--center applies to the STFT's frames, not to vqt"),
    (["--feature", "cqt", "--fmax", "100"], "--fmax applies to --feature mel and mfcc, not cqt"),
    (["--feature", "cqt", "--n-mels", "10"], "--n-mels applies to --feature mel and mfcc, not cqt"),
    (["--feature", "cqt", "--gamma", "3"], "--gamma applies to --feature vqt, not cqt"),
    (["--feature", "mel", "--bins-per-octave", "24"], "--bins-per-octave applies to --feature logfreq, cqt, vqt"),
    (["--feature", "stft", "--tuning", "0.1"], "--tuning applies to --feature cqt, vqt and chroma, not stft"),
    (["--feature", "chroma", "--db"], "--db applies to --feature stft, mel, logfreq, cqt and vqt, not chroma"),
    (["--feature", "chroma", "--power", "1"], "--power applies to"),
    (["--feature", "chroma", "--n-octaves", "3"],
     "--n-octaves applies to --feature chroma (--chroma-source cqt), not chroma with --chroma-source stft"),
    (["--feature", "chroma", "--chroma-source", "cqt", "--window", "hann"], "--window applies to"),
    (["--feature", "chroma", "--chroma-source", "cqt", "--hop", "256", "--n-fft", "512"], "--n-fft applies to the"),
    (["--chroma-source", "cqt"], "--chroma-source applies to --feature chroma, not mel"),
    (["--feature", "cqt", "--tuning", "0.5"], "argument --tuning: expected a fraction of a bin from -0.5 to below 0.5"),
    (["--feature", "cqt", "--filter-scale", "0"], "argument --filter-scale: expected a number > 0"),
    (["--feature", "cqt", "--bins-per-octave", "0"], "argument --bins-per-octave: expected a positive integer"),
    (["--feature", "vqt", "--gamma", "-1"], "argument --gamma: expected a number >= 0"),
    (["--feature", "chroma", "--n-octaves", "33"], "argument --n-octaves: expected at most 32"),
    (["--feature", "chroma", "--chroma-source", "fft"], "argument --chroma-source: invalid choice: 'fft'"),
    (["--feature", "logfreq", "--bins-per-octave", "1", "--n-bins", "4096"], "reaches beyond any frequency"),
    (["--frontend", "whisper", "--bins-per-octave", "24"], "--bins-per-octave does not apply to --frontend whisper"),
])
@pytest.mark.parametrize("command", ["extract", "show"])
def test_bad_constant_q_options_are_one_line_naming_the_flag(tmp_path, capsys, command, argv, words):
    sf.write(tmp_path / "a.wav", _tone(4000), SR)
    out = tmp_path / ("o" if command == "extract" else "p.png")
    code, _, err = _run([command, str(tmp_path / "a.wav"), "-o", str(out), *argv], capsys)
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.startswith(f"kapre {command}: error: ")]
    assert len(lines) == 1 and words in lines[0], err
    assert err.startswith("usage: kapre") and "Traceback" not in err
    assert not out.exists()


def test_layer_messages_in_the_flags_words():
    from kapre.cli.options import _in_flags

    assert _in_flags("n_bins must be >= 2, received n_bins=1.") == "--n-bins must be >= 2, received --n-bins 1."
    assert _in_flags("hop_length=7 with fmin=30 and sr=100") == "--hop 7 with --fmin 30 and --sr 100"
    text = "max frequency=4200 above the Nyquist frequency"
    assert _in_flags(text) == text


def test_demo_refuses_an_unknown_feature(capsys):
    code, _, err = _run(["demo", "--feature", "cqt", "--feature", "gammatone"], capsys)
    assert code == 2 and "argument --feature: invalid choice: 'gammatone'" in err


# ------------------------------------------------------------------------------------------------------------------
# The features: the layers' own output, per file and in batches
# ------------------------------------------------------------------------------------------------------------------


def _files(tmp_path) -> dict:
    folder = tmp_path / "audio"
    folder.mkdir()
    lengths = {"a.wav": (8000, 1), "b.wav": (11000, 2), "c.flac": (5001, 1)}
    for i, (name, (n, channels)) in enumerate(lengths.items()):
        sf.write(folder / name, _tone(n, channels, seed=i), SR)
    return {name: folder / name for name in lengths}


def _layer_output(layer, path, mono=True) -> np.ndarray:
    import keras

    audio, _ = sf.read(path, dtype="float32", always_2d=True)
    if mono:
        audio = audio.mean(axis=1, keepdims=True, dtype=np.float32)
    return np.asarray(keras.ops.convert_to_numpy(layer(audio[None])))[0]


def _io(**kwargs) -> dict:
    return {"input_data_format": "channels_last", "output_data_format": "channels_last", **kwargs}


CASES = {
    "cqt-db": (["--feature", "cqt", "--n-bins", "72", "--hop", "256", "--db"],
               lambda: kapre.CQT(sr=SR, hop_length=256, n_bins=72, output_type="db", db_amin=1e-5, db_ref_value=1.0,
                                 db_dynamic_range=80.0, **_io()), "db"),
    "cqt-36-power": (["--feature", "cqt", "--fmin", "130.8", "--n-bins", "144", "--bins-per-octave", "36", "--hop",
                      "160", "--tuning", "0.2", "--pad-mode", "reflect"],
                     lambda: kapre.CQT(sr=SR, hop_length=160, fmin=130.8, n_bins=144, bins_per_octave=36, tuning=0.2,
                                       pad_mode="reflect", output_type="power", **_io()), "relative"),
    "vqt-magnitude": (["--feature", "vqt", "--n-bins", "60", "--fmin", "55", "--gamma", "10", "--power", "1",
                       "--hop", "333", "--filter-scale", "0.8", "--window", "blackmanharris"],
                      lambda: kapre.VQT(sr=SR, hop_length=333, fmin=55.0, n_bins=60, gamma=10.0, filter_scale=0.8,
                                        window="blackmanharris", output_type="magnitude", **_io()), "relative"),
    "vqt-erb-db": (["--feature", "vqt", "--n-bins", "72", "--db", "--top-db", "60"],
                   lambda: kapre.VQT(sr=SR, hop_length=512, n_bins=72, output_type="db", db_amin=1e-5,
                                     db_dynamic_range=60.0, **_io()), "db"),
    "chroma-stft": (["--feature", "chroma", "--n-fft", "1024", "--hop", "256", "--center", "--tuning", "-0.1"],
                    lambda: kapre.Chroma(source="stft", sr=SR, n_fft=1024, hop_length=256, center=True, tuning=-0.1,
                                         **_io()), "abs"),
    "chroma-stft-uncentred-24": (["--feature", "chroma", "--n-fft", "512", "--n-chroma", "24"],
                                 lambda: kapre.Chroma(source="stft", sr=SR, n_fft=512, hop_length=128, center=False,
                                                      n_chroma=24, **_io()), "abs"),
    "chroma-cqt": (["--feature", "chroma", "--chroma-source", "cqt", "--n-octaves", "6", "--hop", "256"],
                   lambda: kapre.Chroma(source="cqt", sr=SR, hop_length=256, n_octaves=6, bins_per_octave=36,
                                        **_io()), "abs"),
}


def _compare(got, want, kind, name):
    assert got.shape == want.shape, (name, got.shape, want.shape)
    if kind == "db":
        np.testing.assert_allclose(got, want, atol=ATOL_DB, rtol=0, err_msg=name)
    elif kind == "relative":
        np.testing.assert_allclose(got, want, atol=RTOL * float(np.max(np.abs(want))), rtol=0, err_msg=name)
    else:
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0, err_msg=name)


@pytest.mark.parametrize("name", list(CASES))
def test_extract_writes_the_layer_s_output(tmp_path, capsys, name):
    argv, make_layer, kind = CASES[name]
    files = _files(tmp_path)
    layer = make_layer()
    out = tmp_path / "feats"
    code, stdout, err = _run(["extract", str(tmp_path / "audio"), "-o", str(out), "--sr", str(SR), *argv], capsys)
    assert code == 0, err
    assert "3 written, 0 kept (output exists), 0 failed" in stdout
    for filename, path in files.items():
        got = np.load(out / (path.stem + ".npy"))
        want = _layer_output(layer, path)
        if "cqt" in name or "vqt" in name or "--center" in argv:  # librosa's centred frames
            assert got.shape[0] == 1 + sf.info(path).frames // layer.get_config()["hop_length"], (filename, got.shape)
        _compare(got, want, kind, f"{name} {filename}")
        assert got.dtype == np.float32 and np.isfinite(got).all()
    record = json.loads((out / cli.FRONTEND_NAME).read_text())
    assert record["options"]["feature"] == argv[1]
    # The same folder again with its record: every output kept; another feature into it is refused.
    code, stdout, err = _run(["extract", str(tmp_path / "audio"), "-o", str(out), "--config",
                              str(out / cli.FRONTEND_NAME)], capsys)
    assert code == 0 and "0 written, 3 kept" in stdout, err
    code, _, err = _run(["extract", str(tmp_path / "audio"), "-o", str(out), "--sr", str(SR), "--feature", "mel"],
                        capsys)
    assert code == 2 and "holds features made with another front-end" in err


def test_a_file_too_short_for_reflect_padding_is_an_error_row(tmp_path, capsys):
    files = _files(tmp_path)
    out = tmp_path / "o"
    code, stdout, err = _run(["extract", str(tmp_path / "audio"), "-o", str(out), "--sr", str(SR), "--feature", "cqt",
                              "--n-bins", "36", "--bins-per-octave", "36", "--pad-mode", "reflect"], capsys)
    assert code == 1 and "Traceback" not in err
    assert "0 written, 0 kept (output exists), 3 failed" in stdout
    rows = [json.loads(line) for line in (out / cli.MANIFEST_NAME).read_text().splitlines()]
    assert len(rows) == len(files)
    for row in rows:
        assert row["status"] == "error" and "too short: " in row["error"]
        assert "--pad-mode 'reflect' mirrors the" in row["error"] and row["output"] is None
    assert not list(out.glob("**/*.npy"))


@pytest.mark.parametrize("name", ["cqt-db", "vqt-magnitude", "chroma-cqt"])
def test_extract_in_batches_equals_each_file_alone_per_channel(tmp_path, capsys, name):
    argv, make_layer, kind = CASES[name]
    files = _files(tmp_path)
    layer = make_layer()
    out = tmp_path / "feats"
    code, _, err = _run(["extract", str(tmp_path / "audio"), "-o", str(out), "--sr", str(SR), "--per-channel",
                         "--batch-size", "3", *argv], capsys)
    assert code == 0, err
    for filename, path in files.items():
        got = np.load(out / (path.stem + ".npy"))
        assert got.shape[-1] == sf.info(path).channels
        _compare(got, _layer_output(layer, path, mono=False), kind, f"{name} {filename} batched")


def test_extract_cqt_db_is_librosa_s(tmp_path, capsys):
    """End to end: `--feature cqt --db` at librosa's defaults is `amplitude_to_db(abs(librosa.cqt(y)))`."""
    import librosa
    sr = 22050
    t = np.arange(2 * sr) / sr
    y = (0.4 * np.sin(2 * np.pi * 220.0 * t) + 0.2 * np.sin(2 * np.pi * 1318.5 * t)).astype(np.float32)
    sf.write(tmp_path / "a.wav", y, sr, subtype="FLOAT")
    code, _, err = _run(["extract", str(tmp_path / "a.wav"), "-o", str(tmp_path / "o"), "--feature", "cqt", "--db"],
                        capsys)
    assert code == 0, err
    got = np.load(tmp_path / "o" / "a.npy")[:, :, 0]
    want = librosa.amplitude_to_db(np.abs(librosa.cqt(y.astype(np.float64), sr=sr)), ref=1.0, amin=1e-5,
                                   top_db=80.0).T
    assert got.shape == want.shape == (1 + 2 * sr // 512, 84)
    # librosa's decimation (soxr) and sparse filters leak 40-60 dB below the peaks of steady tones, where its dB differ
    # from the direct transform's by several dB: compared as the relative error of the magnitudes, and in dB
    # within 20 dB of the maximum
    magnitude, reference = 10.0 ** (got / 20.0), 10.0 ** (want / 20.0)
    assert np.linalg.norm(magnitude - reference) / np.linalg.norm(reference) < 1e-2
    loud = want > want.max() - 20.0
    assert float(np.max(np.abs(got - want)[loud])) < 0.5


# ------------------------------------------------------------------------------------------------------------------
# kapre show and kapre demo
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, label, shape", [
    (["--feature", "cqt", "--n-bins", "72"], "constant-Q power", (16, 72, 1)),
    (["--feature", "vqt", "--n-bins", "72", "--per-channel"], "variable-Q power", (16, 72, 2)),
    (["--feature", "chroma", "--chroma-source", "cqt", "--n-octaves", "6"], "chroma (from a CQT)", (16, 12, 1)),
    (["--feature", "chroma", "--n-fft", "1024", "--hop", "512"], "chroma (from an STFT)", (14, 12, 1)),
])
def test_show_draws_the_new_features(tmp_path, capsys, argv, label, shape):
    import matplotlib.image

    sf.write(tmp_path / "s.wav", _tone(7680, 2), SR)
    picture = tmp_path / "pics" / "s.png"
    code, stdout, err = _run(["show", str(tmp_path / "s.wav"), "-o", str(picture), "--sr", str(SR), *argv], capsys)
    assert code == 0, err
    assert f"({label}, shape {shape}" in stdout
    image = matplotlib.image.imread(picture)
    channels = shape[-1]
    assert image.shape[:2] == (int(round(100 * (2 + 3.2 * channels))), 1000)
    assert float(np.var(image[..., :3])) > 0.01
    assert not [p for p in picture.parent.iterdir() if p.name.endswith(".tmp")]


def test_show_axes_of_the_new_features(tmp_path, capsys, monkeypatch):
    """The panels `kapre show` draws use the note axis (cqt) and the pitch-class axis (chroma)."""
    import matplotlib.pyplot as plt

    sf.write(tmp_path / "s.wav", _tone(7680), SR)
    drawn = {}
    real = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: drawn.setdefault("fig", fig))
    for feature, expected in (("cqt", ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]),
                              ("chroma", ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"])):
        drawn.clear()
        code, _, err = _run(["show", str(tmp_path / "s.wav"), "-o", str(tmp_path / f"{feature}.png"), "--sr",
                             str(SR), "--feature", feature], capsys)
        assert code == 0, err
        panel = drawn["fig"].axes[1]
        assert _labels(panel) == expected
        real(drawn["fig"])


def test_demo_with_cqt_and_chroma(tmp_path, capsys):
    import matplotlib.image

    code, stdout, err = _run(["demo", "--feature", "cqt", "--feature", "chroma", "-o", str(tmp_path / "d.png")],
                             capsys)
    assert code == 0, err
    assert "constant-Q: hop=256, 84 bins from C1, 12 per octave, centred frames" in stdout
    assert "constant-Q transform, 84 bins (dB)" in stdout and "(1, 345, 84, 1)" in stdout  # 4 s, centred frames
    assert "chroma (from an STFT), 12 bins" in stdout and "(1, 337, 12, 1)" in stdout
    assert "STFT power" not in stdout  # only the features asked for
    rows = [line for line in stdout.splitlines() if line.startswith(("constant-Q transform", "chroma"))]
    if "librosa not installed" not in stdout:
        cqt_row, chroma_row = rows
        assert float(chroma_row.split()[-1]) < 1e-3, chroma_row
        assert cqt_row.endswith("relative (|C|)") and float(cqt_row.split()[-3]) < 2e-2, cqt_row
    image = matplotlib.image.imread(tmp_path / "d.png")
    assert abs(image.shape[0] - 14 * (1 + 2.2 + 1.4) / 9 * 100) < 1 and image.shape[1] == 1100  # 715.6 px high
    assert float(np.var(image[..., :3])) > 0.01
