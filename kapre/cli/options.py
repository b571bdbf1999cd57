"""The feature options shared by ``kapre extract`` and ``kapre show``: :class:`FeatureOptions`, their argparse
flags, ``--config`` files, and the front-end built from them."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass

__all__ = ["FEATURES", "C1_HZ", "FeatureOptions", "add_feature_options", "options_from_args", "build_frontend",
           "mfcc_layer", "describe", "positive_int", "kapre_version"]

FEATURES = ("stft", "mel", "logfreq", "mfcc")
C1_HZ = 32.70319566

# kapre's MagnitudeToDecibel() defaults, which `--db` has always meant.
DB_AMIN, DB_REF, DB_RANGE = 1e-5, 1.0, 80.0


@dataclass
class FeatureOptions:
    """The front-end the command builds from its options (see ``kapre extract --help``)."""

    feature: str = "mel"
    sample_rate: int = 22050
    n_fft: int = 2048
    hop_length: int | None = None
    win_length: int | None = None
    n_mels: int = 128
    n_mfcc: int = 20
    n_bins: int = 84
    db: bool = False
    mono: bool = True

    @property
    def resolved_hop(self) -> int:
        return self.hop_length or max(1, (self.win_length or self.n_fft) // 4)


# Keys accepted in an options file given to --config, with the FeatureOptions field they set.
CONFIG_KEYS = {
    "feature": "feature",
    "sr": "sample_rate",
    "sample_rate": "sample_rate",
    "n_fft": "n_fft",
    "hop": "hop_length",
    "hop_length": "hop_length",
    "win_length": "win_length",
    "n_mels": "n_mels",
    "n_mfcc": "n_mfcc",
    "n_mfccs": "n_mfcc",
    "n_bins": "n_bins",
    "log_n_bins": "n_bins",
    "db": "db",
    "return_decibel": "db",
    "mono": "mono",
}
_OPTION_DESTS = ("feature", "sample_rate", "n_fft", "hop_length", "win_length", "n_mels", "n_mfcc", "n_bins", "db")


def kapre_version() -> str:
    import kapre

    return getattr(kapre, "__version__", "unknown")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_feature_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("feature options (defaults: kapre's layer defaults)")
    group.add_argument("--feature", choices=FEATURES, default=None, help="representation to compute (default: mel)")
    group.add_argument("--sr", dest="sample_rate", type=positive_int, default=None, metavar="HZ",
                       help="sample rate; files at another rate are resampled (default: 22050)")
    group.add_argument("--n-fft", type=positive_int, default=None, metavar="N", help="FFT size (default: 2048)")
    group.add_argument("--hop", dest="hop_length", type=positive_int, default=None, metavar="N",
                       help="hop between frames in samples (default: win-length // 4)")
    group.add_argument("--win-length", type=positive_int, default=None, metavar="N",
                       help="window length, at most n-fft (default: n-fft)")
    group.add_argument("--n-mels", type=positive_int, default=None, metavar="N",
                       help="mel bands for mel and mfcc (default: 128)")
    group.add_argument("--n-mfcc", type=positive_int, default=None, metavar="N",
                       help="MFCC coefficients (default: 20)")
    group.add_argument("--n-bins", type=positive_int, default=None, metavar="N",
                       help="log-frequency bins from C1, 12 per octave (default: 84)")
    group.add_argument("--db", action="store_true", default=None,
                       help="decibels (kapre.MagnitudeToDecibel: 10*log10, 80 dB range); mfcc always uses log-mel")
    channels = group.add_mutually_exclusive_group()
    channels.add_argument("--mono", dest="mono", action="store_true", default=None,
                          help="average the channels first; output (frames, bins, 1) (default)")
    channels.add_argument("--per-channel", dest="mono", action="store_false",
                          help="keep the channels; output (frames, bins, channels)")
    group.add_argument("--config", metavar="FILE.json", default=None,
                       help="front-end from a JSON file: options ({\"feature\": \"mel\", \"n_fft\": 1024, ...}), a "
                            "Keras layer config (model.get_config() serialized), or a kapre-frontend.json written by "
                            "kapre extract")


def options_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[FeatureOptions, object]:
    """Options and, when --config holds a Keras config, the deserialized front-end (else ``None``; the config is
    then also in ``args.keras_config``)."""
    from kapre.extraction import sample_rate_of

    explicit = {name: getattr(args, name) for name in (*_OPTION_DESTS, "mono") if getattr(args, name) is not None}
    options = FeatureOptions()
    model = None
    if args.config:
        try:
            with open(args.config) as f:
                config = json.load(f)
        except OSError as err:
            parser.error(f"--config: cannot read {args.config}: {err.strerror or err}")
        except ValueError as err:
            parser.error(f"--config: {args.config} is not valid JSON: {err}")
        if not isinstance(config, dict):
            parser.error(f"--config: {args.config} must hold a JSON object")
        if isinstance(config.get("options"), dict):  # a kapre-frontend.json written from options
            config = {**config["options"], "sample_rate": config.get("sample_rate", options.sample_rate),
                      "mono": config.get("mono", options.mono)}
        keras_config = config.get("model") if "model" in config else config if "class_name" in config else None
        if keras_config is not None:
            given = sorted(name for name in explicit if name not in ("sample_rate", "mono"))
            if given:
                flag = {"hop_length": "hop"}.get(given[0], given[0]).replace("_", "-")
                parser.error(f"--config holds a Keras layer config; do not combine it with --{flag}")
            model = _deserialize_frontend(parser, keras_config, args.config)
            args.keras_config = keras_config
            options.sample_rate = int(config.get("sample_rate") or sample_rate_of(model) or options.sample_rate)
            options.mono = bool(config.get("mono", True))
        else:
            unknown = sorted(set(config) - set(CONFIG_KEYS))
            if unknown:
                parser.error(f"--config: unknown key(s) {unknown} in {args.config}; known: {sorted(CONFIG_KEYS)}")
            for key, value in config.items():
                setattr(options, CONFIG_KEYS[key], value)
    for name, value in explicit.items():
        setattr(options, name, value)
    check_options(parser, options)
    return options, model


def check_options(parser: argparse.ArgumentParser, o: FeatureOptions) -> None:
    if o.feature not in FEATURES:
        parser.error(f"feature must be one of {list(FEATURES)}, got {o.feature!r}")
    for name in ("sample_rate", "n_fft", "n_mels", "n_mfcc", "n_bins"):
        value = getattr(o, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            parser.error(f"{name} must be a positive integer, got {value!r}")
    for name in ("hop_length", "win_length"):
        value = getattr(o, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            parser.error(f"{name} must be a positive integer, got {value!r}")
    if o.win_length is not None and o.win_length > o.n_fft:
        parser.error(f"--win-length ({o.win_length}) must be at most --n-fft ({o.n_fft})")
    if o.n_fft < 2:
        parser.error("--n-fft must be at least 2")
    if o.feature == "mfcc" and o.n_mfcc > o.n_mels:
        parser.error(f"--n-mfcc ({o.n_mfcc}) must be at most --n-mels ({o.n_mels})")
    if o.feature == "logfreq":
        top = C1_HZ * 2 ** (o.n_bins / 12)
        if top > o.sample_rate // 2:
            fits = int(math.floor(12 * math.log2((o.sample_rate // 2) / C1_HZ)))
            parser.error(f"--n-bins {o.n_bins} reaches {top:.0f} Hz, above the Nyquist frequency of --sr "
                         f"{o.sample_rate} ({o.sample_rate // 2} Hz); use --n-bins {fits} or less")
    if not isinstance(o.db, bool) or not isinstance(o.mono, bool):
        parser.error("db and mono must be true or false")


def _deserialize_frontend(parser, config, path):
    import keras

    try:
        return keras.saving.deserialize_keras_object(config)
    except Exception as err:
        parser.error(f"--config: {path} holds a Keras config that cannot be rebuilt: {type(err).__name__}: {err}")


# ------------------------------------------------------------------------------------------------------------------
# The front-end: kapre layers
# ------------------------------------------------------------------------------------------------------------------


def mfcc_layer(n_mfcc: int):
    """``kapre.LogmelToMFCC`` over the mel axis of a channels_last log-mel spectrogram."""
    import kapre

    return kapre.LogmelToMFCC(n_mfccs=n_mfcc, data_format="channels_last")


def mel_layer(options: FeatureOptions, return_decibel: bool):
    """``kapre.MelSpectrogram`` of the STFT magnitude (``power=1``), with ``--db``'s decibels: the numbers of
    ``kapre.composed.get_melspectrogram_layer`` (STFT > Magnitude > ApplyFilterbank('mel') > MagnitudeToDecibel())
    on kapre's fast path."""
    import kapre

    o = options
    return kapre.MelSpectrogram(
        n_fft=o.n_fft, win_length=o.win_length, hop_length=o.hop_length, sample_rate=o.sample_rate,
        n_mels=o.n_mels, mel_f_min=0.0, mel_f_max=None, mel_htk=False, mel_norm="slaney", power=1.0,
        return_decibel=return_decibel, db_amin=DB_AMIN, db_ref_value=DB_REF, db_dynamic_range=DB_RANGE,
        input_data_format="channels_last", output_data_format="channels_last",
    )


def build_frontend(options: FeatureOptions, db: str | None = "auto"):
    """A ``keras.Sequential`` of kapre layers for ``options``: ``(batch, time, channels)`` waveforms in,
    ``(batch, frames, bins, channels)`` out (channels_last on both sides).

    ``mel`` is ``kapre.MelSpectrogram`` of the magnitude (``power=1``) and ``mfcc`` its log-mel followed by
    ``kapre.LogmelToMFCC``; ``stft`` and ``logfreq`` are ``kapre.composed``'s STFT > Magnitude (> ApplyFilterbank)
    chains.

    Args:
        options: the feature options.
        db: ``'auto'`` follows ``options.db`` (kapre's ``MagnitudeToDecibel()``, 10*log10); ``'amplitude'`` appends
            ``MagnitudeToDecibel(amplitude=True)`` (20*log10, for pictures); ``None`` means no decibels. MFCCs are
            always computed from kapre's log-mel (``return_decibel=True``).
    """
    import keras

    from kapre import MagnitudeToDecibel, composed

    o = options
    common = {
        "n_fft": o.n_fft,
        "win_length": o.win_length,
        "hop_length": o.hop_length,
        "input_data_format": "channels_last",
        "output_data_format": "channels_last",
    }
    kapre_db = o.db if db == "auto" else False
    if o.feature == "stft":
        layers = composed.get_stft_magnitude_layer(return_decibel=kapre_db, **common).layers
        name = "stft_magnitude"
    elif o.feature == "mel":
        layers, name = [mel_layer(o, return_decibel=kapre_db)], "melspectrogram"
    elif o.feature == "logfreq":
        layers = composed.get_log_frequency_spectrogram_layer(sample_rate=o.sample_rate, log_n_bins=o.n_bins,
                                                              return_decibel=kapre_db, **common).layers
        name = "log_frequency_spectrogram"
    else:
        return keras.Sequential([mel_layer(o, return_decibel=True), mfcc_layer(o.n_mfcc)], name="mfcc")
    if db == "amplitude":
        layers = [*layers, MagnitudeToDecibel(amplitude=True)]
    return keras.Sequential(list(layers), name=name)


def describe(model) -> dict:
    """What the axes of the front-end's output are, for plotting."""
    import kapre
    from kapre.extraction import frontend_layers

    desc = {"y_axis": "linear", "n_fft": 2048, "hop": 512, "fmin": None, "fmax": None, "htk": False, "bpo": 12,
            "db": False, "label": "STFT magnitude", "center": False}
    for layer in frontend_layers(model):
        if isinstance(layer, (kapre.STFT, kapre.MelSpectrogram)):
            desc["n_fft"] = layer.n_fft
            win = layer.win_length or layer.n_fft
            desc["hop"] = layer.hop_length or max(1, win // 4)
            desc["center"] = bool(getattr(layer, "center", False))
        if isinstance(layer, kapre.MelSpectrogram):
            desc.update(y_axis="mel", fmin=layer.mel_f_min, fmax=layer.mel_f_max, htk=bool(layer.mel_htk),
                        label="mel spectrogram")
            if layer.return_decibel:  # 10*log10 of a power is the usual dB; of a magnitude, kapre's
                desc["db"] = "amplitude" if layer.power == 2.0 else "kapre"
        elif isinstance(layer, kapre.ApplyFilterbank):
            kw = layer.filterbank_kwargs
            if layer.type == "mel":
                desc.update(y_axis="mel", fmin=kw.get("f_min"), fmax=kw.get("f_max"), htk=bool(kw.get("htk", False)),
                            label="mel spectrogram")
            else:
                desc.update(y_axis="cqt_hz", fmin=kw.get("f_min"), bpo=kw.get("bins_per_octave", 12),
                            label="log-frequency spectrogram")
        elif isinstance(layer, kapre.MagnitudeToDecibel):
            desc["db"] = "amplitude" if layer.amplitude else "kapre"
        elif isinstance(layer, kapre.LogmelToMFCC):
            desc.update(y_axis="coef", db=False, label="MFCC")
    return desc
