"""Strategies and builders for tests/test_fuzz.py: argument pools derived from the layers' signatures and configs,
adversarial inputs, and the layer variants the registry's factories build with one argument changed.

Everything is derived from tests/layer_registry.py (``CASES``) and the layers' own ``inspect.signature`` and
``get_config()``, so a new registry entry is fuzzed without an edit here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import math
import zlib
from collections.abc import Callable, Iterator, Sequence
from unittest import mock

import keras
import numpy as np
from hypothesis import strategies as st

import kapre
from tests.layer_registry import CASES, LayerCase

# keras.layers.Layer's own arguments: Keras' contract, not kapre's (their messages are Keras')
BASE_LAYER_KEYS = frozenset({"name", "trainable", "dtype"})

# The adversarial values of the issue; a NumPy scalar of the current value's kind is added per argument.
ADVERSARIAL: tuple = (0, -1, 2**40, 2**63, 1.5, math.nan, math.inf, -math.inf, 1e300, 1e-300, 1e-50, "", "bogus",
                      None, True, [], [0.5] * 3, 1j, {"bogus": 1})


def rotated(values: Sequence, key: str) -> list:
    """``values`` rotated by a hash of ``key``: with a fixed seed, every case still starts from a different value
    (hypothesis draws the same indices for every parametrization of a test)."""
    values = list(values)
    if not values:
        return values
    shift = zlib.crc32(key.encode()) % len(values)
    return values[shift:] + values[:shift]


# -- how a case's layer is (re)built with one argument changed -------------------------------------------------------

Path = tuple  # ("n_fft",) or ("filterbank_kwargs", "n_mels") for an entry of a dict-valued argument


@dataclasses.dataclass(frozen=True)
class Mutation:
    path: Path
    value: object

    @property
    def names(self) -> tuple[str, ...]:
        """The names an error message may use for this argument (a dict entry: its key or the argument's)."""
        return tuple(str(part) for part in self.path)

    def __repr__(self) -> str:
        return f"{'.'.join(self.names)}={self.value!r}"


def _set(config: dict, path: Path, value) -> dict:
    config = dict(config)
    if len(path) == 1:
        config[path[0]] = value
    else:
        config[path[0]] = _set(dict(config[path[0]]), path[1:], value)
    return config


def _composed_call(case: LayerCase) -> tuple[Callable, inspect.BoundArguments]:
    """The kapre.composed function a model case's factory calls, and the arguments it calls it with."""
    name = case.covers[0]
    original = getattr(kapre.composed, name)
    calls = []

    def recorder(*args, **kwargs):
        calls.append(inspect.signature(original).bind(*args, **kwargs))
        return original(*args, **kwargs)

    with mock.patch.object(kapre.composed, name, recorder):
        case.factory()
    assert calls, f"{case.name}: the factory does not call kapre.composed.{name}"
    return original, calls[0]


def _flat_arguments(bound: inspect.BoundArguments) -> dict:
    """A call's named arguments (its **kwargs entries included, *args left out), defaults filled in."""
    bound.apply_defaults()
    flat = {}
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            flat.update(value)
        elif kind is not inspect.Parameter.VAR_POSITIONAL:
            flat[name] = value
    return flat


def base_arguments(case: LayerCase) -> dict:
    """A valid configuration of the case: the layer's get_config() (signature arguments missing from it added with
    their defaults) or the composed function's arguments, without Keras' own layer arguments."""
    if case.is_model:
        return _flat_arguments(_composed_call(case)[1])
    layer = case.factory()
    config = {k: v for k, v in layer.get_config().items() if k not in BASE_LAYER_KEYS}
    for name, parameter in inspect.signature(type(layer).__init__).parameters.items():
        if name in ("self", *BASE_LAYER_KEYS) or parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        if name not in config and parameter.default is not parameter.empty:
            config[name] = parameter.default
    return config


def build(case: LayerCase, mutation: Mutation | None = None):
    """The case's layer (or model) with ``mutation`` applied to its configuration."""
    if mutation is None:
        return case.factory()
    if not case.is_model:
        layer = case.factory()
        config = _set(layer.get_config(), mutation.path, mutation.value)
        return type(layer).from_config(config)
    original, _ = _composed_call(case)

    def mutated(*args, **kwargs):
        bound = inspect.signature(original).bind(*args, **kwargs)
        bound.apply_defaults()
        var_kw = next((n for n, p in bound.signature.parameters.items() if p.kind is p.VAR_KEYWORD), None)
        key = mutation.path[0]
        if key in bound.signature.parameters and key != var_kw:
            bound.arguments[key] = _set({key: bound.arguments[key]}, mutation.path, mutation.value)[key]
        else:
            bound.arguments[var_kw] = _set(dict(bound.arguments[var_kw]), mutation.path, mutation.value)
        return original(*bound.args, **bound.kwargs)

    with mock.patch.object(kapre.composed, case.covers[0], mutated):
        return case.factory()


# -- argument values --------------------------------------------------------------------------------------------------


def _strings_in(value, found: set) -> set:
    if isinstance(value, str):
        found.add(value)
    elif isinstance(value, dict):
        for item in value.values():
            _strings_in(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _strings_in(item, found)
    return found


def _registry_strings() -> list[str]:
    """Every string argument value the registry uses (window names, modes, formats...): valid-looking swaps."""
    found: set = set()
    for case in CASES:
        with contextlib.suppress(Exception):  # a case that fails to build is the harness' to report
            _strings_in(base_arguments(case), found)
    return sorted(found)


_STRINGS: list[str] | None = None


def registry_strings() -> list[str]:
    global _STRINGS
    if _STRINGS is None:
        _STRINGS = _registry_strings()
    return _STRINGS


def numpy_scalar(value):
    """A NumPy scalar of the value's kind (np.int64 for an int...), or None where there is none."""
    if isinstance(value, bool):
        return np.bool_(value)
    if isinstance(value, int):
        return np.int64(value)
    if isinstance(value, float):
        return np.float32(value)
    if isinstance(value, str):
        return np.str_(value)
    return None


def valid_looking(value) -> list:
    """Other values of the same kind as ``value``: what a user plausibly passes."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return sorted({1, 2, 3, 5, 8, 16, 33, max(1, value // 2), value + 1, value * 2} - {value})
    if isinstance(value, float):
        return sorted({0.0, 0.1, 1.0, 10.0, value * 0.5, value * 2.0} - {value})
    if isinstance(value, str):
        return [s for s in registry_strings() if s != value]
    if value is None:
        return [2, 8, 32, 0.5, 100.0, 4000.0, "ortho", "hann_window"]
    if isinstance(value, list | tuple) and value and all(isinstance(v, float | int) for v in value):
        n = len(value)
        return [np.hanning(m).tolist() for m in sorted({max(1, n // 2), n - 1, n + 1, n * 2})]
    return []


def adversarial(value) -> list:
    pool = list(ADVERSARIAL)
    scalar = numpy_scalar(value)
    if scalar is not None:
        pool.append(scalar)
    return pool


def _paths(arguments: dict) -> list[tuple[Path, object]]:
    paths = []
    for key, value in arguments.items():
        paths.append(((key,), value))
        if isinstance(value, dict):  # ApplyFilterbank's filterbank_kwargs: each entry is an argument too
            paths.extend(((key, inner), item) for inner, item in value.items())
    return paths


_ARGUMENTS: dict[str, list] = {}


def argument_paths(case: LayerCase) -> list[tuple[Path, object]]:
    if case.name not in _ARGUMENTS:
        _ARGUMENTS[case.name] = _paths(base_arguments(case))
    return _ARGUMENTS[case.name]


@st.composite
def mutations(draw, case: LayerCase, kinds: tuple[str, ...] = ("adversarial", "valid")) -> Mutation:
    """One argument of the case's valid configuration changed to an adversarial or a valid-looking value."""
    paths = argument_paths(case)
    path, current = draw(st.sampled_from(rotated(paths, case.name)))
    kind = draw(st.sampled_from(kinds))
    pool = valid_looking(current) if kind == "valid" else adversarial(current)
    if not pool:  # nothing valid-looking for this kind of value (a dict): an adversarial one
        pool = adversarial(current)
    value = draw(st.sampled_from(rotated(pool, case.name + "/" + "/".join(map(str, path)))))
    return Mutation(path, value)


# -- inputs -----------------------------------------------------------------------------------------------------------

FLOAT_DTYPES = ("float16", "float32", "float64")
INT_DTYPES = ("int16", "int32")
VALUE_KINDS = ("zeros", "constant", "noise", "tiny30", "tiny40", "large", "huge", "nan", "inf")


@dataclasses.dataclass(frozen=True)
class InputSpec:
    batch: int
    length: int | None  # of the time axis; None: the case's default shape
    rank: str  # "same", "more" (one axis more), "less" (one axis fewer)
    format_mismatch: bool  # the other data format's shape
    dtype: str
    values: str
    seed: int


def data_format_of(case: LayerCase) -> str:
    """The layer's data format as its configuration spells it (the Keras default, channels_last, otherwise)."""
    layer = case.factory()
    text = json.dumps(keras.saving.serialize_keras_object(layer), default=str)
    return "channels_first" if "channels_first" in text and "channels_last" not in text else "channels_last"


def input_shape(case: LayerCase, spec: InputSpec) -> tuple[int, ...]:
    shape = list(case.shape_at(spec.length))
    if spec.format_mismatch and len(shape) >= 2:
        if data_format_of(case) == "channels_last":  # the channels-first layout of the same data
            shape = [shape[-1], *shape[:-1]]
        else:
            shape = [*shape[1:], shape[0]]
    if spec.rank == "more":
        shape = [2, *shape]
    elif spec.rank == "less":
        shape = shape[:-1]
    return (spec.batch, *shape)


def input_dtypes(case: LayerCase) -> tuple[str, ...]:
    if case.dtype == "complex64":  # a complex-input layer also gets real inputs
        return ("complex64", *FLOAT_DTYPES, *INT_DTYPES)
    return (*FLOAT_DTYPES, *INT_DTYPES, "complex64")


def make_input(case: LayerCase, spec: InputSpec) -> np.ndarray:
    """The input ``spec`` describes, as a NumPy array of ``spec.dtype``."""
    shape = input_shape(case, spec)
    rng = np.random.default_rng(spec.seed)
    base = rng.uniform(-1.0, 1.0, size=shape)
    if spec.dtype.startswith("complex"):
        base = base + 1j * rng.uniform(-1.0, 1.0, size=shape)
    if case.dtype == "int32":  # codes (MuLawDecoding): 0..63 as the registry's input
        base = np.floor((base.real + 1.0) * 31.9)
    elif spec.dtype in INT_DTYPES:  # integer PCM
        base = np.round(base.real * 1000.0)
    scales = {"tiny30": 1e-30, "tiny40": 1e-40, "large": 1e6, "huge": 1e30}
    if spec.values == "zeros":
        values = np.zeros_like(base)
    elif spec.values == "constant":
        values = np.full_like(base, 3.0 if spec.dtype in INT_DTYPES else 0.5)
    elif spec.values in scales:
        values = base * scales[spec.values]
    else:
        values = base.copy()
    if spec.values in ("nan", "inf") and values.size:
        position = tuple(int(rng.integers(0, n)) for n in values.shape)
        if spec.dtype in INT_DTYPES:  # no NaN/inf in integers: the extreme value instead
            values[position] = np.iinfo(spec.dtype).max
        else:
            values[position] = math.nan if spec.values == "nan" else (math.inf if rng.random() < 0.5 else -math.inf)
    if spec.dtype in INT_DTYPES:
        info = np.iinfo(spec.dtype)
        return np.clip(np.nan_to_num(values.real), info.min, info.max).astype(spec.dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # float16 overflows to inf: a non-finite input then
        return values.astype(spec.dtype)


def finite_required(x: np.ndarray) -> bool:
    """The contract: a finite input whose magnitude is at most 1e6 gives a finite output. NaN/inf inputs and huge
    (1e30) ones only must not crash: the power of 1e30 overflows float32 (IEEE, documented)."""
    if x.size == 0:
        return True
    magnitude = np.abs(x.astype("complex128" if np.iscomplexobj(x) else "float64"))
    return bool(np.isfinite(magnitude).all() and magnitude.max() <= 1e6)


def _lengths(case: LayerCase) -> list:
    if case.time_axis is None:  # a fixed input shape (a composed model)
        return [None]
    default = case.shape_at(None)[case.time_axis]
    short = min(case.lengths) if case.lengths else 2
    return [None, 0, 1, max(2, short), 2 * (default // 4) + 1, default + 1 if default % 2 == 0 else default]


@st.composite
def input_specs(draw, case: LayerCase) -> InputSpec:
    return InputSpec(
        batch=draw(st.sampled_from(rotated((1, 3, 0), case.name))),
        length=draw(st.sampled_from(rotated(_lengths(case), case.name))),
        rank=draw(st.sampled_from(("same", "same", "more", "less"))),
        format_mismatch=draw(st.sampled_from((False, False, True))),
        dtype=draw(st.sampled_from(rotated(input_dtypes(case), case.name))),
        values=draw(st.sampled_from(rotated(VALUE_KINDS, case.name))),
        seed=draw(st.integers(0, 2**16)),
    )


# -- gradient inputs --------------------------------------------------------------------------------------------------

GRADIENT_PATTERNS = ("span", "silent", "constant", "noise")
GRADIENT_SCALES = (0.0, 1e-30, 1.0)


def gradient_input(case: LayerCase, patterns: Sequence[tuple[str, float]], seed: int) -> np.ndarray:
    """A batch (one example per pattern) of the case's default shape mixing silence and signal."""
    from tests.test_layer_harness import _input  # the harness' noise of the case's dtype (complex included)

    x = _input(case, batch=len(patterns), seed=seed)
    rng = np.random.default_rng(seed)
    axis = case.time_axis or 0
    for i, (pattern, scale) in enumerate(patterns):
        example = x[i]
        if pattern == "silent":
            example[...] = 0
        elif pattern == "constant":
            example[...] = 0.5 + 0.5j if np.iscomplexobj(example) else 0.5
        elif pattern == "span":  # a silent stretch inside the signal
            n = example.shape[axis]
            start = int(rng.integers(0, n))
            stop = int(rng.integers(start, n + 1))
            index = [slice(None)] * example.ndim
            index[axis] = slice(start, stop)
            example[tuple(index)] = 0
        x[i] = example * np.asarray(scale, dtype=x.dtype)
    return x


def gradient_patterns() -> st.SearchStrategy:
    return st.lists(st.tuples(st.sampled_from(GRADIENT_PATTERNS), st.sampled_from(GRADIENT_SCALES)),
                    min_size=3, max_size=3)


def iter_cases(predicate: Callable[[LayerCase], bool] = lambda case: True) -> Iterator[LayerCase]:
    return (case for case in CASES if predicate(case))
