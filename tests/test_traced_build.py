"""A layer first called inside the user's compiled function (``jax.jit``, ``tf.function``, ``torch.compile``) is
built inside that trace; its constants (window, filterbank, DCT matrix) must not belong to the trace, or the
next trace (another input shape) fails (JAX raised ``UnexpectedTracerError`` before
``kapre._backend.constant`` created them outside the trace)."""

from __future__ import annotations

import numpy as np
import pytest

import kapre
from tests.helpers import BACKEND, chain, noise, to_numpy

CL = {"input_data_format": "channels_last", "output_data_format": "channels_last"}

CASES = {
    "MelSpectrogram": lambda: kapre.MelSpectrogram(n_fft=256, hop_length=64, sample_rate=8000, n_mels=20, **CL),
    "STFT": lambda: kapre.STFT(n_fft=256, hop_length=64, **CL),
    "STFT-dft": lambda: kapre.STFT(n_fft=256, hop_length=64, engine="dft", **CL),
    "STFT-InverseSTFT": lambda: chain(kapre.STFT(n_fft=256, hop_length=64, **CL),
                                          kapre.InverseSTFT(n_fft=256, hop_length=64, **CL)),
    "ApplyFilterbank-mel": lambda: chain(
        kapre.STFT(n_fft=256, hop_length=64, **CL), kapre.Magnitude(),
        kapre.ApplyFilterbank("mel", {"sample_rate": 8000, "n_freq": 129, "n_mels": 20},
                              data_format="channels_last"),
        kapre.MagnitudeToDecibel(), kapre.LogmelToMFCC(n_mfccs=13),
    ),
    "STFTSpectrogram-psd": lambda: kapre.STFTSpectrogram(mode="psd", frame_length=256, frame_step=64,
                                                         fft_length=256),
    "STFTTflite": lambda: chain(kapre.STFTTflite(n_fft=256, hop_length=64, **CL), kapre.MagnitudeTflite()),
}


def _compile(fn):
    if BACKEND == "jax":
        import jax

        return jax.jit(fn)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    import torch

    return torch.compile(fn, dynamic=False)


def _inputs(batch, length, seed):
    x = noise((batch, length, 1), seed=seed)
    if BACKEND == "torch":
        import torch

        return torch.from_numpy(x)
    return x


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_call_inside_a_compiled_function_then_another_shape(name):
    layer = CASES[name]()
    compiled = _compile(lambda x: layer(x))
    first = to_numpy(compiled(_inputs(2, 2000, 1)))
    second_input = _inputs(3, 2500, 2)
    second = to_numpy(compiled(second_input))  # a second trace: the constants of the first must still work
    assert first.shape[0] == 2 and second.shape[0] == 3
    eager = to_numpy(layer(second_input))
    np.testing.assert_allclose(second, eager, rtol=1e-5, atol=1e-4 * max(1.0, float(np.abs(eager).max())))
