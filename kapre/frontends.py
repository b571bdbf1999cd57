"""The front-ends pretrained audio models were trained with, each one layer, exact to its reference.

A pretrained model works only with the features it was trained on. Each function here is named after what it
reproduces, takes the reference's own argument names and defaults, and returns one serializable Keras layer
(``Kapre>KaldiFeatures`` or ``Kapre>MelFeatures``) that maps raw waveforms ``(batch, samples)`` (or ``(batch,
samples, channels)``, each channel on its own, the channels last in the output) to the model's input features,
batched, differentiable and on every backend:

=============================  =====================================================================  ========
function                       reference                                                              layout
=============================  =====================================================================  ========
:func:`whisper_log_mel`        ``whisper.audio.log_mel_spectrogram`` (openai-whisper)                 features
:func:`kaldi_fbank`            ``torchaudio.compliance.kaldi.fbank``, kaldi-native-fbank              frames
:func:`kaldi_mfcc`             ``torchaudio.compliance.kaldi.mfcc``, kaldi-native-fbank               frames
:func:`ast_fbank`              transformers' ``ASTFeatureExtractor`` (AST, SSAST)                     frames
:func:`beats_fbank`            ``BEATs.preprocess`` (unilm/beats)                                     frames
:func:`panns_log_mel`          torchlibrosa's ``Spectrogram`` + ``LogmelFilterBank`` as PANNs uses them  frames
:func:`clap_log_mel`           transformers' ``ClapFeatureExtractor`` (LAION-CLAP, HTS-AT)            frames
:func:`yamnet_log_mel`         YAMNet's ``features.py`` (tensorflow/models, research/audioset)        frames
:func:`vggish_log_mel`         VGGish's ``mel_features.py`` (tensorflow/models, research/audioset)    frames
:func:`torchaudio_melspectrogram`  ``torchaudio.transforms.MelSpectrogram``                           features
:func:`torchaudio_mfcc`        ``torchaudio.transforms.MFCC``                                         features
:func:`librosa_melspectrogram` ``librosa.feature.melspectrogram`` (+ ``power_to_db``)                 features
:func:`librosa_mfcc`           ``librosa.feature.mfcc``                                               features
=============================  =====================================================================  ========

Output layout (``layout=``): ``'frames_first'`` is ``(batch, frames, features)``, ``'features_first'`` is
``(batch, features, frames)``; each function's default is its reference's own (the last column). With patches
(YAMNet, VGGish) the output is ``(batch, patches, 96, 64)`` (frames first) or ``(batch, patches, 64, 96)``.

Where a reference floors or normalises over "the input", kapre does it per clip (what a batch of independent clips
needs; Whisper's batch-global floor is ``floor='batch'``). Underneath are :mod:`kapre.constants` (Kaldi's windows,
the mel-space filterbank of Kaldi, tf.signal and VGGish, the lifter, the DCT), :mod:`kapre.functional` (mirrored
frames, DC removal, pre-emphasis, log energy, the logarithms and floors) and :mod:`kapre.params` (Kaldi's framing
and mel banks): any other front-end can be composed from them by hand. The STFT front-ends run on
:class:`kapre.MelSpectrogram`'s fast fused path.
"""

from __future__ import annotations

import functools
import inspect
import math
import re

import keras
import numpy as np
from keras import ops

from kapre import _backend, constants, functional
from kapre import _validation as V
from kapre._layer import WAVEFORM, KapreLayer
from kapre.melspectrogram import MelSpectrogram
from kapre.params import Framing, KaldiFraming, KaldiMelBanks, MelFilterbank

__all__ = [
    "KaldiFeatures",
    "MelFeatures",
    "LAYOUTS",
    "whisper_log_mel",
    "kaldi_fbank",
    "kaldi_mfcc",
    "ast_fbank",
    "beats_fbank",
    "panns_log_mel",
    "clap_log_mel",
    "yamnet_log_mel",
    "vggish_log_mel",
    "torchaudio_melspectrogram",
    "torchaudio_mfcc",
    "librosa_melspectrogram",
    "librosa_mfcc",
]

LAYOUTS = ("frames_first", "features_first")
FRAMES_FIRST, FEATURES_FIRST = LAYOUTS
FLOAT32_EPSILON = float(np.finfo(np.float32).eps)  # Kaldi's floor of energies and mel energies before the log


class _WaveformFrontEnd(KapreLayer):
    """Waveforms ``(batch, samples)`` or ``(batch, samples, channels)`` to features; subclasses give
    ``_features`` (``(rows, samples)`` to ``(rows, frames, features)`` or ``(rows, patches, frames, features)``),
    ``_feature_shape(length)`` (the per-row output shape, frames first) and ``_check_length``."""

    def _init_layout(self, layout):
        self.layout = V.check_choice("layout", layout, LAYOUTS)

    def _check_input(self, shape, dtype=None):
        if len(shape) not in (2, 3):
            raise ValueError(
                f"{type(self).__name__} expects waveforms of shape (batch, samples) or (batch, samples, channels), "
                f"received an input of shape {tuple(shape)}."
            )
        if dtype is not None:
            V.check_real_input(type(self).__name__, dtype)
        self._check_length(shape[1])

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        shape = list(self._feature_shape(input_shape[1]))
        if self.layout == FEATURES_FIRST:
            shape[-2], shape[-1] = shape[-1], shape[-2]
        channels = (input_shape[2],) if len(input_shape) == 3 else ()
        return (input_shape[0], *shape, *channels)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self.output_dtype(self.transform_dtype))

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        waveforms = ops.cast(inputs, self.transform_dtype)
        multichannel = len(inputs.shape) == 3
        if multichannel:  # each channel its own row
            batch, length, channels = ops.shape(waveforms)
            waveforms = ops.reshape(ops.transpose(waveforms, (0, 2, 1)), (-1, length))
        if getattr(self, "dither", 0.0) > 0.0:  # the dither's seed state is updated eagerly
            features = self._features(waveforms)
        else:
            # traced once per input length: the framing needs it (Kaldi's edges, patches, padding to a length)
            features = _backend.call_compiled_when_eager(self, self._features, waveforms, static_shapes=True)
        if self.layout == FEATURES_FIRST:
            features = ops.swapaxes(features, -1, -2)
        if multichannel:
            features = ops.reshape(features, (batch, channels, *features.shape[1:]))
            features = ops.moveaxis(features, 1, -1)
        return self.to_output_dtype(features, self.transform_dtype)

    def _normalize(self, features):
        """``(x - norm_mean) / norm_std`` (the identity for 0 and 1)."""
        if self.norm_mean != 0.0:
            features = features - ops.cast(self.norm_mean, features.dtype)
        if self.norm_std != 1.0:
            features = features / ops.cast(self.norm_std, features.dtype)
        return features


def _check_norm(norm_mean, norm_std):
    norm_mean = V.check_float("norm_mean", norm_mean)
    norm_std = V.check_float("norm_std", norm_std, exclusive_minimum=0.0)
    return norm_mean, norm_std


@keras.saving.register_keras_serializable(package="Kapre")
class KaldiFeatures(_WaveformFrontEnd):
    """Kaldi's filterbank energies or MFCCs (``compute-fbank-feats``, ``compute-mfcc-feats``) of a batch of
    waveforms: :func:`kaldi_fbank` and :func:`kaldi_mfcc` build it with torchaudio's names and defaults.

    Per frame, as Kaldi: frames of ``frame_length`` ms every ``frame_shift`` ms (``snip_edges``: only whole frames;
    else the edges mirrored), Gaussian dither of standard deviation ``dither`` (in the waveform's units: Kaldi's
    waveforms are 16-bit integers, so 1.0 there is 1/32768 for a waveform in [-1, 1]), the mean removed, the log
    energy (before pre-emphasis and window with ``raw_energy``), pre-emphasis, the window, the power (or magnitude)
    spectrum of an FFT of ``padded_size`` samples, the mel banks, ``log(max(x, float32 epsilon))``, then the
    energy column (first, last with ``htk_compat``), or for MFCCs the orthonormal DCT, the lifter, c0 replaced by
    the energy. Options beyond Kaldi: ``waveform_scale`` multiplies the waveform first (BEATs: 32768),
    ``target_length`` pads (zeros) or cuts the frames to that many (AST), ``norm_mean``/``norm_std`` normalise the
    features as ``(x - norm_mean) / norm_std``.

    Args:
        kind: ``'fbank'`` or ``'mfcc'``.
        sample_frequency, frame_length, frame_shift, dither, preemphasis_coefficient, remove_dc_offset,
            window_type, round_to_power_of_two, blackman_coeff, snip_edges, low_freq, high_freq, num_mel_bins,
            use_energy, raw_energy, energy_floor, use_log_fbank, use_power, htk_compat, subtract_mean, num_ceps,
            cepstral_lifter: as ``torchaudio.compliance.kaldi.fbank``/``mfcc`` (``num_ceps`` and
            ``cepstral_lifter`` for MFCCs only).
        seed: the dither's seed (``None``: a random one). Two layers with the same seed dither alike.
        waveform_scale, target_length, norm_mean, norm_std: see above.
        layout: ``'frames_first'`` (Kaldi's) or ``'features_first'``.

    Input shape: ``(batch, samples)`` or ``(batch, samples, channels)``.
    Output shape: ``(batch, frames, features)`` (frames first) or ``(batch, features, frames)``, then the channels.

    Example:
        >>> import numpy as np
        >>> from kapre import frontends
        >>> fbank = frontends.kaldi_fbank(num_mel_bins=40)
        >>> tuple(fbank(np.zeros((2, 16000), 'float32')).shape)  # 1 s at 16 kHz: 98 frames of 25 ms every 10 ms
        (2, 98, 40)
    """

    _config_keys = (
        "kind", "sample_frequency", "frame_length", "frame_shift", "dither", "preemphasis_coefficient",
        "remove_dc_offset", "window_type", "round_to_power_of_two", "blackman_coeff", "snip_edges", "low_freq",
        "high_freq", "num_mel_bins", "use_energy", "raw_energy", "energy_floor", "use_log_fbank", "use_power",
        "htk_compat", "subtract_mean", "num_ceps", "cepstral_lifter", "seed", "waveform_scale", "target_length",
        "norm_mean", "norm_std", "layout",
    )

    def __init__(
        self,
        kind="fbank",
        sample_frequency=16000.0,
        frame_length=25.0,
        frame_shift=10.0,
        dither=0.0,
        preemphasis_coefficient=0.97,
        remove_dc_offset=True,
        window_type="povey",
        round_to_power_of_two=True,
        blackman_coeff=0.42,
        snip_edges=True,
        low_freq=20.0,
        high_freq=0.0,
        num_mel_bins=23,
        use_energy=False,
        raw_energy=True,
        energy_floor=1.0,
        use_log_fbank=True,
        use_power=True,
        htk_compat=False,
        subtract_mean=False,
        num_ceps=13,
        cepstral_lifter=22.0,
        seed=None,
        waveform_scale=1.0,
        target_length=None,
        norm_mean=0.0,
        norm_std=1.0,
        layout=FRAMES_FIRST,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.kind = V.check_choice("kind", kind, ("fbank", "mfcc"))
        self._framing = KaldiFraming.resolve(sample_frequency, frame_length, frame_shift, round_to_power_of_two,
                                             snip_edges, window_type, blackman_coeff)
        self.sample_frequency, self.frame_length, self.frame_shift = sample_frequency, frame_length, frame_shift
        self.round_to_power_of_two, self.snip_edges = round_to_power_of_two, snip_edges
        self.window_type, self.blackman_coeff = window_type, blackman_coeff
        self.dither = V.check_float("dither", dither, minimum=0.0, maximum=V.FLOAT32_MAX)
        self.preemphasis_coefficient = V.check_float("preemphasis_coefficient", preemphasis_coefficient,
                                                     minimum=0.0, maximum=1.0)
        self.remove_dc_offset = V.check_bool("remove_dc_offset", remove_dc_offset)
        self._mel = KaldiMelBanks.resolve(self._framing.sample_frequency, self._framing.padded_size, num_mel_bins,
                                          low_freq, high_freq)
        self.num_mel_bins, self.low_freq, self.high_freq = num_mel_bins, low_freq, high_freq
        self.use_energy = V.check_bool("use_energy", use_energy)
        self.raw_energy = V.check_bool("raw_energy", raw_energy)
        self.energy_floor = V.check_float("energy_floor", energy_floor, minimum=0.0, maximum=V.FLOAT32_MAX)
        self.use_log_fbank = V.check_bool("use_log_fbank", use_log_fbank)
        self.use_power = V.check_bool("use_power", use_power)
        if self.kind == "mfcc" and not (self.use_log_fbank and self.use_power):
            raise ValueError(
                "kind='mfcc' takes the DCT of the log power mel energies (Kaldi's MFCC): use_log_fbank and "
                f"use_power must be True, received use_log_fbank={use_log_fbank!r}, use_power={use_power!r}."
            )
        self.htk_compat = V.check_bool("htk_compat", htk_compat)
        self.subtract_mean = V.check_bool("subtract_mean", subtract_mean)
        # the cepstra are at most the bands (MFCCs only: the fbank ignores num_ceps)
        self.num_ceps = V.check_int("num_ceps", num_ceps, minimum=1,
                                    maximum=self._mel.num_mel_bins if self.kind == "mfcc" else V.MAX_COUNT)
        self.cepstral_lifter = V.check_float("cepstral_lifter", cepstral_lifter, minimum=0.0)
        self.seed = V.check_int("seed", seed, allow_none=True)
        self.waveform_scale = V.check_float("waveform_scale", waveform_scale, exclusive_minimum=0.0,
                                            maximum=V.FLOAT32_MAX)
        self.target_length = V.check_int("target_length", target_length, minimum=1, allow_none=True,
                                         maximum=V.MAX_SAMPLES)
        self.norm_mean, self.norm_std = _check_norm(norm_mean, norm_std)
        self._init_layout(layout)
        self._bank_values = self._mel.build()
        self._seed_generator = keras.random.SeedGenerator(seed) if self.dither > 0.0 else None
        self._window = self._bank = self._dct = self._dct_sums = None

    @property
    def frame_locality(self):
        """``'waveform'`` with whole frames only, no per-clip mean, no target length and no dither."""
        plain = self.snip_edges and not self.subtract_mean and self.target_length is None and self.dither == 0.0
        return WAVEFORM if plain else None

    @property
    def n_features(self) -> int:
        if self.kind == "mfcc":
            return self.num_ceps
        return self.num_mel_bins + int(self.use_energy)

    def build(self, input_shape):
        dtype = self.transform_dtype
        self._window = _backend.constant(self._framing.window_values, dtype)
        self._bank = _backend.constant(self._bank_values, dtype)
        if self.kind == "mfcc":
            dct = constants.dct_matrix(self.num_mel_bins, self.num_ceps, norm="ortho")
            dct = dct * constants.cepstral_lifter(self.num_ceps, self.cepstral_lifter)[None, :]
            self._dct = _backend.constant(dct, dtype)
            self._dct_sums = _backend.constant(dct.sum(axis=0), dtype)
        self.built = True

    def _check_length(self, length):
        self._framing.check_length(type(self).__name__, length)

    def _feature_shape(self, length):
        frames = self.target_length or self._framing.num_frames(length)
        return (frames, self.n_features)

    def _features(self, waveforms):
        if self.waveform_scale != 1.0:
            waveforms = waveforms * ops.cast(self.waveform_scale, waveforms.dtype)
        framing = self._framing
        length = waveforms.shape[-1]
        if isinstance(length, int):
            n_frames = framing.num_frames(length)
            left = 0 if framing.snip_edges else framing.left_mirror
            waveforms = functional.mirror_edges(waveforms, framing.size, framing.shift, n_frames, left)
        else:  # a length free until run time (an export's): the mirrors by static widths, then cut
            waveforms = self._mirror_free_length(waveforms)
        # a cache-sized chunk of frames at a time through every per-frame step (as MelSpectrogram)
        rows = waveforms.shape[0] or 1
        features = functional.map_frame_chunks(
            self._frame_features, waveforms, framing.size, framing.shift,
            functional.frames_per_chunk(rows, framing.size, functional.chunk_samples_for(waveforms)),
            max_chunks=_backend.max_frame_chunks(), loop=_backend.LOOPS_OVER_FRAME_CHUNKS and self.dither == 0.0,
        )
        if self.subtract_mean:
            features = features - ops.mean(features, axis=-2, keepdims=True)
        if self.target_length is not None:
            features = _pad_or_cut(features, self.target_length, axis=-2)
        return self._normalize(features)

    def _mirror_free_length(self, waveforms):
        """:func:`kapre.functional.mirror_edges` for a length known only at run time (an export's free axis).
        With ``snip_edges`` the framing reads whole frames only and drops the tail itself; without, the left
        mirror is static, the right one at most ``size - left - (shift - shift // 2)`` samples: that many are
        mirrored, then the signal cut to the ``(n_frames - 1) * shift + size`` samples the frames read (the
        signal is assumed long enough for both mirrors, as Kaldi)."""
        framing = self._framing
        if framing.snip_edges:
            return waveforms
        left = framing.left_mirror
        length = ops.shape(waveforms)[-1]
        n_frames = (length + framing.shift // 2) // framing.shift
        if left < 0:
            waveforms, left = waveforms[:, -left:], 0
        right = max(0, framing.size - left - (framing.shift - framing.shift // 2))
        waveforms = functional.pad_along_axis(waveforms, left, right, mode="symmetric")
        return waveforms[:, : (n_frames - 1) * framing.shift + framing.size]

    def _frame_features(self, waveforms):
        """The features of the whole frames of ``(rows, samples)``: ``(rows, frames, features)``."""
        frames = functional.frames_of(waveforms, self._framing.size, self._framing.shift)
        if self.dither > 0.0:
            noise = keras.random.normal(ops.shape(frames), dtype=frames.dtype, seed=self._seed_generator)
            frames = frames + ops.cast(self.dither, frames.dtype) * noise
        if self.remove_dc_offset:
            frames = functional.remove_dc_offset(frames)
        energy = None
        if self.use_energy and self.raw_energy:
            energy = functional.log_energy(frames, self.energy_floor)
        frames = functional.preemphasis(frames, self.preemphasis_coefficient) * self._window
        if self.use_energy and not self.raw_energy:
            energy = functional.log_energy(frames, self.energy_floor)
        spectrum = _backend.rfft_power(frames, self._framing.padded_size)
        if not self.use_power:
            spectrum = functional.safe_sqrt(spectrum)
        features = _backend.matmul(spectrum, self._bank)
        if self.use_log_fbank:
            features = functional.log_with_floor(features, "ln", floor=FLOAT32_EPSILON)
        if energy is not None:  # (expand_dims: LiteRT has no strided slice with a new axis, [..., None])
            energy = ops.expand_dims(energy, -1)
        if self.kind == "fbank":
            if energy is not None:
                parts = [features, energy] if self.htk_compat else [energy, features]
                features = ops.concatenate(parts, axis=-1)
            return features
        features = functional.centered_matmul(features, self._dct, self._dct_sums)
        if energy is not None:  # c0 replaced by the log energy
            features = ops.concatenate([energy, features[..., 1:]], axis=-1)
        if self.htk_compat:  # c0 (or the energy) last; HTK's c0 is sqrt(2) times the orthonormal one
            first = features[..., :1] if self.use_energy else features[..., :1] * math.sqrt(2.0)
            features = ops.concatenate([features[..., 1:], first], axis=-1)
        return features


def _pad_or_cut(x, length: int, axis: int):
    """``x`` cut to ``length`` along ``axis``, or padded with zeros at the end."""
    axis = axis % len(x.shape)
    present = x.shape[axis]
    if not isinstance(present, int):  # free until run time (an export's): zeros appended, then the first length
        x = functional.pad_along_axis(x, 0, length, axis=axis)
        return x[(slice(None),) * axis + (slice(0, length),)]
    if present >= length:
        return x[(slice(None),) * axis + (slice(0, length),)] if present > length else x
    return functional.pad_along_axis(x, 0, length - present, axis=axis)


MEL_TRIANGLES = ("hz", "mel")
LOG_KINDS = ("ln", "log10", "db")
FLOOR_OVER = ("clip", "batch")


@keras.saving.register_keras_serializable(package="Kapre")
class MelFeatures(_WaveformFrontEnd):
    """A configurable log-mel (or MFCC) front-end on :class:`kapre.MelSpectrogram`'s fast path: the STFT front-ends
    of :mod:`kapre.frontends` (Whisper, PANNs, CLAP, YAMNet, VGGish, torchaudio's and librosa's) are this layer
    with their references' settings.

    In order: the waveform padded or cut to ``pad_or_trim`` samples, padded by ``pad`` zeros at both ends; the
    STFT (``n_fft``, ``win_length``, ``hop_length``, ``window``; ``center`` pads ``n_fft // 2`` samples at both
    ends with ``pad_mode``; without ``center`` a window shorter than ``n_fft`` sits in the middle of frames of
    ``n_fft`` samples with ``window_position='center'``, as in torch.stft and librosa, or at the start of frames of
    ``win_length`` samples with ``'start'``, as in tf.signal), ``|X| ** power``, divided by the window's energy with
    ``normalized``; the last frame
    dropped with ``drop_last_frame`` (Whisper); the mel filterbank (``mel_scale`` ``'slaney'`` or ``'htk'``,
    triangles straight in Hz as librosa, or with ``mel_triangles='mel'`` straight in HTK mel as Kaldi, tf.signal and
    VGGish; ``mel_norm`` ``'slaney'`` or ``None``); the logarithm ``log`` (``None``, ``'ln'``, ``'log10'`` or
    ``'db'``) of ``max(x + log_offset, log_floor)``, minus ``10 log10(max(db_reference, log_floor))`` in dB; a
    floor ``dynamic_range`` below the maximum of each clip (``dynamic_range_over='clip'``) or of the whole batch
    (``'batch'``); ``n_mfcc`` cepstra (DCT-II, ``dct_norm`` ``'ortho'`` or ``'backward'``) with librosa's
    ``lifter``; ``(x - norm_mean) / norm_std``; patches of ``patch_frames`` frames every ``patch_hop`` frames.

    Input shape: ``(batch, samples)`` or ``(batch, samples, channels)``.
    Output shape: ``(batch, frames, features)`` or ``(batch, features, frames)`` per ``layout``; with patches
    ``(batch, patches, patch_frames, features)`` or ``(batch, patches, features, patch_frames)``; then the channels.

    Example:
        >>> import numpy as np
        >>> from kapre import frontends
        >>> whisper = frontends.whisper_log_mel()  # 80 bands every 10 ms, (batch, n_mels, frames) as Whisper's
        >>> tuple(whisper(np.zeros((2, 16000), 'float32')).shape)
        (2, 80, 100)
    """

    _config_keys = (
        "sample_rate", "n_fft", "win_length", "hop_length", "window", "center", "pad_mode", "pad", "power",
        "normalized", "window_position", "n_mels", "f_min", "f_max", "mel_scale", "mel_triangles", "mel_norm",
        "drop_last_frame", "pad_or_trim", "log", "log_floor", "log_offset", "db_reference", "dynamic_range",
        "dynamic_range_over",
        "n_mfcc", "dct_norm", "lifter", "norm_mean", "norm_std", "patch_frames", "patch_hop", "layout",
    )

    def __init__(
        self,
        sample_rate=16000,
        n_fft=400,
        win_length=None,
        hop_length=None,
        window="hann",
        center=True,
        pad_mode="reflect",
        pad=0,
        power=2.0,
        normalized=False,
        window_position="center",
        n_mels=80,
        f_min=0.0,
        f_max=None,
        mel_scale="slaney",
        mel_triangles="hz",
        mel_norm="slaney",
        drop_last_frame=False,
        pad_or_trim=None,
        log=None,
        log_floor=0.0,
        log_offset=0.0,
        db_reference=1.0,
        dynamic_range=None,
        dynamic_range_over="clip",
        n_mfcc=None,
        dct_norm="ortho",
        lifter=0.0,
        norm_mean=0.0,
        norm_std=1.0,
        patch_frames=None,
        patch_hop=None,
        layout=FRAMES_FIRST,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.sample_rate = sample_rate
        self.n_fft, self.win_length, self.hop_length, self.window = n_fft, win_length, hop_length, window
        framing = Framing.resolve(n_fft, win_length, hop_length, window, center=center, pad_mode=pad_mode)
        self.center, self.pad_mode = framing.center, framing.pad_mode
        self.pad = V.check_int("pad", pad, minimum=0, maximum=V.MAX_SAMPLES)
        if power not in (1, 2, 1.0, 2.0) or isinstance(power, bool):
            raise ValueError(f"power must be 1.0 (magnitude) or 2.0 (power), received power={power!r}.")
        self.power = float(power)
        self.normalized = V.check_bool("normalized", normalized)
        self.window_position = V.check_choice("window_position", window_position, ("center", "start"))
        self.n_mels, self.f_min, self.f_max = n_mels, f_min, f_max
        self.mel_scale = V.check_choice("mel_scale", mel_scale, ("slaney", "htk"))
        self.mel_triangles = V.check_choice("mel_triangles", mel_triangles, MEL_TRIANGLES)
        self.mel_norm = V.check_choice("mel_norm", mel_norm, ("slaney", None))
        self._mel = MelFilterbank.resolve(sample_rate, framing.n_freq, n_mels, f_min, f_max,
                                          self.mel_scale == "htk", self.mel_norm,
                                          names={"norm": "mel_norm"})  # checked here, with this layer's names
        if self.mel_triangles == "mel" and (self.mel_scale != "htk" or self.mel_norm is not None):
            raise ValueError(
                "mel_triangles='mel' (Kaldi's, tf.signal's and VGGish's filterbank) is on the HTK scale without "
                f"normalisation: it needs mel_scale='htk' and mel_norm=None, received mel_scale={mel_scale!r}, "
                f"mel_norm={mel_norm!r}."
            )
        self.drop_last_frame = V.check_bool("drop_last_frame", drop_last_frame)
        self.pad_or_trim = V.check_int("pad_or_trim", pad_or_trim, minimum=1, allow_none=True, maximum=V.MAX_SAMPLES)
        self.log = V.check_choice("log", log, (None, *LOG_KINDS))
        self.log_floor = V.check_float("log_floor", log_floor, minimum=0.0, maximum=V.FLOAT32_MAX)
        self.log_offset = V.check_float("log_offset", log_offset, minimum=0.0, maximum=V.FLOAT32_MAX)
        if self.log is not None and self.log_floor == 0.0 and self.log_offset == 0.0:
            raise ValueError(f"log={log!r} needs a positive log_floor or log_offset (the logarithm of 0 is -inf), "
                             "received both 0.")
        self.db_reference = V.check_float("db_reference", db_reference, exclusive_minimum=0.0)
        self.dynamic_range = V.check_float("dynamic_range", dynamic_range, exclusive_minimum=0.0, allow_none=True)
        if self.dynamic_range is not None and self.log is None:
            raise ValueError(f"dynamic_range={dynamic_range!r} is a floor below the maximum of the logarithm: it "
                             "needs log='ln', 'log10' or 'db'.")
        self.dynamic_range_over = V.check_choice("dynamic_range_over", dynamic_range_over, FLOOR_OVER)
        self.n_mfcc = V.check_int("n_mfcc", n_mfcc, minimum=1, allow_none=True, maximum=V.MAX_COUNT)
        self.dct_norm = V.check_choice("dct_norm", dct_norm, ("ortho", "backward"))
        self.lifter = V.check_float("lifter", lifter, minimum=0.0)
        self.norm_mean, self.norm_std = _check_norm(norm_mean, norm_std)
        self.patch_frames = V.check_int("patch_frames", patch_frames, minimum=1, allow_none=True,
                                        maximum=V.MAX_SAMPLES)
        self.patch_hop = V.check_int("patch_hop", patch_hop, minimum=1, allow_none=True, maximum=V.MAX_SAMPLES)
        if (self.patch_frames is None) != (self.patch_hop is None):
            raise ValueError(f"patch_frames and patch_hop go together, received patch_frames={patch_frames!r}, "
                             f"patch_hop={patch_hop!r}.")
        self._init_layout(layout)
        self._framing = framing
        stft_win_length, stft_window = win_length, window
        if not self.center and self.window_position == "center" and framing.win_length < framing.n_fft:
            # torch.stft and librosa frame n_fft samples and centre a shorter window in them (tf.signal: 'start')
            stft_win_length, stft_window = framing.n_fft, framing.centered_window()
        # decibels with a per-clip floor are MelSpectrogram's own (computed chunk by chunk on its fused path)
        self._decibels_inside = (self.log == "db" and self.log_offset == 0.0 and not self.drop_last_frame
                                 and self.dynamic_range_over == "clip")
        db_args = {"return_decibel": False}
        if self._decibels_inside:
            db_args = {"return_decibel": True, "db_amin": self.log_floor, "db_ref_value": self.db_reference,
                       "db_dynamic_range": self.dynamic_range}
        self._mel_spectrogram = MelSpectrogram(
            n_fft=n_fft, win_length=stft_win_length, hop_length=framing.hop_length, window_name=stft_window,
            sample_rate=sample_rate, **db_args,
            n_mels=n_mels, mel_f_min=f_min, mel_f_max=f_max, mel_htk=self.mel_scale == "htk",
            mel_norm=self.mel_norm, power=self.power, center=center, pad_mode=pad_mode,
            # in the transform dtype (float32 under mixed precision): the steps after it work on its full precision
            input_data_format="channels_last", output_data_format="channels_last", dtype=self.transform_dtype,
            name="mel_spectrogram", _filterbank=self._filterbank(),
        )
        self._stft_framing = self._mel_spectrogram._framing  # the frames the STFT reads
        if self.n_mfcc is not None and self.n_mfcc > n_mels:
            raise ValueError(f"n_mfcc must be <= n_mels={n_mels}, received n_mfcc={n_mfcc!r}.")

    def _filterbank(self):
        """The mel filterbank ``(n_freq, n_mels)``; ``None``: the one :class:`kapre.MelSpectrogram` builds."""
        bank = None
        if self.mel_triangles == "mel":
            top = float(self.sample_rate) / 2.0 if self.f_max is None else self.f_max
            bank = constants.mel_space_filterbank(self.sample_rate, self.n_fft, self.n_mels, self.f_min, top)
        if self.normalized:  # torchaudio's normalized=True: the STFT divided by the window's L2 norm
            if bank is None:
                bank = self._mel.build()
            energy = float(np.sum(self._framing.window_values**2))
            bank = bank / energy ** (self.power / 2.0)
        return bank

    @property
    def frame_locality(self):
        """``'waveform'`` unless the end of the signal is mirrored, its length changed, a floor taken over the
        batch or the frames grouped into patches."""
        plain = (
            not (self.center and self.pad_mode == "reflect")
            and self.pad_or_trim is None
            and not (self.dynamic_range is not None and self.dynamic_range_over == "batch")
            and self.patch_frames is None
        )
        return WAVEFORM if plain else None

    @property
    def n_features(self) -> int:
        return self.n_mels if self.n_mfcc is None else self.n_mfcc

    def build(self, input_shape):
        self._mel_spectrogram.build((None, None, 1))
        if self.n_mfcc is not None:
            dct = constants.dct_matrix(self.n_mels, self.n_mfcc, norm=self.dct_norm)
            dct = dct * constants.cepstral_lifter(self.n_mfcc, self.lifter, offset=1)[None, :]
            self._dct = _backend.constant(dct, self.transform_dtype)
            self._dct_sums = _backend.constant(dct.sum(axis=0), self.transform_dtype)
        self.built = True

    def _length_after_padding(self, length):
        if length is None:
            return None
        return (self.pad_or_trim or length) + 2 * self.pad

    def _check_length(self, length):
        padded = self._length_after_padding(length)
        if padded is None:
            return
        self._stft_framing.check_length(type(self).__name__, padded, "Pad the signal.")
        if self.patch_frames is not None and self._frames(length) < self.patch_frames:
            frames_needed = self.patch_frames + int(self.drop_last_frame)
            if self.center:
                needed = (frames_needed - 1) * self.hop_length
            else:
                needed = (frames_needed - 1) * self._framing.hop_length + self._stft_framing.win_length
            needed = max(1, needed - 2 * self.pad)
            raise ValueError(
                f"{type(self).__name__} received a signal of {length} samples, shorter than one patch of "
                f"{self.patch_frames} frames ({needed} samples). Pad the signal to at least one patch."
            )

    def _frames(self, length):
        frames = self._stft_framing.num_frames(self._length_after_padding(length))
        if frames is not None and self.drop_last_frame:
            frames -= 1
        return frames

    def _feature_shape(self, length):
        frames = self._frames(length)
        if self.patch_frames is None:
            return (frames, self.n_features)
        patches = None if frames is None else max(0, 1 + (frames - self.patch_frames) // self.patch_hop)
        return (patches, self.patch_frames, self.n_features)

    def _features(self, waveforms):
        if self.pad_or_trim is not None:
            waveforms = _pad_or_cut(waveforms, self.pad_or_trim, axis=-1)
        if self.pad:
            waveforms = functional.pad_along_axis(waveforms, self.pad, self.pad)
        # (rows, frames, n_mels); expand_dims, not [..., None]: LiteRT has no strided slice with a new axis
        mel = self._mel_spectrogram(ops.expand_dims(waveforms, -1))[..., 0]
        if self.drop_last_frame:
            mel = mel[:, :-1]
        if self.log is not None and not self._decibels_inside:
            mel = functional.log_with_floor(mel, self.log, self.log_floor, self.log_offset)
            if self.log == "db" and self.db_reference != 1.0:
                mel = mel - 10.0 * math.log10(max(self.db_reference, self.log_floor))
            if self.dynamic_range is not None:
                axes = "all" if self.dynamic_range_over == "batch" else None
                mel = functional.floor_below_max(mel, self.dynamic_range, axes)
        if self.n_mfcc is not None:
            mel = functional.centered_matmul(mel, self._dct, self._dct_sums)
        mel = self._normalize(mel)
        if self.patch_frames is not None:  # (rows, frames, features) -> (rows, patches, patch_frames, features)
            mel = functional.frame(ops.swapaxes(mel, -1, -2), self.patch_frames, self.patch_hop)
            mel = ops.transpose(mel, (0, 2, 3, 1))
        return mel


# ---------------------------------------------------------------------------------------------------------------
# The front-ends, by the name of what they reproduce
# ---------------------------------------------------------------------------------------------------------------


def _names_as_typed(renames: dict[str, str]):
    """A builder whose errors name its own arguments: MelFeatures' names in a ``ValueError``/``TypeError`` message
    (``f_min=``) replaced by the builder's (``fmin=``)."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, renames)) + r")\b")

    def decorate(builder):
        @functools.wraps(builder)
        def wrapped(*args, **kwargs):
            try:
                return builder(*args, **kwargs)
            except (ValueError, TypeError) as error:
                message = pattern.sub(lambda match: renames[match.group(1)], str(error))
                if message == str(error):
                    raise
                raise type(error)(message) from None

        return wrapped

    return decorate

WHISPER_SAMPLE_RATE, WHISPER_N_FFT, WHISPER_HOP = 16000, 400, 160
WHISPER_CHUNK_SAMPLES = 30 * WHISPER_SAMPLE_RATE  # whisper.audio.N_SAMPLES: 30 s, 3,000 frames


def whisper_log_mel(n_mels=80, floor="clip", pad_or_trim=False, layout=FEATURES_FIRST, **kwargs) -> MelFeatures:
    """Whisper's input features: ``whisper.audio.log_mel_spectrogram(audio, n_mels)`` of 16 kHz audio.

    A 400-sample (25 ms) periodic Hann window every 160 samples (10 ms), centred with reflect padding, the last
    frame dropped (``samples // 160`` frames), the power through librosa's Slaney mel filterbank (80 bands for
    Whisper up to large-v2, 128 for large-v3), ``log10(max(x, 1e-10))``, floored 8 (80 dB) below the maximum,
    then ``(x + 4) / 4``.

    Args:
        n_mels: 80 or 128.
        floor: ``'clip'`` (default) floors each clip below its own maximum, what a batch of independent clips needs
            (and what transformers' ``WhisperFeatureExtractor`` does); ``'batch'`` below the maximum of the whole
            batch, as ``log_mel_spectrogram`` does when given a batch.
        pad_or_trim: first pad (zeros) or cut the audio to 30 s (``whisper.audio.pad_or_trim``): 3,000 frames,
            the model's input.
        layout: ``'features_first'`` ``(batch, n_mels, frames)``, Whisper's; or ``'frames_first'``.
        **kwargs: base layer arguments (``name``, ``dtype``).
    """
    V.check_choice("n_mels", n_mels, (80, 128))
    V.check_choice("floor", floor, FLOOR_OVER)
    pad_or_trim = V.check_bool("pad_or_trim", pad_or_trim)
    return MelFeatures(
        sample_rate=WHISPER_SAMPLE_RATE, n_fft=WHISPER_N_FFT, hop_length=WHISPER_HOP, window="hann", center=True,
        pad_mode="reflect", power=2.0, n_mels=n_mels, f_min=0.0, f_max=None, mel_scale="slaney", mel_norm="slaney",
        drop_last_frame=True, pad_or_trim=WHISPER_CHUNK_SAMPLES if pad_or_trim else None, log="log10",
        log_floor=1e-10, dynamic_range=8.0, dynamic_range_over=floor, norm_mean=-4.0, norm_std=4.0,
        layout=layout, **kwargs,
    )


def kaldi_fbank(
    *,
    sample_frequency=16000.0,
    frame_length=25.0,
    frame_shift=10.0,
    dither=0.0,
    preemphasis_coefficient=0.97,
    remove_dc_offset=True,
    window_type="povey",
    round_to_power_of_two=True,
    blackman_coeff=0.42,
    snip_edges=True,
    low_freq=20.0,
    high_freq=0.0,
    num_mel_bins=23,
    use_energy=False,
    raw_energy=True,
    energy_floor=1.0,
    use_log_fbank=True,
    use_power=True,
    htk_compat=False,
    subtract_mean=False,
    seed=None,
    layout=FRAMES_FIRST,
    **kwargs,
) -> KaldiFeatures:
    """Kaldi's log mel filterbank energies: ``torchaudio.compliance.kaldi.fbank(waveform, **options)`` (and
    kaldi-native-fbank with the same options) for every clip of a batch at once.

    The arguments are torchaudio's, with its defaults: 25 ms frames every 10 ms at 16 kHz, whole frames only
    (``snip_edges=True``), the Povey window, pre-emphasis 0.97, 23 bands from 20 Hz to Nyquist (``high_freq <= 0``
    counts down from Nyquist), ``log(max(x, float32 epsilon))``. ``dither`` is 0 by default (Kaldi's own default
    is 1.0 on 16-bit samples); above 0 it is Gaussian noise of that standard deviation, from ``seed``. See
    :class:`KaldiFeatures`. Output ``(batch, frames, num_mel_bins)`` (plus the energy column with ``use_energy``).
    """
    return KaldiFeatures(
        kind="fbank", sample_frequency=sample_frequency, frame_length=frame_length, frame_shift=frame_shift,
        dither=dither, preemphasis_coefficient=preemphasis_coefficient, remove_dc_offset=remove_dc_offset,
        window_type=window_type, round_to_power_of_two=round_to_power_of_two, blackman_coeff=blackman_coeff,
        snip_edges=snip_edges, low_freq=low_freq, high_freq=high_freq, num_mel_bins=num_mel_bins,
        use_energy=use_energy, raw_energy=raw_energy, energy_floor=energy_floor, use_log_fbank=use_log_fbank,
        use_power=use_power, htk_compat=htk_compat, subtract_mean=subtract_mean, seed=seed, layout=layout, **kwargs,
    )


def kaldi_mfcc(
    *,
    sample_frequency=16000.0,
    frame_length=25.0,
    frame_shift=10.0,
    dither=0.0,
    preemphasis_coefficient=0.97,
    remove_dc_offset=True,
    window_type="povey",
    round_to_power_of_two=True,
    blackman_coeff=0.42,
    snip_edges=True,
    low_freq=20.0,
    high_freq=0.0,
    num_mel_bins=23,
    num_ceps=13,
    cepstral_lifter=22.0,
    use_energy=False,
    raw_energy=True,
    energy_floor=1.0,
    htk_compat=False,
    subtract_mean=False,
    seed=None,
    layout=FRAMES_FIRST,
    **kwargs,
) -> KaldiFeatures:
    """Kaldi's MFCCs: ``torchaudio.compliance.kaldi.mfcc(waveform, **options)`` (and kaldi-native-fbank's) for
    every clip of a batch at once: the log power mel energies of :func:`kaldi_fbank`, the orthonormal DCT, the
    first ``num_ceps`` coefficients liftered by ``1 + (L / 2) sin(pi i / L)`` (``L = cepstral_lifter``); with
    ``use_energy`` c0 is the frame's log energy; ``htk_compat`` puts c0 (times sqrt 2) or the energy last.
    Output ``(batch, frames, num_ceps)``."""
    return KaldiFeatures(
        kind="mfcc", sample_frequency=sample_frequency, frame_length=frame_length, frame_shift=frame_shift,
        dither=dither, preemphasis_coefficient=preemphasis_coefficient, remove_dc_offset=remove_dc_offset,
        window_type=window_type, round_to_power_of_two=round_to_power_of_two, blackman_coeff=blackman_coeff,
        snip_edges=snip_edges, low_freq=low_freq, high_freq=high_freq, num_mel_bins=num_mel_bins,
        num_ceps=num_ceps, cepstral_lifter=cepstral_lifter, use_energy=use_energy, raw_energy=raw_energy,
        energy_floor=energy_floor, htk_compat=htk_compat, subtract_mean=subtract_mean, seed=seed, layout=layout,
        **kwargs,
    )


AUDIOSET_MEAN, AUDIOSET_STD = -4.2677393, 4.5689974  # AST's AudioSet statistics of its fbank
BEATS_MEAN, BEATS_STD = 15.41663, 6.55582


def ast_fbank(target_length=1024, mean=AUDIOSET_MEAN, std=AUDIOSET_STD, num_mel_bins=128, layout=FRAMES_FIRST,
              **kwargs) -> KaldiFeatures:
    """AST's (and SSAST's) input: transformers' ``ASTFeatureExtractor`` (the AST repository's dataloader).

    The Kaldi fbank of 16 kHz audio with a Hanning window and ``num_mel_bins`` 128 bands (other options Kaldi's
    defaults, no dither), padded with zeros or cut to ``target_length`` frames (1,024: 10.24 s; ``None``: as
    many as the audio gives), normalised with the AudioSet statistics as ``(x - mean) / (2 * std)``. Output
    ``(batch, target_length, 128)``. (The AST repository also subtracts the waveform's mean first; the per-frame
    DC removal makes that a no-op.)"""
    mean, std = _check_norm(mean, std)
    return KaldiFeatures(
        kind="fbank", window_type="hanning", num_mel_bins=num_mel_bins, target_length=target_length,
        norm_mean=mean, norm_std=2.0 * std, layout=layout, **kwargs,
    )


def beats_fbank(mean=BEATS_MEAN, std=BEATS_STD, layout=FRAMES_FIRST, **kwargs) -> KaldiFeatures:
    """BEATs' input (``BEATs.preprocess``, microsoft/unilm): the 16 kHz waveform scaled by 2**15, the Kaldi fbank
    with 128 bands, 25 ms frames every 10 ms (Kaldi's defaults otherwise: Povey window, no dither), normalised as
    ``(x - 15.41663) / (2 * 6.55582)``. Output ``(batch, frames, 128)``."""
    mean, std = _check_norm(mean, std)
    return KaldiFeatures(
        kind="fbank", num_mel_bins=128, waveform_scale=32768.0, norm_mean=mean, norm_std=2.0 * std, layout=layout,
        **kwargs,
    )


@_names_as_typed({"sample_rate": "sample_rate", "n_fft": "window_size", "hop_length": "hop_size",
                  "n_mels": "mel_bins", "f_min": "fmin", "f_max": "fmax"})
def panns_log_mel(sample_rate=32000, window_size=1024, hop_size=320, mel_bins=64, fmin=50.0, fmax=14000.0,
                  layout=FRAMES_FIRST, **kwargs) -> MelFeatures:
    """PANNs' input (torchlibrosa's ``Spectrogram`` and ``LogmelFilterBank`` as the PANNs models build them).

    At 32 kHz: a 1,024-sample (32 ms) periodic Hann window every 320 samples (10 ms), centred with reflect
    padding, the power through librosa's Slaney mel filterbank (64 bands, 50 to 14,000 Hz), ``10 log10(max(x,
    1e-10))`` with no floor. Output ``(batch, frames, mel_bins)`` (torchlibrosa's is ``(batch, 1, frames,
    mel_bins)``)."""
    return MelFeatures(
        sample_rate=sample_rate, n_fft=window_size, hop_length=hop_size, window="hann", center=True,
        pad_mode="reflect", power=2.0, n_mels=mel_bins, f_min=fmin, f_max=fmax, mel_scale="slaney",
        mel_norm="slaney", log="db", log_floor=1e-10, layout=layout, **kwargs,
    )


@_names_as_typed({"sample_rate": "sampling_rate", "n_fft": "fft_window_size", "n_mels": "feature_size",
                  "f_min": "frequency_min", "f_max": "frequency_max"})
def clap_log_mel(sampling_rate=48000, fft_window_size=1024, hop_length=480, feature_size=64, frequency_min=50.0,
                 frequency_max=14000.0, mel_scale="htk", layout=FRAMES_FIRST, **kwargs) -> MelFeatures:
    """LAION-CLAP's (HTS-AT's) log mel spectrogram, as transformers' ``ClapFeatureExtractor`` computes it.

    At 48 kHz: a 1,024-sample periodic Hann window every 480 samples (10 ms), centred with reflect padding, the
    power through a 64-band mel filterbank from 50 to 14,000 Hz, ``10 log10(max(x, 1e-10))``. ``mel_scale='htk'``
    (default): HTK mel without normalisation, the filters of ``truncation='fusion'`` (``mel_filters``);
    ``'slaney'``: Slaney mel and norm, those of ``truncation='rand_trunc'`` (``mel_filters_slaney``). The
    extractor's cropping and repeat-padding to 10 s are left to the data pipeline. Output ``(batch, frames,
    64)``."""
    mel_scale = V.check_choice("mel_scale", mel_scale, ("htk", "slaney"))
    return MelFeatures(
        sample_rate=sampling_rate, n_fft=fft_window_size, hop_length=hop_length, window="hann", center=True,
        pad_mode="reflect", power=2.0, n_mels=feature_size, f_min=frequency_min, f_max=frequency_max,
        mel_scale=mel_scale, mel_norm=None if mel_scale == "htk" else "slaney", log="db", log_floor=1e-10,
        layout=layout, **kwargs,
    )


AUDIOSET_SAMPLE_RATE = 16000
AUDIOSET_PATCH_FRAMES = 96  # 0.96 s of 10 ms frames


def _audioset_log_mel(log_offset, patches, patch_hop_seconds, layout, kwargs) -> MelFeatures:
    """YAMNet's and VGGish's features: 25 ms periodic Hann windows every 10 ms at 16 kHz, no centring, an FFT of
    512, the magnitude through 64 HTK-mel triangles (straight in mel) from 125 to 7,500 Hz, ``log(x +
    log_offset)``."""
    patches = V.check_bool("patches", patches)
    patch_hop_seconds = V.check_float("patch_hop_seconds", patch_hop_seconds, exclusive_minimum=0.0)
    patch_hop = int(round(patch_hop_seconds * 100.0))  # frames of 10 ms, as round(spectrogram rate * seconds)
    if patches and patch_hop < 1:
        raise ValueError(f"patch_hop_seconds must be at least one 10 ms frame, received {patch_hop_seconds!r}.")
    return MelFeatures(
        sample_rate=AUDIOSET_SAMPLE_RATE, n_fft=512, win_length=400, hop_length=160, window="hann", center=False,
        window_position="start", power=1.0, n_mels=64, f_min=125.0, f_max=7500.0, mel_scale="htk",
        mel_triangles="mel", mel_norm=None,
        log="ln", log_offset=log_offset, patch_frames=AUDIOSET_PATCH_FRAMES if patches else None,
        patch_hop=patch_hop if patches else None, layout=layout, **kwargs,
    )


def yamnet_log_mel(patches=False, patch_hop_seconds=0.48, layout=FRAMES_FIRST, **kwargs) -> MelFeatures:
    """YAMNet's log mel spectrogram (``features.waveform_to_log_mel_spectrogram_patches``, tensorflow/models).

    16 kHz audio, 25 ms periodic Hann windows every 10 ms (no centring), ``tf.signal.stft`` with an FFT of 512,
    the magnitude through ``tf.signal.linear_to_mel_weight_matrix`` (64 bands, 125 to 7,500 Hz),
    ``log(x + 0.001)``. Output ``(batch, frames, 64)``; with ``patches`` the model's input, ``(batch, patches,
    96, 64)``: 0.96 s patches every ``patch_hop_seconds`` (0.48 s). (YAMNet's model also pads the waveform
    with zeros to at least one patch and a whole number of hops first.)"""
    return _audioset_log_mel(0.001, patches, patch_hop_seconds, layout, kwargs)


def vggish_log_mel(patches=False, patch_hop_seconds=0.96, layout=FRAMES_FIRST, **kwargs) -> MelFeatures:
    """VGGish's log mel spectrogram (``mel_features.log_mel_spectrogram``, ``vggish_input``, tensorflow/models).

    As :func:`yamnet_log_mel` with VGGish's own mel matrix (``spectrogram_to_mel_matrix``, the same triangles)
    and ``log(x + 0.01)``; with ``patches`` the examples ``vggish_input.waveform_to_examples`` makes: 0.96 s
    every ``patch_hop_seconds`` (0.96 s, no overlap), ``(batch, patches, 96, 64)``."""
    return _audioset_log_mel(0.01, patches, patch_hop_seconds, layout, kwargs)


@_names_as_typed({"window": "window_fn", "mel_norm": "norm"})
def torchaudio_melspectrogram(sample_rate=16000, n_fft=400, win_length=None, hop_length=None, f_min=0.0,
                              f_max=None, pad=0, n_mels=128, window_fn="hann_window", power=2.0, normalized=False,
                              center=True, pad_mode="reflect", norm=None, mel_scale="htk",
                              layout=FEATURES_FIRST, **kwargs) -> MelFeatures:
    """``torchaudio.transforms.MelSpectrogram`` with its arguments and defaults: 400-point FFT, window
    ``n_fft`` long (``win_length``), hop ``win_length // 2``, periodic Hann (``window_fn``: the name of a torch
    window, ``'hann_window'`` or ``'hamming_window'``, periodic), centred with reflect padding, power 2, 128 HTK
    mel bands without normalisation (``norm='slaney'``, ``mel_scale='slaney'`` as torchaudio's).
    ``normalized=True`` divides the STFT by the window's L2 norm. Output ``(batch, n_mels, frames)``."""
    window_fn = V.check_choice("window_fn", window_fn, ("hann_window", "hamming_window"))
    mel_scale = V.check_choice("mel_scale", mel_scale, ("htk", "slaney"))
    norm = V.check_choice("norm", norm, (None, "slaney"))
    win = V.check_int("win_length", win_length, minimum=1, allow_none=True, maximum=V.MAX_SAMPLES)
    n_fft = V.check_int("n_fft", n_fft, minimum=1, maximum=V.MAX_SAMPLES)
    hop = hop_length if hop_length is not None else max(1, (win if win is not None else n_fft) // 2)
    return MelFeatures(
        sample_rate=sample_rate, n_fft=n_fft, win_length=win_length, hop_length=hop, window=window_fn,
        center=center, pad_mode=pad_mode, pad=pad, power=power, normalized=normalized, n_mels=n_mels, f_min=f_min,
        f_max=f_max, mel_scale=mel_scale, mel_norm=norm, layout=layout, **kwargs,
    )


TORCHAUDIO_MEL_DEFAULTS = {"n_fft": 400, "n_mels": 128}


def torchaudio_mfcc(sample_rate=16000, n_mfcc=40, dct_type=2, norm="ortho", log_mels=False, melkwargs=None,
                    layout=FEATURES_FIRST, **kwargs) -> MelFeatures:
    """``torchaudio.transforms.MFCC``: the DCT-II (``norm='ortho'`` or ``None``) of the mel spectrogram of
    :func:`torchaudio_melspectrogram` (``melkwargs``, its arguments) in dB floored 80 dB below each clip's maximum
    (``AmplitudeToDB('power', top_db=80)``), or with ``log_mels`` of ``log(mel + 1e-6)``; the first ``n_mfcc``
    coefficients. Output ``(batch, n_mfcc, frames)``."""
    if dct_type != 2:
        raise ValueError(f"dct_type must be 2 (torchaudio supports only the DCT-II), received dct_type={dct_type!r}.")
    norm = V.check_choice("norm", norm, ("ortho", None))
    log_mels = V.check_bool("log_mels", log_mels)
    melkwargs = _check_kwargs("melkwargs", melkwargs, torchaudio_melspectrogram, ("layout", "sample_rate"))
    mel = torchaudio_melspectrogram(sample_rate=sample_rate, **melkwargs)
    config = mel.get_config()
    for key in ("name", "trainable", "dtype"):
        config.pop(key, None)
    log = {"log": "ln", "log_offset": 1e-6} if log_mels else {"log": "db", "log_floor": 1e-10, "dynamic_range": 80.0}
    config.update(log, n_mfcc=n_mfcc, dct_norm="ortho" if norm == "ortho" else "backward", layout=layout)
    return MelFeatures(**config, **kwargs)


def _check_kwargs(name, value, builder, reserved) -> dict:
    """A dict of keyword arguments for ``builder`` (``None``: none); unknown and reserved keys named."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a dict of {builder.__name__}'s arguments, received {name}={value!r}.")
    known = set(inspect.signature(builder).parameters) - {"kwargs", *reserved}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ValueError(f"{name} has unknown keys {unknown}; it takes {sorted(known)}.")
    return dict(value)


LIBROSA_DB_DEFAULTS = {"ref": 1.0, "amin": 1e-10, "top_db": 80.0}


def _librosa_db(db) -> dict:
    """``db`` (``None``, ``True`` or a dict of ``power_to_db``'s ``ref``, ``amin``, ``top_db``) as MelFeatures'
    log arguments."""
    if db is None or db is False:
        return {}
    if db is True:
        db = {}
    if not isinstance(db, dict) or set(db) - set(LIBROSA_DB_DEFAULTS):
        raise ValueError(f"db must be None, True or a dict with keys among {sorted(LIBROSA_DB_DEFAULTS)} "
                         f"(librosa.power_to_db's), received db={db!r}.")
    options = {**LIBROSA_DB_DEFAULTS, **db}
    if not isinstance(options["ref"], (int, float)) or isinstance(options["ref"], bool):
        raise ValueError(f"db['ref'] must be a number (a callable reference such as np.max is not supported: use "
                         f"the floor top_db), received {options['ref']!r}.")
    return {"log": "db", "log_floor": options["amin"], "db_reference": options["ref"],
            "dynamic_range": options["top_db"]}


@_names_as_typed({"sample_rate": "sr", "f_min": "fmin", "f_max": "fmax", "mel_norm": "norm",
                  "dynamic_range": "db['top_db']", "log_floor": "db['amin']", "db_reference": "db['ref']"})
def librosa_melspectrogram(sr=22050, n_fft=2048, hop_length=512, win_length=None, window="hann", center=True,
                           pad_mode="constant", power=2.0, n_mels=128, fmin=0.0, fmax=None, htk=False,
                           norm="slaney", db=None, layout=FEATURES_FIRST, **kwargs) -> MelFeatures:
    """``librosa.feature.melspectrogram(y=..., sr=...)`` with its arguments and defaults (2,048-point FFT, hop 512,
    periodic Hann, centred with zero padding, power 2, 128 Slaney mel bands with Slaney norm); ``db=True`` (or a
    dict of ``ref``, ``amin``, ``top_db``) adds ``librosa.power_to_db`` (defaults 1.0, 1e-10, 80), its ``top_db``
    floor below each clip's maximum. ``window``: a window name (periodic, as librosa's). Output ``(batch, n_mels,
    frames)``."""
    if hop_length is None:
        hop_length = (win_length or n_fft) // 4
    return MelFeatures(
        sample_rate=sr, n_fft=n_fft, win_length=win_length, hop_length=hop_length, window=window, center=center,
        pad_mode=pad_mode, power=power, n_mels=n_mels, f_min=fmin, f_max=fmax,
        mel_scale="htk" if V.check_bool("htk", htk) else "slaney", mel_norm=norm, layout=layout,
        **_librosa_db(db), **kwargs,
    )


@_names_as_typed({"sample_rate": "sr", "f_min": "fmin", "f_max": "fmax"})  # (norm: the DCT's own name)
def librosa_mfcc(sr=22050, n_mfcc=20, dct_type=2, norm="ortho", lifter=0, mel_norm="slaney", layout=FEATURES_FIRST,
                 **kwargs) -> MelFeatures:
    """``librosa.feature.mfcc(y=..., sr=...)``: the DCT-II (``norm='ortho'`` or ``None``) of
    ``power_to_db(melspectrogram(...))`` (``top_db=80`` below each clip's maximum), the first ``n_mfcc``, liftered
    with ``lifter``; ``mel_norm`` is the filterbank's norm (librosa 0.11's). ``kwargs`` may hold
    :func:`librosa_melspectrogram`'s arguments. Output ``(batch, n_mfcc,
    frames)``."""
    if dct_type != 2:
        raise ValueError(f"dct_type must be 2 (the DCT-II; librosa's types 1 and 3 are not supported), received "
                         f"dct_type={dct_type!r}.")
    norm = V.check_choice("norm", norm, ("ortho", None))
    mel_keys = {"n_fft", "hop_length", "win_length", "window", "center", "pad_mode", "power", "n_mels", "fmin",
                "fmax", "htk"}
    mel_args = {key: kwargs.pop(key) for key in list(kwargs) if key in mel_keys}
    mel = librosa_melspectrogram(sr=sr, db=True, norm=mel_norm, **mel_args)
    config = mel.get_config()
    for key in ("name", "trainable", "dtype"):
        config.pop(key, None)
    config.update(n_mfcc=n_mfcc, dct_norm="ortho" if norm == "ortho" else "backward", lifter=lifter, layout=layout)
    return MelFeatures(**config, **kwargs)
