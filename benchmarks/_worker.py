"""One benchmark configuration in its own process: ``python benchmarks/_worker.py '<json spec>'``.

The spec names ``impl``, ``mode``, ``workloads`` (a list; the scaling sweep runs several), ``runs``, ``min_time_s``
and ``out_dir``.
The backend is chosen by the parent through ``KERAS_BACKEND``. Prints one JSON line per workload, prefixed
``RESULT ``. Each workload's last output is saved to ``out_dir/<row id>.npy`` for the parent's correctness check.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import traceback

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import constantq  # noqa: E402
import frontends  # noqa: E402
from workloads import WORKLOADS, make_input  # noqa: E402

MAX_RUNS = 200  # timed calls per workload at most when `min_time_s` asks for more than `runs`
INTERLEAVED_PASSES = 7  # round-robin passes over the scaling sweep's inputs (run_interleaved)


def rss_mib() -> float:
    """Peak resident memory of this process so far (MiB): VmHWM, which reset_peak() can reset between workloads,
    else getrusage's ru_maxrss."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak() -> float:
    """Reset the peak-RSS counter to the current RSS (Linux ``clear_refs`` 5); returns the new baseline (MiB)."""
    import gc

    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass
    return rss_mib()


def _db_per_clip(power, xp=np, axes=(1, 2)):
    db = 10.0 * xp.log10(xp.maximum(power, 1e-10))
    return xp.maximum(db, db.max(axis=axes, keepdims=True) - 80.0)


# -- implementations: build(workload, mode) -> (prepare(x_numpy) -> input, fn(input) -> host numpy) -------------


def _import_backend(backend):
    if backend == "tensorflow":
        import tensorflow  # noqa: F401
    elif backend == "jax":
        import jax  # noqa: F401
    elif backend == "torch":
        import torch  # noqa: F401


def _compile(fn, backend, mode):
    """Wrap ``fn`` (backend tensor -> backend tensor) for ``mode``; returns the callable."""
    if mode == "eager":
        return fn
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=(mode == "xla"))
    if backend == "jax":
        import jax

        return jax.jit(fn)
    if backend == "torch":
        import torch

        # static shapes: W1 and W2 go through the same function object, and a recompile for the second shape
        # would otherwise switch to a dynamic-shape graph (measured 2x slower on W2 for every torch.compile row)
        return torch.compile(fn, dynamic=False)
    raise ValueError(mode)


def _to_backend(x, backend):
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.convert_to_tensor(x)
    if backend == "jax":
        import jax.numpy as jnp

        return jnp.asarray(x)
    import torch

    return torch.from_numpy(x)


def _ready(x):
    """``x`` once it exists: JAX's transfers are asynchronous."""
    if hasattr(x, "block_until_ready"):
        x.block_until_ready()
    return x


def _to_numpy(y):
    if hasattr(y, "detach"):
        return y.detach().cpu().numpy()
    return np.asarray(y)


def build_kapre(w, backend, mode):
    import keras

    import kapre
    from kapre import constants

    task = w["task"]
    if task in ("cqt", "resample"):  # kapre.CQT / kapre.Resample (--suite constantq)
        return constantq.build_kapre(w, backend, mode, _compile, _to_backend, _to_numpy)
    if task == "frontend":  # kapre.frontends: one layer, (batch, samples) in, the reference's layout out
        from kapre import frontends

        if backend == "torch":
            import torch

            torch.set_grad_enabled(False)
        layer = getattr(frontends, w["frontend"])(**w["kwargs"])
        call = _compile(lambda x: layer(x), backend, mode)
        return (lambda x: _to_backend(x, backend)), (lambda t: _to_numpy(call(t)))
    common = dict(n_fft=w["n_fft"], hop_length=w["hop"], input_data_format="channels_last")
    if task in ("logmel", "mfcc"):
        layer = kapre.MelSpectrogram(
            **common, sample_rate=w["sr"], n_mels=w["n_mels"], power=2.0, return_decibel=True, db_amin=1e-10,
            output_data_format="channels_first",
        )
        dct = constants.dct_matrix(w["n_mels"], 20, norm="ortho").astype("float32") if task == "mfcc" else None
        dct_t = None

        def fn(x):
            nonlocal dct_t
            y = layer(x)[:, 0]  # (batch, frames, mels)
            if dct is not None:
                if dct_t is None:
                    dct_t = keras.ops.convert_to_tensor(dct)
                y = keras.ops.matmul(y, dct_t)
            return y

    elif task == "stft_mag":
        stft = kapre.STFT(**common, output_data_format="channels_first")
        mag = kapre.Magnitude()

        def fn(x):
            return mag(stft(x))[:, 0]

    elif task == "roundtrip":
        stft = kapre.STFT(**common, output_data_format="channels_first")
        istft = kapre.InverseSTFT(
            n_fft=w["n_fft"], hop_length=w["hop"], input_data_format="channels_first",
            output_data_format="channels_first",
        )

        def fn(x):
            return istft(stft(x))[:, 0]

    else:
        raise ValueError(task)
    if backend == "torch":
        import torch

        torch.set_grad_enabled(False)
    call = _compile(fn, backend, mode)
    return (lambda x: _to_backend(x[..., None], backend)), (lambda t: _to_numpy(call(t)))


def build_keras(w, backend, mode):
    import keras

    layer = keras.layers.MelSpectrogram(
        fft_length=w["n_fft"], sequence_stride=w["hop"], sequence_length=w["n_fft"], window="hann",
        sampling_rate=w["sr"], num_mel_bins=w["n_mels"], min_freq=0.0, max_freq=w["sr"] / 2, power_to_db=True,
        top_db=80.0, mag_exp=2.0, min_power=1e-10, ref_power=1.0,
    )

    def fn(x):
        return keras.ops.transpose(layer(x), (0, 2, 1))  # Keras returns (batch, mels, frames)

    if backend == "torch":
        import torch

        torch.set_grad_enabled(False)
    call = _compile(fn, backend, mode)
    return (lambda x: _to_backend(x, backend)), (lambda t: _to_numpy(call(t)))


def build_librosa(w, backend, mode):
    import librosa

    task = w["task"]
    kw = dict(n_fft=w["n_fft"], hop_length=w["hop"], window="hann", center=False)

    def logmel(x):
        s = librosa.feature.melspectrogram(
            y=x, sr=w["sr"], **kw, power=2.0, n_mels=w["n_mels"], fmin=0.0, fmax=w["sr"] / 2, htk=False,
            norm="slaney",
        )
        return np.stack([librosa.power_to_db(c, ref=1.0, amin=1e-10, top_db=80.0) for c in s])  # (b, mels, t)

    def fn(x):
        if task == "logmel":
            return logmel(x).transpose(0, 2, 1)
        if task == "mfcc":
            return librosa.feature.mfcc(S=logmel(x), n_mfcc=20, dct_type=2, norm="ortho").transpose(0, 2, 1)
        if task == "stft_mag":
            return np.abs(librosa.stft(x, **kw)).transpose(0, 2, 1)
        if task == "roundtrip":
            spec = librosa.stft(x, **kw)
            return librosa.istft(spec, hop_length=w["hop"], n_fft=w["n_fft"], window="hann", center=False)
        raise ValueError(task)

    return (lambda x: x), fn


def _mel_fb(w):
    from kapre import constants

    return constants.mel_filterbank(w["sr"], w["n_fft"] // 2 + 1, w["n_mels"]).astype("float32")


def build_numpy(w, backend, mode):
    """The floor: frame (strided view), window, rfft, power, dense mel matmul, log. float32 where NumPy allows."""
    from numpy.lib.stride_tricks import sliding_window_view

    task, n_fft, hop = w["task"], w["n_fft"], w["hop"]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype("float32")
    fb = _mel_fb(w) if task in ("logmel", "mfcc") else None
    dct = None
    if task == "mfcc":
        from kapre import constants

        dct = constants.dct_matrix(w["n_mels"], 20, norm="ortho").astype("float32")

    def spectrum(x):
        frames = sliding_window_view(x, n_fft, axis=-1)[:, ::hop]
        return np.fft.rfft(frames * window, axis=-1)

    def fn(x):
        spec = spectrum(x)
        if task == "stft_mag":
            return np.abs(spec)
        if task == "roundtrip":
            frames = np.fft.irfft(spec, n=n_fft, axis=-1) * window
            n_frames = frames.shape[1]
            out = np.zeros((x.shape[0], (n_frames - 1) * hop + n_fft), "float32")
            norm = np.zeros(out.shape[1], "float32")
            for t in range(n_frames):
                out[:, t * hop : t * hop + n_fft] += frames[:, t]
                norm[t * hop : t * hop + n_fft] += window**2
            return out / np.where(norm > 1e-8, norm, 1.0)
        power = spec.real**2 + spec.imag**2
        db = _db_per_clip(power @ fb)
        return db @ dct if dct is not None else db

    return (lambda x: x), fn


def build_torch_stft(w, backend, mode):
    import torch

    torch.set_grad_enabled(False)
    task, n_fft, hop = w["task"], w["n_fft"], w["hop"]
    window = torch.hann_window(n_fft, periodic=True)
    fb = torch.from_numpy(_mel_fb(w)) if task in ("logmel", "mfcc") else None
    dct = None
    if task == "mfcc":
        from kapre import constants

        dct = torch.from_numpy(constants.dct_matrix(w["n_mels"], 20, norm="ortho").astype("float32"))

    def fn(x):
        spec = torch.stft(x, n_fft, hop, window=window, center=False, return_complex=True).transpose(1, 2)
        if task == "stft_mag":
            return spec.abs()
        if task == "roundtrip":
            return torch.istft(spec.transpose(1, 2), n_fft, hop, window=window, center=False)
        db = 10.0 * torch.log10(torch.clamp(spec.abs().pow(2) @ fb, min=1e-10))
        db = torch.maximum(db, db.amax(dim=(1, 2), keepdim=True) - 80.0)
        return db @ dct if dct is not None else db

    call = _compile(fn, "torch", mode)
    return (lambda x: torch.from_numpy(x)), (lambda t: call(t).numpy())


def build_torchaudio(w, backend, mode):
    """torchaudio's transforms (pure Python: see tests/references.py). Each clip is its own spectrogram
    (``x[:, None]``), so that AmplitudeToDB's top_db floor is per clip, as in the other rows."""
    import torch
    import torchaudio

    torch.set_grad_enabled(False)
    task = w["task"]
    stft_kwargs = dict(n_fft=w["n_fft"], hop_length=w["hop"], window_fn=torch.hann_window, center=False)
    mel_kwargs = dict(**stft_kwargs, f_min=0.0, f_max=w["sr"] / 2, n_mels=w["n_mels"], power=2.0, norm="slaney",
                      mel_scale="slaney")
    if task == "logmel":
        mel = torchaudio.transforms.MelSpectrogram(sample_rate=w["sr"], **mel_kwargs)
        to_db = torchaudio.transforms.AmplitudeToDB("power", top_db=80.0)

        def fn(x):
            return to_db(mel(x[:, None]))[:, 0].transpose(1, 2)

    elif task == "mfcc":
        mfcc = torchaudio.transforms.MFCC(sample_rate=w["sr"], n_mfcc=20, dct_type=2, norm="ortho", log_mels=False,
                                          melkwargs=mel_kwargs)

        def fn(x):
            return mfcc(x[:, None])[:, 0].transpose(1, 2)

    elif task == "stft_mag":
        spectrogram = torchaudio.transforms.Spectrogram(**stft_kwargs, power=1.0)

        def fn(x):
            return spectrogram(x).transpose(1, 2)

    else:
        raise ValueError(f"no torchaudio row for {task}")
    call = _compile(fn, "torch", mode)
    return (lambda x: torch.from_numpy(x)), (lambda t: call(t).numpy())


def build_kapre041(w, backend, mode):
    """kapre 0.4.1 from PyPI (run in .bench-venv): its own layers, power mel built as STFT->|.|->square->mel."""
    import tensorflow as tf

    import kapre

    task = w["task"]
    common = dict(n_fft=w["n_fft"], hop_length=w["hop"], input_data_format="channels_last",
                  output_data_format="channels_last")
    stft = kapre.STFT(**common)
    mag = kapre.Magnitude()
    if task in ("logmel", "mfcc"):
        fb = kapre.ApplyFilterbank(
            type="mel", filterbank_kwargs={"sample_rate": w["sr"], "n_freq": w["n_fft"] // 2 + 1,
                                           "n_mels": w["n_mels"], "f_min": 0.0, "f_max": w["sr"] / 2,
                                           "htk": False, "norm": "slaney"},
            data_format="channels_last",
        )
        to_db = kapre.MagnitudeToDecibel(ref_value=1.0, amin=1e-10, dynamic_range=80.0)
        dct = None
        if task == "mfcc":
            n = np.arange(w["n_mels"])[:, None]
            k = np.arange(20)[None]
            m = np.sqrt(2.0 / w["n_mels"]) * np.cos(np.pi * k * (2 * n + 1) / (2.0 * w["n_mels"]))
            m[:, 0] /= np.sqrt(2.0)
            dct = tf.constant(m.astype("float32"))

        def fn(x):
            y = to_db(fb(tf.square(mag(stft(x)))))[..., 0]
            return tf.matmul(y, dct) if dct is not None else y

    elif task == "stft_mag":

        def fn(x):
            return mag(stft(x))[..., 0]

    elif task == "roundtrip":
        istft = kapre.InverseSTFT(n_fft=w["n_fft"], hop_length=w["hop"], input_data_format="channels_last",
                                  output_data_format="channels_last")

        def fn(x):
            return istft(stft(x))[..., 0]

    call = _compile(fn, "tensorflow", mode)
    return (lambda x: tf.convert_to_tensor(x[..., None])), (lambda t: call(t).numpy())


BUILDERS = {
    "kapre": build_kapre,
    "keras": build_keras,
    "librosa": build_librosa,
    "numpy": build_numpy,
    "torch_stft": build_torch_stft,
    "torchaudio": build_torchaudio,
    "kapre041": build_kapre041,
    **frontends.BUILDERS,  # the front-ends' references
    **constantq.BUILDERS,  # the CQT's and the resampler's peers
}


def new_row(name, impl, mode, backend, baseline, versions) -> dict:
    return {"workload": name, "impl": impl, "mode": mode, "backend": backend, "import_rss_mib": baseline,
            "versions": versions}


def prepare_workload(row, impl, backend, mode):
    """``(fn, inputs)`` for ``row``'s workload, after the input conversion (timed on its own) and the warm-up."""
    w = WORKLOADS[row["workload"]]
    x = make_input(w)
    prepare, fn = BUILDERS[impl](w, backend, mode)
    # the input is the backend's tensor, made before the clock starts (as a data pipeline hands it over);
    # converting NumPy to it is timed on its own: it is the same for every row of a backend, and
    # jnp.asarray of 64 x 64 s costs about 0.07 ms per audio-second, about as much as the log-mel itself
    conversions = []
    for _ in range(3):
        start = time.perf_counter()
        inputs = _ready(prepare(x))
        conversions.append(time.perf_counter() - start)
    row["input_conversion_s"] = float(np.median(conversions))
    start = time.perf_counter()
    fn(inputs)  # warm-up (and compilation)
    row["first_call_s"] = time.perf_counter() - start
    row["audio_s"] = w["batch"] * w["seconds"]
    return fn, inputs


def timed_call(fn, inputs, times):
    """One timed call, output brought back to NumPy inside the clock; appends its time to ``times``."""
    start = time.perf_counter()
    out = np.asarray(fn(inputs))
    times.append(time.perf_counter() - start)
    return out


def finish_row(row, times, out, spec, peak_rss=None):
    row.update(status="ok", times_s=times, median_s=float(np.median(times)), min_s=float(np.min(times)),
               max_s=float(np.max(times)), peak_rss_mib=rss_mib() if peak_rss is None else peak_rss,
               out_shape=list(out.shape))
    if spec.get("out_dir"):
        np.save(os.path.join(spec["out_dir"], f"{spec['row_id']}__{row['workload']}.npy"), out.astype("float32"))


def fail_row(row, error):
    row.update(status="error", error=f"{type(error).__name__}: {error}"[:600],
               traceback=traceback.format_exc()[-1500:])


def run_interleaved(spec, impl, backend, mode, versions, import_rss):
    """The scaling sweep: every input converted and warmed up first, then timed in INTERLEAVED_PASSES round-robin
    passes (each input's calls in a pass go on until ``min_time_s / passes`` of them, at least one, at most
    ``MAX_RUNS / passes``), so that each input's timed calls spread over the whole sweep: a shared machine can have
    phases of tens of seconds in which everything runs slower (docs/benchmark-experiments.md), and inputs timed
    one after the other could land in different phases. Peak memory is the whole sweep's (every input is held at
    once)."""
    entries = []
    for name in spec["workloads"]:
        row = new_row(name, impl, mode, backend, import_rss, versions)
        try:
            fn, inputs = prepare_workload(row, impl, backend, mode)
            entries.append([row, fn, inputs, [], None])
        except Exception as error:
            fail_row(row, error)
            print("RESULT " + json.dumps(row), flush=True)
    passes = INTERLEAVED_PASSES
    per_pass_time = spec.get("min_time_s", 0.0) / passes
    per_pass_runs = max(1, -(-spec["runs"] // passes))
    for _ in range(passes):
        for entry in entries:
            row, fn, inputs, times, _ = entry
            if row.get("status") == "error":
                continue
            pass_times = []
            try:
                while len(pass_times) < per_pass_runs or (
                    sum(pass_times) < per_pass_time and len(pass_times) < MAX_RUNS // passes
                ):
                    entry[4] = timed_call(fn, inputs, pass_times)
            except Exception as error:
                fail_row(row, error)
            times += pass_times
    peak = rss_mib()
    for row, _, _, times, out in entries:
        if row.get("status") != "error":
            finish_row(row, times, out, spec, peak_rss=peak)
        print("RESULT " + json.dumps(row), flush=True)


def main() -> int:
    spec = json.loads(sys.argv[1])
    backend = os.environ.get("KERAS_BACKEND", "")
    impl, mode = spec["impl"], spec["mode"]
    mode, _, option = mode.partition("/")  # "function/xla-tail": kapre with kapre.config.enable_xla_tail()
    if impl in ("kapre", "keras", "kapre041"):
        import keras  # noqa: F401

        _import_backend("tensorflow" if impl == "kapre041" else backend)
    if impl in ("kapre", "keras"):
        import kapre  # noqa: F401

        if impl == "kapre" and option == "xla-tail":
            kapre.config.enable_xla_tail()
    elif impl == "librosa":
        import librosa  # noqa: F401
    elif impl == "torch_stft":
        import torch  # noqa: F401
    elif impl == "torchaudio":
        import torchaudio  # noqa: F401
    elif impl in frontends.IMPORTS or impl in constantq.IMPORTS:
        import importlib

        for module in frontends.IMPORTS[impl] if impl in frontends.IMPORTS else constantq.IMPORTS[impl]:
            importlib.import_module(module)
    import_rss = rss_mib()
    versions = {}
    for module in ("kapre", "keras", "tensorflow", "jax", "torch", "librosa", "torchaudio", "whisper",
                   "transformers", "kaldi_native_fbank", "torchlibrosa", "nnAudio", "soxr", "scipy"):
        if module in sys.modules:
            versions[module] = getattr(sys.modules[module], "__version__", "?")
    if spec.get("interleave"):
        run_interleaved(spec, impl, backend, mode, versions, import_rss)
        return 0
    for name in spec["workloads"]:
        baseline = reset_peak() if name != spec["workloads"][0] else import_rss
        row = new_row(name, impl, mode, backend, baseline, versions)
        fn = inputs = out = None
        try:
            fn, inputs = prepare_workload(row, impl, backend, mode)
            # at least `runs` timed calls; cheap workloads (the small sweep inputs: about 1 ms) go on until
            # `min_time_s` of timed calls, at most MAX_RUNS, so that a burst of load from other jobs on a shared
            # machine moves their median no more than the larger workloads'
            times = []
            while len(times) < spec["runs"] or (sum(times) < spec.get("min_time_s", 0.0) and len(times) < MAX_RUNS):
                out = timed_call(fn, inputs, times)
            finish_row(row, times, out, spec)
        except Exception as error:  # recorded in the results, e.g. torch.compile without a working toolchain
            fail_row(row, error)
        print("RESULT " + json.dumps(row), flush=True)
        del fn, inputs, out  # before the next workload's memory baseline
    return 0


if __name__ == "__main__":
    sys.exit(main())
