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
import re
from dataclasses import asdict, dataclass, fields

from kapre.cli._report import _one_line, reported_warnings
from kapre.params import MAX_FILTERBANK_VALUES as MAX_FILTERBANK  # the layers' own bound
from kapre_cli.parser import (
    C1_HZ,
    CHROMA_SOURCES,
    FEATURES,
    INT_BOUNDS,
    MAX_VALUE,
    WINDOWS,
    add_feature_options,
    check_frontend_args,
    frontend_error,
    positive_int,
)

__all__ = ["FEATURES", "C1_HZ", "FeatureOptions", "add_feature_options", "options_from_args", "build_frontend",
           "mfcc_layer", "constant_q_layer", "chroma_layer", "cqt_extent", "describe",
           "positive_int", "kapre_version", "RECORD_FORMAT", "LEGACY_OPTIONS",
           "options_from_record", "frontend_record", "check_options", "build_reported", "reported_warnings"]

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
    # cqt, vqt and chroma (issue 17); bins_per_octave None: 12, or 36 for chroma from a CQT (librosa's defaults)
    bins_per_octave: int | None = None
    tuning: float = 0.0
    filter_scale: float = 1.0
    gamma: float | None = None
    n_chroma: int = 12
    chroma_source: str = "stft"
    n_octaves: int = 7

    @property
    def constant_q(self) -> bool:
        """The front-end starts with a constant-Q (or variable-Q) transform: centred frames, librosa's hop 512."""
        return self.feature in ("cqt", "vqt") or (self.feature == "chroma" and self.chroma_source == "cqt")

    @property
    def resolved_hop(self) -> int:
        if self.constant_q:
            return self.hop_length or 512
        return self.hop_length or max(1, (self.win_length or self.n_fft) // 4)

    @property
    def resolved_bins_per_octave(self) -> int:
        if self.bins_per_octave is not None:
            return self.bins_per_octave
        return 36 if self.feature == "chroma" and self.chroma_source == "cqt" else 12

    @property
    def resolved_fmin(self) -> float:
        """The lowest bin of logfreq, cqt, vqt and chroma from a CQT: ``--fmin``, C1 by default."""
        return C1_HZ if self.fmin is None else float(self.fmin)


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
    "source": "chroma_source",
}
# argparse destinations that set a FeatureOptions field of the same name.
_OPTION_DESTS = ("feature", "sample_rate", "n_fft", "hop_length", "win_length", "window", "center", "pad_mode",
                 "power", "n_mels", "fmin", "fmax", "n_mfcc", "n_bins", "bins_per_octave", "tuning", "filter_scale",
                 "gamma", "n_chroma", "chroma_source", "n_octaves", "db", "top_db", "amin", "ref", "mono")
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


def frontend_record(options: FeatureOptions, keras_config: dict | None, input_root: str | None = None,
                    frontend=None) -> dict:
    """What ``kapre-frontend.json`` holds: the options (all of them, defaults included), the Keras config given
    with --config, or the --frontend (a :class:`kapre.cli.frontends.FrontendSpec`: its name, builder, arguments and
    the axes of the saved features); and the folder output paths are relative to."""
    record = {"format": RECORD_FORMAT, "kapre_version": kapre_version(), "sample_rate": options.sample_rate,
              "mono": options.mono}
    if frontend is not None:
        record["frontend"] = frontend.record(options.mono)
    elif keras_config is None:
        record["options"] = {k: v for k, v in asdict(options).items() if k not in ("sample_rate", "mono")}
    else:
        record["model"] = keras_config
    if input_root is not None:
        record["input_root"] = input_root
    return record


def options_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[FeatureOptions, object]:
    """Options and, when --config holds a Keras config, the deserialized front-end (else ``None``; the config is
    then also in ``args.keras_config``). ``args.config_note`` says when a legacy record was read.

    Every problem of the options or of the --config file ends here, through ``parser.error`` (one line, exit status
    2), before any file is read or any output folder is touched."""
    explicit = {name: getattr(args, name) for name in _OPTION_DESTS if getattr(args, name, None) is not None}
    options = FeatureOptions()
    model = None
    args.keras_config, args.config_note, args.frontend_output, args.frontend_spec = None, None, None, None
    source = None  # the --config file, for messages about values that come from it
    problem = frontend_error(args)
    if problem:
        parser.error(problem)
    if getattr(args, "frontend", None):
        from kapre.cli.frontends import frontend_from_args

        frontend_args, _ = check_frontend_args(args.frontend_args)
        spec = frontend_from_args(parser, args.frontend, explicit, frontend_args)
        return _frontend_options(args, spec, explicit.get("mono", True)), spec.layer
    if args.config:
        source = f"--config {args.config}"
        config = _read_config(parser, args.config)
        if "frontend" in config:  # a kapre-frontend.json written with --frontend
            from kapre.cli.frontends import from_record

            spec = from_record(parser, args, config, args.config, explicit)
            mono = config.get("mono", True) if isinstance(config.get("mono"), bool) else True
            return _frontend_options(args, spec, explicit.get("mono", mono)), spec.layer
        if getattr(args, "frontend_args", None):
            parser.error(f"--frontend-arg sets an argument of a --frontend's builder; {args.config} holds no "
                         "--frontend")
        keras_config = config.get("model") if "model" in config else config if "class_name" in config else None
        if keras_config is not None:
            given = sorted(name for name in explicit if name not in ("sample_rate", "mono"))
            if given:
                parser.error(f"--config holds a Keras layer config; do not combine it with {_flag(given[0])}")
            if not isinstance(keras_config, dict) or not isinstance(keras_config.get("class_name"), str):
                parser.error(f"{source}: \"model\" must be a Keras config (an object with \"class_name\" and "
                             f"\"config\"), got {_kind(keras_config)}")
            for key, flag in (("sample_rate", "--sr"), ("mono", "--mono")):
                if key in config and not _valid(key, config[key]):
                    parser.error(f"{source}: \"{key}\" ({flag}) must be "
                                 + ("true or false" if key == "mono" else _int_range("sample_rate"))
                                 + f", got {config[key]!r}")
            args.keras_config = keras_config
            options.mono = config.get("mono", True)
            options.sample_rate = explicit.get("sample_rate") or config.get("sample_rate")
            model, args.frontend_output = _deserialize_frontend(parser, keras_config, args.config, options)
        elif isinstance(config.get("options"), dict):  # a kapre-frontend.json written from options
            unknown = sorted(set(config["options"]) - set(CONFIG_KEYS))
            if unknown:
                parser.error(f"--config: unknown key(s) {unknown} in {args.config}; known: {sorted(CONFIG_KEYS)}")
            options, legacy = options_from_record(config)
            if legacy:
                args.config_note = f"{args.config}: {LEGACY_NOTE}"
        else:
            unknown = sorted(set(config) - set(CONFIG_KEYS))
            if unknown and len(unknown) == len(config):
                parser.error(f"{source}: holds none of the known keys ({unknown[0]!r}, ...): it must hold feature "
                             "options ({\"feature\": \"mel\", \"n_fft\": 1024, ...}), a Keras config (an object with "
                             "\"class_name\" and \"config\") or a kapre-frontend.json written by kapre extract")
            if unknown:
                parser.error(f"--config: unknown key(s) {unknown} in {args.config}; known: {sorted(CONFIG_KEYS)}")
            for key, value in config.items():
                setattr(options, CONFIG_KEYS[key], value)
    for name, value in explicit.items():
        setattr(options, name, value)
    if model is None:
        check_options(parser, options, explicit, source)
    return options, model


def _frontend_options(args: argparse.Namespace, spec, mono: bool) -> FeatureOptions:
    """The options of a --frontend run: its sample rate (files are resampled to it) and --mono/--per-channel; the
    front-end itself is ``args.frontend_spec``."""
    args.frontend_spec = spec
    options = FeatureOptions()
    options.sample_rate, options.mono = spec.sample_rate, mono
    return options


def _read_config(parser: argparse.ArgumentParser, path: str) -> dict:
    return read_json_object(parser, path, "--config", "feature options, a Keras config or a kapre-frontend.json")


def read_json_object(parser: argparse.ArgumentParser, path: str, what: str, expected: str) -> dict:
    """The JSON object in ``path``; any other outcome is a one-line usage error (exit 2) naming ``what`` (the flag
    or file), the path and the problem."""
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except OSError as err:
        parser.error(f"{what}: cannot read {path}: {err.strerror or err}")
    except UnicodeDecodeError:
        parser.error(f"{what}: {path} is not valid JSON: not UTF-8 text")
    except ValueError as err:
        parser.error(f"{what}: {path} is not valid JSON: {err}")
    except RecursionError:
        parser.error(f"{what}: {path} is not valid JSON: nested too deeply")
    if not isinstance(config, dict):
        parser.error(f"{what}: {path} must hold a JSON object ({expected}), got {_kind(config)}")
    return config


def _kind(value) -> str:
    """``a list``, ``the number 5``, ... for messages about a JSON value."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return {list: "a list", dict: "an object without \"class_name\""}.get(type(value), f"a {type(value).__name__}")


def _valid(name: str, value) -> bool:
    if name in ("mono", "db", "center"):
        return isinstance(value, bool)
    low, high = INT_BOUNDS[name]
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _int_range(name: str) -> str:
    low, high = INT_BOUNDS[name]
    return f"an integer from {low} to {high}" + (" (10 MHz)" if name == "sample_rate" else "")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_options(parser: argparse.ArgumentParser, o: FeatureOptions, explicit: dict | None = None,
                  source: str | None = None) -> None:
    """Every option checked together (a --config file's values too), with the flag's name in the message, and the
    --config file's name (``source``) when the value comes from it. The bounds are :mod:`kapre_cli.parser`'s."""
    explicit = explicit or {}

    def error(name: str | None, text: str):
        where = f"{source}: " if source and name is not None and name not in explicit else ""
        parser.error(where + text)

    if o.feature not in FEATURES:
        error("feature", f"feature must be one of {list(FEATURES)}, got {o.feature!r}")
    for name in ("sample_rate", "n_fft", "hop_length", "win_length", "n_mels", "n_mfcc", "n_bins", "bins_per_octave",
                 "n_chroma", "n_octaves"):
        value = getattr(o, name)
        if value is None and name in ("hop_length", "win_length", "bins_per_octave"):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            error(name, f"{_flag(name)} must be a positive integer, got {value!r}")
        if not _valid(name, value):
            error(name, f"{_flag(name)} must be {_int_range(name)}, got {value!r}")
    for name in ("db", "mono", "center"):
        if not isinstance(getattr(o, name), bool):
            error(name, f"{name} must be true or false, got {getattr(o, name)!r}")
    if o.window is not None and o.window not in WINDOWS:
        error("window", f"--window must be one of {', '.join(WINDOWS)}, got {o.window!r}")
    if o.pad_mode not in ("constant", "reflect"):
        error("pad_mode", f"--pad-mode must be constant or reflect, got {o.pad_mode!r}")
    if o.chroma_source not in CHROMA_SOURCES:
        error("chroma_source", f"--chroma-source must be stft or cqt, got {o.chroma_source!r}")
    _check_applicable(parser, o, explicit)
    if "pad_mode" in explicit and not o.center and not o.constant_q:
        parser.error("--pad-mode applies to centred frames: add --center")
    if o.power not in (1, 2) or isinstance(o.power, bool):
        error("power", f"--power must be 1 (magnitude) or 2 (power), got {o.power!r}")
    o.power = float(o.power)
    if not _is_number(o.amin) or not 0 < o.amin <= MAX_VALUE:
        error("amin", f"--amin must be a number > 0 and at most {MAX_VALUE:.4g}, got {o.amin!r}")
    if o.ref != "max" and (not _is_number(o.ref) or not 0 < o.ref <= MAX_VALUE):
        error("ref", f"--ref must be a number > 0 and at most {MAX_VALUE:.4g}, or 'max', got {o.ref!r}")
    if o.top_db is not None and (not _is_number(o.top_db) or o.top_db <= 0):
        error("top_db", f"--top-db must be a number > 0 or none, got {o.top_db!r}")
    if o.dct_norm not in ("ortho", None):
        error("dct_norm", f"dct_norm must be 'ortho' or null, got {o.dct_norm!r}")
    for name in ("fmin", "fmax", "gamma"):
        value = getattr(o, name)
        if value is not None and (not _is_number(value) or value < 0):
            error(name, f"{_flag(name)} must be a number >= 0, got {value!r}")
    if not _is_number(o.tuning) or not -0.5 <= o.tuning < 0.5:
        error("tuning", f"--tuning must be a fraction of a bin from -0.5 to below 0.5, got {o.tuning!r}")
    if not _is_number(o.filter_scale) or not 0 < o.filter_scale <= 1000:
        error("filter_scale", f"--filter-scale must be a number > 0 and at most 1000, got {o.filter_scale!r}")
    if o.win_length is not None and o.win_length > o.n_fft:
        error("win_length", f"--win-length ({o.win_length}) must be at most --n-fft ({o.n_fft})")
    if o.n_fft < 2:
        error("n_fft", "--n-fft must be at least 2")
    nyquist = o.sample_rate / 2
    n_freq = o.n_fft // 2 + 1
    if o.feature in ("mel", "mfcc"):
        if o.fmax is not None and o.fmax > nyquist:
            error("fmax", f"--fmax {o.fmax:g} Hz is above the Nyquist frequency of --sr {o.sample_rate} "
                          f"({nyquist:g} Hz)")
        low, high = o.fmin or 0.0, o.fmax if o.fmax is not None else nyquist
        if low >= high:
            error("fmin", f"--fmin ({low:g} Hz) must be below --fmax ({high:g} Hz, sr / 2 by default)")
        if n_freq * o.n_mels > MAX_FILTERBANK:
            error("n_mels", f"--n-fft {o.n_fft} with --n-mels {o.n_mels} makes a mel filterbank of "
                            f"{n_freq * o.n_mels} weights, more than {MAX_FILTERBANK} (2**26, about 3 GB to build); "
                            "lower --n-fft or --n-mels")
    if o.feature == "mfcc" and o.n_mfcc > o.n_mels:
        error("n_mfcc", f"--n-mfcc ({o.n_mfcc}) must be at most --n-mels ({o.n_mels})")
    if o.feature == "logfreq":
        fmin = o.resolved_fmin
        bpo = o.resolved_bins_per_octave
        if fmin <= 0:
            error("fmin", "--fmin must be > 0 for --feature logfreq (a logarithmic axis)")
        if fmin >= o.sample_rate // 2:
            error("fmin", f"--fmin {fmin:g} Hz must be below the Nyquist frequency of --sr {o.sample_rate} "
                          f"({o.sample_rate // 2} Hz)")
        top_octaves = o.n_bins / bpo  # 2 ** 4096 overflows a float: compared in octaves
        if math.log2(fmin) + top_octaves > math.log2(o.sample_rate // 2):
            top = fmin * 2 ** top_octaves if top_octaves < 1000 else math.inf
            fits = int(math.floor(bpo * math.log2((o.sample_rate // 2) / fmin)))
            if fits < 1:
                error("fmin", f"--fmin {fmin:g} Hz leaves no log-frequency bin below the Nyquist frequency of --sr "
                              f"{o.sample_rate} ({o.sample_rate // 2} Hz)")
            reach = f"{top:.0f} Hz" if math.isfinite(top) else "beyond any frequency"
            error("n_bins", f"--n-bins {o.n_bins} from {fmin:.1f} Hz reaches {reach}, above the Nyquist "
                            f"frequency of --sr {o.sample_rate} ({o.sample_rate // 2} Hz); use --n-bins {fits} or less")
        if n_freq * o.n_bins > MAX_FILTERBANK:
            error("n_bins", f"--n-fft {o.n_fft} with --n-bins {o.n_bins} makes a filterbank of {n_freq * o.n_bins} "
                            f"weights, more than {MAX_FILTERBANK} (2**26); lower --n-fft or --n-bins")
    if o.constant_q:
        _check_constant_q(error, o)
    if o.feature == "chroma" and o.chroma_source == "stft" and n_freq * o.n_chroma > MAX_FILTERBANK:
        error("n_chroma", f"--n-fft {o.n_fft} with --n-chroma {o.n_chroma} makes a chroma filterbank of "
                          f"{n_freq * o.n_chroma} weights, more than {MAX_FILTERBANK} (2**26); lower --n-fft or "
                          "--n-chroma")


# Which feature uses which option (given on the command line, an option that does not apply is an error): the
# features, and for chroma the --chroma-source it needs ("chroma" alone: either source).
_STFT_FRAMED = ("stft", "mel", "logfreq", "mfcc", "chroma/stft")
_APPLIES = {
    "n_fft": _STFT_FRAMED,
    "win_length": _STFT_FRAMED,
    "center": _STFT_FRAMED,
    "window": ("stft", "mel", "logfreq", "mfcc", "cqt", "vqt", "chroma/stft"),
    "pad_mode": ("stft", "mel", "logfreq", "mfcc", "cqt", "vqt", "chroma/stft"),
    "power": ("stft", "mel", "logfreq", "mfcc", "cqt", "vqt"),
    "n_mels": ("mel", "mfcc"),
    "n_mfcc": ("mfcc",),
    "fmin": ("mel", "mfcc", "logfreq", "cqt", "vqt", "chroma/cqt"),
    "fmax": ("mel", "mfcc"),
    "n_bins": ("logfreq", "cqt", "vqt"),
    "bins_per_octave": ("logfreq", "cqt", "vqt", "chroma/cqt"),
    "tuning": ("cqt", "vqt", "chroma"),
    "filter_scale": ("cqt", "vqt"),
    "gamma": ("vqt",),
    "n_chroma": ("chroma",),
    "chroma_source": ("chroma",),
    "n_octaves": ("chroma/cqt",),
    "db": ("stft", "mel", "logfreq", "cqt", "vqt"),
    "top_db": ("stft", "mel", "logfreq", "mfcc", "cqt", "vqt"),
    "amin": ("stft", "mel", "logfreq", "mfcc", "cqt", "vqt"),
    "ref": ("stft", "mel", "logfreq", "mfcc", "cqt", "vqt"),
}
# Options kapre 1.0 took with every feature (and ignored where they do not apply): still taken by the features it
# had, so that no command line that ran before is refused now; the new features and the new options are strict.
_LENIENT = ("n_fft", "win_length", "center", "window", "power", "n_mels", "n_mfcc", "n_bins", "db", "top_db", "amin",
            "ref")


def _uses(o: FeatureOptions) -> str:
    return f"chroma/{o.chroma_source}" if o.feature == "chroma" else o.feature


def _names(uses) -> str:
    names = [u if "/" not in u else f"{u.split('/')[0]} (--chroma-source {u.split('/')[1]})" for u in uses]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _check_applicable(parser: argparse.ArgumentParser, o: FeatureOptions, explicit: dict) -> None:
    """An option given on the command line that the feature does not use is one line of error (``--fmax applies to
    --feature mel and mfcc, not stft``)."""
    uses = _uses(o)
    for name in explicit:
        applies = _APPLIES.get(name)
        if applies is None or uses in applies or o.feature in applies:
            continue
        if name in _LENIENT and o.feature in ("stft", "mel", "logfreq", "mfcc"):
            continue
        if name == "pad_mode" and o.feature in ("stft", "mel", "logfreq", "mfcc"):
            continue  # "add --center", below
        shown = o.feature if o.feature != "chroma" else f"chroma with --chroma-source {o.chroma_source}"
        if name in ("n_fft", "win_length", "center") and o.constant_q:
            parser.error(f"{_flag(name)} applies to the STFT's frames, not to {shown}: a constant-Q transform's "
                         "frames are centred on t * --hop, its filters as long as each frequency needs")
        parser.error(f"{_flag(name)} applies to --feature {_names(applies)}, not {shown}")


def cqt_extent(o: FeatureOptions):
    """Centre frequencies, filter lengths (samples) and upper cutoffs (Hz) of the constant-Q (or variable-Q)
    transform the options describe (``kapre.constants.wavelet_lengths``, librosa's ``wavelet_lengths``)."""
    import numpy as np

    from kapre import constants

    chroma = o.feature == "chroma"
    bpo = o.resolved_bins_per_octave
    n_bins = o.n_octaves * bpo if chroma else o.n_bins
    window = "hann" if chroma else (o.window or "hann")
    gamma = o.gamma if o.feature == "vqt" else 0.0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        freqs = constants.cqt_frequencies(n_bins, o.resolved_fmin, bpo, o.tuning)
        lengths, cutoffs = constants.wavelet_lengths(freqs, o.sample_rate, window, 1.0 if chroma else o.filter_scale,
                                                     gamma)
    return freqs, lengths, cutoffs


def _check_constant_q(error, o: FeatureOptions) -> None:
    """The constant-Q options together: bins below the Nyquist frequency (librosa's check on the top filter's
    cutoff), filters of a bounded length, a window the wavelets can use; in the flags' words, with the value to use."""
    import numpy as np

    from kapre import constants

    chroma = o.feature == "chroma"
    bpo = o.resolved_bins_per_octave
    n_bins = o.n_octaves * bpo if chroma else o.n_bins
    fmin = o.resolved_fmin
    count = "--n-octaves" if chroma else "--n-bins"
    count_name = "n_octaves" if chroma else "n_bins"
    if fmin <= 0:
        error("fmin", f"--fmin must be > 0 for --feature {o.feature} (a logarithmic axis)")
    windows = getattr(constants, "CQT_WINDOWS", tuple(constants.CQT_WINDOW_BANDWIDTHS))
    if not chroma and o.window is not None and o.window not in windows:
        usable = [w for w in WINDOWS if w in windows]
        error("window", f"--window {o.window} cannot shape --feature {o.feature}'s filters; use one of "
                        f"{', '.join(usable)}")
    if n_bins < 2:
        error(count_name, f"{count} {o.n_octaves if chroma else o.n_bins} gives {n_bins} bin: --feature "
                          f"{o.feature} needs at least 2 (each filter's bandwidth comes from its neighbours)")
    if chroma and bpo % o.n_chroma:
        error("bins_per_octave", f"--bins-per-octave {bpo} must be a multiple of --n-chroma {o.n_chroma} for "
                                 "--chroma-source cqt (each chroma bin sums whole CQT bins)")
    freqs, lengths, cutoffs = cqt_extent(o)
    nyquist = o.sample_rate / 2
    fits = int(np.sum(np.isfinite(cutoffs) & (cutoffs <= nyquist)))
    if fits < n_bins:
        top = f"{cutoffs[-1]:.0f} Hz" if np.isfinite(cutoffs[-1]) else "beyond any frequency"
        where = (f"{count} {o.n_octaves if chroma else o.n_bins} at --bins-per-octave {bpo} from --fmin {fmin:.1f} Hz "
                 f"reaches {top} (the top filter's upper edge), above the Nyquist frequency of --sr {o.sample_rate} "
                 f"({nyquist:g} Hz)")
        usable = fits // bpo if chroma else fits
        if usable < (1 if chroma else 2):
            error("fmin", f"{where}; no {'octave' if chroma else 'two bins'} fit: lower --fmin or raise --sr")
        error(count_name, f"{where}; use {count} {usable} or less")
    longest = float(np.max(lengths))
    if not longest <= 2**24:
        error("fmin", f"--fmin {fmin:g} Hz at --bins-per-octave {bpo}"
                      + ("" if chroma else f" and --filter-scale {o.filter_scale:g}")
                      + f" makes the lowest filter {longest:.3g} samples long at --sr {o.sample_rate}, more than "
                        "2**24; raise --fmin or lower --bins-per-octave" + ("" if chroma else " or --filter-scale"))
    total = float(np.sum(np.ceil(lengths)))
    if not total <= MAX_FILTERBANK:
        error(count_name, f"{count} {o.n_octaves if chroma else o.n_bins} at --bins-per-octave {bpo} makes filters of "
                          f"{total:.3g} weights in all, more than {MAX_FILTERBANK} (2**26); use fewer bins")


def build_reported(parser: argparse.ArgumentParser, options: FeatureOptions, **kwargs):
    """:func:`build_frontend` with its problems reported in the command's terms: an error (one line, exit status 2)
    or a warning (``kapre extract: warning: ...`` on stderr, once; the run goes on)."""
    with reported_warnings(options) as report:
        try:
            model = build_frontend(options, **kwargs)
        except (ValueError, TypeError) as err:
            if options.feature in ("cqt", "vqt", "chroma"):  # the layer's words, in the flags'
                parser.error(f"--feature {options.feature}: {_in_flags(_one_line(err))}")
            parser.error(_one_line(err))
    report.print_to(parser.prog)
    return model


# The arguments of kapre.CQT, kapre.VQT and kapre.Chroma that a flag sets.
_LAYER_FLAGS = {"sr": "--sr", "sample_rate": "--sr", "hop_length": "--hop", "fmin": "--fmin", "n_bins": "--n-bins",
                "bins_per_octave": "--bins-per-octave", "tuning": "--tuning", "filter_scale": "--filter-scale",
                "gamma": "--gamma", "window": "--window", "pad_mode": "--pad-mode", "n_chroma": "--n-chroma",
                "n_octaves": "--n-octaves", "n_fft": "--n-fft", "win_length": "--win-length",
                "source": "--chroma-source", "center": "--center"}
_LAYER_ARG = re.compile(r"(?<![\w-])(" + "|".join(sorted(_LAYER_FLAGS, key=len, reverse=True)) + r")(?![\w-])(=?)")


def _in_flags(text: str) -> str:
    """A layer's message about its arguments (``n_bins=90``) in the command's flags (``--n-bins 90``)."""
    return _LAYER_ARG.sub(lambda m: _LAYER_FLAGS[m.group(1)] + (" " if m.group(2) else ""), text)


def _wrapped_error(err: BaseException) -> BaseException:
    """The layer's own error inside Keras' deserialization errors (each wraps the one it caught, "... Exception
    encountered: <the caught one>"), else ``err``."""
    while "Exception encountered: " in str(err) and err.__context__ is not None:
        err = err.__context__
    return err


def _deserialize_frontend(parser, config, path, options: FeatureOptions):
    """The front-end a Keras config rebuilds, checked to be a front-end: a Keras layer or model that takes
    ``(batch, samples, channels)`` audio and returns real numbers. ``options.sample_rate`` is set from the config
    (the filterbank's) when it was not given."""
    import keras

    from kapre.extraction import sample_rate_of

    source = f"--config {path}"
    with reported_warnings(prefix=f"{source}: ") as report:
        try:
            model = keras.saving.deserialize_keras_object(config)
        except Exception as err:
            parser.error(f"--config: {path} holds a Keras config that cannot be rebuilt: "
                         f"{type(_wrapped_error(err)).__name__}: {_one_line(err)}")
        if not isinstance(model, keras.layers.Layer):
            parser.error(f"{source}: the config rebuilds {_kind(model)}, not a Keras layer or model")
        if not options.sample_rate:
            options.sample_rate = sample_rate_of(model) or FeatureOptions.sample_rate
        if not _valid("sample_rate", options.sample_rate):
            parser.error(f"{source}: the front-end's sample rate {options.sample_rate!r} is out of bounds: "
                         f"{_int_range('sample_rate')}; give --sr")
        output = _symbolic_output(parser, model, source)
    report.print_to(parser.prog)
    return model, output


def _symbolic_output(parser, model, source: str):
    """The front-end called on a symbolic ``(1, samples, 1)`` waveform (shapes only, nothing computed): its output
    spec, or one line of error."""
    import keras

    from kapre.extraction import frontend_layers

    samples = 4096
    try:
        for layer in frontend_layers(model):
            for name in ("n_fft", "win_length", "frame_length", "fft_length"):
                value = getattr(layer, name, None)
                if isinstance(value, int) and value > 0:
                    samples = max(samples, 2 * value)
            break  # the first layer frames the waveform
    except Exception:
        pass
    try:
        output = model(keras.KerasTensor((1, samples, 1), dtype="float32"))
    except Exception as err:
        parser.error(f"{source}: the front-end does not take a (batch, samples, channels) waveform: "
                     f"{type(err).__name__}: {_one_line(err)}")
    if isinstance(output, (list, tuple, dict)):
        parser.error(f"{source}: the front-end returns several outputs; it must return one array per waveform")
    if "complex" in str(getattr(output, "dtype", "")):
        parser.error(f"{source}: the front-end returns complex numbers (an STFT without kapre.Magnitude?); "
                     "features must be real")
    if len(output.shape) < 2:
        parser.error(f"{source}: the front-end returns shape {tuple(output.shape)}, not an array per waveform")
    return output


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


def constant_q_layer(options: FeatureOptions):
    """``kapre.CQT`` (``--feature cqt``) or ``kapre.VQT`` (``vqt``): librosa's ``cqt``/``vqt`` with the options'
    bins, as the power ``|C| ** 2`` (``--power 2``, the default) or the magnitude ``|C|`` (``--power 1``): its
    ``output_type``."""
    import kapre

    o = options
    kwargs = {"sr": o.sample_rate, "hop_length": o.resolved_hop, "fmin": o.fmin, "n_bins": o.n_bins,
              "bins_per_octave": o.resolved_bins_per_octave, "tuning": float(o.tuning),
              "filter_scale": float(o.filter_scale), "window": o.window or "hann", "pad_mode": o.pad_mode,
              "output_type": "power" if o.power == 2.0 else "magnitude", "input_data_format": "channels_last",
              "output_data_format": "channels_last"}
    if o.feature == "vqt":
        return kapre.VQT(gamma=o.gamma, **kwargs)
    return kapre.CQT(**kwargs)


def chroma_layer(options: FeatureOptions):
    """``kapre.Chroma``: ``librosa.feature.chroma_stft`` (``--chroma-source stft``: the options' STFT frames, so not
    centred unless ``--center``) or ``chroma_cqt`` (``cqt``: centred frames, ``--n-octaves`` of
    ``--bins-per-octave`` bins from ``--fmin``)."""
    import kapre

    o = options
    common = {"sr": o.sample_rate, "n_chroma": o.n_chroma, "tuning": float(o.tuning), "hop_length": o.resolved_hop,
              "input_data_format": "channels_last", "output_data_format": "channels_last"}
    if o.chroma_source == "cqt":
        return kapre.Chroma(source="cqt", fmin=o.fmin, n_octaves=o.n_octaves,
                            bins_per_octave=o.resolved_bins_per_octave, **common)
    return kapre.Chroma(source="stft", n_fft=o.n_fft, win_length=o.win_length, window=o.window or "hann",
                        center=o.center, pad_mode=o.pad_mode, **common)


def build_frontend(options: FeatureOptions, db: str | None = "auto"):
    """A ``keras.Sequential`` of kapre layers for ``options``: ``(batch, time, channels)`` waveforms in,
    ``(batch, frames, bins, channels)`` out (channels_last on both sides).

    ``stft`` is ``STFT > Magnitude(power)``, ``logfreq`` that ``> ApplyFilterbank('log')``, each
    ``> MagnitudeToDecibel(ref, amin, top_db)`` with decibels; ``mel`` is ``kapre.MelSpectrogram`` and ``mfcc`` its
    decibels ``> kapre.LogmelToMFCC``; ``cqt``/``vqt`` are ``kapre.CQT``/``kapre.VQT`` (``output_type='power'`` or
    ``'magnitude'``) with the same decibels (``--db`` of the power is ``librosa.amplitude_to_db(abs(cqt(y)))`` with
    ``amin`` ``sqrt(--amin)``); ``chroma`` is ``kapre.Chroma`` alone. With power 2 and the default
    ``amin``/``ref``/``top_db`` the decibels are
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
    if o.feature == "chroma":  # values in [0, 1] (each frame's maximum 1): never decibels
        return keras.Sequential([chroma_layer(o)], name="chroma")
    if o.feature == "mel" and (decibels is None or not decibels["amplitude"]):
        return keras.Sequential([mel_layer(o, return_decibel=decibels is not None)], name="melspectrogram")
    if o.feature == "mel":
        layers = [mel_layer(o, return_decibel=False)]
    elif o.feature in ("cqt", "vqt"):
        layers = [constant_q_layer(o)]
    else:
        layers = [kapre.STFT(**_frames(o), window_name=o.window, center=o.center, pad_mode=o.pad_mode,
                             input_data_format="channels_last", output_data_format="channels_last"),
                  kapre.Magnitude(power=o.power)]
        if o.feature == "logfreq":
            fmin = C1_HZ if o.fmin is None else float(o.fmin)
            layers.append(kapre.ApplyFilterbank("log", {"sample_rate": o.sample_rate, "n_freq": o.n_fft // 2 + 1,
                                                        "n_bins": o.n_bins,
                                                        "bins_per_octave": o.resolved_bins_per_octave, "f_min": fmin},
                                                data_format="channels_last"))
    if decibels is not None:
        ref = o.ref if o.ref == "max" or not decibels["amplitude"] else math.sqrt(o.ref)
        layers.append(kapre.MagnitudeToDecibel(ref_value=ref, amin=decibels["amin"], dynamic_range=o.top_db,
                                               amplitude=decibels["amplitude"]))
    name = {"stft": "stft_magnitude" if o.power == 1.0 else "stft_power", "mel": "melspectrogram",
            "logfreq": "log_frequency_spectrogram", "cqt": "cqt", "vqt": "vqt"}[o.feature]
    return keras.Sequential(layers, name=name)


def describe(model) -> dict:
    """What the axes of the front-end's output are, for plotting."""
    import kapre
    from kapre.extraction import frontend_layers

    desc = {"y_axis": "linear", "n_fft": 2048, "hop": 512, "fmin": None, "fmax": None, "htk": False, "bpo": 12,
            "db": False, "label": "STFT magnitude", "center": False, "tuning": 0.0, "n_chroma": None}
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
        elif type(layer).__name__ in ("CQT", "VQT"):  # kapre.CQT, kapre.VQT
            config = layer.get_config()
            output = config.get("output_type", config.get("output", "complex"))
            power = 2.0 if output == "power" else 1.0
            desc.update(y_axis="cqt_note", fmin=config.get("fmin") or C1_HZ, bpo=config.get("bins_per_octave", 12),
                        tuning=config.get("tuning", 0.0), hop=config.get("hop_length", 512), n_fft=None, center=True,
                        label=("constant-Q" if type(layer).__name__ == "CQT" else "variable-Q")
                        + (" power" if power == 2.0 else " magnitude"))
            if output == "db":
                desc["db"] = "amplitude"
        elif type(layer).__name__ == "Chroma":  # kapre.Chroma
            config = layer.get_config()
            source = config.get("source", "stft")
            desc.update(y_axis="chroma", n_chroma=config.get("n_chroma", 12), hop=config.get("hop_length", 512),
                        db=False, label=f"chroma (from {'an STFT' if source == 'stft' else 'a CQT'})")
            if source == "stft":
                desc.update(n_fft=config.get("n_fft", 2048), center=bool(config.get("center", True)))
            else:
                desc.update(n_fft=None, center=True)
    return desc
