"""``kapre.SincConv``: SincNet's band-pass sinc convolution (Ravanelli and Bengio, 2018)."""

from __future__ import annotations

import keras
from keras import ops

from kapre import _backend, constants, functional
from kapre import _validation as V
from kapre._layer import WAVEFORM, ArrayInitializer, KapreLayer
from kapre.params import SincFilters

__all__ = ["SincConv"]


@keras.saving.register_keras_serializable(package="Kapre")
class SincConv(KapreLayer):
    """SincNet's first layer: a bank of band-pass filters with trainable cut-offs, applied to a waveform as a 1-D
    convolution (M. Ravanelli and Y. Bengio, "Speaker Recognition from Raw Waveform with SincNet", SLT 2018; the
    code followed is ``SincConv_fast`` of github.com/mravanelli/SincNet).

    Each filter is the difference of two windowed low-pass sincs, a band-pass from ``low`` to ``high`` Hz, with two
    trainable weights per filter, ``low_hz_`` and ``band_hz_`` (Hz): ``low = min_low_hz + |low_hz_|`` and ``high =
    clip(low + min_band_hz + |band_hz_|, min_low_hz, sample_rate / 2)``. The taps are ``(sin(2 pi high t / sr) -
    sin(2 pi low t / sr)) / (pi t / sr)`` for ``t = -(kernel_size - 1) / 2 .. (kernel_size - 1) / 2`` samples, times
    SincNet's Hamming window, divided by ``2 (high - low)`` (the centre tap is 1). At initialisation the ``filters +
    1`` band edges are equally spaced on the mel scale (``2595 log10(1 + f / 700)``) from 30 Hz to ``sample_rate / 2
    - min_low_hz - min_band_hz``, as SincNet: at 16 kHz the 80 filters' pass bands run from 80 Hz to 8 kHz, 73 Hz
    wide at the bottom (``min_band_hz`` + 23 Hz) and 311 Hz at the top (50 + 261 Hz). The filters are rebuilt
    from the ``2 * filters`` weights at each call (:func:`kapre.functional.sinc_filters`, a few thousand values)
    and applied by one strided convolution (:func:`kapre.functional.apply_fir_filters`, cross-correlation as
    PyTorch's ``conv1d`` that SincNet calls; the filters are symmetric). No bias.

    One difference from SincNet, where SincNet's filter degenerates: ``low`` stops at ``sample_rate / 2 -
    min_band_hz`` (SincNet lets it grow, so that a low cut-off trained past that point leaves a band narrower than
    ``min_band_hz`` and, at ``sample_rate / 2``, a division by zero). Hence ``low >= min_low_hz`` and ``high - low
    >= min_band_hz`` always hold (:meth:`cutoff_frequencies`).

    Args:
        filters: number of band-pass filters (output channels), 1 to 65,536. Default 80 (SincNet's first layer).
        kernel_size: taps of each filter, odd, >= 3: an even size is a ``ValueError`` (SincNet silently adds one;
            here the size in the config is the size used). Default 251 (15.7 ms at 16 kHz, SincNet's).
        sample_rate: the input's sampling rate in Hz (the cut-offs are in Hz). Default 16000.
        stride: output step in samples, >= 1. Default 1 (SincNet's; it pools after the layer).
        padding: ``'valid'`` (default, SincNet's ``padding=0``): ``(time - span) // stride + 1`` outputs, with
            ``span = (kernel_size - 1) * dilation + 1``; an input shorter than ``span`` is a ``ValueError``, as
            Keras' ``Conv1D``. ``'same'``: ``ceil(time / stride)`` outputs, zeros padded as Keras' ``Conv1D`` pads
            them (the smaller half before).
        dilation: spacing of the taps in samples, >= 1. Default 1. As in Keras' ``Conv1D``, ``stride > 1`` with
            ``dilation > 1`` is a ``ValueError``.
        min_low_hz: the lowest low cut-off in Hz, >= 0. Default 50 (SincNet's).
        min_band_hz: the narrowest band in Hz, > 0. Default 50 (SincNet's). ``min_low_hz + min_band_hz`` must stay
            below ``sample_rate / 2 - 30`` Hz (where SincNet's initial filterbank ends).
        input_data_format: ``'channels_last'`` (``(batch, time, 1)``), ``'channels_first'`` (``(batch, 1,
            time)``) or ``'default'`` (Keras' ``image_data_format``).
        output_data_format: ``'channels_last'`` (``(batch, new_time, filters)``), ``'channels_first'``
            (``(batch, filters, new_time)``) or ``'default'``.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``, ``trainable``).

    Input shape: ``(batch, time, 1)`` (channels last) or ``(batch, 1, time)`` (channels first): one channel, as
    SincNet (a multichannel input is a ``ValueError``; to filter each channel alike, fold the channels into the
    batch: ``(batch * channels, time, 1)``).

    Output shape: ``(batch, new_time, filters)`` (channels last) or ``(batch, filters, new_time)`` (channels first),
    ``new_time`` as ``padding`` says.

    The weights ``low_hz_`` and ``band_hz_`` (``(filters,)``, Hz) are float32 (float64 for a float64 layer, float32
    under mixed precision); the filters and the convolution are computed in float32 (float64 for a float64 layer,
    the result returned in the policy's dtype under mixed precision). In float32 the filters carry an error of a
    few 1e-6 (the phase ``2 pi f t / sr`` reaches 400 radians), as SincNet's own float32 code.

    Example:
        >>> import keras, numpy as np, kapre
        >>> sinc = kapre.SincConv(filters=80, kernel_size=251, sample_rate=16000,
        ...                       input_data_format='channels_last', output_data_format='channels_last')
        >>> tuple(sinc(np.zeros((2, 16000, 1), 'float32')).shape)
        (2, 15750, 80)
        >>> low, high = (keras.ops.convert_to_numpy(hz) for hz in sinc.cutoff_frequencies())
        >>> print(np.round(low[:3], 1), np.round(high[-1], 1))
        [ 80.  102.9 126.4] 8000.0
        >>> same = kapre.SincConv(filters=4, kernel_size=11, stride=3, padding='same',
        ...                       input_data_format='channels_first', output_data_format='channels_first')
        >>> tuple(same(np.zeros((1, 1, 100), 'float32')).shape)
        (1, 4, 34)
    """

    _config_keys = (
        "filters", "kernel_size", "sample_rate", "stride", "padding", "dilation", "min_low_hz", "min_band_hz",
        "input_data_format", "output_data_format",
    )

    def __init__(
        self,
        filters=80,
        kernel_size=251,
        sample_rate=16000,
        stride=1,
        padding="valid",
        dilation=1,
        min_low_hz=50.0,
        min_band_hz=50.0,
        input_data_format="default",
        output_data_format="default",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._sinc = SincFilters.resolve(filters, kernel_size, sample_rate, stride, padding, dilation, min_low_hz,
                                         min_band_hz)
        self.filters, self.kernel_size, self.sample_rate = filters, kernel_size, sample_rate
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.min_low_hz, self.min_band_hz = min_low_hz, min_band_hz
        self.input_data_format = V.check_data_format("input_data_format", input_data_format)
        self.output_data_format = V.check_data_format("output_data_format", output_data_format)
        self._input_format = V.resolve_data_format(self.input_data_format)
        self._output_format = V.resolve_data_format(self.output_data_format)

    @property
    def frame_locality(self):
        # output sample t reads a fixed window of the input; with 'same' and stride > 1 the leading pad depends on
        # the length (Keras' rule), so appending zeros can shift every output
        return WAVEFORM if self._sinc.padding == "valid" or self._sinc.stride == 1 else None

    def build(self, input_shape):
        self._check_input(input_shape)
        low, band = self._sinc.initial_bands()
        self.low_hz_ = self.add_weight(name="low_hz_", shape=low.shape, initializer=ArrayInitializer(low))
        self.band_hz_ = self.add_weight(name="band_hz_", shape=band.shape, initializer=ArrayInitializer(band))
        # the filters' fixed tables, converted once (in the call they would break a torch.compile graph)
        s, dtype = self._sinc, self.transform_dtype
        self._half_phase = _backend.constant(constants.sincnet_half_phase(s.kernel_size, s.sample_rate), dtype)
        self._half_window = _backend.constant(constants.sincnet_half_window(s.kernel_size), dtype)
        self.built = True

    def _check_input(self, shape, dtype=None):
        self.check_rank(shape, 3, "(batch, time, 1) or (batch, 1, time) per input_data_format")
        _, length, channels = self.waveform_dims(shape)
        if channels is not None and channels != 1:
            raise ValueError(
                f"SincConv takes a single-channel waveform, as SincNet, received an input of shape {tuple(shape)} "
                f"with {channels} channels (input_data_format={self.input_data_format!r}); to filter each channel "
                "alike, fold the channels into the batch: (batch * channels, time, 1)."
            )
        self._sinc.check_length(length)
        if dtype is not None:
            V.check_real_input("SincConv", dtype)

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        batch, length, _ = self.waveform_dims(input_shape)
        length = self._sinc.output_length(length)
        if self._output_format == V.CH_LAST:
            return (batch, length, self._sinc.filters)
        return (batch, self._sinc.filters, length)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self.output_dtype(self.transform_dtype))

    def cutoff_frequencies(self):
        """The filters' band edges ``(low, high)`` in Hz, ``(filters,)`` each, in the transform dtype."""
        s = self._sinc
        return functional.sinc_cutoffs(ops.cast(self.low_hz_, self.transform_dtype),
                                       ops.cast(self.band_hz_, self.transform_dtype), s.sample_rate, s.min_low_hz,
                                       s.min_band_hz)

    def sinc_filters(self):
        """The filters the layer applies, ``(kernel_size, filters)``, in the transform dtype."""
        s = self._sinc
        return functional.sinc_filters(ops.cast(self.low_hz_, self.transform_dtype),
                                       ops.cast(self.band_hz_, self.transform_dtype), s.kernel_size, s.sample_rate,
                                       s.min_low_hz, s.min_band_hz, half_phase=self._half_phase,
                                       half_window=self._half_window)

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        s = self._sinc
        # one channel: (batch, time, 1) and (batch, 1, time) are both a squeeze away from (batch, time)
        channel_axis = 2 if self._input_format == V.CH_LAST else 1
        waveforms = ops.squeeze(ops.cast(inputs, self.transform_dtype), axis=channel_axis)
        outputs = functional.apply_fir_filters(waveforms, self.sinc_filters(), s.stride, s.padding, s.dilation)
        if self._output_format != V.CH_LAST:
            outputs = ops.transpose(outputs, (0, 2, 1))
        return self.to_output_dtype(outputs, self.transform_dtype)
