"""Export a model that starts with a kapre front-end to ONNX or LiteRT, from any backend.

:func:`to_onnx` and :func:`to_litert` trace the model in :func:`export_mode`, where kapre's layers compute with
formulations every converter and runtime carries (:mod:`kapre._backend.portable`): the one-sided DFT as a matmul
with the window folded in (no FFT op: ONNX Runtime's ``DFT`` is slow, tf2onnx, litert-torch and LiteRT's
power-of-two ``RFFT2D`` cannot carry every FFT), complex values held as a trailing real/imaginary axis, framing by
reshapes and slices. The numbers are the layers' own to float32 rounding.

The routes, one per backend (:mod:`kapre._backend.export_tensorflow`, ``export_jax``, ``export_torch``):

==========  ===========================================================  ==============================================
backend     ONNX                                                         LiteRT (builtin ops only, no Flex delegate)
==========  ===========================================================  ==============================================
TensorFlow  SavedModel (Keras' signature), then tf2onnx                  SavedModel, then ``TFLiteConverter``
JAX         the TensorFlow route in a child process (the model saved      the same
            as ``.keras``; :mod:`kapre._backend.export_via_tensorflow`)
PyTorch     ``torch.onnx.export`` (dynamo), ``torch.export.Dim.AUTO``     the TensorFlow route in a child process
==========  ===========================================================  ==============================================

The model's free axes (``None`` in its inputs' shapes: batch and length) stay free in the exported file
(``tests/test_export.py`` runs each file at two batch sizes and two lengths; the README's matrix).

A model output that is complex (:class:`kapre.STFT`) is exported as a real tensor with a trailing axis of size 2
(real, imaginary), the layout of :class:`kapre.STFTTflite`.

Example:

>>> import keras, kapre, numpy as np
>>> from kapre import export
>>> model = keras.Sequential([keras.Input((None, 1)), kapre.MelSpectrogram(sample_rate=16000, n_mels=64)])
>>> path = export.to_onnx(model, "/tmp/kapre-mel.onnx")  # doctest: +SKIP
>>> features, = export.run_onnx(path, [np.zeros((2, 16000, 1), "float32")])  # doctest: +SKIP
>>> features.shape  # doctest: +SKIP
(2, 97, 64, 1)
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import threading

import keras
import numpy as np

from kapre import _backend
from kapre._backend import portable as _portable
from kapre._backend._export_error import ExportError
from kapre._backend.litert_runtime import INPUT_NAMES_KEY

__all__ = ["ExportError", "export_mode", "exporting", "run_litert", "run_onnx", "to_litert", "to_onnx"]

_LOCK = threading.RLock()
_SWAPPED = (*_portable.__all__, "EAGER_MEL_PATH", "EAGER_STREAMING")


def exporting() -> bool:
    """Whether a model is being traced for export (:func:`export_mode`)."""
    return _backend.EXPORTING


@contextlib.contextmanager
def export_mode():
    """Within the block, kapre's layers compute with the export backend (:mod:`kapre._backend.portable`): DFT
    matmuls, complex values held as parts, no backend compilation. Trace (export) the model inside it; its
    numbers are the usual ones to float32 rounding. Not re-entrant across threads (a lock serialises it)."""
    with _LOCK:
        saved = {name: getattr(_backend, name) for name in (*_SWAPPED, "EXPORTING")}
        try:
            for name in _portable.__all__:
                setattr(_backend, name, getattr(_portable, name))
            _backend.EAGER_MEL_PATH = None
            _backend.EAGER_STREAMING = None
            _backend.EXPORTING = True
            yield
        finally:
            for name, value in saved.items():
                setattr(_backend, name, value)


def _route():
    name = keras.backend.backend()
    if name not in ("tensorflow", "jax", "torch"):
        raise ExportError("kapre.export works on the TensorFlow, JAX and PyTorch backends; the Keras backend is "
                          f"{name!r}.")
    return importlib.import_module(f"kapre._backend.export_{name}")


def _as_model(model, input_shape) -> keras.Model:
    if isinstance(model, keras.Model):
        if input_shape is not None:
            raise ExportError("input_shape is for a layer; a model has its own inputs. Received a model and "
                              f"input_shape={input_shape!r}.")
        if not model.inputs:
            raise ExportError("The model has no inputs yet: build it with keras.Input (e.g. keras.Sequential"
                              "([keras.Input((None, 1)), ...])).")
        return model
    if isinstance(model, keras.layers.Layer):
        if input_shape is None:
            raise ExportError(f"Exporting the layer {model.name!r} needs its input_shape without the batch axis, "
                              "None for a free length: e.g. input_shape=(None, 1).")
        inputs = keras.Input(tuple(input_shape))
        return keras.Model(inputs, model(inputs), name=f"{model.name}_export")
    raise ExportError(f"Expected a keras.Model or a kapre layer, received {type(model).__name__}.")


def _signature(model: keras.Model) -> list:
    return [keras.InputSpec(shape=tuple(x.shape), dtype=x.dtype, name=x.name) for x in model.inputs]


def _prepared_path(path) -> str:
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ExportError(f"Cannot write {path!r}: the folder {directory!r} does not exist.")
    if not os.access(directory, os.W_OK):
        raise ExportError(f"Cannot write {path!r}: the folder {directory!r} is not writable.")
    return path


def _write_via_temporary(path: str, write) -> str:
    """``write(temporary_path)``, then the file moved into place: a failed export leaves no half-written file."""
    temporary = f"{path}.partial-{os.getpid()}"
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path


def to_onnx(model, path, input_shape=None, opset: int | None = None) -> str:
    """Write ``model`` (a ``keras.Model``, or a kapre layer with ``input_shape``) to ``path`` as ONNX; returns the
    path. The model is traced in :func:`export_mode`; the route is the backend's (module docstring)."""
    model, path, route = _as_model(model, input_shape), _prepared_path(path), _route()
    with export_mode():
        signature = [_signature(model)] if keras.backend.backend() != "torch" else _signature(model)

        def write(target: str) -> None:
            route.to_onnx(model, target, signature, opset)
            _record_input_names(target, model)

        _write_via_temporary(path, write)
    return path


def _record_input_names(path: str, model) -> None:
    """The model's input names, in order, as an ONNX metadata property (tf2onnx orders the inputs by name):
    :func:`run_onnx` takes a list in the model's order."""
    import onnx

    proto = onnx.load(path)
    onnx.helper.set_model_props(proto, {**{p.key: p.value for p in proto.metadata_props},
                                        INPUT_NAMES_KEY: json.dumps([x.name for x in model.inputs])})
    onnx.save(proto, path)


def to_litert(model, path, input_shape=None) -> str:
    """Write ``model`` to ``path`` as a LiteRT flatbuffer with builtin ops only; returns the path."""
    model, path, route = _as_model(model, input_shape), _prepared_path(path), _route()
    with export_mode():
        signature = [_signature(model)] if keras.backend.backend() != "torch" else _signature(model)
        _write_via_temporary(path, lambda target: route.to_litert(model, target, signature))
    return path


def run_onnx(path, inputs) -> list[np.ndarray]:
    """Run an ONNX file with ONNX Runtime (CPU); the outputs, in the model's order.

    ``inputs``: a list in the model's input order (as :func:`to_onnx` recorded it), or a dict by input name.
    """
    try:
        import onnxruntime
    except ImportError as error:
        raise ExportError("Running an ONNX file needs ONNX Runtime: pip install onnxruntime.") from error
    session = onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    names = [x.name for x in session.get_inputs()]
    recorded = session.get_modelmeta().custom_metadata_map.get(INPUT_NAMES_KEY)
    feed = _feed(path, names, json.loads(recorded) if recorded else None, inputs)
    outputs = [x.name for x in session.get_outputs()]
    if all(_numbered(name) for name in outputs):  # tf2onnx names them output_0, output_1, ... in any order
        outputs = sorted(outputs, key=_number_in)
    return session.run(outputs, {name: np.asarray(x) for name, x in feed.items()})


def _feed(path, names: list[str], recorded: list[str] | None, inputs) -> dict:
    """``{file input name: value}`` from a dict by name, or from a list in the model's order: the ``recorded`` order
    where the file has one (and it names the file's inputs), else the file's own order."""
    if isinstance(inputs, dict):
        if sorted(inputs) != sorted(names):
            raise ExportError(f"{path} takes the inputs {names}; received {sorted(inputs)}.")
        return dict(inputs)
    inputs = list(inputs)
    if len(names) != len(inputs):
        raise ExportError(f"{path} takes {len(names)} inputs ({names}); received {len(inputs)}.")
    order = recorded if recorded is not None and sorted(recorded) == sorted(names) else names
    return dict(zip(order, inputs, strict=True))


def _numbered(name: str) -> bool:
    head, _, tail = name.rpartition("_")
    return head == "output" and tail.isdigit()


def run_litert(path, inputs) -> list[np.ndarray]:
    """Run a LiteRT file with the LiteRT interpreter (any batch size and length: the signature runner resizes the
    inputs); the outputs in the model's order.

    ``inputs``: a list in the model's input order (as :func:`to_litert` recorded it), or a dict by input name.
    """
    from kapre._backend.litert_runtime import interpreter as litert_interpreter
    from kapre._backend.litert_runtime import recorded_input_names

    runner = litert_interpreter(os.fspath(path)).get_signature_runner()
    names = list(runner.get_input_details())
    recorded = recorded_input_names(os.fspath(path))
    if recorded is None and len(names) > 1 and all(any(c.isdigit() for c in n) for n in names):
        names = sorted(names, key=_number_in)  # litert-torch numbers them: args_0_0, args_0_1, ...
    feed = _feed(path, names, recorded, inputs)
    results = runner(**{name: np.asarray(x, "float32") if np.asarray(x).dtype == np.float64 else np.asarray(x)
                        for name, x in feed.items()})
    return [results[key] for key in sorted(results, key=_number_in)]  # output_0, output_1, ...


def _number_in(name: str) -> int:
    digits = "".join(c if c.isdigit() else " " for c in name).split()
    return int(digits[-1]) if digits else 0
