"""kapre's layers in data pipelines: the TensorFlow and PyTorch specifics of :mod:`kapre.pipeline`.

Under the TensorFlow backend a kapre layer called on a symbolic ``tf.Tensor`` (inside a ``tf.data`` ``map`` or a
``tf.function``) adds TensorFlow ops to the graph, like any Keras layer. Under JAX, PyTorch (or NumPy) its math is
``keras.ops`` of that backend, which cannot take a symbolic ``tf.Tensor``: :func:`call_layer_in_tf_graph` (the hook
of :meth:`kapre._layer.KapreLayer.__call__`) bridges the call with ``tf.numpy_function`` instead: the graph gets one
op that hands the tensor's value to Python as a NumPy array, runs the layer eagerly on its own backend and returns
the result as NumPy. The op's static shape and dtype come from the layer's ``compute_output_spec``, so a wrong input
(rank, length, complex audio) fails when ``map`` traces the function, with the layer's own message.

TensorFlow is never imported here: a symbolic tensor exists only if the caller imported it (``sys.modules``).
"""

from __future__ import annotations

import contextlib
import sys

import keras
import numpy as np

_TF_DATA_HINT = "kapre.pipeline.tf_data_function"


def _tf():
    return sys.modules["tensorflow"]


def is_graph_tensor(x) -> bool:
    """Whether ``x`` (or the first of a list or tuple of inputs) is a ``tf.Tensor`` of a graph being traced.

    Cheap for anything else: a type's module name is compared before TensorFlow is consulted."""
    kind = type(x)
    if (kind is list or kind is tuple) and x:
        x = x[0]
        kind = type(x)
    if not kind.__module__.startswith("tensorflow"):
        return False
    tf = sys.modules.get("tensorflow")
    return tf is not None and tf.is_tensor(x) and not tf.executing_eagerly()


def _check_graph_input(x, who: str):
    """A dense tensor of known rank, else a TypeError / ValueError naming ``who`` and what to do."""
    tf = _tf()
    if isinstance(x, (tf.RaggedTensor, tf.SparseTensor)):
        raise TypeError(
            f"{who} in a tf.data pipeline under the {keras.backend.backend()} backend takes dense tensors, received a "
            f"{type(x).__name__}. Batch clips of different lengths with `padded_batch`, or apply the layer to "
            f"each clip before batching ({_TF_DATA_HINT}(layer, batched=False))."
        )
    if not tf.is_tensor(x):
        raise TypeError(f"{who} in a tf.data pipeline: every input must be a tf.Tensor, received {type(x).__name__}.")
    if x.shape.rank is None:
        raise ValueError(
            f"{who} in a tf.data pipeline under the {keras.backend.backend()} backend needs inputs of known rank, "
            f"received a tensor of unknown shape (set it with `tf.ensure_shape` or `x.set_shape`)."
        )


def spec_of(x) -> keras.KerasTensor:
    """The ``KerasTensor`` of a graph tensor's static shape (``None`` where unknown) and dtype."""
    return keras.KerasTensor(tuple(x.shape.as_list()), dtype=x.dtype.name)


@contextlib.contextmanager
def host_scope(device=None):
    """Where a pipeline runs a layer eagerly: under ``keras.device(device)`` when given, and without PyTorch's
    autograd recording (features for a data pipeline need no gradient)."""
    with contextlib.ExitStack() as stack:
        if device is not None:
            stack.enter_context(keras.device(device))
        if keras.backend.backend() == "torch":
            import torch

            stack.enter_context(torch.no_grad())
        yield


def to_numpy(outputs, specs, who: str) -> list[np.ndarray]:
    """The flat NumPy arrays of ``outputs``, each checked against (and cast to) its ``KerasTensor`` spec."""
    flat, flat_specs = keras.tree.flatten(outputs), keras.tree.flatten(specs)
    if len(flat) != len(flat_specs):
        raise ValueError(f"{who} returned {len(flat)} outputs where its output spec declares {len(flat_specs)}.")
    arrays = []
    for value, spec in zip(flat, flat_specs, strict=True):
        array = np.asarray(keras.ops.convert_to_numpy(value))
        declared = tuple(spec.shape)
        if len(declared) != array.ndim or any(
            d is not None and d != n for d, n in zip(declared, array.shape, strict=True)
        ):
            raise ValueError(
                f"{who} returned an output of shape {array.shape} where its output spec declares {declared}."
            )
        arrays.append(array.astype(spec.dtype, copy=False))
    return arrays


def numpy_function(host, inputs, output_spec, name: str, stateful: bool = True):
    """``host(*flat NumPy inputs) -> flat NumPy outputs`` as one ``tf.numpy_function`` op of the graph being traced;
    its outputs get the static shapes and dtypes of ``output_spec`` (a structure of ``KerasTensor``), packed into
    that structure."""
    tf = _tf()
    flat_specs = keras.tree.flatten(output_spec)
    results = tf.numpy_function(
        host, keras.tree.flatten(inputs), [tf.as_dtype(spec.dtype) for spec in flat_specs], stateful=stateful,
        name=name,
    )
    if not isinstance(results, (list, tuple)):
        results = [results]
    for result, spec in zip(results, flat_specs, strict=True):
        result.set_shape(spec.shape)
    return keras.tree.pack_sequence_as(output_spec, list(results))


def bridge(inputs, spec_fn, numpy_fn, who: str, name: str, hint: str | None = None):
    """``numpy_fn`` applied to graph tensors ``inputs`` as one ``tf.numpy_function`` op: ``spec_fn`` maps the
    inputs' ``KerasTensor`` specs to the output spec (raising on a wrong input), ``numpy_fn`` the inputs' NumPy
    values to the outputs (any backend's tensors, converted to NumPy and checked against the spec). ``hint`` is
    added to the ``ValueError`` of a wrong input (default: how to batch)."""
    for x in keras.tree.flatten(inputs):
        _check_graph_input(x, who)
    specs = keras.tree.map_structure(spec_of, inputs)
    try:
        output_spec = spec_fn(specs)
    except ValueError as error:
        if hasattr(error, "add_note"):  # Python 3.11
            shapes = keras.tree.map_structure(lambda spec: spec.shape, specs)
            error.add_note(hint or (
                f"{who} in a tf.data map receives what the dataset yields (shape {shapes}): batch the dataset "
                f"before the map, or map {_TF_DATA_HINT}(layer, batched=False) over single clips."
            ))
        raise

    def host(*arrays):
        return to_numpy(numpy_fn(keras.tree.pack_sequence_as(inputs, list(arrays))), output_spec, who)

    return numpy_function(host, inputs, output_spec, name)


def graph_name(layer) -> str:
    """A name for the bridge op of ``layer`` in the graph."""
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in f"{layer.name}_on_host")


def call_layer_in_tf_graph(layer, inputs, *args, **kwargs):
    """``layer(inputs, *args, **kwargs)`` for symbolic ``tf.Tensor`` inputs under a backend other than TensorFlow:
    one ``tf.numpy_function`` op running the layer eagerly on its backend (see the module's docstring)."""
    who = f"{type(layer).__name__} {layer.name!r}"
    for value in keras.tree.flatten((args, kwargs)):
        if is_graph_tensor(value):
            raise TypeError(
                f"{who} in a tf.data pipeline under the {keras.backend.backend()} backend: only its inputs may be "
                "tensors; pass the other arguments (training=...) as Python values."
            )

    def run(values):
        with host_scope():
            return layer(values, *args, **kwargs)

    # the symbolic call builds the layer here, not in tf.data's threads, and checks the input: a wrong rank or
    # length raises the layer's own error while `map` traces
    return bridge(inputs, lambda specs: layer(specs, *args, **kwargs), run, who, graph_name(layer))
