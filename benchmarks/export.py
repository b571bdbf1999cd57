"""kapre's ONNX export in ONNX Runtime against kapre's own backends (issue 20): ``python benchmarks/export.py``.

The front-end is W2's (``workloads.W2``: 64 clips x 1 s of noise at 16 kHz) log-mel,
``keras.Sequential([keras.Input((None, 1)), kapre.MelSpectrogram(n_fft=512, hop_length=160, sample_rate=16000,
n_mels=64)])`` (periodic Hann, Slaney mel, power 2, decibels with an 80 dB floor per clip, ``center=False``), fed
``(64, 16000, 1)`` and giving ``(64, 97, 64, 1)``. Rows, each in its own subprocess (this file with ``--worker``):

- kapre on each Keras backend, its fastest path (``tf.function``, ``jax.jit``, PyTorch eager), the input converted
  to the backend's tensor before the clock, the output brought back to NumPy inside the timed call;
- ONNX Runtime (CPU) running ``kapre.export.to_onnx`` of the model exported from TensorFlow (tf2onnx) and from
  PyTorch (``torch.onnx`` dynamo): the two graphs differ; each with default session options and with
  ``intra_op_num_threads`` = the CPU count;
- the same front-end built on ONNX's own ``STFT`` op (opset 17, onesided, the same window, frame 512, hop 160),
  then ``|.|**2``, a ``MatMul`` with the same mel filterbank and the same decibels, built with ``onnx.helper``;
- ``torchaudio.transforms.MelSpectrogram`` + ``AmplitudeToDB`` (top_db per clip) exported by ``torch.onnx``
  (dynamo), when torchaudio is importable (the test references' folder, ``python tests/references.py``);
- a hand-built graph of a two-stage DFT (``two_stage_graph``, the prototype of the formulation kapre's export now
  uses, :func:`kapre._backend.portable.framed_filterbank_power`): a grouped ``Conv`` over blocks of samples
  (framing and window folded in) and a batched ``MatMul``, about 5x fewer multiply-adds than a dense DFT matmul;
  a row to compare what the exporters emit with a graph written op by op, not kapre's export.

Every ONNX graph's output is checked against kapre's (TensorFlow) before it is timed: a row whose largest error
exceeds 1e-4 of the output's largest magnitude is not timed. Reported: median / min / max ms of the whole batch,
``x kapre fastest`` (the row's median over the fastest kapre backend's), the issue's two ratios (ONNX Runtime on
kapre's export at most 2x kapre's fastest backend; at least 10x faster than the ``STFT``-op graph), where ONNX
Runtime spends its time on kapre's exports (its profiler, per op type), the CPU, its SIMD flags and the versions.
Results: ``benchmarks/results/export/`` (``results.md``, ``results.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import run  # noqa: E402
from workloads import W2, make_input  # noqa: E402

TOLERANCE = 1e-4  # largest |onnx - kapre| over the largest |kapre|, before a row is timed
TARGET_VS_KAPRE = 2.0  # issue 20: ONNX Runtime on kapre's export at most 2x kapre's fastest backend
TARGET_VS_STFT_OP = 10.0  # ... and at least 10x faster than the front-end on ONNX's STFT op
KAPRE_ROWS = (("tensorflow", "tf.function"), ("jax", "jax.jit"), ("torch", "eager"))
GRAPHS = {  # graph -> (label, file in the work folder)
    "kapre-tensorflow": ("kapre.export.to_onnx from TensorFlow (tf2onnx)", "kapre_tensorflow.onnx"),
    "kapre-torch": ("kapre.export.to_onnx from PyTorch (torch.onnx dynamo)", "kapre_torch.onnx"),
    "stft-op": ("ONNX STFT op (opset 17) + |.|**2 + mel MatMul, onnx.helper", "stft_op.onnx"),
    "torchaudio": ("torchaudio.transforms.MelSpectrogram + AmplitudeToDB, torch.onnx dynamo", "torchaudio.onnx"),
    "two-stage": ("hand-built two-stage DFT (grouped Conv + batched MatMul), onnx.helper", "two_stage.onnx"),
}
BACKEND_LABEL = {"tensorflow": "TF", "jax": "JAX", "torch": "PyTorch"}
SESSIONS = ("default", "threads")  # default SessionOptions; intra_op_num_threads = os.cpu_count()
MAX_CALLS = 200


def ort_rows():
    return [("onnxruntime", graph, session) for graph in GRAPHS for session in SESSIONS]


def all_rows():
    return [("kapre", backend, mode) for backend, mode in KAPRE_ROWS] + ort_rows()


def row_key(row) -> str:
    return "/".join(row)


def row_label(row) -> str:
    impl, a, b = row
    if impl == "kapre":
        return f"kapre.MelSpectrogram [{BACKEND_LABEL[a]}, {b}]"
    session = "default session options" if b == "default" else f"intra_op_num_threads={os.cpu_count()}"
    return f"ONNX Runtime: {GRAPHS[a][0]} [{session}]"


def model_and_input():
    import keras

    import kapre

    model = keras.Sequential([keras.Input((None, 1)), kapre.MelSpectrogram(
        n_fft=W2["n_fft"], hop_length=W2["hop"], sample_rate=W2["sr"], n_mels=W2["n_mels"])])
    return model, make_input(W2)[..., None]  # (64, 16000, 1): W2's batch, channels last


# -- the graphs (made once per run, in the work folder) ------------------------------------------------------


def prepare(backend: str, work: Path) -> dict:
    """kapre's output on W2 (the reference), its ONNX export from ``backend``, and on PyTorch torchaudio's."""
    import keras

    from kapre import export

    model, x = model_and_input()
    done = {"versions": versions(backend)}
    if backend == "tensorflow":
        np.save(work / "reference.npy", keras.ops.convert_to_numpy(model(x)))
        from kapre import constants  # the layer's filterbank (Slaney mel, Slaney norm, 0 to sr / 2)

        filterbank = constants.mel_filterbank(W2["sr"], W2["n_fft"] // 2 + 1, W2["n_mels"])
        np.save(work / "filterbank.npy", filterbank.astype("float32"))
    start = time.perf_counter()
    try:
        export.to_onnx(model, work / GRAPHS[f"kapre-{backend}"][1])
        done[f"kapre-{backend}"] = {"export_s": time.perf_counter() - start}
    except Exception as error:  # reported as the row's reason
        done[f"kapre-{backend}"] = {"error": f"kapre.export.to_onnx: {short(error)}"}
    if backend == "torch":
        done["torchaudio"] = export_torchaudio(work / GRAPHS["torchaudio"][1], x)
    return done


def short(error: BaseException, limit: int = 300) -> str:
    """``Type: first line`` of an exception, ONNX Runtime's source paths left out, at most ``limit`` characters."""
    import re

    text = (str(error).strip().splitlines() or [""])[0]
    text = re.sub(r"/onnxruntime_src/\S+ ", "", text)
    return f"{type(error).__name__}: {text}"[:limit]


def export_torchaudio(path: Path, x) -> dict:
    try:
        import torch
        import torchaudio
    except ImportError as error:
        return {"error": f"torchaudio not importable ({error}); build it with `python tests/references.py`"}

    class Front(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.mel = torchaudio.transforms.MelSpectrogram(
                sample_rate=W2["sr"], n_fft=W2["n_fft"], hop_length=W2["hop"], n_mels=W2["n_mels"], center=False,
                power=2.0, norm="slaney", mel_scale="slaney")
            self.db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=80.0)

        def forward(self, x):  # (batch, samples, 1) -> (batch, frames, mels, 1), as kapre's
            return self.db(self.mel(x[..., 0])[:, None]).permute(0, 3, 2, 1)  # [:, None]: top_db per clip

    start = time.perf_counter()
    try:
        dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("length", min=W2["n_fft"] + 1)}
        torch.onnx.export(Front().eval(), (torch.from_numpy(x),), str(path), dynamo=True, dynamic_shapes=(dims,),
                          opset_version=18)
    except Exception as error:
        return {"error": f"torch.onnx.export: {short(error)}"}
    return {"export_s": time.perf_counter() - start, "torchaudio": torchaudio.__version__}


def stft_op_graph(filterbank: np.ndarray, window: np.ndarray):
    """The front-end on ONNX's ``STFT`` op: ``(batch, samples, 1)`` -> ``(batch, frames, mels, 1)`` decibels."""
    from onnx import TensorProto, checker, helper, numpy_helper

    def const(name, value, dtype):
        return numpy_helper.from_array(np.asarray(value, dtype), name)

    nodes = [
        helper.make_node("STFT", ["x", "hop", "window", "frame_length"], ["spectrum"], onesided=1),  # (b, f, 257, 2)
        helper.make_node("Mul", ["spectrum", "spectrum"], ["squares"]),
        helper.make_node("ReduceSum", ["squares", "last"], ["power"], keepdims=0),  # opset 13+: axes an input
        helper.make_node("MatMul", ["power", "filterbank"], ["mel"]),
        helper.make_node("Max", ["mel", "amin"], ["clipped"]),
        helper.make_node("Log", ["clipped"], ["ln"]),
        helper.make_node("Mul", ["ln", "db_per_neper"], ["db"]),
        helper.make_node("ReduceMax", ["db"], ["top"], axes=[1, 2], keepdims=1),  # opset < 18: axes an attribute
        helper.make_node("Sub", ["top", "dynamic_range"], ["floor"]),
        helper.make_node("Max", ["db", "floor"], ["floored"]),
        helper.make_node("Unsqueeze", ["floored", "last"], ["y"]),
    ]
    initializers = [
        const("hop", W2["hop"], "int64"), const("window", window, "float32"),
        const("frame_length", W2["n_fft"], "int64"), const("last", [-1], "int64"),
        const("filterbank", filterbank, "float32"), const("amin", 1e-10, "float32"),
        const("db_per_neper", 10.0 / np.log(10.0), "float32"), const("dynamic_range", 80.0, "float32"),
    ]
    graph = helper.make_graph(
        nodes, "mel_on_stft_op", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "samples", 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "frames", W2["n_mels"], 1])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    checker.check_model(model)
    return model


def two_stage_graph(filterbank: np.ndarray, window: np.ndarray, n2: int = 16):
    """The prototype of kapre's export formulation: the same front-end with the DFT in two stages (Cooley-Tukey,
    ``n_fft = n1 * n2``, ``n2`` dividing ``n_fft`` and ``hop``) instead of one dense ``(n_fft, n_fft + 2)`` matmul,
    about 5x fewer multiply-adds at ``n_fft`` 512, built with ``onnx.helper``; not kapre's export.

    The signal, cut to the frames' span, is read as blocks of ``n2`` samples: channel ``r`` of block ``m`` is sample
    ``m * n2 + r``; frame ``t`` is blocks ``t * hop / n2 ...`` ``+ n1``. Stage 1 (one grouped ``Conv``, a group per
    channel ``r``, stride ``hop / n2``: framing and window fused, no frame tensor) is the length-``n1`` DFT over a
    frame's blocks, ``A[k1, r] = sum_m w[m n2 + r] x[m n2 + r] exp(-2 pi i m k1 / n1)``, for ``k1 = 0 .. n1 / 2``
    (the input is real); stage 2 (a batched ``MatMul``, one ``(2 n2 + 2, 2 n2)`` matrix per group) is
    ``X[k] = sum_r A[k mod n1, r] exp(-2 pi i r k / n_fft)`` for ``k = k1 + n1 k2``, the twiddles folded in. The
    groups: ``k1 = 1 .. n1/2 - 1`` (complex ``A``), and ``k1 = 0`` with ``k1 = n1/2`` (both real) in one. Their
    ``n1 / 2 * n2`` bins are all 512 up to conjugation, so ``|X|**2`` of each is the power of one one-sided bin
    (``min(k, n_fft - k)``): the mel ``MatMul`` takes the bins in this order (the filterbank's rows permuted).
    """
    from onnx import TensorProto, checker, helper, numpy_helper

    n_fft, hop, n_mels = W2["n_fft"], W2["hop"], W2["n_mels"]
    n1, groups, pairs = n_fft // n2, n_fft // n2 // 2, n2 + 1
    assert n_fft % n2 == 0 and hop % n2 == 0 and n1 % 2 == 0
    m, r = np.arange(n1), np.arange(n2)
    blocks = np.zeros(n_fft)
    blocks[: len(window)] = window
    blocks = blocks.reshape(n1, n2).T  # [r, m] = w[m n2 + r]
    stage1 = np.zeros((n2, groups, 2, n1))  # output channel (r, group, part): the group's two real inputs
    for g in range(groups):
        rows = ((np.ones(n1), np.cos(np.pi * m)) if g == 0
                else (np.cos(2 * np.pi * m * g / n1), -np.sin(2 * np.pi * m * g / n1)))
        for part in (0, 1):
            stage1[:, g, part] = rows[part][None, :] * blocks
    # stage 2: per group, rows [real parts of its bins | imaginary parts], columns (r, part)
    stage2 = np.zeros((groups, 2, pairs, n2, 2))
    bins = np.zeros((groups, pairs), dtype=int)
    mel = np.zeros((groups, pairs, n_mels))
    for g in range(groups):
        # (k, input part): k1 = g for g > 0; for g = 0, k1 = 0 (part 0) then k1 = n1 / 2 (part 1)
        outputs = ([(g + n1 * k2, 0) for k2 in range(n2)] if g else
                   [(n1 * k2, 0) for k2 in range(n2 // 2 + 1)] + [(n1 // 2 + n1 * k2, 1) for k2 in range(n2 // 2)])
        for slot, (k, part) in enumerate(outputs):
            angle = 2 * np.pi * r * k / n_fft
            if g:  # complex input: X = sum (a + ib)(cos - i sin)
                stage2[g, 0, slot, :, 0], stage2[g, 0, slot, :, 1] = np.cos(angle), np.sin(angle)
                stage2[g, 1, slot, :, 1], stage2[g, 1, slot, :, 0] = np.cos(angle), -np.sin(angle)
            else:  # real input (part): X = sum a (cos - i sin)
                stage2[g, 0, slot, :, part], stage2[g, 1, slot, :, part] = np.cos(angle), -np.sin(angle)
            bins[g, slot] = min(k, n_fft - k)
            mel[g, slot] = filterbank[bins[g, slot]]
        if len(outputs) < pairs:  # a spare slot: no bin, zero rows
            bins[g, len(outputs):] = -1
    assert sorted(set(bins[bins >= 0])) == list(range(n_fft // 2 + 1))

    def const(name, value, dtype="int64"):
        return numpy_helper.from_array(np.asarray(value, dtype), name)

    nodes = [
        helper.make_node("Squeeze", ["x", "last"], ["signal"]),  # (batch, samples)
        helper.make_node("Shape", ["signal"], ["length"], start=1, end=2),
        helper.make_node("Sub", ["length", "n_fft"], ["room"]),
        helper.make_node("Div", ["room", "hop"], ["hops"]),  # frames - 1
        helper.make_node("Mul", ["hops", "hop"], ["reach"]),
        helper.make_node("Add", ["reach", "n_fft"], ["span"]),  # (frames - 1) hop + n_fft, a multiple of n2
        helper.make_node("Slice", ["signal", "zero", "span", "last"], ["cut"]),
        helper.make_node("Reshape", ["cut", "block_shape"], ["blocks"]),  # (batch, span / n2, n2)
        helper.make_node("Transpose", ["blocks"], ["channels"], perm=[0, 2, 1]),  # (batch, n2, span / n2)
        helper.make_node("Conv", ["channels", "stage1"], ["a"], group=n2, strides=[hop // n2]),  # (b, n2*g*2, t)
        helper.make_node("Reshape", ["a", "a_shape"], ["a5"]),  # (batch, n2, groups, 2, frames)
        helper.make_node("Transpose", ["a5"], ["a_groups"], perm=[0, 2, 1, 3, 4]),  # (batch, groups, n2, 2, t)
        helper.make_node("Reshape", ["a_groups", "stage2_in"], ["a4"]),  # (batch, groups, 2 n2, frames)
        helper.make_node("MatMul", ["stage2", "a4"], ["spectrum"]),  # (batch, groups, 2 pairs, frames)
        helper.make_node("Mul", ["spectrum", "spectrum"], ["squares"]),
        helper.make_node("Reshape", ["squares", "parts_shape"], ["parts"]),  # (batch, groups, 2, pairs, frames)
        helper.make_node("ReduceSum", ["parts", "two"], ["power"], keepdims=0),  # (batch, groups, pairs, frames)
        helper.make_node("Reshape", ["power", "bins_shape"], ["power3"]),  # (batch, groups * pairs, frames)
        helper.make_node("MatMul", ["mel_t", "power3"], ["mel"]),  # (batch, mels, frames)
        helper.make_node("Max", ["mel", "amin"], ["clipped"]),
        helper.make_node("Log", ["clipped"], ["ln"]),
        helper.make_node("Mul", ["ln", "db_per_neper"], ["db"]),
        helper.make_node("ReduceMax", ["db"], ["top"], axes=[1, 2], keepdims=1),
        helper.make_node("Sub", ["top", "dynamic_range"], ["floor"]),
        helper.make_node("Max", ["db", "floor"], ["floored"]),
        helper.make_node("Transpose", ["floored"], ["frames_first"], perm=[0, 2, 1]),
        helper.make_node("Unsqueeze", ["frames_first", "last"], ["y"]),
    ]
    initializers = [
        const("last", [-1]), const("zero", [0]), const("two", [2]), const("n_fft", [n_fft]), const("hop", [hop]),
        const("block_shape", [0, -1, n2]), const("a_shape", [0, n2, groups, 2, -1]),
        const("stage2_in", [0, groups, 2 * n2, -1]), const("parts_shape", [0, groups, 2, pairs, -1]),
        const("bins_shape", [0, groups * pairs, -1]),
        const("stage1", stage1.reshape(n2 * groups * 2, 1, n1), "float32"),
        const("stage2", stage2.reshape(groups, 2 * pairs, 2 * n2), "float32"),
        const("mel_t", mel.reshape(groups * pairs, n_mels).T, "float32"), const("amin", 1e-10, "float32"),
        const("db_per_neper", 10.0 / np.log(10.0), "float32"), const("dynamic_range", 80.0, "float32"),
    ]
    graph = helper.make_graph(
        nodes, "mel_two_stage_dft", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "samples", 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "frames", n_mels, 1])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    checker.check_model(model)
    return model


def hann(length: int) -> np.ndarray:
    """Periodic Hann, kapre's default window (``kapre.constants.get_window(None, length)``)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)


# -- ONNX Runtime ----------------------------------------------------------------------------------------------


def session(path, which: str):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if which == "threads":
        options.intra_op_num_threads = os.cpu_count() or 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def check(work: Path) -> dict:
    """Each graph's output on W2 against kapre's; and ONNX Runtime's profile of kapre's exports (ms per op type)."""
    import onnxruntime

    x, reference = make_input(W2)[..., None], np.load(work / "reference.npy")
    scale = float(np.abs(reference).max())
    found = {"onnxruntime": onnxruntime.__version__}
    for graph, (_, name) in GRAPHS.items():
        path = work / name
        if not path.exists():
            continue
        try:
            s = session(path, "default")
            y = s.run(None, {s.get_inputs()[0].name: x})[0]
        except Exception as error:
            found[graph] = {"error": f"ONNX Runtime: {short(error)}"}
            continue
        if y.shape != reference.shape:
            found[graph] = {"error": f"output shape {y.shape}, kapre's {reference.shape}"}
            continue
        error = float(np.abs(y - reference).max()) / scale
        found[graph] = {"relative_error": error, "ok": error <= TOLERANCE, "ops": op_counts(path)}
        if graph.startswith("kapre-") or graph == "two-stage":
            found[graph]["profile_ms"] = profile(path, x)
    return found


def op_counts(path) -> dict:
    import onnx

    counts: dict[str, int] = {}
    for node in onnx.load(str(path)).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def profile(path, x, calls: int = 10) -> dict:
    """ONNX Runtime's profiler: ms per call spent in each op type (summed over nodes), largest first."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(path).with_suffix("")) + "_profile"
    s = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {s.get_inputs()[0].name: x}
    s.run(None, feed)
    for _ in range(calls):
        s.run(None, feed)
    events = json.loads(Path(s.end_profiling()).read_text())
    totals: dict[str, float] = {}
    runs = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    skip_first = runs[0]["ts"] + runs[0]["dur"] if runs else 0  # the first run is a warm-up
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time") and event["ts"] >= skip_first:
            op = event["args"]["op_name"]
            totals[op] = totals.get(op, 0.0) + event["dur"] / 1e3 / calls
    return dict(sorted(((op, round(ms, 3)) for op, ms in totals.items()), key=lambda item: -item[1]))


# -- timing ---------------------------------------------------------------------------------------------------


def timed(call, runs: int, min_time: float) -> list[float]:
    call()  # warm-up (compilation, ONNX Runtime's first-run allocations)
    call()
    times: list[float] = []
    while len(times) < runs or (sum(times) < min_time and len(times) < MAX_CALLS):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def worker(row, work: Path, runs: int, min_time: float) -> dict:
    impl, a, b = row
    x = make_input(W2)[..., None]
    if impl == "onnxruntime":
        s = session(work / GRAPHS[a][1], b)
        feed = {s.get_inputs()[0].name: x}
        return {"times": timed(lambda: s.run(None, feed)[0], runs, min_time)}
    import keras

    model, _ = model_and_input()
    layer = model.layers[-1]
    if a == "tensorflow":
        import tensorflow as tf

        fn, tensor = tf.function(lambda t: layer(t)), tf.convert_to_tensor(x)
    elif a == "jax":
        import jax

        fn, tensor = jax.jit(lambda t: layer(t)), jax.numpy.asarray(x)
    else:
        import torch

        torch.set_grad_enabled(False)
        fn, tensor = (lambda t: layer(t)), torch.from_numpy(x)
    times = timed(lambda: keras.ops.convert_to_numpy(fn(tensor)), runs, min_time)
    y = keras.ops.convert_to_numpy(fn(tensor))
    reference = np.load(work / "reference.npy")
    return {"times": times, "relative_error": float(np.abs(y - reference).max() / np.abs(reference).max())}


def versions(backend: str) -> dict:
    import importlib

    found = {"python": platform.python_version(), "numpy": np.__version__}
    names = {"tensorflow": ("keras", "tensorflow", "tf2onnx", "onnx", "kapre"),
             "torch": ("torch", "onnxscript", "onnx", "torchaudio")}[backend]
    for name in names:
        try:
            found[name] = importlib.import_module(name).__version__
        except Exception:  # optional
            pass
    return found


def subprocess_json(args: list[str], backend: str, timeout: int) -> tuple[dict | None, str]:
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    paths = [str(ROOT)] + ([run.torchaudio_path()] if backend == "torch" else [])
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    try:
        done = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True,
                              timeout=timeout, cwd=str(ROOT))
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return None, f"exited with {done.returncode}: {tail}"[:400]
    return json.loads(lines[-1][7:]), ""


# -- the report -----------------------------------------------------------------------------------------------


def summarize(pooled: dict, failures: dict, checks: dict, kapre_errors: dict | None = None) -> dict:
    """Per row median / min / max ms and ``x kapre fastest``; the issue's two ratios per ONNX Runtime row of
    kapre's exports (and of the prototype), and for the fastest of kapre's exports."""
    rows = {}
    for row in all_rows():
        key = row_key(row)
        times = np.asarray(pooled.get(key, [])) * 1e3
        entry = {"label": row_label(row)}
        if key in failures or not times.size:
            entry["not_run"] = failures.get(key, "no timings")
        else:
            entry.update(median_ms=float(np.median(times)), min_ms=float(times.min()), max_ms=float(times.max()),
                         calls=int(times.size))
        if row[0] == "onnxruntime" and isinstance(checks.get(row[1]), dict):
            entry["relative_error"] = checks[row[1]].get("relative_error")
        elif row[0] == "kapre" and kapre_errors and key in kapre_errors:
            entry["relative_error"] = kapre_errors[key]
        rows[key] = entry
    timed_kapre = {k: v for k, v in rows.items() if k.startswith("kapre/") and "median_ms" in v}
    fastest = min(timed_kapre, key=lambda k: timed_kapre[k]["median_ms"]) if timed_kapre else None
    for entry in rows.values():
        if fastest and "median_ms" in entry:
            entry["x_kapre_fastest"] = entry["median_ms"] / rows[fastest]["median_ms"]
    acceptance = {"kapre_fastest": fastest, "per_session": {}, "prototype": {}}
    for which in SESSIONS:
        stft = rows[f"onnxruntime/stft-op/{which}"].get("median_ms")
        for graph in ("kapre-tensorflow", "kapre-torch", "two-stage"):
            row = rows[f"onnxruntime/{graph}/{which}"]
            if "median_ms" not in row:
                continue
            ratio = stft / row["median_ms"] if stft else None
            entry = {"ort_ms": row["median_ms"], "x_kapre_fastest": row.get("x_kapre_fastest"), "stft_op_ms": stft,
                     "stft_op_over_export": ratio,
                     "within_2x_of_kapre": bool(row.get("x_kapre_fastest") is not None
                                                and row["x_kapre_fastest"] <= TARGET_VS_KAPRE),
                     "10x_faster_than_stft_op": bool(ratio and ratio >= TARGET_VS_STFT_OP)}
            acceptance["prototype" if graph == "two-stage" else "per_session"][f"{graph}/{which}"] = entry
    candidates = acceptance["per_session"]
    if candidates:
        key = min(candidates, key=lambda k: candidates[k]["ort_ms"])
        ort = candidates[key]["ort_ms"]
        stft_best = min((v for v in (rows[f"onnxruntime/stft-op/{w}"].get("median_ms") for w in SESSIONS) if v),
                        default=None)
        ratio = stft_best / ort if stft_best else None
        acceptance["best"] = {"row": key, "ort_ms": ort, "x_kapre_fastest": candidates[key]["x_kapre_fastest"],
                              "stft_op_best_ms": stft_best, "stft_op_over_export": ratio,
                              "within_2x_of_kapre": candidates[key]["within_2x_of_kapre"],
                              "10x_faster_than_stft_op": bool(ratio and ratio >= TARGET_VS_STFT_OP)}
    return {"rows": rows, "acceptance": acceptance}


def _fmt(value, digits=2):
    return "" if value is None else f"{value:.{digits}f}"


def report_lines(summary: dict, meta: dict, checks: dict) -> list[str]:
    lines = [
        "# kapre's ONNX export in ONNX Runtime against kapre's backends (issue 20)",
        "",
        f"{meta['date']}; CPU: {run.cpu_text(meta['cpu'])}; load average (1/5/15 min) "
        f"{', '.join(f'{v:.1f}' for v in meta['load_start'])} at the start, "
        f"{', '.join(f'{v:.1f}' for v in meta['load_end'])} at the end.",
        f"Versions: {', '.join(f'{k} {v}' for k, v in sorted(meta['versions'].items()))}.",
        f"W2 log-mel: {W2['batch']} clips x {W2['seconds']} s at {W2['sr']} Hz, n_fft {W2['n_fft']}, hop "
        f"{W2['hop']}, {W2['n_mels']} mels, decibels with an 80 dB floor per clip; input (64, 16000, 1), output "
        f"(64, 97, 64, 1). {meta['rounds']} rounds of at least {meta['runs']} timed calls (and "
        f"{meta['min_time_s']} s of calls, at most {MAX_CALLS}) per row, pooled; each row in its own process.",
        "",
        "| configuration | median ms | min ms | max ms | x kapre fastest | max error / max abs. (kapre TF) |",
        "|---|---|---|---|---|---|",
    ]
    rows = summary["rows"]
    order = sorted(rows, key=lambda k: rows[k].get("median_ms", float("inf")))
    for key in order:
        entry = rows[key]
        error = entry.get("relative_error")
        error_text = "" if error is None else f"{error:.1e}"
        if "median_ms" not in entry:
            lines.append(f"| {entry['label']} | not run: {entry['not_run']} | | | | {error_text} |")
            continue
        lines.append(f"| {entry['label']} | {entry['median_ms']:.2f} | {entry['min_ms']:.2f} | {entry['max_ms']:.2f} "
                     f"| {_fmt(entry.get('x_kapre_fastest'))} | {error_text} |")
    acceptance = summary["acceptance"]
    fastest = acceptance["kapre_fastest"]
    fastest_text = f"{rows[fastest]['label']}, {rows[fastest]['median_ms']:.2f} ms" if fastest else "none timed"
    lines += ["", "## Issue 20's ratios", "",
              f"kapre's fastest backend in this run: {fastest_text}.",
              "",
              "| ONNX Runtime on | session | ms | x kapre fastest (target <= 2) | STFT-op graph ms | STFT-op / export "
              "(target >= 10) |",
              "|---|---|---|---|---|---|"]
    for key, entry in [*acceptance["per_session"].items(), *acceptance["prototype"].items()]:
        graph, which = key.split("/")
        lines.append(f"| {GRAPHS[graph][0]} | {which} | {entry['ort_ms']:.2f} | {_fmt(entry['x_kapre_fastest'])} "
                     f"({'holds' if entry['within_2x_of_kapre'] else 'misses'}) | {_fmt(entry['stft_op_ms'])} | "
                     f"{_fmt(entry['stft_op_over_export'])} "
                     f"({'holds' if entry['10x_faster_than_stft_op'] else 'misses'}) |")
    if "best" in acceptance:
        best = acceptance["best"]
        lines += ["", f"Fastest ONNX Runtime row on kapre's export: {best['row']}, {best['ort_ms']:.2f} ms = "
                  f"{_fmt(best['x_kapre_fastest'])}x kapre's fastest backend (target <= {TARGET_VS_KAPRE:g}: "
                  f"**{'holds' if best['within_2x_of_kapre'] else 'misses'}**); the STFT-op graph's fastest, "
                  f"{_fmt(best['stft_op_best_ms'])} ms, is {_fmt(best['stft_op_over_export'])}x it (target >= "
                  f"{TARGET_VS_STFT_OP:g}: **{'holds' if best['10x_faster_than_stft_op'] else 'misses'}**)."]
    lines += ["", "## Where ONNX Runtime spends the time", "",
              "ONNX Runtime's profiler, default session options, ms per call summed per op type (10 calls after a "
              "warm-up; the profiler's own overhead included), and the graphs' op counts:", ""]
    for graph in ("kapre-tensorflow", "kapre-torch", "two-stage"):
        found = checks.get(graph)
        if not isinstance(found, dict) or "profile_ms" not in found:
            reason = found.get("error") if isinstance(found, dict) else "not exported"
            lines.append(f"- {GRAPHS[graph][0]}: {reason}")
            continue
        profile_ms = found["profile_ms"]
        total = sum(profile_ms.values())
        top = ", ".join(f"{op} {ms:.1f} ({100 * ms / total:.0f} %)" for op, ms in list(profile_ms.items())[:8])
        ops = ", ".join(f"{op} {n}" for op, n in found["ops"].items())
        lines.append(f"- {GRAPHS[graph][0]}: {total:.1f} ms in kernels: {top}. Ops: {ops}.")
    if meta.get("notes"):
        lines += [""] + [f"- {note}" for note in meta["notes"]]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the rows, pooled (default 3)")
    parser.add_argument("--runs", type=int, default=21, help="timed calls per row and round, at least (default 21)")
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds of timed calls per row and round")
    parser.add_argument("--quick", action="store_true", help="1 round, 7 calls, 0.1 s per row")
    parser.add_argument("--out", default=str(HERE / "results" / "export"))
    parser.add_argument("--timeout", type=int, default=600, help="seconds per subprocess")
    parser.add_argument("--work", help="folder for the ONNX files (default: a temporary folder)")
    parser.add_argument("--prepare", help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.runs, args.min_time = 1, 7, 0.1
    if args.prepare or args.check or args.worker:
        work = Path(args.work)
        if args.prepare:
            result = prepare(args.prepare, work)
        elif args.check:
            result = check(work)
        else:
            result = worker(tuple(args.worker.split("/")), work, args.runs, args.min_time)
        print("RESULT " + json.dumps(result))
        return 0
    if args.work:
        Path(args.work).mkdir(parents=True, exist_ok=True)
        return measure(args, Path(args.work))
    with tempfile.TemporaryDirectory(prefix="kapre-export-bench-") as work:
        return measure(args, Path(work))


def measure(args, work: Path) -> int:
    """Export, check, time every row in ``args.rounds`` passes, write the report to ``args.out``."""
    load_start = os.getloadavg()
    started = time.time()
    log = lambda msg: print(f"[{time.time() - started:6.0f} s] {msg}", flush=True)  # noqa: E731
    failures: dict[str, str] = {}
    meta_versions: dict[str, str] = {}
    prepared: dict[str, dict] = {}
    for backend in ("tensorflow", "torch"):
        log(f"exporting from {backend}")
        result, why = subprocess_json(["--prepare", backend, "--work", str(work)], backend, args.timeout)
        if result is None:
            for graph in GRAPHS:
                if graph == f"kapre-{backend}" or (backend == "torch" and graph == "torchaudio"):
                    prepared[graph] = {"error": f"export worker {why}"}
            continue
        meta_versions.update(result.pop("versions"))
        prepared.update(result)
    if (work / "filterbank.npy").exists():
        import onnx

        filterbank = np.load(work / "filterbank.npy")
        onnx.save(stft_op_graph(filterbank, hann(W2["n_fft"])), str(work / GRAPHS["stft-op"][1]))
        onnx.save(two_stage_graph(filterbank, hann(W2["n_fft"])), str(work / GRAPHS["two-stage"][1]))
    checks: dict = {}
    if (work / "reference.npy").exists():
        log("checking the graphs' outputs against kapre's")
        checks, why = subprocess_json(["--check", "--work", str(work)], "tensorflow", args.timeout)
        if checks is None:
            checks = {graph: {"error": f"check worker {why}"} for graph in GRAPHS}
        meta_versions["onnxruntime"] = checks.pop("onnxruntime", "?")
    for graph in GRAPHS:
        found = checks.get(graph) or prepared.get(graph) or {"error": "not exported"}
        if "error" in (prepared.get(graph) or {}):
            found = prepared[graph]
        if "error" in found or not found.get("ok"):
            reason = found.get("error") or (f"output differs from kapre's: max error / max abs. "
                                            f"{found.get('relative_error', float('nan')):.1e} > {TOLERANCE:g}")
            for which in SESSIONS:
                failures[f"onnxruntime/{graph}/{which}"] = reason
            checks.setdefault(graph, {}).setdefault("error", reason)
    pooled: dict[str, list] = {}
    kapre_errors: dict[str, float] = {}
    for number in range(args.rounds):
        for row in all_rows():
            key = row_key(row)
            if key in failures:
                continue
            log(f"round {number + 1}/{args.rounds}: {key}")
            backend = row[1] if row[0] == "kapre" else "tensorflow"
            result, why = subprocess_json(["--worker", key, "--work", str(work), "--runs", str(args.runs),
                                           "--min-time", str(args.min_time)], backend, args.timeout)
            if result is None:
                failures[key] = why
                continue
            if result.get("relative_error", 0.0) > TOLERANCE:
                failures[key] = f"output differs from kapre TF's: {result['relative_error']:.1e}"
                continue
            pooled.setdefault(key, []).extend(result["times"])
            if "relative_error" in result:
                kapre_errors[key] = max(result["relative_error"], kapre_errors.get(key, 0.0))
    summary = summarize(pooled, failures, checks, kapre_errors)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": run.cpu_description(), "load_start": load_start,
            "load_end": os.getloadavg(), "versions": meta_versions, "rounds": args.rounds, "runs": args.runs,
            "min_time_s": args.min_time, "notes": []}
    if max(meta["load_start"][0], meta["load_end"][0]) > 0.5 * (os.cpu_count() or 1):
        meta["notes"].append("The machine was shared with other jobs (load average above half the CPU count): "
                             "medians are noisier and slower than on a quiet machine; the ratios are from the "
                             "same minutes.")
    lines = report_lines(summary, meta, checks)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text("\n".join(lines) + "\n")
    (out / "results.json").write_text(json.dumps({
        "meta": dict(meta, cpu_text=run.cpu_text(meta["cpu"])), "summary": summary,
        "checks": checks}, indent=1, default=float))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
