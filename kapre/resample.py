"""``kapre.Resample``: band-limited resampling of a batch of (multichannel) waveforms, as torchaudio's."""

from __future__ import annotations

import keras
from keras import ops

from kapre import _backend, functional
from kapre import _validation as V
from kapre._layer import WAVEFORM, KapreLayer
from kapre.params import Resampling

__all__ = ["Resample"]


@keras.saving.register_keras_serializable(package="Kapre")
class Resample(KapreLayer):
    """Resamples waveforms from ``orig_freq`` to ``new_freq`` Hz by band-limited (windowed-sinc) interpolation,
    as ``torchaudio.functional.resample`` computes it, for any ratio of two whole-Hz rates.

    The rates are reduced by their gcd to ``orig -> new``; each output sample is the input convolved with a
    low-pass sinc whose cutoff is ``rolloff`` times the lower of the two Nyquist frequencies, cut off
    ``lowpass_filter_width`` zero crossings each side by a Hann or Kaiser window; samples beyond the signal count
    as zeros. The kernel is built once in NumPy (:func:`kapre.constants.sinc_resample_kernel`) and applied as a
    strided convolution (:func:`kapre.functional.apply_resample_kernel`): differentiable, batched, on every
    backend. Equal rates return the input unchanged (as torchaudio).

    Args:
        orig_freq: the input's sampling rate in Hz: an integer, or a float that is a whole number (44100.0).
        new_freq: the output's sampling rate in Hz (same rule).
        lowpass_filter_width: zero crossings of the sinc kept each side, 1 to 1024; more is a sharper filter and
            more work. Default 6 (torchaudio's).
        rolloff: the filter's cutoff as a fraction of the lower Nyquist frequency, in (0, 1]. Default 0.99: at
            44.1 -> 16 kHz the passband ends at 7,920 Hz.
        resampling_method: ``'sinc_interp_hann'`` (default) or ``'sinc_interp_kaiser'``.
        beta: the Kaiser window's shape, 0 to 100 (``None``: 14.769656459379492, torchaudio's default); only with
            ``'sinc_interp_kaiser'``.
        quality: ``None`` (use the four arguments above), ``'kaiser_best'`` (width 64, rolloff
            0.9475937167399596, Kaiser beta 14.769656459379492: librosa's default resampler, within 0.1 dB of soxr's
            HQ in the passband) or ``'kaiser_fast'`` (width 16, rolloff 0.85, beta 8.555504641634386). A preset
            sets the filter arguments itself: passing one of them with a value other than its default together
            with ``quality`` is a ``ValueError``.
        input_data_format, output_data_format: ``'channels_last'`` (time, channels), ``'channels_first'``
            (channels, time) or ``'default'`` (Keras' ``image_data_format``, channels last by default).
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: ``(batch, time, channels)`` (channels last) or ``(batch, channels, time)`` (channels first).
    Output shape: ``(batch, new_time, channels)`` or ``(batch, channels, new_time)``, ``new_time =
    ceil(new_freq * time / orig_freq)`` (exact integer arithmetic; torchaudio rounds in float32 and gives one
    sample fewer at a few lengths, e.g. 180,697 samples at 44.1 -> 16 kHz). A signal of 0 samples gives 0
    samples (torchaudio raises); one sample gives ``ceil(new_freq / orig_freq)``.

    Computed in float32 (float64 for a float64 layer; float32 under mixed precision, returned in the policy's
    dtype). A NaN or inf in the input makes NaN the output samples whose filter reads it (about
    ``2 * lowpass_filter_width / rolloff`` input periods of the lower rate around it), as torchaudio. Complex input
    is a ``TypeError``.

    Example:
        >>> import numpy as np, kapre
        >>> resample = kapre.Resample(44100, 16000, input_data_format='channels_last',
        ...                           output_data_format='channels_last')
        >>> tuple(resample(np.zeros((2, 44100, 1), 'float32')).shape)
        (2, 16000, 1)
        >>> tuple(kapre.Resample(8000, 48000, quality='kaiser_best')(np.zeros((1, 3, 2), 'float32')).shape)
        (1, 18, 2)
    """

    frame_locality = WAVEFORM  # output sample t reads input up to a fixed reach; beyond the end the input is zeros
    _config_keys = (
        "orig_freq", "new_freq", "lowpass_filter_width", "rolloff", "resampling_method", "beta", "quality",
        "input_data_format", "output_data_format",
    )

    def __init__(
        self,
        orig_freq,
        new_freq,
        lowpass_filter_width=6,
        rolloff=0.99,
        resampling_method="sinc_interp_hann",
        beta=None,
        quality=None,
        input_data_format="default",
        output_data_format="default",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._resampling = Resampling.resolve(
            orig_freq, new_freq, lowpass_filter_width, rolloff, resampling_method, beta, quality
        )
        self.orig_freq, self.new_freq = orig_freq, new_freq
        self.lowpass_filter_width, self.rolloff = lowpass_filter_width, rolloff
        self.resampling_method, self.beta, self.quality = resampling_method, beta, quality
        self.input_data_format = V.check_data_format("input_data_format", input_data_format)
        self.output_data_format = V.check_data_format("output_data_format", output_data_format)
        self._input_format = V.resolve_data_format(self.input_data_format)
        self._output_format = V.resolve_data_format(self.output_data_format)
        self._kernel = None

    def build(self, input_shape):
        if not self._resampling.identity:
            self._kernel = functional.resample_conv_kernel(self._resampling, self.transform_dtype)
        self.built = True

    def _check_input(self, shape, dtype=None):
        self.check_rank(shape, 3, "(batch, time, channels) or (batch, channels, time) per input_data_format")
        if dtype is not None:
            V.check_real_input("Resample", dtype)

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        batch, length, channels = self.waveform_dims(input_shape)
        length = self._resampling.output_length(length)
        if self._output_format == V.CH_LAST:
            return (batch, length, channels)
        return (batch, channels, length)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self.output_dtype(self.transform_dtype))

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        return _backend.call_compiled_when_eager(self, self._compute, inputs, static_shapes=True)

    def _compute(self, inputs):
        signals = ops.cast(inputs, self.transform_dtype)
        channels_last = self._input_format == V.CH_LAST
        if not self._resampling.identity:
            if channels_last:
                signals = ops.transpose(signals, (0, 2, 1))  # (batch, channels, time)
            r = self._resampling
            signals = functional.apply_resample_kernel(signals, self._kernel, r.orig * r.phases, r.new * r.phases,
                                                       r.width)
            channels_last = False
        if channels_last != (self._output_format == V.CH_LAST):
            signals = ops.transpose(signals, (0, 2, 1))
        return self.to_output_dtype(signals, self.transform_dtype)
