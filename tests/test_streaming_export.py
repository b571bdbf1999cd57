"""The external-state streaming step exported (issue 19): LiteRT with builtin ops only and ONNX, on every backend.

``twin.step_model(chunk)`` (inputs ``[chunk, *state]``, outputs ``[features, *new_state]``) is converted, then
driven chunk by chunk over a second of noise, each step fed the state the converted model returned, and compared
with the Keras step (``twin.compiled_step()``) fed its own state: the same number of frames per chunk, the same
features to 1e-4 of their largest magnitude. Chunks of one hop (160 samples, 10 ms at 16 kHz) and of 100 samples
(not a multiple of the hop: zero or one frame per chunk) for a 16 kHz, 64-band log-mel front-end whose 80 dB floor
streams below the running maximum (``to_streaming``'s default): the state is the framer's samples and the maximum.

The routes:

============  =====================================================  ===============================================
backend       LiteRT (``TFLITE_BUILTINS`` only)                      ONNX (run by onnxruntime)
============  =====================================================  ===============================================
TensorFlow    ``model.export(format='tf_saved_model')``, then        tf2onnx from the same SavedModel
              ``tf.lite.TFLiteConverter.from_saved_model``
JAX           the same (jax2tf: the converter lowers the StableHLO)  ``model.export(format='onnx')`` (jax2onnx)
PyTorch       ``model.export(format='litert')`` (litert-torch,       ``model.export(format='onnx')`` (torch.onnx)
              in ``.test-references/``: tests/references.py)
============  =====================================================  ===============================================

The front-ends: ``'dft'``, the LiteRT-friendly chain ``STFTTflite -> MagnitudeTflite -> ApplyFilterbank('mel') ->
MagnitudeToDecibel`` (real-valued matmuls), converts on every route; ``'fft'``, :class:`kapre.MelSpectrogram`
(its FFT), converts to LiteRT on TensorFlow and JAX (``RFFT2D`` is a builtin) and to ONNX on PyTorch (``DFT``);
the other three routes cannot carry its FFT (each skip says why). :mod:`kapre.export` (export mode: the DFT as
matmuls) carries MelSpectrogram's step on every backend and format (``test_kapre_export_step_matches_keras``).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest

import kapre
from kapre.streaming import to_streaming
from tests.helpers import BACKEND, noise, to_numpy

SECOND = 16000
CL = dict(input_data_format="channels_last", output_data_format="channels_last")

# (route, front-end) pairs whose converter cannot carry the front-end on this backend: the tool chain's limits
UNSUPPORTED = {
    ("tensorflow", "onnx", "fft"): "tf2onnx 1.17 converts an RFFT only when ComplexAbs consumes it; MelSpectrogram "
    "takes its Real and Imag parts ('Tensorflow op Real / Imag is not supported', then ONNX Runtime: 'No Op "
    "registered for RFFT').",
    ("jax", "onnx", "fft"): "jax2onnx 0.17 cannot lower the general gather of MelSpectrogram's JAX framing "
    "(kapre._backend.jax.frame: a vmapped dynamic_slice): 'Unhandled internal op in Gather: general_gather'.",
    ("torch", "litert", "fft"): "litert-torch 0.10 has no complex tensors ('Unsupported ir element type: "
    "complex<f32>'), and torch.fft.rfft returns one.",
}


def _require(module: str, install: str):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as error:  # a missing test requirement is a failure, not a skip
        pytest.fail(f"The export test needs {module} ({install}): {error}")


def dft_front_end():
    stft = kapre.STFTTflite(n_fft=512, win_length=400, hop_length=160, **CL)
    front_end = keras.Sequential([
        keras.Input((1600, 1)),
        stft,
        kapre.MagnitudeTflite(),
        kapre.ApplyFilterbank("mel", {"sample_rate": 16000, "n_freq": 257, "n_mels": 64}, data_format="channels_last"),
        kapre.MagnitudeToDecibel(),  # its 80 dB floor streams below the running maximum: a state of its own
    ])
    # a kernel that is not the initializer's: a weight dropped or re-initialised by a converter would show
    kernel = to_numpy(stft.dft_kernel)
    stft.dft_kernel.assign(kernel * np.random.default_rng(0).uniform(0.9, 1.1, kernel.shape).astype("float32"))
    return front_end


def fft_front_end():
    return kapre.MelSpectrogram(n_fft=512, win_length=400, hop_length=160, sample_rate=16000, n_mels=64, **CL)


_TWINS = {}


def twin_and_step_model(front: str, chunk: int):
    """The external-state twin of a front-end and its step model for ``chunk`` samples (built once per module)."""
    if (front, chunk) not in _TWINS:
        if front not in _TWINS:
            _TWINS[front] = to_streaming(dft_front_end() if front == "dft" else fft_front_end(), mode="external")
        twin = _TWINS[front]
        _TWINS[front, chunk] = twin, twin.step_model(chunk)
    return _TWINS[front, chunk]


_SAVED_MODELS = {}


def saved_model(model, tmp_path_factory, dynamic_batch: bool) -> str:
    """``model`` exported as a SavedModel (once per step model: the TensorFlow LiteRT and ONNX routes share it)."""
    if id(model) not in _SAVED_MODELS:
        export_dir = str(tmp_path_factory.mktemp("saved_model"))
        # dynamic_batch: Keras' own signature (TensorFlow: a free batch size); else the static one (JAX: jax2tf's
        # symbolic batch size does not go through MelSpectrogram's frame chunking, nor step_model's batch of one)
        model.export(export_dir, format="tf_saved_model", verbose=False,
                     input_signature=None if dynamic_batch else signature(model))
        _SAVED_MODELS[id(model)] = export_dir
    return _SAVED_MODELS[id(model)]


def signature(model):
    """The step model's inputs with their static batch size (JAX and PyTorch export one fixed shape)."""
    return [[keras.InputSpec(shape=tuple(x.shape), dtype=x.dtype, name=x.name) for x in model.inputs]]


def drive(step, twin, chunk: int, signal):
    """Feed ``signal`` chunk by chunk through ``step(chunk, state_list) -> [features, *new_state]``, each step fed
    the state the previous one returned; the features of every step and its number of valid frames."""
    names = list(twin.initial_state())
    state = list(twin.initial_state().values())
    features, counts = [], []
    for start in range(0, signal.shape[1] - chunk + 1, chunk):
        out = step(signal[:, start : start + chunk], state)
        features.append(np.asarray(out[0]))
        state = [np.asarray(value) for value in out[1:]]
        counts.append(int(state[names.index("num_frames")][0]))
    return np.stack(features), counts


def keras_step(twin):
    compiled = twin.compiled_step()
    names = list(twin.initial_state())

    def step(chunk, state):
        features, new_state = compiled(chunk, dict(zip(names, state, strict=True)))
        return [to_numpy(features), *(to_numpy(new_state[name]) for name in names)]

    return step


_REFERENCES = {}


def assert_matches_keras(step, twin, chunk: int):
    signal = noise((1, SECOND, 1), seed=chunk)
    got, got_counts = drive(step, twin, chunk, signal)
    key = (id(twin), chunk)
    if key not in _REFERENCES:  # the Keras step's run, shared by the LiteRT and ONNX tests
        _REFERENCES[key] = drive(keras_step(twin), twin, chunk, signal)
    ref, ref_counts = _REFERENCES[key]
    assert got_counts == ref_counts
    fed = SECOND // chunk * chunk - twin.latency_samples  # every frame of the second came out
    assert sum(ref_counts) == 1 + (fed - twin.frame_length) // twin.hop_length
    if chunk < twin.hop_length:
        assert set(ref_counts) == {0, 1}  # chunks that complete no frame: the slot is masked, the count 0
    assert got.shape == ref.shape
    error = np.abs(got - ref).max()
    assert error <= 1e-4 * np.abs(ref).max(), (error, np.abs(ref).max())


# -- LiteRT -----------------------------------------------------------------------------------------------------


def litert_flatbuffer(model, tmp_path_factory) -> bytes:
    if BACKEND == "torch":
        _require("litert_torch", "python tests/references.py installs it into .test-references/")
        path = os.path.join(str(tmp_path_factory.mktemp("litert")), "step.tflite")
        model.export(path, format="litert", input_signature=signature(model), verbose=False)
        with open(path, "rb") as file:
            return file.read()
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model(model, tmp_path_factory, BACKEND != "jax"))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


def litert_step(flatbuffer: bytes, model):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    interpreter = Interpreter(model_content=flatbuffer)
    op_names = {op["op_name"] for op in interpreter._get_ops_details()}
    assert not any(name.startswith("Flex") or name in ("CUSTOM", "STABLEHLO_COMPOSITE") for name in op_names), op_names
    runner = interpreter.get_signature_runner()
    names = [x.name for x in model.inputs]
    inputs = list(runner.get_input_details())
    # the SavedModel routes keep the inputs' names; litert-torch numbers them (args_0_0, args_0_1, ...)
    order = names if set(inputs) == set(names) else sorted(inputs, key=lambda k: int(k.rsplit("_", 1)[1]))
    outputs = sorted(runner.get_output_details(), key=lambda k: int(k.rsplit("_", 1)[1]))  # output_0, output_1, ...
    assert len(order) == len(names) and len(outputs) == len(model.outputs)

    def step(chunk, state):
        result = runner(**dict(zip(order, [chunk, *state], strict=True)))
        return [result[key] for key in outputs]

    return step


@pytest.mark.parametrize("front, chunk", [("dft", 160), ("dft", 100), ("fft", 160)])
def test_litert_builtin_step_matches_keras(front, chunk, tmp_path_factory):
    reason = UNSUPPORTED.get((BACKEND, "litert", front))
    if reason:
        pytest.skip(reason)
    twin, model = twin_and_step_model(front, chunk)
    flatbuffer = litert_flatbuffer(model, tmp_path_factory)
    assert_matches_keras(litert_step(flatbuffer, model), twin, chunk)


# -- ONNX -------------------------------------------------------------------------------------------------------


def onnx_file(model, tmp_path_factory) -> str:
    path = os.path.join(str(tmp_path_factory.mktemp("onnx")), "step.onnx")
    if BACKEND == "tensorflow":
        # tf2onnx from the SavedModel: Keras' format='onnx' (tf2onnx.convert.from_function) leaves the constants a
        # function captures (kapre's filterbanks) as extra graph inputs; the SavedModel loader folds them
        tf2onnx = _require("tf2onnx", "pip install tf2onnx")
        graph_def, inputs, outputs, renamed = tf2onnx.tf_loader.from_saved_model(
            saved_model(model, tmp_path_factory, True), None, None, return_tensors_to_rename=True
        )
        tf2onnx.convert.from_graph_def(graph_def, input_names=inputs, output_names=outputs,
                                       tensors_to_rename=renamed, output_path=path)
        return path
    if BACKEND == "jax":
        _require("jax2onnx", "pip install jax2onnx")
    else:
        _require("onnxscript", "pip install onnxscript")
    model.export(path, format="onnx", input_signature=signature(model), verbose=False)
    return path


def onnx_step(path: str, model):
    ort = _require("onnxruntime", "pip install onnxruntime")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [x.name for x in model.inputs]
    inputs = [x.name for x in session.get_inputs()]
    assert sorted(inputs) == sorted(names), inputs
    outputs = [x.name for x in session.get_outputs()]
    if BACKEND == "tensorflow":  # tf2onnx names them output_0, output_1, ... in any order
        outputs = sorted(outputs, key=lambda k: int(k.rsplit("_", 1)[1]))
    assert len(outputs) == len(model.outputs)

    def step(chunk, state):
        return session.run(outputs, dict(zip(names, [chunk, *state], strict=True)))

    return step


@pytest.mark.parametrize("front, chunk", [("dft", 160), ("dft", 100), ("fft", 160)])
def test_onnx_step_matches_keras(front, chunk, tmp_path_factory):
    reason = UNSUPPORTED.get((BACKEND, "onnx", front))
    if reason:
        pytest.skip(reason)
    twin, model = twin_and_step_model(front, chunk)
    assert_matches_keras(onnx_step(onnx_file(model, tmp_path_factory), model), twin, chunk)


# -- kapre.export: every route, MelSpectrogram's step too -------------------------------------------------------


@pytest.mark.parametrize("fmt, chunk", [("onnx", 160), ("litert", 160), ("litert", 100)])
def test_kapre_export_step_matches_keras(fmt, chunk, tmp_path):
    """:func:`kapre.export.to_onnx` / ``to_litert`` carry MelSpectrogram's step on every backend (export mode: the
    DFT as matmuls, no FFT), where Keras' own routes cannot (:data:`UNSUPPORTED`); the step file is fed its state
    as a list in the model's input order (the file records it: the SavedModel routes order the inputs by name) and
    as a dict by name."""
    from kapre import export

    twin, model = twin_and_step_model("fft", chunk)
    path = str(tmp_path / f"step.{'onnx' if fmt == 'onnx' else 'tflite'}")
    (export.to_onnx if fmt == "onnx" else export.to_litert)(model, path)
    run = export.run_onnx if fmt == "onnx" else export.run_litert

    def step(values, state):
        return [np.asarray(value) for value in run(path, [values, *state])]

    assert_matches_keras(step, twin, chunk)
    names = [x.name for x in model.inputs]
    first = [noise((1, chunk, 1), seed=3), *twin.initial_state().values()]
    by_name = run(path, {name: np.asarray(value) for name, value in zip(names, first, strict=True)})
    np.testing.assert_array_equal(by_name[0], step(first[0], first[1:])[0])
    with pytest.raises(export.ExportError, match="takes the inputs"):
        run(path, {"chunk": first[0]})
