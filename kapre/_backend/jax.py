"""JAX's implementation of the backend interface (:mod:`kapre._backend`).

``jnp.fft`` returns the complex tensor directly. Constants are created outside any trace
(``jax.ensure_compile_time_eval``): a layer first called inside the user's ``jax.jit`` would otherwise hold a
tracer, and the next trace (another input shape) would fail on it with ``UnexpectedTracerError``. Keras computes
some float64 operations in float32 under JAX (``matmul``, ``arctan2``); ``jnp``'s own keep the dtype.
"""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import keras
import numpy as np
from keras import ops

from kapre._backend._interface import INTERFACE
from kapre._backend.generic import MATMUL_WIDTH_MULTIPLE as MATMUL_WIDTH_MULTIPLE
from kapre._backend.generic import fused_power_tail as fused_power_tail
from kapre._backend.generic import magnitude as magnitude
from kapre._backend.generic import max_frame_chunks as max_frame_chunks
from kapre._backend.generic import maximum as maximum
from kapre._backend.generic import minimum as minimum
from kapre._backend.generic import overlap_add as overlap_add
from kapre._backend.generic import parts as parts
from kapre._backend.generic import reduce_max as reduce_max
from kapre._backend.generic import reduce_min as reduce_min
from kapre._backend.generic import windowed_transforms

__all__ = list(INTERFACE)

NAME = "jax"

# kapre.functional.map_frame_chunks runs the chunks in a compiled loop (lax.map) rather than unrolled: XLA:CPU
# schedules unrolled chunks as it likes, so their intermediates leave the cache; in a loop each chunk is finished
# before the next starts. Measured (jax.jit, 2 CPU cores, log-mel, ms): 64 x 4 s 42-48 -> 25-26, 8 x 16 s 12-15 ->
# 10-12, 64 x 1 s and 8 x 4 s unchanged; W1 (16 x 10 s, n_fft 2048) 51-58 -> 31-33.
LOOPS_OVER_FRAME_CHUNKS = True


def rfft(x, n_fft: int):
    return jnp.fft.rfft(x, n=n_fft, axis=-1)


def place_input(x):
    """As it is: JAX places an array on the device its computation runs on."""
    return x


def on_accelerator(x) -> bool:
    """True where JAX computes on a GPU or TPU (its default backend: ``x`` may be a tracer, which has no device)."""
    return jax.default_backend() != "cpu"


def float32_precision(x):
    """``jax.default_matmul_precision("highest")`` on a GPU or TPU: JAX computes float32 matmuls and convolutions in
    TF32 (GPU) or bfloat16 passes (TPU) by default there, 3e-4 relative error on an STFT as a DFT matmul; the context
    is read when the layer is traced, so it holds inside the user's ``jax.jit`` too. Nothing on the CPU, which
    computes float32 either way (and whose compiled functions keep their cache keys)."""
    return jax.default_matmul_precision("highest") if on_accelerator(x) else contextlib.nullcontext()


def irfft(spectrum, n_fft: int):
    return jnp.fft.irfft(spectrum, n=n_fft, axis=-1)


def rfft_power(x, n_fft: int):
    spectrum = jnp.fft.rfft(x, n=n_fft, axis=-1)
    return jnp.square(spectrum.real) + jnp.square(spectrum.imag)


def frame(x, frame_length: int, hop_length: int):
    """Each frame a ``dynamic_slice`` (``vmap``: a gather that XLA feeds straight into the FFT, as
    ``jax.scipy.signal.stft``), where the reshape-and-concatenate framing costs an extra pass. Needs a static
    length of at least ``frame_length``."""
    starts = jnp.arange(0, x.shape[-1] - frame_length + 1, hop_length)

    def one_frame(start):
        return jax.lax.dynamic_slice_in_dim(x, start, frame_length, axis=-1)

    return jax.vmap(one_frame, out_axes=-2)(starts)


windowed_rfft, windowed_overlap_add = windowed_transforms(rfft, irfft)


def matmul(x1, x2):
    """``jnp.matmul``: keeps float64 (with x64 enabled) where ``keras.ops.matmul`` follows JAX's default types.
    Keras variables (a trainable kernel) are converted first: JAX no longer takes ``__jax_array__`` objects."""
    return jnp.matmul(ops.convert_to_tensor(x1), ops.convert_to_tensor(x2))


def arctan2(y, x):
    return jnp.arctan2(ops.convert_to_tensor(y), ops.convert_to_tensor(x))


def make_complex(real, imag):
    return jax.lax.complex(real, imag)


def constant(array: np.ndarray, dtype: str):
    with jax.ensure_compile_time_eval():
        return ops.convert_to_tensor(np.asarray(array, dtype=dtype), dtype=dtype)


initial_value = constant  # a weight's initial value: a concrete array, no tracer


def call_compiled_when_eager(owner, fn, x, static_shapes: bool = False):
    """``fn(x)``; called eagerly (not under a trace), as one cached ``jax.jit`` computation (eager JAX runs op by
    op: W1 log-mel 3.0x -> 1.0x the compiled time). The function is cached on ``owner`` (outside Keras' attribute
    tracking)."""
    if isinstance(x, jax.core.Tracer):
        return fn(x)
    cache = owner.__dict__.setdefault("_kapre_compiled_calls", {})
    compiled = cache.get(fn.__name__)
    if compiled is None:
        compiled = cache[fn.__name__] = jax.jit(fn)
    return compiled(x)


def compile_function(fn):
    """``jax.jit(fn)``: eager JAX compiles every operation for every new shape."""
    return jax.jit(fn)


def compile_step(fn, variables=()):
    """``jax.jit(fn)``: a streaming step, traced once per chunk shape. The Keras ``variables`` that ``fn`` reads
    (trainable kernels, PCEN's parameters) go in as arguments, so the compiled step follows later training or
    ``set_weights`` instead of keeping the values it was traced with."""
    variables = list(variables)
    if not variables:
        return jax.jit(fn)

    def stateless(values, *args):
        with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
            return fn(*args)

    compiled = jax.jit(stateless)
    return lambda *args: compiled([variable.value for variable in variables], *args)


def trace_shapes(fn, example) -> None:
    """``fn`` traced abstractly on ``example``'s shape (``jax.eval_shape``): nothing computed or compiled."""
    jax.eval_shape(fn, jax.ShapeDtypeStruct(example.shape, example.dtype))


def device_names() -> list[str]:
    return [f"{d.platform}:{d.id} ({getattr(d, 'device_kind', '')})" for d in jax.devices()]
