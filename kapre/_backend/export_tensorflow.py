"""TensorFlow's export routes (:mod:`kapre.export`): a SavedModel with Keras' own signature (free batch and length
axes), then tf2onnx from the SavedModel for ONNX and ``TFLiteConverter`` (builtin ops only) for LiteRT.

tf2onnx reads the SavedModel rather than Keras' ``format='onnx'`` (``tf2onnx.convert.from_function``), which
leaves the constants a function captures (kapre's filterbanks, DFT kernels) as extra graph inputs; the SavedModel
loader folds them into the graph.
"""

from __future__ import annotations

import json
import tempfile

from kapre._backend.litert_runtime import INPUT_NAMES_KEY


def saved_model(model, directory: str, input_signature) -> str:
    model.export(directory, format="tf_saved_model", verbose=False, input_signature=input_signature)
    return directory


def to_onnx(model, path: str, input_signature, opset: int | None = None) -> None:
    import tf2onnx

    with tempfile.TemporaryDirectory() as directory:
        saved_model(model, directory, input_signature)
        graph_def, inputs, outputs, renamed = tf2onnx.tf_loader.from_saved_model(
            directory, None, None, return_tensors_to_rename=True
        )
    tf2onnx.convert.from_graph_def(graph_def, input_names=inputs, output_names=outputs, opset=opset,
                                   tensors_to_rename=renamed, output_path=path)


def litert_flatbuffer(saved_model_dir: str) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


def to_litert(model, path: str, input_signature) -> None:
    with tempfile.TemporaryDirectory() as directory:
        flatbuffer = litert_flatbuffer(saved_model(model, directory, input_signature))
    with open(path, "wb") as file:
        file.write(with_metadata(flatbuffer, INPUT_NAMES_KEY, json.dumps([x.name for x in model.inputs]).encode()))


def with_metadata(flatbuffer: bytes, key: str, value: bytes) -> bytes:
    """The flatbuffer with a metadata entry ``key`` holding ``value`` (the SavedModel signature orders the inputs by
    name; :func:`kapre.export.run_litert` reads the model's order from it)."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    buffer = schema.BufferT()
    buffer.data = list(value)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = key, len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
