"""``kapre.MelSpectrogram``: the (log-)mel spectrogram in one layer, on kapre's fast path.

It computes what ``STFT -> Magnitude -> (square) -> ApplyFilterbank('mel') -> MagnitudeToDecibel`` computes
(:func:`kapre.composed.get_melspectrogram_layer`), with fewer passes over the data:

* the frames come from the backend's own framing op where there is one, and ``re**2 + im**2`` is taken right
  after the FFT (:func:`kapre.functional.power_spectrogram`), so no complex spectrogram is returned, transposed or
  passed through ``abs``;
* the mel product skips the zeros of the filterbank (each FFT bin feeds at most two bands): it is a few dense
  blocks (:func:`kapre.constants.filterbank_blocks`, :func:`kapre.functional.apply_filterbank_blocks`), about
  a fifth of the dense matmul's work at 2048 / 128 mels;
* the layout stays ``(batch, channels, frames, freq)`` until the (small) mel output;
* the frames go through framing, FFT, power, mel and logarithm a cache-sized chunk at a time
  (:func:`kapre.functional.map_frame_chunks`, about 4 MiB of frames per chunk), so the full-size intermediates
  never travel through main memory; only the mel output of each chunk is kept. JAX runs the chunks in a
  compiled loop, the other backends one after another;
* eager PyTorch runs the whole call as plain torch calls (:mod:`kapre._backend.torch_mel`): the
  chunks' temporaries in per-thread scratch buffers reused from call to call (no page faults from freshly
  allocated temporaries), the filterbank blocks padded to the column widths MKL's matmul is fastest at, each
  chunk's bands written straight into the output;
* on TensorFlow, opt-in (:func:`kapre.config.enable_xla_tail`): each chunk's steps after the FFT as one XLA
  cluster, about 15-20 % faster in a ``tf.function`` for about 60 MiB more peak memory (XLA's compiler).
"""

from __future__ import annotations

import functools

import keras
import numpy as np

from kapre import _backend, constants, functional
from kapre import _validation as V
from kapre._layer import WAVEFORM, KapreLayer
from kapre.params import DB_NAMES, MEL_NAMES, Decibel, Framing, MelFilterbank

__all__ = ["MelSpectrogram"]


@keras.saving.register_keras_serializable(package="Kapre")
class MelSpectrogram(KapreLayer):
    """Mel spectrogram (power or magnitude), optionally in decibels, of a batch of (multichannel) waveforms.

    Frames of ``win_length`` samples every ``hop_length`` samples (``center=False`` framing, kapre 0.4 and
    ``librosa.stft(center=False)``), windowed, zero-padded to ``n_fft``; with ``center=True`` the signal is padded
    by ``n_fft // 2`` samples at both ends and frame ``t`` is centred on sample ``t * hop_length``
    (``librosa.feature.melspectrogram``'s default framing); ``|X| ** power`` mapped through the
    mel filterbank of :func:`kapre.backend.filterbank_mel`; with ``return_decibel`` the result is
    ``10 * log10(max(S, db_amin)) - 10 * log10(max(db_amin, db_ref_value))``, floored ``db_dynamic_range`` dB
    below each example's maximum (``librosa.power_to_db(S, ref, amin, top_db)`` per example).

    Args:
        n_fft, win_length, hop_length, window_name: as :class:`kapre.STFT` (``window_name=None`` is the periodic
            Hann window).
        sample_rate: sampling rate in Hz.
        n_mels: number of mel bands.
        mel_f_min, mel_f_max: filterbank range in Hz (``None``: ``sample_rate / 2``).
        mel_htk: HTK mel formula instead of Slaney's.
        mel_norm: ``'slaney'``, ``None`` or a number (as librosa).
        power: 2.0 (power spectrogram, librosa's default) or 1.0 (magnitude, kapre 0.4's composed layer).
        return_decibel: return decibels.
        db_amin, db_ref_value, db_dynamic_range: as :class:`kapre.MagnitudeToDecibel`.
        input_data_format, output_data_format: as :class:`kapre.STFT`.
        center: librosa's centred frames (``1 + samples // hop_length`` frames) instead of kapre's.
        pad_mode: the padding with ``center=True``: ``'constant'`` (zeros, librosa's default since 0.10) or
            ``'reflect'`` (then the signal must be longer than ``n_fft // 2`` samples).
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: ``(batch, time, channels)`` or ``(batch, channels, time)``.
    Output shape: ``(batch, frames, n_mels, channels)`` or ``(batch, channels, frames, n_mels)``.

    Example:
        >>> import numpy as np, kapre
        >>> mel = kapre.MelSpectrogram(n_fft=512, hop_length=160, sample_rate=16000, n_mels=64,
        ...                            input_data_format='channels_last', output_data_format='channels_last')
        >>> tuple(mel(np.zeros((2, 16000, 1), 'float32')).shape)
        (2, 97, 64, 1)
    """

    _config_keys = (
        "n_fft", "win_length", "hop_length", "window_name", "sample_rate", "n_mels", "mel_f_min", "mel_f_max",
        "mel_htk", "mel_norm", "power", "return_decibel", "db_amin", "db_ref_value", "db_dynamic_range",
        "input_data_format", "output_data_format", "center", "pad_mode",
    )

    @property
    def frame_locality(self):
        """``'waveform'``, except with ``center=True`` and reflect padding (the end of the signal is mirrored)."""
        return None if self.center and self.pad_mode == "reflect" else WAVEFORM

    def __init__(
        self,
        n_fft=2048,
        win_length=None,
        hop_length=None,
        window_name=None,
        sample_rate=22050,
        n_mels=128,
        mel_f_min=0.0,
        mel_f_max=None,
        mel_htk=False,
        mel_norm="slaney",
        power=2.0,
        return_decibel=True,
        db_amin=1e-10,
        db_ref_value=1.0,
        db_dynamic_range=80.0,
        input_data_format="default",
        output_data_format="default",
        center=False,
        pad_mode="constant",
        _filterbank=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._framing = Framing.resolve(
            n_fft, win_length, hop_length, window_name, center=center, pad_mode=pad_mode,
            names={"window": "window_name"},
        )
        self.n_fft, self.win_length, self.hop_length, self.window_name = int(n_fft), win_length, hop_length, window_name
        self.center, self.pad_mode = self._framing.center, self._framing.pad_mode
        self._mel = MelFilterbank.resolve(
            sample_rate, self._framing.n_freq, n_mels, mel_f_min, mel_f_max, mel_htk, mel_norm, names=MEL_NAMES
        )
        self.sample_rate, self.n_mels = sample_rate, n_mels
        self.mel_f_min, self.mel_f_max, self.mel_htk, self.mel_norm = mel_f_min, mel_f_max, mel_htk, mel_norm
        if power not in (1, 2, 1.0, 2.0) or isinstance(power, bool):
            raise ValueError(f"power must be 1.0 (magnitude) or 2.0 (power), received power={power!r}.")
        self.power = float(power)
        self.return_decibel = V.check_bool("return_decibel", return_decibel)
        self._decibel = Decibel.resolve(db_ref_value, db_amin, db_dynamic_range, names=DB_NAMES)
        self.db_ref_value, self.db_amin, self.db_dynamic_range = (
            self._decibel.ref_value, self._decibel.amin, self._decibel.dynamic_range
        )
        self.input_data_format = V.check_data_format("input_data_format", input_data_format)
        self.output_data_format = V.check_data_format("output_data_format", output_data_format)
        self._input_format = V.resolve_data_format(self.input_data_format)
        self._output_format = V.resolve_data_format(self.output_data_format)
        # another filterbank of the same shape, for kapre.frontends (not serialized: that layer rebuilds it)
        self._filterbank_values = self._mel.build() if _filterbank is None else np.asarray(_filterbank)
        if self._filterbank_values.shape != (self._framing.n_freq, n_mels):
            raise ValueError(f"A filterbank of shape {(self._framing.n_freq, n_mels)} is needed, received "
                             f"{self._filterbank_values.shape}.")
        self._blocks = constants.filterbank_blocks(
            self._filterbank_values, width_multiple=_backend.MATMUL_WIDTH_MULTIPLE
        )
        self._window = None
        self._block_weights = None
        self._padded_block_weights = None
        # the backend's own eager path (kapre._backend.EAGER_MEL_PATH: PyTorch's), outside Keras' attribute tracking
        self.__dict__["_eager_path"] = None if _backend.EAGER_MEL_PATH is None else _backend.EAGER_MEL_PATH()
        # None: the backend's choice (kapre._backend.max_frame_chunks, LOOPS_OVER_FRAME_CHUNKS)
        self._chunk_samples, self._max_chunks, self._loop_chunks = functional.CHUNK_SAMPLES, None, None

    def build(self, input_shape):
        dtype = self.transform_dtype
        # centred frames read n_fft samples, the window in their middle (librosa's framing)
        window = self._framing.centered_window() if self.center else self._framing.window_values
        self._window = _backend.constant(window, dtype)
        values = [self._filterbank_values[r0:r1, c0:c1] for r0, r1, c0, c1 in self._blocks]
        self._block_weights = [
            (r0, r1, _backend.constant(block, dtype))
            for (r0, r1, _, _), block in zip(self._blocks, values, strict=True)
        ]
        # the eager path's own plan (there a block costs one more dispatched matmul per chunk, not a traced op), its
        # blocks zero-padded to the width the backend's matmul is fastest at
        if self._eager_path is not None:
            multiple = _backend.MATMUL_WIDTH_MULTIPLE
            eager_blocks = constants.filterbank_blocks(
                self._filterbank_values, block_overhead=self._eager_path.BLOCK_OVERHEAD, width_multiple=multiple
            )
            self._padded_block_weights = [
                (r0, r1, c1 - c0,
                 _backend.constant(constants.pad_columns(self._filterbank_values[r0:r1, c0:c1], multiple), dtype))
                for r0, r1, c0, c1 in eager_blocks
            ]
        self.built = True

    def _check_input(self, shape, dtype=None):
        self.check_rank(shape, 3, "(batch, time, channels) or (batch, channels, time) per input_data_format")
        if dtype is not None:
            V.check_real_input("MelSpectrogram", dtype)
        length = shape[1] if self._input_format == V.CH_LAST else shape[2]
        self._framing.check_length("MelSpectrogram", length, "Use a shorter win_length or pad the signal.")

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        batch, length, channels = self.waveform_dims(input_shape)
        return self.framed_shape(batch, self._framing.num_frames(length), self.n_mels, channels)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self.output_dtype(self.transform_dtype))

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        return _backend.call_compiled_when_eager(self, self._compute, inputs)

    def _compute(self, inputs):
        if self.center:  # librosa's centring: n_fft // 2 samples of padding at both ends
            half = self.n_fft // 2
            time_axis = 1 if self._input_format == V.CH_LAST else 2
            inputs = functional.pad_along_axis(inputs, half, half, mode=self.pad_mode, axis=time_axis)
        forced = self._max_chunks is not None or self._loop_chunks is not None  # chunking forced (tests)
        if self._eager_path is None or forced or _backend.EXPORTING or not self._eager_path.applies():
            return self._compute_generic(inputs)
        dense = _backend.on_accelerator(inputs)
        mel = self._eager_path(
            inputs,
            channels_last_in=self._input_format == V.CH_LAST,
            dtype=self.transform_dtype,
            frame_length=self._framing.frame_length,
            hop_length=self._framing.hop_length,
            n_fft=self.n_fft,
            window=self._window,
            blocks=self._dense_blocks() if dense else self._block_weights,
            padded_blocks=None if dense else self._padded_block_weights,
            power=self.power,
            chunk_samples=functional.chunk_samples_for(inputs, self._chunk_samples),
            amin=self._effective_amin(),
            accelerator=dense,
        )
        return self._finish(mel)

    def _compute_generic(self, inputs):
        """The backend-independent composition (``keras.ops``), compiled by JAX, TensorFlow and ``torch.compile``;
        the logarithm is taken chunk by chunk."""
        waveforms = self.channels_first_waveforms(inputs)  # (batch, ch, time)
        channels = waveforms.shape[1]
        win_length, hop_length = self._framing.frame_length, self._framing.hop_length
        rows = (inputs.shape[0] or 1) * (channels or 1)  # signals framed side by side (1 where unknown)
        per_chunk = functional.frames_per_chunk(rows, win_length,
                                                functional.chunk_samples_for(waveforms, self._chunk_samples))
        mel = functional.map_frame_chunks(
            self._mel_of_chunk,
            waveforms,
            win_length,
            hop_length,
            per_chunk,
            max_chunks=self._max_chunks or _backend.max_frame_chunks(),
            loop=_backend.LOOPS_OVER_FRAME_CHUNKS if self._loop_chunks is None else self._loop_chunks,
        )
        return self._finish(mel)

    def _finish(self, mel):
        """The reference and floor of the decibels, the output layout and dtype, on ``(batch, ch, frames, mels)``."""
        if self.return_decibel:
            d = self._decibel
            if _backend.EXPORTING:  # the layout first, so the floor's Max writes the graph's output (in ONNX Runtime
                # a layout change after it is one more copy); the reference and floor reduce over all but the batch axis
                mel = functional.reference_decibel(self.framed_output(mel), d.ref_value, d.amin, d.dynamic_range)
                return self.to_output_dtype(mel, self.transform_dtype)
            # the output is fresh: the floor may be written into it
            mel = functional.reference_decibel(mel, d.ref_value, d.amin, d.dynamic_range, in_place=True)
        return self.to_output_dtype(self.framed_output(mel), self.transform_dtype)

    def _effective_amin(self) -> float | None:
        """``db_amin`` as the decibels use it (at least the transform dtype's smallest normal); ``None`` without
        decibels."""
        return functional.effective_amin(self.db_amin, self.transform_dtype) if self.return_decibel else None

    def _dense_blocks(self):
        """The whole filterbank as one block, for an accelerator: one matmul, where a launch per sparse block costs
        more than the zeros' multiply-adds (the CPU takes the sparse blocks: fewer multiply-adds, same launches)."""
        dense = self.__dict__.get("_dense_block_weights")  # outside Keras' attribute tracking, built on first use
        if dense is None:
            weights = _backend.constant(self._filterbank_values, self.transform_dtype)
            dense = self.__dict__["_dense_block_weights"] = [(0, self._filterbank_values.shape[0], weights)]
        return dense

    def _mel_of_chunk(self, waveforms):
        amin = self._effective_amin()
        dense = _backend.on_accelerator(waveforms)
        blocks = self._dense_blocks() if dense else self._block_weights
        if self._eager_path is not None and not _backend.EXPORTING:  # PyTorch under torch.compile: the fused chunk
            return self._eager_path.chunk(
                waveforms, self._framing.frame_length, self._framing.hop_length, self.n_fft, self._window,
                blocks, self.power, amin,
            )
        # (batch, ch, frames, mels); with power 1 the magnitude, gradient 0 at silent bins (as kapre.Magnitude)
        return functional.filtered_power_spectrogram(
            waveforms, self.n_fft, self._framing.hop_length, self._window, self._filterbank_values,
            blocks, magnitude=self.power == 1.0, then=self._decibel_of_chunk(),
            fused=None if dense else self._fused_tail(),  # the fused tail holds the sparse blocks
        )

    def _decibel_of_chunk(self):
        """The decibels' elementwise step (:func:`kapre.functional.decibel`), ``None`` without decibels."""
        amin = self._effective_amin()
        return None if amin is None else functools.partial(functional.decibel, amin=amin)

    def _fused_tail(self):
        """:func:`kapre.functional.fused_filterbank_tail` of this layer's steps after the FFT, built on first use
        and kept outside Keras' attribute tracking (it holds the compiled computation); ``None`` where the backend
        fuses nothing."""
        if "_fused_tail_fn" not in self.__dict__:
            self.__dict__["_fused_tail_fn"] = functional.fused_filterbank_tail(
                self._block_weights, magnitude=self.power == 1.0, then=self._decibel_of_chunk())
        return self.__dict__["_fused_tail_fn"]
