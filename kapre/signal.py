"""Signal layers: framing, frame energy, mu-law companding and MFCCs from a log-mel spectrogram.

kapre 0.3/0.4's ``kapre.signal`` layers with their arguments, defaults, shapes, numbers and registered names
(``Kapre>Frame``, ``Kapre>Energy``, ``Kapre>MuLawEncoding``, ``Kapre>MuLawDecoding``, ``Kapre>LogmelToMFCC``), on
every Keras 3 backend. The layers are thin wrappers around :mod:`kapre.functional`; the DCT matrix of
:class:`LogmelToMFCC` is computed once in NumPy by :func:`kapre.constants.dct_matrix`.

Data formats: waveforms are ``(batch, time, channels)`` (``'channels_last'``) or ``(batch, channels, time)``
(``'channels_first'``); spectrograms are ``(batch, time, freq, channels)`` or ``(batch, channels, time, freq)``.
``'default'`` means ``keras.config.image_data_format()``.
"""

from __future__ import annotations

import numbers

import keras
from keras import ops

from kapre import _backend, constants, functional
from kapre import _validation as V
from kapre._layer import FRAME, WAVEFORM, KapreLayer

__all__ = ["Frame", "Energy", "MuLawEncoding", "MuLawDecoding", "LogmelToMFCC"]

register = keras.saving.register_keras_serializable(package="Kapre")

_WAVEFORM_LAYOUT = "(batch, time, channels) or (batch, channels, time) per data_format"
_SPECTROGRAM_LAYOUT = "(batch, time, mel, channels) or (batch, channels, time, mel) per data_format"


def _check_pad_value(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"pad_value must be a number, received pad_value={value!r} of type {type(value).__name__}.")
    V.check_float32_value("pad_value", value)  # NaN, inf or beyond float32 would fill frames with garbage
    return value


def _work_dtype(dtype) -> str:
    """float32/float64 inputs are computed in their own precision; anything else in float32."""
    dtype = keras.backend.standardize_dtype(dtype)
    return dtype if dtype in ("float32", "float64") else "float32"


class _FramingLayer(KapreLayer):
    """Shared arguments, shape logic and framing of :class:`Frame` and :class:`Energy`."""

    _config_keys = ("frame_length", "hop_length", "pad_end", "pad_value", "data_format")

    def __init__(self, frame_length, hop_length, pad_end, pad_value, data_format, **kwargs):
        super().__init__(**kwargs)
        self.frame_length = V.check_int("frame_length", frame_length, minimum=1, maximum=V.MAX_SAMPLES)
        self.hop_length = V.check_int("hop_length", hop_length, minimum=1, maximum=V.MAX_SAMPLES)
        self.pad_end = V.check_bool("pad_end", pad_end)
        self.pad_value = _check_pad_value(pad_value)
        self.data_format = V.check_data_format("data_format", data_format)
        self._format = V.resolve_data_format(self.data_format)

    @property
    def frame_locality(self):
        """``'waveform'``, unless ``pad_end`` pads the last frames with a ``pad_value`` other than 0 (appended
        zeros would change them)."""
        return WAVEFORM if not (self.pad_end and self.pad_value != 0) else None

    def _num_frames(self, length):
        return functional.num_frames(length, self.frame_length, self.hop_length, self.pad_end)

    def _check_input(self, shape, dtype=None):
        name = type(self).__name__
        V.check_input_rank(name, shape, 3, _WAVEFORM_LAYOUT)
        if dtype is not None:
            V.check_real_input(name, dtype)
        length = shape[1] if self._format == V.CH_LAST else shape[2]
        if length is not None and self._num_frames(length) == 0:
            needed = 1 if self.pad_end else self.frame_length
            raise ValueError(
                f"{name} received a signal of {length} samples (input shape {tuple(shape)}), shorter than one frame "
                f"({needed} samples with frame_length={self.frame_length}, pad_end={self.pad_end}). Use "
                "pad_end=True, a shorter frame_length, or pad the signal."
            )
        return length

    def _frames(self, inputs):
        """``(batch, channels, frames, frame_length)`` frames of the input, whatever the data format."""
        signals = ops.transpose(inputs, (0, 2, 1)) if self._format == V.CH_LAST else inputs
        pad_value = self.pad_value
        if not keras.backend.standardize_dtype(signals.dtype).startswith(("float", "bfloat")):
            pad_value = int(pad_value)
        return functional.frame(signals, self.frame_length, self.hop_length, self.pad_end, pad_value)


@register
class Frame(_FramingLayer):
    """Slice a batch of (multichannel) waveforms into overlapping frames, as ``tf.signal.frame``.

    Frame ``t`` holds samples ``t * hop_length`` to ``t * hop_length + frame_length - 1`` of each channel
    (``librosa.util.frame``). The input's dtype is kept (integer audio stays integer).

    Args:
        frame_length: samples per frame (e.g. 1024 = 46 ms at 22,050 Hz).
        hop_length: samples between the starts of successive frames (e.g. 512 = 23 ms at 22,050 Hz, 50% overlap).
            It may exceed ``frame_length`` (samples between frames are then skipped).
        pad_end: ``False`` (default) drops a trailing partial frame: ``1 + (samples - frame_length) // hop_length``
            frames. ``True`` pads the end with ``pad_value`` so that there are ``ceil(samples / hop_length)`` frames.
        pad_value: value of the padded samples when ``pad_end=True`` (default 0, silence).
        data_format: ``'channels_last'`` for ``(batch, time, channels)`` input, ``'channels_first'`` for
            ``(batch, channels, time)``, ``'default'`` (the default) for ``keras.config.image_data_format()``.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``, ...).

    Input shape:
        ``(batch, time, channels)`` if ``channels_last``, ``(batch, channels, time)`` if ``channels_first``.

    Output shape:
        ``(batch, frames, frame_length, channels)`` if ``channels_last``,
        ``(batch, channels, frames, frame_length)`` if ``channels_first``; same dtype as the input.

    Raises:
        ValueError: when called on a signal shorter than one frame without ``pad_end`` (or on an empty signal).

    Example:
        >>> import numpy as np, kapre
        >>> frame = kapre.Frame(frame_length=1024, hop_length=512, data_format='channels_last')
        >>> tuple(frame(np.zeros((1, 2048, 1), 'float32')).shape)
        (1, 3, 1024, 1)
    """

    def __init__(self, frame_length, hop_length, pad_end=False, pad_value=0, data_format="default", **kwargs):
        super().__init__(frame_length, hop_length, pad_end, pad_value, data_format, **kwargs)

    def compute_output_shape(self, input_shape):
        length = self._check_input(input_shape)
        frames = self._num_frames(length)
        if self._format == V.CH_LAST:
            batch, _, channels = input_shape
            return (batch, frames, self.frame_length, channels)
        batch, channels, _ = input_shape
        return (batch, channels, frames, self.frame_length)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=inputs.dtype)

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        frames = self._frames(inputs)  # (batch, ch, frames, frame_length)
        if self._format == V.CH_LAST:
            frames = ops.transpose(frames, (0, 2, 3, 1))
        return frames


@register
class Energy(_FramingLayer):
    """Energy of each frame, scaled to an energy per ``ref_duration`` seconds (kapre's formula).

    ``energy[t] = sum(frame_t ** 2) * ref_duration / (frame_length / sample_rate)``: the sum of squared samples of
    frame ``t`` (see :class:`Frame`), multiplied by how many frame durations fit into ``ref_duration``, so that the
    value does not depend on ``frame_length``. With the defaults a frame is exactly ``ref_duration`` long and the
    factor is 1.

    Args:
        sample_rate: sample rate of the input in Hz (default 22,050).
        ref_duration: the duration in seconds the energy is normalised to (default 0.1 s).
        frame_length: samples per frame (default 2205 = 0.1 s at 22,050 Hz).
        hop_length: samples between successive frames (default 1102 = 50 ms at 22,050 Hz, about 50% overlap).
        pad_end: ``True`` pads the end with ``pad_value`` so that there are ``ceil(samples / hop_length)`` frames;
            ``False`` (default) drops a trailing partial frame.
        pad_value: value of the padded samples (default 0).
        data_format: ``'channels_last'``, ``'channels_first'`` or ``'default'`` (as :class:`Frame`).
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape:
        ``(batch, time, channels)`` if ``channels_last``, ``(batch, channels, time)`` if ``channels_first``.

    Output shape:
        ``(batch, frames, channels)`` if ``channels_last``, ``(batch, channels, frames)`` if ``channels_first``;
        float (float64 for float64 input, the policy's dtype under mixed precision, else float32).

    Raises:
        ValueError: when called on a signal shorter than one frame without ``pad_end``.

    Example:
        >>> import numpy as np, kapre
        >>> energy = kapre.Energy(frame_length=1024, hop_length=512, data_format='channels_last')
        >>> tuple(energy(np.zeros((1, 2048, 1), 'float32')).shape)
        (1, 3, 1)
    """

    def __init__(
        self,
        sample_rate=22050,
        ref_duration=0.1,
        frame_length=2205,
        hop_length=1102,
        pad_end=False,
        pad_value=0,
        data_format="default",
        **kwargs,
    ):
        super().__init__(frame_length, hop_length, pad_end, pad_value, data_format, **kwargs)
        V.check_sample_rate("sample_rate", sample_rate)
        V.check_float("ref_duration", ref_duration, exclusive_minimum=0.0, maximum=1e6)  # 11.6 days
        self.sample_rate = sample_rate
        self.ref_duration = ref_duration
        self._scale = float(ref_duration) / (self.frame_length / float(sample_rate))

    def _output_dtype(self, input_dtype):
        return V.output_float_dtype(self.compute_dtype, _work_dtype(input_dtype))

    def compute_output_shape(self, input_shape):
        length = self._check_input(input_shape)
        frames = self._num_frames(length)
        if self._format == V.CH_LAST:
            return (input_shape[0], frames, input_shape[2])
        return (input_shape[0], input_shape[1], frames)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self._output_dtype(inputs.dtype))

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        work_dtype = _work_dtype(inputs.dtype)
        frames = self._frames(ops.cast(inputs, work_dtype))  # (batch, ch, frames, frame_length)
        energies = ops.sum(ops.square(frames), axis=-1) * self._scale  # (batch, ch, frames)
        if self._format == V.CH_LAST:
            energies = ops.transpose(energies, (0, 2, 1))
        out_dtype = self._output_dtype(inputs.dtype)
        return energies if out_dtype == work_dtype else ops.cast(energies, out_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"sample_rate": self.sample_rate, "ref_duration": self.ref_duration})
        return config


def _check_quantization_channels(value):
    value = V.check_int("quantization_channels", value, minimum=2, maximum=V.MAX_SAMPLES)
    if value > 65536:
        raise ValueError(f"quantization_channels must be <= 65536, received quantization_channels={value!r}.")
    return value


class _MuLawLayer(KapreLayer):
    frame_locality = FRAME  # sample by sample
    _config_keys = ("quantization_channels",)

    def __init__(self, quantization_channels, **kwargs):
        super().__init__(**kwargs)
        self.quantization_channels = _check_quantization_channels(quantization_channels)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


@register
class MuLawEncoding(_MuLawLayer):
    """Mu-law companding of audio in ``[-1, 1]`` to integer codes in ``[0, quantization_channels - 1]``.

    With ``mu = quantization_channels - 1``: ``y = sign(x) * log(1 + mu * |x|) / log(1 + mu)`` (the companding of
    ``librosa.mu_compress``), then the code of the nearest of the ``mu + 1`` evenly spaced levels from -1 to 1,
    ``floor((y + 1) / 2 * mu + 0.5)`` (kapre's rounding; ``librosa.mu_compress(quantize=True)`` uses the same
    levels but rounds up, so its codes are offset by ``-(mu + 1) // 2`` and sometimes one lower than ours).
    Inputs outside ``[-1, 1]`` are clipped, so a code is always a valid class index.

    Mu-law became popular in deep learning with WaveNet, where 8-bit (256-level) mu-law codes made waveform
    generation a 256-class classification problem.

    Args:
        quantization_channels: number of levels, 2 to 65536; 256 for 8-bit codes.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: any; float audio in ``[-1, 1]``. Output shape: same as input, ``int32``.

    Example:
        >>> import numpy as np, kapre
        >>> codes = kapre.MuLawEncoding(quantization_channels=256)(np.array([[-1.0, 0.0, 1.0]], 'float32'))
        >>> np.asarray(codes).tolist()
        [[0, 128, 255]]
    """

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(tuple(inputs.shape), dtype="int32")

    def call(self, inputs):
        V.check_real_input("MuLawEncoding", inputs.dtype)
        signal = ops.clip(ops.cast(inputs, _work_dtype(inputs.dtype)), -1.0, 1.0)
        return functional.mu_law_encoding(signal, self.quantization_channels)


@register
class MuLawDecoding(_MuLawLayer):
    """Mu-law expansion of integer codes in ``[0, quantization_channels - 1]`` to audio in ``[-1, 1]``.

    The inverse of :class:`MuLawEncoding`: code ``k`` becomes the level ``y = 2 * k / mu - 1`` and then
    ``sign(y) * ((1 + mu) ** |y| - 1) / mu`` (``librosa.mu_expand`` of that level), with
    ``mu = quantization_channels - 1``. ``MuLawEncoding`` of the result gives the codes back exactly.

    Args:
        quantization_channels: number of levels, 2 to 65536; 256 for 8-bit codes.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: any; integer (or float) codes. Output shape: same as input; float32 (float64 for a float64
    layer, the policy's dtype under mixed precision).

    Example:
        >>> import numpy as np, kapre
        >>> audio = kapre.MuLawDecoding(quantization_channels=256)(np.array([[0, 255]], 'int32'))
        >>> np.asarray(audio).tolist()
        [[-1.0, 1.0]]
    """

    def _dtypes(self):
        work = V.fft_dtype(self.compute_dtype)
        return work, V.output_float_dtype(self.compute_dtype, work)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(tuple(inputs.shape), dtype=self._dtypes()[1])

    def call(self, inputs):
        V.check_real_input("MuLawDecoding", inputs.dtype)
        work_dtype, out_dtype = self._dtypes()
        signal = functional.mu_law_decoding(inputs, self.quantization_channels, dtype=work_dtype)
        return signal if out_dtype == work_dtype else ops.cast(signal, out_dtype)


@register
class LogmelToMFCC(KapreLayer):
    """MFCCs from a log-mel spectrogram: the DCT-II over the mel axis, first ``n_mfccs`` coefficients.

    The default (``dct_norm=None``) is kapre's and ``tf.signal.mfccs_from_log_mel_spectrograms``' scaling: every
    coefficient is ``sqrt(2 / n_mels) * sum_m x[m] * cos(pi * k * (2m + 1) / (2 * n_mels))``, so c0 is ``sqrt(2)``
    times the orthonormal DCT's value and the others equal it. ``dct_norm='ortho'`` is the orthonormal DCT-II of
    scipy, which gives ``librosa.feature.mfcc(S=log_mel)`` exactly. Keep one convention across training and
    deployment; do not mix them.

    Args:
        n_mfccs: number of coefficients kept (default 20), at most the number of mel bands.
        data_format: ``'channels_last'`` for ``(batch, time, mel, channels)`` input, ``'channels_first'`` for
            ``(batch, channels, time, mel)``, ``'default'`` (the default) for ``keras.config.image_data_format()``.
        dct_norm: ``None`` (default, kapre/``tf.signal``) or ``'ortho'`` (librosa/scipy).
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape:
        ``(batch, time, n_mels, channels)`` or ``(batch, channels, time, n_mels)``; ``n_mels`` must be known.

    Output shape:
        ``(batch, time, n_mfccs, channels)`` or ``(batch, channels, time, n_mfccs)``; float32 (float64 for
        float64 input, the policy's dtype under mixed precision).

    Example:
        >>> import numpy as np, kapre
        >>> mfcc = kapre.LogmelToMFCC(n_mfccs=20, data_format='channels_last')
        >>> tuple(mfcc(np.zeros((1, 40, 128, 1), 'float32')).shape)
        (1, 40, 20, 1)
    """

    frame_locality = FRAME
    _config_keys = ("n_mfccs", "data_format", "dct_norm")

    def __init__(self, n_mfccs=20, data_format="default", dct_norm=None, **kwargs):
        super().__init__(**kwargs)
        self.n_mfccs = V.check_int("n_mfccs", n_mfccs, minimum=1, maximum=V.MAX_COUNT)
        self.data_format = V.check_data_format("data_format", data_format)
        if dct_norm is not None and dct_norm != "ortho":
            raise ValueError(f"dct_norm must be None or 'ortho', received dct_norm={dct_norm!r}.")
        self.dct_norm = dct_norm
        self._format = V.resolve_data_format(self.data_format)
        self._mel_axis = 2 if self._format == V.CH_LAST else 3
        self._dct_values = None
        self._dct = None
        self._dct_by_dtype = {}

    def _check_input(self, shape, dtype=None):
        V.check_input_rank("LogmelToMFCC", shape, 4, _SPECTROGRAM_LAYOUT)
        if dtype is not None:
            V.check_real_input("LogmelToMFCC", dtype)
        n_mels = shape[self._mel_axis]
        if n_mels is None:
            raise ValueError(
                f"LogmelToMFCC needs a known number of mel bands (axis {self._mel_axis}), received an input of shape "
                f"{tuple(shape)}."
            )
        if n_mels < self.n_mfccs:
            raise ValueError(
                f"LogmelToMFCC with n_mfccs={self.n_mfccs} needs at least {self.n_mfccs} mel bands, received an "
                f"input of shape {tuple(shape)} with {n_mels} on axis {self._mel_axis}."
            )
        return n_mels

    def build(self, input_shape):
        n_mels = self._check_input(input_shape)
        self._dct_values = constants.dct_matrix(n_mels, self.n_mfccs, norm=self.dct_norm)
        self._dct = _backend.constant(self._dct_values, self.transform_dtype)
        self.built = True

    def _dct_for(self, dtype):
        """The DCT matrix in ``dtype``, converted from the float64 NumPy matrix (not from the float32 constant)."""
        if dtype == self.transform_dtype:
            return self._dct
        if dtype not in self._dct_by_dtype:
            self._dct_by_dtype[dtype] = _backend.constant(self._dct_values, dtype)
        return self._dct_by_dtype[dtype]

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        shape = list(input_shape)
        shape[self._mel_axis] = self.n_mfccs
        return tuple(shape)

    def compute_output_spec(self, inputs):
        dtype = V.output_float_dtype(self.compute_dtype, _work_dtype(inputs.dtype))
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=dtype)

    def call(self, inputs):
        n_mels = self._check_input(inputs.shape, inputs.dtype)
        if self._dct.shape[0] != n_mels:
            raise ValueError(
                f"LogmelToMFCC was built for {self._dct.shape[0]} mel bands, received an input of shape "
                f"{tuple(inputs.shape)}."
            )
        work_dtype = _work_dtype(inputs.dtype)
        mfccs = functional.apply_filterbank(ops.cast(inputs, work_dtype), self._dct_for(work_dtype), self._mel_axis)
        return self.to_output_dtype(mfccs, work_dtype)
