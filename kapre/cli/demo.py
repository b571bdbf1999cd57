"""``kapre demo``: compute every representation of a clip with kapre's layers, draw them and compare with librosa;
turn one of them back into sound (``kapre invert``'s chain), written beside the picture."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import asdict

import numpy as np

from kapre.cli._output import OutputPathError, prepare_output_file
from kapre.cli.info import backend_name, backend_reason
from kapre.cli.options import C1_HZ, FeatureOptions, build_frontend, kapre_version, reported_warnings
from kapre.cli.show import hidden_colorbar, save_figure

__all__ = ["run", "DEMO_MAX_SECONDS", "DEFAULT_FEATURES", "SOUND_FEATURES", "sound_path", "spectral_convergence"]

DEMO_MAX_SECONDS = 60.0
DEFAULT_FEATURES = ("stft", "mel", "logfreq", "mfcc")  # `kapre demo --feature NAME ...` draws others
SOUND_FEATURES = ("mel", "stft", "mfcc")  # the sound is made from the first of these that is drawn


def sound_path(picture: str) -> str:
    """The reconstructed sound written beside the picture: the same name, ``.wav``."""
    return os.path.splitext(picture)[0] + ".wav"


def spectral_convergence(reference: np.ndarray, estimate: np.ndarray, n_fft: int, hop: int) -> float:
    """``||abs(STFT(estimate)) - abs(STFT(reference))|| / ||abs(STFT(reference))||`` (Frobenius norms) of two
    mono waveforms, periodic Hann frames of ``n_fft`` every ``hop`` samples (center=False), NumPy only."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)

    def magnitude(y: np.ndarray) -> np.ndarray:
        frames = np.lib.stride_tricks.sliding_window_view(y.astype(np.float64), n_fft)[::hop]
        return np.abs(np.fft.rfft(frames * window, axis=-1))

    want = magnitude(reference)
    got = magnitude(estimate[: reference.shape[0]])
    frames = min(want.shape[0], got.shape[0])
    want, got = want[:frames], got[:frames]
    return float(np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30))


def _constant_q_bins(sr: int) -> int:
    """How many bins of 12 per octave from C1 a CQT at ``sr`` can have below the Nyquist frequency (librosa's check:
    the top filter's upper edge), from ``kapre.constants.wavelet_lengths``."""
    from kapre.cli.options import cqt_extent

    probe = FeatureOptions(feature="cqt", sample_rate=sr, n_bins=12 * 12)
    _, _, cutoffs = cqt_extent(probe)
    return int(np.sum(cutoffs <= sr / 2))


def _timed(model, x: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Output and the times (s) of a first call (builds the layers) and of a second call."""
    import keras

    start = time.perf_counter()
    keras.ops.convert_to_numpy(model(x))
    first = time.perf_counter() - start
    start = time.perf_counter()
    out = keras.ops.convert_to_numpy(model(x))
    return np.asarray(out), first, time.perf_counter() - start


def librosa_reference(name: str, y: np.ndarray, o: FeatureOptions) -> np.ndarray | None:
    """The same representation computed with librosa (frames as kapre: center=False), ``(time, bins)``."""
    try:
        import librosa
    except ImportError:
        return None
    if name in ("cqt", "vqt", "chroma"):
        return _librosa_constant_q(librosa, name, y, o)
    power = np.abs(librosa.stft(y, n_fft=o.n_fft, hop_length=o.resolved_hop, win_length=o.n_fft, window="hann",
                                center=False)) ** 2
    if name == "stft":
        return librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=80.0).T
    mel = librosa.feature.melspectrogram(S=power, sr=o.sample_rate, n_fft=o.n_fft, n_mels=o.n_mels, fmin=0.0,
                                         fmax=o.sample_rate / 2, htk=False, norm="slaney")
    log_mel = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0)
    if name == "mel":
        return log_mel.T
    if name == "mfcc":
        return librosa.feature.mfcc(S=log_mel, n_mfcc=o.n_mfcc, dct_type=2, norm="ortho").T
    return None  # librosa has no log-frequency filterbank


def _librosa_constant_q(librosa, name: str, y: np.ndarray, o: FeatureOptions) -> np.ndarray:
    """librosa's CQT/VQT (centred frames, as kapre.CQT) in dB (``amplitude_to_db``), or its chroma."""
    if name == "chroma":
        return librosa.feature.chroma_stft(y=y, sr=o.sample_rate, n_fft=o.n_fft, hop_length=o.resolved_hop,
                                           center=False, tuning=0.0, n_chroma=o.n_chroma).T
    transform = librosa.cqt if name == "cqt" else librosa.vqt
    C = transform(y, sr=o.sample_rate, hop_length=o.resolved_hop, fmin=C1_HZ, n_bins=o.n_bins,
                  bins_per_octave=o.resolved_bins_per_octave)
    return librosa.amplitude_to_db(np.abs(C), ref=1.0, amin=1e-5, top_db=80.0).T


def layer_names(feature: str) -> str:
    """The kapre layers behind a representation of the demo, for the picture."""
    if feature == "stft":
        return "STFT > Magnitude(power=2) > MagnitudeToDecibel()"
    if feature == "mel":
        return "MelSpectrogram(return_decibel=True)"
    if feature == "logfreq":
        return "STFT > Magnitude(power=2) > ApplyFilterbank('log') > MagnitudeToDecibel()"
    if feature in ("cqt", "vqt"):
        return f"{feature.upper()}(output_type='power') > MagnitudeToDecibel()"
    if feature == "chroma":
        return "Chroma(source='stft')"
    return "MelSpectrogram(return_decibel=True) > LogmelToMFCC(dct_norm='ortho')"


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import keras

    try:
        from kapre import plot

        plt = plot._pyplot()
    except ImportError as err:
        print(f"kapre demo: error: {err}", file=sys.stderr)
        return 1
    from kapre._demo_clip import DEMO_DESCRIPTION, DEMO_SAMPLE_RATE, demo_clip

    sound = sound_path(args.output)
    if os.path.abspath(sound) == os.path.abspath(args.output):
        parser.error(f"-o {args.output}: the reconstructed sound goes beside the picture as {sound}; name a picture "
                     "(e.g. kapre-demo.png)")
    try:  # before computing anything, as kapre show
        prepare_output_file(args.output)
        prepare_output_file(sound)
    except OutputPathError as err:
        parser.error(f"-o {args.output}: {err}")

    if args.file:
        from kapre.audio import AudioError, MissingDependencyError, load_audio

        try:
            audio, sr = load_audio(args.file, sample_rate=None, mono=True)
        except (AudioError, MissingDependencyError) as err:
            print(f"kapre demo: error: {args.file}: {err}", file=sys.stderr)
            return 1
        y = audio[:, 0]
        source = f"{os.path.basename(args.file)}"
        if y.shape[0] > DEMO_MAX_SECONDS * sr:
            y = y[: int(DEMO_MAX_SECONDS * sr)]
            source += f" (first {DEMO_MAX_SECONDS:g} s)"
    else:
        sr, y = DEMO_SAMPLE_RATE, demo_clip()
        source = f"built-in clip: {DEMO_DESCRIPTION}"
    n_fft = 2048 if sr >= 16000 else 1024
    n_bins = min(96, int(math.floor(12 * math.log2((sr // 2) / C1_HZ))))
    o = FeatureOptions(sample_rate=sr, n_fft=n_fft, hop_length=n_fft // 8, n_mels=128 if sr >= 16000 else 64,
                       n_mfcc=20, n_bins=n_bins, db=True)  # the decibels of `kapre extract --db`
    features = list(dict.fromkeys(getattr(args, "features", None) or DEFAULT_FEATURES))
    # The constant-Q transforms: up to 84 bins from C1 (7 octaves), as many as stay below the Nyquist frequency.
    cq_bins = min(84, _constant_q_bins(sr))
    if y.shape[0] < n_fft:
        print(f"kapre demo: error: {source}: {y.shape[0]} samples, shorter than one frame ({n_fft})", file=sys.stderr)
        return 1

    print(f"kapre {kapre_version()} demo, Keras {keras.__version__} on {backend_name()} ({backend_reason()})")
    print(f"input: {source}, {y.shape[0] / sr:.2f} s at {sr} Hz")
    print(f"frames: n_fft={o.n_fft}, hop={o.resolved_hop}, Hann window, center=False")
    if {"cqt", "vqt"} & set(features):
        if cq_bins < 2:
            print(f"kapre demo: error: {source}: at {sr} Hz no two constant-Q bins from C1 stay below the Nyquist "
                  "frequency", file=sys.stderr)
            return 1
        print(f"constant-Q: hop={o.resolved_hop}, {cq_bins} bins from C1, 12 per octave, centred frames")
    x = y[None, :, None].astype(np.float32)
    labels = {
        "stft": "STFT power (dB)",
        "mel": f"mel spectrogram, {o.n_mels} bands (dB)",
        "logfreq": f"log-frequency spectrogram, {o.n_bins} bins (dB)",
        "mfcc": f"MFCC, {o.n_mfcc} coefficients",
        "cqt": f"constant-Q transform, {cq_bins} bins (dB)",
        "vqt": f"variable-Q transform, {cq_bins} bins (dB)",
        "chroma": f"chroma (from an STFT), {o.n_chroma} bins",
    }
    reps = [(feature, labels[feature]) for feature in features]
    results = []
    outputs = {}  # feature: its features (frames, bins, 1) and options, for the sound
    for feature, label in reps:
        opts = FeatureOptions(**{**asdict(o), "feature": feature})
        if feature in ("cqt", "vqt"):
            opts.n_bins, opts.db = cq_bins, True
        elif feature == "chroma":
            opts.db = False
        with reported_warnings() as report:
            model = build_frontend(opts)
        report.print_to("kapre demo")
        out, first, warm = _timed(model, x)
        S = out[0, :, :, 0]
        reference = librosa_reference(feature, y, opts)
        deviation = None
        if reference is not None and reference.shape != S.shape:
            deviation = float("nan")
        elif reference is not None and feature in ("cqt", "vqt"):
            # librosa's decimation (soxr) and sparse filters leak tens of dB below the peaks: the measure,
            # the relative error of the magnitudes, says more than the largest dB difference
            got, want = 10.0 ** (S / 20.0), 10.0 ** (reference / 20.0)
            deviation = float(np.linalg.norm(got - want) / np.linalg.norm(want))
        elif reference is not None:
            deviation = float(np.max(np.abs(S - reference)))
        results.append((feature, label, S, out.shape, first, warm, deviation))
        outputs[feature] = (out[0], opts)

    unit = {"stft": "dB", "mel": "dB", "logfreq": "dB", "mfcc": "", "cqt": "relative (|C|)", "vqt": "relative (|C|)",
            "chroma": ""}
    header = ("representation", "output shape", "1st call", "2nd call", "max |kapre - librosa|")
    table = [header]
    for feature, label, _, shape, first, warm, deviation in results:
        if deviation is None:
            dev = "n/a (no librosa equivalent)" if feature == "logfreq" else "librosa not installed"
        else:
            dev = f"{deviation:.2g} {unit[feature]}".strip()
        table.append((label, str(tuple(shape)), f"{first * 1000:.0f} ms", f"{warm * 1000:.1f} ms", dev))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))

    ratios = [1.0] + [1.4 if feature in ("mfcc", "chroma") else 2.2 for feature in features]
    # 14 inches for the default four panels (ratios summing to 9), in proportion for others.
    fig, axes = plt.subplots(len(ratios), 1, figsize=(11, 14 * sum(ratios) / 9.0), layout="constrained",
                             gridspec_kw={"height_ratios": ratios}, squeeze=False)
    axes = axes[:, 0]
    fig.suptitle(f"kapre {kapre_version()} on Keras {keras.__version__} / {backend_name()}: {source}",
                 fontsize=11)
    plot.waveshow(y, sr=sr, ax=axes[0])
    axes[0].set_title("waveform", loc="left", fontsize=10)
    hidden_colorbar(fig, axes[0])
    y_axes = {"stft": "linear", "mel": "mel", "logfreq": "cqt_hz", "mfcc": "coef", "cqt": "cqt_note",
              "vqt": "cqt_note", "chroma": "chroma"}
    for ax, (feature, label, S, _, _, _, _) in zip(axes[1:], results, strict=True):
        limits = {}
        if feature == "mfcc":  # c0 (the mean level) dwarfs the others: scale the colours to c1 and up
            vmax = float(np.percentile(np.abs(S[:, 1:]), 99.5)) if S.shape[1] > 1 else None
            limits = {"vmin": -vmax, "vmax": vmax} if vmax else {}
        constant_q = feature in ("cqt", "vqt")  # centred frames
        colorbar = {"mfcc": "value (c0 clipped)", "chroma": "value"}.get(feature, "dB")
        plot.specshow(S, sr=sr, hop_length=o.resolved_hop, n_fft=None if constant_q else o.n_fft,
                      y_axis=y_axes[feature], ax=ax, center=constant_q, fmin=C1_HZ if constant_q else None,
                      cmap="coolwarm" if feature == "mfcc" else "magma", colorbar=colorbar, **limits)
        ax.set_xlim(0, y.shape[0] / sr)
        ax.set_title(label, loc="left", fontsize=10)
        ax.set_title(f"kapre: {layer_names(feature)}", loc="right", fontsize=8, color="0.35")
    save_figure(fig, args.output)
    plt.close(fig)
    print(f"wrote {args.output}")
    _write_sound(sound, y, sr, outputs)
    return 0


def _write_sound(path: str, y: np.ndarray, sr: int, outputs: dict) -> None:
    """The first drawn of :data:`SOUND_FEATURES` back into sound (``kapre invert``'s chain, 32 Griffin-Lim
    iterations, seed 0, peak 0.9), written to ``path`` through a temporary file."""
    from kapre.cli.invert import inverse_chain, normalize_peak, reconstruct, write_audio

    feature = next((name for name in SOUND_FEATURES if name in outputs), None)
    if feature is None:
        print("no sound: kapre invert turns stft, mel and mfcc back into sound, none of them is drawn (add "
              "--feature mel)")
        return
    features, opts = outputs[feature]
    start = time.perf_counter()
    audio = reconstruct(features, opts, n_iter=32, seed=0, length=y.shape[0])
    seconds = time.perf_counter() - start
    convergence = spectral_convergence(y, audio[:, 0], opts.n_fft, opts.resolved_hop)
    write_audio(path, normalize_peak(audio), sr)
    print(f"wrote {path}: the {_NAMES[feature]} back into sound ({inverse_chain(opts, 32, describe=True)}, "
          f"{seconds:.1f} s), spectral convergence against the clip {convergence:.2f}")


_NAMES = {"mel": "mel spectrogram", "stft": "STFT power", "mfcc": "MFCCs"}
