"""The few operations that need the backend itself, isolated here.

``keras.ops.rfft`` returns a (real, imag) pair, so a complex spectrum built from it is split and joined again
(two extra full-size copies per call); the backends' own FFTs return the complex tensor directly. Constants are
created outside any trace (``tf.init_scope``), so a layer built inside a ``tf.function`` does not capture a
graph tensor. Everything else in kapre uses ``keras.ops`` only.
"""

from __future__ import annotations

import numpy as np
from keras import backend as keras_backend
from keras import ops


def backend_name() -> str:
    return keras_backend.backend()


def rfft(x, n_fft: int):
    """One-sided FFT of the last axis, zero-padded (or cropped) to ``n_fft``; returns a complex tensor."""
    name = backend_name()
    if name == "tensorflow":
        import tensorflow as tf

        return tf.signal.rfft(x, fft_length=[n_fft])
    if name == "jax":
        import jax.numpy as jnp

        return jnp.fft.rfft(x, n=n_fft, axis=-1)
    if name == "torch":
        import torch

        return torch.fft.rfft(x, n=n_fft, dim=-1)
    real, imag = ops.rfft(x, fft_length=n_fft)
    return make_complex(real, imag)


def irfft(spectrum, n_fft: int):
    """Inverse of :func:`rfft`: a complex ``(..., n_fft // 2 + 1)`` tensor to ``(..., n_fft)`` real samples."""
    name = backend_name()
    if name == "tensorflow":
        import tensorflow as tf

        return tf.signal.irfft(spectrum, fft_length=[n_fft])
    if name == "jax":
        import jax.numpy as jnp

        return jnp.fft.irfft(spectrum, n=n_fft, axis=-1)
    if name == "torch":
        import torch

        return torch.fft.irfft(spectrum, n=n_fft, dim=-1)
    return ops.irfft((ops.real(spectrum), ops.imag(spectrum)), fft_length=n_fft)


def make_complex(real, imag):
    """A complex tensor from its real and imaginary parts (same float dtype)."""
    return ops.view_as_complex(ops.stack([real, imag], axis=-1))


def constant(array: np.ndarray, dtype: str):
    """A backend tensor holding ``array`` in ``dtype``, created eagerly even when called inside a trace."""
    array = np.asarray(array, dtype=dtype)
    if backend_name() == "tensorflow":
        import tensorflow as tf

        with tf.init_scope():
            return tf.constant(array)
    return ops.convert_to_tensor(array, dtype=dtype)
