"""Every registered layer (tests/layer_registry.py) first called inside a ``tf.data`` ``map`` gives its eager output.

The layer object is created outside the pipeline and never called before the ``map``, so its first call, and its
``build``, happen while tf.data traces the map function. Then the same object is called eagerly, and a second one
built eagerly from the same factory must hold the same weights.

- TensorFlow: the layer's ops and its weights are created inside the tf.data graph. TensorFlow lifts each
  variable's initial value out of that graph; a weight whose initial value was an eager constant failed with
  ``UnliftableError`` (kapre.STFTSpectrogram, STFT(engine='dft'), the 0.2 and DAS layers: issue 23).
- JAX, PyTorch: kapre's documented bridge (:mod:`kapre.pipeline`): a kapre layer mapped directly, any other model
  through :func:`kapre.pipeline.tf_data_function`, built by its first (symbolic) call there and run eagerly through
  one ``tf.numpy_function``; the same comparisons hold.

One batch of two short examples per case, on every backend: no case is skipped.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from kapre import pipeline
from kapre._layer import KapreLayer
from tests.helpers import BACKEND, to_numpy
from tests.layer_registry import CASES
from tests.test_layer_harness import _input, _scale

RTOL = 1e-6  # relative to the output's largest magnitude: a tf.data graph vs eager ops (measured <= 4e-7)


def _map_function(target):
    """What a user maps: the layer itself on TensorFlow (its ops join the graph); under JAX / PyTorch a kapre
    layer bridges itself, any other Keras model goes through ``tf_data_function``."""
    if BACKEND == "tensorflow" or isinstance(target, KapreLayer):
        return lambda x: target(x)
    return pipeline.tf_data_function(target)


def _mapped(target, x: np.ndarray) -> np.ndarray:
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(len(x)).map(_map_function(target))
    batches = [np.asarray(batch) for batch in dataset]
    assert len(batches) == 1
    return batches[0]


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in CASES])
def test_first_built_inside_a_tf_data_map_equals_eager(case):
    x = _input(case, batch=2, seed=11)
    target = case.factory()
    mapped = _mapped(target, x)
    eager = to_numpy(target(x))
    assert mapped.shape == eager.shape and mapped.dtype == eager.dtype, (mapped.shape, eager.shape)
    if eager.dtype.kind in "iu":
        np.testing.assert_array_equal(mapped, eager)
    else:
        np.testing.assert_allclose(mapped, eager, rtol=RTOL, atol=RTOL * _scale(eager))
    if case.is_model:
        return  # a model's random initializers (the Conv2D of get_frequency_aware_conv2d) differ between two builds
    reference = case.factory()
    reference(x)
    for built_in_map, built_eagerly in zip(target.weights, reference.weights, strict=True):
        assert built_in_map.path.split("/")[-1] == built_eagerly.path.split("/")[-1]
        np.testing.assert_array_equal(to_numpy(built_in_map), to_numpy(built_eagerly))


@pytest.mark.parametrize("fft_length", [512, 715])
def test_the_issue_report(fft_length):
    """Issue 23's reproduction: ``Dataset.from_tensor_slices(...).batch(2).map(layer)``, the layer itself mapped."""
    import kapre

    layer = kapre.STFTSpectrogram(frame_length=256, frame_step=128, fft_length=fft_length)
    x = np.random.default_rng(0).random((4, 16000, 1)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(2).map(layer)
    mapped = np.concatenate([np.asarray(batch) for batch in dataset])
    eager = to_numpy(layer(x))
    np.testing.assert_allclose(mapped, eager, rtol=RTOL, atol=RTOL * _scale(eager))
    assert [w.path.split("/")[-1] for w in layer.weights] == ["real_kernel", "imag_kernel"]
    assert keras.backend.standardize_dtype(layer.weights[0].dtype) == "float32"


def test_internal_state_streaming_front_end_first_built_inside_a_tf_data_map():
    """An internal-state streaming front-end (its state variables made at the first call) first called inside a
    ``tf.data`` map. TensorFlow: the state's initial values are built where TensorFlow can lift them (this failed with
    ``UnliftableError``), and the batches, mapped in order, equal a fresh twin fed the same chunks eagerly (1e-6 of
    the largest magnitude). JAX, PyTorch: the bridge's documented error (docs/data_pipelines.md)."""
    from kapre import MelSpectrogram
    from kapre.streaming import to_streaming

    def front_end():
        return to_streaming(MelSpectrogram(n_fft=512, win_length=400, hop_length=160, sample_rate=16000, n_mels=64,
                                           input_data_format="channels_last", output_data_format="channels_last"))

    chunks = np.random.default_rng(5).uniform(-1.0, 1.0, (3, 2, 1600, 1)).astype("float32")
    mapped_layer = front_end()
    dataset = tf.data.Dataset.from_tensor_slices(chunks).map(_map_function(mapped_layer))
    if BACKEND != "tensorflow":  # the bridge runs it eagerly: a frame count that changes per chunk (documented)
        with pytest.raises(tf.errors.InvalidArgumentError, match="mel_spectrogram_streaming' returned an output"):
            list(dataset)
        return
    mapped = [np.asarray(batch) for batch in dataset]
    eager_layer = front_end()
    eager = [to_numpy(eager_layer(keras.ops.convert_to_tensor(chunk))) for chunk in chunks]
    # eagerly, exactly the frames each chunk completes (8, then 10, 10); under a trace all ceil(1600 / 160) = 10
    # slots, the invalid ones zero (to_streaming's documented behaviour)
    assert [e.shape[1] for e in eager] == [8, 10, 10]
    scale = max(np.abs(e).max() for e in eager)
    for got, expected in zip(mapped, eager, strict=True):
        valid = expected.shape[1]
        assert got.shape == (2, 10, 64, 1)
        np.testing.assert_allclose(got[:, :valid], expected, rtol=0, atol=RTOL * scale)
        assert not got[:, valid:].any()
