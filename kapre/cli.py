"""The ``kapre`` command: ``kapre demo``, ``kapre extract``, ``kapre show`` and ``kapre info``.

Run ``kapre --help`` or ``kapre COMMAND --help``. The features are computed by kapre's own layers on the active Keras
backend (``KERAS_BACKEND``); see ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from kapre import _backend_choice

__all__ = ["main", "build_parser", "FeatureOptions", "build_frontend", "compute_features"]

FEATURES = ("stft", "mel", "logfreq", "mfcc")
MANIFEST_NAME = "manifest.jsonl"
FRONTEND_NAME = "kapre-frontend.json"
DEMO_MAX_SECONDS = 60.0
C1_HZ = 32.70319566


# ------------------------------------------------------------------------------------------------------------------
# Options
# ------------------------------------------------------------------------------------------------------------------


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
_CONFIG_KEYS = {
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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _add_feature_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("feature options (defaults: kapre's layer defaults)")
    group.add_argument("--feature", choices=FEATURES, default=None, help="representation to compute (default: mel)")
    group.add_argument("--sr", dest="sample_rate", type=_positive_int, default=None, metavar="HZ",
                       help="sample rate; files at another rate are resampled (default: 22050)")
    group.add_argument("--n-fft", type=_positive_int, default=None, metavar="N", help="FFT size (default: 2048)")
    group.add_argument("--hop", dest="hop_length", type=_positive_int, default=None, metavar="N",
                       help="hop between frames in samples (default: win-length // 4)")
    group.add_argument("--win-length", type=_positive_int, default=None, metavar="N",
                       help="window length, at most n-fft (default: n-fft)")
    group.add_argument("--n-mels", type=_positive_int, default=None, metavar="N",
                       help="mel bands for mel and mfcc (default: 128)")
    group.add_argument("--n-mfcc", type=_positive_int, default=None, metavar="N",
                       help="MFCC coefficients (default: 20)")
    group.add_argument("--n-bins", type=_positive_int, default=None, metavar="N",
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``kapre`` command."""
    parser = argparse.ArgumentParser(
        prog="kapre",
        description="kapre: audio features with Keras 3 layers (TensorFlow, JAX or PyTorch).",
        epilog="Start with: kapre demo",
    )
    parser.add_argument("--version", action="version", version=f"kapre {_kapre_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser("demo", help="compute every representation of a clip and draw them (kapre-demo.png)",
                          description="Compute the STFT, mel, log-frequency spectrograms and MFCC of a built-in clip "
                                      "(or your FILE) with kapre's layers, draw them and compare with librosa.")
    demo.add_argument("file", nargs="?", default=None, help="audio file to use instead of the built-in clip")
    demo.add_argument("-o", "--output", default="kapre-demo.png", help="picture to write (default: kapre-demo.png)")

    extract = sub.add_parser("extract", help="extract features of audio files to .npy files",
                             description="Extract features of audio files (or of every audio file in folders, "
                                         "recursively) to one .npy per file under OUTDIR, mirroring the input tree, "
                                         "with a manifest (manifest.jsonl). Existing outputs are kept (resume) unless "
                                         "--overwrite.")
    extract.add_argument("inputs", nargs="+", metavar="INPUT", help="audio files or folders")
    extract.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR", help="where to write the features")
    _add_feature_options(extract)
    extract.add_argument("--batch-size", type=_positive_int, default=16, metavar="N",
                         help="files per batch (default: 16)")
    extract.add_argument("--overwrite", action="store_true", help="recompute outputs that already exist")

    show = sub.add_parser("show", help="draw the waveform and a feature of one file",
                          description="Draw the waveform and the feature of one audio file.")
    show.add_argument("file", help="audio file")
    show.add_argument("-o", "--output", required=True, metavar="FIG.png", help="picture to write")
    _add_feature_options(show)

    info = sub.add_parser("info", help="versions, the Keras backend in use and its devices",
                          description="Print the versions of kapre, Keras and the backend, the backend in use and "
                                      "its devices.")
    for subparser in (demo, extract, show, info):
        subparser.set_defaults(command_parser=subparser)  # errors after parsing print this command's usage
    return parser


def _kapre_version() -> str:
    import kapre

    return getattr(kapre, "__version__", "unknown")


def _options_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[FeatureOptions, object]:
    """Options and, when --config holds a Keras config, the deserialized front-end (else ``None``)."""
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
            options.sample_rate = int(config.get("sample_rate") or _model_sample_rate(model) or options.sample_rate)
            options.mono = bool(config.get("mono", True))
        else:
            unknown = sorted(set(config) - set(_CONFIG_KEYS))
            if unknown:
                parser.error(f"--config: unknown key(s) {unknown} in {args.config}; known: {sorted(_CONFIG_KEYS)}")
            for key, value in config.items():
                setattr(options, _CONFIG_KEYS[key], value)
    for name, value in explicit.items():
        setattr(options, name, value)
    _check_options(parser, options)
    return options, model


def _check_options(parser: argparse.ArgumentParser, o: FeatureOptions) -> None:
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


def _model_sample_rate(model) -> int | None:
    for layer in _layers_of(model):
        kwargs = getattr(layer, "filterbank_kwargs", None)
        if isinstance(kwargs, dict) and kwargs.get("sample_rate"):
            return int(kwargs["sample_rate"])
    return None


# ------------------------------------------------------------------------------------------------------------------
# The front-end: kapre layers
# ------------------------------------------------------------------------------------------------------------------

def mfcc_layer(n_mfcc: int):
    """``kapre.LogmelToMFCC`` over the mel axis of a channels_last log-mel spectrogram."""
    import kapre

    return kapre.LogmelToMFCC(n_mfccs=n_mfcc, data_format="channels_last")


def build_frontend(options: FeatureOptions, db: str | None = "auto"):
    """A ``keras.Sequential`` of kapre layers for ``options``: ``(batch, time, channels)`` waveforms in,
    ``(batch, frames, bins, channels)`` out (channels_last on both sides).

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
        model = composed.get_stft_magnitude_layer(return_decibel=kapre_db, **common)
    elif o.feature == "mel":
        model = composed.get_melspectrogram_layer(sample_rate=o.sample_rate, n_mels=o.n_mels,
                                                  return_decibel=kapre_db, **common)
    elif o.feature == "logfreq":
        model = composed.get_log_frequency_spectrogram_layer(sample_rate=o.sample_rate, log_n_bins=o.n_bins,
                                                             return_decibel=kapre_db, **common)
    else:
        mel = composed.get_melspectrogram_layer(sample_rate=o.sample_rate, n_mels=o.n_mels, return_decibel=True,
                                                **common)
        return keras.Sequential([*mel.layers, mfcc_layer(o.n_mfcc)], name="mfcc")
    if db == "amplitude":
        model = keras.Sequential([*model.layers, MagnitudeToDecibel(amplitude=True)], name=model.name)
    return model


def _layers_of(model) -> list:
    import keras

    if isinstance(model, keras.Sequential):
        return list(model.layers)
    return [model] if not isinstance(model, keras.Model) else []


def _resolve_format(fmt: str) -> str:
    import keras

    return keras.config.image_data_format() if fmt in (None, "default") else fmt


@dataclass
class _Plan:
    """How to run a front-end over files of different lengths."""

    model: object
    prefix: list = field(default_factory=list)  # run on zero-padded batches; the output is trimmed per file
    suffix: list = field(default_factory=list)  # the rest: run per file on its trimmed frames
    masked: frozenset = frozenset()  # indices of prefix layers whose input's padded frames are zeroed first
    stft: object = None
    channels_first_in: bool = False
    time_axis: int = 1  # of the STFT's output


def _plan(model) -> _Plan:
    """Split a Sequential into a part that runs on zero-padded batches and a per-file rest.

    Zero padding at the end of a waveform changes no frame that lies within it (kapre's STFT frames are the samples
    they cover; ``pad_end`` and ``center`` with constant padding append zeros anyway). Frame-wise layers (Magnitude,
    filterbanks, MFCC) keep that. ``MagnitudeToDecibel`` takes each example's maximum, which frames of zeros never
    raise, so it runs on the batch too once the frames beyond a file's end are zeroed. Any other layer, and
    everything after it, runs file by file.
    """
    import kapre

    local = (kapre.Magnitude, kapre.ApplyFilterbank, kapre.LogmelToMFCC)
    layers = _layers_of(model)
    plan = _Plan(model=model)
    if not layers or not isinstance(layers[0], kapre.STFT):
        return plan  # an unknown model: run it whole, batching only files of equal length
    stft = layers[0]
    plan.stft = stft
    plan.channels_first_in = _resolve_format(stft.input_data_format) == "channels_first"
    plan.time_axis = 2 if _resolve_format(stft.output_data_format) == "channels_first" else 1
    if getattr(stft, "center", False) and getattr(stft, "pad_mode", "constant") != "constant":
        return plan  # reflection at the end of a file is not zero padding
    split, masked, nonnegative = 1, set(), False
    for i, layer in enumerate(layers[1:], start=1):
        if isinstance(layer, local):
            nonnegative = nonnegative or isinstance(layer, kapre.Magnitude)
        elif isinstance(layer, kapre.MagnitudeToDecibel) and nonnegative:
            masked.add(i)
        else:
            break
        split += 1
    plan.prefix, plan.suffix, plan.masked = layers[:split], layers[split:], frozenset(masked)
    return plan


def _frames_for(plan: _Plan, length: int, channels: int) -> int | None:
    """Frames the front-end outputs for ``length`` samples; raises ValueError (kapre's message) if too short."""
    if plan.stft is None:
        return None
    shape = (1, channels, length) if plan.channels_first_in else (1, length, channels)
    return int(plan.stft.compute_output_shape(shape)[plan.time_axis])


def _run_layers(layers, x):
    for layer in layers:
        x = layer(x)
    return x


def _bucket(length: int) -> int:
    """``length`` rounded up to one of 8 steps per octave: padded batches then share a few shapes, so that the
    backends (JAX in particular) compile each shape once, at most 12.5 % more samples."""
    if length <= 64:
        return 64
    step = 2 ** (max(0, math.ceil(math.log2(length)) - 3))
    return int(math.ceil(length / step) * step)


def _prefix_function(plan: _Plan, channels: int):
    """``f(waveforms, frame_mask)`` running the batched layers; compiled once per shape with ``jax.jit`` on JAX
    (eager JAX compiles every operation for every new shape, which is much slower)."""
    import keras

    cached = getattr(plan, "_function", None)
    if cached is not None:
        return cached

    def run(x, mask):
        for i, layer in enumerate(plan.prefix):
            if i in plan.masked:
                x = keras.ops.multiply(x, keras.ops.cast(mask, x.dtype))
            x = layer(x)
        return x

    function = run
    if keras.backend.backend() == "jax":
        import jax

        # Build the layers outside the trace, so that their constants are concrete arrays.
        shape = (None, channels, None) if plan.channels_first_in else (None, None, channels)
        for layer in plan.prefix:
            if not layer.built:
                layer.build(shape)
            shape = layer.compute_output_shape(shape)
        function = jax.jit(run)
    plan._function = function
    return function


def compute_features(plan_or_model, waveforms: list[np.ndarray]) -> list[np.ndarray]:
    """Run the front-end on waveforms ``(time, channels)`` (equal channel counts) as one zero-padded batch and
    return one array per waveform, equal (up to float rounding) to running the front-end on each waveform alone.

    See :func:`_plan` for why padding, trimming and masking give the per-file result.
    """
    import keras

    plan = plan_or_model if isinstance(plan_or_model, _Plan) else _plan(plan_or_model)
    lengths = [w.shape[0] for w in waveforms]
    channels = waveforms[0].shape[1]

    def layout(batch):
        return np.transpose(batch, (0, 2, 1)) if plan.channels_first_in else batch

    if not plan.prefix:  # run whole; only equal lengths can share a batch
        outputs = []
        for length in sorted(set(lengths)):
            idx = [i for i, n in enumerate(lengths) if n == length]
            batch = layout(np.stack([waveforms[i] for i in idx]))
            result = keras.ops.convert_to_numpy(plan.model(batch))
            outputs.extend((i, result[k]) for k, i in enumerate(idx))
        return [a for _, a in sorted(outputs, key=lambda pair: pair[0])]

    frames = [_frames_for(plan, n, channels) for n in lengths]
    batch = np.zeros((len(waveforms), _bucket(max(lengths)), channels), dtype=np.float32)
    for i, w in enumerate(waveforms):
        batch[i, : w.shape[0]] = w
    x = layout(batch)
    total = _frames_for(plan, batch.shape[1], channels)
    mask = (np.arange(total)[None, :] < np.array(frames)[:, None]).astype(np.float32)
    mask = mask.reshape((len(frames), total, 1, 1) if plan.time_axis == 1 else (len(frames), 1, total, 1))
    result = keras.ops.convert_to_numpy(_prefix_function(plan, channels)(x, mask))
    outputs = []
    for i, n_frames in enumerate(frames):
        one = np.take(result[i : i + 1], np.arange(n_frames), axis=plan.time_axis)
        if plan.suffix:
            one = keras.ops.convert_to_numpy(_run_layers(plan.suffix, one))
        outputs.append(np.asarray(one[0]))
    return outputs


def _describe(model, options: FeatureOptions | None) -> dict:
    """What the axes of the front-end's output are, for plotting."""
    import kapre

    desc = {"y_axis": "linear", "n_fft": 2048, "hop": 512, "fmin": None, "fmax": None, "htk": False, "bpo": 12,
            "db": False, "label": "STFT magnitude", "center": False}
    for layer in _layers_of(model):
        if isinstance(layer, kapre.STFT):
            desc["n_fft"] = layer.n_fft
            win = layer.win_length or layer.n_fft
            desc["hop"] = layer.hop_length or max(1, win // 4)
            desc["center"] = bool(getattr(layer, "center", False))
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


# ------------------------------------------------------------------------------------------------------------------
# Output helpers
# ------------------------------------------------------------------------------------------------------------------


def _atomic_save(path: str, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` (.npy) through a temporary file in the same folder and ``os.replace``."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    base = os.path.basename(path)
    for stale in glob.glob(os.path.join(glob.escape(directory), f".{glob.escape(base)}.*.tmp")):
        try:
            os.remove(stale)
        except OSError:
            pass
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, array)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def _atomic_write_text(path: str, text: str) -> None:
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class _Reporter:
    """Progress bar (tqdm on stderr, when installed and stderr is a terminal) and messages that do not break it."""

    def __init__(self, total: int, desc: str):
        self.bar = None
        try:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="file", file=sys.stderr, disable=None, dynamic_ncols=True)
        except ImportError:
            pass

    def update(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def message(self, text: str) -> None:
        if self.bar is not None and not self.bar.disable:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ------------------------------------------------------------------------------------------------------------------
# kapre extract
# ------------------------------------------------------------------------------------------------------------------


@dataclass
class _Job:
    index: int
    path: str
    output: str
    row: dict
    length: int = 0
    channels: int = 0


def _collect_inputs(inputs: list[str], out_dir: str) -> tuple[list[tuple[str, str]], list[dict]]:
    """``[(audio path, output path)]`` mirroring the inputs below their common folder, and error rows."""
    from kapre.audio import find_audio_files

    errors, files = [], []
    roots = []
    for item in inputs:
        if os.path.isdir(item):
            found = find_audio_files(item)
            if not found:
                errors.append(_row(item, status="error", error="folder holds no audio files"))
            roots.append(os.path.abspath(item))
            files.extend(found)
        elif os.path.exists(item):
            roots.append(os.path.dirname(os.path.abspath(item)))
            files.append(item)
        else:
            errors.append(_row(item, status="error", error="no such file or folder"))
    if not files:
        return [], errors
    base = os.path.commonpath(roots)
    seen, unique = set(), []
    for path in files:
        key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    stems = {}
    for path in unique:
        stem = os.path.splitext(os.path.relpath(os.path.abspath(path), base))[0]
        stems.setdefault(stem, []).append(path)
    pairs = []
    for path in unique:
        rel = os.path.relpath(os.path.abspath(path), base)
        stem = os.path.splitext(rel)[0]
        name = stem if len(stems[stem]) == 1 else rel  # a.wav and a.flac side by side: a.wav.npy, a.flac.npy
        pairs.append((path, os.path.join(out_dir, name + ".npy")))
    return pairs, errors


def _row(path: str, **fields) -> dict:
    row = {"path": path, "output": None, "sample_rate": None, "duration": None, "channels": None, "shape": None,
           "status": "ok", "error": None}
    row.update(fields)
    return row


def _frontend_record(options: FeatureOptions, keras_config: dict | None) -> dict:
    """What ``kapre-frontend.json`` holds: the options, or the Keras config given with --config."""
    record = {"kapre_version": _kapre_version(), "sample_rate": options.sample_rate, "mono": options.mono}
    if keras_config is None:
        record["options"] = {k: v for k, v in asdict(options).items() if k not in ("sample_rate", "mono")}
    else:
        record["model"] = keras_config
    return record


def _without_names(value):
    if isinstance(value, dict):
        return {k: _without_names(v) for k, v in value.items() if k not in ("name", "build_config", "module")}
    if isinstance(value, list):
        return [_without_names(v) for v in value]
    return value


def _cmd_extract(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    options, model = _options_from_args(parser, args)
    from_config = model is not None
    if model is None:
        try:
            model = build_frontend(options)
        except (ValueError, TypeError) as err:
            parser.error(str(err))
    out_dir = args.output_dir
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        parser.error(f"-o {out_dir}: exists and is not a folder")

    # The same folder must not mix features made with different front-ends.
    record = _frontend_record(options, getattr(args, "keras_config", None) if from_config else None)
    record_path = os.path.join(out_dir, FRONTEND_NAME)
    if os.path.exists(record_path) and not args.overwrite:
        try:
            with open(record_path) as f:
                previous = json.load(f)
        except (OSError, ValueError):
            previous = None
        same = previous is not None and all(
            _without_names(previous.get(k)) == _without_names(json.loads(json.dumps(record.get(k))))
            for k in ("sample_rate", "mono", "options", "model")
        )
        if not same:
            parser.error(f"{out_dir} holds features made with another front-end ({record_path}); use the same "
                         "options, --config that file, --overwrite, or another -o")
    try:
        from kapre.audio import MissingDependencyError, audio_info
    except ImportError as err:  # pragma: no cover
        parser.error(str(err))
    try:
        pairs, rows = _collect_inputs(args.inputs, out_dir)
    except MissingDependencyError as err:
        print(f"kapre extract: error: {err}", file=sys.stderr)
        return 1
    os.makedirs(out_dir, exist_ok=True)
    _atomic_write_text(record_path, json.dumps(record, indent=1) + "\n")

    reporter = _Reporter(len(pairs), "kapre extract")
    for row in rows:
        reporter.message(f"kapre extract: {row['path']}: {row['error']}")
    plan = _plan(model)
    jobs: list[_Job] = []
    for index, (path, output) in enumerate(pairs):
        row = _row(path, output=os.path.relpath(output, out_dir))
        rows.append(row)
        try:
            sr, frames, channels = audio_info(path)
            row.update(sample_rate=sr, duration=round(frames / sr, 6) if sr else None, channels=channels)
        except Exception as err:
            row.update(status="error", error=str(err), output=None)
            reporter.message(f"kapre extract: {path}: {err}")
            reporter.update()
            continue
        if os.path.exists(output) and not args.overwrite:
            try:
                row.update(status="skipped", shape=list(np.load(output, mmap_mode="r").shape))
            except Exception:  # an unreadable leftover: compute it again
                pass
            else:
                reporter.update()
                continue
        n_out = 1 if options.mono else channels
        expected = int(math.ceil(frames * options.sample_rate / sr)) if sr else frames
        jobs.append(_Job(index, path, output, row, expected, n_out))

    # Similar lengths together, so that padding costs little; channel counts never mix in a batch.
    jobs.sort(key=lambda j: (j.channels, j.length, j.index))
    for start in range(0, len(jobs), args.batch_size):
        _process_batch(jobs[start : start + args.batch_size], plan, options, reporter)
    reporter.close()

    order = {id(r): i for i, r in enumerate(rows)}
    rows.sort(key=lambda r: order[id(r)])
    _atomic_write_text(os.path.join(out_dir, MANIFEST_NAME), "".join(json.dumps(r) + "\n" for r in rows))
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "skipped", "error")}
    print(f"kapre extract: {counts['ok']} written, {counts['skipped']} skipped (output exists), "
          f"{counts['error']} failed; manifest: {os.path.join(out_dir, MANIFEST_NAME)}")
    return 1 if counts["error"] else 0


def _process_batch(jobs: list[_Job], plan: _Plan, options: FeatureOptions, reporter: _Reporter) -> None:
    from kapre.audio import AudioError, MissingDependencyError, load_audio

    ready = []
    for job in jobs:
        try:
            audio, _ = load_audio(job.path, sample_rate=options.sample_rate, mono=options.mono)
            _check_length(plan, audio, options.sample_rate)
            ready.append((job, audio))
        except (AudioError, MissingDependencyError, ValueError) as err:
            _fail(job, err, reporter)
    if not ready:
        return
    try:
        results = compute_features(plan, [audio for _, audio in ready])
    except Exception:  # find the culprit: one at a time
        results = []
        for job, audio in ready:
            try:
                results.append(compute_features(plan, [audio])[0])
            except Exception as err:
                _fail(job, err, reporter)
                results.append(None)
    for (job, _), features in zip(ready, results, strict=True):
        if features is None:
            continue
        try:
            _atomic_save(job.output, features.astype(np.float32, copy=False))
        except OSError as err:
            _fail(job, err, reporter, prefix="cannot write output: ")
            continue
        job.row.update(status="ok", shape=list(features.shape))
        reporter.update()


def _check_length(plan: _Plan, audio: np.ndarray, sample_rate: int) -> None:
    """Raise ``AudioError`` if ``audio`` is shorter than one frame of the front-end."""
    from kapre.audio import AudioError

    try:
        _frames_for(plan, audio.shape[0], audio.shape[1])
    except ValueError as err:
        stft = plan.stft
        needed = (stft.win_length or stft.n_fft) if stft is not None else "?"
        raise AudioError(
            f"too short: {audio.shape[0]} samples at {sample_rate} Hz, one frame needs {needed} "
            "(lower --n-fft/--win-length)"
        ) from err


def _fail(job: _Job, err: Exception, reporter: _Reporter, prefix: str = "") -> None:
    message = prefix + (str(err) or type(err).__name__)
    job.row.update(status="error", error=message, output=None, shape=None)
    reporter.message(f"kapre extract: {job.path}: {message}")
    reporter.update()


# ------------------------------------------------------------------------------------------------------------------
# kapre show
# ------------------------------------------------------------------------------------------------------------------


def _cmd_show(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    options, model = _options_from_args(parser, args)
    try:
        from kapre import plot
        from kapre.audio import AudioError, MissingDependencyError, load_audio

        plt = plot._pyplot()
    except ImportError as err:
        print(f"kapre show: error: {err}", file=sys.stderr)
        return 1
    if model is None:
        try:
            # Without --db the picture still shows decibels: kapre's MagnitudeToDecibel(amplitude=True).
            model = build_frontend(options, db="auto" if options.db or options.feature == "mfcc" else "amplitude")
        except (ValueError, TypeError) as err:
            parser.error(str(err))
    try:
        audio, sr = load_audio(args.file, sample_rate=options.sample_rate, mono=options.mono)
        plan = _plan(model)
        _check_length(plan, audio, sr)
    except (AudioError, MissingDependencyError, ValueError) as err:
        print(f"kapre show: error: {args.file}: {err}", file=sys.stderr)
        return 1
    features = compute_features(plan, [audio])[0]  # (frames, bins, channels)
    if plan.time_axis == 2:
        features = np.transpose(features, (1, 2, 0))
    desc = _describe(model, options)
    channels = features.shape[-1]
    fig, axes = plt.subplots(1 + channels, 1, figsize=(10, 2 + 3.2 * channels), layout="constrained",
                             gridspec_kw={"height_ratios": [1] + [2] * channels}, squeeze=False)
    axes = axes[:, 0]
    plot.waveshow(audio, sr=sr, ax=axes[0])
    _hidden_colorbar(fig, axes[0])
    axes[0].set_title(f"{os.path.basename(args.file)}: {audio.shape[0] / sr:.2f} s at {sr} Hz"
                      + (", mono mix" if options.mono else ""))
    unit = {"amplitude": "dB", "kapre": "dB (kapre: 10·log10 |X|)", False: "magnitude"}[desc["db"]]
    if desc["y_axis"] == "coef":
        unit = "MFCC value"
    for c in range(channels):
        ax = axes[1 + c]
        plot.specshow(features[:, :, c], sr=sr, hop_length=desc["hop"], n_fft=desc["n_fft"], y_axis=desc["y_axis"],
                      ax=ax, fmin=desc["fmin"], fmax=desc["fmax"], htk=desc["htk"], bins_per_octave=desc["bpo"],
                      center=desc["center"], colorbar=unit, cmap="coolwarm" if desc["y_axis"] == "coef" else "magma")
        ax.set_title(f"{desc['label']}" + (f", channel {c}" if channels > 1 else "")
                     + f"  {tuple(features.shape[:2])}")
    fig.savefig(args.output, dpi=100)
    plt.close(fig)
    print(f"kapre show: wrote {args.output} ({desc['label']}, shape {tuple(features.shape)}, backend "
          f"{_backend_name()})")
    return 0


def _hidden_colorbar(fig, ax) -> None:
    """Reserve a colour bar's width next to ``ax`` so that its time axis lines up with the spectrograms'."""
    import matplotlib.cm

    cbar = fig.colorbar(matplotlib.cm.ScalarMappable(), ax=ax, pad=0.01)
    cbar.ax.set_visible(False)


# ------------------------------------------------------------------------------------------------------------------
# kapre info
# ------------------------------------------------------------------------------------------------------------------


def _backend_name() -> str:
    import keras

    return keras.backend.backend()


def _backend_reason() -> str:
    choice = _backend_choice.CHOICE
    if choice.get("backend") and choice.get("reason"):
        return choice["reason"]
    if os.environ.get("KERAS_BACKEND"):
        return "set by KERAS_BACKEND"
    if os.path.exists(_backend_choice.keras_config_path()):
        return f"from {_backend_choice.keras_config_path()} or Keras' default"
    return "Keras' default"


def _module_version(name: str) -> str:
    try:
        module = __import__(name)
    except ImportError:
        return "not installed"
    except Exception as err:  # a broken install
        return f"cannot import ({type(err).__name__})"
    return getattr(module, "__version__", "installed")


def _devices() -> list[str]:
    backend = _backend_name()
    try:
        if backend == "jax":
            import jax

            return [f"{d.platform}:{d.id} ({getattr(d, 'device_kind', '')})" for d in jax.devices()]
        if backend == "tensorflow":
            import tensorflow as tf

            return [d.name.replace("/physical_device:", "") for d in tf.config.list_physical_devices()]
        if backend == "torch":
            import torch

            found = ["cpu"]
            if torch.cuda.is_available():
                found += [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
            if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
                found.append("mps")
            return found
    except Exception as err:
        return [f"unknown ({type(err).__name__}: {err})"]
    return ["unknown"]


def _cmd_info(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import platform

    import keras

    backend = _backend_name()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend, backend)
    lines = [
        ("kapre", _kapre_version()),
        ("python", platform.python_version()),
        ("keras", keras.__version__),
        ("backend in use", f"{backend} ({_backend_reason()})"),
        (f"{module}", _module_version(module)),
        ("devices", ", ".join(_devices())),
        ("numpy", np.__version__),
    ]
    for name in ("tensorflow", "jax", "torch"):
        if name != module:
            lines.append((name, _module_version(name)))
    for name in ("soundfile", "soxr", "matplotlib", "tqdm", "librosa"):
        lines.append((name, _module_version(name)))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    return 0


# ------------------------------------------------------------------------------------------------------------------
# kapre demo
# ------------------------------------------------------------------------------------------------------------------


def _timed(model, x: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Output and the times (s) of a first call (builds the layers) and of a second call."""
    import keras

    start = time.perf_counter()
    keras.ops.convert_to_numpy(model(x))
    first = time.perf_counter() - start
    start = time.perf_counter()
    out = keras.ops.convert_to_numpy(model(x))
    return np.asarray(out), first, time.perf_counter() - start


def _librosa_reference(name: str, y: np.ndarray, o: FeatureOptions) -> np.ndarray | None:
    """The same representation computed with librosa (frames as kapre: center=False), ``(time, bins)``."""
    try:
        import librosa
    except ImportError:
        return None
    mag = np.abs(librosa.stft(y, n_fft=o.n_fft, hop_length=o.resolved_hop, win_length=o.n_fft, window="hann",
                              center=False))
    if name == "stft":
        return librosa.amplitude_to_db(mag, ref=1.0, amin=1e-5, top_db=80.0).T
    mel = librosa.feature.melspectrogram(S=mag, sr=o.sample_rate, n_fft=o.n_fft, n_mels=o.n_mels, fmin=0.0,
                                         fmax=o.sample_rate / 2, htk=False, norm="slaney")
    if name == "mel":
        return librosa.amplitude_to_db(mel, ref=1.0, amin=1e-5, top_db=80.0).T
    if name == "mfcc":
        log_mel = librosa.power_to_db(mel, ref=1.0, amin=1e-5, top_db=80.0)  # kapre's MagnitudeToDecibel()
        # tf.signal.mfccs_from_log_mel_spectrograms' scaling: the unnormalised DCT-II / sqrt(2 * n_mels).
        return (librosa.feature.mfcc(S=log_mel, n_mfcc=o.n_mfcc, dct_type=2, norm=None) / np.sqrt(2 * o.n_mels)).T
    return None  # librosa has no log-frequency filterbank


def _cmd_demo(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import keras

    try:
        from kapre import plot

        plt = plot._pyplot()
    except ImportError as err:
        print(f"kapre demo: error: {err}", file=sys.stderr)
        return 1
    from kapre._demo_clip import DEMO_DESCRIPTION, DEMO_SAMPLE_RATE, demo_clip

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
                       n_mfcc=20, n_bins=n_bins)
    if y.shape[0] < n_fft:
        print(f"kapre demo: error: {source}: {y.shape[0]} samples, shorter than one frame ({n_fft})", file=sys.stderr)
        return 1

    print(f"kapre {_kapre_version()} demo, Keras {keras.__version__} on {_backend_name()} ({_backend_reason()})")
    print(f"input: {source}, {y.shape[0] / sr:.2f} s at {sr} Hz")
    print(f"frames: n_fft={o.n_fft}, hop={o.resolved_hop}, Hann window, center=False")
    x = y[None, :, None].astype(np.float32)
    reps = [
        ("stft", "STFT magnitude (dB)", "amplitude"),
        ("mel", f"mel spectrogram, {o.n_mels} bands (dB)", "amplitude"),
        ("logfreq", f"log-frequency spectrogram, {o.n_bins} bins (dB)", "amplitude"),
        ("mfcc", f"MFCC, {o.n_mfcc} coefficients", "auto"),
    ]
    results = []
    for feature, label, db in reps:
        opts = FeatureOptions(**{**asdict(o), "feature": feature})
        model = build_frontend(opts, db=db)
        out, first, warm = _timed(model, x)
        S = out[0, :, :, 0]
        reference = _librosa_reference(feature, y, opts)
        deviation = None
        if reference is not None:
            deviation = float(np.max(np.abs(S - reference))) if reference.shape == S.shape else float("nan")
        results.append((feature, label, S, out.shape, first, warm, deviation))

    unit = {"stft": "dB", "mel": "dB", "logfreq": "dB", "mfcc": ""}
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

    fig, axes = plt.subplots(5, 1, figsize=(11, 14), layout="constrained",
                             gridspec_kw={"height_ratios": [1, 2.2, 2.2, 2.2, 1.4]})
    fig.suptitle(f"kapre {_kapre_version()} on Keras {keras.__version__} / {_backend_name()}: {source}",
                 fontsize=11)
    plot.waveshow(y, sr=sr, ax=axes[0])
    axes[0].set_title("waveform", loc="left", fontsize=10)
    _hidden_colorbar(fig, axes[0])
    y_axes = {"stft": "linear", "mel": "mel", "logfreq": "cqt_hz", "mfcc": "coef"}
    for ax, (feature, label, S, _, _, _, _) in zip(axes[1:], results, strict=True):
        limits = {}
        if feature == "mfcc":  # c0 (the mean level) dwarfs the others: scale the colours to c1 and up
            vmax = float(np.percentile(np.abs(S[:, 1:]), 99.5)) if S.shape[1] > 1 else None
            limits = {"vmin": -vmax, "vmax": vmax} if vmax else {}
        plot.specshow(S, sr=sr, hop_length=o.resolved_hop, n_fft=o.n_fft, y_axis=y_axes[feature], ax=ax,
                      cmap="coolwarm" if feature == "mfcc" else "magma",
                      colorbar="dB" if feature != "mfcc" else "value (c0 clipped)", **limits)
        ax.set_xlim(0, y.shape[0] / sr)
        ax.set_title(label, loc="left", fontsize=10)
        ax.set_title(f"kapre: {_layer_names(feature)}", loc="right", fontsize=8, color="0.35")
    fig.savefig(args.output, dpi=100)
    plt.close(fig)
    print(f"wrote {args.output}")
    return 0


def _layer_names(feature: str) -> str:
    if feature == "stft":
        return "STFT > Magnitude > MagnitudeToDecibel(amplitude=True)"
    if feature == "mel":
        return "STFT > Magnitude > ApplyFilterbank('mel') > MagnitudeToDecibel(amplitude=True)"
    if feature == "logfreq":
        return "STFT > Magnitude > ApplyFilterbank('log') > MagnitudeToDecibel(amplitude=True)"
    return "get_melspectrogram_layer(return_decibel=True) > LogmelToMFCC"


# ------------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kapre`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    commands = {"demo": _cmd_demo, "extract": _cmd_extract, "show": _cmd_show, "info": _cmd_info}
    try:
        return commands[args.command](args.command_parser, args)
    except KeyboardInterrupt:
        print("kapre: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
