"""kapre's front-ends in data pipelines: ``tf.data`` under every Keras backend, and Grain.

A kapre layer, or a :class:`kapre.composed.FrontEnd`, works inside a ``tf.data`` ``map`` under every backend, as
Keras' own preprocessing layers do::

    ds = tf.data.Dataset.from_tensor_slices((waveforms, labels)).batch(32)
    ds = ds.map(lambda x, y: (mel(x), y), num_parallel_calls=tf.data.AUTOTUNE)

- TensorFlow backend: the layer adds TensorFlow ops to the ``map``'s graph.
- JAX, PyTorch (or NumPy) backend: the layer's math is that backend's, which cannot run inside a TensorFlow graph.
  The call becomes one ``tf.numpy_function`` op: tf.data hands each batch to Python as a NumPy array, the layer
  runs eagerly on its backend (its default device; without autograd under PyTorch) and its NumPy result goes back
  into the pipeline with the static shape and dtype of the layer's ``compute_output_spec``. The features are those
  of the layer in a model on the same backend. ``num_parallel_calls`` runs several batches at once (JAX and PyTorch
  release the GIL while they compute).

Any other Keras model (a ``keras.Sequential`` or functional model around kapre layers) calls its layers through
Keras, which cannot take a ``tf.Tensor`` under JAX or PyTorch: map :func:`tf_data_function` of it instead (it also
handles ``(x, y)`` and dict elements and single clips). For Grain, :class:`GrainTransform`. Guide:
``docs/data_pipelines.md``.
"""

from __future__ import annotations

import sys

import keras
import numpy as np

from kapre._backend import data_pipeline

__all__ = ["tf_data_function", "GrainTransform", "apply_to_numpy"]


class _Features:
    """``layer`` applied to one input with (``batched``) or without a batch axis: symbolically (the output spec),
    eagerly to NumPy, or to tensors of the active backend."""

    def __init__(self, layer, batched: bool, device, call_kwargs: dict):
        if not callable(layer):
            raise TypeError(f"Expected a Keras layer or model, received {type(layer).__name__}.")
        self.layer, self.batched, self.device, self.call_kwargs = layer, bool(batched), device, dict(call_kwargs)
        self.who = f"{type(layer).__name__} {getattr(layer, 'name', '')!r}"

    def _unbatch(self, outputs, take):
        return outputs if self.batched else keras.tree.map_structure(take, outputs)

    def spec(self, input_spec):
        if not self.batched:
            input_spec = keras.KerasTensor((None, *input_spec.shape), dtype=input_spec.dtype)
        with data_pipeline.host_scope(self.device):  # a first call builds the layer: its weights on `device`
            outputs = self.layer(input_spec, **self.call_kwargs)
        return self._unbatch(outputs, lambda s: keras.KerasTensor(tuple(s.shape[1:]), dtype=s.dtype))

    def tensors(self, x):
        """The active backend's tensors (also a TensorFlow graph's, under the TensorFlow backend)."""
        if not self.batched:
            x = keras.ops.expand_dims(x, 0)
        return self._unbatch(self.layer(x, **self.call_kwargs), lambda t: t[0])

    def numpy(self, x):
        x = np.asarray(x)
        if not self.batched:
            x = x[None]
        with data_pipeline.host_scope(self.device):
            outputs = self.layer(x, **self.call_kwargs)
        outputs = keras.tree.map_structure(lambda t: np.asarray(keras.ops.convert_to_numpy(t)), outputs)
        return self._unbatch(outputs, lambda a: a[0])


def _apply_to_element(features, element: tuple, key, output_key):
    """``features`` applied to a pipeline element: ``x``, ``(x, y, ...)`` (the first component) or a dict
    (``element[key]``, written to ``output_key``)."""
    if key is not None:
        if len(element) != 1 or not isinstance(element[0], dict):
            raise TypeError(f"key={key!r} expects dict elements, received {tuple(type(e).__name__ for e in element)}.")
        if key not in element[0]:
            raise KeyError(f"key={key!r} is not in the element (its keys: {sorted(element[0])}).")
        result = dict(element[0])
        result[key if output_key is None else output_key] = features(result[key])
        return result
    if len(element) == 1:
        return features(element[0])
    return (features(element[0]), *element[1:])


def tf_data_function(layer, *, key=None, output_key=None, batched=True, device=None, **call_kwargs):
    """A function for ``tf.data.Dataset.map`` that applies ``layer`` (a kapre layer, or any Keras layer or model
    such as a ``keras.Sequential`` of kapre layers) under the active backend.

    Under TensorFlow the layer's ops join the ``map``'s graph. Under JAX and PyTorch the whole ``layer`` runs as one
    ``tf.numpy_function``: eagerly on its backend on each batch's NumPy value (see the module's docstring); the
    result has the static shape and dtype of the layer's output spec.

    Args:
        layer: the front-end: a Keras layer or model taking a waveform batch.
        key: for dict elements, the key of the audio; the features replace it (or go to ``output_key``). Without
            ``key``, an element ``x`` becomes the features and an element ``(x, y, ...)`` becomes
            ``(features, y, ...)``.
        output_key: with ``key``, where the features go (default: ``key``).
        batched: ``True`` (default) for a dataset of batches (map after ``batch`` / ``padded_batch``); ``False`` for
            single clips (map before batching, e.g. clips of different lengths): a batch axis is added for the call
            and removed from the result.
        device: under JAX / PyTorch, a device for the eager call (``"cpu"`` keeps an accelerator to the model); the
            layer's weights must live there (build it under ``keras.device(device)``, or let its first call here
            build it). Default: the backend's default device. Ignored under TensorFlow (tf.data runs on the CPU).
        **call_kwargs: keyword arguments of each call (``training=True`` for augmentation layers).

    Returns:
        ``fn(*element)`` for ``dataset.map(fn, num_parallel_calls=...)``.

    Example:
        >>> import numpy as np, tensorflow as tf, keras, kapre
        >>> from kapre.pipeline import tf_data_function
        >>> front_end = keras.Sequential([keras.Input((None, 1)), kapre.STFT(n_fft=512, hop_length=256),
        ...                               kapre.Magnitude(), kapre.MagnitudeToDecibel()])
        >>> ds = tf.data.Dataset.from_tensor_slices((np.zeros((4, 8000, 1), 'float32'), [0, 1, 0, 1])).batch(2)
        >>> ds = ds.map(tf_data_function(front_end), num_parallel_calls=tf.data.AUTOTUNE)
        >>> ds.element_spec[0].shape.as_list()
        [None, 30, 257, 1]
    """
    features = _Features(layer, batched, device, call_kwargs)
    if keras.backend.backend() == "tensorflow":
        apply = features.tensors
    else:
        name = data_pipeline.graph_name(layer)
        fix = "batch the dataset before the map, or pass batched=False" if batched else "pass batched=True for batches"
        hint = f"{features.who} in a tf.data map with batched={bool(batched)}: {fix}."

        def apply(x):
            return data_pipeline.bridge(x, features.spec, features.numpy, features.who, name, hint)

    def fn(*element):
        return _apply_to_element(apply, element, key, output_key)

    return fn


def apply_to_numpy(layer, x, *, batched=True, device=None, **call_kwargs):
    """``layer`` applied eagerly to the NumPy array ``x`` on the active backend, returning NumPy (without autograd
    under PyTorch; under ``keras.device(device)`` when given); ``batched=False``: ``x`` is one clip."""
    return _Features(layer, batched, device, call_kwargs).numpy(x)


class GrainTransform:
    """A Grain ``MapTransform`` applying a kapre front-end (any Keras layer or model) to NumPy elements on the
    active backend, returning NumPy.

    ``map(element)`` takes ``x``, ``(x, y, ...)`` (the first component) or, with ``key``, a dict; as for
    :func:`tf_data_function`, ``batched=True`` (default) expects batches (``ds.batch(n).map(transform)``) and
    ``batched=False`` single clips; ``device`` as there (Grain's worker processes are best kept to ``"cpu"``).
    When Grain is imported the class is registered as a ``grain.transforms.Map``, so that it also goes into a
    ``grain.DataLoader``'s operations; a ``grain.MapDataset`` / ``IterDataset`` ``map`` takes it either way::

        ds = grain.MapDataset.source(clips).batch(16).map(kapre.pipeline.GrainTransform(mel))
    """

    def __init__(self, layer, *, key=None, output_key=None, batched=True, device=None, **call_kwargs):
        self.layer, self.key, self.output_key = layer, key, output_key
        self.batched, self.device, self.call_kwargs = batched, device, call_kwargs
        self._features = _Features(layer, batched, device, call_kwargs)
        _register_with_grain()

    def map(self, element):
        if isinstance(element, tuple) and self.key is None:  # (x, y, ...)
            return (self._features.numpy(element[0]), *element[1:])
        return _apply_to_element(self._features.numpy, (element,), self.key, self.output_key)

    __call__ = map

    def __getstate__(self):  # for Grain's worker processes: the layer pickles as Keras does
        return {"layer": self.layer, "key": self.key, "output_key": self.output_key, "batched": self.batched,
                "device": self.device, "call_kwargs": self.call_kwargs}

    def __setstate__(self, state):
        self.__init__(state.pop("layer"), **{k: state[k] for k in ("key", "output_key", "batched", "device")},
                      **state["call_kwargs"])

    def __repr__(self):
        return f"GrainTransform({self._features.who}, key={self.key!r}, batched={self.batched})"


def _register_with_grain():
    """Registers :class:`GrainTransform` as a virtual subclass of ``grain.transforms.Map`` once Grain is imported
    (``grain.DataLoader`` checks ``isinstance``); Grain is not imported here."""
    grain = sys.modules.get("grain")
    transforms = getattr(grain, "transforms", None) if grain is not None else None
    base = getattr(transforms, "Map", None)
    if base is not None and not issubclass(GrainTransform, base):
        base.register(GrainTransform)
