"""Export through TensorFlow in a child process: JAX's routes, and PyTorch's to LiteRT (:mod:`kapre.export`).

jax2onnx (Keras' ``format='onnx'`` on JAX) and jax2tf trace with symbolic batch and length axes, and kapre's framing
(a static slice per hop-sized column) and chunk plans are written for static shapes, which those traces cannot
decide; litert-torch 0.10 lowers no free axis at all (``Lowering not found: floordiv``, a reshape or broadcast with
a free size: "shape must have every element be nonnegative"). kapre's layers are backend-independent and
serializable, so the model is saved (``.keras``, its weights included) and traced by TensorFlow in a child process
(``KERAS_BACKEND=tensorflow``), whose SavedModel keeps the batch and length axes free; tf2onnx and
``TFLiteConverter`` take it from there (:mod:`kapre._backend.export_tensorflow`). The modules that define the
model's layer classes are imported in the child first, so a model with the user's own registered layers exports too
(a class defined in ``__main__`` cannot be found there: define it in a module).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile


def _layer_modules(model) -> list[str]:
    modules = {type(layer).__module__ for layer in model._flatten_layers(include_self=True, recursive=True)}
    # kapre's own too: `import kapre` leaves some out (kapre.streaming's step layer)
    return sorted(m for m in modules if not m.startswith("keras.") and m != "__main__")


def in_tensorflow(model, path: str, kind: str, opset: int | None) -> None:
    with tempfile.TemporaryDirectory() as directory:
        saved = os.path.join(directory, "model.keras")
        model.save(saved)
        command = [sys.executable, "-m", "kapre._backend.export_worker", kind, saved, path, str(opset or 0),
                   *_layer_modules(model)]
        env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
        done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        from kapre._backend._export_error import ExportError

        raise ExportError(f"The TensorFlow export of the model failed:\n{done.stderr.strip()[-3000:]}")


def to_onnx(model, path: str, input_signature, opset: int | None = None) -> None:
    in_tensorflow(model, path, "onnx", opset)


def to_litert(model, path: str, input_signature) -> None:
    in_tensorflow(model, path, "litert", None)
