"""One harness for every public layer and composed front-end (the registry is tests/layer_registry.py).

For each case, on the backend this run uses: get_config/from_config, a ``.keras`` round trip with safe_mode=True,
symbolic == eager == compute_output_shape at the case's edge lengths, batched == per-example, an empty batch, a
first call inside jax.jit / tf.function (and torch.compile for flagged cases) then another shape, float64 and
mixed_float16 policies, finite gradients, and frame locality. The files saved on each backend (tests/data) are
loaded in tests/test_serialization.py, one test per file.
"""

from __future__ import annotations

import importlib

import keras
import numpy as np
import pytest

from tests.helpers import BACKEND, chain, model_of, noise, save_and_load, to_numpy
from tests.layer_registry import CASES, COMPOSED_FUNCTIONS, FRONTEND_FUNCTIONS

PUBLIC_LAYER_MODULES = (
    "kapre",
    "kapre.time_frequency",
    "kapre.melspectrogram",
    "kapre.signal",
    "kapre.time_frequency_tflite",
    "kapre.augmentation",
    "kapre.stft_spectrogram",
    "kapre.legacy",
    "kapre.utils",
    "kapre.filterbank",
    "kapre.compat.das",
    "kapre.frontends",
)


def _params(check, cases=CASES):
    """One pytest param per case; a known bug of kapre on this backend is a strict xfail (it flips when fixed)."""
    params = []
    for case in cases:
        marks = []
        reason, backends = case.known_bugs.get(check, (None, None))
        if reason is not None and (backends is None or BACKEND in backends):
            marks.append(pytest.mark.xfail(strict=True, reason=f"kapre: {reason}"))
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


def _opt_out(case, check):
    reason = case.opt_outs.get(check)
    if reason is not None:
        print(f"{case.name}: {check} opted out: {reason}")
        pytest.skip(f"{case.name} opts out of {check}: {reason}")


def _input(case, batch=2, length=None, seed=0, dtype=None):
    shape = (batch, *case.shape_at(length))
    dtype = dtype or case.dtype
    if dtype in ("complex64", "complex128"):
        real = "float32" if dtype == "complex64" else "float64"
        return (noise(shape, seed=seed, dtype=real) + 1j * noise(shape, seed=seed + 100, dtype=real)).astype(dtype)
    if dtype == "int32":
        return np.floor((noise(shape, seed=seed) + 1.0) * 31.9).astype("int32")
    return noise(shape, seed=seed, dtype=dtype)


def _scale(y):
    y = np.abs(np.asarray(y, dtype="complex128" if np.iscomplexobj(y) else "float64"))
    return max(1.0, float(y.max())) if y.size else 1.0


def _assert_close(case, actual, expected, rtol=None):
    rtol = case.rtol if rtol is None else rtol
    assert actual.shape == expected.shape
    if rtol == 0.0:
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * _scale(expected))


def _dtype_of(tensor) -> str:
    return keras.backend.standardize_dtype(tensor.dtype)


# -- the registry covers every public layer --------------------------------------------------------------------


def _public_layer_classes():
    found = {}
    for module_name in PUBLIC_LAYER_MODULES:
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None) or [name for name in vars(module) if not name.startswith("_")]
        for name in names:
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, keras.layers.Layer) and value.__module__.startswith(
                    "kapre"):
                found.setdefault(value, f"{module_name}.{name}")
    return found


def test_every_public_layer_and_composed_function_has_a_registry_entry():
    covered = {item for case in CASES for item in case.covers}
    public = _public_layer_classes()
    assert len(public) >= 25, public  # the walk found the layers
    missing = sorted(path for cls, path in public.items() if cls not in covered)
    assert not missing, f"public layers without an entry in tests/layer_registry.py: {missing}"
    missing = sorted(set(COMPOSED_FUNCTIONS) - covered)
    assert not missing, f"kapre.composed functions without an entry in tests/layer_registry.py: {missing}"
    assert len(FRONTEND_FUNCTIONS) >= 13, FRONTEND_FUNCTIONS
    missing = sorted(set(FRONTEND_FUNCTIONS) - covered)
    assert not missing, f"kapre.frontends functions without an entry in tests/layer_registry.py: {missing}"


# -- get_config / from_config -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params("config"))
def test_config_round_trip(case):
    _opt_out(case, "config")
    x = _input(case)
    original = case.factory()
    before = to_numpy(original(x))
    config = original.get_config()
    if case.is_model:  # as Keras rebuilds a model: by its serialized form (Functional.from_config loses it)
        rebuilt = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(original))
    else:
        rebuilt = type(original).from_config(config)
    assert type(rebuilt) is type(original)
    assert rebuilt.get_config() == config
    rebuilt(x)  # build, then give it the original's weights (trainable kernels, Conv2D's random init)
    rebuilt.set_weights(original.get_weights())
    np.testing.assert_array_equal(to_numpy(rebuilt(x)), before)


# -- .keras round trip, safe_mode=True -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params("round_trip"))
def test_keras_file_round_trip(case, tmp_path):
    _opt_out(case, "round_trip")
    target = case.factory()
    model = target if case.is_model else model_of(target, case.shape_at(None), dtype=case.dtype)
    x = _input(case, seed=3)
    before = to_numpy(model(x))
    loaded = save_and_load(model, tmp_path)
    np.testing.assert_array_equal(to_numpy(loaded(x)), before)
    _assert_same_layers(loaded, model)


def _assert_same_layers(loaded, model):
    for new, old in zip(loaded.layers, model.layers, strict=True):
        assert type(new) is type(old)
        if isinstance(old, keras.Model):
            _assert_same_layers(new, old)
        else:
            assert new.get_config() == old.get_config()


# -- symbolic == eager == compute_output_shape at the edge lengths ------------------------------------------------


@pytest.mark.parametrize("case", _params("shapes"))
def test_symbolic_eager_and_computed_shapes_agree(case):
    _opt_out(case, "shapes")
    target = case.factory()
    for length in case.lengths or (None,):
        shape = case.shape_at(length)
        x = _input(case, length=length)
        eager = target(x)
        symbolic = target(keras.Input(shape, dtype=case.dtype))
        computed = target.compute_output_shape(x.shape)
        assert tuple(symbolic.shape) == (None, *eager.shape[1:]), (length, symbolic.shape, eager.shape)
        assert tuple(computed) == tuple(eager.shape), (length, computed, eager.shape)
        assert _dtype_of(symbolic) == _dtype_of(eager), length
    if case.time_axis is not None:  # a free time axis: symbolic == compute_output_shape
        free = list(case.input_shape)
        free[case.time_axis] = None
        symbolic = target(keras.Input(tuple(free), dtype=case.dtype))
        assert tuple(symbolic.shape) == tuple(target.compute_output_shape((None, *free)))


# -- batched == per-example ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params("batched"))
def test_batched_equals_per_example(case):
    _opt_out(case, "batched")
    target = case.factory()
    x = _input(case, batch=2, seed=6)  # batch 2 everywhere: JAX compiles each eager op once per shape
    batched = to_numpy(target(x))
    single = np.concatenate([to_numpy(target(x[i : i + 1])) for i in range(len(x))])
    _assert_close(case, batched, single)


# -- empty batch ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params("empty_batch"))
def test_empty_batch_gives_an_empty_output(case):
    """A pipeline's last or filtered-out batch: PyTorch's FFT (MKL) rejected zero-size tensors and Keras'
    ``ops.max`` raises on empty tensors (TensorFlow eager, PyTorch); kapre handles both."""
    _opt_out(case, "empty_batch")
    target = case.factory()
    full = to_numpy(target(_input(case, batch=2)))
    empty = to_numpy(target(_input(case, batch=0)))
    assert empty.shape == (0, *full.shape[1:])


# -- first call inside a compiled function, then another shape ------------------------------------------------------


def _compile(fn, use_torch_compile):
    if BACKEND == "jax":
        import jax

        return jax.jit(fn)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    if not use_torch_compile:
        pytest.skip("torch.compile takes tens of seconds per layer here: only cases flagged torch_compile=True")
    import torch

    return torch.compile(fn, dynamic=False)


def _backend_tensor(x):
    if BACKEND == "torch":
        import torch

        return torch.from_numpy(np.ascontiguousarray(x))
    return x


@pytest.mark.parametrize("case", _params("traced"))
def test_first_call_inside_a_compiled_function_then_another_shape(case):
    """Constants (windows, filterbanks, DCT matrices) built inside the first trace must not belong to it, or the
    next trace (another shape) fails (JAX raised UnexpectedTracerError before kapre created them outside)."""
    _opt_out(case, "traced")
    if BACKEND == "jax" and case.holds_weights:
        pytest.skip("Keras cannot create a layer's weights inside jax.jit (keras.layers.Dense fails the same way): "
                    "build it first")
    target = case.factory()
    compiled = _compile(lambda v: target(v), case.torch_compile)
    lengths = case.lengths
    other = None if not lengths else (lengths[-1] if lengths[-1] != case.shape_at(None)[case.time_axis]
                                      else lengths[0])
    first = to_numpy(compiled(_backend_tensor(_input(case, batch=2, seed=1))))
    second_input = _backend_tensor(_input(case, batch=1, length=other, seed=2))
    second = to_numpy(compiled(second_input))  # a second trace: the first trace's constants must still work
    assert first.shape[0] == 2 and second.shape[0] == 1
    eager = to_numpy(target(second_input))
    np.testing.assert_allclose(second, eager, rtol=1e-5, atol=1e-4 * _scale(eager))


# The torch.compile cases, and layers that took a maximum (decibels, normalisation) or built NumPy constants in the
# call (SincConv, the seeded Griffin-Lim): traced by Dynamo as one graph.
ONE_GRAPH_CASES = ("MagnitudeToDecibel-ref-max", "whisper_log_mel", "librosa_mfcc-multichannel-frames-first",
                   "Chroma-stft", "GriffinLim-zeros", "GriffinLim-seed-power-kapre-framing-channels-first",
                   "SincConv", "SincConv-same-dilated")


@pytest.mark.skipif(BACKEND != "torch", reason="torch.compile's tracer (Dynamo); JAX and TensorFlow trace whole")
@pytest.mark.parametrize("case", [case for case in CASES if case.torch_compile or case.name in ONE_GRAPH_CASES],
                         ids=lambda case: case.name)
def test_torch_compile_traces_one_graph(case):
    """No graph break: ``keras.ops.max``'s ``isinstance`` test of its result's ``.values`` broke every graph that
    took a maximum (the decibels' floor, ``ref='max'``, normalisation), inside Keras' name scope, which sent the
    whole layer call back to eager (with those breaks, a compiled MelSpectrogram ran at 0.4x its eager speed on an
    H200)."""
    import torch

    target = case.factory()
    x = _backend_tensor(_input(case, batch=2))
    target(x)  # built eagerly first, as a model's layers are before torch.compile runs them
    torch._dynamo.reset()
    explained = torch._dynamo.explain(lambda v: target(v))(x)
    reasons = [str(item.reason).splitlines()[0] for item in explained.break_reasons]
    assert explained.graph_break_count == 0 and explained.graph_count == 1, reasons


# -- dtype policies -------------------------------------------------------------------------------------------------


def _wide(dtype):
    return {"float32": "float64", "complex64": "complex128"}.get(dtype, dtype)


@pytest.mark.parametrize("case", _params("float64"))
def test_float64_layer(case):
    _opt_out(case, "float64")
    if BACKEND == "jax":
        import jax

        if not jax.config.jax_enable_x64:
            pytest.skip("JAX without jax_enable_x64 computes in float32: no float64 layer")
    original = case.factory()
    reference = to_numpy(original(_input(case, seed=4)))
    keras.config.set_dtype_policy("float64")
    target = case.factory()
    x = _input(case, seed=4, dtype=_wide(case.dtype))
    target(x)
    target.set_weights(original.get_weights())  # trainable kernels, Conv2D's random init
    y = target(x)
    assert _dtype_of(y) == case.float64_output
    # float64 is at least as accurate as float32: the two agree to float32's precision
    np.testing.assert_allclose(to_numpy(y), reference, rtol=1e-4, atol=1e-4 * _scale(reference))


@pytest.mark.parametrize("case", _params("mixed_float16"))
def test_mixed_float16_policy(case):
    """Transforms compute in float32 under mixed precision and return the policy's dtype (complex64 for STFT)."""
    _opt_out(case, "mixed_float16")
    original = case.factory()
    reference = to_numpy(original(_input(case, seed=5)))
    keras.config.set_dtype_policy("mixed_float16")
    target = case.factory()
    target(_input(case, seed=5))
    target.set_weights(original.get_weights())
    y = target(_input(case, seed=5))
    assert _dtype_of(y) == case.mixed_output
    y = to_numpy(y)
    assert np.isfinite(y).all() if np.isfinite(reference).all() else True
    np.testing.assert_allclose(y.astype(reference.dtype), reference, rtol=2e-2, atol=2e-2 * _scale(reference))


# -- gradients --------------------------------------------------------------------------------------------------


def _complex(real, imag):
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.complex(real, imag)
    if BACKEND == "jax":
        import jax

        return jax.lax.complex(real, imag)
    import torch

    return torch.complex(real, imag)


def _gradient(fn, x):
    """d sum(fn(x)) / dx (for complex x: with respect to the stacked real and imaginary parts)."""
    from tests.helpers import gradient

    def real_fn(v):  # a complex output (STFT): the gradient of sum(real + imag)
        y = fn(v)
        if "complex" in _dtype_of(y):
            y = keras.ops.real(y) + keras.ops.imag(y)
        return y

    if np.iscomplexobj(x):
        parts = np.stack([x.real, x.imag]).astype("float32")
        return gradient(lambda v: real_fn(_complex(v[0], v[1])), parts)
    return gradient(real_fn, x)


_GRADIENTS = {}


# The examples of the gradient batch after the noise (index 0): where log, sqrt, atan2 and divisions meet 0.
SILENT_EXAMPLES = ("zeros", "ones", "noise * 1e-30", "half silent")


def _noise_and_silence_gradient(case):
    """The gradient for a batch of [noise, *SILENT_EXAMPLES] (one computation for both gradient checks: JAX traces
    anew for each)."""
    if case.name not in _GRADIENTS:
        target = case.factory()
        x = _input(case, batch=1 + len(SILENT_EXAMPLES), seed=7)
        x[1] = 0
        x[2] = 1
        x[3] = x[0] * 1e-30
        x[4] = x[0]
        half = [slice(None)] * (x.ndim - 1)
        axis = 0 if case.time_axis is None else case.time_axis
        half[axis] = slice(0, x.shape[1 + axis] // 2)
        x[(4, *half)] = 0
        grad = _gradient(lambda v: target(v), x)
        assert grad.shape == ((2, *x.shape) if np.iscomplexobj(x) else x.shape)
        _GRADIENTS[case.name] = grad if not np.iscomplexobj(x) else np.moveaxis(grad, 0, 1)  # batch first
    return _GRADIENTS[case.name]


@pytest.mark.parametrize("case", _params("gradient"))
def test_gradient_is_finite(case):
    _opt_out(case, "gradient")
    assert case.differentiable, f"{case.name}: a non-differentiable case must opt out of the gradient check"
    grad = _noise_and_silence_gradient(case)[0]
    assert np.isfinite(grad).all()
    if case.nonzero_gradient:
        assert np.abs(grad).max() > 0


@pytest.mark.parametrize("case", _params("gradient_at_zero"))
def test_gradient_is_finite_at_zero_input(case):
    """Silence, a constant, a 1e-30-scaled signal and a half-silent one (log, sqrt, atan2 and divisions at 0) must
    not give NaN or inf gradients."""
    _opt_out(case, "gradient")
    _opt_out(case, "gradient_at_zero")
    grad = _noise_and_silence_gradient(case)
    bad = [name for name, g in zip(SILENT_EXAMPLES, grad[1:], strict=True) if not np.isfinite(g).all()]
    assert not bad, f"{case.name}: non-finite gradient on {bad}"


# -- frame locality -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params("frame_locality_attribute"))
def test_frame_locality_attribute(case):
    _opt_out(case, "frame_locality_attribute")
    assert getattr(case.factory(), "frame_locality", None) == case.frame_locality


@pytest.mark.parametrize(
    "case", _params("frame_locality_behaviour", [case for case in CASES if case.frame_locality is not None])
)
def test_zeros_appended_at_the_end_leave_the_leading_frames_unchanged(case):
    _opt_out(case, "frame_locality_behaviour")
    target = case.factory()
    if case.is_model:
        target = chain(*target.layers)  # the layer stack, free of the model's fixed input length
    time_axis = 1 + (case.time_axis if case.time_axis is not None else 0)
    frame_axis = 1 + (case.output_time_axis or 0)
    x = _input(case, seed=8)
    pad = [(0, 0)] * x.ndim
    pad[time_axis] = (0, 37)
    before = to_numpy(target(x))
    after = to_numpy(target(np.pad(x, pad)))
    assert after.shape[frame_axis] >= before.shape[frame_axis]
    leading = np.take(after, np.arange(before.shape[frame_axis]), axis=frame_axis)
    np.testing.assert_allclose(leading, before, rtol=1e-5, atol=1e-5 * _scale(before))
