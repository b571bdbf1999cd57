"""kapre 0.2's ``Spectrogram`` and ``Melspectrogram`` (the DFT-kernel layers), on every Keras 3 backend.

These are the layers of kapre 0.1.x/0.2.x, importable at their old path ``kapre.time_frequency.Spectrogram`` /
``kapre.time_frequency.Melspectrogram``, with their arguments, defaults, shapes, weights and numbers:

* the input is ``(batch, channels, samples)`` whatever the data format (``(batch, samples, channels)`` for the
  DAS fork's variants in :mod:`kapre.compat.das`);
* the output is ``(batch, freq, time, channels)`` (``'channels_last'``) or ``(batch, channels, freq, time)``
  (``'channels_first'``);
* frames of ``n_dft`` samples every ``n_hop`` samples are multiplied by DFT kernels with a periodic Hann window
  folded in (kapre's DFT engine, :func:`kapre.functional.stft_dft`), held as weights (``real_kernels`` and
  ``imag_kernels``, shape ``(n_dft, 1, 1, n_dft // 2 + 1)`` as in 0.2, so 0.2/DAS HDF5 weights load), trainable
  with ``trainable_kernel=True``;
* ``padding='same'`` reproduces the 0.2 strided convolution with ``padding='same'`` (Keras/TensorFlow
  semantics): ``frames = ceil(samples / n_hop)``, and the signal is zero-padded by
  ``total = max((frames - 1) * n_hop + n_dft - samples, 0)`` samples, ``total // 2`` on the left and the rest on
  the right. ``padding='valid'`` takes ``1 + (samples - n_dft) // n_hop`` frames without padding;
* the power spectrogram ``re**2 + im**2`` is raised to ``power / 2`` (``power_spectrogram``; for
  ``Melspectrogram`` the mel filterbank is applied to the power spectrogram first, then ``power_melgram / 2``:
  ``power_melgram=1.0`` is the square root of the mel of the power spectrum);
* decibels are 0.2's ``amplitude_to_decibel``: ``10 * log10(max(x, 1e-10))`` minus its maximum over each
  example, floored at ``-80``, so each example lies in ``[-80, 0]`` dB
  (:func:`kapre.functional.magnitude_to_decibel` with ``ref_value='max'``).

The layers are registered as ``Kapre02>Spectrogram`` and ``Kapre02>Melspectrogram`` (``KapreDAS>...`` for the
DAS variants), so they never clash with kapre 0.4's ``Kapre>...`` classes.

Differences from 0.2, all for clearer errors: invalid arguments raise ``ValueError``/``TypeError`` naming the
argument (0.2 used ``assert``); ``n_dft`` may be any even number >= 2 (0.2 asserted a power of two, which still
gives 0.2's numbers); a signal shorter than ``n_dft`` raises ``ValueError`` only with ``padding='valid'`` (with
``'same'`` it has one frame); ``Melspectrogram(return_decibel_spectrogram=True)`` raises (0.2 took the mel of
decibels, which gives NaN).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kapre import _backend, constants, functional
from kapre import _validation as V
from kapre._layer import WAVEFORM, ArrayInitializer, KapreLayer
from kapre.params import MelFilterbank

__all__ = ["Spectrogram", "Melspectrogram"]

register = keras.saving.register_keras_serializable(package="Kapre02")

# 0.2's amplitude_to_decibel constants.
DB_AMIN = 1e-10
DB_DYNAMIC_RANGE = 80.0


def check_mel_norm(norm):
    """``'slaney'``, ``None`` or a (p-)norm number, as :func:`kapre.constants.mel_filterbank` takes."""
    if norm is None or norm == "slaney":
        return norm
    if isinstance(norm, bool) or not isinstance(norm, (int, float, np.integer, np.floating)):
        raise ValueError(f"norm must be None, 'slaney' or a number (p-norm), received norm={norm!r}.")
    if not norm > 0:
        raise ValueError(f"norm must be > 0 when it is a number, received norm={norm!r}.")
    return norm


def safe_power(power, exponent: float):
    """``power ** exponent`` for ``power >= 0`` with finite gradients at exact zeros (the value there is 0)."""
    if exponent == 1.0:
        return power
    positive = power > 0
    safe = ops.where(positive, power, ops.ones_like(power))
    if exponent == 0.5:
        result = ops.sqrt(safe)
    else:
        result = ops.power(safe, exponent)
    return ops.where(positive, result, ops.zeros_like(power))


def legacy_decibel(x):
    """0.2's ``amplitude_to_decibel``: per-example ``10 log10(max(x, 1e-10))`` minus its maximum, floored at -80."""
    return functional.magnitude_to_decibel(
        x, ref_value="max", amin=DB_AMIN, dynamic_range=DB_DYNAMIC_RANGE, amplitude=False
    )


@register
class Spectrogram(KapreLayer):
    """kapre 0.2's spectrogram layer: power (or amplitude) spectrogram(s) of multichannel audio in a 2-D image format.

    Args:
        n_dft: number of DFT points, an even integer >= 2 (0.2: a power of two). The output has
            ``n_dft // 2 + 1`` frequency bins. Defaults to 512.
        n_hop: hop between frames in samples (>= 1). Defaults to ``n_dft // 2``.
        padding: ``'same'`` (``ceil(samples / n_hop)`` frames; the signal is zero-padded as a strided
            convolution with ``padding='same'``: ``total = max((frames - 1) * n_hop + n_dft - samples, 0)``
            samples, ``total // 2`` on the left) or ``'valid'`` (``1 + (samples - n_dft) // n_hop`` frames).
        power_spectrogram: exponent applied to the magnitude (> 0): 2.0 for a power spectrogram, 1.0 for an
            amplitude spectrogram.
        return_decibel_spectrogram: convert to decibels normalized per example to ``[-80, 0]``
            (``10 * log10(max(x, 1e-10))`` minus its per-example maximum, floored at -80).
        trainable_kernel: make the DFT kernels (``real_kernels``, ``imag_kernels``) trainable; they are
            initialized with the Hann-windowed DFT.
        image_data_format: ``'channels_last'`` (output ``(batch, freq, time, channels)``), ``'channels_first'``
            (``(batch, channels, freq, time)``) or ``'default'`` (Keras' ``image_data_format()``).
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``, ``input_shape``, ...).

    Input shape:
        ``(batch, channels, samples)`` whatever ``image_data_format``; any number of channels. With
        ``padding='valid'`` at least ``n_dft`` samples.

    Output shape:
        ``(batch, n_dft // 2 + 1, frames, channels)`` if ``'channels_last'``,
        ``(batch, channels, n_dft // 2 + 1, frames)`` if ``'channels_first'``; float32 (float64 for a float64
        layer).

    Raises:
        ValueError: for an input that is not 3-D, or shorter than ``n_dft`` samples with ``padding='valid'``.

    Example:
        >>> import numpy as np
        >>> from kapre.time_frequency import Spectrogram
        >>> layer = Spectrogram(n_dft=512, n_hop=256, image_data_format='channels_last')
        >>> tuple(layer(np.zeros((1, 2, 2048), 'float32')).shape)
        (1, 257, 8, 2)
    """

    @property
    def frame_locality(self):
        """``'waveform'`` with ``padding='valid'`` (``'same'`` centres the frames by an amount that depends on the
        length)."""
        return WAVEFORM if self.padding == "valid" else None

    # Where the audio's channel axis is and how (batch, channels, time, freq) maps to the output, per data format.
    _audio_channels_last = False
    _output_permutation = {V.CH_LAST: (0, 3, 2, 1), V.CH_FIRST: (0, 1, 3, 2)}
    _input_layout = "(batch, channels, samples)"

    def __init__(
        self,
        n_dft=512,
        n_hop=None,
        padding="same",
        power_spectrogram=2.0,
        return_decibel_spectrogram=False,
        trainable_kernel=False,
        image_data_format="default",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.n_dft = V.check_int("n_dft", n_dft, minimum=2, maximum=V.MAX_DFT_LENGTH)
        if self.n_dft % 2:
            raise ValueError(f"n_dft must be an even number, received n_dft={n_dft!r}.")
        self.n_hop = V.check_int("n_hop", n_hop, minimum=1, allow_none=True, maximum=V.MAX_SAMPLES)
        self.padding = V.check_choice("padding", padding, ("same", "valid"))
        self.power_spectrogram = V.check_float(
            "power_spectrogram", power_spectrogram, exclusive_minimum=0.0, maximum=V.MAX_POWER
        )
        self.return_decibel_spectrogram = V.check_bool("return_decibel_spectrogram", return_decibel_spectrogram)
        self.trainable_kernel = V.check_bool("trainable_kernel", trainable_kernel)
        self.image_data_format = V.check_data_format("image_data_format", image_data_format)
        self._format = V.resolve_data_format(self.image_data_format)
        self._hop = self.n_dft // 2 if self.n_hop is None else self.n_hop
        self._n_freq = self.n_dft // 2 + 1
        self.real_kernels = None
        self.imag_kernels = None

    # -- weights ----------------------------------------------------------------------------------------------

    def build(self, input_shape):
        self._check_input(input_shape)
        window = constants.get_window("hann", self.n_dft)
        real, imag = constants.dft_kernels(self.n_dft, window)  # (n_dft, n_freq) each
        shape = (self.n_dft, 1, 1, self._n_freq)  # 0.2's conv2d kernel shape, kept for its HDF5 weights
        self.real_kernels = self.add_weight(
            name="real_kernels",
            shape=shape,
            dtype=self.transform_dtype,
            initializer=ArrayInitializer(real.reshape(shape)),
            trainable=self.trainable_kernel,
        )
        self.imag_kernels = self.add_weight(
            name="imag_kernels",
            shape=shape,
            dtype=self.transform_dtype,
            initializer=ArrayInitializer(imag.reshape(shape)),
            trainable=self.trainable_kernel,
        )
        self.built = True

    # -- shapes -----------------------------------------------------------------------------------------------

    def _num_frames(self, length):
        if length is None:
            return None
        if self.padding == "same":
            return -(-length // self._hop)
        return functional.num_frames(length, self.n_dft, self._hop)

    def _split_input_shape(self, shape):
        if self._audio_channels_last:
            return shape[0], shape[2], shape[1]  # batch, channels, length
        return shape[0], shape[1], shape[2]

    def _check_input(self, shape, dtype=None):
        name = type(self).__name__
        V.check_input_rank(name, shape, 3, self._input_layout)
        if dtype is not None:
            V.check_real_input(name, dtype)
        length = self._split_input_shape(shape)[2]
        if length is None:
            return
        minimum = self.n_dft if self.padding == "valid" else 1
        if length < minimum:
            raise ValueError(
                f"{name} with padding={self.padding!r} needs at least {minimum} samples (n_dft={self.n_dft}), "
                f"received an input of shape {tuple(shape)} {self._input_layout}. Use padding='same' or a "
                "longer signal."
            )

    def _n_out_freq(self):
        return self._n_freq

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        batch, channels, length = self._split_input_shape(input_shape)
        canonical = (batch, channels, self._num_frames(length), self._n_out_freq())  # (b, ch, time, freq)
        return tuple(canonical[i] for i in self._output_permutation[self._format])

    def compute_output_spec(self, inputs):
        dtype = V.output_float_dtype(self.compute_dtype, self.transform_dtype)
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=dtype)

    # -- computation ------------------------------------------------------------------------------------------

    def _same_padding(self, signals):
        """Zero-pad ``(..., samples)`` as a strided ``padding='same'`` convolution with ``n_dft`` taps."""
        length = signals.shape[-1]
        hop, n_dft = self._hop, self.n_dft
        if isinstance(length, int):
            frames = -(-length // hop)
            total = max((frames - 1) * hop + n_dft - length, 0)
            return functional.pad_along_axis(signals, total // 2, total - total // 2)
        # Unknown length inside a traced graph: pad generously, then slice with dynamic bounds.
        length = ops.shape(signals)[-1]
        frames = (length + hop - 1) // hop
        total = ops.maximum((frames - 1) * hop + n_dft - length, 0)
        start = n_dft - total // 2
        padded = functional.pad_along_axis(signals, n_dft, n_dft)
        return padded[..., start : start + length + total]

    def _power_spectrogram(self, inputs):
        """``re**2 + im**2`` of the framed DFT: ``(batch, channels, time, n_freq)`` in the transform dtype."""
        self._check_input(inputs.shape, inputs.dtype)
        signals = ops.cast(inputs, self.transform_dtype)
        if self._audio_channels_last:
            signals = ops.transpose(signals, (0, 2, 1))
        if self.padding == "same":
            signals = self._same_padding(signals)
        kernel = ops.concatenate(
            [
                ops.reshape(ops.cast(self.real_kernels, self.transform_dtype), (self.n_dft, self._n_freq)),
                ops.reshape(ops.cast(self.imag_kernels, self.transform_dtype), (self.n_dft, self._n_freq)),
            ],
            axis=1,
        )
        real, imag = functional.stft_dft(signals, self.n_dft, self._hop, kernel)
        return real * real + imag * imag

    def _finish(self, values):
        values = ops.transpose(values, self._output_permutation[self._format])
        out_dtype = V.output_float_dtype(self.compute_dtype, self.transform_dtype)
        return values if out_dtype == self.transform_dtype else ops.cast(values, out_dtype)

    def call(self, inputs):
        power = self._power_spectrogram(inputs)
        output = safe_power(power, self.power_spectrogram / 2.0)
        if self.return_decibel_spectrogram:
            output = legacy_decibel(output)
        return self._finish(output)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "n_dft": self.n_dft,
                "n_hop": self.n_hop,
                "padding": self.padding,
                "power_spectrogram": self.power_spectrogram,
                "return_decibel_spectrogram": self.return_decibel_spectrogram,
                "trainable_kernel": self.trainable_kernel,
                "image_data_format": self.image_data_format,
            }
        )
        return config


@register
class Melspectrogram(Spectrogram):
    """kapre 0.2's mel-spectrogram layer: a :class:`Spectrogram` (power) followed by a mel filterbank.

    The mel filterbank (``freq2mel``, shape ``(n_dft // 2 + 1, n_mels)``, numerically
    ``librosa.filters.mel(sr, n_dft, n_mels, fmin, fmax, htk, norm).T``) is applied to the power spectrogram,
    then the result is raised to ``power_melgram / 2``: ``power_melgram=2.0`` is the mel power spectrogram,
    ``1.0`` (the default) its square root.

    Args:
        sr: sampling rate in Hz (> 0). Defaults to 22050.
        n_mels: number of mel bands (>= 1). Defaults to 128.
        fmin: lowest frequency in Hz (>= 0). Defaults to 0.
        fmax: highest frequency in Hz, ``fmin < fmax <= sr / 2``. Defaults to ``None`` (``sr / 2``).
        power_melgram: exponent applied to the mel magnitude (> 0): 2.0 for power, 1.0 for amplitude.
        return_decibel_melgram: convert to decibels normalized per example to ``[-80, 0]``.
        trainable_fb: make the mel filterbank trainable (initialized with the mel filters).
        htk: use the HTK mel formula instead of Slaney's.
        norm: filter normalization: ``'slaney'`` (default since 0.2.0: each triangle divided by its width in
            Hz, what librosa < 0.8 called ``norm=1``), ``None`` (peaks at 1) or a number ``p`` (each filter
            divided by its p-norm, librosa >= 0.8).
        **kwargs: the :class:`Spectrogram` arguments (``n_dft``, ``n_hop``, ``padding``, ``trainable_kernel``,
            ``image_data_format``; ``power_spectrogram`` must stay 2.0) and base layer arguments.

    Input shape:
        ``(batch, channels, samples)``.

    Output shape:
        ``(batch, n_mels, frames, channels)`` if ``'channels_last'``, ``(batch, channels, n_mels, frames)`` if
        ``'channels_first'``.

    Example:
        >>> import numpy as np
        >>> from kapre.time_frequency import Melspectrogram
        >>> layer = Melspectrogram(n_dft=512, n_hop=256, sr=16000, n_mels=64, image_data_format='channels_first')
        >>> tuple(layer(np.zeros((1, 1, 2048), 'float32')).shape)
        (1, 1, 64, 8)
    """

    def __init__(
        self,
        sr=22050,
        n_mels=128,
        fmin=0.0,
        fmax=None,
        power_melgram=1.0,
        return_decibel_melgram=False,
        trainable_fb=False,
        htk=False,
        norm="slaney",
        **kwargs,
    ):
        power_spectrogram = kwargs.get("power_spectrogram", 2.0)
        if power_spectrogram != 2.0:
            raise ValueError(
                f"{type(self).__name__} applies the mel filterbank to the power spectrogram: power_spectrogram "
                f"must be 2.0, received power_spectrogram={power_spectrogram!r}. Use power_melgram instead."
            )
        if kwargs.get("return_decibel_spectrogram", False) is True:
            raise ValueError(
                f"{type(self).__name__} received return_decibel_spectrogram=True, which would apply decibels "
                "before the mel filterbank. Use return_decibel_melgram=True."
            )
        super().__init__(**kwargs)
        self.sr = sr
        self.n_mels = n_mels
        self.fmin = fmin
        self.fmax = fmax
        MelFilterbank.resolve(
            sr, self._n_freq, n_mels, fmin, fmax, htk, "slaney",
            names={"sample_rate": "sr", "f_min": "fmin", "f_max": "fmax"},
        )
        self.norm = check_mel_norm(norm)
        self.power_melgram = V.check_float("power_melgram", power_melgram, exclusive_minimum=0.0, maximum=V.MAX_POWER)
        self.return_decibel_melgram = V.check_bool("return_decibel_melgram", return_decibel_melgram)
        self.trainable_fb = V.check_bool("trainable_fb", trainable_fb)
        self.htk = bool(htk)
        self.freq2mel = None

    def build(self, input_shape):
        super().build(input_shape)
        f_max = None if self.fmax is None else float(self.fmax)
        mel = constants.mel_filterbank(
            float(self.sr), self._n_freq, self.n_mels, float(self.fmin), f_max, self.htk, self.norm
        )
        self.freq2mel = self.add_weight(
            name="freq2mel",
            shape=mel.shape,
            dtype=self.transform_dtype,
            initializer=ArrayInitializer(mel),
            trainable=self.trainable_fb,
        )
        self.built = True

    def _n_out_freq(self):
        return self.n_mels

    def call(self, inputs):
        power = self._power_spectrogram(inputs)  # (batch, channels, time, n_freq)
        mel = _backend.matmul(power, ops.cast(self.freq2mel, self.transform_dtype))  # keeps float64 on every backend
        output = safe_power(mel, self.power_melgram / 2.0)
        if self.return_decibel_melgram:
            output = legacy_decibel(output)
        return self._finish(output)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sr": self.sr,
                "n_mels": self.n_mels,
                "fmin": self.fmin,
                "fmax": self.fmax,
                "power_melgram": self.power_melgram,
                "return_decibel_melgram": self.return_decibel_melgram,
                "trainable_fb": self.trainable_fb,
                "htk": self.htk,
                "norm": self.norm,
            }
        )
        return config

