"""``kapre stream FILE -o OUT.npy``: play a file through a streaming front-end, chunk by chunk, and time it.

The front-end is chosen as ``kapre extract`` chooses it (feature options, ``--frontend NAME``, ``--config``), with the
stream's own defaults (:func:`apply_stream_defaults`: a 64-band log-mel at 16 kHz, 25 ms frames every 10 ms, no
decibel floor), converted by :func:`kapre.streaming.to_streaming` into its external-state twin, and the file fed
through the twin's compiled step (:meth:`kapre.streaming.StreamingFrontEnd.compiled_step`) in chunks of ``--chunk-ms``:
every sample, the last chunk with what is left (one more trace for its size). The valid frames of each step (the
first ``new_state['num_frames']`` slots) are concatenated and written as ``kapre extract`` writes features (a .npy
through a temporary file and a rename: never half a file); nothing is written unless the whole file went through.

:func:`stream_audio` is the loop itself, usable from Python; it returns the features and the report (a dict, the
fields of :data:`REPORT_KEYS`). See ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from kapre.cli._output import OutputPathError, atomic_save, prepare_output_file
from kapre.cli._report import _one_line

__all__ = ["run", "stream_audio", "apply_stream_defaults", "chunk_samples", "STREAM_DEFAULTS", "REPORT_KEYS"]

# The stream's defaults where the front-end is built from feature options (no --frontend, no --config): 16 kHz,
# 25 ms frames every 10 ms (with none of --n-fft, --win-length, --hop given), 64 mel bands, decibels without --feature,
# and no decibel floor (--top-db none: a per-file floor needs the whole file; --top-db DB gives a causal one).
STREAM_DEFAULTS = {"sample_rate": 16000, "n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 64}
_STFT_FEATURES = ("stft", "mel", "logfreq", "mfcc")

# The fields of the report (stream_audio's second result); the command prints them.
REPORT_KEYS = ("backend", "compiled", "sample_rate", "channels", "samples", "duration_s", "chunk_samples", "chunk_ms",
               "chunks", "last_chunk_samples", "frames", "shape", "hop_samples", "hop_ms", "frame_samples", "frame_ms",
               "lookahead_samples", "lookahead_ms", "algorithmic_latency_ms", "latency_median_ms", "latency_p99_ms",
               "latency_max_ms", "compute_s", "real_time_factor", "warmup_s", "realtime", "late_chunks", "wall_s")


def apply_stream_defaults(args: argparse.Namespace) -> None:
    """Fill the stream's defaults (:data:`STREAM_DEFAULTS`) into the options not given on the command line, so that
    :func:`kapre.cli.options.options_from_args` builds the default front-end: ``kapre.MelSpectrogram(n_fft=512,
    win_length=400, hop_length=160, sample_rate=16000, n_mels=64, return_decibel=True, db_dynamic_range=None)``.
    A ``--frontend`` or a ``--config`` brings its own front-end: nothing is filled in."""
    if getattr(args, "frontend", None) or getattr(args, "config", None):
        return
    feature = args.feature or "mel"
    if args.sample_rate is None:
        args.sample_rate = STREAM_DEFAULTS["sample_rate"]
    if feature in _STFT_FEATURES and args.n_fft is None and args.win_length is None and args.hop_length is None:
        args.n_fft, args.win_length, args.hop_length = (STREAM_DEFAULTS[k] for k in ("n_fft", "win_length",
                                                                                      "hop_length"))
    if feature in ("mel", "mfcc") and args.n_mels is None:
        args.n_mels = STREAM_DEFAULTS["n_mels"]
    if args.feature is None and args.db is None:
        args.db = True


def chunk_samples(chunk_ms: float, sample_rate: int) -> int:
    """``chunk_ms`` milliseconds in whole samples at ``sample_rate`` (rounded; 0 when below half a sample)."""
    return int(round(float(chunk_ms) * sample_rate / 1000.0))


def _compiled_by(backend: str) -> str:
    return {"jax": "jax.jit", "tensorflow": "tf.function"}.get(backend, "eager (PyTorch runs the step as it is)")


def stream_audio(twin, audio: np.ndarray, sample_rate: int, chunk: int, realtime: bool = False,
                 samples_layout: bool = False) -> tuple[np.ndarray, dict]:
    """Feed ``audio`` ``(samples, channels)`` float32 through the external-state streaming front-end ``twin`` in
    chunks of ``chunk`` samples (the last one holds what is left), through its compiled step.

    Each step is timed from the NumPy chunk to the NumPy features and frame count (the conversions included); the
    first call of each chunk size (the trace and compilation) is made beforehand on zeros, from the initial state,
    and reported apart (``warmup_s``). With ``realtime``, each chunk is fed when its last sample would have arrived
    (the wall clock since the start); ``late_chunks`` counts the steps that ended after the next chunk was due.

    Args:
        twin: a :class:`kapre.streaming.StreamingFrontEnd` with ``mode='external'``.
        audio: ``(samples, channels)``.
        sample_rate: of ``audio``.
        chunk: samples per chunk, at least 1.
        realtime: pace the chunks by the wall clock.
        samples_layout: feed ``(1, samples)`` chunks (a model front-end of :mod:`kapre.frontends` on one channel)
            instead of ``(1, samples, channels)``.

    Returns:
        ``(features, report)``: the valid frames of every step, concatenated along the output's time axis, without
        the batch axis; the report holds :data:`REPORT_KEYS`.
    """
    import keras

    ops = keras.ops
    audio = np.asarray(audio, dtype=np.float32)
    samples, channels = audio.shape
    signal = np.ascontiguousarray(audio[:, 0][None] if samples_layout else audio[None])  # (1, samples[, channels])
    chunk = int(chunk)
    if chunk < 1:
        raise ValueError(f"chunk must be at least one sample, received chunk={chunk!r}.")
    if samples < 1:
        raise ValueError("no samples to stream")
    chunk = min(chunk, samples)
    bounds = [(start, min(samples, start + chunk)) for start in range(0, samples, chunk)]
    time_axis = twin.output_time_axis  # of the batched output; the batch axis is dropped below
    step = twin.compiled_step()
    initial = {name: ops.convert_to_tensor(value)
               for name, value in twin.initial_state(1, 1 if samples_layout else channels).items()}

    start = time.perf_counter()
    for size in sorted({end - begin for begin, end in bounds}, reverse=True):  # trace and compile each size once
        zeros = np.zeros((1, size) + signal.shape[2:], np.float32)
        features, new_state = step(ops.convert_to_tensor(zeros), initial)
        ops.convert_to_numpy(features), ops.convert_to_numpy(new_state["num_frames"])
    warmup = time.perf_counter() - start

    state = initial
    pieces, latencies, late = [], [], 0
    clock = time.perf_counter()
    for number, (begin, end) in enumerate(bounds):
        if realtime:  # the chunk is there once its last sample has arrived
            wait = clock + end / sample_rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        tick = time.perf_counter()
        features, state = step(ops.convert_to_tensor(signal[:, begin:end]), state)
        features = ops.convert_to_numpy(features)
        count = int(ops.convert_to_numpy(state["num_frames"])[0])
        latencies.append(time.perf_counter() - tick)
        if realtime and number + 1 < len(bounds) and time.perf_counter() > clock + bounds[number + 1][1] / sample_rate:
            late += 1
        if count or (not pieces and number == len(bounds) - 1):  # no frame at all: zero frames, the same layout
            pieces.append(np.take(features[0], np.arange(count), axis=time_axis - 1))
    wall = time.perf_counter() - clock
    features = np.concatenate(pieces, axis=time_axis - 1) if len(pieces) > 1 else pieces[0]
    frames = int(features.shape[time_axis - 1])

    latencies_ms = np.asarray(latencies) * 1000.0
    compute = float(np.sum(latencies))
    duration = samples / sample_rate
    ms = 1000.0 / sample_rate
    lookahead = int(twin.latency_samples)
    backend = keras.backend.backend()
    report = {
        "backend": backend, "compiled": _compiled_by(backend), "sample_rate": int(sample_rate),
        "channels": int(channels), "samples": int(samples), "duration_s": duration, "chunk_samples": chunk,
        "chunk_ms": chunk * ms, "chunks": len(bounds), "last_chunk_samples": bounds[-1][1] - bounds[-1][0],
        "frames": frames, "shape": list(features.shape), "hop_samples": int(twin.hop_length),
        "hop_ms": twin.hop_length * ms, "frame_samples": int(twin.frame_length), "frame_ms": twin.frame_length * ms,
        "lookahead_samples": lookahead, "lookahead_ms": lookahead * ms,
        "algorithmic_latency_ms": (twin.frame_length + lookahead) * ms,
        "latency_median_ms": float(np.median(latencies_ms)), "latency_p99_ms": float(np.percentile(latencies_ms, 99)),
        "latency_max_ms": float(np.max(latencies_ms)), "compute_s": compute, "real_time_factor": compute / duration,
        "warmup_s": warmup, "realtime": bool(realtime), "late_chunks": late if realtime else None, "wall_s": wall,
    }
    return features.astype(np.float32, copy=False), report


def _front_end_name(args, spec, options) -> str:
    if spec is not None:
        return f"--frontend {spec.name} (kapre.frontends.{spec.builder})"
    if args.config:
        return f"--config {args.config}"
    o = options
    words = [f"--feature {o.feature}", f"--sr {o.sample_rate}"]
    if o.feature in _STFT_FEATURES:
        words += [f"--n-fft {o.n_fft}"] + ([f"--win-length {o.win_length}"] if o.win_length else [])
    words.append(f"--hop {o.resolved_hop}")
    if o.feature in ("mel", "mfcc"):
        words.append(f"--n-mels {o.n_mels}")
    if o.feature == "mfcc":
        words.append(f"--n-mfcc {o.n_mfcc}")
    if o.db or o.feature == "mfcc":
        words.append(("--db " if o.db else "") + ("--top-db none" if o.top_db is None else f"--top-db {o.top_db:g}"))
    return " ".join(words)


def _needed(twin) -> int:
    """Samples before the first frame is emitted: the first frame's samples (less the zeros the front-end puts in
    front) and its look-ahead."""
    first = twin.stages[0]
    return int(first.frame_length - getattr(first, "left_padding", 0) + twin.latency_samples)


def format_report(report: dict, path: str, output: str, front_end: str) -> str:
    r = report
    channels = f"{r['channels']} channel{'s' if r['channels'] != 1 else ''}"
    last = "" if r["last_chunk_samples"] == r["chunk_samples"] else f", the last {r['last_chunk_samples']} samples"
    lines = [
        f"kapre stream: {path}: {r['duration_s']:.2f} s at {r['sample_rate']} Hz, {channels}, through {front_end} "
        f"as its streaming twin (external state, {r['compiled']}, backend {r['backend']})",
        f"  chunks: {r['chunks']} of {r['chunk_samples']} samples ({r['chunk_ms']:.4g} ms){last}"
        + (", in real time" if r["realtime"] else ", as fast as possible"),
        f"  frames: {r['frames']}, hop {r['hop_samples']} samples ({r['hop_ms']:.4g} ms)",
        f"  latency per chunk: median {r['latency_median_ms']:.3f} ms, 99th percentile {r['latency_p99_ms']:.3f} ms, "
        f"max {r['latency_max_ms']:.3f} ms (compute, the features to NumPy included; the first trace and "
        f"compilation, {r['warmup_s']:.2f} s, before the run)",
        f"  real-time factor: {r['real_time_factor']:.4f} (compute {r['compute_s'] * 1000:.1f} ms for "
        f"{r['duration_s']:.2f} s of audio)" + (f"; {r['late_chunks']} chunk(s) late" if r["realtime"] else ""),
        f"  algorithmic latency: {r['algorithmic_latency_ms']:.4g} ms (a frame of {r['frame_samples']} samples, "
        f"{r['frame_ms']:.4g} ms, and a look-ahead of {r['lookahead_samples']} samples, {r['lookahead_ms']:.4g} ms; "
        "plus up to one chunk)",
        f"kapre stream: wrote {output} {tuple(r['shape'])}",
    ]
    return "\n".join(lines)


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from kapre.cli.options import build_reported, options_from_args

    apply_stream_defaults(args)
    options, model = options_from_args(parser, args)
    if args.config_note:
        print(f"kapre stream: note: {args.config_note}", file=sys.stderr)
    if not args.config:  # the stream's default: no per-file decibel floor (--top-db DB asks for a causal one)
        options.top_db = args.top_db
    spec = args.frontend_spec
    if model is None:
        model = build_reported(parser, options)
    front_end = _front_end_name(args, spec, options)

    # Everything that needs no audio, before the file is read (exit status 2).
    samples = chunk_samples(args.chunk_ms, options.sample_rate)
    if samples < 1:
        parser.error(f"--chunk-ms {args.chunk_ms:g} is less than one sample at {options.sample_rate} Hz (one sample "
                     f"is {1000.0 / options.sample_rate:.4g} ms)")
    from kapre.streaming import NotStreamable, to_streaming

    try:
        twin = to_streaming(model, mode="external", db_floor=args.db_floor)
    except (NotStreamable, TypeError) as err:
        parser.error(f"{front_end} cannot stream: {_one_line(err)}")
    if not args.output.lower().endswith(".npy"):
        parser.error(f"-o {args.output}: kapre stream writes the features as .npy; name a .npy file")
    try:
        prepare_output_file(args.output)
    except OutputPathError as err:
        parser.error(f"-o {args.output}: {err}")

    from kapre.audio import AudioError, MissingDependencyError, load_audio

    try:
        audio, sr = load_audio(args.file, sample_rate=options.sample_rate, mono=options.mono)
    except (AudioError, MissingDependencyError) as err:
        print(f"kapre stream: error: {args.file}: {err}", file=sys.stderr)
        return 1
    needed = _needed(twin)
    if audio.shape[0] < needed:
        print(f"kapre stream: error: {args.file}: too short: {audio.shape[0]} samples at {sr} Hz give no frame (the "
              f"first frame needs {needed})", file=sys.stderr)
        return 1
    # A --frontend takes (batch, samples) for one channel; --per-channel keeps a channels axis, as kapre extract saves
    # it (a model front-end adds one to (batch, samples, channels) input).
    samples_layout = spec is not None and (options.mono or audio.shape[1] == 1)
    try:
        features, report = stream_audio(twin, audio, sr, samples, realtime=args.realtime,
                                        samples_layout=samples_layout)
    except ValueError as err:
        print(f"kapre stream: error: {args.file}: {_one_line(err)}", file=sys.stderr)
        return 1
    if spec is not None and not options.mono and audio.shape[1] == 1:
        features = features[..., None]
        report["shape"] = list(features.shape)
    try:
        atomic_save(args.output, features)
    except OSError as err:
        print(f"kapre stream: error: cannot write {args.output}: {err.strerror or err}", file=sys.stderr)
        return 1
    print(format_report(report, args.file, args.output, front_end), flush=True)
    return 0
