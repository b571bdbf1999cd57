"""Where kapre's log-mel time goes, stage by stage, against the machine's floor for each stage (issue 25).

For one workload (W2 by default) and each backend in kapre's fastest mode there (PyTorch eager, JAX ``jax.jit``,
TensorFlow ``tf.function``), a child process times:

- **total**: ``kapre.MelSpectrogram`` on the whole batch, output back in NumPy (as ``run.py``'s rows);
- **stages**, each alone on one cache-sized chunk of frames (kapre works a chunk at a time:
  :data:`kapre.functional.CHUNK_SAMPLES`), times the number of chunks: framing and window (the windowed frames
  the FFT reads), FFT, power (``re**2 + im**2``), mel (the filterbank's dense blocks, as the layer applies them),
  dB (``10 log10(max(., amin))``); "the rest" is the total minus the stages: joins, the output's copy to NumPy,
  the per-clip top_db floor and the calls' fixed costs;
- **floors**, measured in the same process on the same frames: for the FFT the fastest real FFT the process has
  (the backend's own, NumPy's, SciPy's on every core; on one chunk at a time and on the whole batch, the better of
  the two); for every other stage a memory copy of the bytes the stage reads (NumPy ``copyto`` into a warm
  buffer, chunk by chunk and whole, the better); for the rest, a copy of the output's bytes.

``sum of floors`` is the machine's own bound for the pipeline; ``total / sum of floors`` says how far kapre is
from it (issue 25 asks for at most 1.5 on W2 on kapre's fastest backend).

    python benchmarks/stages.py [--workload "W2 log-mel"] [--isa native|avx2|both] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import isa  # noqa: E402
from workloads import WORKLOADS, make_input  # noqa: E402

BACKEND_MODE = {"torch": "eager", "jax": "jit", "tensorflow": "function"}  # kapre's fastest mode per backend
STAGES = ("framing + window", "FFT", "power", "mel", "dB")
RESULT_TAG = "STAGES_RESULT "
MIN_TIME_S = 0.6  # seconds of timed calls per figure, spread over ROUNDS rounds
ROUNDS = 5


def timed_ms(fn, min_time: float = MIN_TIME_S, min_calls: int = 15) -> float:
    """Median wall time of ``fn()`` in ms after two warm-up calls."""
    fn()
    fn()
    times, start = [], time.perf_counter()
    while len(times) < min_calls or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 400:
            break
    return float(np.median(times)) * 1e3


def _stage_functions(backend: str, layer, n_fft: int, hop: int) -> dict:
    """Each stage of the layer's pipeline on one chunk, as the layer computes it on ``backend``: PyTorch's eager
    path in torch calls (:mod:`kapre._backend.torch_mel`), elsewhere the ``keras.ops`` composition that the
    backend's compiler runs."""
    from keras import ops

    from kapre import _backend, functional

    window, blocks = layer._window, layer._block_weights
    if backend == "torch":
        import torch

        padded = layer._padded_block_weights or [(r0, r1, w.shape[-1], w) for r0, r1, w in blocks]

        def power(spectrum):
            squares = torch.view_as_real(spectrum).square_()
            return torch.add(squares[..., 0], squares[..., 1])

        def mel(p):
            return torch.cat([torch.matmul(p[..., r0:r1], w)[..., :width] for r0, r1, width, w in padded], -1)

        return {"framing + window": lambda s: torch.mul(s.unfold(-1, n_fft, hop), window),
                "FFT": lambda f: _backend.rfft(f, n_fft), "power": power, "mel": mel,
                "dB": lambda m: m.clamp_min(1e-10).log10_().mul_(10.0)}

    def power(spectrum):
        real, imag = _backend.parts(spectrum)
        return real * real + imag * imag

    return {"framing + window": lambda s: functional._native_frame(s, n_fft, hop) * window,
            "FFT": lambda f: _backend.rfft(f, n_fft), "power": power,
            "mel": lambda p: functional.apply_filterbank_blocks(p, blocks),
            "dB": lambda m: 10.0 * ops.log10(ops.maximum(m, 1e-10))}


def _child(workload: str) -> dict:  # runs in the child process, KERAS_BACKEND set by the parent
    import keras

    import kapre
    from kapre import _backend, functional
    from kapre._frames import frame_chunks, frames_per_chunk, num_frames

    backend = keras.backend.backend()
    mode = BACKEND_MODE[backend]
    sys.path.insert(0, str(HERE))
    from _worker import _compile, _ready, _to_backend, _to_numpy

    if backend == "torch":
        import torch

        torch.set_grad_enabled(False)
    w = WORKLOADS[workload]
    n_fft, hop = w["n_fft"], w["hop"]
    x_np = make_input(w)  # (batch, samples)
    layer = kapre.MelSpectrogram(n_fft=n_fft, hop_length=hop, sample_rate=w["sr"], n_mels=w["n_mels"], power=2.0,
                                 return_decibel=True, db_amin=1e-10, input_data_format="channels_last",
                                 output_data_format="channels_first")
    x = _to_backend(x_np[..., None], backend)
    full = _compile(lambda t: layer(t), backend, mode)
    total = timed_ms(lambda: _to_numpy(full(x)))

    rows, length = x_np.shape
    frames = num_frames(length, n_fft, hop)
    chunks = frame_chunks(frames, frames_per_chunk(rows, n_fft, functional.CHUNK_SAMPLES))
    chunk_frames = chunks[0][1] - chunks[0][0]
    # every stage runs over all the chunks in one call (one compiled function where the mode compiles), so that
    # its fixed cost is paid once, as in the layer, and each chunk's data stays in the cache as there
    chunk_signals = [_to_backend(np.ascontiguousarray(x_np[:, f0 * hop : (f1 - 1) * hop + n_fft]), backend)
                     for f0, f1 in chunks]
    stage_fns = _stage_functions(backend, layer, n_fft, hop)
    value, compiled, held, stage_bytes = chunk_signals, {}, {}, {}
    for name in STAGES:
        compiled[name] = _compile(lambda values, f=stage_fns[name]: [f(v) for v in values], backend, mode)
        held[name] = value
        value = [_ready(v) for v in compiled[name](value)]
        arrays = [a for v in held[name] for a in (_backend.parts(v) if name == "power" else (v,))]
        stage_bytes[name] = int(sum(np.prod(a.shape) for a in arrays) * 4)
    stage_bytes["framing + window"] = rows * frames * n_fft * 4  # what the window step writes (its read is strided)
    # the floors' calls, on the same frames
    frames_np = np.lib.stride_tricks.sliding_window_view(x_np, n_fft, axis=-1)[:, ::hop][:, :frames]
    windowed_np = np.ascontiguousarray(frames_np * np.hanning(n_fft + 1)[:-1].astype(np.float32))
    chunks_np = [np.ascontiguousarray(windowed_np[:, f0:f1]) for f0, f1 in chunks]
    ffts = {"numpy.fft.rfft": lambda a: np.fft.rfft(a)}
    try:
        import scipy.fft

        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        ffts[f"scipy.fft.rfft (workers={workers})"] = lambda a: scipy.fft.rfft(a, workers=workers)
    except ImportError:
        pass
    own = _compile(lambda f: _backend.rfft(f, n_fft), backend, mode)
    ffts[f"{backend} rfft"] = lambda a: _ready(own(a))
    floor_calls = {}
    for name, fn in ffts.items():
        convert = (lambda a: _to_backend(a, backend)) if name.startswith(backend) else (lambda a: a)
        whole_in, chunk_in = convert(windowed_np), [convert(c) for c in chunks_np]
        floor_calls[("fft", name, "whole")] = lambda f=fn, i=whole_in: f(i)
        floor_calls[("fft", name, "chunks")] = lambda f=fn, i=chunk_in: [f(c) for c in i]
    output_bytes = rows * frames * w["n_mels"] * 4
    copies = {name: stage_bytes[name] for name in STAGES if name != "FFT"}
    copies["the rest"] = output_bytes
    for name, nbytes in copies.items():
        source, target = np.ones(max(1, nbytes // 4), np.float32), np.zeros(max(1, nbytes // 4), np.float32)
        piece = -(-source.size // len(chunks))
        pieces = [(target[i : i + piece], source[i : i + piece]) for i in range(0, source.size, piece)]
        floor_calls[("copy", name, "whole")] = lambda d=target, s=source: np.copyto(d, s)
        floor_calls[("copy", name, "chunks")] = lambda p=pieces: [np.copyto(d, s) for d, s in p]

    # rounds over every call in turn: the machine's speed drifts (other tenants), so each figure is the median of
    # calls spread over the whole measurement, and the layer, its stages and the floors see the same drift
    calls = {"total": lambda: _to_numpy(full(x))}
    for name in STAGES:
        calls[name] = lambda c=compiled[name], v=held[name]: [_ready(o) for o in c(v)]
    calls.update(floor_calls)
    times = {name: [] for name in calls}
    for _ in range(ROUNDS):
        for name, call in calls.items():
            times[name].append(timed_ms(call, min_time=MIN_TIME_S / ROUNDS, min_calls=5))
    median = {name: float(np.median(t)) for name, t in times.items()}
    total = median["total"]
    stage_ms = {name: median[name] for name in STAGES}
    fft_floors = {name: min(median[("fft", name, "whole")], median[("fft", name, "chunks")]) for name in ffts}
    best_fft = min(fft_floors, key=fft_floors.get)
    copy_floors = {name: min(median[("copy", name, "whole")], median[("copy", name, "chunks")]) for name in copies}
    floors = {name: fft_floors[best_fft] if name == "FFT" else copy_floors[name] for name in STAGES}
    return dict(backend=backend, mode=mode, workload=workload, total_ms=total, stages_ms=stage_ms,
                stage_bytes=stage_bytes, rest_ms=total - sum(stage_ms.values()), floors_ms=floors,
                rest_floor_ms=copy_floors["the rest"], fft_floors_ms=fft_floors, best_fft=best_fft,
                chunks=len(chunks), chunk_frames=chunk_frames * rows, frames=frames * rows)


def measure(backend: str, workload: str, env: dict | None = None, timeout: float = 600) -> dict:
    """Run :func:`_child` for ``backend`` in a child process with ``env`` added (``isa.AVX2_ENV`` for the AVX2
    column); returns its result, or ``{"error": ...}``."""
    child_env = {k: v for k, v in os.environ.items() if k not in isa.AVX2_ENV}
    child_env.update(env or {}, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    code = (f"import sys, json; sys.path.insert(0, {str(HERE)!r}); import stages; "
            f"print({RESULT_TAG!r} + json.dumps(stages._child({workload!r})))")
    try:
        proc = subprocess.run([sys.executable, "-c", code], env=child_env, capture_output=True, text=True,
                              timeout=timeout, cwd=str(HERE))
    except subprocess.TimeoutExpired:
        return {"backend": backend, "error": f"timed out after {timeout} s"}
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
    return {"backend": backend, "error": f"exited with {proc.returncode}: {tail}"[:500]}


def floors_sum(result: dict) -> float:
    return sum(result["floors_ms"].values()) + result["rest_floor_ms"]


def intro_lines() -> list[str]:
    """How to read the breakdown's tables."""
    return ["Per backend (kapre's fastest mode on it), each stage timed alone over all the chunks of the batch in "
            "one call, next to its floor measured in the same process: for the FFT the fastest real FFT the "
            "process has on the same frames, for the other stages a memory copy of the bytes the stage reads. "
            "`the rest` is the layer's total minus its stages: joins, the per-clip top_db floor, the copy of the "
            "output to NumPy and the calls' fixed costs; it is negative where the compiler fuses stages that run "
            "separately here (JAX, TensorFlow). `total / sum of floors` is how far the layer is from the "
            "machine's own bound (benchmarks/stages.py).", ""]


def fastest(per_backend: list[dict]) -> dict | None:
    """The backend with the smallest total in one column."""
    ok = [r for r in per_backend if "error" not in r]
    return min(ok, key=lambda r: r["total_ms"]) if ok else None


def report_lines(results: dict[str, list[dict]], workload: str, heading: str = "###") -> list[str]:
    """Markdown: per ISA column and backend, each stage's time next to its floor; then the totals."""
    lines = []
    for column, per_backend in results.items():
        best = fastest(per_backend)
        lines += [f"{heading} {workload}, {column}", ""]
        if best:
            lines += [f"kapre's fastest backend here: {best['backend']} [{best['mode']}], {best['total_ms']:.2f} ms "
                      f"against a sum of floors of {floors_sum(best):.2f} ms: "
                      f"**{best['total_ms'] / floors_sum(best):.2f}x** (target: at most 1.5x).", ""]
        lines += ["| stage | " + " | ".join(f"{r['backend']} [{r.get('mode', '?')}]: ms (floor)" for r in per_backend)
                  + " | the floor is |", "|---" * (len(per_backend) + 2) + "|"]
        for stage in (*STAGES, "the rest"):
            cells = []
            for r in per_backend:
                if "error" in r:
                    cells.append("failed")
                elif stage == "the rest":
                    cells.append(f"{r['rest_ms']:.2f} ({r['rest_floor_ms']:.2f})")
                else:
                    cells.append(f"{r['stages_ms'][stage]:.2f} ({r['floors_ms'][stage]:.2f})")
            what = ("the fastest real FFT in the process" if stage == "FFT" else "a copy of the output"
                    if stage == "the rest" else "a copy of the bytes it reads")
            lines.append(f"| {stage} | " + " | ".join(cells) + f" | {what} |")
        lines.append("| **total** | " + " | ".join(
            "failed" if "error" in r else f"**{r['total_ms']:.2f}** ({floors_sum(r):.2f})" for r in per_backend)
            + " | the sum of the floors |")
        lines.append("| total / sum of floors | " + " | ".join(
            "-" if "error" in r else f"{r['total_ms'] / floors_sum(r):.2f}" for r in per_backend) + " | |")
        lines.append("")
        for r in per_backend:
            if "error" in r:
                lines.append(f"- {r['backend']}: {r['error']}")
                continue
            ffts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["fft_floors_ms"].items(), key=lambda kv: kv[1]))
            lines.append(f"- {r['backend']}: {r['frames']} frames in {r['chunks']} chunks of about "
                         f"{r['chunk_frames']}; FFTs in the process (ms, whole batch or chunk by chunk, the better): "
                         f"{ffts}.")
        lines.append("")
    return lines


def columns(which: str) -> dict[str, dict]:
    """The ISA columns to run: ``native`` and/or ``AVX2`` (the AVX-512 switches of ``isa.AVX2_ENV``); on a CPU
    without AVX-512 the native column is the AVX2 one, and only it runs."""
    has_avx512 = isa.cpu_has_avx512()
    out = {}
    if which in ("native", "both"):
        out["native ISA" + (" (AVX-512)" if has_avx512 else " (no AVX-512: the AVX2 column)")] = {}
    if which in ("avx2", "both") and has_avx512:
        out["AVX-512 off (isa.AVX2_ENV)"] = dict(isa.AVX2_ENV)
    return out


def breakdown(workload: str = "W2 log-mel", which: str = "both", backends=tuple(BACKEND_MODE), log=print) -> dict:
    results: dict[str, list[dict]] = {}
    for column, env in columns(which).items():
        results[column] = []
        for backend in backends:
            result = measure(backend, workload, env)
            results[column].append(result)
            log(f"{column:32s} {backend:10s} " + (result["error"] if "error" in result else
                f"total {result['total_ms']:.2f} ms, sum of floors {floors_sum(result):.2f} ms"))
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", default="W2 log-mel", choices=[k for k, v in WORKLOADS.items()
                                                                     if v.get("task") == "logmel"])
    parser.add_argument("--isa", default="both", choices=("native", "avx2", "both"))
    parser.add_argument("--out", default=str(HERE / "results" / "stages"))
    args = parser.parse_args(argv)
    import run

    results = breakdown(args.workload, args.isa)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    text = [f"# Stage breakdown: {args.workload} (benchmarks/stages.py)", "",
            f"{time.strftime('%Y-%m-%d %H:%M')}, {run.cpu_text(run.cpu_description())}.", "", *intro_lines(),
            *report_lines(results, args.workload, heading="##")]
    (out / "results.md").write_text("\n".join(text))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
