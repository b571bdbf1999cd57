"""The reference implementations of the model front-ends' rows (``python benchmarks/run.py --suite frontends``).

Each builder is ``build(w, backend, mode) -> (prepare(x_numpy) -> input, fn(input) -> numpy)`` as in ``_worker.py``,
called as the reference's users call it (per clip where it takes one clip), and returns the front-end's output in
the kapre builder's default layout (the reference's own), stacked over the batch. ``w`` is a front-end workload of
``workloads.FRONTENDS``; ``w["frontend"]`` names the kapre builder. torchaudio and openai-whisper come from the
test references' folder (``.test-references``, ``python tests/references.py``), put on ``PYTHONPATH`` by ``run.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: tests' transcriptions
from tests import audioset_transcription as audioset  # noqa: E402

# the modules a reference imports, reported with their versions
IMPORTS = {
    "ref_whisper_clip": ("torch", "whisper"),
    "ref_whisper_batch": ("torch", "whisper"),
    "ref_ta_kaldi": ("torch", "torchaudio"),
    "ref_beats": ("torch", "torchaudio"),
    "ref_knf": ("kaldi_native_fbank",),
    "ref_ast": ("torch", "torchaudio", "transformers"),
    "ref_clap": ("transformers",),
    "ref_torchlibrosa": ("torch", "torchlibrosa", "librosa"),
    "ref_tf_signal": ("tensorflow",),
    "ref_numpy_mel": (),
    "ref_ta_transforms": ("torch", "torchaudio"),
    "ref_librosa": ("librosa",),
}
# the backend and mode each reference row runs on (its label's [backend, mode]; "-" for NumPy / C++ code)
BACKEND_MODE = {"ref_tf_signal": ("tensorflow", "function"), "ref_knf": ("-", "-"), "ref_clap": ("-", "-"),
                "ref_numpy_mel": ("-", "-"), "ref_librosa": ("-", "-")}
# the peer folder a reference needs (run.missing_peers): torchaudio / whisper from .test-references
NEEDS = {"ref_whisper_clip": "whisper", "ref_whisper_batch": "whisper", "ref_ta_kaldi": "torchaudio",
         "ref_beats": "torchaudio", "ref_ast": "torchaudio", "ref_ta_transforms": "torchaudio"}


def backend_mode(impl) -> tuple[str, str]:
    return BACKEND_MODE.get(impl, ("torch", "eager"))


def _torch():
    import torch

    torch.set_grad_enabled(False)
    return torch


def build_whisper(w, backend, mode, per_clip):
    torch = _torch()
    import whisper.audio

    n_mels = w["kwargs"].get("n_mels", 80)
    if per_clip:
        def fn(x):
            return np.stack([whisper.audio.log_mel_spectrogram(clip, n_mels).numpy() for clip in x])
    else:
        def fn(x):
            return whisper.audio.log_mel_spectrogram(x, n_mels).numpy()
    return torch.from_numpy, fn


def build_whisper_clip(w, backend, mode):
    return build_whisper(w, backend, mode, per_clip=True)


def build_whisper_batch(w, backend, mode):
    return build_whisper(w, backend, mode, per_clip=False)


def build_ta_kaldi(w, backend, mode):
    """``torchaudio.compliance.kaldi.fbank`` / ``mfcc`` per clip (it takes one utterance, ``(1, samples)``)."""
    torch = _torch()
    import torchaudio.compliance.kaldi as kaldi

    compute = {"kaldi_fbank": kaldi.fbank, "kaldi_mfcc": kaldi.mfcc}[w["frontend"]]
    kwargs = dict(w["kwargs"], sample_frequency=w["sr"])

    def fn(x):
        return np.stack([compute(clip[None], **kwargs).numpy() for clip in x])

    return torch.from_numpy, fn


def build_beats(w, backend, mode):
    """BEATs.preprocess (microsoft/unilm beats/BEATs.py), transcribed: per clip kaldi fbank of the waveform
    scaled to 16-bit range, 128 bins, then (x - mean) / (2 * std)."""
    torch = _torch()
    import torchaudio.compliance.kaldi as ta_kaldi

    fbank_mean, fbank_std = 15.41663, 6.55582

    def fn(source):
        fbanks = []
        for waveform in source:
            waveform = waveform.unsqueeze(0) * 2**15
            fbanks.append(ta_kaldi.fbank(waveform, num_mel_bins=128, sample_frequency=16000, frame_length=25,
                                         frame_shift=10))
        fbank = torch.stack(fbanks, dim=0)
        return ((fbank - fbank_mean) / (2 * fbank_std)).numpy()

    return torch.from_numpy, fn


def build_knf(w, backend, mode):
    """kaldi-native-fbank: one ``OnlineFbank`` per clip (Kaldi's defaults, dither 0 as torchaudio's)."""
    import kaldi_native_fbank as knf

    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.frame_opts.samp_freq = float(w["sr"])

    def fn(x):
        out = []
        for clip in x:
            fbank = knf.OnlineFbank(opts)
            fbank.accept_waveform(float(w["sr"]), clip)
            fbank.input_finished()
            out.append(np.stack([fbank.get_frame(i) for i in range(fbank.num_frames_ready)]))
        return np.stack(out)

    return (lambda x: x), fn


def build_ast(w, backend, mode):
    """transformers' ASTFeatureExtractor on the list of clips (it loops over them; torchaudio's kaldi fbank
    inside when torchaudio imports, as here)."""
    from transformers import ASTFeatureExtractor

    extractor = ASTFeatureExtractor()

    def fn(x):
        return extractor(list(x), sampling_rate=w["sr"], return_tensors="np")["input_values"]

    return (lambda x: x), fn


def build_clap(w, backend, mode):
    """transformers' ClapFeatureExtractor._np_extract_fbank_features per clip, with the fusion (HTK) filters."""
    from transformers import ClapFeatureExtractor

    extractor = ClapFeatureExtractor(frequency_min=50.0, frequency_max=14000.0)

    def fn(x):
        return np.stack([extractor._np_extract_fbank_features(clip, extractor.mel_filters) for clip in x])

    return (lambda x: x), fn


def build_torchlibrosa(w, backend, mode):
    """PANNs' front end: torchlibrosa Spectrogram + LogmelFilterBank on the batch; (batch, 1, time, mel) -> [:, 0]."""
    torch = _torch()
    from torchlibrosa.stft import LogmelFilterBank, Spectrogram

    spectrogram = Spectrogram(n_fft=1024, hop_length=320, win_length=1024, window="hann", center=True,
                              pad_mode="reflect", freeze_parameters=True).eval()
    logmel = LogmelFilterBank(sr=32000, n_fft=1024, n_mels=64, fmin=50.0, fmax=14000.0, ref=1.0, amin=1e-10,
                              top_db=None, freeze_parameters=True).eval()

    def fn(x):
        return logmel(spectrogram(x))[:, 0].numpy()

    return torch.from_numpy, fn


# -- YAMNet / VGGish: 400-sample periodic Hann every 160 samples, |rfft 512|, HTK-style mel 125-7500 Hz, log ------

LOG_OFFSET = {"yamnet_log_mel": 0.001, "vggish_log_mel": 0.01}


def build_numpy_mel(w, backend, mode):
    """VGGish mel_features.log_mel_spectrogram (NumPy, one clip at a time, float64 as the original; the transcription
    of tests/audioset_transcription.py), with YAMNet's log offset for yamnet_log_mel."""
    offset = LOG_OFFSET[w["frontend"]]
    matrix = audioset.mel_matrix()

    def fn(x):
        return np.stack([audioset.log_mel_spectrogram(clip, offset, matrix) for clip in x])

    return (lambda x: x), fn


def build_tf_signal(w, backend, mode):
    """YAMNet features.py (tf.signal.stft magnitude, linear_to_mel_weight_matrix, log(mel + offset)) on the batch, in
    a tf.function; the VGGish row uses VGGish's matrix and offset."""
    import tensorflow as tf

    offset = LOG_OFFSET[w["frontend"]]
    if w["frontend"] == "yamnet_log_mel":
        matrix = tf.signal.linear_to_mel_weight_matrix(num_mel_bins=64, num_spectrogram_bins=257, sample_rate=16000,
                                                       lower_edge_hertz=125.0, upper_edge_hertz=7500.0)
    else:
        matrix = tf.constant(audioset.mel_matrix().astype("float32"))

    @tf.function
    def fn(x):
        magnitude = tf.abs(tf.signal.stft(signals=x, frame_length=400, frame_step=160, fft_length=512))
        return tf.math.log(tf.matmul(magnitude, matrix) + offset)

    return tf.convert_to_tensor, (lambda t: fn(t).numpy())


def build_ta_transforms(w, backend, mode):
    """torchaudio.transforms.MelSpectrogram on the batch; MFCC on ``x[:, None]`` (its top_db floor is over all but
    the last three axes' worth of data: per clip only when each clip is its own spectrogram)."""
    torch = _torch()
    import torchaudio

    if w["frontend"] == "torchaudio_melspectrogram":
        transform = torchaudio.transforms.MelSpectrogram(sample_rate=w["sr"], **w["kwargs"])

        def fn(x):
            return transform(x).numpy()
    else:
        transform = torchaudio.transforms.MFCC(sample_rate=w["sr"], **w["kwargs"])

        def fn(x):
            return transform(x[:, None])[:, 0].numpy()

    return torch.from_numpy, fn


def build_librosa(w, backend, mode):
    """librosa.feature.melspectrogram on the batch (power, no dB); librosa.feature.mfcc per clip (its power_to_db
    floor is over the whole input)."""
    import librosa

    if w["frontend"] == "librosa_melspectrogram":
        def fn(x):
            return librosa.feature.melspectrogram(y=x, sr=w["sr"], **w["kwargs"])
    else:
        def fn(x):
            return np.stack([librosa.feature.mfcc(y=clip, sr=w["sr"], **w["kwargs"]) for clip in x])

    return (lambda x: x), fn


BUILDERS = {
    "ref_whisper_clip": build_whisper_clip,
    "ref_whisper_batch": build_whisper_batch,
    "ref_ta_kaldi": build_ta_kaldi,
    "ref_beats": build_beats,
    "ref_knf": build_knf,
    "ref_ast": build_ast,
    "ref_clap": build_clap,
    "ref_torchlibrosa": build_torchlibrosa,
    "ref_numpy_mel": build_numpy_mel,
    "ref_tf_signal": build_tf_signal,
    "ref_ta_transforms": build_ta_transforms,
    "ref_librosa": build_librosa,
}
assert set(BUILDERS) == set(IMPORTS)
