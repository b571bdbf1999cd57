"""Streaming front-end cost per chunk (issue 19): ``python benchmarks/streaming.py`` (or ``benchmarks/run.py
--suite streaming``).

One front-end, 16 kHz audio, 64 log-mel bands (``kapre.MelSpectrogram(n_fft=512, win_length=400, hop_length=160,
n_mels=64, return_decibel=True, db_dynamic_range=None)``: 25 ms frames every 10 ms), converted with
``kapre.streaming.to_streaming(mode='external')`` and fed 10 ms chunks (160 samples) of noise, one chunk per call,
the state carried from call to call, the features brought back to the host (NumPy) inside the timed call. Rows:

- each backend's eager step (``twin.step``: op by op, no compilation) and compiled step (``twin.compiled_step()``:
  ``jax.jit``, TensorFlow's concrete XLA function; on PyTorch the step itself, whose framing, slot zeroing and
  counts run in plain torch calls), and on PyTorch also ``torch.compile(twin.step)``;
- LiteRT: the step as a Keras model (``twin.step_model(160)``), exported from TensorFlow and converted with builtin
  ops only, run by the LiteRT interpreter (``ai_edge_litert`` or ``tf.lite``), state tensors fed back.

Each row runs in its own subprocess (this file with ``--worker``), ``--rounds`` times over the list, pooled: after
``--warmup`` chunks (compilation included), ``--chunks`` timed chunks. Reported per row: per-chunk median, 99th
percentile and max in ms, the real-time factor (compute time / audio time), and the median as a share of the
chunk's 10 ms (issue 19: the compiled step at most 10 % on a 2-core CPU). Results: ``benchmarks/results/streaming``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SAMPLE_RATE, CHUNK, N_MELS = 16000, 160, 64
ROWS = (("tensorflow", "eager"), ("tensorflow", "compiled"), ("jax", "eager"), ("jax", "compiled"),
        ("torch", "eager"), ("torch", "compiled"), ("torch", "torch.compile"), ("tensorflow", "litert"))
TARGET_SHARE = 0.10  # issue 19: compiled per-chunk cost at most 10 % of the chunk's duration


def front_end():
    import kapre

    return kapre.MelSpectrogram(n_fft=512, win_length=400, hop_length=160, sample_rate=SAMPLE_RATE, n_mels=N_MELS,
                                return_decibel=True, db_dynamic_range=None, input_data_format="channels_last",
                                output_data_format="channels_last")


def _litert_runner(twin, tmp: Path):
    """The step converted to LiteRT (builtin ops only); returns ``run(chunk, state) -> (features, state)``."""
    import tensorflow as tf

    model = twin.step_model(CHUNK)
    export_dir = tmp / "step_saved_model"
    model.export(str(export_dir), format="tf_saved_model", verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(export_dir))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    flatbuffer = converter.convert()
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = tf.lite.Interpreter
    interpreter = Interpreter(model_content=flatbuffer)
    interpreter.allocate_tensors()
    ops_used = {op["op_name"] for op in interpreter._get_ops_details()}
    if any(name.startswith("Flex") or name == "CUSTOM" for name in ops_used):
        raise RuntimeError(f"non-builtin ops in the LiteRT step: {sorted(ops_used)}")
    runner = interpreter.get_signature_runner()
    input_names = list(runner.get_input_details())
    output_details = runner.get_output_details()
    names = ["chunk", *(name.replace("/", "__") for name in twin.initial_state(1, 1))]

    def by_name(key):  # the signature's names are the Keras inputs' (maybe with a suffix)
        return next(n for n in input_names if n == key or n.startswith(key))

    state_names = names[1:]
    outputs_in_order = sorted(output_details, key=lambda n: int(n.rsplit("_", 1)[-1]) if n[-1].isdigit() else 0)

    def run(chunk, state):
        feeds = {by_name("chunk"): chunk}
        feeds.update({by_name(name): state[name] for name in state_names})
        result = runner(**feeds)
        values = [result[name] for name in outputs_in_order]
        return values[0], dict(zip(state_names, values[1:], strict=True))

    return run


def worker(backend: str, mode: str, warmup: int, chunks: int) -> dict:
    os.environ["KERAS_BACKEND"] = backend
    import tempfile

    import keras

    from kapre.streaming import to_streaming

    twin = to_streaming(front_end(), mode="external")
    audio = np.random.default_rng(0).uniform(-1.0, 1.0, (1, (warmup + chunks) * CHUNK, 1)).astype("float32")
    initial = twin.initial_state(1, 1)
    if mode == "litert":
        tmp = Path(tempfile.mkdtemp())
        step = _litert_runner(twin, tmp)
        state = {name.replace("/", "__"): value for name, value in initial.items()}

        def call(chunk, state):
            features, new_state = step(chunk, state)
            return np.asarray(features), new_state
    else:
        if mode == "torch.compile":
            import torch

            fn = torch.compile(twin.step)
        elif mode == "compiled":
            fn = twin.compiled_step()  # on PyTorch the step itself, with its eager fast paths
        else:
            fn = twin.step
        state = {name: keras.ops.convert_to_tensor(value) for name, value in initial.items()}

        def call(chunk, state):
            features, new_state = fn(chunk, state)
            return keras.ops.convert_to_numpy(features), new_state

    times = []
    for index in range(warmup + chunks):
        chunk = audio[:, index * CHUNK : (index + 1) * CHUNK]
        start = time.perf_counter()
        features, state = call(chunk, state)
        elapsed = time.perf_counter() - start
        if index >= warmup:
            times.append(elapsed)
    assert features.shape == (1, 1, N_MELS, 1), features.shape
    return {"times": times}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> str:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return ""
    return "AVX-512" if "avx512f" in flags else ("AVX2" if "avx2" in flags else "no AVX2")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--chunks", type=int, default=500)
    parser.add_argument("--out", default=str(HERE / "results" / "streaming"))
    parser.add_argument("--worker", nargs=2, metavar=("BACKEND", "MODE"))
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker, args.warmup, args.chunks)))
        return 0
    pooled: dict[tuple, list] = {row: [] for row in ROWS}
    failures: dict[tuple, str] = {}
    for _ in range(args.rounds):
        for backend, mode in ROWS:
            if (backend, mode) in failures:
                continue
            env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
            command = [sys.executable, __file__, "--worker", backend, mode, "--warmup", str(args.warmup),
                       "--chunks", str(args.chunks)]
            try:
                done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                failures[(backend, mode)] = f"timed out after {args.timeout} s"
                continue
            if done.returncode != 0:
                failures[(backend, mode)] = (done.stderr.strip().splitlines() or ["failed"])[-1][:300]
                continue
            pooled[(backend, mode)].extend(json.loads(done.stdout.strip().splitlines()[-1])["times"])
    chunk_ms = 1000.0 * CHUNK / SAMPLE_RATE
    lines = [
        "# Streaming front-end: cost per 10 ms chunk (issue 19)",
        "",
        f"CPU: {cpu_name()} ({os.cpu_count()} cores, {cpu_flags()}); Python {platform.python_version()}.",
        f"Front-end: 16 kHz, 64 log-mel bands, 25 ms frames every 10 ms; one {CHUNK}-sample chunk per call, the "
        f"features back in NumPy inside the timed call; {args.rounds} rounds x {args.chunks} chunks pooled after "
        f"{args.warmup} warm-up chunks.",
        "",
        "| backend | step | median ms | p99 ms | max ms | real-time factor | median / chunk (compiled: <= 10 %) |",
        "|---|---|---|---|---|---|---|",
    ]
    results = {}
    for backend, mode in ROWS:
        times = np.asarray(pooled[(backend, mode)]) * 1000.0
        if (backend, mode) in failures or not times.size:
            lines.append(f"| {backend} | {mode} | not run: {failures.get((backend, mode), 'no timings')} |||||")
            continue
        median, p99, worst = np.median(times), np.percentile(times, 99), times.max()
        share = median / chunk_ms
        rtf = times.sum() / (times.size * chunk_ms)
        verdict = "" if mode not in ("compiled", "litert") else (" (holds)" if share <= TARGET_SHARE else
                                                                  " (misses)")
        lines.append(f"| {backend} | {mode} | {median:.3f} | {p99:.3f} | {worst:.3f} | {rtf:.4f} | "
                     f"{100 * share:.1f} %{verdict} |")
        results[f"{backend}/{mode}"] = {"median_ms": median, "p99_ms": p99, "max_ms": worst, "rtf": rtf}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text("\n".join(lines) + "\n")
    (out / "results.json").write_text(json.dumps({"cpu": cpu_name(), "rows": results, "failures": {
        f"{b}/{m}": reason for (b, m), reason in failures.items()}}, indent=2))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
