"""``kapre invert``: features written by ``kapre extract`` back into sound.

The features' record (``kapre-frontend.json``, found beside the ``.npy`` or in a folder above it, or given with
``--record``) says how they were made; the inverse chain undoes each step:

* ``stft``: the decibels (``--db``), then ``kapre.GriffinLim`` (phase from the magnitude, ``--power`` undone);
* ``mel``: the decibels, then ``kapre.InverseMel`` (mel to linear magnitude, as ``librosa.feature.inverse
  .mel_to_stft``), then ``kapre.GriffinLim``;
* ``mfcc``: ``kapre.MFCCToMel`` (the DCT and the decibels undone), then as ``mel``.

``logfreq``, ``cqt``, ``vqt``, ``chroma`` and the ``--frontend`` features are refused with the reason (exit status 2):
kapre has no inverse for them. The sound is written through a temporary file and a rename (never half a file), as
32-bit float WAV (or the format the extension names), its peak scaled to :data:`PEAK` unless ``--keep-level``.
See ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

from kapre.cli._output import OutputPathError, prepare_output_file, replace_atomically
from kapre.cli.options import read_json_object

__all__ = ["run", "INVERTIBLE", "PEAK", "InputError", "find_record", "options_of_record", "inversion_problem",
           "inverse_chain", "undo_decibels", "edge_taper", "reconstruct", "check_features", "write_audio",
           "audio_format", "normalize_peak"]

INVERTIBLE = ("stft", "mel", "mfcc")
PEAK = 0.9  # the output's peak unless --keep-level (-0.9 dBFS)
_CAN = "kapre invert turns features of --feature stft, mel and mfcc back into sound"
_WHY_NOT = {
    "logfreq": "kapre has no inverse of its log-frequency filterbank (ApplyFilterbank('log'))",
    "cqt": "kapre has no inverse constant-Q transform",
    "vqt": "kapre has no inverse variable-Q transform",
    "chroma": "chroma folds every octave into one set of pitch classes: the sound cannot be recovered from it",
}


class InputError(ValueError):
    """A features file that cannot be inverted (unreadable, wrong shape, NaN): reported, the other inputs go on."""


def find_record(npy_path: str) -> str | None:
    """The ``kapre-frontend.json`` of the ``kapre extract`` run that wrote ``npy_path``: in its folder or the
    nearest folder above it (the run's output folder, which the outputs mirror the input tree below)."""
    from kapre.cli.extract import FRONTEND_NAME

    folder = os.path.dirname(os.path.abspath(npy_path))
    while True:
        candidate = os.path.join(folder, FRONTEND_NAME)
        if os.path.isfile(candidate):  # named as the .npy was (relative or absolute), for messages
            return candidate if os.path.isabs(npy_path) else os.path.relpath(candidate)
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def inversion_problem(options) -> str | None:
    """Why features made with ``options`` (a :class:`kapre.cli.options.FeatureOptions`) cannot be turned back into
    sound, or ``None``."""
    if options.feature in _WHY_NOT:
        return f"--feature {options.feature}: {_WHY_NOT[options.feature]}; {_CAN}"
    return None


def _read_json(parser: argparse.ArgumentParser, path: str, what: str) -> dict:
    return read_json_object(parser, path, what, "a kapre-frontend.json or feature options")


def options_of_record(parser: argparse.ArgumentParser, path: str, given: bool, features: str | None = None):
    """The feature options of a record (``kapre-frontend.json``) or, given with ``--record``, of an options file as
    ``kapre extract --config`` takes (``{"feature": "mel", "sr": 16000, ...}``); every problem is one line through
    ``parser.error`` (exit status 2): an unreadable file, a front-end that cannot be inverted, bad values.
    ``features``: the .npy the record was found for (named in the messages)."""
    from kapre.cli.options import CONFIG_KEYS, FeatureOptions, check_options, options_from_record
    from kapre_cli.parser import FEATURES

    what = f"--record {path}" if given else f"{features}: its record {path}"
    config = _read_json(parser, path, what)
    if isinstance(config.get("frontend"), dict):
        frontend = config["frontend"]
        parser.error(f"{what}: features of --frontend {frontend.get('name')} ({frontend.get('builder')}) cannot be "
                     f"turned back into sound: kapre has no inverse of the model front-ends; {_CAN}")
    if "model" in config or "class_name" in config:
        parser.error(f"{what}: the features were made with a Keras config (kapre extract --config), whose layers "
                     f"kapre invert does not take apart; {_CAN}")
    if isinstance(config.get("options"), dict):
        options, _ = options_from_record(config)
    elif given and config and set(config) <= set(CONFIG_KEYS):
        options = FeatureOptions()
        for key, value in config.items():
            setattr(options, CONFIG_KEYS[key], value)
    else:
        unknown = sorted(set(config) - set(CONFIG_KEYS))
        parser.error(f"{what}: holds no feature options: it must be a kapre-frontend.json written by kapre extract"
                     + (" or feature options ({\"feature\": \"mel\", \"sr\": 16000, \"n_fft\": 512, ...})"
                        + (f"; unknown key(s) {unknown}" if unknown else "") if given else ""))
    if options.feature not in FEATURES:
        parser.error(f"{what}: feature must be one of {list(FEATURES)}, got {options.feature!r}")
    problem = inversion_problem(options)
    if problem:
        parser.error(f"{what}: {problem}")
    check_options(parser, options, {}, what)
    return options


def _bins(options) -> tuple[int, str]:
    o = options
    if o.feature == "stft":
        return o.n_fft // 2 + 1, f"--n-fft {o.n_fft} // 2 + 1 frequency bins"
    if o.feature == "mel":
        return o.n_mels, f"--n-mels {o.n_mels} mel bands"
    return o.n_mfcc, f"--n-mfcc {o.n_mfcc} coefficients"


def check_features(features: np.ndarray, options) -> np.ndarray:
    """``features`` as ``(frames, bins, channels)`` float32, checked against the options they were made with.

    Raises:
        InputError: a shape the options do not give, complex values, NaN or infinity, negative values of a
            spectrogram without decibels.
    """
    o = options
    if features.dtype.kind == "c":
        raise InputError(f"holds complex numbers ({features.dtype}); kapre extract writes real float32 features")
    if features.dtype.kind not in "fiu":
        raise InputError(f"holds {features.dtype} values, not numbers")
    if features.ndim == 2:  # (frames, bins): one channel
        features = features[:, :, None]
    bins, meaning = _bins(o)
    if features.ndim != 3 or features.shape[1] != bins or features.shape[0] < 1 or features.shape[2] < 1:
        raise InputError(f"shape {tuple(features.shape)} is not (frames, {bins}, channels) as the record's --feature "
                         f"{o.feature} gives ({meaning}); were these features made with this record?")
    features = np.asarray(features, dtype=np.float32)
    finite = np.isfinite(features)
    if not finite.all():
        raise InputError(f"holds {int(np.count_nonzero(~finite))} NaN or infinite value(s); kapre extract writes "
                         "finite features")
    if o.feature != "mfcc" and not o.db and float(features.min()) < 0:
        kind = "power" if o.power == 2.0 else "magnitude"
        raise InputError(f"holds negative values, but the record says a {o.feature} {kind} spectrogram without --db "
                         "(never negative); were these features made with this record?")
    return features


def inverse_chain(options, n_iter: int = 32, seed: int | None = 0, describe: bool = False):
    """The layers that turn features made with ``options`` back into a waveform, channels_last on both ends:
    ``(batch, frames, bins, channels)`` in, ``(batch, samples, channels)`` out, after :func:`undo_decibels`.
    With ``describe``, a short description of the chain instead (for messages)."""
    o = options
    mel_args = {"sample_rate": o.sample_rate, "n_fft": o.n_fft, "n_mels": o.n_mels,
                "f_min": 0.0 if o.fmin is None else float(o.fmin), "f_max": o.fmax, "htk": False, "norm": "slaney"}
    if describe:
        steps = {"stft": [], "mel": ["InverseMel"], "mfcc": ["MFCCToMel", "InverseMel"]}[o.feature]
        if o.db and o.feature != "mfcc":
            steps = ["decibels undone", *steps]
        return " > ".join([*steps, f"GriffinLim({n_iter} iterations)"])
    import kapre

    layers = []
    if o.feature == "mfcc":
        layers.append(kapre.MFCCToMel(n_mels=o.n_mels, dct_norm=o.dct_norm, log="db", ref_value=_ref_scale(o),
                                      data_format="channels_last"))
    if o.feature in ("mel", "mfcc"):
        layers.append(kapre.InverseMel(**mel_args, power=o.power, data_format="channels_last"))
    layers.append(kapre.GriffinLim(
        n_fft=o.n_fft, win_length=o.win_length, hop_length=o.resolved_hop, window_name=o.window,
        center=o.center, pad_mode=o.pad_mode, n_iter=n_iter, init="random", seed=seed,
        power=o.power if o.feature == "stft" else 1.0, input_data_format="channels_last",
        output_data_format="channels_last"))
    return layers


def _ref_scale(options) -> float:
    """The value 0 dB stands for: ``max(ref, amin)`` (``10 log10(max(S, amin)) - 10 log10(max(ref, amin))``); with
    ``--ref max`` each file's maximum, which the features no longer hold: 1 (the level is relative)."""
    o = options
    return 1.0 if o.ref == "max" else max(float(o.ref), float(o.amin))


def undo_decibels(features: np.ndarray, options) -> np.ndarray:
    """The spectrogram behind ``--db`` features (``S = max(ref, amin) * 10 ** (dB / 10)``, the floor ``top_db``
    below the maximum stays a floor); other features unchanged (:class:`kapre.MFCCToMel` undoes the MFCCs'
    decibels)."""
    if options.feature == "mfcc" or not options.db:
        return features
    spectrogram = _ref_scale(options) * np.power(10.0, features.astype(np.float64) / 10.0)
    if not np.isfinite(spectrogram.astype(np.float32)).all():
        raise InputError(f"decibels up to {float(features.max()):g} dB are beyond float32 once undone; were these "
                         "features made with this record?")
    return spectrogram.astype(np.float32)


def edge_taper(frames: int, options) -> np.ndarray | None:
    """Without ``--center``, the gain that fades the sound in and out where few frames cover it: ``min(1, w / (w_max
    / 2))`` of the overlap-added squared window ``w`` (``(frames - 1) * hop + win_length`` samples); ``None`` with
    ``--center`` (librosa's framing: the ends are cut off). Griffin-Lim's inverse STFT divides by ``w``, as
    ``librosa.istft``; next to a window's zero (the first samples: periodic Hann's first value is 0, its second
    ``4e-5`` at ``n_fft`` 512) that division blows the rounding up a thousandfold and more: a click that would also
    set the peak. The taper undoes the division where ``w`` is below half its maximum."""
    o = options
    if o.center:
        return None
    from kapre.constants import get_window

    win, hop = o.win_length or o.n_fft, o.resolved_hop
    squared = get_window(o.window, win) ** 2
    parts = -(-win // hop)  # the window in pieces of hop samples, each added at every frame's offset
    total = np.zeros((frames + parts) * hop)
    rows = total.reshape(-1, hop)
    for part in range(parts):
        piece = squared[part * hop : (part + 1) * hop]
        rows[part : part + frames, : piece.shape[0]] += piece
    total = total[: (frames - 1) * hop + win]
    top = float(total.max())
    return np.minimum(1.0, total / (0.5 * top)).astype(np.float32) if top > 0 else None


def reconstruct(features: np.ndarray, options, n_iter: int = 32, seed: int | None = 0,
                length: int | None = None) -> np.ndarray:
    """A waveform ``(samples, channels)`` float32 whose features (made with ``options``) approximate ``features``
    ``(frames, bins, channels)``: the inverse chain (:func:`inverse_chain`) on the active backend. ``length`` cuts
    or zero-pads it to that many samples (the clip's length before framing)."""
    import keras

    x = undo_decibels(check_features(features, options), options)[None]
    for layer in inverse_chain(options, n_iter=n_iter, seed=seed):
        x = layer(x)
    audio = np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float32)[0]
    taper = edge_taper(features.shape[0], options)
    if taper is not None:
        size = min(taper.shape[0], audio.shape[0])
        audio[:size] *= taper[:size, None]
    if length is not None:
        if audio.shape[0] >= length:
            audio = audio[:length]
        else:
            audio = np.concatenate([audio, np.zeros((length - audio.shape[0], audio.shape[1]), np.float32)])
    if not np.isfinite(audio).all():
        raise InputError("the reconstruction is not finite (NaN or infinity)")
    return audio


# ------------------------------------------------------------------------------------------------------------------
# Writing the sound
# ------------------------------------------------------------------------------------------------------------------

_EXTENSIONS = {"wav": "WAV", "wave": "WAV", "flac": "FLAC", "ogg": "OGG", "oga": "OGG", "aif": "AIFF",
               "aiff": "AIFF", "aifc": "AIFF", "caf": "CAF", "w64": "W64", "rf64": "RF64"}


def audio_format(path: str) -> tuple[str, str | None]:
    """The soundfile format and subtype of an output named ``path`` (by its extension): 32-bit float where the
    format holds it (WAV, AIFF, CAF, W64, RF64), else the format's default (FLAC: 16-bit, Ogg: Vorbis).

    Raises:
        OutputPathError: an extension soundfile cannot write.
    """
    extension = os.path.splitext(path)[1][1:].lower()
    fmt = _EXTENSIONS.get(extension)
    if fmt is None:
        raise OutputPathError(f"cannot write sound as .{extension or '(no extension)'}; name a .wav (32-bit float), "
                              ".flac, .ogg or .aiff file")
    return fmt, "FLOAT" if fmt in ("WAV", "AIFF", "CAF", "W64", "RF64") else None


def write_audio(path: str, audio: np.ndarray, sample_rate: int) -> bool:
    """Write ``audio`` ``(samples, channels)`` through a temporary file and a rename (never half a file). Returns
    whether samples beyond [-1, 1] had to be clipped (formats without floating point)."""
    from kapre.audio import _soundfile

    sf = _soundfile()
    fmt, subtype = audio_format(path)
    clipped = False
    if subtype != "FLOAT":
        clipped = bool(np.abs(audio).max(initial=0.0) > 1.0)
        audio = np.clip(audio, -1.0, 1.0)
    replace_atomically(path, "wb", lambda f: sf.write(f, audio, sample_rate, format=fmt, subtype=subtype))
    return clipped


def normalize_peak(audio: np.ndarray, peak: float = PEAK) -> np.ndarray:
    """``audio`` scaled so that its largest absolute sample is ``peak`` (silence stays silence)."""
    top = float(np.abs(audio).max(initial=0.0))
    return audio if top == 0.0 else (audio * (peak / top)).astype(np.float32)


# ------------------------------------------------------------------------------------------------------------------
# The command
# ------------------------------------------------------------------------------------------------------------------


def _manifest_length(record_path: str, npy_path: str, sample_rate: int) -> tuple[int | None, bool]:
    """The clip's length in samples at ``sample_rate`` from the run's manifest row (the file's frames, resampled as
    ``kapre extract`` does), and whether the manifest lists the ``.npy`` at all (``True`` when there is none)."""
    from kapre.cli.extract import MANIFEST_NAME, Manifest

    folder = os.path.dirname(record_path)
    manifest = os.path.join(folder, MANIFEST_NAME)
    if not os.path.exists(manifest):
        return None, True
    output = os.path.relpath(os.path.abspath(npy_path), folder).replace(os.sep, "/")
    for row in Manifest.read(manifest).values():
        if row.get("output") == output and row.get("status") == "ok":
            sr, duration = row.get("sample_rate"), row.get("duration")
            if isinstance(sr, int) and sr > 0 and isinstance(duration, (int, float)) and duration > 0:
                frames = round(duration * sr)
                return int(math.ceil(frames * sample_rate / sr)), True
            return None, True
    return None, False


def _load(path: str) -> np.ndarray:
    if not os.path.exists(path):
        raise InputError("no such file")
    if os.path.isdir(path):
        raise InputError("is a folder, not a .npy file")
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
        if magic != b"\x93NUMPY":
            raise InputError("not a .npy file (no NumPy header)" if magic else "empty file (0 bytes), not a .npy file")
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        if isinstance(err, InputError):
            raise
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"cannot read as a .npy array: {text}") from None


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    inputs = list(dict.fromkeys(args.inputs))
    if args.output is not None and len(inputs) > 1:
        parser.error(f"-o names one output file; with {len(inputs)} inputs leave it out (each FEATURES.npy is "
                     "written to FEATURES.wav beside it)")
    record_given = args.record is not None
    given_options = options_of_record(parser, args.record, True) if record_given else None

    # Everything that does not need the features: before any is read or computed (exit status 2).
    jobs = []
    outputs: dict[str, str] = {}
    checked: set[str] = set()
    for path in inputs:
        record = args.record if record_given else find_record(path)
        if record is None:
            parser.error(f"{path}: no kapre-frontend.json beside it or in a folder above it, so nothing says how "
                         "these features were made; give the record of the kapre extract run with --record "
                         "FILE.json (or feature options as JSON: {\"feature\": \"mel\", \"sr\": 16000, ...})")
        options = given_options if record_given else options_of_record(parser, record, False, path)
        if record not in checked:  # the layers refuse what they cannot invert (a window, a hop)
            checked.add(record)
            try:
                inverse_chain(options, n_iter=args.n_iter, seed=args.seed)
            except (ValueError, TypeError) as err:
                from kapre.cli._report import _one_line

                where = f"--record {record}" if record_given else f"{path}: its record {record}"
                parser.error(f"{where}: {_one_line(err)}")
        output = args.output if args.output is not None else os.path.splitext(path)[0] + ".wav"
        flag = "-o " if args.output is not None else ""
        jobs.append((path, record, options, output))
        if not os.path.isfile(path):  # missing, or a folder: an input error below, its output left alone
            continue
        full = os.path.abspath(output)
        if full == os.path.abspath(path):
            parser.error(f"{flag}{output}: is the input itself; name a .wav file")
        if full in outputs:
            parser.error(f"{outputs[full]} and {path} would both be written to {output}")
        outputs[full] = path
        if os.path.isdir(output):
            parser.error(f"{flag}{output}: is a folder; give a file name (e.g. out.wav)")
        try:
            audio_format(output)
            prepare_output_file(output)
        except OutputPathError as err:
            parser.error(f"{flag}{output}: {err}")
        if os.path.exists(output) and not args.overwrite:
            parser.error(f"{flag}{output}: exists; kapre invert does not replace a file unless asked: add "
                         "--overwrite, or name another output with -o")

    from kapre.audio import MissingDependencyError, _soundfile

    try:
        _soundfile()
    except MissingDependencyError as err:
        print(f"kapre invert: error: {err}", file=sys.stderr)
        return 1
    failed = 0
    for path, record, options, output in jobs:
        length, listed = (None, True) if record_given else _manifest_length(record, path, options.sample_rate)
        try:
            features = _load(path)
            if not listed:
                print(f"kapre invert: {path}: note: not listed in the manifest beside {record}; inverted with its "
                      "front-end", file=sys.stderr)
            audio = reconstruct(features, options, n_iter=args.n_iter, seed=args.seed, length=length)
            if not args.keep_level:
                audio = normalize_peak(audio)
            clipped = write_audio(output, audio, options.sample_rate)
        except InputError as err:
            print(f"kapre invert: {path}: {err}", file=sys.stderr)
            failed += 1
            continue
        except MissingDependencyError as err:
            print(f"kapre invert: error: {err}", file=sys.stderr)
            return 1
        except OSError as err:
            print(f"kapre invert: {path}: cannot write {output}: {err.strerror or err}", file=sys.stderr)
            failed += 1
            continue
        if clipped:
            print(f"kapre invert: {output}: warning: samples beyond [-1, 1] clipped (--keep-level into a format "
                  "without floating point; write a .wav)", file=sys.stderr)
        channels = audio.shape[1]
        print(f"kapre invert: wrote {output} ({audio.shape[0] / options.sample_rate:.2f} s at {options.sample_rate} "
              f"Hz, {channels} channel{'s' if channels > 1 else ''}) from --feature {options.feature}: "
              f"{inverse_chain(options, args.n_iter, describe=True)}", flush=True)
    return 1 if failed else 0
