"""The feature options shared by ``kapre extract`` and ``kapre show``: :class:`FeatureOptions`, ``--config``
files, the record of a front-end (``kapre-frontend.json``) and the front-end built from the options.

The flags themselves are defined in :mod:`kapre_cli.parser` (standard library only, so that ``--help`` is fast).

Decibels have one definition across the command and the layers: ``--db`` is what
``kapre.MelSpectrogram(return_decibel=True)`` computes with its defaults, librosa's
``power_to_db(S, ref=1.0, amin=1e-10, top_db=80.0)`` of the power spectrogram ``S`` (through the filterbank for
``mel`` and ``logfreq``), with the floor ``top_db`` below each file's own maximum. ``--power``, ``--amin``,
``--ref`` and ``--top-db`` choose otherwise, and the record keeps them.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass, fields

from kapre_cli.parser import C1_HZ, FEATURES, WINDOWS, add_feature_options, positive_int

__all__ = ["FEATURES", "C1_HZ", "FeatureOptions", "add_feature_options", "options_from_args", "build_frontend",
           "mfcc_layer", "describe", "positive_int", "kapre_version", "RECORD_FORMAT", "LEGACY_OPTIONS",
           "options_from_record", "frontend_record"]

# The version of kapre-frontend.json's layout. Records without "format" were written by kapre 1.0 pre-releases,
# whose --db was 10*log10 of the *magnitude* with amin 1e-5 and whose MFCCs used LogmelToMFCC's default DCT.
RECORD_FORMAT = 2
LEGACY_OPTIONS = {"power": 1.0, "amin": 1e-5, "ref": 1.0, "top_db": 80.0, "dct_norm": None}
LEGACY_NOTE = ("written by a kapre 1.0 pre-release: its numbers are kept (power 1: the magnitude; decibels "
               "10*log10(max(S, 1e-5)), 80 dB range; MFCCs with kapre's DCT scaling), not today's defaults")


@dataclass
class FeatureOptions:
    """The front-end the command builds from its options (see ``kapre extract --help`` and ``docs/cli.md``)."""

    feature: str = "mel"
    sample_rate: int = 22050
    n_fft: int = 2048
    hop_length: int | None = None
    win_length: int | None = None
    window: str | None = None
    center: bool = False
    pad_mode: str = "constant"
    power: float = 2.0
    n_mels: int = 128
    fmin: float | None = None
    fmax: float | None = None
    n_mfcc: int = 20
    n_bins: int = 84
    db: bool = False
    top_db: float | None = 80.0
    amin: float = 1e-10
    ref: float | str = 1.0
    dct_norm: str | None = "ortho"
    mono: bool = True

    @property
    def resolved_hop(self) -> int:
        return self.hop_length or max(1, (self.win_length or self.n_fft) // 4)


# Keys accepted in an options file given to --config, with the FeatureOptions field they set.
CONFIG_KEYS = {
    **{f.name: f.name for f in fields(FeatureOptions)},
    "sr": "sample_rate",
    "hop": "hop_length",
    "n_mfccs": "n_mfcc",
    "log_n_bins": "n_bins",
    "return_decibel": "db",
    "window_name": "window",
    "f_min": "fmin",
    "f_max": "fmax",
    "mel_f_min": "fmin",
    "mel_f_max": "fmax",
    "db_amin": "amin",
    "db_ref_value": "ref",
    "ref_value": "ref",
    "db_dynamic_range": "top_db",
    "dynamic_range": "top_db",
}
# argparse destinations that set a FeatureOptions field of the same name.
_OPTION_DESTS = ("feature", "sample_rate", "n_fft", "hop_length", "win_length", "window", "center", "pad_mode",
                 "power", "n_mels", "fmin", "fmax", "n_mfcc", "n_bins", "db", "top_db", "amin", "ref", "mono")
_FLAGS = {"sample_rate": "--sr", "hop_length": "--hop"}


def _flag(name: str) -> str:
    return _FLAGS.get(name, "--" + name.replace("_", "-"))


def kapre_version() -> str:
    import kapre

    return getattr(kapre, "__version__", "unknown")


def options_from_record(record: dict) -> tuple[FeatureOptions, bool]:
    """The options a ``kapre-frontend.json`` written from options holds, and whether it is a legacy record (a
    kapre 1.0 pre-release's, read with the numbers it had: :data:`LEGACY_OPTIONS`)."""
    legacy = "format" not in record
    values = {**asdict(FeatureOptions()), **(LEGACY_OPTIONS if legacy else {})}
    values.update(record.get("options") or {})
    values["sample_rate"] = record.get("sample_rate", values["sample_rate"])
    values["mono"] = record.get("mono", values["mono"])
    known = {f.name for f in fields(FeatureOptions)}
    return FeatureOptions(**{k: v for k, v in values.items() if k in known}), legacy


def frontend_record(options: FeatureOptions, keras_config: dict | None, input_root: str | None = None) -> dict:
    """What ``kapre-frontend.json`` holds: the options (all of them, defaults included), or the Keras config given
    with --config; and the folder output paths are relative to."""
    record = {"format": RECORD_FORMAT, "kapre_version": kapre_version(), "sample_rate": options.sample_rate,
              "mono": options.mono}
    if keras_config is None:
        record["options"] = {k: v for k, v in asdict(options).items() if k not in ("sample_rate", "mono")}
    else:
        record["model"] = keras_config
    if input_root is not None:
        record["input_root"] = input_root
    return record


def options_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[FeatureOptions, object]:
    """Options and, when --config holds a Keras config, the deserialized front-end (else ``None``; the config is
    then also in ``args.keras_config``). ``args.config_note`` says when a legacy record was read."""
    from kapre.extraction import sample_rate_of

    explicit = {name: getattr(args, name) for name in _OPTION_DESTS if getattr(args, name, None) is not None}
    options = FeatureOptions()
    model = None
    args.keras_config, args.config_note = None, None
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
        keras_config = config.get("model") if "model" in config else config if "class_name" in config else None
        if keras_config is not None:
            given = sorted(name for name in explicit if name not in ("sample_rate", "mono"))
            if given:
                parser.error(f"--config holds a Keras layer config; do not combine it with {_flag(given[0])}")
            model = _deserialize_frontend(parser, keras_config, args.config)
            args.keras_config = keras_config
            options.sample_rate = int(config.get("sample_rate") or sample_rate_of(model) or options.sample_rate)
            options.mono = bool(config.get("mono", True))
        elif isinstance(config.get("options"), dict):  # a kapre-frontend.json written from options
            unknown = sorted(set(config["options"]) - set(CONFIG_KEYS))
            if unknown:
                parser.error(f"--config: unknown key(s) {unknown} in {args.config}; known: {sorted(CONFIG_KEYS)}")
            options, legacy = options_from_record(config)
            if legacy:
                args.config_note = f"{args.config}: {LEGACY_NOTE}"
        else:
            unknown = sorted(set(config) - set(CONFIG_KEYS))
            if unknown:
                parser.error(f"--config: unknown key(s) {unknown} in {args.config}; known: {sorted(CONFIG_KEYS)}")
            for key, value in config.items():
                setattr(options, CONFIG_KEYS[key], value)
    for name, value in explicit.items():
        setattr(options, name, value)
    if model is None:
        check_options(parser, options, explicit)
    return options, model


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_options(parser: argparse.ArgumentParser, o: FeatureOptions, explicit: dict | None = None) -> None:
    """Every option checked together (a --config file's values too), with the flag's name in the message."""
    explicit = explicit or {}
    if o.feature not in FEATURES:
        parser.error(f"feature must be one of {list(FEATURES)}, got {o.feature!r}")
    for name in ("sample_rate", "n_fft", "n_mels", "n_mfcc", "n_bins"):
        value = getattr(o, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            parser.error(f"{_flag(name)} must be a positive integer, got {value!r}")
    for name in ("hop_length", "win_length"):
        value = getattr(o, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            parser.error(f"{_flag(name)} must be a positive integer, got {value!r}")
    for name in ("db", "mono", "center"):
        if not isinstance(getattr(o, name), bool):
            parser.error(f"{name} must be true or false, got {getattr(o, name)!r}")
    if o.window is not None and o.window not in WINDOWS:
        parser.error(f"--window must be one of {', '.join(WINDOWS)}, got {o.window!r}")
    if o.pad_mode not in ("constant", "reflect"):
        parser.error(f"--pad-mode must be constant or reflect, got {o.pad_mode!r}")
    if "pad_mode" in explicit and not o.center:
        parser.error("--pad-mode applies to centred frames: add --center")
    if o.power not in (1, 2) or isinstance(o.power, bool):
        parser.error(f"--power must be 1 (magnitude) or 2 (power), got {o.power!r}")
    o.power = float(o.power)
    if not _is_number(o.amin) or o.amin <= 0:
        parser.error(f"--amin must be a number > 0, got {o.amin!r}")
    if o.ref != "max" and (not _is_number(o.ref) or o.ref <= 0):
        parser.error(f"--ref must be a number > 0 or 'max', got {o.ref!r}")
    if o.top_db is not None and (not _is_number(o.top_db) or o.top_db <= 0):
        parser.error(f"--top-db must be a number > 0 or none, got {o.top_db!r}")
    if o.dct_norm not in ("ortho", None):
        parser.error(f"dct_norm must be 'ortho' or null, got {o.dct_norm!r}")
    for name in ("fmin", "fmax"):
        value = getattr(o, name)
        if value is not None and (not _is_number(value) or value < 0):
            parser.error(f"{_flag(name)} must be a number >= 0, got {value!r}")
    if o.win_length is not None and o.win_length > o.n_fft:
        parser.error(f"--win-length ({o.win_length}) must be at most --n-fft ({o.n_fft})")
    if o.n_fft < 2:
        parser.error("--n-fft must be at least 2")
    nyquist = o.sample_rate / 2
    if o.feature in ("mel", "mfcc"):
        if o.fmax is not None and o.fmax > nyquist:
            parser.error(f"--fmax {o.fmax:g} Hz is above the Nyquist frequency of --sr {o.sample_rate} "
                         f"({nyquist:g} Hz)")
        low, high = o.fmin or 0.0, o.fmax if o.fmax is not None else nyquist
        if low >= high:
            parser.error(f"--fmin ({low:g} Hz) must be below --fmax ({high:g} Hz, sr / 2 by default)")
    else:
        for name in ("fmax",) if o.feature == "logfreq" else ("fmin", "fmax"):
            if name in explicit:
                uses = "mel and mfcc" if name == "fmax" else "mel, mfcc and logfreq"
                parser.error(f"{_flag(name)} applies to --feature {uses}, not {o.feature}")
    if o.feature == "mfcc" and o.n_mfcc > o.n_mels:
        parser.error(f"--n-mfcc ({o.n_mfcc}) must be at most --n-mels ({o.n_mels})")
    if o.feature == "logfreq":
        fmin = C1_HZ if o.fmin is None else o.fmin
        if fmin <= 0:
            parser.error("--fmin must be > 0 for --feature logfreq (a logarithmic axis)")
        top = fmin * 2 ** (o.n_bins / 12)
        if top > o.sample_rate // 2:
            fits = int(math.floor(12 * math.log2((o.sample_rate // 2) / fmin))) if fmin < nyquist else 0
            parser.error(f"--n-bins {o.n_bins} from {fmin:.1f} Hz reaches {top:.0f} Hz, above the Nyquist frequency "
                         f"of --sr {o.sample_rate} ({o.sample_rate // 2} Hz); use --n-bins {fits} or less")


def _deserialize_frontend(parser, config, path):
    import keras

    try:
        return keras.saving.deserialize_keras_object(config)
    except Exception as err:
        parser.error(f"--config: {path} holds a Keras config that cannot be rebuilt: {type(err).__name__}: {err}")


# ------------------------------------------------------------------------------------------------------------------
# The front-end: kapre layers
# ------------------------------------------------------------------------------------------------------------------


def mfcc_layer(n_mfcc: int, dct_norm: str | None = "ortho"):
    """``kapre.LogmelToMFCC`` over the mel axis of a channels_last log-mel spectrogram (``dct_norm='ortho'``:
    librosa's MFCC)."""
    import kapre

    return kapre.LogmelToMFCC(n_mfccs=n_mfcc, data_format="channels_last", dct_norm=dct_norm)


def _frames(o: FeatureOptions) -> dict:
    return {"n_fft": o.n_fft, "win_length": o.win_length, "hop_length": o.hop_length}


def mel_layer(options: FeatureOptions, return_decibel: bool):
    """``kapre.MelSpectrogram`` with the options' framing, filterbank, power and decibels."""
    import kapre

    o = options
    return kapre.MelSpectrogram(
        **_frames(o), window_name=o.window, sample_rate=o.sample_rate, n_mels=o.n_mels,
        mel_f_min=0.0 if o.fmin is None else float(o.fmin), mel_f_max=o.fmax, mel_htk=False, mel_norm="slaney",
        power=o.power, return_decibel=return_decibel, db_amin=o.amin, db_ref_value=o.ref, db_dynamic_range=o.top_db,
        input_data_format="channels_last", output_data_format="channels_last", center=o.center, pad_mode=o.pad_mode,
    )


def build_frontend(options: FeatureOptions, db: str | None = "auto"):
    """A ``keras.Sequential`` of kapre layers for ``options``: ``(batch, time, channels)`` waveforms in,
    ``(batch, frames, bins, channels)`` out (channels_last on both sides).

    ``stft`` is ``STFT > Magnitude(power)``, ``logfreq`` that ``> ApplyFilterbank('log')``, each
    ``> MagnitudeToDecibel(ref, amin, top_db)`` with decibels; ``mel`` is ``kapre.MelSpectrogram`` and ``mfcc`` its
    decibels ``> kapre.LogmelToMFCC``. With power 2 and the default ``amin``/``ref``/``top_db`` the decibels are
    ``librosa.power_to_db`` of the (filtered) power spectrogram, per file.

    Args:
        options: the feature options.
        db: ``'auto'`` follows ``options.db``; ``'picture'`` always gives decibels (for ``kapre show``: of the
            power, or ``20 * log10`` of a magnitude so that the scale is the same); ``None`` means no decibels.
            MFCCs are always computed from the decibels.
    """
    import keras

    import kapre

    o = options
    if db == "picture":
        decibels = {"amplitude": o.power == 1.0, "amin": math.sqrt(o.amin) if o.power == 1.0 else o.amin}
    else:
        decibels = {"amplitude": False, "amin": o.amin} if (o.db if db == "auto" else False) else None
    if o.feature == "mfcc":
        return keras.Sequential([mel_layer(o, return_decibel=True), mfcc_layer(o.n_mfcc, o.dct_norm)], name="mfcc")
    if o.feature == "mel" and (decibels is None or not decibels["amplitude"]):
        return keras.Sequential([mel_layer(o, return_decibel=decibels is not None)], name="melspectrogram")
    if o.feature == "mel":
        layers = [mel_layer(o, return_decibel=False)]
    else:
        layers = [kapre.STFT(**_frames(o), window_name=o.window, center=o.center, pad_mode=o.pad_mode,
                             input_data_format="channels_last", output_data_format="channels_last"),
                  kapre.Magnitude(power=o.power)]
        if o.feature == "logfreq":
            fmin = C1_HZ if o.fmin is None else float(o.fmin)
            layers.append(kapre.ApplyFilterbank("log", {"sample_rate": o.sample_rate, "n_freq": o.n_fft // 2 + 1,
                                                        "n_bins": o.n_bins, "bins_per_octave": 12, "f_min": fmin},
                                                data_format="channels_last"))
    if decibels is not None:
        ref = o.ref if o.ref == "max" or not decibels["amplitude"] else math.sqrt(o.ref)
        layers.append(kapre.MagnitudeToDecibel(ref_value=ref, amin=decibels["amin"], dynamic_range=o.top_db,
                                               amplitude=decibels["amplitude"]))
    name = {"stft": "stft_magnitude" if o.power == 1.0 else "stft_power", "mel": "melspectrogram",
            "logfreq": "log_frequency_spectrogram"}[o.feature]
    return keras.Sequential(layers, name=name)


def describe(model) -> dict:
    """What the axes of the front-end's output are, for plotting."""
    import kapre
    from kapre.extraction import frontend_layers

    desc = {"y_axis": "linear", "n_fft": 2048, "hop": 512, "fmin": None, "fmax": None, "htk": False, "bpo": 12,
            "db": False, "label": "STFT magnitude", "center": False}
    power = 1.0
    for layer in frontend_layers(model):
        if isinstance(layer, (kapre.STFT, kapre.MelSpectrogram)):
            desc["n_fft"] = layer.n_fft
            win = layer.win_length or layer.n_fft
            desc["hop"] = layer.hop_length or max(1, win // 4)
            desc["center"] = bool(getattr(layer, "center", False))
        if isinstance(layer, kapre.Magnitude):
            power = layer.power
            desc["label"] = "STFT power" if power == 2.0 else "STFT magnitude"
        if isinstance(layer, kapre.MelSpectrogram):
            power = layer.power
            desc.update(y_axis="mel", fmin=layer.mel_f_min, fmax=layer.mel_f_max, htk=bool(layer.mel_htk),
                        label="mel spectrogram")
            if layer.return_decibel:  # 10*log10 of a power is the usual dB; of a magnitude, kapre's
                desc["db"] = "power" if power == 2.0 else "kapre"
        elif isinstance(layer, kapre.ApplyFilterbank):
            kw = layer.filterbank_kwargs
            if layer.type == "mel":
                desc.update(y_axis="mel", fmin=kw.get("f_min"), fmax=kw.get("f_max"), htk=bool(kw.get("htk", False)),
                            label="mel spectrogram")
            else:
                desc.update(y_axis="cqt_hz", fmin=kw.get("f_min"), bpo=kw.get("bins_per_octave", 12),
                            label="log-frequency spectrogram")
        elif isinstance(layer, kapre.MagnitudeToDecibel):
            desc["db"] = "amplitude" if layer.amplitude else "power" if power == 2.0 else "kapre"
        elif isinstance(layer, kapre.LogmelToMFCC):
            desc.update(y_axis="coef", db=False, label="MFCC")
    return desc
