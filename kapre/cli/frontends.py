"""``--frontend NAME`` in ``kapre extract`` and ``kapre show``: the model and library front-ends of
:mod:`kapre.frontends` (Whisper, Kaldi, AST, BEATs, PANNs, CLAP, YAMNet, VGGish, torchaudio, librosa).

The names, the sample rates and which feature options set which builder argument are :mod:`kapre_cli.parser`'s
(:data:`~kapre_cli.parser.FRONTENDS`, standard library only, so that a conflicting option is refused before kapre is
imported). Here the builder is called, its arguments recorded, and its output described: each file's features are
the layer's output for that file in the builder's layout (its reference's own unless ``--frontend-arg layout=...``),
``(features, frames)`` or ``(frames, features)`` with ``--mono`` (the default), a trailing channels axis with
``--per-channel``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
from dataclasses import dataclass, field

from kapre.cli._report import _one_line, reported_warnings
from kapre_cli.parser import FRONTENDS, MAX_SAMPLE_RATE, check_frontend_args, frontend_problem

__all__ = ["FrontendSpec", "frontend_from_args", "time_axis", "mel_axis"]

_MFCC = ("kaldi_mfcc", "torchaudio_mfcc", "librosa_mfcc")


@dataclass
class FrontendSpec:
    """A ``--frontend`` as built: its name, the builder's name and arguments, the layer, its sample rate."""

    name: str
    builder: str
    given: dict  # the arguments set on the command line (or by the --config record)
    arguments: dict  # every argument of the builder, defaults included (JSON values)
    sample_rate: int
    layer: object = field(repr=False)

    @property
    def layout(self) -> str | None:
        return self.arguments.get("layout")

    @property
    def patches(self) -> bool:
        return bool(self.arguments.get("patches", False))

    def axes(self, mono: bool) -> list[str]:
        """The axes of each file's features: ``["features", "frames"]`` (``features_first``) or ``["frames",
        "features"]``; ``"patches"`` first with ``patches=True``; ``"channels"`` last with ``--per-channel``."""
        pair = ["features", "frames"] if self.layout == "features_first" else ["frames", "features"]
        return (["patches"] if self.patches else []) + pair + ([] if mono else ["channels"])

    def record(self, mono: bool) -> dict:
        """What ``kapre-frontend.json`` holds under ``"frontend"``."""
        features = "MFCCs" if self.name in _MFCC else "mel bands"
        return {"name": self.name, "builder": f"kapre.frontends.{self.builder}", "arguments": self.arguments,
                "given": self.given, "layout": self.layout, "axes": self.axes(mono),
                "features": features}


def _builder(parser: argparse.ArgumentParser, name: str):
    try:
        import kapre.frontends as module
    except ImportError as err:  # pragma: no cover - kapre.frontends is part of kapre
        parser.error(f"--frontend {name}: kapre.frontends cannot be imported: {err}")
    return getattr(module, FRONTENDS[name].builder)


def _arguments(builder) -> list[str]:
    """The named arguments of a builder (its ``**kwargs``, the base layer's ``name`` and ``dtype``, left out)."""
    return [key for key, p in inspect.signature(builder).parameters.items()
            if p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)]


def _json(value):
    return json.loads(json.dumps(value, default=str))


def _resolved(builder, kwargs: dict) -> dict:
    """Every argument of ``builder`` called with ``kwargs`` (defaults filled in; ``**kwargs`` spread out)."""
    bound = inspect.signature(builder).bind(**kwargs)
    bound.apply_defaults()
    arguments = {}
    for key, param in inspect.signature(builder).parameters.items():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(bound.arguments.get(key, {}))
        elif key in bound.arguments:
            arguments[key] = bound.arguments[key]
    return _json(arguments)


def frontend_from_args(parser: argparse.ArgumentParser, name: str, explicit: dict, frontend_args: dict,
                       source: str | None = None) -> FrontendSpec:
    """Build ``--frontend name`` with the feature options ``explicit`` (argparse destination -> value, only those
    given) and the builder arguments ``frontend_args``; every problem is one line through ``parser.error`` (exit
    status 2) before any file is read."""
    where = f"{source}: " if source else ""
    problem = frontend_problem(name, explicit, frontend_args)
    if problem:
        parser.error(where + problem)
    frontend = FRONTENDS[name]
    kwargs = {key: (dict(value) if isinstance(value, dict) else value) for key, value in frontend_args.items()}
    for dest, value in explicit.items():
        target = frontend.rate_arg if dest == "sample_rate" else frontend.options.get(dest)
        if target is None:
            continue  # --mono/--per-channel, or --sr equal to a fixed rate
        top, _, key = target.partition(".")
        if key:
            inner = kwargs.get(top)
            kwargs[top] = {**(inner if isinstance(inner, dict) else {}), key: value}
        else:
            kwargs[top] = float(value) if target == "sample_frequency" else value
    builder = _builder(parser, name)
    known = _arguments(builder)
    if name == "librosa_mfcc":  # its **kwargs: librosa_melspectrogram's arguments (mel_norm: its norm)
        known += [key for key in _arguments(_builder(parser, "librosa_mel")) if key not in ("sr", "norm", "db",
                                                                                             "layout")]
        known.append("mel_norm")
    for key in kwargs:
        if key not in known:
            parser.error(f"{where}--frontend-arg {key}: kapre.frontends.{frontend.builder} has no argument {key!r}; "
                         f"its arguments: {', '.join(known)}")
    with reported_warnings(prefix=f"--frontend {name}: ") as report:
        try:
            layer = builder(**kwargs)
        except (ValueError, TypeError) as err:
            parser.error(f"{where}--frontend {name}: {_one_line(err)}")
    report.print_to(parser.prog)
    arguments = _resolved(builder, kwargs)
    rate = arguments.get(frontend.rate_arg, frontend.rate) if frontend.rate_arg else frontend.rate
    if (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate)
            or rate != int(rate) or not 1 <= rate <= MAX_SAMPLE_RATE):
        parser.error(f"{where}--frontend {name}: the sample rate {frontend.rate_arg}={rate!r} must be a whole number "
                     f"of Hz from 1 to {MAX_SAMPLE_RATE} (files are resampled to it)")
    return FrontendSpec(name=name, builder=frontend.builder, given=_json(kwargs), arguments=arguments,
                        sample_rate=int(rate), layer=layer)


def from_record(parser: argparse.ArgumentParser, args: argparse.Namespace, record: dict, path: str,
                explicit: dict) -> FrontendSpec:
    """The front-end of a ``kapre-frontend.json`` written with ``--frontend`` (given with ``--config``), with the
    command line's feature options and ``--frontend-arg`` applied on top."""
    source = f"--config {path}"
    entry = record.get("frontend")
    if not isinstance(entry, dict) or entry.get("name") not in FRONTENDS:
        parser.error(f"{source}: \"frontend\" must name one of {', '.join(FRONTENDS)}, got "
                     f"{entry.get('name') if isinstance(entry, dict) else entry!r}")
    given = entry.get("given", entry.get("arguments", {}))
    if not isinstance(given, dict):
        parser.error(f"{source}: \"frontend\".\"given\" must be an object of builder arguments, got {given!r}")
    on_line, problem = check_frontend_args(getattr(args, "frontend_args", None))
    if problem:
        parser.error(problem)
    frontend = FRONTENDS[entry["name"]]
    arguments = {key: (dict(value) if isinstance(value, dict) else value) for key, value in given.items()}
    for dest in explicit:  # an option on the command line replaces the record's value of the same argument
        target = frontend.rate_arg if dest == "sample_rate" else frontend.options.get(dest)
        top, _, key = (target or "").partition(".")
        if key and isinstance(arguments.get(top), dict):
            arguments[top].pop(key, None)
        elif not key:
            arguments.pop(top, None)
    arguments.update(on_line)
    return frontend_from_args(parser, entry["name"], explicit, arguments)


def time_axis(spec: FrontendSpec) -> tuple[int, int, bool]:
    """``(hop, window, centred)`` in samples of the front-end's frames, for the time axis of a picture."""
    a, rate = spec.arguments, spec.sample_rate
    name = spec.name
    if name == "whisper":
        return 160, 400, True
    if name in ("kaldi_fbank", "kaldi_mfcc"):
        return (max(1, round(a["frame_shift"] * rate / 1000)), max(1, round(a["frame_length"] * rate / 1000)),
                not a.get("snip_edges", True))
    if name in ("ast", "beats", "yamnet", "vggish"):
        return 160, 400, False
    if name == "panns":
        return a["hop_size"], a["window_size"], True
    if name == "clap":
        return a["hop_length"], a["fft_window_size"], True
    if name in ("torchaudio_mel", "torchaudio_mfcc"):
        mel = a if name == "torchaudio_mel" else {**(a.get("melkwargs") or {})}
        n_fft = mel.get("n_fft") or 400
        win = mel.get("win_length") or n_fft
        return mel.get("hop_length") or win // 2, win, bool(mel.get("center", True))
    n_fft = a.get("n_fft") or 2048  # librosa
    win = a.get("win_length") or n_fft
    return a.get("hop_length") or win // 4, win, bool(a.get("center", True))


def mel_axis(spec: FrontendSpec) -> dict:
    """How to label the feature axis: ``specshow``'s ``y_axis`` (``'mel'`` or ``'coef'``), ``fmin``, ``fmax``,
    ``htk`` (the mel formula of the reference's filterbank)."""
    a, nyquist = spec.arguments, spec.sample_rate / 2
    name = spec.name
    if name in _MFCC or (name == "kaldi_fbank" and a.get("use_energy")):
        return {"y_axis": "coef", "fmin": None, "fmax": None, "htk": False}
    if name == "whisper":
        return {"y_axis": "mel", "fmin": 0.0, "fmax": 8000.0, "htk": False}
    if name in ("kaldi_fbank", "ast", "beats"):
        high = a.get("high_freq", 0.0) or 0.0
        return {"y_axis": "mel", "fmin": a.get("low_freq", 20.0), "fmax": high if high > 0 else nyquist + high,
                "htk": True}
    if name == "panns":
        return {"y_axis": "mel", "fmin": a["fmin"], "fmax": a["fmax"], "htk": False}
    if name == "clap":
        return {"y_axis": "mel", "fmin": a["frequency_min"], "fmax": a["frequency_max"],
                "htk": a.get("mel_scale", "htk") == "htk"}
    if name in ("yamnet", "vggish"):
        return {"y_axis": "mel", "fmin": 125.0, "fmax": 7500.0, "htk": True}
    if name == "torchaudio_mel":
        return {"y_axis": "mel", "fmin": a.get("f_min") or 0.0, "fmax": a.get("f_max") or nyquist,
                "htk": a.get("mel_scale", "htk") == "htk"}
    return {"y_axis": "mel", "fmin": a.get("fmin") or 0.0, "fmax": a.get("fmax") or nyquist,
            "htk": bool(a.get("htk", False))}


def display_decibels(spec: FrontendSpec) -> str | None:
    """``'power'`` or ``'amplitude'`` when the front-end's output is a linear spectrogram that a picture shows in dB
    (torchaudio's and librosa's mel spectrograms without decibels), else ``None`` (already logarithmic)."""
    a = spec.arguments
    if spec.name == "torchaudio_mel" or (spec.name == "librosa_mel" and not a.get("db")):
        return "amplitude" if a.get("power", 2.0) == 1.0 else "power"
    return None
