"""Property-based fuzzing (hypothesis) of every layer in tests/layer_registry.py, on the backend of this run.

Properties (the contract kapre promises; docs/fuzzing.md):

1. constructor arguments: one argument of a valid configuration changed to an adversarial or a valid-looking
   value either raises ValueError/TypeError naming the argument, or builds a layer whose call on a valid input gives
   a finite output or a ValueError/TypeError;
2. inputs (batch 0/1/3, time lengths 0/1/short/odd, a wrong rank, other dtypes, zeros/constant/noise/tiny/large/
   huge values, NaN/inf, the other data format's shape): a ValueError/TypeError, or an output of the symbolic shape
   and dtype, finite when the input is finite and at most 1e6 in magnitude;
3. gradients of sum(output) on silence, constants, tiny and silent spans are finite;
4. ``from_config(get_config())`` and a ``.keras`` round trip (safe_mode=True) of a random valid configuration give
   the same output.

Any other exception class (a backend's InvalidArgumentError, RuntimeError, ZeroDivisionError...), a non-finite
output where a finite one is due, a shape or dtype that differs from the symbolic one, or a call that takes longer
than ``HANG_SECONDS`` is a defect.

Profiles: ``ci`` (the default: a fixed seed, a few examples per layer and property, no shrinking, no database) and
``long`` (``KAPRE_FUZZ_PROFILE=long``: random seeds, many examples, shrinking). ``KAPRE_FUZZ_REPORT=path``
appends the outcome counts of this run (per property and outcome) to ``path`` as one JSON line.
"""

from __future__ import annotations

import collections
import contextlib
import json
import math
import os
import signal
import tempfile
import traceback

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests import fuzz_strategies as fs
from tests.helpers import BACKEND, model_of, save_and_load, to_numpy
from tests.layer_registry import CASES, LayerCase
from tests.test_layer_harness import _gradient

# -- profiles -----------------------------------------------------------------------------------------------------

_COMMON = dict(deadline=None,  # JAX compiles each new shape (seconds): HANG_SECONDS guards each call instead
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                                      HealthCheck.differing_executors],
               print_blob=True)
settings.register_profile("ci", derandomize=True, database=None, max_examples=4,
                          phases=(Phase.explicit, Phase.generate), **_COMMON)  # no shrinking: a bounded time
settings.register_profile("long", derandomize=False, database=None, max_examples=100, **_COMMON)
PROFILE = os.environ.get("KAPRE_FUZZ_PROFILE", "ci")
assert PROFILE in ("ci", "long"), f"KAPRE_FUZZ_PROFILE={PROFILE!r}: 'ci' or 'long'"
# Examples per case (per layer variant) and property; the long profile runs 25x as many. JAX compiles every new
# layer instance and input shape (0.3-1 s each on 2 cores), so it runs fewer to stay within CI's budget.
EXAMPLES = {"constructor": 8, "inputs": 8, "gradient": 3, "config_round_trip": 3, "keras_file_round_trip": 6}
if BACKEND == "jax":
    EXAMPLES = {"constructor": 2, "inputs": 2, "gradient": 1, "config_round_trip": 0, "keras_file_round_trip": 3}
SCALE = 1 if PROFILE == "ci" else 25
HANG_SECONDS = float(os.environ.get("KAPRE_FUZZ_HANG_SECONDS", "60"))


def _settings(kind: str):
    return settings(settings.get_profile(PROFILE), max_examples=EXAMPLES[kind] * SCALE)


# -- outcomes -------------------------------------------------------------------------------------------------------

CLEAR_ERRORS = (ValueError, TypeError)
OUTCOMES: collections.Counter = collections.Counter()


class Defect(AssertionError):
    """A broken promise; ``kind`` is one of the classes of docs/fuzzing.md."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"[{kind}] {message}")
        self.kind = kind


class Hang(BaseException):  # a BaseException: a layer's ``except Exception`` does not swallow it
    pass


@contextlib.contextmanager
def hang_guard(seconds: float | None = None):
    """Raise :class:`Hang` in the main thread when the block runs longer than ``seconds`` (a layer that hangs on a
    huge argument is a defect; SIGALRM interrupts Python code, and C code once it returns)."""

    seconds = HANG_SECONDS if seconds is None else seconds

    def on_alarm(signum, frame):
        raise Hang(f"no answer within {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def attempt(what: str, fn, *args, **kwargs):
    """``(result, None)``, or ``(None, error)`` for a ValueError/TypeError with a message; anything else (another
    exception, an empty message, a hang) raises :class:`Defect`."""
    try:
        with hang_guard():
            return fn(*args, **kwargs), None
    except Hang as error:
        raise Defect("hang", f"{what}: {error}") from None
    except CLEAR_ERRORS as error:
        if not str(error).strip():
            raise Defect("error without a message", f"{what}: {type(error).__name__}()") from error
        return None, error
    except Exception as error:
        summary = "".join(traceback.format_exception_only(type(error), error)).strip()[:600]
        raise Defect("backend exception", f"{what}: {type(error).__module__}.{summary}") from error


def check_finite(what: str, y, required: bool = True) -> np.ndarray:
    if isinstance(y, (tuple, list)):  # several outputs (PCEN with return_state): each finite; the first returned
        values = [check_finite(f"{what} (output {index})", one, required) for index, one in enumerate(y)]
        return values[0]
    y = to_numpy(y)
    if required and y.size and not np.isfinite(y).all():
        bad = int(y.size - np.isfinite(y).sum())
        raise Defect("non-finite output", f"{what}: {bad} of {y.size} output values are NaN/inf")
    return y


def _dtype(x) -> str:
    return keras.backend.standardize_dtype(x.dtype)


def check_symbolic(what: str, layer, x: np.ndarray, y) -> None:
    """The eager output has the shape and dtype of the symbolic one (and of compute_output_shape, if defined)."""
    # A model's reference is its call() on a KerasTensor: eager keras.Sequential skips the input shape check that
    # compute_output_spec makes (Keras' behaviour, not kapre's)
    symbolic = layer.call if isinstance(layer, keras.Model) else layer.compute_output_spec
    # the dtype the backend holds the input in (JAX without x64: float64 arrays become float32)
    held = _dtype(keras.ops.convert_to_tensor(x))
    spec, error = attempt(f"{what}: symbolic call", symbolic, keras.KerasTensor(x.shape, dtype=held))
    if error is not None:
        if isinstance(layer, keras.Model) and "is incompatible with the layer" in str(error):
            return  # a Keras model's own input spec: checked on symbolic inputs only (eager warns), not kapre's
        raise Defect("shape/dtype mismatch", f"{what}: the eager call works, the symbolic one raises {error!r}")
    if tuple(spec.shape) != tuple(y.shape) or _dtype(spec) != _dtype(y):
        raise Defect("shape/dtype mismatch", f"{what}: eager {tuple(y.shape)} {_dtype(y)} != symbolic "
                                             f"{tuple(spec.shape)} {_dtype(spec)}")
    own = type(layer).compute_output_shape
    if own is not keras.layers.Layer.compute_output_shape and not isinstance(layer, keras.Model):
        computed, error = attempt(f"{what}: compute_output_shape", layer.compute_output_shape, x.shape)
        if error is not None or tuple(computed) != tuple(y.shape):
            got = repr(error) if error is not None else tuple(computed)
            raise Defect("shape/dtype mismatch", f"{what}: compute_output_shape gives {got}, eager {tuple(y.shape)}")


def check_call(what: str, layer, x: np.ndarray, finite: bool, training: bool | None = None) -> str:
    """Property 2 for one call: 'clear error' or 'accepted' (symbolic shape and dtype, finite where due)."""
    kwargs = {} if training is None else {"training": training}
    y, error = attempt(what, layer, x, **kwargs)
    if error is not None:
        return "clear error"
    check_symbolic(what, layer, x, y)
    check_finite(what, y, required=finite)
    return "accepted"


def check_constructed(what: str, build, names: tuple[str, ...], x: np.ndarray):
    """Property 1: 'clear error at construction' (naming one of ``names``), 'clear error at call', or 'accepted'
    (a finite output); returns (outcome, layer or None)."""
    layer, error = attempt(f"{what}: construction", build)
    if error is not None:
        if not any(name in str(error) for name in names):
            raise Defect("error not naming the argument", f"{what}: {type(error).__name__}: {error}")
        return "clear error at construction", None
    y, error = attempt(f"{what}: call", layer, x)
    if error is not None:
        return "clear error at call", layer
    check_finite(what, y)
    return "accepted", layer


def check_gradient(what: str, fn, x: np.ndarray) -> None:
    grad, error = attempt(f"{what}: gradient", _gradient, fn, x)
    if error is not None:
        raise Defect("backend exception", f"{what}: the gradient raises {type(error).__name__}: {error}")
    if not np.isfinite(grad).all():
        bad = int(grad.size - np.isfinite(grad).sum())
        raise Defect("gradient NaN", f"{what}: {bad} of {grad.size} gradient values are NaN/inf")


def check_same(what: str, case: LayerCase, actual, expected) -> None:
    if isinstance(expected, (tuple, list)):  # several outputs (PCEN with return_state: output and state): each
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            raise Defect("round trip mismatch", f"{what}: {type(actual).__name__} output where the original gives "
                                                f"{len(expected)} outputs")
        for index, (one, other) in enumerate(zip(actual, expected, strict=True)):
            check_same(f"{what} (output {index})", case, one, other)
        return
    actual, expected = to_numpy(actual), to_numpy(expected)
    try:
        if actual.shape != expected.shape:
            raise AssertionError(f"shape {actual.shape} != {expected.shape}")
        scale = np.abs(expected[np.isfinite(expected)]).max(initial=1.0)
        np.testing.assert_allclose(actual, expected, rtol=case.rtol, atol=case.rtol * scale, equal_nan=True)
    except AssertionError as error:
        raise Defect("round trip mismatch", f"{what}: {str(error).strip()[:600]}") from None


def _record(kind: str, outcome: str) -> None:
    OUTCOMES[(kind, outcome)] += 1


@pytest.fixture(scope="module", autouse=True)
def _outcome_report():
    yield
    counts = {f"{kind}: {outcome}": n for (kind, outcome), n in sorted(OUTCOMES.items())}
    print(f"\nfuzz outcomes ({BACKEND}, profile {PROFILE}): {json.dumps(counts, indent=1)}")
    path = os.environ.get("KAPRE_FUZZ_REPORT")
    if path:
        with open(path, "a") as report:
            report.write(json.dumps({"backend": BACKEND, "profile": PROFILE, "counts": counts}) + "\n")


def _recording(kind: str, fn):
    """Run ``fn`` and record its outcome (the first item of a tuple it returns), or the defect class it raises."""
    try:
        result = fn()
    except Defect as defect:
        _record(kind, f"defect: {defect.kind}")
        raise
    _record(kind, result[0] if isinstance(result, tuple) else result)
    return result


def _params(cases):
    return [pytest.param(case, id=case.name) for case in cases]


def _valid_input(case: LayerCase, batch: int = 1, seed: int = 0) -> np.ndarray:
    from tests.test_layer_harness import _input

    return _input(case, batch=batch, seed=seed)


# -- 1. constructor arguments --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params(CASES))
def test_one_bad_constructor_argument_is_rejected_by_name_or_harmless(case):
    x = _valid_input(case)

    @_settings("constructor")
    @given(mutation=fs.mutations(case))
    def run(mutation):
        what = f"{case.name} with {mutation!r}"
        outcome, layer = _recording("constructor", lambda: check_constructed(
            what, lambda: fs.build(case, mutation), mutation.names, x))
        if outcome == "accepted":  # an accepted configuration also survives from_config(get_config())
            check_config_round_trip(what, case, layer, x)

    run()


# -- 2. inputs ----------------------------------------------------------------------------------------------------


_LAYERS: dict[str, object] = {}


def _layer(case: LayerCase):
    """One layer per case for the input checks: JAX and TensorFlow compile it once per input shape and dtype."""
    if case.name not in _LAYERS:
        _LAYERS[case.name] = case.factory()
    return _LAYERS[case.name]


@pytest.mark.parametrize("case", _params(CASES))
def test_any_input_gives_a_clear_error_or_a_finite_output_of_the_symbolic_shape(case):
    layer = _layer(case)

    @_settings("inputs")
    @given(spec=fs.input_specs(case))
    def run(spec):
        x = fs.make_input(case, spec)
        finite = fs.finite_required(x)
        what = f"{case.name} on {spec} (shape {x.shape})"
        _recording("inputs", lambda: check_call(what, layer, x, finite))
        if case.random:  # augmentation draws in training: no crash, finite where due
            _recording("inputs (training)", lambda: check_call(f"{what}, training=True", layer, x, finite, True))

    run()


# -- 3. gradients -------------------------------------------------------------------------------------------------


def _forward(layer):
    """``layer`` as the function to differentiate; on JAX one jax.jit per case (its examples share one compilation;
    eager jax.grad compiles op by op, 2 s a case on 2 cores)."""
    if BACKEND != "jax":
        return lambda v: layer(v)
    import jax

    return jax.jit(lambda v: layer(v))


@pytest.mark.parametrize("case", _params(fs.iter_cases(lambda case: case.differentiable)))
def test_gradient_on_silence_constants_and_tiny_inputs_is_finite(case):
    forward = _forward(_layer(case))

    @_settings("gradient")
    @given(patterns=fs.gradient_patterns(), seed=st.integers(0, 2**16))
    def run(patterns, seed):
        x = fs.gradient_input(case, patterns, seed)
        what = f"{case.name} on {patterns} (seed {seed})"
        _recording("gradient", lambda: check_gradient(what, forward, x) or "finite")

    run()


# -- 4. round trips -----------------------------------------------------------------------------------------------


def _valid_variant(case: LayerCase, mutation, x: np.ndarray):
    """The mutated layer and its output when the variant is valid (builds, gives a finite output), else None."""
    outcome, layer = check_constructed(f"{case.name} with {mutation!r}", lambda: fs.build(case, mutation),
                                       mutation.names, x)
    return layer if outcome == "accepted" else None


def _rebuilt(original):
    if isinstance(original, keras.Model):  # as Keras rebuilds a model: by its serialized form
        return keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(original))
    return type(original).from_config(original.get_config())


def check_config_round_trip(what: str, case: LayerCase, layer, x: np.ndarray) -> None:
    """``from_config(get_config())`` rebuilds a layer giving the same output on ``x``."""
    def check():
        expected = layer(x)
        rebuilt, error = attempt(f"{what}: from_config(get_config())", _rebuilt, layer)
        if error is not None:
            raise Defect("round trip mismatch", f"{what}: from_config(get_config()) raises {error!r}")
        rebuilt(x)
        rebuilt.set_weights(layer.get_weights())  # trainable kernels, Conv2D's random initialisation
        check_same(what, case, rebuilt(x), expected)
        return "same output"

    _recording("config round trip", check)


@pytest.mark.parametrize("case", _params(CASES))
def test_config_round_trip_of_a_valid_variant_gives_the_same_output(case):
    if not EXAMPLES["config_round_trip"]:
        pytest.skip("JAX (compiles each layer): the constructor test round-trips the configurations it accepts")
    x = _valid_input(case)

    @_settings("config_round_trip")
    @given(mutation=fs.mutations(case, kinds=("valid",)))
    def run(mutation):
        what = f"{case.name} with {mutation!r}"
        layer = _valid_variant(case, mutation, x)
        if layer is None:
            _record("config round trip", "invalid variant")
            return
        check_config_round_trip(what, case, layer, x)

    run()


@_settings("keras_file_round_trip")
@given(case=st.sampled_from(CASES), data=st.data())
def test_keras_file_round_trip_of_a_valid_variant_gives_the_same_output(case, data):
    mutation = data.draw(fs.mutations(case, kinds=("valid",)), label="mutation")
    x = _valid_input(case, batch=2, seed=4)
    what = f"{case.name} with {mutation!r}"
    layer = _valid_variant(case, mutation, x)
    if layer is None:
        _record(".keras round trip", "invalid variant")
        return
    model = layer if case.is_model else model_of(layer, case.shape_at(None), dtype=case.dtype)
    expected = model(x)
    with tempfile.TemporaryDirectory() as folder:  # not tmp_path: hypothesis runs many examples per test call
        loaded, error = attempt(f"{what}: .keras save/load", save_and_load, model, folder)
    if error is not None:
        _record(".keras round trip", "defect: round trip mismatch")
        raise Defect("round trip mismatch", f"{what}: the .keras round trip raises {error!r}")
    _recording(".keras round trip", lambda: check_same(what, case, loaded(x), expected) or "same output")


# -- the checkers catch broken layers (a property that cannot fail is a defect) --------------------------------------


class _LogZero(keras.layers.Layer):
    def call(self, x):
        return keras.ops.log(x * 0.0)


class _DividesByZero(keras.layers.Layer):
    def __init__(self, n_fft: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.n_fft = n_fft

    def call(self, x):
        return x * (1 / (self.n_fft // 1000))  # ZeroDivisionError in Python


class _WrongShape(keras.layers.Layer):
    def call(self, x):
        return x[:, :-1] if x.shape[1] > 1 else x

    def compute_output_shape(self, shape):
        return shape


class _SqrtAtZero(keras.layers.Layer):
    def call(self, x):
        return keras.ops.sqrt(keras.ops.abs(x))


def _silent_error():
    raise ValueError()  # (Keras adds the layer's name to an error raised in call: only a constructor's is bare)


def _bad_argument():
    raise ValueError("the window is too long")  # names no argument


_X = np.linspace(-1.0, 1.0, 24, dtype="float32").reshape(2, 12, 1)


@pytest.mark.parametrize("broken, kind", [
    (lambda: check_call("log(0)", _LogZero(), _X, finite=True), "non-finite output"),
    (lambda: check_call("x / 0", _DividesByZero(), _X, finite=True), "backend exception"),
    (lambda: check_call("wrong shape", _WrongShape(), _X, finite=True), "shape/dtype mismatch"),
    (lambda: check_constructed("silent error", _silent_error, ("n_fft",), _X), "error without a message"),
    (lambda: check_constructed("bad argument", _bad_argument, ("n_fft",), _X), "error not naming the argument"),
    (lambda: check_constructed("accepted, then log(0)", _LogZero, ("n_fft",), _X), "non-finite output"),
    (lambda: check_gradient("sqrt at 0", lambda v: _SqrtAtZero()(v), np.zeros((1, 4, 1), "float32")),
     "gradient NaN"),
    (lambda: check_same("different output", CASES[0], np.ones(3), np.zeros(3)), "round trip mismatch"),
], ids=["log0", "zero-division", "wrong-shape", "empty-message", "unnamed-argument", "accepted-log0", "sqrt-grad",
        "round-trip"])
def test_the_checkers_catch_a_broken_layer(broken, kind):
    with pytest.raises(Defect) as caught:
        broken()
    assert caught.value.kind == kind, caught.value


def test_the_checkers_accept_a_sound_layer_and_clear_errors():
    identity = keras.layers.Identity()
    assert check_call("identity", identity, _X, finite=True) == "accepted"
    assert check_call("nan in, nan out allowed", identity, np.full_like(_X, math.nan), finite=False) == "accepted"

    def named():
        raise ValueError("n_fft must be positive, got 0")

    assert check_constructed("named", named, ("n_fft",), _X) == ("clear error at construction", None)
    check_gradient("identity", lambda v: identity(v), np.zeros((1, 4, 1), "float32"))


def test_a_hang_is_a_defect(monkeypatch):
    import time

    monkeypatch.setitem(globals(), "HANG_SECONDS", 0.2)
    with pytest.raises(Defect) as caught:
        attempt("sleeps", time.sleep, 5)
    assert caught.value.kind == "hang"


def test_every_registry_case_is_fuzzed():
    """The suite's parametrizations come from the registry: a new entry is fuzzed without an edit here."""
    assert {case.name for case in CASES} == {p.id for p in _params(CASES)}
    for case in CASES:
        assert fs.argument_paths(case), f"{case.name}: no constructor argument found to fuzz"
