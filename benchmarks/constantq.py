"""The peers of the constant-Q and resampling rows (``python benchmarks/run.py --suite constantq``, issue 17).

Each builder is ``build(w, backend, mode) -> (prepare(x_numpy) -> input, fn(input) -> numpy)`` as in ``_worker.py``,
called as its users call it, and returns the layout of the first reference: the CQT magnitude as
``(batch, n_bins, frames)`` (librosa's and nnAudio's layout), the resampled batch as ``(batch, samples)``.
``w`` is a workload of ``workloads.CONSTANTQ``. nnAudio comes from ``.bench-nnaudio`` (``bash
benchmarks/setup_nnaudio.sh``), torchaudio from the test references' folder (``.test-references``, ``python
tests/references.py``); ``run.py`` puts them on ``PYTHONPATH`` for these rows only.
"""

from __future__ import annotations

import numpy as np

# the modules a reference imports (imported before the memory baseline, reported with their versions)
IMPORTS = {
    "ref_librosa_cqt_clip": ("librosa", "soxr"),
    "ref_librosa_cqt_batch": ("librosa", "soxr"),
    "ref_nnaudio_cqt1992v2": ("torch", "scipy", "nnAudio", "nnAudio.features"),
    "ref_nnaudio_cqt2010v2": ("torch", "scipy", "nnAudio", "nnAudio.features"),
    "ref_ta_resample": ("torch", "torchaudio"),
    "ref_ta_resample_transform": ("torch", "torchaudio"),
}
# the backend and mode each reference row runs on (its label's [backend, mode]; "-" for NumPy / C code)
BACKEND_MODE = {"ref_librosa_cqt_clip": ("-", "-"), "ref_librosa_cqt_batch": ("-", "-")}
# the peer folder a reference needs (run.missing_peers)
NEEDS = {"ref_nnaudio_cqt1992v2": "nnaudio", "ref_nnaudio_cqt2010v2": "nnaudio", "ref_ta_resample": "torchaudio",
         "ref_ta_resample_transform": "torchaudio"}


def backend_mode(impl) -> tuple[str, str]:
    return BACKEND_MODE.get(impl, ("torch", "eager"))


def _torch():
    import torch

    torch.set_grad_enabled(False)
    return torch


def _cqt_kwargs(w):
    return dict(sr=w["sr"], hop_length=w["hop"], fmin=w["fmin"], n_bins=w["n_bins"],
                bins_per_octave=w["bins_per_octave"])


def build_librosa_cqt(w, per_clip):
    """``np.abs(librosa.cqt(...))`` with librosa's defaults (pad_mode 'constant', res_type 'soxr_hq'), per clip or
    on the batch (librosa takes a multi-dimensional input: the same recursion on the whole array)."""
    import librosa

    kwargs = _cqt_kwargs(w)
    if per_clip:
        def fn(x):
            return np.stack([np.abs(librosa.cqt(clip, **kwargs)) for clip in x])
    else:
        def fn(x):
            return np.abs(librosa.cqt(x, **kwargs))
    return (lambda x: x), fn


def build_librosa_cqt_clip(w, backend, mode):
    return build_librosa_cqt(w, per_clip=True)


def build_librosa_cqt_batch(w, backend, mode):
    return build_librosa_cqt(w, per_clip=False)


def build_nnaudio(w, name):
    """nnAudio's CQT layer on the batch, ``output_format='Magnitude'`` (its default) with its librosa normalisation
    (its default) and librosa's zero padding (``pad_mode='constant'``; nnAudio's default is 'reflect', which costs
    the same), kernels built once (outside the clock, as a layer's)."""
    torch = _torch()
    import nnAudio.features

    layer = getattr(nnAudio.features, name)(**_cqt_kwargs(w), pad_mode="constant", output_format="Magnitude",
                                            verbose=False).eval()

    def fn(x):
        return layer(x).numpy()

    return torch.from_numpy, fn


def build_nnaudio_cqt1992v2(w, backend, mode):
    return build_nnaudio(w, "CQT1992v2")


def build_nnaudio_cqt2010v2(w, backend, mode):
    return build_nnaudio(w, "CQT2010v2")


def build_ta_resample(w, backend, mode):
    """``torchaudio.functional.resample(batch, orig, new, **kwargs)``: it builds its sinc kernel on every call, as
    its users call it."""
    torch = _torch()
    import torchaudio.functional

    def fn(x):
        return torchaudio.functional.resample(x, w["sr"], w["new_sr"], **w["kwargs"]).numpy()

    return torch.from_numpy, fn


def build_ta_resample_transform(w, backend, mode):
    """``torchaudio.transforms.Resample(orig, new, **kwargs)``: the kernel built once, in the layer."""
    torch = _torch()
    import torchaudio.transforms

    layer = torchaudio.transforms.Resample(w["sr"], w["new_sr"], **w["kwargs"])

    def fn(x):
        return layer(x).numpy()

    return torch.from_numpy, fn


def build_kapre(w, backend, mode, compile_fn, to_backend, to_numpy):
    """kapre.CQT (``output_type='magnitude'``) / kapre.Resample with the workload's parameters, channels_last input
    ``(batch, samples, 1)``; the output brought to the reference's layout by NumPy views (no copy)."""
    import kapre

    if backend == "torch":
        import torch

        torch.set_grad_enabled(False)
    if w["task"] == "cqt":
        import inspect

        # the output's argument: `output_type` (the layer as written), `output` (the interface's first draft)
        output_arg = "output_type" if "output_type" in inspect.signature(kapre.CQT).parameters else "output"
        layer = kapre.CQT(**_cqt_kwargs(w), **{output_arg: "magnitude"}, input_data_format="channels_last",
                          output_data_format="channels_first")  # (batch, 1, frames, n_bins)

        def post(y):
            return y[:, 0].transpose(0, 2, 1)
    else:
        layer = kapre.Resample(w["sr"], w["new_sr"], **w["kwargs"], input_data_format="channels_last",
                               output_data_format="channels_last")  # (batch, samples, 1)

        def post(y):
            return y[..., 0]
    call = compile_fn(lambda x: layer(x), backend, mode)
    return (lambda x: to_backend(x[..., None], backend)), (lambda t: post(to_numpy(call(t))))


BUILDERS = {
    "ref_librosa_cqt_clip": build_librosa_cqt_clip,
    "ref_librosa_cqt_batch": build_librosa_cqt_batch,
    "ref_nnaudio_cqt1992v2": build_nnaudio_cqt1992v2,
    "ref_nnaudio_cqt2010v2": build_nnaudio_cqt2010v2,
    "ref_ta_resample": build_ta_resample,
    "ref_ta_resample_transform": build_ta_resample_transform,
}
assert set(BUILDERS) == set(IMPORTS)
