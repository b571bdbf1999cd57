"""The registry of every public kapre layer and composed front-end, for tests/test_layer_harness.py.

Each :class:`LayerCase` says how to build one variant of a layer (``factory``, a zero-argument callable; the dtype
policy in force when it is called applies), what it takes (``input_shape`` without the batch axis, ``dtype``), which
input axis is the time axis and at which lengths to check it (the shortest valid length, exactly one frame,
lengths that are not a multiple of the hop), and what the harness may expect of it (``differentiable``, ``random``,
``frame_locality``). A check that does not apply to a case is opted out in ``opt_outs`` with the reason, which the
harness prints when it skips it: nothing is skipped silently.

A new layer joins the harness by adding one entry here (tests/test_layer_harness.py fails for a public layer class
that no entry covers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from types import MappingProxyType

import keras

import kapre
from kapre import augmentation, filterbank, frontends, legacy, utils
from kapre.compat import das

# The names of the harness' checks, as opt_outs and known_bugs keys.
CHECKS = (
    "config",
    "round_trip",
    "shapes",
    "batched",
    "empty_batch",
    "traced",
    "float64",
    "mixed_float16",
    "gradient",
    "gradient_at_zero",
    "frame_locality_attribute",
    "frame_locality_behaviour",
)
FRAME_LOCALITIES = ("frame", "waveform", "example_max", None)


@dataclasses.dataclass(frozen=True)
class LayerCase:
    name: str
    factory: Callable[[], object]
    input_shape: tuple[int, ...]  # without the batch axis; input_shape[time_axis] is the default length
    covers: tuple = ()  # the public classes (or kapre.composed function names) this case exercises
    dtype: str = "float32"  # "float32", "complex64" or "int32"
    time_axis: int | None = 0  # input axis (without batch) whose length varies; None: the shape is fixed
    edge_lengths: tuple[int, ...] = ()  # extra lengths of the time axis checked by the shape check
    output_time_axis: int | None = 0  # output axis (without batch) of the frames, for frame locality
    differentiable: bool = True
    nonzero_gradient: bool = True  # the gradient of sum(output) is not all zero (for a noise input)
    random: bool = False  # augmentation: compared in inference mode (training=None), where it is deterministic
    frame_locality: str | None = None
    torch_compile: bool = False  # also first-called inside torch.compile (slow: a few representative cases)
    holds_weights: bool = False  # Keras weights: on JAX they cannot be created inside jax.jit (nor can Dense's)
    float64_output: str = "float64"  # output dtype of a float64 layer on float64 (complex128) input
    mixed_output: str = "float16"  # output dtype under the mixed_float16 policy
    rtol: float = 1e-6  # batched == per-example and traced == eager: rtol, and atol relative to max |output|
    opt_outs: Mapping[str, str] = dataclasses.field(default_factory=dict)  # check -> reason
    # check -> (reason, backends or None for all): a bug in kapre the check finds; a strict xfail until it is fixed
    known_bugs: Mapping[str, tuple] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        assert self.frame_locality in FRAME_LOCALITIES, self.frame_locality
        for table in (self.opt_outs, self.known_bugs):
            assert set(table) <= set(CHECKS), set(table) - set(CHECKS)
        assert all(isinstance(reason, str) and reason for reason in self.opt_outs.values())
        assert all(isinstance(reason, str) and reason for reason, _ in self.known_bugs.values())
        object.__setattr__(self, "opt_outs", MappingProxyType(dict(self.opt_outs)))
        object.__setattr__(self, "known_bugs", MappingProxyType(dict(self.known_bugs)))

    @property
    def is_model(self) -> bool:
        return bool(self.covers) and isinstance(self.covers[0], str)

    @property
    def lengths(self) -> tuple[int, ...]:
        if self.time_axis is None:
            return ()
        return tuple(sorted({self.input_shape[self.time_axis], *self.edge_lengths}))

    def shape_at(self, length: int | None) -> tuple:
        if self.time_axis is None or length is None:
            return tuple(self.input_shape)
        shape = list(self.input_shape)
        shape[self.time_axis] = length
        return tuple(shape)


CL = {"input_data_format": "channels_last", "output_data_format": "channels_last"}
CF = {"input_data_format": "channels_first", "output_data_format": "channels_first"}
N_FFT, HOP = 64, 16  # small transforms: the harness checks structure; the numbers are checked per module
N_FREQ = N_FFT // 2 + 1
WAVE_LENGTHS = (N_FFT, N_FFT + HOP // 2 + 3)  # with the default 200: one frame, not multiples of the hop
WAVE = (200, 1)
SPEC = (12, N_FREQ, 1)  # (time, freq, channels)
SPEC_LENGTHS = (1, 7)
MEL = {"sample_rate": 8000, "n_freq": N_FREQ, "n_mels": 8}
NOT_DIFFERENTIABLE_INT = {"gradient": "integer output (quantization): no gradient"}
POOLED_BATCH = "the statistics pool the whole batch (kapre 0.2's rule, documented): batched != per-example"

COMPOSED = {"frame_locality_attribute": "a keras.Sequential of kapre layers, not a kapre layer: the attribute "
                                        "is its layers' (the behaviour is checked on the stack)"}


def _seq(input_shape, *layers, dtype="float32"):
    return keras.Sequential([keras.Input(input_shape, dtype=dtype), *layers])


def _perfect_pair():
    stft, istft = kapre.composed.get_perfectly_reconstructing_stft_istft(
        n_fft=N_FFT, hop_length=HOP, waveform_data_format="channels_last", stft_data_format="channels_last")
    return _seq(WAVE, stft, istft)


CASES: list[LayerCase] = [
    # -- kapre.time_frequency ------------------------------------------------------------------------------------
    LayerCase("STFT", lambda: kapre.STFT(n_fft=N_FFT, hop_length=HOP, **CL), WAVE, (kapre.STFT,),
              edge_lengths=WAVE_LENGTHS, frame_locality="waveform", torch_compile=True, float64_output="complex128",
              mixed_output="complex64"),
    LayerCase("STFT-dft", lambda: kapre.STFT(n_fft=N_FFT, hop_length=HOP, engine="dft", **CL), WAVE, (kapre.STFT,),
              edge_lengths=WAVE_LENGTHS, frame_locality="waveform", torch_compile=True, float64_output="complex128",
              mixed_output="complex64"),
    LayerCase("STFT-pad-hamming", lambda: kapre.STFT(n_fft=N_FFT, win_length=48, hop_length=20,
                                                     window_name="hamming_window", pad_begin=True, pad_end=True, **CL),
              (200, 2), (kapre.STFT,), edge_lengths=(1, 21), frame_locality="waveform",
              float64_output="complex128", mixed_output="complex64"),
    LayerCase("STFT-channels-first", lambda: kapre.STFT(n_fft=N_FFT, hop_length=HOP, **CF), (2, 200), (kapre.STFT,),
              time_axis=1, output_time_axis=1, edge_lengths=WAVE_LENGTHS, frame_locality="waveform",
              float64_output="complex128", mixed_output="complex64"),
    LayerCase("STFT-center-reflect-array-window", lambda: kapre.STFT(
        n_fft=N_FFT, hop_length=HOP, center=True, pad_mode="reflect", window_name=_hann(N_FFT), **CL), WAVE,
              (kapre.STFT,), edge_lengths=(N_FFT // 2 + 1, 75), frame_locality=None,
              float64_output="complex128", mixed_output="complex64"),
    LayerCase("STFT-center-constant", lambda: kapre.STFT(n_fft=N_FFT, hop_length=HOP, center=True,
                                                         pad_mode="constant", **CL),
              WAVE, (kapre.STFT,), edge_lengths=(1, N_FFT, 75), frame_locality="waveform", float64_output="complex128",
              mixed_output="complex64"),
    LayerCase("InverseSTFT", lambda: kapre.InverseSTFT(n_fft=N_FFT, hop_length=HOP,
                                                       forward_window_name="vorbis_window", **CL),
              SPEC, (kapre.InverseSTFT,), dtype="complex64", edge_lengths=SPEC_LENGTHS, frame_locality=None,
              torch_compile=True, mixed_output="float32"),  # float32 under mixed precision (not documented)
    LayerCase("Magnitude", kapre.Magnitude, SPEC, (kapre.Magnitude,), dtype="complex64", edge_lengths=SPEC_LENGTHS,
              frame_locality="frame"),
    LayerCase("Magnitude-power", lambda: kapre.Magnitude(power=2.0), SPEC, (kapre.Magnitude,), dtype="complex64",
              edge_lengths=SPEC_LENGTHS, frame_locality="frame"),
    LayerCase("Phase", kapre.Phase, SPEC, (kapre.Phase,), dtype="complex64", edge_lengths=SPEC_LENGTHS,
              frame_locality="frame"),
    LayerCase("Phase-approx", lambda: kapre.Phase(approx_atan_accuracy=25), SPEC, (kapre.Phase,), dtype="complex64",
              edge_lengths=SPEC_LENGTHS, frame_locality="frame"),
    LayerCase("MagnitudeToDecibel", kapre.MagnitudeToDecibel, SPEC, (kapre.MagnitudeToDecibel,),
              edge_lengths=SPEC_LENGTHS, frame_locality="example_max"),
    LayerCase("MagnitudeToDecibel-ref-max", lambda: kapre.MagnitudeToDecibel(
        ref_value="max", amin=1e-4, dynamic_range=60.0, amplitude=True), SPEC, (kapre.MagnitudeToDecibel,),
              edge_lengths=SPEC_LENGTHS, frame_locality="example_max"),
    LayerCase("ApplyFilterbank-mel", lambda: kapre.ApplyFilterbank("mel", MEL, data_format="channels_last"), SPEC,
              (kapre.ApplyFilterbank,), edge_lengths=SPEC_LENGTHS, frame_locality="frame", torch_compile=True),
    LayerCase("ApplyFilterbank-log-channels-first", lambda: kapre.ApplyFilterbank(
        "log", {"sample_rate": 22050, "n_freq": 1025}, data_format="channels_first"), (2, 4, 1025),
              (kapre.ApplyFilterbank,), time_axis=1, output_time_axis=1, edge_lengths=(1,), frame_locality="frame"),
    LayerCase("Delta", lambda: kapre.Delta(data_format="channels_last"), SPEC, (kapre.Delta,),
              edge_lengths=(2, 7), frame_locality=None),
    LayerCase("Delta-reflect-channels-first", lambda: kapre.Delta(win_length=7, mode="reflect",
                                                                  data_format="channels_first"),
              (2, 10, 9), (kapre.Delta,), time_axis=1, output_time_axis=1, edge_lengths=(4,), frame_locality=None),
    LayerCase("ConcatenateFrequencyMap", lambda: kapre.ConcatenateFrequencyMap(data_format="channels_last"),
              (12, 9, 2), (kapre.ConcatenateFrequencyMap,), edge_lengths=SPEC_LENGTHS, frame_locality="frame",
              ),
    # -- kapre.melspectrogram ------------------------------------------------------------------------------------
    LayerCase("MelSpectrogram", lambda: kapre.MelSpectrogram(n_fft=N_FFT, hop_length=HOP, sample_rate=8000, n_mels=8,
                                                             return_decibel=False, **CL),
              WAVE, (kapre.MelSpectrogram,), edge_lengths=WAVE_LENGTHS, frame_locality="waveform"),
    LayerCase("MelSpectrogram-decibel-channels-first", lambda: kapre.MelSpectrogram(
        n_fft=N_FFT, hop_length=HOP, sample_rate=8000, n_mels=8, power=1.0, **CF), (2, 200),
              (kapre.MelSpectrogram,), time_axis=1, output_time_axis=1, edge_lengths=(N_FFT, 75),
              frame_locality="waveform", rtol=1e-5, torch_compile=True),
    LayerCase("MelSpectrogram-center-reflect", lambda: kapre.MelSpectrogram(
        n_fft=N_FFT, win_length=N_FFT - 4, hop_length=HOP, sample_rate=8000, n_mels=8, center=True, pad_mode="reflect",
        **CL), WAVE, (kapre.MelSpectrogram,), edge_lengths=(N_FFT // 2 + 1, 75), frame_locality=None),
    LayerCase("MelSpectrogram-center-constant", lambda: kapre.MelSpectrogram(
        n_fft=N_FFT, hop_length=HOP, sample_rate=8000, n_mels=8, center=True, **CL), WAVE, (kapre.MelSpectrogram,),
              edge_lengths=(1, N_FFT, 75), frame_locality="waveform"),
    # -- kapre.stft_spectrogram ----------------------------------------------------------------------------------
    LayerCase("STFTSpectrogram-psd", lambda: kapre.STFTSpectrogram(mode="psd", frame_length=N_FFT, frame_step=HOP),
              WAVE, (kapre.STFTSpectrogram,), edge_lengths=WAVE_LENGTHS, frame_locality="waveform",
              torch_compile=True),
    LayerCase("STFTSpectrogram-log", lambda: kapre.STFTSpectrogram(mode="log", frame_length=N_FFT, frame_step=HOP),
              WAVE, (kapre.STFTSpectrogram,), edge_lengths=(N_FFT,), frame_locality="waveform", rtol=1e-5),
    LayerCase("STFTSpectrogram-stft-same-channels-first", lambda: kapre.STFTSpectrogram(
        mode="stft", frame_length=50, frame_step=20, padding="same", data_format="channels_first"), (2, 200),
              (kapre.STFTSpectrogram,), time_axis=1, output_time_axis=1, edge_lengths=(1, 21),
              frame_locality=None),
    # -- kapre.time_frequency_tflite -----------------------------------------------------------------------------
    LayerCase("STFTTflite", lambda: kapre.STFTTflite(n_fft=N_FFT, hop_length=HOP, **CL), WAVE, (kapre.STFTTflite,),
              edge_lengths=WAVE_LENGTHS, frame_locality="waveform", torch_compile=True, mixed_output="float32"),
    LayerCase("STFTTflite-channels-first-pad-end", lambda: kapre.STFTTflite(n_fft=N_FFT, hop_length=HOP, pad_end=True,
                                                                            **CF),
              (2, 200), (kapre.STFTTflite,), time_axis=1, output_time_axis=1, edge_lengths=(1, 17),
              frame_locality="waveform", mixed_output="float32"),
    LayerCase("MagnitudeTflite", kapre.MagnitudeTflite, (*SPEC, 2), (kapre.MagnitudeTflite,),
              edge_lengths=SPEC_LENGTHS, frame_locality="frame", torch_compile=True),
    LayerCase("PhaseTflite", kapre.PhaseTflite, (*SPEC, 2), (kapre.PhaseTflite,), edge_lengths=SPEC_LENGTHS,
              frame_locality="frame"),
    # -- kapre.signal --------------------------------------------------------------------------------------------
    LayerCase("Frame", lambda: kapre.Frame(frame_length=N_FFT, hop_length=HOP, data_format="channels_last"), WAVE,
              (kapre.Frame,), edge_lengths=WAVE_LENGTHS, frame_locality="waveform", mixed_output="float32"),
    LayerCase("Frame-pad-end-channels-first", lambda: kapre.Frame(frame_length=N_FFT, hop_length=HOP, pad_end=True,
                                                                  data_format="channels_first"),
              (2, 200), (kapre.Frame,), time_axis=1, output_time_axis=1, edge_lengths=(1, 17),
              frame_locality="waveform", mixed_output="float32"),  # Frame keeps the input's dtype
    LayerCase("Energy", lambda: kapre.Energy(frame_length=N_FFT, hop_length=HOP, data_format="channels_last"), WAVE,
              (kapre.Energy,), edge_lengths=WAVE_LENGTHS, frame_locality="waveform"),
    LayerCase("MuLawEncoding", lambda: kapre.MuLawEncoding(256), WAVE, (kapre.MuLawEncoding,), edge_lengths=(1,),
              differentiable=False, frame_locality="frame", opt_outs=NOT_DIFFERENTIABLE_INT, rtol=0.0,
              float64_output="int32", mixed_output="int32"),
    LayerCase("MuLawDecoding", lambda: kapre.MuLawDecoding(64), WAVE, (kapre.MuLawDecoding,), dtype="int32",
              edge_lengths=(1,), differentiable=False, frame_locality="frame",
              opt_outs={"gradient": "integer input: no gradient"}),
    LayerCase("MuLawDecoding-float-codes", lambda: kapre.MuLawDecoding(256), WAVE, (kapre.MuLawDecoding,),
              edge_lengths=(1,), frame_locality="frame", nonzero_gradient=False),
    LayerCase("LogmelToMFCC", lambda: kapre.LogmelToMFCC(n_mfccs=5), (12, 8, 2), (kapre.LogmelToMFCC,),
              edge_lengths=SPEC_LENGTHS, frame_locality="frame", torch_compile=True),
    LayerCase("LogmelToMFCC-ortho-channels-first", lambda: kapre.LogmelToMFCC(n_mfccs=8, dct_norm="ortho",
                                                                              data_format="channels_first"),
              (2, 12, 8), (kapre.LogmelToMFCC,), time_axis=1, output_time_axis=1, edge_lengths=(1,),
              frame_locality="frame"),
    # -- kapre.augmentation (inference mode: the identity; training draws are checked in test_augmentation.py) ----
    LayerCase("SpecAugment", lambda: augmentation.SpecAugment(freq_mask_param=5, time_mask_param=3, seed=0,
                                                              data_format="channels_last"),
              SPEC, (augmentation.SpecAugment,), edge_lengths=(3, 7), random=True, frame_locality=None,
              mixed_output="float32"),  # the input's dtype
    LayerCase("ChannelSwap", lambda: augmentation.ChannelSwap(data_format="channels_last", seed=0), (12, 9, 2),
              (augmentation.ChannelSwap,), edge_lengths=(1, 7), random=True, frame_locality=None,
              mixed_output="float32"),  # the input's dtype
    LayerCase("AdditiveNoise", lambda: augmentation.AdditiveNoise(power=0.05, random_gain=True, seed=2), WAVE,
              (augmentation.AdditiveNoise,), edge_lengths=(1, 7), random=True, frame_locality=None,
              mixed_output="float32"),  # the input's dtype
    # -- kapre 0.2 (kapre.legacy, kapre.utils, kapre.filterbank): (channels, time) in, image layout out ------------
    LayerCase("0.2 Spectrogram", lambda: legacy.Spectrogram(n_dft=N_FFT, n_hop=HOP, padding="valid",
                                                            image_data_format="channels_last"),
              (1, 200), (legacy.Spectrogram,), time_axis=1, output_time_axis=1, edge_lengths=(N_FFT, 90),
              frame_locality="waveform", holds_weights=True),
    LayerCase("0.2 Spectrogram-same-decibel", lambda: legacy.Spectrogram(
        n_dft=N_FFT, n_hop=HOP, return_decibel_spectrogram=True, image_data_format="channels_first"),
              (2, 200), (legacy.Spectrogram,), time_axis=1, output_time_axis=2, edge_lengths=(1, 17),
              frame_locality=None, rtol=1e-5, holds_weights=True),
    LayerCase("0.2 Melspectrogram", lambda: legacy.Melspectrogram(n_dft=N_FFT, n_hop=HOP, sr=8000, n_mels=8,
                                                                  padding="valid", image_data_format="channels_last"),
              (1, 200), (legacy.Melspectrogram,), time_axis=1, output_time_axis=1, edge_lengths=(N_FFT, 90),
              frame_locality="waveform", holds_weights=True),
    LayerCase("0.2 Melspectrogram-decibel-trainable", lambda: legacy.Melspectrogram(
        n_dft=N_FFT, n_hop=HOP, sr=8000, n_mels=8, return_decibel_melgram=True, trainable_fb=True,
        trainable_kernel=True, image_data_format="channels_first"), (1, 200), (legacy.Melspectrogram,), time_axis=1,
              output_time_axis=2, edge_lengths=(1, 17), frame_locality=None, rtol=1e-5, holds_weights=True),
    LayerCase("0.2 AmplitudeToDB", utils.AmplitudeToDB, (9, 12, 1), (utils.AmplitudeToDB,), time_axis=1,
              output_time_axis=1, edge_lengths=(1,), frame_locality="example_max"),
    LayerCase("0.2 Normalization2D-data-sample", lambda: utils.Normalization2D(str_axis="data_sample",
                                                                               image_data_format="channels_last"),
              (9, 12, 1), (utils.Normalization2D,), time_axis=1, output_time_axis=1, edge_lengths=(1,),
              frame_locality=None, nonzero_gradient=False),
    LayerCase("0.2 Normalization2D-freq", lambda: utils.Normalization2D(str_axis="freq",
                                                                        image_data_format="channels_first"),
              (1, 9, 12), (utils.Normalization2D,), time_axis=2, output_time_axis=2, edge_lengths=(1,),
              # gradient at zero: the zero example's statistics pool the batch (with the noise example)
              frame_locality=None, nonzero_gradient=False, opt_outs={"batched": POOLED_BATCH}),
    LayerCase("0.2 Normalization2D-batch", lambda: utils.Normalization2D(str_axis="batch"), (9, 12, 1),
              (utils.Normalization2D,), time_axis=1, output_time_axis=1, frame_locality=None,
              nonzero_gradient=False,
              opt_outs={"batched": POOLED_BATCH}),  # the zero example's statistics pool the batch
    LayerCase("0.2 Delta", lambda: utils.Delta(data_format="channels_last"), (9, 12, 1), (utils.Delta,),
              time_axis=1, output_time_axis=1, edge_lengths=(2,), frame_locality=None),
    LayerCase("0.2 Filterbank", lambda: filterbank.Filterbank(n_fbs=8, trainable_fb=False, sr=8000,
                                                              image_data_format="channels_last"),
              (N_FREQ, 12, 1), (filterbank.Filterbank,), time_axis=1, output_time_axis=1, edge_lengths=(1,),
              frame_locality="frame", holds_weights=True),
    LayerCase("0.2 Filterbank-log-trainable", lambda: filterbank.Filterbank(
        n_fbs=8, trainable_fb=True, sr=8000, init="log", fmin=None, image_data_format="channels_first"), (1, 257, 12),
              (filterbank.Filterbank,), time_axis=2, output_time_axis=2, edge_lengths=(1,), frame_locality="frame",
              holds_weights=True),
    # -- kapre.frontends (covers: the layer class, then the builder functions the case exercises) -----------------
    LayerCase("kaldi_fbank-energy", lambda: frontends.kaldi_fbank(sample_frequency=8000, num_mel_bins=10,
                                                                  use_energy=True), (800,),
              (frontends.KaldiFeatures, "kaldi_fbank"), edge_lengths=(200, 200 + 80 + 13), frame_locality="waveform"),
    LayerCase("kaldi_fbank-mirrored-edges-linear", lambda: frontends.kaldi_fbank(
        sample_frequency=8000, num_mel_bins=10, snip_edges=False, use_log_fbank=False, use_power=False,
        window_type="hamming"), (800,), (frontends.KaldiFeatures, "kaldi_fbank"),
              edge_lengths=(70, 200, 293), frame_locality=None, rtol=1e-5),  # 70: the shortest it takes
    LayerCase("kaldi_fbank-subtract-mean", lambda: frontends.kaldi_fbank(
        sample_frequency=8000, num_mel_bins=10, subtract_mean=True), (800,), (frontends.KaldiFeatures, "kaldi_fbank"),
              edge_lengths=(200,), frame_locality=None, rtol=1e-5,
              nonzero_gradient=False),  # each band minus its mean over the frames: their sum is 0 whatever the input
    LayerCase("kaldi_mfcc-htk-energy-features-first", lambda: frontends.kaldi_mfcc(
        sample_frequency=8000, num_mel_bins=10, num_ceps=6, use_energy=True, htk_compat=True,
        layout="features_first"), (800,), (frontends.KaldiFeatures, "kaldi_mfcc"), output_time_axis=1,
              edge_lengths=(200, 293), frame_locality="waveform", rtol=1e-5),
    LayerCase("ast_fbank", lambda: frontends.ast_fbank(target_length=12, num_mel_bins=16), (1600,),
              (frontends.KaldiFeatures, "ast_fbank"), edge_lengths=(400, 2300), frame_locality=None),
    LayerCase("beats_fbank-multichannel", frontends.beats_fbank, (1600, 2), (frontends.KaldiFeatures, "beats_fbank"),
              edge_lengths=(400, 733), frame_locality="waveform", rtol=1e-5),
    LayerCase("whisper_log_mel", frontends.whisper_log_mel, (1600,), (frontends.MelFeatures, "whisper_log_mel"),
              output_time_axis=1, edge_lengths=(201, 1637), frame_locality=None, rtol=1e-5),
    LayerCase("whisper_log_mel-batch-floor", lambda: frontends.whisper_log_mel(floor="batch", layout="frames_first"),
              (1600,), (frontends.MelFeatures, "whisper_log_mel"), edge_lengths=(201,), frame_locality=None,
              opt_outs={"batched": "floor='batch' is Whisper's floor below the whole batch's maximum: a clip's "
                                   "features depend on the other clips by design"}),
    LayerCase("panns_log_mel", frontends.panns_log_mel, (3200,), (frontends.MelFeatures, "panns_log_mel"),
              edge_lengths=(513, 3333), frame_locality=None, rtol=1e-5),
    LayerCase("clap_log_mel", frontends.clap_log_mel, (4800,), (frontends.MelFeatures, "clap_log_mel"),
              edge_lengths=(513,), frame_locality=None, rtol=1e-5),
    LayerCase("yamnet_log_mel", frontends.yamnet_log_mel, (1600,), (frontends.MelFeatures, "yamnet_log_mel"),
              edge_lengths=(400, 1613), frame_locality="waveform", rtol=1e-5),
    LayerCase("yamnet_log_mel-patches", lambda: frontends.yamnet_log_mel(patches=True), (23280,),
              (frontends.MelFeatures, "yamnet_log_mel"), edge_lengths=(15600, 15700), frame_locality=None,
              rtol=1e-5),
    LayerCase("vggish_log_mel-patches-features-first", lambda: frontends.vggish_log_mel(
        patches=True, layout="features_first"), (15600,), (frontends.MelFeatures, "vggish_log_mel"),
              edge_lengths=(31000,), frame_locality=None, rtol=1e-5),
    LayerCase("torchaudio_melspectrogram", lambda: frontends.torchaudio_melspectrogram(
        sample_rate=8000, n_fft=128, n_mels=16), (800,), (frontends.MelFeatures, "torchaudio_melspectrogram"),
              output_time_axis=1, edge_lengths=(65, 813), frame_locality=None),
    LayerCase("torchaudio_mfcc-constant-padding", lambda: frontends.torchaudio_mfcc(
        sample_rate=8000, n_mfcc=8, melkwargs={"n_fft": 128, "n_mels": 16, "pad_mode": "constant"}), (800,),
              (frontends.MelFeatures, "torchaudio_mfcc"), output_time_axis=1, edge_lengths=(1, 813),
              frame_locality="waveform", rtol=1e-5),
    LayerCase("librosa_melspectrogram-db", lambda: frontends.librosa_melspectrogram(
        sr=8000, n_fft=128, hop_length=32, n_mels=16, db=True), (800,),
              (frontends.MelFeatures, "librosa_melspectrogram"), output_time_axis=1, edge_lengths=(1, 813),
              frame_locality="waveform", rtol=1e-5),
    LayerCase("librosa_mfcc-multichannel-frames-first", lambda: frontends.librosa_mfcc(
        sr=8000, n_fft=128, hop_length=32, n_mels=16, n_mfcc=8, lifter=22, layout="frames_first"), (800, 2),
              (frontends.MelFeatures, "librosa_mfcc"), edge_lengths=(1, 813), frame_locality="waveform", rtol=1e-5),
    # -- kapre.compat.das ----------------------------------------------------------------------------------------
    LayerCase("DAS Spectrogram", lambda: das.Spectrogram(n_dft=N_FFT, n_hop=HOP), WAVE, (das.Spectrogram,),
              # padding='same': the leading pad depends on the length
              edge_lengths=(1, 17), frame_locality=None, holds_weights=True),
    LayerCase("DAS Melspectrogram", lambda: das.Melspectrogram(n_dft=N_FFT, n_hop=HOP, sr=8000, n_mels=8), WAVE,
              (das.Melspectrogram,), edge_lengths=(1, 17), frame_locality=None, holds_weights=True),
    LayerCase("DAS AmplitudeToDB", das.AmplitudeToDB, SPEC, (das.AmplitudeToDB,), edge_lengths=(1,),
              frame_locality="example_max"),
    # -- kapre.composed (Sequential models; frame_locality is that of the layer stack) ----------------------------
    LayerCase("get_stft_magnitude_layer", lambda: kapre.composed.get_stft_magnitude_layer(
        input_shape=(200, 2), n_fft=N_FFT, hop_length=HOP, return_decibel=True, **CL), (200, 2),
              ("get_stft_magnitude_layer",), time_axis=None, frame_locality="waveform", rtol=1e-5,
              opt_outs=COMPOSED),
    LayerCase("get_melspectrogram_layer", lambda: kapre.composed.get_melspectrogram_layer(
        input_shape=(200, 2), n_fft=N_FFT, hop_length=HOP, sample_rate=8000, n_mels=8, return_decibel=True, **CL),
              (200, 2), ("get_melspectrogram_layer",), time_axis=None, frame_locality="waveform", rtol=1e-5,
              opt_outs=COMPOSED),
    LayerCase("get_log_frequency_spectrogram_layer", lambda: kapre.composed.get_log_frequency_spectrogram_layer(
        input_shape=(3000, 1), n_fft=1024, hop_length=512, **CL), (3000, 1),
              ("get_log_frequency_spectrogram_layer",), time_axis=None, frame_locality="waveform", rtol=1e-5,
              opt_outs=COMPOSED),
    LayerCase("get_perfectly_reconstructing_stft_istft", _perfect_pair, WAVE,
              ("get_perfectly_reconstructing_stft_istft",), time_axis=None, frame_locality=None, rtol=1e-5,
              mixed_output="float32",
              opt_outs=COMPOSED),
    LayerCase("get_stft_mag_phase", lambda: kapre.composed.get_stft_mag_phase(
        input_shape=(200, 2), n_fft=N_FFT, hop_length=HOP, return_decibel=True, **CL), (200, 2),
              ("get_stft_mag_phase",), time_axis=None, frame_locality=None, rtol=1e-5,
              opt_outs=COMPOSED),
    LayerCase("get_frequency_aware_conv2d", lambda: _seq((12, 9, 1), kapre.composed.get_frequency_aware_conv2d(
        "channels_last", "fa", 4, (3, 3), padding="same")), (12, 9, 1), ("get_frequency_aware_conv2d",),
              time_axis=None, frame_locality=None, opt_outs=COMPOSED),
    # -- kapre.CQT / kapre.VQT: two octaves at 8 kHz, the lower one decimated once more than the upper ----------
    LayerCase("CQT", lambda: kapre.CQT(sr=8000, hop_length=HOP, fmin=110.0, n_bins=24, **CL), (200, 2),
              (kapre.CQT,), edge_lengths=(1, HOP - 1, HOP, 203), frame_locality="waveform", torch_compile=True,
              float64_output="complex128", mixed_output="complex64", rtol=1e-5),
    LayerCase("CQT-db-reflect-channels-first", lambda: kapre.CQT(
        sr=8000, hop_length=HOP, fmin=440.0, n_bins=18, bins_per_octave=12, pad_mode="reflect", output_type="db",
        **CF), (1, 400), (kapre.CQT,), time_axis=1, output_time_axis=1, edge_lengths=(308, 413), frame_locality=None,
              rtol=1e-5),
    LayerCase("VQT-magnitude", lambda: kapre.VQT(sr=8000, hop_length=12, fmin=55.0, n_bins=36, bins_per_octave=12,
                                                 output_type="magnitude", **CL), WAVE, (kapre.VQT,),
              edge_lengths=(1, 11, 75), frame_locality="waveform", rtol=1e-5),
    LayerCase("VQT-power-odd-hop-hamming", lambda: kapre.VQT(
        sr=8000, hop_length=15, fmin=220.0, n_bins=20, bins_per_octave=10, gamma=5.0, window="hamming", norm=2,
        output_type="power", **CF), (2, 200), (kapre.VQT,), time_axis=1, output_time_axis=1, edge_lengths=(1, 16),
              frame_locality="waveform", rtol=1e-5),
    # -- kapre.Resample ------------------------------------------------------------------------------------------
    LayerCase("Resample", lambda: kapre.Resample(8000, 6000, **CL), (200, 2), (kapre.Resample,),
              edge_lengths=(1, 3, 203), frame_locality="waveform", torch_compile=True, rtol=1e-5),
    LayerCase("Resample-channels-first-kaiser_best", lambda: kapre.Resample(16000, 22050, quality="kaiser_best",
                                                                            **CF), (2, 200), (kapre.Resample,),
              time_axis=1, output_time_axis=1, edge_lengths=(1, 321), frame_locality="waveform", rtol=1e-5),
    # -- kapre.chroma ----------------------------------------------------------------------------------------------
    LayerCase("Chroma-stft", lambda: kapre.Chroma(sr=8000, n_fft=N_FFT, hop_length=HOP, **CL), WAVE, (kapre.Chroma,),
              edge_lengths=(1, N_FFT, 75), frame_locality="waveform", rtol=1e-5),
    LayerCase("Chroma-stft-norm2-reflect-channels-first", lambda: kapre.Chroma(
        sr=8000, n_fft=N_FFT, win_length=N_FFT - 8, hop_length=HOP, n_chroma=24, norm=2, pad_mode="reflect", **CF),
              (2, 200), (kapre.Chroma,), time_axis=1, output_time_axis=1, edge_lengths=(N_FFT // 2 + 1, 75),
              frame_locality=None, rtol=1e-5),
    LayerCase("Chroma-stft-center-False-norm-None", lambda: kapre.Chroma(
        sr=8000, n_fft=N_FFT, hop_length=HOP, center=False, norm=None, **CL), WAVE, (kapre.Chroma,),
              edge_lengths=(N_FFT, 75), frame_locality="waveform", rtol=1e-5),
    LayerCase("Chroma-cqt", lambda: kapre.Chroma(
        source="cqt", sr=8000, hop_length=HOP, fmin=110.0, n_octaves=3, bins_per_octave=12, **CL), WAVE,
              (kapre.Chroma,), edge_lengths=(1, 17, 75), frame_locality="waveform", rtol=1e-5),
    LayerCase("Chroma-cqt-threshold-reflect-channels-first", lambda: kapre.Chroma(
        source="cqt", sr=8000, hop_length=HOP, fmin=440.0, n_octaves=2, bins_per_octave=24, threshold=0.05,
        pad_mode="reflect", **CF), (2, 400), (kapre.Chroma,), time_axis=1, output_time_axis=1,
              edge_lengths=(317, 413), frame_locality=None, rtol=1e-5),
    # ==== section: pcen (issue 18) ====
    # kapre.PCEN: frame_locality None (PCEN is causal, which no locality describes; tests/test_pcen.py checks it).
    # The harness' noise has negative values, which PCEN counts as 0 (documented). return_state=True (a second
    # output) is checked in tests/test_pcen.py: the harness expects one output.
    LayerCase("PCEN", lambda: kapre.PCEN(sr=8000, hop_length=HOP, data_format="channels_last"), SPEC, (kapre.PCEN,),
              edge_lengths=SPEC_LENGTHS, frame_locality=None, rtol=1e-5),
    LayerCase("PCEN-bias0-max_size-channels-first", lambda: kapre.PCEN(
        sr=8000, hop_length=HOP, bias=0.0, power=0.25, max_size=3, data_format="channels_first"), (2, 12, N_FREQ),
              (kapre.PCEN,), time_axis=1, output_time_axis=1, edge_lengths=SPEC_LENGTHS, frame_locality=None,
              rtol=1e-5),
    LayerCase("PCEN-learnable", lambda: kapre.PCEN(sr=8000, hop_length=HOP, learnable=True,
                                                   data_format="channels_last"), SPEC, (kapre.PCEN,),
              edge_lengths=SPEC_LENGTHS, frame_locality=None, holds_weights=True, rtol=1e-5),
    LayerCase("PCEN-learnable-scalar-channels-first", lambda: kapre.PCEN(
        learnable=True, per_band=False, gain=0.96, smooth_coef=0.04, eps=1e-12, data_format="channels_first"),
              (2, 12, N_FREQ), (kapre.PCEN,), time_axis=1, output_time_axis=1, edge_lengths=SPEC_LENGTHS,
              frame_locality=None, holds_weights=True, rtol=1e-5),
    # ==== end section: pcen ====
    # ==== section: leaf (issue 18) ====
    # LEAF at 8 kHz: 41-tap filters, a 20-sample stride (the pooling's 'same' padding depends on the length)
    LayerCase("LEAF", lambda: kapre.LEAF(n_filters=8, sample_rate=8000, window_len=5.0, window_stride=2.5,
                                         max_freq=3900.0, **CL), WAVE, (kapre.LEAF,), edge_lengths=(1, 19, 203),
              frame_locality=None, holds_weights=True, rtol=1e-5),
    LayerCase("LEAF-log-channels-first", lambda: kapre.LEAF(n_filters=6, sample_rate=8000, window_len=6.0,
                                                            window_stride=2.0, max_freq=4000.0, compression="log",
                                                            **CF),
              (2, 200), (kapre.LEAF,), time_axis=1, output_time_axis=1, edge_lengths=(1, 17), frame_locality=None,
              holds_weights=True, rtol=1e-5),
    # ==== end section: leaf ====
    # ==== section: sincconv (issue 18) ====
    LayerCase("SincConv", lambda: kapre.SincConv(filters=8, kernel_size=31, sample_rate=8000, **CL), WAVE,
              (kapre.SincConv,), edge_lengths=(31, 32, 77), frame_locality="waveform", holds_weights=True,
              rtol=1e-5),  # 31: the shortest valid input (one kernel), one output sample
    LayerCase("SincConv-same-stride-channels-first", lambda: kapre.SincConv(
        filters=6, kernel_size=15, sample_rate=16000, stride=3, padding="same", min_low_hz=30.0, min_band_hz=20.0,
        **CF), (1, 200), (kapre.SincConv,), time_axis=1, output_time_axis=1, edge_lengths=(1, 2, 15, 203),
              frame_locality=None, holds_weights=True, rtol=1e-5),  # 'same' + stride: the leading pad varies
    LayerCase("SincConv-same-dilated", lambda: kapre.SincConv(filters=4, kernel_size=11, sample_rate=8000,
                                                              padding="same", dilation=2, **CL), WAVE,
              (kapre.SincConv,), edge_lengths=(1, 21, 22), frame_locality="waveform", holds_weights=True, rtol=1e-5),
    # ==== end section: sincconv ====
    # ==== section: inversion (issue 18) ====
    # kapre.inversion. Griffin-Lim is not frame-local (every output sample depends on every frame through the
    # iterations) and few iterations keep float32 and float64 (and batch 1 and 2) within the harness' tolerances:
    # the momentum iterations amplify rounding (32 of them: 1e-3 apart in float32, tests/test_inversion.py)
    LayerCase("GriffinLim-zeros", lambda: kapre.GriffinLim(n_fft=N_FFT, hop_length=HOP, n_iter=4, init="zeros",
                                                          **CL), SPEC, (kapre.GriffinLim,),
              edge_lengths=(2, 7), frame_locality=None, rtol=1e-5),
    LayerCase("GriffinLim-seed-power-kapre-framing-channels-first", lambda: kapre.GriffinLim(
        n_fft=N_FFT, win_length=48, hop_length=HOP, window_name="hamming", center=False, pad_begin=True,
        pad_end=True, n_iter=3, seed=7, power=2.0, **CF), (2, 12, N_FREQ), (kapre.GriffinLim,), time_axis=1,
              output_time_axis=1, edge_lengths=(4, 9), frame_locality=None, rtol=1e-5),
    LayerCase("InverseMel", lambda: kapre.InverseMel(sample_rate=8000, n_fft=N_FFT, n_mels=8, n_iter=20,
                                                     data_format="channels_last"), (12, 8, 1), (kapre.InverseMel,),
              edge_lengths=SPEC_LENGTHS, frame_locality="frame", rtol=1e-5),
    LayerCase("InverseMel-magnitude-htk-channels-first", lambda: kapre.InverseMel(
        sample_rate=8000, n_fft=N_FFT, n_mels=8, htk=True, norm=None, power=1.0, data_format="channels_first"),
              (2, 12, 8), (kapre.InverseMel,), time_axis=1, output_time_axis=1, edge_lengths=(1,),
              frame_locality="frame", rtol=1e-5),
    LayerCase("MFCCToMel", lambda: kapre.MFCCToMel(n_mels=8, data_format="channels_last"), (12, 6, 1),
              (kapre.MFCCToMel,), edge_lengths=SPEC_LENGTHS, frame_locality="frame", rtol=1e-5),
    LayerCase("MFCCToMel-ortho-lifter-log-channels-first", lambda: kapre.MFCCToMel(
        n_mels=8, dct_norm="ortho", lifter=22.0, log=None, data_format="channels_first"), (2, 12, 8),
              (kapre.MFCCToMel,), time_axis=1, output_time_axis=1, edge_lengths=(1,), frame_locality="frame"),
    # ==== end section: inversion ====
]


def _hann(n):
    import numpy as np

    return np.hanning(n)


BY_NAME = {case.name: case for case in CASES}
assert len(BY_NAME) == len(CASES), "duplicate case names"
COMPOSED_FUNCTIONS = tuple(kapre.composed.__all__)
FRONTEND_FUNCTIONS = tuple(name for name in frontends.__all__ if callable(getattr(frontends, name))
                           and not isinstance(getattr(frontends, name), type))
