"""The LiteRT interpreter :func:`kapre.export.run_litert` runs a flatbuffer with: ai-edge-litert's, else
TensorFlow's copy (``tf.lite.Interpreter``)."""

from __future__ import annotations


def interpreter(path: str):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            import tensorflow as tf
        except ImportError as error:
            from kapre._backend._export_error import ExportError

            raise ExportError("Running a LiteRT file needs the LiteRT interpreter: pip install ai-edge-litert "
                              "(or tensorflow).") from error
        Interpreter = tf.lite.Interpreter
    return Interpreter(model_path=path)
