"""``kapre invert`` (issue 18): features written by ``kapre extract`` back into sound, and what it refuses.

In-process through ``kapre.cli.main`` (what the ``kapre`` command runs), on the active backend. The numeric accuracy
of the inverse layers themselves (``kapre.GriffinLim``, ``kapre.InverseMel``, ``kapre.MFCCToMel``) is tested against
librosa elsewhere; here: that the command builds the chain the record asks for, writes a wav of the right rate,
length and channels, and that the wav sounds like the clip: the spectral convergence of its STFT magnitude against
the clip's (librosa's STFT, the features' frames) stays under a bound measured on every backend.
"""

from __future__ import annotations

import json

import librosa
import numpy as np
import soundfile as sf

from kapre import cli

SR, N_FFT, HOP = 16000, 512, 128
BASE = ["--sr", str(SR), "--n-fft", str(N_FFT), "--hop", str(HOP), "--per-channel"]

# (extract options, bound on the spectral convergence after 32 Griffin-Lim iterations, seed 0). Measured, the same to
# 4 digits on TensorFlow, JAX and PyTorch (left, right channel): stft 0.0565, 0.0746; mel 0.1605, 0.1201; mfcc
# 0.1978, 0.2326. The bounds are about 1.5 times the worst channel, well below what is not the features' sound: the
# random initial phase alone (0 iterations) gives 0.65 for a 0.5 s mono chirp through the mel case's chain, one
# iteration 0.39, a wrong sample rate (22,050 for 16,000) 1.4, a wrong --power 46.
CASES = {
    "stft": (["--feature", "stft", "--power", "1"], 0.12),  # the magnitude, no decibels
    "mel": (["--feature", "mel", "--n-mels", "64", "--db"], 0.25),  # decibels of the power
    "mfcc": (["--feature", "mfcc", "--n-mels", "64", "--n-mfcc", "40"], 0.35),  # orthonormal DCT of the dB
}


def _clip() -> np.ndarray:
    """0.5 s, two channels: a chirp from 200 Hz to 3.2 kHz (left) and a 440 Hz tone with two harmonics (right)."""
    t = np.arange(SR // 2) / SR
    chirp = 0.5 * np.sin(2 * np.pi * (200.0 * t + 3000.0 * t**2))
    tone = sum(0.3 / k * np.sin(2 * np.pi * 440.0 * k * t) for k in (1, 2, 3))
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02)  # no click at the ends
    return (np.stack([chirp, tone], axis=1) * fade[:, None]).astype(np.float32)


def spectral_convergence(reference: np.ndarray, estimate: np.ndarray) -> float:
    """``||abs(S_est) - abs(S_ref)||_F / ||abs(S_ref)||_F`` of librosa's STFTs with the features' frames."""
    def magnitude(y):
        return np.abs(librosa.stft(y.astype(np.float64), n_fft=N_FFT, hop_length=HOP, center=False))

    want, got = magnitude(reference), magnitude(estimate)
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))


def _run(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_extract_then_invert_stft_mel_mfcc(tmp_path, capsys):
    clip = _clip()
    sf.write(tmp_path / "clip.wav", clip, SR, subtype="FLOAT")
    measured = {}
    for name, (options, _) in CASES.items():
        code, out, err = _run(["extract", str(tmp_path / "clip.wav"), "-o", str(tmp_path / name), *BASE, *options],
                              capsys)
        assert code == 0, err
        # --keep-level: the record's ref 1.0 keeps the absolute level, so the sound compares without a gain.
        code, out, err = _run(["invert", str(tmp_path / name / "clip.npy"), "--keep-level"], capsys)
        assert code == 0, err
        assert f"wrote {tmp_path / name / 'clip.wav'}" in out and "GriffinLim(32 iterations)" in out, out
        info = sf.info(str(tmp_path / name / "clip.wav"))  # FEATURES.wav beside FEATURES.npy by default
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (SR, 2, clip.shape[0], "FLOAT")
        sound, _ = sf.read(tmp_path / name / "clip.wav", dtype="float32", always_2d=True)
        measured[name] = [spectral_convergence(clip[:, c], sound[:, c]) for c in range(2)]
        # The clip's level, no click: without --center the inverse STFT's division by the window sum blows up next
        # to the window's zero at the first and last samples (in the stft case, peaks 3016 and 685 times the clip's);
        # the command fades them instead.
        peaks = np.abs(sound).max(axis=0) / np.abs(clip).max(axis=0)
        assert np.all((peaks > 0.5) & (peaks < 2.0)), (name, peaks)
    with capsys.disabled():
        print("\nspectral convergence per channel:", {k: [round(v, 4) for v in vs] for k, vs in measured.items()})
    for name, (_, bound) in CASES.items():
        assert max(measured[name]) < bound, (name, measured[name])

    # The default: the peak scaled to 0.9 (the same sound), -o names the file; an existing output is kept ...
    out_wav = tmp_path / "out" / "mel.wav"
    code, out, err = _run(["invert", str(tmp_path / "mel" / "clip.npy"), "-o", str(out_wav)], capsys)
    assert code == 0, err
    sound, _ = sf.read(out_wav, dtype="float32", always_2d=True)
    kept, _ = sf.read(tmp_path / "mel" / "clip.wav", dtype="float32", always_2d=True)
    np.testing.assert_allclose(sound, kept * (0.9 / np.abs(kept).max()), rtol=0, atol=1e-6)
    before = out_wav.read_bytes()
    code, _, err = _run(["invert", str(tmp_path / "mel" / "clip.npy"), "-o", str(out_wav)], capsys)
    assert code == 2 and "exists" in err and "--overwrite" in err, err
    assert out_wav.read_bytes() == before
    # ... unless --overwrite; the same seed gives the same sound.
    code, _, err = _run(["invert", str(tmp_path / "mel" / "clip.npy"), "-o", str(out_wav), "--overwrite"], capsys)
    assert code == 0, err
    np.testing.assert_array_equal(sf.read(out_wav, dtype="float32", always_2d=True)[0], sound)


def test_refusals_and_bad_features(tmp_path, capsys):
    t = np.arange(SR // 4) / SR
    sf.write(tmp_path / "tone.wav", (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32), SR)
    mel = ["--feature", "mel", "--n-mels", "32", "--db", "--sr", str(SR), "--n-fft", str(N_FFT), "--hop", str(HOP)]
    assert _run(["extract", str(tmp_path / "tone.wav"), "-o", str(tmp_path / "mel"), *mel], capsys)[0] == 0
    assert _run(["extract", str(tmp_path / "tone.wav"), "-o", str(tmp_path / "cqt"), "--feature", "cqt", "--sr",
                 str(SR), "--n-bins", "48"], capsys)[0] == 0
    features = np.load(tmp_path / "mel" / "tone.npy")

    # Features kapre cannot invert: exit status 2, the feature named and what can be inverted.
    code, out, err = _run(["invert", str(tmp_path / "cqt" / "tone.npy")], capsys)
    assert code == 2 and "--feature cqt" in err and "no inverse" in err and "stft, mel and mfcc" in err, err
    assert not (tmp_path / "cqt" / "tone.wav").exists()

    # No record: exit status 2, pointing at --record; with --record (the run's record, or options), it inverts.
    lone = tmp_path / "elsewhere" / "lone.npy"
    lone.parent.mkdir()
    np.save(lone, features)
    code, _, err = _run(["invert", str(lone)], capsys)
    assert code == 2 and "no kapre-frontend.json" in err and "--record" in err, err
    options = tmp_path / "options.json"
    options.write_text(json.dumps({"feature": "mel", "sr": SR, "n_fft": N_FFT, "hop": HOP, "n_mels": 32,
                                   "db": True}))
    code, _, err = _run(["invert", str(lone), "--record", str(options), "--n-iter", "4"], capsys)
    assert code == 0, err
    info = sf.info(str(lone.with_suffix(".wav")))
    # No manifest row tells the clip's length: the frames' own, (frames - 1) * hop + n_fft.
    assert (info.samplerate, info.channels, info.frames) == (SR, 1, (features.shape[0] - 1) * HOP + N_FFT)
    # The wrong record: a shape that does not fit is an input error (exit status 1), the others are still written.
    code, out, err = _run(["invert", str(lone), str(tmp_path / "cqt" / "tone.npy"), "--record",
                           str(tmp_path / "mel" / "kapre-frontend.json"), "--overwrite", "--n-iter", "4"], capsys)
    assert code == 1, err
    assert "tone.npy: shape (" in err and "(frames, 32, channels)" in err, err
    assert "wrote" in out and str(lone.with_suffix(".wav")) in out

    # A corrupt .npy, NaN, a missing file: one line each, exit status 1, nothing written.
    bad = tmp_path / "mel"
    (bad / "cut.npy").write_bytes((bad / "tone.npy").read_bytes()[:100])
    with_nan = features.copy()
    with_nan[3, 5, 0] = np.nan
    np.save(bad / "nan.npy", with_nan)
    code, _, err = _run(["invert", str(bad / "cut.npy"), str(bad / "nan.npy"), str(bad / "missing.npy")], capsys)
    assert code == 1, err
    assert "cut.npy: cannot read as a .npy array" in err, err
    assert "nan.npy: holds 1 NaN or infinite value(s)" in err, err
    assert "missing.npy: no such file" in err, err
    assert not any(p.suffix == ".wav" or p.name.endswith(".tmp") for p in bad.iterdir()), list(bad.iterdir())
    assert "Traceback" not in err

    # Options: -o with several inputs, out-of-bound values, an output that cannot be a sound: exit status 2.
    for argv, words in (
        ([str(lone), "-o", str(tmp_path / "x.wav")], "-o names one output file"),
        (["--n-iter", "0"], "--n-iter"),
        (["--seed", "-1"], "--seed"),
        (["-o", str(tmp_path / "x.png")], "cannot write sound as .png"),
    ):
        code, _, err = _run(["invert", str(bad / "tone.npy"), *argv], capsys)
        assert code == 2 and words in err, (argv, err)
