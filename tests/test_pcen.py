"""kapre.PCEN and kapre.functional's PCEN against ``librosa.pcen`` (float64), a NumPy transcription of LEAF's
``PCENLayer`` (google-research/leaf-audio, leaf_audio/postprocessing.py) and a NumPy loop of the smoother, on this
run's backend (the suite runs once per backend).

Tolerances (each check says which it uses):
- ``librosa.pcen``, float32: 1e-4 relative, element by element (issue 18's acceptance; measured about 1e-6); float64:
  1e-9 relative.
- the smoother against a float64 NumPy loop: 2e-6 relative (float32 rounding over 1,100 frames).
- chunks with the state carried against one call: 1e-5 relative (the blocks fall at other frames).
- LEAF's PCENLayer transcribed in NumPy against the float32 layer: 1e-5 relative. The transcription keeps LEAF's
  literal ``(y + delta)**(1/root) - delta**(1/root)``, which cancels for small ``y``: it runs in NumPy's long double
  (64-bit mantissa on x86-64), whose error there stays below 1e-18 absolute, and values are compared to
  ``ABSOLUTE_FLOOR`` absolute at least.
- weight gradients against central differences of the transcription: 1e-3 relative to the largest.
- ``ABSOLUTE_FLOOR = 1e-13`` absolute everywhere: below float32's relative reach for values that reach it by
  cancellation (LEAF) or underflow (a smoother decaying over a silent band for 150 frames, 0.5**150 = 7e-46).
"""

from __future__ import annotations

import math

import keras
import librosa
import numpy as np
import pytest

import kapre
from kapre import functional
from kapre.constants import pcen_smooth_coefficient
from tests.helpers import BACKEND, float64_backend, gradient, to_numpy

LIBROSA_RTOL = 1e-4
FLOAT64_RTOL = 1e-9
SMOOTHER_RTOL = 2e-6
CHUNK_RTOL = 1e-5
LEAF_RTOL = 1e-5
GRADIENT_RTOL = 1e-3
ABSOLUTE_FLOOR = 1e-13


def _spectrogram(shape=(2, 150, 20, 2), seed=0) -> np.ndarray:
    """A power spectrogram (batch, time, freq, channels) spanning 12 decades, with a silent band, a silent
    stretch and a loud onset: every branch of the formula sees small and large values."""
    rng = np.random.default_rng(seed)
    x = 10.0 ** rng.uniform(-6.0, 6.0, shape)
    x[:, :, 3] = 0.0
    x[:, 40:60] = 0.0
    x[:, 90:, 5:9] *= 1e3
    return x


def _librosa(x, time_axis=1, **kwargs) -> np.ndarray:
    """librosa.pcen in float64, example by example and channel by channel, on (batch, time, freq, channels) (or
    channels first with time_axis=2), and librosa's zf for each: ``(P, zf)``."""
    x = np.asarray(x, dtype="float64")
    if time_axis == 2:
        out, zf = _librosa(np.transpose(x, (0, 2, 3, 1)), **kwargs)
        return np.transpose(out, (0, 3, 1, 2)), np.transpose(zf, (0, 2, 1))
    out, zf = np.empty_like(x), np.empty((x.shape[0], x.shape[2], x.shape[3]))
    if kwargs.get("b") == 0.0:  # scipy.signal.lfilter_zi fails on b = 0 (a singular system): its limit, 1 - b
        kwargs = {**kwargs, "zi": np.ones((x.shape[2], 1))}
    for b in range(x.shape[0]):
        for c in range(x.shape[3]):
            with np.errstate(divide="ignore"):  # bias=0: librosa takes log(0) for silence (exp(-inf) = 0)
                p, z = librosa.pcen(x[b, :, :, c].T, return_zf=True, **kwargs)  # (freq, time), time last
            out[b, :, :, c], zf[b, :, c] = p.T, z[:, 0]
    return out, zf


def _smoothing_reference(x, coef, initial) -> np.ndarray:
    """M[t] = (1 - coef) M[t-1] + coef x[t] along axis 1, float64, one frame at a time."""
    x = np.asarray(x, dtype="float64")
    m, out = np.asarray(initial, dtype="float64"), np.empty_like(x)
    for t in range(x.shape[1]):
        m = (1.0 - coef) * m + coef * x[:, t]
        out[:, t] = m
    return out


def _leaf_pcen(x, alpha, delta, root, smooth, floor) -> np.ndarray:
    """LEAF's PCENLayer.call transcribed (in long double): x (batch, time, channels=bands); the weights per band
    or scalar. ExponentialMovingAverage: tf.scan of w * x + (1 - w) * a from a = x[:, 0], w clipped to [0, 1]."""
    x = np.asarray(x, dtype=np.longdouble)
    alpha = np.minimum(np.asarray(alpha, np.longdouble), 1.0)
    root = np.maximum(np.asarray(root, np.longdouble), 1.0)
    delta = np.asarray(delta, np.longdouble)
    w = np.clip(np.asarray(smooth, np.longdouble), 0.0, 1.0)
    state, smoother = x[:, 0], np.empty_like(x)
    for t in range(x.shape[1]):
        state = w * x[:, t] + (1.0 - w) * state
        smoother[:, t] = state
    one_over_root = 1.0 / root
    return (x / (floor + smoother) ** alpha + delta) ** one_over_root - delta**one_over_root


def _compiled(fn):
    if BACKEND == "jax":
        import jax

        return jax.jit(fn)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, autograph=False)
    return fn


def _weight_gradients(layer, x) -> list[np.ndarray]:
    """d sum(layer(x)) / d each trainable weight of a built layer."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            y = tf.reduce_sum(layer(x))
        return [np.asarray(g) for g in tape.gradient(y, layer.trainable_weights)]
    if BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        def total(values):
            y, _ = layer.stateless_call(values, [w.value for w in layer.non_trainable_weights], x)
            return jnp.sum(y)

        return [np.asarray(g) for g in jax.grad(total)([w.value for w in layer.trainable_weights])]
    import torch

    y = layer(torch.from_numpy(x)).sum()
    return [to_numpy(g) for g in torch.autograd.grad(y, [w.value for w in layer.trainable_weights])]


def _assert_relative(actual, expected, rtol, what=""):
    """Element by element ``|actual - expected| <= max(rtol |expected|, ABSOLUTE_FLOOR)``."""
    actual, expected = np.asarray(actual, "float64"), np.asarray(expected, "float64")
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    error = np.abs(actual - expected)
    bound = np.maximum(rtol * np.abs(expected), ABSOLUTE_FLOOR)
    worst = float(np.max(error / bound)) * rtol
    assert np.all(error <= bound), f"{what}: max error {worst:.3g} relative (floor {ABSOLUTE_FLOOR}) > {rtol}"
    return worst


# -- the smoothing coefficient ---------------------------------------------------------------------------------


@pytest.mark.parametrize("time_constant, sr, hop", [(0.4, 22050, 512), (0.06, 8000, 32), (3.0, 44100, 1024),
                                                    (0.001, 16000, 160)])
def test_smooth_coefficient_is_librosas(time_constant, sr, hop):
    t = time_constant * sr / hop
    expected = (np.sqrt(1 + 4 * t**2) - 1) / (2 * t**2)  # librosa.pcen's lines
    assert math.isclose(pcen_smooth_coefficient(time_constant, sr, hop), expected, rel_tol=1e-12)
    assert functional.pcen_smooth_coefficient is pcen_smooth_coefficient
    assert math.isclose(kapre.params.PCENParams.resolve(sr, hop, time_constant=time_constant).b, expected,
                        rel_tol=1e-12)


# -- librosa.pcen over a grid: one argument at a time away from the defaults ----------------------------------

GRID = [
    {},
    {"gain": 0.0}, {"gain": 0.5}, {"gain": 1.0},
    {"bias": 0.0}, {"bias": 0.5}, {"bias": 10.0},
    {"power": 0.0}, {"power": 0.25}, {"power": 1.0},
    {"bias": 0.0, "power": 1.0}, {"bias": 0.0, "power": 0.0},
    {"time_constant": 0.06}, {"time_constant": 3.0},
    {"eps": 1e-12}, {"eps": 1e-2},
    {"sr": 16000, "hop_length": 160}, {"sr": 44100, "hop_length": 1024}, {"sr": 8000, "hop_length": 32},
    {"b": 0.0}, {"b": 0.5}, {"b": 1.0},
    {"max_size": 3}, {"max_size": 4}, {"max_size": 64},  # 64: wider than the 20 bands
]


def _functional_pcen(x, kwargs, **extra):
    kwargs = {"sr": 22050, "hop_length": 512, "time_constant": 0.4, **kwargs}
    b = kwargs.pop("b", None)
    if b is None:
        b = pcen_smooth_coefficient(kwargs["time_constant"], kwargs["sr"], kwargs["hop_length"])
    for key in ("sr", "hop_length", "time_constant"):
        kwargs.pop(key)
    max_size = kwargs.pop("max_size", 1)
    return functional.pcen(x, b, axis=1, max_size=max_size, max_axis=2, **kwargs, **extra)


@pytest.mark.parametrize("kwargs", GRID, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults")
def test_functional_pcen_equals_librosa(kwargs):
    """float32, eager, against librosa.pcen in float64: 1e-4 relative, element by element."""
    x = _spectrogram()
    expected, expected_zf = _librosa(x, **kwargs)
    out, state = _functional_pcen(x.astype("float32"), kwargs)
    _assert_relative(to_numpy(out), expected, LIBROSA_RTOL, f"pcen {kwargs}")
    b = kwargs.get("b", pcen_smooth_coefficient(kwargs.get("time_constant", 0.4), kwargs.get("sr", 22050),
                                                kwargs.get("hop_length", 512)))
    if b < 1.0:  # librosa's zf is (1 - b) M[last]
        _assert_relative((1.0 - b) * to_numpy(state), expected_zf, LIBROSA_RTOL, "zf")


@pytest.mark.parametrize("kwargs", [{"bias": 0.0}, {"power": 0.0, "max_size": 3}], ids=str)
def test_functional_pcen_float64_equals_librosa(kwargs):
    x = _spectrogram(seed=1)
    expected, _ = _librosa(x, **kwargs)
    with float64_backend():
        out, _ = _functional_pcen(keras.ops.convert_to_tensor(x, "float64"), kwargs)
        assert keras.backend.standardize_dtype(out.dtype) == "float64"
        _assert_relative(to_numpy(out), expected, FLOAT64_RTOL, f"float64 {kwargs}")


# -- the layer: librosa, zf, chunks with the state carried, causality --------------------------------------------


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_layer_equals_librosa_and_chunks_equal_one_call(data_format):
    """The layer against librosa.pcen (1e-4), its state against librosa's zf, and three chunks, the first from the
    default state, against one call (1e-5); frames appended change none before them (causal)."""
    kwargs = {"sr": 16000, "hop_length": 160, "max_size": 3} if data_format == "channels_last" else {}
    layer = kapre.PCEN(return_state=True, data_format=data_format, **kwargs)
    x = _spectrogram().astype("float32")
    time_axis = 1 if data_format == "channels_last" else 2
    if time_axis == 2:
        x = np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))
    expected, expected_zf = _librosa(x, time_axis=time_axis, **kwargs)
    out, state = layer(x)
    _assert_relative(to_numpy(out), expected, LIBROSA_RTOL, "layer")
    assert tuple(state.shape) == ((2, 20, 2) if time_axis == 1 else (2, 2, 20))
    b = pcen_smooth_coefficient(0.4, kwargs.get("sr", 22050), kwargs.get("hop_length", 512))
    _assert_relative((1.0 - b) * to_numpy(state), expected_zf, LIBROSA_RTOL, "zf")
    chunks, carried = [], None
    for start in (0, 50, 100):
        piece = np.take(x, np.arange(start, start + 50), axis=time_axis)
        y, carried = layer(piece, initial_state=carried)
        chunks.append(to_numpy(y))
    _assert_relative(np.concatenate(chunks, axis=time_axis), to_numpy(out), CHUNK_RTOL, "chunks")
    _assert_relative(to_numpy(carried), to_numpy(state), CHUNK_RTOL, "final state")
    # causal: 50 frames of loud noise appended change none of the first 150 output frames
    longer = np.concatenate([x, np.take(x, np.arange(50), axis=time_axis) * 1e3], axis=time_axis)
    leading = np.take(to_numpy(layer(longer)[0]), np.arange(150), axis=time_axis)
    _assert_relative(leading, to_numpy(out), CHUNK_RTOL, "causal")


def test_learnable_chunks_equal_one_call():
    """LEAF's form (channels first, trained-looking weights): chunks from its default state (M[0] = x[0]) equal
    one call."""
    layer = kapre.PCEN(learnable=True, return_state=True, data_format="channels_first")
    x = np.ascontiguousarray(np.transpose(_spectrogram(seed=2), (0, 3, 1, 2))).astype("float32")
    layer.build(x.shape)
    rng = np.random.default_rng(3)
    layer.set_weights([rng.uniform(0.5, 1.0, 20), rng.uniform(0.5, 3.0, 20), rng.uniform(1.0, 4.0, 20),
                       rng.uniform(0.01, 0.5, 20)])
    out, state = layer(x)
    chunks, carried = [], None
    for start in (0, 50, 100):
        y, carried = layer(x[:, :, start:start + 50], initial_state=carried)
        chunks.append(to_numpy(y))
    _assert_relative(np.concatenate(chunks, axis=2), to_numpy(out), CHUNK_RTOL, "chunks")
    _assert_relative(to_numpy(carried), to_numpy(state), CHUNK_RTOL, "final state")


# -- the smoother: both methods, every path, against a NumPy loop ----------------------------------------------


@pytest.mark.parametrize("method", ["blocked", "associative"])
def test_exponential_smoothing_equals_a_loop(method):
    """Compiled, channels first (axis 2), two chunks of 1,100 frames (three levels of 32-frame blocks) with the
    state carried, one coefficient per band from 0 to 1 (a tensor), from a given state. (The float coefficient,
    the first frame as default state and short lengths are checked through PCEN above and in the harness.)
    'associative' raises float32 powers of ``1 - coef``, whose rounding (6e-8) grows over the ``1 / coef`` frames
    the smoother remembers: 2e-5 at coef = 0.005; 'blocked' raises ``exp(k log1p(-coef))``, ``coef`` times less."""
    rtol = SMOOTHER_RTOL if method == "blocked" else 10 * SMOOTHER_RTOL
    rng = np.random.default_rng(4)
    smooth = _compiled(lambda v, c, s: functional.exponential_smoothing(v, c, s, axis=2, method=method))
    x = rng.uniform(0.0, 10.0, (2, 3, 2200, 6)).astype("float32")
    coef = np.array([0.0, 0.005, 0.05, 0.3, 0.9, 1.0], "float32")
    start = rng.uniform(0.0, 10.0, (2, 3, 6)).astype("float32")
    expected = np.moveaxis(_smoothing_reference(np.moveaxis(x, 2, 1), coef, start), 1, 2)
    c = keras.ops.convert_to_tensor(coef)
    first, state = smooth(x[:, :, :1100], c, keras.ops.convert_to_tensor(start))
    _assert_relative(to_numpy(first), expected[:, :, :1100], rtol, f"{method} per band")
    _assert_relative(to_numpy(state), expected[:, :, 1099], rtol, f"{method} state")
    second, last = smooth(x[:, :, 1100:], c, state)
    _assert_relative(to_numpy(second), expected[:, :, 1100:], rtol, f"{method} second chunk")
    _assert_relative(to_numpy(last), expected[:, :, -1], rtol, f"{method} last state")


def test_smoothing_with_no_static_length_is_a_scan():
    """The path of a TensorFlow graph whose time axis has no static length (keras.ops.scan): directly on every
    backend, and through tf.function with an unknown length on TensorFlow."""
    rng = np.random.default_rng(5)
    x = rng.uniform(0.0, 10.0, (2, 40, 3, 1)).astype("float32")
    coef = np.array([[0.1], [0.5], [0.9]], "float32")
    expected = _smoothing_reference(x, coef, x[:, 0])
    m, last = functional._recurrence_loop(keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(coef),
                                          keras.ops.convert_to_tensor(x[:, 0]), 1)
    _assert_relative(to_numpy(m), expected, SMOOTHER_RTOL, "scan")
    _assert_relative(to_numpy(last), expected[:, -1], SMOOTHER_RTOL, "scan state")
    if BACKEND == "tensorflow":
        import tensorflow as tf

        fn = tf.function(lambda v: functional.exponential_smoothing(v, coef)[0],
                         input_signature=[tf.TensorSpec((None, None, 3, 1), tf.float32)])
        _assert_relative(fn(x).numpy(), expected, SMOOTHER_RTOL, "tf.function, unknown length")


# -- LEAF's trainable form -------------------------------------------------------------------------------------


def test_learnable_at_init_equals_leaf():
    """Per band with LEAF's own defaults (alpha 0.96, smooth 0.04, delta 2, root 2, floor 1e-12), and scalar
    weights initialised past the constraints (gain 1.3 -> alpha 1, power 2 -> root 0.5 -> 1)."""
    x = _spectrogram((2, 70, 8, 1), seed=6)
    layer = kapre.PCEN(learnable=True, gain=0.96, smooth_coef=0.04, bias=2.0, power=0.5, eps=1e-12,
                       data_format="channels_last")
    expected = _leaf_pcen(x[..., 0], 0.96, 2.0, 2.0, 0.04, 1e-12)
    _assert_relative(to_numpy(layer(x.astype("float32")))[..., 0], expected, LEAF_RTOL, "LEAF per band")
    assert [tuple(w.shape) for w in layer.trainable_weights] == [(8,)] * 4
    scalar = kapre.PCEN(learnable=True, per_band=False, gain=1.3, power=2.0, bias=0.5, smooth_coef=0.2,
                        data_format="channels_last")
    expected = _leaf_pcen(x[..., 0], 1.3, 0.5, 0.5, 0.2, 1e-6)
    _assert_relative(to_numpy(scalar(x.astype("float32")))[..., 0], expected, LEAF_RTOL, "LEAF scalar")
    assert [tuple(w.shape) for w in scalar.trainable_weights] == [()] * 4


def test_learnable_trains_and_keeps_its_constraints():
    """A few dozen Adam steps towards a target of other parameters, some beyond LEAF's constraints (alpha 1.3,
    root 0.7): the loss falls, every weight of every band changes, alpha is pushed past 1, and the output is LEAF's
    with min(alpha, 1), max(root, 1) and the coefficient clipped to [0, 1]."""
    rng = np.random.default_rng(7)
    x = (10.0 ** rng.uniform(-1.0, 2.0, (4, 40, 6, 1))).astype("float32")
    alpha_t, delta_t = np.array([1.3, 1.3, 0.7, 0.7, 0.9, 0.9]), np.array([0.5, 1.0, 3.0, 1.5, 0.8, 2.5])
    root_t, smooth_t = np.array([0.7, 1.5, 3.0, 2.5, 1.2, 2.0]), np.array([0.3, 0.2, 0.01, 0.1, 0.6, 0.05])
    target = ((x[..., 0] / (1e-6 + _smoothing_reference(x[..., 0], smooth_t, x[:, 0, :, 0])) ** alpha_t + delta_t)
              ** (1 / root_t) - delta_t ** (1 / root_t))[..., None].astype("float32")
    layer = kapre.PCEN(learnable=True, data_format="channels_last")
    model = keras.Sequential([keras.Input((40, 6, 1)), layer])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    before = [np.array(w) for w in layer.get_weights()]
    loss_before = float(np.mean((to_numpy(model(x)) - target) ** 2))
    model.fit(np.tile(x, (30, 1, 1, 1)), np.tile(target, (30, 1, 1, 1)), batch_size=4, epochs=1, shuffle=False,
              verbose=0)
    after = layer.get_weights()
    loss_after = float(np.mean((to_numpy(model(x)) - target) ** 2))
    assert loss_after < 0.7 * loss_before, (loss_before, loss_after)  # 0.58 on every backend
    for name, old, new in zip(("alpha", "delta", "root", "smooth"), before, after, strict=True):
        assert np.all(np.isfinite(new)), name
        assert np.all(new != old), f"{name} did not change everywhere: {old} -> {new}"
    alpha, delta, root, smooth = (np.asarray(w, "float64") for w in after)
    assert alpha.max() > 1.0, alpha  # pushed past the constraint; the forward pass holds it at 1
    expected = _leaf_pcen(x[..., 0], alpha, delta, root, smooth, 1e-6)
    _assert_relative(to_numpy(layer(x))[..., 0], expected, LEAF_RTOL, "after training")


def test_weight_gradients_equal_finite_differences_and_are_finite_on_silence():
    """d sum(PCEN(x)) / d (alpha, delta, root, smooth) per band, against central differences of the float64
    transcription of LEAF (1e-3 of the largest); on silence (zeros) every gradient is finite."""
    rng = np.random.default_rng(8)
    x = (10.0 ** rng.uniform(-2.0, 2.0, (1, 40, 5, 1))).astype("float32")
    layer = kapre.PCEN(learnable=True, data_format="channels_last")
    layer.build(x.shape)
    weights = [rng.uniform(0.6, 0.95, 5), rng.uniform(0.5, 2.5, 5), rng.uniform(1.2, 3.0, 5),
               rng.uniform(0.05, 0.6, 5)]
    layer.set_weights(weights)
    grads = _weight_gradients(layer, x)
    for index, grad in enumerate(grads):
        numeric = np.empty(5)
        for band in range(5):
            step = 1e-6 * max(1.0, abs(weights[index][band]))
            shifted = []
            for sign in (1.0, -1.0):
                w = [np.array(v, "float64") for v in weights]
                w[index][band] += sign * step
                shifted.append(_leaf_pcen(x[..., 0], *w, 1e-6).sum())
            numeric[band] = (shifted[0] - shifted[1]) / (2 * step)
        np.testing.assert_allclose(grad, numeric, rtol=GRADIENT_RTOL, atol=GRADIENT_RTOL * np.abs(numeric).max(),
                                   err_msg=("alpha", "delta", "root", "smooth")[index])
    for grad in _weight_gradients(layer, np.zeros_like(x)):  # (the input's gradient there: the harness)
        assert np.all(np.isfinite(grad))


def test_input_gradient_is_finite_on_silence():
    """The branches of the formula at x = 0 that the harness' cases do not take (it checks the defaults and bias=0
    with power=0.25 on silence): power=0 (log1p) and bias=0 with power=1, on silence and a half-silent input,
    one compiled gradient on JAX (eager JAX compiles every operation of a gradient: seconds)."""
    x = np.zeros((2, 40, 4, 1), "float32")
    x[1, 20:] = 10.0 ** np.random.default_rng(9).uniform(-3, 3, (20, 4, 1))  # example 0 silent, 1 half silent

    def both(v):
        return (_functional_pcen(v, {"power": 0.0})[0] + _functional_pcen(v, {"bias": 0.0, "power": 1.0})[0])

    if BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        grad = np.asarray(jax.jit(jax.grad(lambda v: jnp.sum(both(v))))(x))
    else:
        grad = gradient(both, x)
    assert np.all(np.isfinite(grad)) and np.abs(grad[1]).max() > 0


# -- inputs and arguments ---------------------------------------------------------------------------------------


def test_negative_values_count_as_zero_and_nan_spreads_in_its_band_only():
    x = _spectrogram(seed=10)  # the grid's shape: eager JAX has compiled its operations
    signs = np.where(np.random.default_rng(11).random(x.shape) < 0.3, -1.0, 1.0)
    negative = (x * signs).astype("float32")
    out = to_numpy(functional.pcen(negative, 0.1, axis=1)[0])
    _assert_relative(out, _librosa(np.maximum(negative, 0.0), b=0.1)[0], LIBROSA_RTOL, "negatives as zeros")
    negative[0, 5, 2, 0] = np.nan
    out = to_numpy(functional.pcen(negative, 0.1, axis=1)[0])
    assert np.isnan(out[0, 5:, 2, 0]).all()  # the smoother carries it on
    others = np.ones(out.shape, bool)
    others[0, :, 2] = False  # the blocked scan's products spread it over its band, before it too (documented)
    assert np.isfinite(out[others]).all()


@pytest.mark.parametrize("kwargs, error, fragment", [
    ({"gain": -0.1}, ValueError, "gain=-0.1"),
    ({"bias": -1.0}, ValueError, "bias=-1.0"),
    ({"power": -0.5}, ValueError, "power=-0.5"),
    ({"time_constant": 0.0}, ValueError, "time_constant=0.0"),
    ({"eps": 0.0}, ValueError, "eps=0.0"),
    ({"eps": 1e-40}, ValueError, "eps=1e-40"),
    ({"smooth_coef": 1.5}, ValueError, "smooth_coef=1.5"),
    ({"smooth_coef": "0.1"}, TypeError, "smooth_coef='0.1'"),
    ({"sr": 0}, ValueError, "sr=0"),
    ({"hop_length": 0}, ValueError, "hop_length=0"),
    ({"hop_length": 10.5}, TypeError, "hop_length=10.5"),
    ({"max_size": 0}, ValueError, "max_size=0"),
    ({"learnable": "yes"}, TypeError, "learnable='yes'"),
    ({"per_band": 1}, TypeError, "per_band=1"),
    ({"return_state": None}, TypeError, "return_state=None"),
    ({"data_format": "nhwc"}, ValueError, "data_format='nhwc'"),
    ({"learnable": True, "power": 0.0}, ValueError, "power=0.0"),
    ({"learnable": True, "bias": 0.0}, ValueError, "bias=0.0"),
], ids=lambda v: str(v) if isinstance(v, dict) else "")
def test_invalid_arguments_name_the_argument(kwargs, error, fragment):
    with pytest.raises(error, match=fragment.replace("(", r"\(").replace(".", r"\.")):
        kapre.PCEN(**kwargs)


def test_bad_inputs():
    layer = kapre.PCEN(data_format="channels_last")
    with pytest.raises(ValueError, match=r"4-D input .* shape \(2, 10, 5\)"):
        layer(np.ones((2, 10, 5), "float32"))
    with pytest.raises(TypeError, match="complex"):
        layer.compute_output_spec(keras.KerasTensor((2, 10, 5, 1), dtype="complex64"))
    with pytest.raises(ValueError, match=r"initial_state must be shaped as one frame of x, \(2, 5, 1\)"):
        layer(np.ones((2, 10, 5, 1), "float32"), initial_state=np.ones((2, 6, 1), "float32"))
    learnable = kapre.PCEN(learnable=True, data_format="channels_last")
    learnable(np.ones((1, 4, 5, 1), "float32"))
    with pytest.raises(ValueError, match="built for 5 frequency bands"):
        learnable(np.ones((1, 4, 6, 1), "float32"))
    with pytest.raises(ValueError, match="static size"):
        kapre.PCEN(learnable=True, data_format="channels_last").build((None, None, None, 1))
    with pytest.raises(ValueError, match="max_axis"):
        functional.pcen(np.ones((1, 4, 5, 1), "float32"), 0.1, max_size=3)
    with pytest.raises(ValueError, match=r"coef must be in \[0, 1\]"):
        functional.exponential_smoothing(np.ones((1, 4, 5), "float32"), 1.5)
    with pytest.raises(ValueError, match="method must be one of"):
        functional.exponential_smoothing(np.ones((1, 4, 5), "float32"), 0.5, method="loop")


def test_symbolic_shapes_and_config_with_state():
    layer = kapre.PCEN(return_state=True, learnable=True, per_band=False, data_format="channels_first")
    spec = keras.Input((2, None, 7))
    out, state = layer(spec, initial_state=keras.Input((2, 7)))
    assert tuple(out.shape) == (None, 2, None, 7) and tuple(state.shape) == (None, 2, 7)
    assert layer.compute_output_shape((3, 2, 9, 7)) == ((3, 2, 9, 7), (3, 2, 7))
    config = layer.get_config()
    assert config["return_state"] is True and config["smooth_coef"] is None and config["max_size"] == 1
    assert kapre.PCEN.from_config(config).get_config() == config
    assert kapre.PCEN().frame_locality is None  # causal: no locality of kapre._layer says so
