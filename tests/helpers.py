"""Shared test utilities: conversion to NumPy, seeded signals, save/load round trips, gradients.

Every test module runs under the backend chosen by KERAS_BACKEND (run_tests.py runs the suite once per backend).
"""

from __future__ import annotations

import contextlib
import os

import keras
import numpy as np

BACKEND = keras.backend.backend()


def to_numpy(x) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x))


def noise(shape, seed: int = 0, dtype: str = "float32") -> np.ndarray:
    """Uniform noise in [-1, 1): a reproducible stand-in for audio."""
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape).astype(dtype)


def tone_mix(length: int, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A few sinusoids plus a little noise: a signal with real spectral structure."""
    t = np.arange(length) / sample_rate
    rng = np.random.default_rng(seed)
    signal = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28)) for f in (220.0, 440.0, 1234.5, 3000.0))
    return (0.2 * signal + 0.01 * rng.standard_normal(length)).astype("float32")


def save_and_load(model: keras.Model, tmp_path, custom_objects=None) -> keras.Model:
    """Save ``model`` as .keras and load it back with safe_mode=True."""
    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    return keras.saving.load_model(path, safe_mode=True, custom_objects=custom_objects)


def model_of(layer, input_shape, dtype: str = "float32") -> keras.Model:
    """A functional model holding just ``layer`` (batch dimension left free)."""
    inputs = keras.Input(shape=input_shape, dtype=dtype)
    return keras.Model(inputs, layer(inputs))


def chain(*layers):
    """A callable applying ``layers`` in order (a layer stack without building a model)."""

    def call(x):
        for layer in layers:
            x = layer(x)
        return x

    return call


def gradient(fn, x: np.ndarray) -> np.ndarray:
    """d sum(fn(x)) / dx on the active backend, as a NumPy array."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        xt = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = tf.reduce_sum(fn(xt))
        return tape.gradient(y, xt).numpy()
    if BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        return np.asarray(jax.grad(lambda v: jnp.sum(fn(v)))(jnp.asarray(x)))
    xt = keras.ops.convert_to_tensor(x).requires_grad_(True)  # on Keras' device, as the layers' constants
    fn(xt).sum().backward()
    return to_numpy(xt.grad)


@contextlib.contextmanager
def float64_backend():
    """JAX computes float64 only with x64 enabled; the other backends always do."""
    if BACKEND == "jax":
        import jax

        with jax.enable_x64(True):
            yield
    else:
        yield
