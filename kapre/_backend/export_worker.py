"""The child process of :mod:`kapre._backend.export_jax`: load a ``.keras`` model under TensorFlow and export it.

``python -m kapre._backend.export_worker onnx|litert MODEL.keras OUTPUT OPSET [MODULE ...]``, with
``KERAS_BACKEND=tensorflow``; the modules define the model's own layer classes.
"""

from __future__ import annotations

import importlib
import sys


def main(argv: list[str]) -> int:
    kind, model_path, output, opset, *modules = argv
    for module in modules:
        importlib.import_module(module)
    import keras

    import kapre  # noqa: F401  (registers kapre's layers for deserialization)
    from kapre import export

    model = keras.saving.load_model(model_path, compile=False)
    if kind == "onnx":
        export.to_onnx(model, output, opset=int(opset) or None)
    else:
        export.to_litert(model, output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
