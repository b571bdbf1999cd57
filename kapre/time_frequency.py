"""Time-frequency Keras layers: STFT, its inverse, magnitude, phase, decibels, filterbanks, deltas.

kapre 0.4's layers with its arguments, defaults, shapes, numbers and registered names (``Kapre>STFT``, ...), on
every Keras 3 backend. The layers are thin wrappers around :mod:`kapre.functional`; their constants (windows,
filterbanks) are computed once in NumPy by :mod:`kapre.constants`.

Data formats: waveforms are ``(batch, time, channels)`` (``'channels_last'``) or ``(batch, channels, time)``
(``'channels_first'``); spectrograms are ``(batch, time, freq, channels)`` or ``(batch, channels, time, freq)``.
``'default'`` means ``keras.config.image_data_format()``.

NaN or infinite samples are not checked (that would cost a pass over the data on every call): they propagate
to the frames that contain them.
"""

from __future__ import annotations

import keras
from keras import ops

from kapre import _backend, constants, functional
from kapre import _validation as V
from kapre._layer import EXAMPLE_MAX, FRAME, WAVEFORM, ArrayInitializer, KapreLayer
from kapre.params import DB_NAMES, Decibel, Framing, build_filterbank  # noqa: F401  (DB_NAMES: callers' names)

__all__ = [
    "STFT",
    "InverseSTFT",
    "Magnitude",
    "Phase",
    "MagnitudeToDecibel",
    "ApplyFilterbank",
    "Delta",
    "ConcatenateFrequencyMap",
]

register = keras.saving.register_keras_serializable(package="Kapre")

_WAVEFORM_LAYOUT = "(batch, time, channels) or (batch, channels, time) per input_data_format"
_SPECTROGRAM_LAYOUT = "(batch, time, freq, channels) or (batch, channels, time, freq)"


@register
class STFT(KapreLayer):
    """Short-time Fourier transform of a batch of (multichannel) waveforms; complex output.

    Frames of ``win_length`` samples are taken every ``hop_length`` samples, multiplied by the window and
    zero-padded on the right to ``n_fft`` before the FFT (the semantics of kapre 0.4 and ``tf.signal.stft``).
    With ``center=True`` the layer frames as ``librosa.stft(center=True)`` instead: the signal is padded by
    ``n_fft // 2`` samples at both ends and the window is centred in each ``n_fft``-sample frame.

    Args:
        n_fft: FFT size in samples (2048 = 93 ms at 22,050 Hz). The output has ``n_fft // 2 + 1`` frequency
            bins, from 0 Hz to the Nyquist frequency.
        win_length: window length in samples, at most ``n_fft``. Defaults to ``n_fft``.
        hop_length: samples between successive frames. Defaults to ``win_length // 4`` (75% overlap).
        window_name: the analysis window: ``None`` (periodic Hann), a kapre/``tf.signal`` name
            (``'hann_window'``, ``'hamming_window'``, ``'kaiser_window'``, ``'kaiser_bessel_derived_window'``,
            ``'vorbis_window'``), any ``scipy.signal.get_window`` name (``'hann'``, ``'hamming'``, ``'tukey'``, ...;
            periodic, as librosa uses them), with its parameters as a tuple (``('kaiser', 8.6)``), or a 1-D array of
            ``win_length`` values. Windows are periodic for odd lengths too.
        pad_begin: prepend ``max(0, n_fft - hop_length)`` zeros, so the first samples are covered by as many frames as
            the rest (needed for perfect reconstruction). Not with ``center``.
        pad_end: append zeros so that there are ``ceil(samples / hop_length)`` frames. Not with ``center``.
        input_data_format: ``'channels_last'`` for ``(batch, time, channels)`` waveforms,
            ``'channels_first'`` for ``(batch, channels, time)``, ``'default'`` for Keras' setting.
        output_data_format: ``'channels_last'`` for ``(batch, time, freq, channels)`` output,
            ``'channels_first'`` for ``(batch, channels, time, freq)``, ``'default'`` for Keras' setting.
        center: frame as ``librosa.stft(center=True)`` (``1 + samples // hop_length`` frames, frame ``t``
            centred at sample ``t * hop_length``). Defaults to ``False``, kapre's numbers.
        pad_mode: padding used with ``center``: ``'constant'`` (zeros, librosa's default) or ``'reflect'``.
        engine: how the transform is computed; both give the same numbers (within float32 rounding).
            ``'fft'`` (default): the backend's FFT, fastest for large ``n_fft``, no weights (kapre 0.4's layer).
            ``'dft'``: one matrix product of the frames with a ``(frame_length, 2 * (n_fft // 2 + 1))`` cos/sin
            kernel with the window folded in, held as a layer weight (``dft_kernel``). Pick it for export
            (LiteRT/TFLite has no builtin FFT), for any ``n_fft`` on any backend, and for trainable front-ends;
            its cost grows as ``n_fft ** 2`` per frame, so prefer ``'fft'`` for speed with ``n_fft`` >= 1024.
        trainable_kernel: with ``engine='dft'``, make the DFT kernel trainable (it starts as the exact
            windowed DFT). Defaults to ``False`` (a non-trainable weight). Must be ``False`` with ``engine='fft'``.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``, ...).

    Input shape:
        ``(batch, time, channels)`` if ``input_data_format='channels_last'``, ``(batch, channels, time)`` if
        ``'channels_first'``. Integer inputs are converted to float.

    Output shape:
        ``(batch, frames, n_fft // 2 + 1, channels)`` if ``output_data_format='channels_last'``,
        ``(batch, channels, frames, n_fft // 2 + 1)`` if ``'channels_first'``; ``complex64``
        (``complex128`` for a ``float64`` layer). Under a mixed-precision policy the transform runs in float32
        and the output is ``complex64``.

    Raises:
        ValueError: when called on a signal shorter than one frame (``win_length`` samples, after ``pad_begin``)
            without ``pad_end``, or too short for ``'reflect'`` padding.

    Example:
        >>> import numpy as np, kapre
        >>> stft = kapre.STFT(n_fft=1024, hop_length=512, input_data_format='channels_last',
        ...                   output_data_format='channels_last')
        >>> tuple(stft(np.zeros((1, 2048, 1), 'float32')).shape)
        (1, 3, 513, 1)
    """

    _config_keys = (
        "n_fft", "win_length", "hop_length", "window_name", "pad_begin", "pad_end", "input_data_format",
        "output_data_format", "center", "pad_mode", "engine", "trainable_kernel",
    )

    def __init__(
        self,
        n_fft=2048,
        win_length=None,
        hop_length=None,
        window_name=None,
        pad_begin=False,
        pad_end=False,
        input_data_format="default",
        output_data_format="default",
        center=False,
        pad_mode="constant",
        engine="fft",
        trainable_kernel=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._framing = Framing.resolve(
            n_fft, win_length, hop_length, window_name, center=center, pad_mode=pad_mode, pad_begin=pad_begin,
            pad_end=pad_end, names={"window": "window_name"},
        )
        self.n_fft, self.win_length, self.hop_length, self.window_name = int(n_fft), win_length, hop_length, window_name
        self.pad_begin, self.pad_end = self._framing.pad_begin, self._framing.pad_end
        self.center, self.pad_mode = self._framing.center, self._framing.pad_mode
        self.input_data_format = V.check_data_format("input_data_format", input_data_format)
        self.output_data_format = V.check_data_format("output_data_format", output_data_format)
        self._input_format = V.resolve_data_format(self.input_data_format)
        self._output_format = V.resolve_data_format(self.output_data_format)
        self.engine = V.check_choice("engine", engine, ("fft", "dft"))
        if self.engine == "dft" and self.n_fft > V.MAX_DFT_LENGTH:
            raise ValueError(
                f"engine='dft' holds an n_fft x (n_fft // 2 + 1) kernel: n_fft must be <= {V.MAX_DFT_LENGTH} with it "
                f"(2.1 GB in float64 at {V.MAX_DFT_LENGTH}), received n_fft={self.n_fft!r}. Use engine='fft'."
            )
        self.trainable_kernel = V.check_bool("trainable_kernel", trainable_kernel)
        if self.trainable_kernel and self.engine != "dft":
            raise ValueError(
                f"trainable_kernel=True needs engine='dft' (the FFT engine has no kernel), received "
                f"engine={engine!r}."
            )
        self._window = None
        self.dft_kernel = None

    @property
    def frame_locality(self):
        """``'waveform'``, except with ``center=True`` and reflect padding (the end of the signal is mirrored)."""
        return None if self.center and self.pad_mode == "reflect" else WAVEFORM

    def build(self, input_shape):
        dtype = self.transform_dtype
        self._window = _backend.constant(self._framing.window_values, dtype)
        if self.engine == "dft":
            kernel_values = constants.stft_dft_kernel(self.n_fft, self._framing.window_values, self.center)
            self.dft_kernel = self.add_weight(
                name="dft_kernel",
                shape=kernel_values.shape,
                initializer=ArrayInitializer(kernel_values),
                dtype=dtype,
                trainable=self.trainable_kernel,
                autocast=False,
            )
        self.built = True

    def _waveforms(self, inputs):
        """``(batch, ch, time)`` in the transform's dtype."""
        waveforms = ops.cast(inputs, self.transform_dtype)
        if self._input_format == V.CH_LAST:
            waveforms = ops.transpose(waveforms, (0, 2, 1))
        return waveforms

    def _spectrum_parts(self, inputs):
        """``(real, imag)`` of the DFT engine, each ``(batch, ch, time, freq)``."""
        f = self._framing
        return functional.stft_dft(
            self._waveforms(inputs), self.n_fft, f.hop_length, self.dft_kernel, center=f.center,
            pad_mode=f.pad_mode, pad_begin=f.pad_begin, pad_end=f.pad_end,
        )

    # -- shapes -----------------------------------------------------------------------------------------------

    def _num_frames(self, length):
        return self._framing.num_frames(length)

    def _check_input(self, shape, dtype=None):
        self.check_rank(shape, 3, _WAVEFORM_LAYOUT)
        if dtype is not None:
            V.check_real_input(type(self).__name__, dtype)
        self._framing.check_length("STFT", shape[1] if self._input_format == V.CH_LAST else shape[2])

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        if self._input_format == V.CH_LAST:
            batch, length, channels = input_shape
        else:
            batch, channels, length = input_shape
        frames, n_freq = self._num_frames(length), self._framing.n_freq
        if self._output_format == V.CH_LAST:
            return (batch, frames, n_freq, channels)
        return (batch, channels, frames, n_freq)

    def compute_output_spec(self, inputs):
        shape = self.compute_output_shape(inputs.shape)
        return keras.KerasTensor(shape, dtype=V.complex_dtype(self.transform_dtype))

    # -- computation ------------------------------------------------------------------------------------------

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        if self.engine == "dft":
            spectrum = _backend.make_complex(*self._spectrum_parts(inputs))
        else:
            f = self._framing
            spectrum = functional.stft(
                self._waveforms(inputs), self.n_fft, f.hop_length, self._window, center=f.center,
                pad_mode=f.pad_mode, pad_begin=f.pad_begin, pad_end=f.pad_end,
            )  # (batch, ch, time, freq)
        if self._output_format == V.CH_LAST:
            # exporting (kapre.export), the spectrum is held as parts: a trailing (real, imag) axis
            spectrum = ops.transpose(spectrum, (0, 2, 3, 1, 4) if _backend.EXPORTING else (0, 2, 3, 1))
        return spectrum


@register
class InverseSTFT(KapreLayer):
    """Inverse STFT by windowed overlap-add; the inverse of :class:`STFT` with the same parameters.

    The synthesis window is the forward window divided by its overlapped sum of squares
    (``tf.signal.inverse_stft_window_fn``), so ``InverseSTFT(STFT(x))`` gives ``x`` back wherever every sample
    is covered by all overlapping frames (use ``STFT(pad_begin=True, pad_end=True)``, or ``center=True`` on both).

    Args:
        n_fft: FFT size used by the forward STFT.
        win_length: window length of the forward STFT. Defaults to ``n_fft``.
        hop_length: hop of the forward STFT. Defaults to ``win_length // 4``.
        forward_window_name: the window of the forward STFT (same choices as ``STFT.window_name``).
        input_data_format: ``'channels_last'`` for ``(batch, time, freq, channels)`` input,
            ``'channels_first'`` for ``(batch, channels, time, freq)``, ``'default'`` for Keras' setting.
        output_data_format: ``'channels_last'`` for ``(batch, time, channels)`` waveforms,
            ``'channels_first'`` for ``(batch, channels, time)``, ``'default'`` for Keras' setting.
        center: the forward STFT used ``center=True``: the ``n_fft // 2`` padded samples are removed at both ends.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape:
        complex ``(batch, frames, n_fft // 2 + 1, channels)`` or ``(batch, channels, frames, n_fft // 2 + 1)``.

    Output shape:
        ``(batch, samples, channels)`` or ``(batch, channels, samples)``, with
        ``samples = (frames - 1) * hop_length + win_length`` (kapre, ``tf.signal.inverse_stft``), or
        ``(frames - 1) * hop_length + n_fft - 2 * (n_fft // 2)`` with ``center=True``. The result can be longer
        than the original signal: trim it (see :func:`kapre.composed.get_perfectly_reconstructing_stft_istft`).
        The real dtype of the input (float32 for complex64, float64 for complex128), also under mixed precision:
        a waveform is handed back at the precision of the spectrum it came from.

    Example:
        >>> import numpy as np, kapre
        >>> istft = kapre.InverseSTFT(n_fft=1024, hop_length=512, input_data_format='channels_last',
        ...                           output_data_format='channels_last')
        >>> tuple(istft(np.zeros((1, 3, 513, 1), 'complex64')).shape)
        (1, 2048, 1)
    """

    _config_keys = (
        "n_fft", "win_length", "hop_length", "forward_window_name", "input_data_format", "output_data_format",
        "center",
    )

    def __init__(
        self,
        n_fft=2048,
        win_length=None,
        hop_length=None,
        forward_window_name=None,
        input_data_format="default",
        output_data_format="default",
        center=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._framing = Framing.resolve(
            n_fft, win_length, hop_length, forward_window_name, center=center,
            names={"window": "forward_window_name"},
        )
        self.n_fft, self.win_length, self.hop_length = int(n_fft), win_length, hop_length
        self.forward_window_name, self.center = forward_window_name, self._framing.center
        self.input_data_format = V.check_data_format("input_data_format", input_data_format)
        self.output_data_format = V.check_data_format("output_data_format", output_data_format)
        self._input_format = V.resolve_data_format(self.input_data_format)
        self._output_format = V.resolve_data_format(self.output_data_format)
        if self.center:  # librosa's istft: the centred forward window, normalised sample by sample in call
            self._window_values = self._framing.centered_window()
        else:
            self._window_values = constants.inverse_stft_window(self._framing.window_values, self._framing.hop_length)
        self._window = None

    def build(self, input_shape):
        self._window = _backend.constant(self._window_values, self.transform_dtype)
        self.built = True

    def _check_input(self, shape, dtype=None):
        self.check_rank(shape, 4, _SPECTROGRAM_LAYOUT)
        if dtype is not None:
            V.check_complex_input("InverseSTFT", dtype)
        n_freq = shape[2] if self._input_format == V.CH_LAST else shape[3]
        if n_freq is not None and n_freq != self._framing.n_freq:
            raise ValueError(
                f"InverseSTFT with n_fft={self.n_fft} expects {self._framing.n_freq} frequency bins, received an "
                f"input of shape {tuple(shape)}."
            )

    def _num_samples(self, frames):
        if frames is None:
            return None
        samples = (frames - 1) * self._framing.hop_length + self._framing.frame_length
        return samples - 2 * (self.n_fft // 2) if self.center else samples

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        if self._input_format == V.CH_LAST:
            batch, frames, _, channels = input_shape
        else:
            batch, channels, frames, _ = input_shape
        samples = self._num_samples(frames)
        if self._output_format == V.CH_LAST:
            return (batch, samples, channels)
        return (batch, channels, samples)

    def compute_output_spec(self, inputs):
        dtype = V.real_dtype_of(inputs.dtype)
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=dtype)

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        stfts = inputs
        if self._input_format == V.CH_LAST:
            stfts = ops.transpose(stfts, (0, 3, 1, 2))  # (batch, ch, time, freq)
        window = self._window
        if V.real_dtype_of(stfts.dtype) != self.transform_dtype:
            window = ops.cast(window, V.real_dtype_of(stfts.dtype))
        waveforms = functional.istft(stfts, self.n_fft, self._framing.hop_length, window, center=self.center)
        if self._output_format == V.CH_LAST:
            waveforms = ops.transpose(waveforms, (0, 2, 1))
        return waveforms


class _ComplexToRealLayer(KapreLayer):
    """Shared shape/dtype logic of the layers that map a complex spectrum to a real one elementwise."""

    frame_locality = FRAME

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_output_spec(self, inputs):
        # remembered for export: kapre.export holds a complex input as a real tensor of parts (trailing axis 2)
        self._takes_complex = "complex" in str(inputs.dtype)
        return keras.KerasTensor(tuple(inputs.shape), dtype=self.output_dtype(inputs.dtype))

    def _held_as_parts(self, inputs) -> bool:
        """Whether ``inputs`` is a complex spectrum held as parts (a model traced by :mod:`kapre.export`)."""
        return _backend.EXPORTING and getattr(self, "_takes_complex", False) and "complex" not in str(inputs.dtype)

    def _finish(self, values, input_dtype):
        return self.to_output_dtype(values, input_dtype)


@register
class Magnitude(_ComplexToRealLayer):
    """Magnitude ``|x|`` (or power ``|x| ** 2``) of a complex input (the output of :class:`STFT`); float output.

    Gradients are finite everywhere, 0 at exact zeros. A real input is accepted too (its absolute value).

    Args:
        power: 1.0 (the default, kapre 0.4's layer): the magnitude ``|x|``; 2.0: the power ``re**2 + im**2``,
            computed without a square root (``np.abs(librosa.stft(y)) ** 2``, torchaudio's ``power=2``).
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: any. Output shape: same as input; ``float32`` for ``complex64`` input (the policy's dtype
    under mixed precision).

    Example:
        >>> import numpy as np, kapre
        >>> np.asarray(kapre.Magnitude()(np.array([[3 + 4j]], 'complex64'))).tolist()
        [[5.0]]
        >>> np.asarray(kapre.Magnitude(power=2.0)(np.array([[3 + 4j]], 'complex64'))).tolist()
        [[25.0]]
    """

    _config_keys = ("power",)

    def __init__(self, power=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(power, bool) or power not in (1, 2, 1.0, 2.0):
            raise ValueError(f"power must be 1.0 (magnitude) or 2.0 (power), received power={power!r}.")
        self.power = float(power)

    def call(self, inputs):
        if self._held_as_parts(inputs):
            real, imag = _backend.parts(inputs)
            values = real * real + imag * imag if self.power == 2.0 else functional.magnitude_from_parts(real, imag)
            return self._finish(values, inputs.dtype)
        if self.power == 2.0:
            return self._finish(functional.power(inputs), inputs.dtype)
        if _backend.EXPORTING and "complex" not in str(inputs.dtype):  # a real input: its absolute value
            return self._finish(ops.abs(inputs), inputs.dtype)
        return self._finish(functional.magnitude(inputs), inputs.dtype)


@register
class Phase(_ComplexToRealLayer):
    """Phase (radians, ``[-pi, pi]``) of a complex input.

    Args:
        approx_atan_accuracy: ``None`` (exact ``atan2``) or a positive integer: compute the phase with a
            continued-fraction arctan built from ``+ - * /`` only, which LiteRT's builtin ops can run (kapre's
            ``PhaseTflite`` numbers). The argument is range-reduced first, so a few dozen terms are exact in
            float32 and at most 40 terms are evaluated whatever the value; the result is ``+-pi/2`` where the real
            part is 0. ``tflite_phase_accuracy`` (kapre 0.3.x's name) is accepted as an alias.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: any, complex. Output shape: same as input, float.

    Example:
        >>> import numpy as np, kapre
        >>> np.round(np.asarray(kapre.Phase()(np.array([[1j]], 'complex64')), 'float64'), 4).tolist()
        [[1.5708]]
    """

    def __init__(self, approx_atan_accuracy=None, **kwargs):
        legacy = kwargs.pop("tflite_phase_accuracy", None)
        if approx_atan_accuracy is None and legacy is not None:
            approx_atan_accuracy = legacy
        super().__init__(**kwargs)
        self.approx_atan_accuracy = V.check_int(
            "approx_atan_accuracy", approx_atan_accuracy, minimum=1, allow_none=True
        )

    _config_keys = ("approx_atan_accuracy",)

    def call(self, inputs):
        if not self._held_as_parts(inputs):
            V.check_complex_input("Phase", inputs.dtype)
        return self._finish(functional.phase(inputs, self.approx_atan_accuracy), inputs.dtype)


@register
class MagnitudeToDecibel(KapreLayer):
    """Decibel scaling, ``10 * log10(max(x, amin)) - 10 * log10(max(amin, ref_value))``, floored per example.

    Each example of the batch is floored at ``dynamic_range`` dB below its own maximum (kapre's semantics;
    ``librosa.power_to_db(x, ref=ref_value, amin=amin, top_db=dynamic_range)`` applied example by example).

    Args:
        ref_value: input value that becomes 0 dB (> 0; 1.0 keeps a [-1, 1] signal's spectrum near 0 dB), or
            ``'max'``: the maximum of each example becomes 0 dB.
        amin: smallest input value (> 0); 1e-5 is -50 dB for a power, -100 dB for an amplitude.
        dynamic_range: dB kept below each example's maximum (> 0), or ``None`` for no floor.
        amplitude: ``True`` uses ``20 * log10`` (``librosa.amplitude_to_db``) for magnitudes; the default
            ``False`` is kapre's ``10 * log10`` (``librosa.power_to_db``).
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: any, first axis the batch (a 1-D input is one example). Output shape: same as input. Computes
    in float32 under mixed precision and returns the policy's dtype.

    Example:
        >>> import numpy as np, kapre
        >>> db = kapre.MagnitudeToDecibel()(np.array([[1.0, 0.01, 0.0]], 'float32'))
        >>> np.round(np.asarray(db), 3).tolist()
        [[0.0, -20.0, -50.0]]
    """

    frame_locality = EXAMPLE_MAX
    _config_keys = ("amin", "dynamic_range", "ref_value", "amplitude")

    def __init__(self, ref_value=1.0, amin=1e-5, dynamic_range=80.0, amplitude=False, **kwargs):
        super().__init__(**kwargs)
        self._decibel = Decibel.resolve(ref_value, amin, dynamic_range, amplitude)
        self.ref_value, self.amin = self._decibel.ref_value, self._decibel.amin
        self.dynamic_range, self.amplitude = self._decibel.dynamic_range, self._decibel.amplitude

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(tuple(inputs.shape), dtype=self.output_dtype(self.work_dtype_of(inputs.dtype)))

    def call(self, inputs):
        V.check_real_input("MagnitudeToDecibel", inputs.dtype)
        work_dtype = self.work_dtype_of(inputs.dtype)
        d = self._decibel
        result = functional.magnitude_to_decibel(
            ops.cast(inputs, work_dtype), d.ref_value, d.amin, d.dynamic_range, d.amplitude
        )
        return self.to_output_dtype(result, work_dtype)


class _SpectrogramLayer(KapreLayer):
    """Shared data-format handling of the layers that take a 2-D batch ``(b, t, f, ch)`` / ``(b, ch, t, f)``."""

    _config_keys = ("data_format",)
    _autocast_inputs = True

    def __init__(self, data_format="default", **kwargs):
        super().__init__(**kwargs)
        self.data_format = V.check_data_format("data_format", data_format)
        self._format = V.resolve_data_format(self.data_format)
        self._time_axis, self._freq_axis, self._channel_axis = (1, 2, 3) if self._format == V.CH_LAST else (2, 3, 1)

    def _check_input(self, shape, dtype=None):
        self.check_rank(shape, 4, _SPECTROGRAM_LAYOUT)
        if dtype is not None:
            V.check_real_input(type(self).__name__, dtype)

    def _float_dtype_of(self, dtype) -> str:
        """The dtype the layer computes an input of ``dtype`` in: Keras autocasts a float input to the compute
        dtype (``autocast``); an integer or bool input is cast here, to the same dtype, symbolically and eagerly."""
        dtype = keras.backend.standardize_dtype(dtype)
        is_float = dtype.startswith(("float", "bfloat"))
        return dtype if is_float and not self.autocast else self.compute_dtype

    def _float_input(self, inputs):
        dtype = self._float_dtype_of(inputs.dtype)
        return inputs if keras.backend.standardize_dtype(inputs.dtype) == dtype else ops.cast(inputs, dtype)


@register
class ApplyFilterbank(_SpectrogramLayer):
    """Apply a mel or log-frequency filterbank to the frequency axis of a spectrogram.

    Args:
        type: ``'mel'`` (:func:`kapre.backend.filterbank_mel`) or ``'log'`` (:func:`kapre.backend.filterbank_log`).
        filterbank_kwargs: the keyword arguments of that function, e.g. for ``'mel'``
            ``{'sample_rate': 22050, 'n_freq': 1025, 'n_mels': 128, 'f_min': 0.0, 'f_max': 8000, 'htk': False,
            'norm': 'slaney'}``; ``n_freq`` must equal the input's number of frequency bins.
        data_format: ``'channels_last'`` (``(batch, time, freq, channels)``), ``'channels_first'``
            (``(batch, channels, time, freq)``) or ``'default'``.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: ``(batch, time, n_freq, channels)`` or ``(batch, channels, time, n_freq)``.

    Output shape: ``(batch, time, n_filters, channels)`` or ``(batch, channels, time, n_filters)``, with
    ``n_filters`` = ``n_mels`` or ``n_bins``.

    Example:
        >>> import numpy as np, kapre
        >>> fb = kapre.ApplyFilterbank('mel', {'sample_rate': 22050, 'n_freq': 513, 'n_mels': 128},
        ...                            data_format='channels_last')
        >>> tuple(fb(np.ones((1, 3, 513, 1), 'float32')).shape)
        (1, 3, 128, 1)
    """

    frame_locality = FRAME
    _config_keys = ("data_format", "type", "filterbank_kwargs")
    _autocast_inputs = False  # the filterbank product runs in float32 under mixed precision

    def __init__(self, type, filterbank_kwargs, data_format="default", **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.type = V.check_choice("type", type, ("mel", "log"))
        if not isinstance(filterbank_kwargs, dict):
            raise TypeError(
                f"filterbank_kwargs must be a dict of filterbank arguments, received "
                f"filterbank_kwargs={filterbank_kwargs!r}."
            )
        self.filterbank_kwargs = dict(filterbank_kwargs)
        self._filterbank_values = build_filterbank(self.type, self.filterbank_kwargs)
        self._filterbank = None

    def build(self, input_shape):
        self._filterbank = _backend.constant(self._filterbank_values, self.transform_dtype)
        self.built = True

    def _check_input(self, shape, dtype=None):
        super()._check_input(shape, dtype)
        n_freq = shape[self._freq_axis]
        expected = self._filterbank_values.shape[0]
        if n_freq is not None and n_freq != expected:
            raise ValueError(
                f"ApplyFilterbank was built for n_freq={expected} frequency bins (axis {self._freq_axis}), received "
                f"an input of shape {tuple(shape)}. Set filterbank_kwargs['n_freq'] to n_fft // 2 + 1 of the STFT."
            )

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        shape = list(input_shape)
        shape[self._freq_axis] = self._filterbank_values.shape[1]
        return tuple(shape)

    def compute_output_spec(self, inputs):
        dtype = self.output_dtype(self.work_dtype_of(inputs.dtype))
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=dtype)

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        work_dtype = self.work_dtype_of(inputs.dtype)
        filterbank = self._filterbank
        if work_dtype != self.transform_dtype:
            filterbank = ops.cast(filterbank, work_dtype)
        result = functional.apply_filterbank(ops.cast(inputs, work_dtype), filterbank, self._freq_axis)
        return self.to_output_dtype(result, work_dtype)


@register
class Delta(_SpectrogramLayer):
    """Delta (local time derivative) of a spectrogram, kapre's formula.

    ``delta[t] = sum_{k=1..n} k * (x[t + k] - x[t - k]) / (2 * sum_{k=1..n} k**2)`` with
    ``n = (win_length - 1) // 2``, after padding the time axis by ``n`` frames with ``mode``. In the interior
    it equals ``librosa.feature.delta(x, width=win_length, axis=time)``.

    Args:
        win_length: odd number of frames (>= 3) the derivative is estimated over. Defaults to 5.
        mode: time-axis padding: ``'symmetric'`` (edge repeated), ``'reflect'`` or ``'constant'`` (zeros);
            case-insensitive.
        data_format: ``'channels_last'``, ``'channels_first'`` or ``'default'``.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: ``(batch, time, freq, channels)`` or ``(batch, channels, time, freq)``. Output shape: same.

    Example:
        >>> import numpy as np, kapre
        >>> x = np.array([1, 2, 3, 4], 'float32').reshape(1, 4, 1, 1)
        >>> np.asarray(kapre.Delta(win_length=3, data_format='channels_last')(x)).ravel().tolist()
        [0.5, 1.0, 1.0, 0.5]
    """

    def __init__(self, win_length=5, mode="symmetric", data_format="default", **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.win_length = V.check_delta_args(win_length, mode)
        self.mode = mode

    _config_keys = ("data_format", "win_length", "mode")

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        return tuple(input_shape)

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        return functional.delta(self._float_input(inputs), self.win_length, self.mode.lower(), self._time_axis)


@register
class ConcatenateFrequencyMap(_SpectrogramLayer):
    """Append a channel holding each bin's normalised frequency (0 at the lowest bin, 1 at the highest).

    With a following ``Conv2D`` this is a frequency-aware convolution (Koutini et al., DCASE 2019); see
    :func:`kapre.composed.get_frequency_aware_conv2d`. Works in the input's dtype (float16, float32, float64).

    Args:
        data_format: ``'channels_last'``, ``'channels_first'`` or ``'default'``.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: ``(batch, time, freq, channels)`` or ``(batch, channels, time, freq)``.

    Output shape: ``(batch, time, freq, channels + 1)`` or ``(batch, channels + 1, time, freq)``.

    Example:
        >>> import numpy as np, kapre
        >>> out = kapre.ConcatenateFrequencyMap(data_format='channels_last')(np.zeros((1, 2, 3, 1), 'float32'))
        >>> np.asarray(out)[0, 0, :, 1].tolist()
        [0.0, 0.5, 1.0]
    """

    frame_locality = FRAME

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        shape = list(input_shape)
        if shape[self._channel_axis] is not None:
            shape[self._channel_axis] += 1
        return tuple(shape)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self._float_dtype_of(inputs.dtype))

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        inputs = self._float_input(inputs)
        shape = ops.shape(inputs)
        n_freq = shape[self._freq_axis]
        freq_map = functional.frequency_map(n_freq, keras.backend.standardize_dtype(inputs.dtype))
        if self._format == V.CH_LAST:
            freq_map = ops.broadcast_to(ops.reshape(freq_map, (1, 1, -1, 1)), (shape[0], shape[1], n_freq, 1))
        else:
            freq_map = ops.broadcast_to(ops.reshape(freq_map, (1, 1, 1, -1)), (shape[0], 1, shape[2], n_freq))
        return ops.concatenate([inputs, freq_map], axis=self._channel_axis)

from kapre.legacy import Melspectrogram, Spectrogram  # noqa: E402, F401  (the 0.2-era API at its 0.2 path)
