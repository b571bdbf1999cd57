"""``kapre export CONFIG -o FILE``: a front-end as a ``.keras``, ONNX or LiteRT model, checked in its runtime.

The front-end is the one ``kapre extract --config CONFIG`` computes (:func:`kapre.cli.options.options_from_args`:
feature options as JSON, a Keras layer config, a ``kapre-frontend.json``), built as a Keras model with free batch
and length axes (:func:`export_model`): ``(batch, samples, 1)`` in, channels_last, the layout ``kapre extract`` feeds
it; a ``--frontend`` record's layer takes ``(batch, samples)`` (with ``--per-channel``, ``(batch, samples, 1)``). It
is written by ``model.save`` (keras), :func:`kapre.export.to_onnx` (onnx) or :func:`kapre.export.to_litert`
(litert), run once in its runtime (``keras.saving.load_model``, :func:`kapre.export.run_onnx`,
:func:`kapre.export.run_litert`) on :func:`check_signal` and compared with the Keras model (:func:`deviation`).

Everything is written to a hidden temporary file beside ``FILE`` and renamed to ``FILE`` only once it has run in its
runtime: an error, a failed run or Ctrl-C leaves ``FILE`` as it was. See ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import re
import sys
import tempfile
import time
import warnings

import numpy as np

from kapre.cli._output import OutputPathError, file_mode, prepare_output_file
from kapre.cli._report import _one_line
from kapre_cli.parser import EXPORT_FORMATS, format_for

__all__ = ["run", "export_model", "check_signal", "deviation", "output_unit", "format_for", "RUNTIMES",
           "WARN_RELATIVE"]

RUNTIMES = {"keras": "keras.saving.load_model", "onnx": "ONNX Runtime (kapre.export.run_onnx)",
            "litert": "the LiteRT interpreter (kapre.export.run_litert)"}
WARN_RELATIVE = 1e-3  # a deviation above this fraction of the output's largest |value| is reported as a warning
TEST_BATCH = 2


class _ConfigParser:
    """The command's parser, with the messages :mod:`kapre.cli.options` writes about ``--config FILE`` in terms of
    the positional ``CONFIG`` (``--config: cannot read x.json`` -> ``cannot read x.json``)."""

    def __init__(self, parser: argparse.ArgumentParser):
        self._parser = parser

    def error(self, message: str):
        self._parser.error(re.sub(r"--config:? ", "", message))

    def __getattr__(self, name):
        return getattr(self._parser, name)


def _check_output(path: str) -> str | None:
    """Why ``path`` cannot be written (its folder must exist), or ``None``; nothing is created."""
    if os.path.isdir(path):
        return "is a folder; name a file (model.onnx)"
    folder = os.path.dirname(path) or "."
    if os.path.exists(folder) and not os.path.isdir(folder):
        return f"a file is in the way: {folder} is a file, not a folder"
    if not os.path.isdir(folder):
        return f"the folder {folder} does not exist"
    try:
        prepare_output_file(path)
    except OutputPathError as err:
        return str(err)
    return None


def export_model(front_end, input_shape: tuple, name: str | None = None):
    """``front_end`` (a kapre layer, a ``keras.Sequential`` of them, any Keras layer or model) as a Keras model whose
    input ``waveform`` has the shape ``(None, *input_shape)``: free batch and, with ``input_shape[0]`` None, length.
    A ``keras.Sequential`` is rebuilt on the new input (any input it had with fixed axes is dropped)."""
    import keras

    inputs = keras.Input(tuple(input_shape), name="waveform")
    if isinstance(front_end, keras.Sequential):
        return keras.Sequential([inputs, *front_end.layers], name=name or front_end.name)
    return keras.Model(inputs, front_end(inputs), name=name or f"{front_end.name}_export")


def check_signal(sample_rate: int, samples: int, channels: bool = True) -> np.ndarray:
    """The check's input, deterministic: ``(2, samples, 1)`` float32 (``(2, samples)`` without ``channels``): a linear
    chirp from 20 Hz to 0.45 ``sample_rate`` at amplitude 0.5 over white noise 28 dB below it (0.02 RMS, seed 1),
    and white noise at 0.1 RMS (seed 0). The noise floor keeps every band of a log output within reach of float32
    (a pure chirp leaves bands 100 dB down, where any two float32 DFTs differ by hundredths of a dB)."""
    t = np.arange(samples) / float(sample_rate)
    duration = samples / float(sample_rate)
    f0, f1 = 20.0, 0.45 * sample_rate
    chirp = 0.5 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * duration)))
    chirp = chirp + 0.02 * np.random.default_rng(1).standard_normal(samples)
    noise = 0.1 * np.random.default_rng(0).standard_normal(samples)
    batch = np.stack([chirp, noise]).astype(np.float32)
    return batch[..., None] if channels else batch


def _test_samples(model, sample_rate: int) -> int:
    """One second, or more for a front-end whose frames are longer than half a second."""
    from kapre.extraction import frontend_layers

    samples = int(sample_rate)
    for layer in frontend_layers(model):
        for attr in ("n_fft", "win_length", "frame_length", "fft_length"):
            value = getattr(layer, attr, None)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                samples = max(samples, 2 * value)
    return samples


def output_unit(front_end, spec=None) -> tuple[str, float | None]:
    """The unit of the front-end's output and how many dB one unit is: ``("dB", 1.0)`` for decibels,
    ``("natural-log units", 4.34)`` for ``log`` of a power, ``("", None)`` for a linear or other output (MFCCs)."""
    from kapre import frontends

    layer = spec.layer if spec is not None else front_end
    if isinstance(layer, frontends.MelFeatures):
        if layer.n_mfcc is not None or layer.log is None:
            return "", None
        per = {"db": 1.0, "log10": 10.0, "ln": 10.0 / math.log(10.0)}[layer.log]
        per *= (1.0 if layer.log == "db" else 2.0 if layer.power == 1.0 else 1.0) * layer.norm_std
        names = {"db": "dB", "log10": "log10 units", "ln": "natural-log units"}
        return (names[layer.log] if layer.norm_std == 1.0 else "normalised log units"), per
    if isinstance(layer, frontends.KaldiFeatures):
        if layer.kind != "fbank" or not layer.use_log_fbank:
            return "", None
        per = (10.0 if layer.use_power else 20.0) / math.log(10.0) * layer.norm_std
        return ("natural-log units" if layer.norm_std == 1.0 else "normalised log units"), per
    from kapre.cli.options import describe

    try:
        return ("dB", 1.0) if describe(front_end)["db"] else ("", None)
    except Exception:  # a front-end describe() does not know
        return "", None


def deviation(got: np.ndarray, want: np.ndarray, db_per_unit: float | None = None, within_db: float = 40.0) -> dict:
    """The largest ``|got - want|`` (``absolute``) and that over the largest ``|want|`` (``relative``, ``scale``),
    over ``want``'s finite values; how many values are finite in one and not the other (``mismatched``); and for a
    log output (``db_per_unit`` dB in one unit) the largest deviation in dB over the values within ``within_db`` dB
    of their example's maximum (``near_max_db``; ``None`` for other outputs)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    finite = np.isfinite(want)
    result = {"absolute": math.nan, "relative": math.nan, "scale": math.nan, "near_max_db": None,
              "mismatched": int(np.sum(np.isfinite(got) != finite))}
    if not finite.any():
        return result
    difference = np.where(finite, np.abs(got - np.where(finite, want, 0.0)), 0.0)
    absolute = float(np.max(difference)) if np.all(np.isfinite(difference)) else math.inf
    scale = float(np.max(np.abs(want[finite])))
    result.update(absolute=absolute, relative=absolute / scale if scale > 0 else absolute, scale=scale)
    if db_per_unit:
        axes = tuple(range(1, want.ndim))
        peak = np.max(np.where(finite, want, -np.inf), axis=axes, keepdims=True)
        near = finite & ((want - peak) * db_per_unit >= -within_db)
        result["near_max_db"] = float(np.max(np.where(near, difference, 0.0))) * db_per_unit
    return result


def _size(n: int) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.2f} MB"
    return f"{n / 1e3:.1f} kB" if n >= 1e3 else f"{n} bytes"


def _describe_front_end(front_end, spec) -> str:
    if spec is not None:
        return f"--frontend {spec.name} (kapre.frontends.{spec.builder})"
    from kapre.extraction import frontend_layers

    layers = frontend_layers(front_end) or [front_end]
    return " > ".join(type(layer).__name__ for layer in layers)


def _write(fmt: str, model, path: str) -> None:
    if fmt == "keras":
        model.save(path)
        return
    from kapre import export

    with _quiet_converters():
        (export.to_onnx if fmt == "onnx" else export.to_litert)(model, path)


_CONVERTER_LOGGERS = ("tf2onnx", "tensorflow", "absl", "torch.onnx", "torch.export", "torch._dynamo", "jax2onnx")


@contextlib.contextmanager
def _quiet_converters():
    """The converters' progress and deprecation notes (Python logging below ERROR, FutureWarning, DeprecationWarning,
    Keras' note on a one-input model traced with a list of inputs, ``tf.lite.Interpreter``'s deprecation) are not the
    user's: silenced during the export and the run; their errors still end them."""
    loggers = [logging.getLogger(name) for name in _CONVERTER_LOGGERS]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(max(logger.level, logging.ERROR))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            for message in ("The structure of `inputs` doesn't match", r"(?s).*tf\.lite\.Interpreter is deprecated"):
                warnings.filterwarnings("ignore", message=message, category=UserWarning)
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _run_file(fmt: str, path: str, x: np.ndarray) -> np.ndarray:
    if fmt == "keras":
        import keras

        loaded = keras.saving.load_model(path)
        return np.asarray(keras.ops.convert_to_numpy(loaded(x)))
    from kapre import export

    with _quiet_converters():  # TensorFlow's LiteRT interpreter's deprecation note (without ai-edge-litert)
        outputs = (export.run_onnx if fmt == "onnx" else export.run_litert)(path, [x])
    return np.asarray(outputs[0])


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import keras

    from kapre.cli.options import build_reported, options_from_args

    prog = "kapre export"
    output = args.output
    fmt, problem = format_for(output, args.format)
    if problem:
        parser.error(problem)
    problem = _check_output(output)
    if problem:
        parser.error(f"-o {output}: {problem}")

    # The front-end, as kapre extract --config builds it; every problem of CONFIG is one line, exit status 2.
    config_parser = _ConfigParser(parser)
    options, front_end = options_from_args(config_parser, args)
    if args.config_note:
        print(f"{prog}: note: {args.config_note}", file=sys.stderr)
    spec = args.frontend_spec
    if front_end is None:
        front_end = build_reported(config_parser, options)
    elif args.keras_config is not None:  # unbuilt: options_from_args called it on one fixed shape
        front_end = keras.saving.deserialize_keras_object(args.keras_config)
    # kapre extract's layout: (batch, samples, channels) channels_last; a --frontend's layer takes (batch, samples)
    # for one channel (with --per-channel it keeps a channels axis).
    channels = spec is None or not options.mono
    try:
        model = export_model(front_end, (None, 1) if channels else (None,))
    except Exception as err:
        parser.error(f"{args.config}: the front-end does not take a waveform with free batch and length axes: "
                     f"{type(err).__name__}: {_one_line(err)}")
    described = _describe_front_end(front_end, spec)

    # The reference: the Keras model on the test signal.
    rate = int(options.sample_rate)
    x = check_signal(rate, _test_samples(front_end, rate), channels)
    try:
        want = np.asarray(keras.ops.convert_to_numpy(model(x)))
    except Exception as err:
        parser.error(f"{args.config}: the front-end fails on the test signal {x.shape}: {type(err).__name__}: "
                     f"{_one_line(err)}")
    if np.iscomplexobj(want):
        parser.error(f"{args.config}: the front-end returns complex numbers (an STFT without kapre.Magnitude?); "
                     "features must be real")

    # The file: written to a temporary beside FILE, run in its runtime, then renamed (never half a file).
    folder, base = os.path.dirname(output) or ".", os.path.basename(output)
    fd, temporary = tempfile.mkstemp(prefix=f".{base}.", suffix=f".partial{EXPORT_FORMATS[fmt]}", dir=folder)
    os.close(fd)
    try:
        start = time.perf_counter()
        try:
            _write(fmt, model, temporary)
        except ImportError as err:
            return _fail(prog, f"--format {fmt} on the {keras.backend.backend()} backend needs the package "
                               f"{err.name or _one_line(err)}: install it (docs/cli.md, kapre export)")
        except ValueError as err:
            from kapre.export import ExportError

            if isinstance(err, ExportError):  # the front-end (or this backend's route) cannot carry the format
                parser.error(f"{described} cannot be exported to {fmt} on the {keras.backend.backend()} backend: "
                             f"{_one_line(err, 600)}")
            return _fail(prog, f"the {fmt} export failed: {type(err).__name__}: {_one_line(err, 600)}; nothing "
                               "written")
        except Exception as err:  # a converter's own failure
            return _fail(prog, f"the {fmt} export failed: {type(err).__name__}: {_one_line(err, 600)}; nothing "
                               "written")
        seconds = time.perf_counter() - start
        try:
            got = _run_file(fmt, temporary, x)
        except ImportError as err:
            return _fail(prog, f"running a {fmt} file needs the package {err.name or _one_line(err)}: install it")
        except Exception as err:
            return _fail(prog, f"{output}: the {fmt} file was made but {RUNTIMES[fmt]} cannot run it: "
                               f"{type(err).__name__}: {_one_line(err, 600)}; nothing written")
        if got.shape != want.shape:
            return _fail(prog, f"{output}: {RUNTIMES[fmt]} returns shape {got.shape} for the test signal, the Keras "
                               f"model {want.shape}; nothing written")
        size = os.path.getsize(temporary)
        os.chmod(temporary, file_mode())
        os.replace(temporary, output)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)

    unit, db_per_unit = output_unit(front_end, spec)
    dev = deviation(got, want, db_per_unit)
    shown = f"{dev['absolute']:.3g}"
    if unit == "dB":
        shown += " dB"
    elif unit:
        shown += f" {unit}" + (f" ({dev['absolute'] * db_per_unit:.3g} dB)" if db_per_unit else "")
    frames = "samples, 1" if channels else "samples"
    lines = [
        f"{prog}: {args.config}: {described} at {rate} Hz (backend {keras.backend.backend()})",
        f"  model: input (batch, {frames}) float32, batch and length free; {fmt} written in {seconds:.1f} s",
        f"  check: {RUNTIMES[fmt]} on {TEST_BATCH} test signals of {x.shape[1]} samples (a chirp over noise, noise): "
        f"output shape {tuple(got.shape)}, as the Keras model's",
        f"  largest deviation from the Keras model: {shown} absolute, {dev['relative']:.3g} of the output's "
        f"largest |value| ({dev['scale']:.4g})"
        + (f"; within 40 dB of each example's maximum {dev['near_max_db']:.3g} dB" if db_per_unit else "")
        + (f"; {dev['mismatched']} value(s) finite in one and not the other" if dev["mismatched"] else ""),
        f"{prog}: wrote {output} ({_size(size)})",
    ]
    print("\n".join(lines), flush=True)
    if not dev["relative"] <= WARN_RELATIVE or dev["mismatched"]:
        print(f"{prog}: warning: {output} deviates from the Keras model by {dev['relative']:.3g} of the output's "
              f"largest |value| (more than {WARN_RELATIVE:g})", file=sys.stderr, flush=True)
    return 0


def _fail(prog: str, message: str) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr, flush=True)
    return 1
