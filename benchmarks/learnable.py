"""The learnable front-ends against their PyTorch peers (issue 18): ``python benchmarks/run.py --suite learnable``
(or ``python benchmarks/learnable.py``).

Rows (:data:`ROWS`, one :class:`Row` each; a new comparison is one more entry): ``kapre.LEAF`` against
speechbrain's LEAF (``speechbrain.lobes.features.Leaf``) and ``kapre.SincConv`` against speechbrain's
``speechbrain.nnet.CNN.SincConv``, each on a batch of 32 one-second clips at 16 kHz; ``kapre.PCEN`` against
``librosa.pcen``, ``kapre.GriffinLim`` against ``librosa.griffinlim`` and torchaudio's ``GriffinLim``, and
``kapre.InverseMel`` against ``librosa.feature.inverse.mel_to_stft`` and torchaudio's ``InverseMelScale``. kapre
runs on TensorFlow (``tf.function``, and with XLA: ``jit_compile=True``), JAX (``jax.jit``) and PyTorch (eager); the
peers on PyTorch (eager) or NumPy.
Each is timed forward (inference: no gradient recorded) and, for layers with trainable weights, forward + backward
(the gradient of the output's sum with respect to every trainable weight, as a training step computes it).

Every configuration (row x implementation x backend) runs in its own subprocess (this file with ``--worker``), one
after the other, ``--rounds`` times over the whole list (load on a shared machine comes and goes; the timed calls
of the rounds are pooled): the input made in NumPy (uniform noise in [-1, 1), seed 0) and converted before the
clock starts, one warm-up call (compilation included), then at least ``--runs`` timed calls, each bringing the
result back to the host (the output as a NumPy array; for forward + backward, every gradient). Reported: median,
min and max per call, and the peer's median over kapre's (``x`` = how many times faster kapre is).

speechbrain comes from ``.bench-speechbrain`` (``bash benchmarks/setup_speechbrain.sh``: ``pip install --target
--no-deps``, so it cannot change the installed torch or NumPy) and imports torchaudio, which comes from the test
references' folder ``.test-references`` (``python tests/references.py``); both are put on ``PYTHONPATH`` for the
peer rows only. A peer whose folder is missing is skipped with the command that builds it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEECHBRAIN_DIR = ROOT / ".bench-speechbrain"  # speechbrain (pip --target --no-deps): benchmarks/setup_speechbrain.sh
REFERENCES_DIR = ROOT / ".test-references"  # torchaudio, which speechbrain imports: tests/references.py
KAPRE_MODES = (("tensorflow", "tf.function"), ("tensorflow", "tf.function(jit_compile=True)"), ("jax", "jax.jit"),
               ("torch", "eager"))
PASSES = ("forward", "forward+backward")
TARGET_SPEEDUP = 1.5  # issue 18: kapre.LEAF at least 1.5x faster than speechbrain's LEAF


# -- the rows ------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    """One comparison: a workload, kapre's layer and its peers.

    ``kapre(w)`` returns ``(layer, to_input)``: a Keras layer and the function that makes its input from the
    ``(batch, samples)`` NumPy batch. Each peer ``builder(w, torch)`` returns ``(module, to_input)``: a callable
    PyTorch module (its trainable parameters are ``module.parameters()``) and the function that makes its input
    from the NumPy batch. ``needs`` names the peer folders a peer's rows need (:data:`PEER_SETUP`).
    """

    name: str
    workload: dict
    kapre: Callable
    peers: dict
    needs: tuple = ("speechbrain",)
    target: float | None = None  # the speed-up over each peer the issue asks for (None: reported only)
    note: str = ""
    make_input: Callable | None = None  # w -> the NumPy batch (default: uniform noise waveforms (batch, samples))
    trainable: bool = True  # False: no trainable weight, forward only
    size: str = ""  # the workload in words, for the report's heading (default: batch x seconds at sr)


def _kapre_leaf(w):
    import kapre

    layer = kapre.LEAF(n_filters=w["n_filters"], sample_rate=w["sr"], input_data_format="channels_last",
                       output_data_format="channels_last")
    return layer, lambda x: x[..., None]  # (batch, samples, 1)


def _speechbrain_leaf(w, torch):
    from speechbrain.lobes.features import Leaf

    module = Leaf(out_channels=w["n_filters"], window_len=25.0, window_stride=10.0, sample_rate=w["sr"],
                  in_channels=1, min_freq=60.0, max_freq=7800.0)  # max_freq: its default is sr / 2
    return module, torch.from_numpy  # (batch, samples) -> (batch, frames, n_filters)


def _kapre_sincconv(w):
    import kapre

    layer = kapre.SincConv(filters=w["filters"], kernel_size=w["kernel_size"], sample_rate=w["sr"],
                           padding="valid", input_data_format="channels_last", output_data_format="channels_last")
    return layer, lambda x: x[..., None]


def _speechbrain_sincconv(w, torch):
    from speechbrain.nnet.CNN import SincConv

    module = SincConv(out_channels=w["filters"], kernel_size=w["kernel_size"], in_channels=1, sample_rate=w["sr"],
                      padding="valid")
    return module, lambda x: torch.from_numpy(x[..., None])  # (batch, samples, 1) -> (batch, time, filters)


def _noise_waveforms(w) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1.0, 1.0, (w["batch"], int(w["seconds"] * w["sr"]))).astype("float32")


def _stft_magnitudes(w) -> np.ndarray:
    """``|STFT|`` (batch, frames, n_fft // 2 + 1) of noise waveforms, Hann window, librosa's centred frames."""
    x = _noise_waveforms(w)
    n_fft, hop = w["n_fft"], w["hop_length"]
    padded = np.pad(x, [(0, 0), (n_fft // 2, n_fft // 2)])
    starts = np.arange(1 + x.shape[1] // hop) * hop
    frames = padded[:, starts[:, None] + np.arange(n_fft)] * np.hanning(n_fft + 1)[:-1]
    return np.abs(np.fft.rfft(frames, axis=-1)).astype("float32")


def _mel_powers(w) -> np.ndarray:
    """A mel power spectrogram (batch, frames, n_mels) of noise waveforms (kapre's filterbank, librosa's)."""
    from kapre import constants

    basis = constants.mel_filterbank(w["sr"], w["n_fft"] // 2 + 1, w["n_mels"], 0.0, w["sr"] / 2, htk=False,
                                     norm="slaney")
    return (_stft_magnitudes(w) ** 2 @ basis).astype("float32")


def _kapre_pcen(w):
    import kapre

    return kapre.PCEN(sr=w["sr"], hop_length=w["hop_length"], data_format="channels_last"), lambda m: m[..., None]


def _librosa_pcen(w, torch):
    import librosa

    return (lambda s: librosa.pcen(s, sr=w["sr"], hop_length=w["hop_length"], axis=-1)), (
        lambda m: np.ascontiguousarray(m.transpose(0, 2, 1)))  # (batch, n_mels, frames)


def _kapre_griffin_lim(w):
    import kapre

    layer = kapre.GriffinLim(n_fft=w["n_fft"], hop_length=w["hop_length"], center=True, n_iter=w["n_iter"],
                             init="zeros", input_data_format="channels_last", output_data_format="channels_last")
    return layer, lambda s: s[..., None]


def _librosa_griffin_lim(w, torch):
    import librosa

    return (lambda s: librosa.griffinlim(s, n_iter=w["n_iter"], hop_length=w["hop_length"], n_fft=w["n_fft"],
                                         init=None, momentum=0.99)), (
        lambda s: np.ascontiguousarray(s.transpose(0, 2, 1)))  # (batch, freq, frames)


def _torchaudio_griffin_lim(w, torch):
    import torchaudio

    module = torchaudio.transforms.GriffinLim(n_fft=w["n_fft"], hop_length=w["hop_length"], power=1.0,
                                              n_iter=w["n_iter"], momentum=0.99, rand_init=False)
    return module, lambda s: torch.from_numpy(np.ascontiguousarray(s.transpose(0, 2, 1)))


def _kapre_inverse_mel(w):
    import kapre

    layer = kapre.InverseMel(sample_rate=w["sr"], n_fft=w["n_fft"], n_mels=w["n_mels"], power=2.0,
                             data_format="channels_last")
    return layer, lambda m: m[..., None]


def _librosa_inverse_mel(w, torch):
    import librosa

    return (lambda m: librosa.feature.inverse.mel_to_stft(m, sr=w["sr"], n_fft=w["n_fft"], power=2.0)), (
        lambda m: np.ascontiguousarray(m.transpose(0, 2, 1)))  # (batch, n_mels, frames)


def _torchaudio_inverse_mel(w, torch):
    import torchaudio

    module = torchaudio.transforms.InverseMelScale(n_stft=w["n_fft"] // 2 + 1, n_mels=w["n_mels"], sample_rate=w["sr"],
                                                   norm="slaney", mel_scale="slaney")
    # InverseMelScale solves for the power spectrogram; the square root makes it the magnitude kapre returns
    return (lambda m: torch.sqrt(module(m))), lambda m: torch.from_numpy(np.ascontiguousarray(m.transpose(0, 2, 1)))


BATCH_1S = dict(batch=32, seconds=1.0, sr=16000)
ROWS = [
    Row("LEAF", dict(BATCH_1S, n_filters=40), _kapre_leaf, {"speechbrain Leaf": _speechbrain_leaf},
        target=TARGET_SPEEDUP,
        note="40 Gabor filters of 401 taps (25 ms), Gaussian pooling every 160 samples (10 ms), sPCEN; speechbrain "
             "with `max_freq=7800` (LEAF's; its default is sr / 2) and its defaults otherwise (complex64 filters, "
             "`F.conv1d`, its pooling padded by kernel_size // 2 each side where LEAF pads as TensorFlow's 'same')."),
    Row("SincConv", dict(BATCH_1S, filters=80, kernel_size=251), _kapre_sincconv,
        {"speechbrain SincConv": _speechbrain_sincconv},
        note="80 filters of 251 taps, stride 1, 'valid' padding on both sides (speechbrain's default is 'same' "
             "with reflect padding)."),
    Row("PCEN", dict(batch=32, seconds=10.0, sr=16000, n_fft=400, hop_length=160, n_mels=128), _kapre_pcen,
        {"librosa.pcen": _librosa_pcen}, needs=(), make_input=_mel_powers, trainable=False,
        size="batch 32 x 1001 frames x 128 mel bands (10 s at 16 kHz, hop 10 ms)",
        note="librosa's defaults (gain 0.98, bias 2, power 0.5, 0.4 s time constant) on a mel power spectrogram; "
             "librosa in float32 on the whole batch (its `axis=-1` over frames)."),
    Row("GriffinLim", dict(batch=4, seconds=5.0, sr=22050, n_fft=2048, hop_length=512, n_iter=32),
        _kapre_griffin_lim, {"librosa.griffinlim": _librosa_griffin_lim,
                             "torchaudio GriffinLim": _torchaudio_griffin_lim},
        needs=("torchaudio",), make_input=_stft_magnitudes, trainable=False,
        size="batch 4 x 5 s at 22050 Hz (n_fft 2048, hop 512, 216 frames)",
        note="32 iterations, momentum 0.99, zero initial phase (torchaudio `rand_init=False`), centred frames."),
    Row("InverseMel", dict(batch=1, seconds=10.0, sr=22050, n_fft=2048, hop_length=512, n_mels=128),
        _kapre_inverse_mel, {"librosa mel_to_stft": _librosa_inverse_mel,
                             "torchaudio InverseMelScale": _torchaudio_inverse_mel},
        needs=("torchaudio",), make_input=_mel_powers, trainable=False,
        size="1 x 10 s at 22050 Hz (431 frames, 128 mel bands to 1025 bins)",
        note="kapre: 100 accelerated projected-gradient steps; librosa: L-BFGS-B non-negative least squares; "
             "torchaudio: `torch.linalg.lstsq` then a clamp at 0 (the square root of its power output)."),
]
BY_NAME = {row.name: row for row in ROWS}

PEER_SETUP = {
    "speechbrain": (SPEECHBRAIN_DIR, "bash benchmarks/setup_speechbrain.sh", "speechbrain"),
    "torchaudio": (REFERENCES_DIR, "python tests/references.py", "torchaudio"),
}


def speechbrain_path() -> str:
    return os.environ.get("BENCH_SPEECHBRAIN_PATH") or str(SPEECHBRAIN_DIR)


def missing_peers() -> dict[str, str]:
    """peer folder -> why it is missing and the command that builds it (``speechbrain`` needs both folders)."""
    why = []
    if not (Path(speechbrain_path()) / "speechbrain").is_dir():
        why.append(f"no speechbrain in {speechbrain_path()}; build it with `{PEER_SETUP['speechbrain'][1]}`")
    if not (REFERENCES_DIR / "torchaudio").is_dir():
        why.append(f"no torchaudio (which speechbrain imports) in {REFERENCES_DIR}; build it with "
                   f"`{PEER_SETUP['torchaudio'][1]}`")
    missing = {"speechbrain": "; ".join(why)} if why else {}
    if not (REFERENCES_DIR / "torchaudio").is_dir():
        missing["torchaudio"] = f"no torchaudio in {REFERENCES_DIR}; build it with `{PEER_SETUP['torchaudio'][1]}`"
    return missing


# -- the worker: one configuration, timed -------------------------------------------------------------------------


def _timed(fn, runs: int, min_time: float) -> list[float]:
    fn()  # warm-up (compilation)
    times = []
    while len(times) < runs or (sum(times) < min_time and len(times) < 200):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _kapre_calls(row: Row, backend: str, mode: str, x: np.ndarray):
    """(forward, forward+backward) closures for kapre's layer on ``backend`` in ``mode``; each returns host
    arrays."""
    import keras

    layer, to_input = row.kapre(row.workload)
    data = to_input(x)
    layer.build(data.shape)
    if backend == "tensorflow":
        import tensorflow as tf

        xt = tf.constant(data)
        xla = mode == "tf.function(jit_compile=True)"
        forward = tf.function(lambda v: layer(v), jit_compile=xla)

        @tf.function(jit_compile=xla)
        def gradients(v):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(layer(v))
            return tape.gradient(loss, layer.trainable_variables)

        return (lambda: forward(xt).numpy()), (lambda: [g.numpy() for g in gradients(xt)])
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        xt = jnp.asarray(data)
        trainable = [v.value for v in layer.trainable_variables]
        fixed = [v.value for v in layer.non_trainable_variables]

        def output(tv, v):
            return layer.stateless_call(tv, fixed, v)[0]

        forward = jax.jit(output)
        gradients = jax.jit(jax.grad(lambda tv, v: jnp.sum(output(tv, v))))
        return (lambda: np.asarray(forward(trainable, xt))), (
            lambda: [np.asarray(g) for g in gradients(trainable, xt)])
    import torch

    xt = torch.from_numpy(np.ascontiguousarray(data))
    params = [v.value for v in layer.trainable_variables]

    def forward():
        with torch.no_grad():
            return keras.ops.convert_to_numpy(layer(xt))

    def backward():
        for p in params:
            p.grad = None
        layer(xt).sum().backward()
        return [p.grad.numpy() for p in params]

    return forward, backward


def _peer_calls(row: Row, impl: str, x: np.ndarray):
    import torch

    module, to_input = row.peers[impl](row.workload, torch)
    xt = to_input(x)
    if not isinstance(module, torch.nn.Module):  # a NumPy peer (librosa), or a torch function without weights
        return (lambda: np.asarray(module(xt))), None
    params = [p for p in module.parameters() if p.requires_grad]

    def forward():
        with torch.no_grad():
            return module(xt).numpy()

    def backward():
        for p in params:
            p.grad = None
        module(xt).sum().backward()
        return [p.grad.numpy() for p in params]

    return forward, backward


def worker(spec: dict) -> dict:
    row = BY_NAME[spec["row"]]
    w = row.workload
    x = (row.make_input or _noise_waveforms)(w)
    if spec["impl"] == "kapre":
        forward, backward = _kapre_calls(row, spec["backend"], spec["mode"], x)
    else:
        forward, backward = _peer_calls(row, spec["impl"], x)
    if not row.trainable:
        backward = None
    versions = {}
    for module in ("keras", "tensorflow", "jax", "torch", "speechbrain", "torchaudio"):
        if module in sys.modules:
            versions[module] = getattr(sys.modules[module], "__version__", "?")
    result = dict(row=row.name, impl=spec["impl"], backend=spec["backend"], mode=spec["mode"], status="ok",
                  versions=versions,
                  threads=_threads(spec["backend"]))
    for name, fn in zip(PASSES, (forward, backward), strict=True):
        if fn is not None:
            result[name] = _timed(fn, spec["runs"], spec["min_time"])
    return result


def _threads(backend: str):
    if backend == "torch":
        import torch

        return torch.get_num_threads()
    return None


# -- the driver ---------------------------------------------------------------------------------------------------


def configurations() -> list[tuple[str, str, str, str]]:
    """(row, impl, backend, mode) in run order: kapre in each mode, then each peer, per row."""
    out = []
    for row in ROWS:
        out += [(row.name, "kapre", backend, mode) for backend, mode in KAPRE_MODES]
        out += [(row.name, impl, "torch", "eager") for impl in row.peers]
    return out


def run_one(row: str, impl: str, backend: str, mode: str, runs: int, min_time: float, timeout: int) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", KERAS_BACKEND=backend)
    paths = [str(ROOT)]
    if impl != "kapre":
        paths += [speechbrain_path(), str(REFERENCES_DIR)]
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    spec = dict(row=row, impl=impl, backend=backend, mode=mode, runs=runs, min_time=min_time)
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
                              env=env, capture_output=True, text=True, timeout=timeout, cwd=str(ROOT))
        lines = [line[7:] for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if lines:
            return json.loads(lines[-1])
        error = f"worker exited with {proc.returncode}: " + " | ".join(proc.stderr.strip().splitlines()[-3:])
    except subprocess.TimeoutExpired:
        error = f"timed out after {timeout} s"
    return dict(row=row, impl=impl, backend=backend, mode=mode, status="error", error=error[:600])


def _pool(first: dict, later: dict) -> None:
    if later["status"] != "ok":
        return
    if first["status"] != "ok":
        first.clear()
        first.update(later)
        return
    for name in PASSES:
        if name in first and name in later:
            first[name] = first[name] + later[name]
    first["rounds"] = first.get("rounds", 1) + 1


def _label(r: dict) -> str:
    return f"{'kapre.' + r['row'] if r['impl'] == 'kapre' else r['impl']} [{r['backend']}, {r['mode']}]"


def summarize(rows: list[dict]) -> dict:
    """Per row and pass: each implementation's median / min / max ms, and each peer's median over kapre's on every
    backend and on kapre's fastest."""
    out = {}
    for row in ROWS:
        group = [r for r in rows if r["row"] == row.name]
        entry = {"target_speedup": row.target, "passes": {}}
        for name in PASSES:
            timings = {}
            for r in group:
                if r["status"] == "ok" and name in r:
                    t = np.asarray(r[name]) * 1e3
                    timings[_label(r)] = dict(median_ms=float(np.median(t)), min_ms=float(t.min()),
                                              max_ms=float(t.max()), calls=int(t.size))
            kapre = {k: v for k, v in timings.items() if k.startswith("kapre.")}
            peers = {k: v for k, v in timings.items() if not k.startswith("kapre.")}
            speedups = {}
            if kapre and peers:
                fastest = min(kapre, key=lambda k: kapre[k]["median_ms"])
                for peer, p in peers.items():
                    speedups[peer] = {k: p["median_ms"] / v["median_ms"] for k, v in kapre.items()}
                    speedups[peer]["fastest"] = fastest
                    speedups[peer]["fastest_x"] = p["median_ms"] / kapre[fastest]["median_ms"]
                    if row.target:
                        speedups[peer]["meets_target"] = speedups[peer]["fastest_x"] >= row.target
            entry["passes"][name] = dict(timings=timings, speedups=speedups)
        entry["skipped_or_failed"] = {_label(r): r.get("error", r["status"]) for r in group if r["status"] != "ok"}
        out[row.name] = entry
    return out


def report(rows: list[dict], meta: dict) -> str:
    import run

    summary = summarize(rows)
    lines = ["# kapre's learnable front-ends against their PyTorch peers (issue 18)", "",
             f"- CPU: {run.cpu_text(meta['cpu'])}", f"- libraries: {run.library_text(meta['libraries'])}",
             f"- machine: {meta['machine']}", f"- versions: {meta['versions']}",
             f"- load average at the start {meta['load_start'][0]:.2f}, at the end {meta['load_end'][0]:.2f} "
             f"(1 min); {meta['rounds']} round(s), at least {meta['runs']} timed calls per round; {meta['date']}",
             ""]
    if meta.get("provisional"):
        lines += [f"**Provisional**: {meta['provisional']}", ""]
    for row in ROWS:
        entry = summary[row.name]
        w = row.workload
        size = row.size or f"batch {w['batch']} x {w['seconds']:g} s at {w['sr']} Hz"
        lines += [f"## {row.name}: {size}", "", row.note, ""]
        for name in PASSES:
            p = entry["passes"][name]
            if not p["timings"]:
                continue
            lines += [f"### {name}", "", "| row | median ms | min ms | max ms | calls |", "|---|---|---|---|---|"]
            for label, t in sorted(p["timings"].items(), key=lambda item: item[1]["median_ms"]):
                lines.append(f"| {label} | {t['median_ms']:.1f} | {t['min_ms']:.1f} | {t['max_ms']:.1f} | "
                             f"{t['calls']} |")
            for peer, s in p["speedups"].items():
                per_backend = "; ".join(f"{k.split(' ', 1)[1]} {v:.1f}x" for k, v in s.items()
                                        if k.startswith("kapre."))
                verdict = "" if "meets_target" not in s else (
                    f" (target {row.target:g}x: {'met' if s['meets_target'] else 'NOT met'})")
                lines += ["", f"{peer} / kapre: {per_backend}; kapre's fastest ({s['fastest']}) "
                              f"{s['fastest_x']:.1f}x faster{verdict}."]
            lines.append("")
        for label, why in entry["skipped_or_failed"].items():
            lines.append(f"- not run: {label}: {why}")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=7, help="timed calls per configuration and round (>= 7)")
    parser.add_argument("--rounds", type=int, default=3, help="passes over all configurations, pooled")
    parser.add_argument("--min-time", type=float, default=0.25, help="seconds of timed calls per round at least")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per configuration")
    parser.add_argument("--rows", default=None, help="comma-separated row names (default: all of ROWS)")
    parser.add_argument("--out", default=str(HERE / "results" / "learnable"),
                        help="folder of results.md and summary.json")
    parser.add_argument("--provisional", default=None, help="a note heading the report (e.g. a loaded machine)")
    args = parser.parse_args(argv)
    if args.worker is not None:
        spec = json.loads(args.worker)
        print("RESULT " + json.dumps(worker(spec)), flush=True)
        return 0
    sys.path.insert(0, str(HERE))
    import run

    wanted = set(args.rows.split(",")) if args.rows else set(BY_NAME)
    configs = [c for c in configurations() if c[0] in wanted]
    missing = missing_peers()
    start, load_start = time.time(), os.getloadavg()
    first: dict = {}
    rows: list[dict] = []
    for round_index in range(max(1, args.rounds)):
        for key in configs:
            row, impl, backend, mode = key
            if impl != "kapre" and any(need in missing for need in BY_NAME[row].needs):
                if key not in first:
                    why = "; ".join(missing[need] for need in BY_NAME[row].needs if need in missing)
                    first[key] = dict(row=row, impl=impl, backend=backend, mode=mode, status="skipped", error=why)
                    rows.append(first[key])
                continue
            t0 = time.time()
            result = run_one(row, impl, backend, mode, max(7, args.runs), args.min_time, args.timeout)
            shown = (" ".join(f"{name} {np.median(result[name]) * 1e3:8.1f} ms" for name in PASSES if name in result)
                     if result["status"] == "ok" else result["error"][:120])
            print(f"[round {round_index + 1}] {row:9s} {_label(result):62s} {shown}  ({time.time() - t0:.0f} s)",
                  flush=True)
            if key in first:
                _pool(first[key], result)
            else:
                first[key] = result
                rows.append(result)
    versions = {}
    for r in rows:
        versions.update(r.get("versions", {}))
    meta = dict(cpu=run.cpu_description(), libraries=run.library_info(), machine=run.machine(),
                versions=", ".join(f"{k} {v}" for k, v in sorted(versions.items())), load_start=load_start,
                load_end=os.getloadavg(), rounds=max(1, args.rounds), runs=max(7, args.runs),
                date=time.strftime("%Y-%m-%d %H:%M"), provisional=args.provisional,
                elapsed_min=(time.time() - start) / 60)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(report(rows, meta) + "\n")
    summary = dict(meta, cpu=meta["cpu"], rows=summarize(rows))
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    print(f"wrote {out}/results.md and summary.json in {(time.time() - start) / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
