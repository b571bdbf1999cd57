"""The ``kapre`` command's arguments, with the standard library only (nothing here imports kapre, Keras or a
backend, so that ``--help`` and ``--version`` answer at once)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os

__all__ = ["FEATURES", "CHROMA_SOURCES", "C1_HZ", "WINDOWS", "build_parser", "add_feature_options", "positive_int",
           "non_negative_float", "positive_float", "top_db_value", "ref_value", "MAX_SAMPLE_RATE", "MAX_SAMPLES",
           "MAX_BANDS", "MAX_BATCH_SIZE", "MAX_VALUE", "INT_BOUNDS", "int_in", "FRONTENDS", "Frontend",
           "FEATURE_DESTS", "FLAGS", "frontend_arg", "frontend_problem", "frontend_error",
           "check_frontend_args", "EXPORT_FORMATS", "export_format", "format_for", "ENGINES", "MAX_WORKERS",
           "engine_problem"]

FEATURES = ("stft", "mel", "logfreq", "mfcc", "cqt", "vqt", "chroma")
CHROMA_SOURCES = ("stft", "cqt")
C1_HZ = 32.70319566
# kapre.constants' window names: the plain (scipy/librosa, periodic) ones first, then tf.signal's.
WINDOWS = ("hann", "hamming", "blackman", "blackmanharris", "bartlett", "triang", "cosine", "boxcar",
           "hann_window", "hamming_window", "kaiser_window", "kaiser_bessel_derived_window", "vorbis_window")


# Bounds of the numeric options (docs/cli.md, "Bounds"): far beyond any audio use, so that a typo (--sr 1e15) or a
# fuzzed value is one line of error before any work rather than an allocation that fails or exhausts the memory.
MAX_SAMPLE_RATE = 10_000_000  # Hz: 13 times 768 kHz, the highest rate of audio converters and ultrasound recorders
MAX_SAMPLES = 2**24  # --n-fft, --win-length, --hop: 16,777,216 samples (5.8 minutes at 48 kHz)
MAX_BANDS = 4096  # --n-mels, --n-mfcc, --n-bins
MAX_BATCH_SIZE = 1024  # --batch-size: files in one zero-padded batch
MAX_WORKERS = 4096  # --num-workers: processes on one machine, or actors on a Ray cluster
ENGINES = ("local", "processes", "ray")  # kapre extract --engine
MAX_OCTAVES = 32  # --n-octaves (chroma from a CQT): 2**32 times --fmin is beyond any sample rate
MAX_ITERATIONS = 10_000  # kapre invert --n-iter: Griffin-Lim converges in tens to hundreds
MAX_SEED = 2**31 - 1  # kapre invert --seed
MAX_VALUE = 3.4028234663852886e38  # --amin, --ref: float32's largest, the features' type (1e300 would be inf)
# FeatureOptions field: (smallest, largest) of the integer options.
INT_BOUNDS = {"sample_rate": (1, MAX_SAMPLE_RATE), "n_fft": (2, MAX_SAMPLES), "hop_length": (1, MAX_SAMPLES),
              "win_length": (1, MAX_SAMPLES), "n_mels": (1, MAX_BANDS), "n_mfcc": (1, MAX_BANDS),
              "n_bins": (1, MAX_BANDS), "batch_size": (1, MAX_BATCH_SIZE), "bins_per_octave": (1, MAX_BANDS),
              "n_chroma": (1, MAX_BANDS), "n_octaves": (1, MAX_OCTAVES)}
_WHY = {MAX_SAMPLE_RATE: " (10 MHz)", MAX_SAMPLES: " (2**24 samples)"}


# --frontend NAME: the model and library front-ends of kapre.frontends. Each is one layer with its reference's own
# sample rate and output layout; the feature options that have the same meaning as one of its builder's arguments
# set that argument (``Frontend.options``: option destination -> argument, ``melkwargs.n_fft`` an entry of the
# ``melkwargs`` dict), every other builder argument is ``--frontend-arg NAME=VALUE``, and any other feature option
# is an error (docs/cli.md, "Model front-ends").
class Frontend:
    __slots__ = ("name", "builder", "rate", "rate_arg", "options", "summary")

    def __init__(self, name: str, builder: str, rate: int, rate_arg: str | None, options: dict, summary: str):
        self.name, self.builder, self.rate, self.rate_arg = name, builder, rate, rate_arg
        self.options, self.summary = options, summary

    @property
    def takes(self) -> list[str]:
        """The feature options this front-end takes, as flags (``--sr`` first)."""
        flags = ["--sr" if self.rate_arg else f"--sr {self.rate}"]
        flags += [FLAGS.get(dest, "--" + dest.replace("_", "-")) for dest in self.options]
        return flags + ["--mono/--per-channel", "--frontend-arg"]


_FRAMING = {"n_fft": "n_fft", "hop_length": "hop_length", "win_length": "win_length", "n_mels": "n_mels"}
_MEL_KWARGS = {"n_fft": "melkwargs.n_fft", "hop_length": "melkwargs.hop_length",
               "win_length": "melkwargs.win_length", "n_mels": "melkwargs.n_mels", "fmin": "melkwargs.f_min",
               "fmax": "melkwargs.f_max"}
_KALDI = {"n_mels": "num_mel_bins", "fmin": "low_freq", "fmax": "high_freq"}
FRONTENDS = {f.name: f for f in (
    Frontend("whisper", "whisper_log_mel", 16000, None, {"n_mels": "n_mels"},
             "Whisper's log-mel (openai-whisper log_mel_spectrogram), (n_mels, frames); --n-mels 128 for large-v3"),
    Frontend("kaldi_fbank", "kaldi_fbank", 16000, "sample_frequency", _KALDI,
             "Kaldi fbank (torchaudio.compliance.kaldi.fbank), (frames, 23)"),
    Frontend("kaldi_mfcc", "kaldi_mfcc", 16000, "sample_frequency", {**_KALDI, "n_mfcc": "num_ceps"},
             "Kaldi MFCC (torchaudio.compliance.kaldi.mfcc), (frames, 13)"),
    Frontend("ast", "ast_fbank", 16000, None, {"n_mels": "num_mel_bins"},
             "Audio Spectrogram Transformer (transformers ASTFeatureExtractor), (1024, 128)"),
    Frontend("beats", "beats_fbank", 16000, None, {}, "BEATs' fbank (BEATs.preprocess), (frames, 128)"),
    Frontend("panns", "panns_log_mel", 32000, "sample_rate",
             {"n_fft": "window_size", "hop_length": "hop_size", "n_mels": "mel_bins", "fmin": "fmin", "fmax": "fmax"},
             "PANNs' log-mel (torchlibrosa), (frames, 64)"),
    Frontend("clap", "clap_log_mel", 48000, "sampling_rate",
             {"n_fft": "fft_window_size", "hop_length": "hop_length", "n_mels": "feature_size",
              "fmin": "frequency_min", "fmax": "frequency_max"},
             "CLAP's log-mel (transformers ClapFeatureExtractor), (frames, 64)"),
    Frontend("yamnet", "yamnet_log_mel", 16000, None, {}, "YAMNet's log-mel (features.py), (frames, 64)"),
    Frontend("vggish", "vggish_log_mel", 16000, None, {}, "VGGish's log-mel (mel_features.py), (frames, 64)"),
    Frontend("torchaudio_mel", "torchaudio_melspectrogram", 16000, "sample_rate",
             {**_FRAMING, "fmin": "f_min", "fmax": "f_max"},
             "torchaudio.transforms.MelSpectrogram, (n_mels, frames)"),
    Frontend("torchaudio_mfcc", "torchaudio_mfcc", 16000, "sample_rate", {"n_mfcc": "n_mfcc", **_MEL_KWARGS},
             "torchaudio.transforms.MFCC, (n_mfcc, frames)"),
    Frontend("librosa_mel", "librosa_melspectrogram", 22050, "sr", {**_FRAMING, "fmin": "fmin", "fmax": "fmax"},
             "librosa.feature.melspectrogram, (n_mels, frames)"),
    Frontend("librosa_mfcc", "librosa_mfcc", 22050, "sr", {**_FRAMING, "fmin": "fmin", "fmax": "fmax",
                                                           "n_mfcc": "n_mfcc"},
             "librosa.feature.mfcc, (n_mfcc, frames)"),
)}
# argparse destinations of the feature options (--config, --frontend and --frontend-arg apart), and their flags.
FEATURE_DESTS = ("feature", "sample_rate", "n_fft", "hop_length", "win_length", "window", "center", "pad_mode",
                 "power", "n_mels", "fmin", "fmax", "n_mfcc", "n_bins", "bins_per_octave", "tuning",
                 "filter_scale", "gamma", "n_chroma", "chroma_source", "n_octaves", "db", "top_db", "amin", "ref",
                 "mono")
FLAGS = {"sample_rate": "--sr", "hop_length": "--hop"}


def _flag(dest: str) -> str:
    return FLAGS.get(dest, "--" + dest.replace("_", "-"))


def frontend_arg(text: str) -> tuple[str, object]:
    """``--frontend-arg NAME=VALUE``: a builder argument. VALUE is JSON (``true``, ``null``, ``0.5``, ``"x"``,
    ``{"n_fft": 512}``); ``True``/``False``/``None`` are read as Python's; anything else is a string."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE (a builder argument of kapre.frontends), got {text!r}")
    words = {"true": True, "false": False, "none": None, "null": None}
    if raw.strip().lower() in words:
        return name, words[raw.strip().lower()]
    try:
        value = json.loads(raw)
    except ValueError:
        return name, raw
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number for {name}, got {raw!r}")
    return name, value


def check_frontend_args(pairs: list | None) -> tuple[dict, str | None]:
    """``--frontend-arg`` pairs as a dict, and a problem (a name given twice) or ``None``."""
    given: dict = {}
    for name, value in pairs or ():
        if name in given and given[name] != value:
            return given, f"--frontend-arg {name} given twice ({given[name]!r} and {value!r})"
        given[name] = value
    return given, None


def frontend_error(args: argparse.Namespace) -> str | None:
    """What is wrong with ``--frontend``/``--frontend-arg`` and the other feature options of a parsed command line
    (checked before kapre is imported), or ``None``. A ``--config`` file's front-end is checked once it is read."""
    if not hasattr(args, "frontend"):
        return None
    frontend_args, problem = check_frontend_args(args.frontend_args)
    if problem:
        return problem
    if args.frontend is None:
        if args.frontend_args and not args.config:
            return "--frontend-arg sets an argument of a --frontend's builder: add --frontend NAME"
        return None
    if args.config:
        return (f"--frontend {args.frontend} and --config both choose the front-end: give one (a kapre-frontend.json "
                "written with --frontend holds it: --config alone)")
    explicit = {dest: getattr(args, dest) for dest in FEATURE_DESTS if getattr(args, dest, None) is not None}
    return frontend_problem(args.frontend, explicit, frontend_args)


def frontend_problem(name: str, explicit: dict, frontend_args: dict) -> str | None:
    """Why the feature options ``explicit`` (argparse destination -> value, only those given) and the builder
    arguments ``frontend_args`` do not combine with ``--frontend name``, in one line; ``None`` if they do."""
    frontend = FRONTENDS.get(name)
    if frontend is None:
        return f"--frontend must be one of {', '.join(FRONTENDS)}, got {name!r}"
    takes = ", ".join(frontend.takes)
    for dest in FEATURE_DESTS:
        if dest not in explicit or dest == "mono":
            continue
        value = explicit[dest]
        if dest == "feature":
            return (f"--feature {value} and --frontend {name} both choose the front-end: give one (--frontend "
                    f"{name} takes {takes})")
        if dest == "sample_rate" and frontend.rate_arg is None:
            if value != frontend.rate:
                return (f"--sr {value}: --frontend {name} works at {frontend.rate} Hz (files are resampled to it); "
                        "leave out --sr")
            continue
        target = frontend.rate_arg if dest == "sample_rate" else frontend.options.get(dest)
        if target is None:
            return (f"{_flag(dest)} does not apply to --frontend {name} (kapre.frontends.{frontend.builder}); it "
                    f"takes {takes}")
        top, _, key = target.partition(".")
        inner = frontend_args.get(top)
        if not key and top in frontend_args:
            return f"{_flag(dest)} and --frontend-arg {top} set the same argument: give one"
        if key and isinstance(inner, dict) and key in inner:
            return f"{_flag(dest)} and --frontend-arg {top} (its {key!r}) set the same argument: give one"
    return None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def int_in(largest: int):
    """An argparse ``type``: a positive integer, at most ``largest``."""

    def bounded_int(text: str) -> int:
        value = positive_int(text)
        if value > largest:
            raise argparse.ArgumentTypeError(f"expected at most {largest}{_WHY.get(largest, '')}, got {text!r}")
        return value

    bounded_int.__name__ = f"integer from 1 to {largest}"
    return bounded_int


def seed_value(text: str) -> int:
    """``--seed``: an integer from 0 to 2**31 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {MAX_SEED}, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {MAX_SEED}, got {text!r}")
    return value


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def frequency(text: str) -> float:
    """``--fmin``/``--fmax``: Hz, from 0 to half the largest sample rate (checked against ``--sr`` later)."""
    value = non_negative_float(text)
    if value > MAX_SAMPLE_RATE / 2:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_SAMPLE_RATE // 2} Hz (half of the largest --sr), "
                                         f"got {text!r}")
    return value


def level(text: str) -> float:
    """``--amin``, ``--ref``: a number > 0 that float32 holds."""
    value = positive_float(text)
    if value > MAX_VALUE:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_VALUE:.4g} (float32's largest), got {text!r}")
    return value


def top_db_value(text: str) -> float | None:
    """``--top-db``: a positive number of dB, or ``none`` (no floor)."""
    if text.strip().lower() == "none":
        return None
    return positive_float(text)


def ref_value(text: str) -> float | str:
    """``--ref``: a positive number (the value that becomes 0 dB), or ``max`` (each file's maximum)."""
    if text.strip().lower() == "max":
        return "max"
    return level(text)


def tuning_value(text: str) -> float:
    """``--tuning``: the deviation from A440 tuning, in fractions of a bin, in [-0.5, 0.5)."""
    value = _float(text)
    if not -0.5 <= value < 0.5:
        raise argparse.ArgumentTypeError(f"expected a fraction of a bin from -0.5 to below 0.5, got {text!r}")
    return value


def filter_scale_value(text: str) -> float:
    """``--filter-scale``: a number > 0, at most 1000 (the filters' length grows with it)."""
    value = positive_float(text)
    if value > 1000:
        raise argparse.ArgumentTypeError(f"expected at most 1000, got {text!r}")
    return value


def power_value(text: str) -> float:
    value = _float(text)
    if value not in (1.0, 2.0):
        raise argparse.ArgumentTypeError(f"expected 1 (magnitude) or 2 (power), got {text!r}")
    return value


def add_feature_options(parser: argparse.ArgumentParser) -> None:
    """The options shared by ``kapre extract`` and ``kapre show`` (``docs/cli.md`` lists them with their meaning)."""
    group = parser.add_argument_group("feature options (defaults: librosa's, frames as kapre's STFT)")
    group.add_argument("--feature", choices=FEATURES, default=None,
                       help="representation to compute (default: mel); cqt and vqt: kapre.CQT/VQT (librosa.cqt/vqt), "
                            "chroma: kapre.Chroma (librosa.feature.chroma_stft/chroma_cqt)")
    group.add_argument("--sr", dest="sample_rate", type=int_in(MAX_SAMPLE_RATE), default=None, metavar="HZ",
                       help="sample rate; files at another rate are resampled (default: 22050)")
    group.add_argument("--n-fft", type=int_in(MAX_SAMPLES), default=None, metavar="N", help="FFT size (default: 2048)")
    group.add_argument("--hop", dest="hop_length", type=int_in(MAX_SAMPLES), default=None, metavar="N",
                       help="hop between frames in samples (default: win-length // 4)")
    group.add_argument("--win-length", type=int_in(MAX_SAMPLES), default=None, metavar="N",
                       help="window length, at most n-fft (default: n-fft)")
    group.add_argument("--window", choices=WINDOWS, default=None, metavar="NAME",
                       help=f"analysis window, periodic (default: hann); one of {', '.join(WINDOWS)}")
    group.add_argument("--center", action="store_true", default=None,
                       help="centred frames as librosa's default (1 + samples // hop frames, frame t centred on "
                            "sample t * hop); without it frames start at sample t * hop (librosa center=False)")
    group.add_argument("--pad-mode", choices=("constant", "reflect"), default=None,
                       help="padding of the signal's ends with --center (default: constant, i.e. zeros)")
    group.add_argument("--power", type=power_value, default=None, metavar="1|2",
                       help="spectrogram exponent before any filterbank: 2 power |X|^2 (default), 1 magnitude |X|")
    group.add_argument("--n-mels", type=int_in(MAX_BANDS), default=None, metavar="N",
                       help="mel bands for mel and mfcc (default: 128)")
    group.add_argument("--fmin", type=frequency, default=None, metavar="HZ",
                       help="lowest frequency of the mel filterbank (default: 0) or of the first log-frequency or "
                            "constant-Q bin (default: C1, 32.7 Hz)")
    group.add_argument("--fmax", type=frequency, default=None, metavar="HZ",
                       help="highest frequency of the mel filterbank (default: sr / 2)")
    group.add_argument("--n-mfcc", type=int_in(MAX_BANDS), default=None, metavar="N",
                       help="MFCC coefficients (default: 20)")
    group.add_argument("--n-bins", type=int_in(MAX_BANDS), default=None, metavar="N",
                       help="log-frequency or constant-Q bins from --fmin (default: 84)")
    group.add_argument("--bins-per-octave", type=int_in(MAX_BANDS), default=None, metavar="N",
                       help="bins per octave of logfreq, cqt, vqt and chroma from a CQT (default: 12; chroma from a "
                            "CQT: 36)")
    group.add_argument("--tuning", type=tuning_value, default=None, metavar="X",
                       help="deviation from A440 in fractions of a bin, -0.5 to 0.5, for cqt, vqt and chroma "
                            "(default: 0)")
    group.add_argument("--filter-scale", type=filter_scale_value, default=None, metavar="X",
                       help="filter length factor of cqt and vqt (librosa's filter_scale, default: 1)")
    group.add_argument("--gamma", type=frequency, default=None, metavar="HZ",
                       help="bandwidth offset of vqt's filters (default: librosa's, proportional to the ERB; 0 is "
                            "the CQT)")
    group.add_argument("--n-chroma", type=int_in(MAX_BANDS), default=None, metavar="N",
                       help="chroma bins per octave (default: 12)")
    group.add_argument("--chroma-source", choices=CHROMA_SOURCES, default=None,
                       help="chroma from an STFT (librosa.feature.chroma_stft, default) or a CQT (chroma_cqt)")
    group.add_argument("--n-octaves", type=int_in(MAX_OCTAVES), default=None, metavar="N",
                       help="octaves of the CQT of --chroma-source cqt (default: 7)")
    group.add_argument("--db", action="store_true", default=None,
                       help="decibels as kapre.MelSpectrogram(return_decibel=True) and librosa.power_to_db: "
                            "10*log10(max(S, amin) / ref), floored --top-db below each file's maximum (mfcc: "
                            "always from these decibels)")
    group.add_argument("--top-db", type=top_db_value, default=None, metavar="DB",
                       help="dB kept below each file's maximum, or 'none' (default: 80)")
    group.add_argument("--amin", type=level, default=None, metavar="X",
                       help="smallest value before the logarithm (default: 1e-10, i.e. -100 dB)")
    group.add_argument("--ref", type=ref_value, default=None, metavar="X|max",
                       help="value that becomes 0 dB, or 'max': each file's maximum (default: 1.0)")
    channels = group.add_mutually_exclusive_group()
    channels.add_argument("--mono", dest="mono", action="store_true", default=None,
                          help="average the channels first; output (frames, bins, 1) (default)")
    channels.add_argument("--per-channel", dest="mono", action="store_false",
                          help="keep the channels; output (frames, bins, channels)")
    names = ", ".join(f"{f.name} ({f.rate / 1000:g} kHz)" for f in FRONTENDS.values())
    group.add_argument("--frontend", choices=tuple(FRONTENDS), default=None, metavar="NAME",
                       help="a model's or library's own front-end (kapre.frontends), saved in its reference's layout, "
                            f"at its sample rate: {names}. It takes --sr (where the reference has a rate), --n-mels, "
                            "--n-mfcc, --n-fft, --hop, --win-length, --fmin, --fmax where its builder has the same "
                            "argument, and any builder argument as --frontend-arg; other options are an error")
    group.add_argument("--frontend-arg", dest="frontend_args", type=frontend_arg, action="append", default=None,
                       metavar="NAME=VALUE",
                       help="an argument of the --frontend's builder, by its own name, VALUE as JSON (repeatable): "
                            "--frontend-arg pad_or_trim=true, --frontend-arg layout=frames_first")
    group.add_argument("--config", metavar="FILE.json", default=None,
                       help="front-end from a JSON file: options ({\"feature\": \"mel\", \"n_fft\": 1024, ...}), a "
                            "Keras layer config (model.get_config() serialized), or a kapre-frontend.json written by "
                            "kapre extract")


def _add_demo(sub) -> argparse.ArgumentParser:
    demo = sub.add_parser("demo", help="compute every representation of a clip and draw them (kapre-demo.png)",
                          description="Compute the STFT, mel, log-frequency spectrograms and MFCC of a built-in clip "
                                      "(or your FILE) with kapre's layers, draw them and compare with librosa; turn "
                                      "the mel spectrogram back into sound (kapre invert's chain) beside the picture.")
    demo.add_argument("file", nargs="?", default=None, help="audio file to use instead of the built-in clip")
    demo.add_argument("-o", "--output", default="kapre-demo.png",
                      help="picture to write (default: kapre-demo.png); the reconstructed sound is written beside it, "
                           "the same name with .wav")
    demo.add_argument("--feature", dest="features", choices=FEATURES, action="append", default=None, metavar="NAME",
                      help="a representation to draw, repeatable, in the order given: "
                           f"{', '.join(FEATURES)} (default: stft, mel, logfreq and mfcc)")
    return demo


def engine_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with ``kapre extract``'s --engine, --num-workers and --address together (standard library only:
    answered before a backend is imported), else ``None``."""
    engine = getattr(args, "engine", "local")
    if args.address is not None and engine != "ray":
        return f"--address {args.address}: it names a Ray cluster; use it with --engine ray (got --engine {engine})"
    if args.num_workers is not None and engine == "local":
        return (f"--num-workers {args.num_workers}: the local engine computes in this process; use --engine processes "
                "or --engine ray for workers")
    if engine == "ray" and importlib.util.find_spec("ray") is None:
        return "--engine ray needs Ray, which is not installed: pip install 'kapre[ray]'"
    return None


def _add_extract(sub) -> argparse.ArgumentParser:
    extract = sub.add_parser(
        "extract", help="extract features of audio files to .npy files",
        description="Extract features of audio files (or of every audio file in folders, recursively) to one .npy "
                    "per file under OUTDIR, mirroring the input tree below the input root, with a manifest "
                    "(manifest.jsonl, one row per input, merged across runs) and the front-end used "
                    "(kapre-frontend.json). Existing outputs are kept (resume) unless --overwrite.",
        epilog="Exit status: 0 success, 1 some input failed (the others are written), 2 invalid options or output "
               "folder, 130 interrupted (the manifest holds every finished file; run the same command to resume).")
    extract.add_argument("inputs", nargs="+", metavar="INPUT", help="audio files or folders")
    extract.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR", help="where to write the features")
    extract.add_argument("--root", default=None, metavar="DIR",
                         help="output paths mirror the inputs' paths below DIR (default: the root recorded in "
                              "OUTDIR/kapre-frontend.json by an earlier run, else the inputs' common folder)")
    add_feature_options(extract)
    extract.add_argument("--batch-size", type=int_in(MAX_BATCH_SIZE), default=1, metavar="N",
                         help="files computed together (default: 1, each file alone, so its output does not depend "
                              "on the other files of the run; larger batches are faster on accelerators, and equal "
                              "to the file alone up to float rounding)")
    extract.add_argument("--overwrite", action="store_true", help="recompute outputs that already exist")
    engine = extract.add_argument_group('where the files are computed (docs/cli.md, "Engines")')
    engine.add_argument("--engine", choices=ENGINES, default="local",
                        help="local (default): in this process; processes: N worker processes on this machine; "
                             "ray: an actor pool on a Ray cluster (pip install 'kapre[ray]'); every engine writes "
                             "the same outputs and manifest")
    engine.add_argument("--num-workers", type=int_in(MAX_WORKERS), default=None, metavar="N",
                        help="worker processes (--engine processes; default: the CPU cores) or Ray actors, each "
                             "holding a built front-end (--engine ray; default: the cluster's CPUs)")
    engine.add_argument("--address", default=None, metavar="HOST:PORT",
                        help="--engine ray: the Ray cluster to join (as `ray start --head` prints it, or 'auto'); "
                             "default: start a Ray instance on this machine for the run")
    return extract


def _add_show(sub) -> argparse.ArgumentParser:
    show = sub.add_parser("show", help="draw the waveform and a feature of one file",
                          description="Draw the waveform and the feature of one audio file.")
    show.add_argument("file", help="audio file")
    show.add_argument("-o", "--output", required=True, metavar="FIG.png",
                      help="picture to write (its folder is created)")
    add_feature_options(show)
    return show


def _add_invert(sub) -> argparse.ArgumentParser:
    invert = sub.add_parser(
        "invert", help="turn features written by kapre extract back into sound (.wav)",
        description="Turn features written by kapre extract (--feature stft, mel or mfcc) back into sound: the "
                    "decibels undone, mel bands back to a linear spectrogram (kapre.InverseMel; MFCCs first through "
                    "kapre.MFCCToMel), the phase estimated by kapre.GriffinLim. How the features were made is read "
                    "from the kapre-frontend.json of the extract run, beside the .npy or in a folder above it.",
        epilog="Exit status: 0 success, 1 some input could not be read or inverted (the others are written), 2 "
               "invalid options, no record, features kapre cannot invert, an output that exists (without "
               "--overwrite) or cannot be written.")
    invert.add_argument("inputs", nargs="+", metavar="FEATURES.npy", help=".npy files written by kapre extract")
    invert.add_argument("-o", "--output", default=None, metavar="OUT.wav",
                        help="the sound to write, with one input (default: FEATURES.wav beside each FEATURES.npy); "
                             ".wav is 32-bit float, .flac, .ogg and .aiff are written too")
    invert.add_argument("--record", default=None, metavar="FILE.json",
                        help="how the features were made: a kapre-frontend.json, or feature options as JSON as "
                             "kapre extract --config takes them (default: the kapre-frontend.json beside the .npy or "
                             "in the nearest folder above it)")
    invert.add_argument("--n-iter", type=int_in(MAX_ITERATIONS), default=32, metavar="N",
                        help="Griffin-Lim iterations (default: 32, librosa's)")
    invert.add_argument("--seed", type=seed_value, default=0, metavar="N",
                        help="seed of Griffin-Lim's random initial phase (default: 0: the same command writes the "
                             "same sound)")
    invert.add_argument("--keep-level", action="store_true",
                        help="keep the reconstructed level (default: scale the peak to 0.9, -0.9 dBFS)")
    invert.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    return invert


def _add_stream(sub) -> argparse.ArgumentParser:
    stream = sub.add_parser(
        "stream", help="play a file through a streaming front-end, chunk by chunk, and time it",
        description="Play an audio file through the streaming twin of a front-end (kapre.streaming.to_streaming, "
                    "external state, the compiled step) in chunks of --chunk-ms, as fast as it goes or in real time "
                    "(--realtime); write the features to OUT.npy and report the chunks, the frames, the per-chunk "
                    "latency (median, 99th percentile), the real-time factor and the front-end's algorithmic "
                    "latency. Default front-end: a 64-band log-mel at 16 kHz, 25 ms frames every 10 ms (--n-fft 512 "
                    "--win-length 400 --hop 160 --n-mels 64 --db --top-db none).",
        epilog="Exit status: 0 success, 1 the file cannot be read or is shorter than one frame, 2 invalid options, a "
               "front-end that cannot stream, an output path that cannot be written. Nothing is written unless the "
               "whole file went through.")
    stream.add_argument("file", help="audio file")
    stream.add_argument("-o", "--output", required=True, metavar="OUT.npy",
                        help="the features to write, (frames, bins, channels) as kapre extract writes them (its "
                             "folder is created; replaced if it exists)")
    stream.add_argument("--chunk-ms", type=positive_float, default=10.0, metavar="MS",
                        help="chunk length in milliseconds, rounded to whole samples (default: 10); the last chunk "
                             "holds what is left")
    stream.add_argument("--realtime", action="store_true",
                        help="feed each chunk when its last sample would have arrived (wall clock), not as fast as "
                             "possible")
    stream.add_argument("--db-floor", choices=("running_max", "fixed"), default="running_max",
                        help="with a decibel floor (--top-db DB), how it is made causal: below the maximum so far "
                             "(running_max, default) or below the reference, 0 dB (fixed)")
    add_feature_options(stream)
    return stream


EXPORT_FORMATS = {"keras": ".keras", "onnx": ".onnx", "litert": ".tflite"}  # kapre export --format: the suffix


def export_format(text: str) -> str:
    """``kapre export --format``: keras, onnx or litert (any case; ``tflite`` is litert's former name)."""
    name = text.strip().lower()
    name = "litert" if name == "tflite" else name
    if name not in EXPORT_FORMATS:
        raise argparse.ArgumentTypeError(f"unknown format {text!r}: expected {', '.join(EXPORT_FORMATS)}")
    return name


_EXPORT_SUFFIXES = {suffix: name for name, suffix in EXPORT_FORMATS.items()}


def format_for(path: str, given: str | None) -> tuple[str | None, str | None]:
    """The format of ``path`` (``--format`` ``given``, else from its suffix) and a problem in one line, or ``None``."""
    suffix = os.path.splitext(path)[1]
    implied = _EXPORT_SUFFIXES.get(suffix.lower())
    if given is None:
        if implied is None:
            shown = f"the suffix {suffix!r}" if suffix else "no suffix"
            return None, (f"{path} has {shown}: name a .keras, .onnx or .tflite file, or give --format "
                          f"{'|'.join(EXPORT_FORMATS)}")
        given = implied
    if implied is not None and implied != given:
        return None, (f"--format {given} and the suffix of {path} ({suffix}, {implied}) disagree: name a "
                      f"{EXPORT_FORMATS[given]} file, or give --format {implied}")
    if given == "keras" and suffix != ".keras":
        return None, f"--format keras writes a .keras file (keras.saving.load_model reads no other): name {path}.keras"
    return given, None


def _add_export(sub) -> argparse.ArgumentParser:
    export = sub.add_parser(
        "export", help="write a front-end as a .keras, ONNX or LiteRT model and check it in its runtime",
        description="Build the front-end a CONFIG file describes (the files kapre extract --config takes: feature "
                    "options as JSON, a Keras layer config, or a kapre-frontend.json) as a Keras model with free "
                    "batch and length axes, write it to FILE (keras: model.save; onnx: kapre.export.to_onnx; litert: "
                    "kapre.export.to_litert, builtin ops only), run it once in its runtime (keras.saving.load_model, "
                    "ONNX Runtime, the LiteRT interpreter) on a test signal (2 examples of 1 s at the front-end's "
                    "sample rate: a chirp over noise, and noise) and report the largest deviation from the Keras "
                    "model, the output shape and the file size.",
        epilog="Exit status: 0 success, 1 a converter fails (other than with kapre.export.ExportError), the exported "
               "file does not run in its runtime, or a converter's or runtime's package is missing, 2 invalid "
               "options, a CONFIG that cannot be read or is not a front-end, an output path that cannot be written, "
               "a front-end that cannot be exported to the format (kapre.export.ExportError). FILE is written only "
               "once the export has run in its runtime: on any error it is left as it was.")
    export.add_argument("config", metavar="CONFIG.json",
                        help="the front-end: feature options as JSON ({\"feature\": \"mel\", \"sr\": 16000, ...}), a "
                             "Keras layer config, or a kapre-frontend.json written by kapre extract")
    export.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="the model to write: FILE.keras, FILE.onnx or FILE.tflite (its folder must exist; "
                             "replaced if it exists)")
    export.add_argument("--format", type=export_format, default=None, metavar="|".join(EXPORT_FORMATS),
                        help="keras (a .keras file), onnx or litert (a .tflite flatbuffer) (default: from FILE's "
                             "suffix, .keras, .onnx or .tflite)")
    return export


def _add_info(sub) -> argparse.ArgumentParser:
    return sub.add_parser("info", help="versions, the Keras backend in use and its devices",
                          description="Print the versions of kapre, Keras and the backend, the backend in use and "
                                      "its devices.")


def build_parser(version: str) -> argparse.ArgumentParser:
    """The argument parser of the ``kapre`` command; each subcommand's parser is stored as ``command_parser``."""
    parser = argparse.ArgumentParser(
        prog="kapre",
        description="kapre: audio features with Keras 3 layers (TensorFlow, JAX or PyTorch).",
        epilog="Start with: kapre demo",
    )
    parser.add_argument("--version", action="version", version=f"kapre {version}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in (_add_demo, _add_extract, _add_show, _add_invert, _add_stream, _add_export, _add_info):
        subparser = add(sub)
        subparser.set_defaults(command_parser=subparser)  # errors after parsing print this command's usage
    return parser
