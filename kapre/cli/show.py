"""``kapre show``: draw the waveform and a feature of one audio file."""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from kapre.cli._output import OutputPathError, prepare_output_file, replace_atomically
from kapre.cli.info import backend_name
from kapre.cli.options import build_reported, describe, options_from_args

__all__ = ["run", "check_length", "too_short_error", "hidden_colorbar"]


def check_length(extractor, audio: np.ndarray, sample_rate: int) -> None:
    """Raise ``AudioError`` if ``audio`` is shorter than one frame of the front-end."""
    try:
        if extractor.num_frames(audio.shape[0], audio.shape[1]) is None and _checks_length(extractor.first_layer):
            # a front-end run clip by clip (a --frontend, a CQT with reflect padding): its own check, before a failed
            # call leaves a keras.Sequential built for another length
            extractor.first_layer.compute_output_shape((1, audio.shape[0], audio.shape[1]))
    except ValueError as err:
        raise too_short_error(extractor, audio.shape[0], sample_rate, str(err)) from err


def _checks_length(layer) -> bool:
    """A layer whose ``compute_output_shape`` refuses a clip shorter than it needs: :mod:`kapre.frontends`' and
    the constant-Q layers (``kapre.CQT``, ``kapre.VQT``, ``kapre.Chroma``)."""
    return _is_model_frontend(layer) or type(layer).__name__ in ("CQT", "VQT", "Chroma")


def _is_model_frontend(layer) -> bool:
    """A layer of :mod:`kapre.frontends`, whose ``compute_output_shape`` refuses a clip shorter than it needs."""
    from kapre import frontends

    return isinstance(layer, (frontends.KaldiFeatures, frontends.MelFeatures))


def too_short_error(extractor, samples: int, sample_rate: int, reason: str | None = None):
    from kapre.audio import AudioError

    first = extractor.first_layer
    needed = (getattr(first, "win_length", None) or getattr(first, "n_fft", None)) if first is not None else None
    constant_q = type(first).__name__ in ("CQT", "VQT") or getattr(first, "source", None) == "cqt"
    if constant_q and reason:  # the layer's reason in the flags' words (--pad-mode 'reflect', --fmin)
        from kapre.cli.options import _in_flags

        reason = _in_flags(reason)
    if needed is None or _is_model_frontend(first) or constant_q:  # the layer's own message
        reason = f": {reason}" if reason else ""
        return AudioError(f"too short: {samples} samples at {sample_rate} Hz for the front-end{reason}")
    return AudioError(f"too short: {samples} samples at {sample_rate} Hz, one frame needs {needed} "
                      "(lower --n-fft/--win-length)")


def save_figure(fig, path: str) -> None:
    """``fig.savefig`` through a temporary file and a rename: an interrupted run never leaves half a picture."""
    fmt = os.path.splitext(path)[1][1:].lower() or "png"
    replace_atomically(path, "wb", lambda f: fig.savefig(f, dpi=100, format=fmt))


def _output_format(layer) -> str:
    import keras

    fmt = getattr(layer, "output_data_format", None) or "channels_last"
    return keras.config.image_data_format() if fmt == "default" else fmt


def hidden_colorbar(fig, ax) -> None:
    """Reserve a colour bar's width next to ``ax`` so that its time axis lines up with the spectrograms'."""
    import matplotlib.cm

    cbar = fig.colorbar(matplotlib.cm.ScalarMappable(), ax=ax, pad=0.01)
    cbar.ax.set_visible(False)


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from kapre.extraction import Extractor

    options, model = options_from_args(parser, args)
    if args.config_note:
        print(f"kapre show: note: {args.config_note}", file=sys.stderr)
    try:
        from kapre import plot
        from kapre.audio import AudioError, MissingDependencyError, load_audio

        plt = plot._pyplot()
    except ImportError as err:
        print(f"kapre show: error: {err}", file=sys.stderr)
        return 1
    if args.frontend_spec is not None:
        return _run_frontend(parser, args, options, args.frontend_spec, plot, plt)
    if model is None:
        # Without --db the picture still shows decibels (of the power, or 20*log10 of a magnitude).
        # Chroma is drawn as it is (each frame's maximum 1).
        model = build_reported(parser, options, db="auto" if options.db or options.feature in ("mfcc", "chroma")
                               else "picture")
    elif len(args.frontend_output.shape) != 4:
        parser.error(f"--config {args.config}: the front-end returns shape {tuple(args.frontend_output.shape)} per "
                     "batch; kapre show draws (batch, frames, bins, channels)")
    try:  # before computing anything: the folder is created, a file in the way or no permission is reported
        prepare_output_file(args.output)
    except OutputPathError as err:
        parser.error(f"-o {args.output}: {err}")
    try:
        audio, sr = load_audio(args.file, sample_rate=options.sample_rate, mono=options.mono)
        extractor = Extractor(model)
        check_length(extractor, audio, sr)
        features = extractor([audio])[0]
    except (AudioError, MissingDependencyError, ValueError) as err:
        print(f"kapre show: error: {args.file}: {err}", file=sys.stderr)
        return 1
    if features.ndim != 3:
        print(f"kapre show: error: the front-end's output per file has shape {features.shape}; "
              "expected (frames, bins, channels)", file=sys.stderr)
        return 1
    desc = describe(model)
    if _output_format(extractor.first_layer) == "channels_first":
        features = np.transpose(features, (1, 2, 0))  # (channels, frames, bins) -> (frames, bins, channels)
    channels = features.shape[-1]
    fig, axes = plt.subplots(1 + channels, 1, figsize=(10, 2 + 3.2 * channels), layout="constrained",
                             gridspec_kw={"height_ratios": [1] + [2] * channels}, squeeze=False)
    axes = axes[:, 0]
    plot.waveshow(audio, sr=sr, ax=axes[0])
    hidden_colorbar(fig, axes[0])
    axes[0].set_title(f"{os.path.basename(args.file)}: {audio.shape[0] / sr:.2f} s at {sr} Hz"
                      + (", mono mix" if options.mono else ""))
    unit = {"amplitude": "dB", "power": "dB", "kapre": "dB (kapre: 10·log10 |X|)", False: "value"}[desc["db"]]
    if desc["y_axis"] == "coef":
        unit = "MFCC value"
    elif desc["y_axis"] == "chroma":
        unit = "chroma (frame maximum 1)"
    for c in range(channels):
        ax = axes[1 + c]
        plot.specshow(features[:, :, c], sr=sr, hop_length=desc["hop"], n_fft=desc["n_fft"], y_axis=desc["y_axis"],
                      ax=ax, fmin=desc["fmin"], fmax=desc["fmax"], htk=desc["htk"], bins_per_octave=desc["bpo"],
                      center=desc["center"], tuning=desc["tuning"], n_chroma=desc["n_chroma"], colorbar=unit,
                      cmap="coolwarm" if desc["y_axis"] == "coef" else "magma")
        ax.set_title(f"{desc['label']}" + (f", channel {c}" if channels > 1 else "")
                     + f"  {tuple(features.shape[:2])}")
    save_figure(fig, args.output)
    plt.close(fig)
    print(f"kapre show: wrote {args.output} ({desc['label']}, shape {tuple(features.shape)}, backend "
          f"{backend_name()})")
    return 0


def _run_frontend(parser, args, options, spec, plot, plt) -> int:
    """``kapre show --frontend NAME``: the front-end's output for the file, drawn frames along x."""
    from kapre.audio import AudioError, MissingDependencyError, load_audio
    from kapre.cli.frontends import display_decibels, mel_axis, time_axis
    from kapre.extraction import Extractor

    axes = spec.axes(options.mono)
    if "patches" in axes:
        parser.error(f"--frontend {spec.name} with patches=true gives patches of frames; kapre show draws one "
                     "spectrogram: leave out --frontend-arg patches")
    try:
        prepare_output_file(args.output)
    except OutputPathError as err:
        parser.error(f"-o {args.output}: {err}")
    try:
        audio, sr = load_audio(args.file, sample_rate=options.sample_rate, mono=options.mono)
        extractor = Extractor(spec.layer)
        check_length(extractor, audio, sr)
        features = extractor([audio])[0]
    except (AudioError, MissingDependencyError, ValueError) as err:
        print(f"kapre show: error: {args.file}: {err}", file=sys.stderr)
        return 1
    shape = tuple(features.shape[:-1] if options.mono else features.shape)  # as kapre extract saves it
    if features.ndim != 3:
        print(f"kapre show: error: --frontend {spec.name}'s output per file has shape {features.shape}; expected "
              "(frames, features, channels) in some order", file=sys.stderr)
        return 1
    order = [axes.index("frames"), axes.index("features")] if options.mono else [axes.index(a) for a in
                                                                                  ("frames", "features", "channels")]
    features = np.transpose(features, order + [2] if options.mono else order)  # (frames, features, channels)
    unit = "value"
    decibels = display_decibels(spec)
    if decibels is not None:  # a linear spectrogram: shown in dB, 80 dB below its maximum
        scale = 20.0 if decibels == "amplitude" else 10.0
        features = scale * np.log10(np.maximum(features, 1e-10 if scale == 10.0 else 1e-5))
        features = np.maximum(features, features.max() - 80.0)
        unit = "dB"
    hop, window, center = time_axis(spec)
    axis = mel_axis(spec)
    label = "MFCC" if axis["y_axis"] == "coef" else "log-mel" if decibels is None else "mel spectrogram"
    channels = features.shape[-1]
    fig, panels = plt.subplots(1 + channels, 1, figsize=(10, 2 + 3.2 * channels), layout="constrained",
                               gridspec_kw={"height_ratios": [1] + [2] * channels}, squeeze=False)
    panels = panels[:, 0]
    plot.waveshow(audio, sr=sr, ax=panels[0])
    hidden_colorbar(fig, panels[0])
    panels[0].set_title(f"{os.path.basename(args.file)}: {audio.shape[0] / sr:.2f} s at {sr} Hz"
                        + (", mono mix" if options.mono else ""))
    for c in range(channels):
        ax = panels[1 + c]
        plot.specshow(features[:, :, c], sr=sr, hop_length=hop, n_fft=window, y_axis=axis["y_axis"], ax=ax,
                      fmin=axis["fmin"], fmax=axis["fmax"], htk=axis["htk"], center=center,
                      colorbar="MFCC value" if axis["y_axis"] == "coef" else unit,
                      cmap="coolwarm" if axis["y_axis"] == "coef" else "magma")
        ax.set_title(f"--frontend {spec.name} (kapre.frontends.{spec.builder}): {label}"
                     + (f", channel {c}" if channels > 1 else "") + f"  {shape}")
    save_figure(fig, args.output)
    plt.close(fig)
    print(f"kapre show: wrote {args.output} (--frontend {spec.name}, shape {shape}: ({', '.join(axes)}), backend "
          f"{backend_name()})")
    return 0
