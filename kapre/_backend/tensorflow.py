"""TensorFlow's implementation of the backend interface (:mod:`kapre._backend`).

``tf.signal``'s FFTs return the complex tensor directly (``keras.ops.rfft`` returns a (real, imag) pair, so a
complex spectrum built from it is split and joined again: two extra full-size copies). Constants are created
outside any trace (``tf.init_scope``), so a layer built inside a ``tf.function`` does not capture a graph tensor.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from kapre._backend._interface import INTERFACE
from kapre._backend.generic import LOOPS_OVER_FRAME_CHUNKS as LOOPS_OVER_FRAME_CHUNKS
from kapre._backend.generic import MATMUL_WIDTH_MULTIPLE as MATMUL_WIDTH_MULTIPLE
from kapre._backend.generic import float32_precision as float32_precision
from kapre._backend.generic import fusing, windowed_transforms
from kapre._backend.generic import magnitude as magnitude
from kapre._backend.generic import matmul as matmul
from kapre._backend.generic import max_frame_chunks as max_frame_chunks
from kapre._backend.generic import maximum as maximum
from kapre._backend.generic import minimum as minimum
from kapre._backend.generic import overlap_add as overlap_add
from kapre._backend.generic import parts as parts
from kapre._backend.generic import place_input as place_input
from kapre._backend.generic import reduce_max as reduce_max
from kapre._backend.generic import reduce_min as reduce_min
from kapre._backend.generic import trace_shapes as trace_shapes

__all__ = list(INTERFACE)

NAME = "tensorflow"


def rfft(x, n_fft: int):
    """``tf.signal.rfft``; an empty tensor gets its empty result directly (TensorFlow pads a frame shorter than
    ``n_fft`` but rejects an empty one: "RFFT Input dimension ... at least n_fft")."""
    if 0 in x.shape:
        complex_dtype = tf.complex128 if x.dtype == tf.float64 else tf.complex64
        return tf.zeros((*x.shape[:-1], n_fft // 2 + 1), dtype=complex_dtype)
    return tf.signal.rfft(x, fft_length=[n_fft])


def irfft(spectrum, n_fft: int):
    return tf.signal.irfft(spectrum, fft_length=[n_fft])


def rfft_power(x, n_fft: int):
    return _power(rfft(x, n_fft))


def _power(spectrum):
    return tf.math.square(tf.math.real(spectrum)) + tf.math.square(tf.math.imag(spectrum))


def fused_power_tail(tail):
    """``spectrum -> tail(|spectrum| ** 2)`` as one XLA cluster (a ``jit_compile`` function) on a machine without
    a GPU; ``None`` where TensorFlow sees a GPU (not measured there).

    In a graph without XLA each op (the real and imaginary parts, their squares, the sum, the filterbank's
    products, the logarithm) writes its full-size result; XLA fuses them into a few loops over the data, while the
    FFT stays TensorFlow's own op (XLA's CPU FFT runs on one thread). Log-mel in a ``tf.function``, alternated
    calls of the layer, 2-core AMD EPYC: W2 (64 x 1 s) 3.86 -> 3.37 ms, W1 (16 x 10 s) 14.5 -> 12.1 ms (AVX-512
    off: 4.23 -> 3.58, 18.4 -> 15.2; benchmarks/README.md). XLA compiles once per
    spectrum shape, so only a spectrum of static, non-empty shape takes the cluster; any other runs ``tail`` op by
    op (a graph traced with a free length: no compilation per length). Taken only where the user opted in
    (:func:`kapre.config.enable_xla_tail`, read through ``fusing()`` when a graph is traced): XLA's first use maps
    its compiler into the process, 60-70 MiB more peak memory on those workloads.
    """
    if _has_gpu():
        return None
    compiled = tf.function(lambda spectrum: tail(_power(spectrum)), jit_compile=True, autograph=False)

    def fused(spectrum):
        if spectrum.shape.is_fully_defined() and spectrum.shape.num_elements():
            return compiled(spectrum)
        return tail(_power(spectrum))

    return fused


def frame(x, frame_length: int, hop_length: int):
    """``tf.signal.frame`` without end padding: one op."""
    return tf.signal.frame(x, frame_length, hop_length, pad_end=False, axis=-1)


windowed_rfft, windowed_overlap_add = windowed_transforms(rfft, irfft)


def arctan2(y, x):
    return tf.math.atan2(y, x)


def make_complex(real, imag):
    """``tf.complex``: ``keras.ops.view_as_complex`` always returns complex64 and its gradient goes through a
    complex-to-float cast that logs a warning on every step."""
    return tf.complex(real, imag)


def constant(array: np.ndarray, dtype: str):
    with tf.init_scope():
        return tf.constant(np.asarray(array, dtype=dtype))


def initial_value(array: np.ndarray, dtype: str):
    """A weight's initial value: inside a graph (a ``tf.data`` map, a ``tf.function``) a constant op of that graph.
    TensorFlow lifts a variable's initial value out of the graph that creates the variable; an eager constant is
    captured there as a placeholder, which it cannot lift (``UnliftableError``; Keras' own initializers also build
    their values in the current graph)."""
    if tf.executing_eagerly():
        return constant(array, dtype)
    return tf.constant(np.asarray(array, dtype=dtype))


def call_compiled_when_eager(owner, fn, x, static_shapes: bool = False):
    """``fn(x)``; called eagerly, as one cached ``tf.function`` (eager TensorFlow runs op by op, each op
    materialising its full-size result: eager W2 log-mel 2.6x -> about 1x the compiled time). The function is
    cached on ``owner`` (outside Keras' attribute tracking). It is traced with shapes relaxed to unknown after a
    few input shapes, unless ``static_shapes`` (for a ``fn`` that needs its input's length): then once per shape."""
    if not tf.executing_eagerly():
        return fn(x)
    cache = owner.__dict__.setdefault("_kapre_compiled_calls", {})
    key = (fn.__name__, fusing())  # a trace holds the fused clusters or not (kapre._backend.op_by_op)
    compiled = cache.get(key)
    if compiled is None:
        compiled = cache[key] = tf.function(fn, reduce_retracing=not static_shapes, autograph=False)
    return compiled(x)


def compile_function(fn):
    """``fn`` itself: kapre's layers that profit compile themselves (:func:`call_compiled_when_eager`)."""
    return fn


def compile_step(fn, variables=()):
    """``fn(chunk, state, *extra)`` (a streaming step: ``state`` a dict of tensors) as one concrete function per
    input signature, compiled by XLA where it can be (else a plain graph), called with flat arguments; it reads
    the ``variables`` at each call. A ``tf.function`` called with a dict spends about 1 ms a call matching its
    arguments; the concrete XLA function takes 0.4 ms for a 16 kHz 64-mel step (2-core CPU)."""
    concrete = {}

    def call(chunk, state, *extra):
        names = list(state)
        values = [tf.convert_to_tensor(state[name]) for name in names]
        arguments = [tf.convert_to_tensor(chunk), *values, *(tf.convert_to_tensor(e) for e in extra)]
        key = (tuple(names), tuple((tuple(a.shape), a.dtype.name) for a in arguments))
        if key not in concrete:
            specs = [tf.TensorSpec(a.shape, a.dtype) for a in arguments]

            out_names = []

            def flat(chunk, *rest):
                features, new_state = fn(chunk, dict(zip(names, rest[: len(names)], strict=True)), *rest[len(names):])
                out_names[:] = list(new_state)
                return (features, *new_state.values())

            function = None
            for jit_compile in (True, False):
                try:
                    candidate = tf.function(flat, autograph=False, jit_compile=jit_compile).get_concrete_function(
                        *specs
                    )
                    candidate(*arguments)  # XLA reports an op it cannot compile at the first call
                except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
                    continue
                function = candidate
                break
            if function is None:
                function = tf.function(flat, autograph=False).get_concrete_function(*specs)
            concrete[key] = (function, out_names)
        function, out_names = concrete[key]
        features, *new_values = function(*arguments)
        return features, dict(zip(out_names, new_values, strict=True))

    return call


def on_accelerator(x) -> bool:
    """True where TensorFlow sees a GPU (it places the layer's ops there by default)."""
    return _has_gpu()


@functools.cache
def _has_gpu() -> bool:
    return bool(tf.config.list_logical_devices("GPU"))


def device_names() -> list[str]:
    return [d.name.replace("/physical_device:", "") for d in tf.config.list_physical_devices()]
