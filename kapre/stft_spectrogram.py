"""``kapre.STFTSpectrogram``: the arguments, shapes and numbers of ``keras.layers.STFTSpectrogram`` on kapre's
DFT engine.

Keras computes its spectrogram with two strided convolutions (one for the real, one for the imaginary part);
kapre frames the signal once and multiplies the frames by one ``[real | imag]`` kernel
(:func:`kapre.functional.stft_dft`). The kernels are the layer's weights, with Keras' names and shapes
(``real_kernel``, ``imag_kernel``, each ``(frame_length, 1, fft_length // 2 + 1)``), so weights move between the
two layers with ``get_weights`` / ``set_weights``.

Where this layer differs from Keras' (each difference makes kapre's numbers the correct ones):

* **Odd ``fft_length``.** Keras builds its kernels for a DFT of ``2 * (fft_length // 2)`` points, i.e.
  ``fft_length - 1`` when ``fft_length`` is odd, so every bin but DC sits at the wrong frequency. kapre uses
  ``fft_length`` points: its output is ``numpy.fft.rfft(windowed_frame, fft_length)``. In ``'psd'`` mode an odd
  ``fft_length`` has no Nyquist bin, so kapre doubles every bin but DC (Keras leaves the last one single).
* **Kernel precision.** Keras evaluates ``cos(2 pi t k / N)`` with the angle rounded in float32, a phase error
  of up to about ``frame_length * 6e-8`` radians (about 1.5e-5 of the output scale at ``frame_length=256``,
  9e-5 at 2048). kapre builds its kernels in float64 with ``t * k`` reduced modulo ``N`` first, so they are
  exact to float32 rounding.
* **Gradients.** The gradient of ``'angle'`` is 0, not NaN, where the spectrum is exactly zero.
* **Arguments.** Every argument is validated in ``__init__`` (type and range, with the argument's name and
  received value in the message), including those Keras accepts and then fails on at build or call time
  (a window array of the wrong length or with a zero norm, ``frame_length=1``, floats where integers are
  expected). ``window`` accepts every ``scipy.signal.get_window`` name
  (:data:`kapre.constants.SCIPY_WINDOW_NAMES` and their aliases), built in NumPy, also with parameters as a tuple
  (``('kaiser', 8.6)``, which Keras' layer rejects), ``None`` and 1-D arrays. A non-power-of-two ``fft_length``
  is not warned about: the DFT engine costs the same for every size.
* **Mixed precision.** Under ``mixed_float16`` / ``mixed_bfloat16`` the transform runs in float32 and the
  result is cast to the policy's dtype (Keras convolves in half precision).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from kapre import _backend, constants, functional
from kapre import _validation as V
from kapre._layer import WAVEFORM, ArrayInitializer, KapreLayer

__all__ = ["STFTSpectrogram"]

register = keras.saving.register_keras_serializable(package="Kapre")

MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")
SCALINGS = (None, "density", "spectrum")
PADDINGS = ("valid", "same")
KERAS_DATA_FORMATS = (None, "channels_last", "channels_first")


def _check_window(window, frame_length: int):
    """A scipy window name (a str, or a tuple ``(name, *parameters)`` as ``scipy.signal.get_window`` takes),
    ``None`` or a 1-D array of ``frame_length`` finite values (kept as a list)."""
    if window is None:
        return None
    if isinstance(window, str) or (isinstance(window, (list, tuple)) and window and isinstance(window[0], str)):
        # kapre's tf.signal names ('hann_window', ...) are not Keras' and ignore periodic: not taken here.
        if isinstance(window, str) and window in constants.KAPRE_WINDOW_NAMES:
            raise ValueError(
                f"window must be None, a scipy.signal.get_window name {list(constants.SCIPY_WINDOW_NAMES)} (with "
                f"its parameters as a tuple, e.g. ('kaiser', 8.6)) or a 1-D array of frame_length values, received "
                f"window={window!r}."
            )
        try:
            constants.resolve_window_name(window)
        except ValueError as error:
            raise ValueError(f"window must be a known window, received window={window!r}: {error}") from None
        # A JSON round trip turns a (name, *parameters) tuple into a list: hold it as the tuple it was.
        return window if isinstance(window, str) else tuple(window)
    if isinstance(window, (list, tuple, np.ndarray)) or hasattr(window, "__array__"):
        try:
            if not isinstance(window, (list, tuple, np.ndarray)):
                window = ops.convert_to_numpy(window)
            values = np.asarray(window, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"window must hold real numbers, received window={window!r}.") from error
        if values.ndim != 1 or values.shape[0] != frame_length:
            raise ValueError(
                f"A window array must be 1-D with frame_length={frame_length} values, received an array of shape "
                f"{values.shape}."
            )
        if not np.all(np.isfinite(values)) or np.abs(values).max() > np.finfo(np.float32).max:
            raise ValueError(
                "window must hold finite values within float32's range (|w| <= 3.4e38); it holds NaN, infinity or "
                "larger values."
            )
        return values.tolist()
    raise TypeError(
        f"window must be None, a window name (str) or a 1-D array of frame_length values, received window={window!r} "
        f"of type {type(window).__name__}."
    )


def _keras_data_format(value):
    if value is None:
        return keras.config.image_data_format()
    if not isinstance(value, str) or value.lower() not in KERAS_DATA_FORMATS[1:]:
        raise ValueError(
            f"data_format must be None, 'channels_last' or 'channels_first', received data_format={value!r}."
        )
    return value.lower()


def stft_spectrogram_kernels(
    frame_length: int, fft_length: int, window, periodic: bool, scaling: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """The real and imaginary kernels, each ``(frame_length, fft_length // 2 + 1)``, float64.

    ``frames @ real + 1j * (frames @ imag)`` is ``numpy.fft.rfft(frames * w, fft_length)`` where ``w`` is the
    window divided by its L2 norm (``scaling='density'``) or its L1 norm (``'spectrum'``); no window means a
    rectangular one and no scaling, as in Keras.
    """
    if window is None:
        values = np.ones(frame_length)
    else:
        values = constants.get_window(window, frame_length, periodic=periodic)
        if scaling == "density":
            norm = np.sqrt(np.sum(values**2))
        elif scaling == "spectrum":
            norm = np.sum(np.abs(values))
        else:
            norm = 1.0
        if norm == 0.0:
            raise ValueError(
                f"scaling={scaling!r} divides the window by its norm, which is 0 for this window. Use a non-zero "
                "window or scaling=None."
            )
        values = values / norm
    real, imag = constants.dft_kernels(fft_length, values)
    return real[:frame_length], imag[:frame_length]


@register
class STFTSpectrogram(KapreLayer):
    """Spectrogram of a batch of (multichannel) 1-D signals, with ``keras.layers.STFTSpectrogram``'s arguments.

    Frames of ``frame_length`` samples are taken every ``frame_step`` samples, multiplied by the window (scaled as
    ``scaling`` says) and zero-padded on the right to ``fft_length`` before the DFT: frame ``t`` of the ``'stft'``
    output is ``numpy.fft.rfft(x[t * frame_step:][:frame_length] * w, fft_length)``. The DFT is one matrix
    product with the kernels ``real_kernel`` and ``imag_kernel`` (weights, trainable unless the layer is created
    with ``trainable=False``), so it runs on every backend, for any ``fft_length``, and can be fine-tuned.
    See the module docstring for where this layer differs from Keras' (odd ``fft_length``, kernel precision,
    gradients, validation).

    Args:
        mode: the output: ``'log'`` (``log(magnitude)``, the default), ``'magnitude'``
            (``sqrt(max(re**2 + im**2, epsilon))`` with ``epsilon = keras.config.epsilon()``), ``'psd'``
            (the one-sided power ``re**2 + im**2``, every bin doubled except DC and Nyquist), ``'real'``,
            ``'imag'``, ``'angle'`` (``arctan2(im, re)``) or ``'stft'`` (real bins then imaginary bins).
        frame_length: samples per frame (the window length). Defaults to 256.
        frame_step: samples between successive frames, from 1 to ``frame_length``. Defaults to
            ``frame_length // 2`` (at least 1).
        fft_length: DFT size, at least ``frame_length``; any size works. The output has ``fft_length // 2 + 1``
            frequency bins. Defaults to the smallest power of two ``>= frame_length``.
        window: ``'hann'`` (default) or any other ``scipy.signal.get_window`` name (``'hamming'``,
            ``'blackman'``, ``'tukey'``, ...), with its parameters as a tuple (``('kaiser', 8.6)``,
            ``('gaussian', 7.0)``), computed in NumPy as scipy does; ``None`` (rectangular and unscaled); or a 1-D
            array of ``frame_length`` values.
        periodic: ``True`` for the periodic ("DFT-even") window, ``False`` (default) for the symmetric one.
        scaling: ``'density'`` (default: the window is divided by its L2 norm), ``'spectrum'`` (by its L1 norm)
            or ``None``. Not applied when ``window=None``.
        padding: ``'valid'`` (default): ``1 + (time - frame_length) // frame_step`` frames, the first starting at
            sample 0. ``'same'``: ``ceil(time / frame_step)`` frames; the signal is zero-padded by
            ``p = frame_length - 1 - (time - 1) % frame_step`` samples, ``p // 2`` before and the rest after
            (the ``'same'`` padding of a strided convolution).
        expand_dims: ``True`` keeps frequency and channels as separate axes (an image-like 4-D output);
            ``False`` (default) merges them into one axis, channel-major.
        data_format: ``'channels_last'`` (``(batch, time, channels)`` input) or ``'channels_first'``
            (``(batch, channels, time)``); ``None`` means ``keras.config.image_data_format()``, and the resolved
            value is what ``get_config`` stores.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``, ``trainable``, ...).

    Input shape:
        A float 3-D tensor ``(batch, time, channels)`` if ``data_format='channels_last'``, ``(batch, channels,
        time)`` if ``'channels_first'``. Every channel is transformed with the same kernels. Integer inputs are
        refused (cast them to float first), as in Keras.

    Output shape:
        With ``F = fft_length // 2 + 1`` (``2 * F`` in ``'stft'`` mode) and ``frames`` as under ``padding``:

        - ``channels_last``, ``expand_dims=False``: ``(batch, frames, channels * F)``
        - ``channels_first``, ``expand_dims=False``: ``(batch, channels * F, frames)``
        - ``channels_last``, ``expand_dims=True``: ``(batch, frames, F, channels)``
        - ``channels_first``, ``expand_dims=True``: ``(batch, channels, frames, F)``

        In the merged axis, index ``c * F + f`` is bin ``f`` of channel ``c``. The dtype is the layer's compute
        dtype.

    Raises:
        ValueError: for an invalid argument, an input that is not 3-D, or (``padding='valid'``) a signal shorter
            than one frame.
        TypeError: for an argument of the wrong type, or an input that is not float.

    Example:
        >>> import numpy as np, kapre
        >>> layer = kapre.STFTSpectrogram(mode='log', frame_length=256, frame_step=128, fft_length=512,
        ...                               window='hann', padding='valid', data_format='channels_last')
        >>> tuple(layer(np.zeros((3, 16000, 1), 'float32')).shape)
        (3, 124, 257)
        >>> layer = kapre.STFTSpectrogram(frame_length=256, frame_step=128, padding='same', expand_dims=True,
        ...                               data_format='channels_last', trainable=False)
        >>> tuple(layer(np.zeros((3, 16000, 2), 'float32')).shape)
        (3, 125, 129, 2)
    """

    @property
    def frame_locality(self):
        """``'waveform'`` with ``padding='valid'``; ``'same'`` pads the start by an amount that depends on the
        length, so appended samples move every frame."""
        return WAVEFORM if self.padding == "valid" else None

    def __init__(
        self,
        mode="log",
        frame_length=256,
        frame_step=None,
        fft_length=None,
        window="hann",
        periodic=False,
        scaling="density",
        padding="valid",
        expand_dims=False,
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.mode = V.check_choice("mode", mode, MODES)
        self.frame_length = V.check_int("frame_length", frame_length, minimum=1, maximum=V.MAX_DFT_LENGTH)
        self.frame_step = V.check_int("frame_step", frame_step, minimum=1, allow_none=True, maximum=V.MAX_SAMPLES)
        if self.frame_step is not None and self.frame_step > self.frame_length:
            raise ValueError(
                f"frame_step must be <= frame_length={self.frame_length} (frames would skip samples), received "
                f"frame_step={frame_step!r}."
            )
        self.fft_length = V.check_int("fft_length", fft_length, minimum=1, allow_none=True, maximum=V.MAX_DFT_LENGTH)
        if self.fft_length is not None and self.fft_length < self.frame_length:
            raise ValueError(
                f"fft_length must be >= frame_length={self.frame_length}, received fft_length={fft_length!r}."
            )
        self.window = _check_window(window, self.frame_length)
        self.periodic = V.check_bool("periodic", periodic)
        if scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {list(SCALINGS)}, received scaling={scaling!r}.")
        self.scaling = scaling
        self.padding = V.check_choice("padding", padding, PADDINGS)
        self.expand_dims = V.check_bool("expand_dims", expand_dims)
        self.data_format = _keras_data_format(data_format)

        self._frame_step = self.frame_step or max(1, self.frame_length // 2)
        self._fft_length = self.fft_length or 2 ** math.ceil(math.log2(self.frame_length))
        self._n_freq = self._fft_length // 2 + 1
        self._real_values, self._imag_values = stft_spectrogram_kernels(
            self.frame_length, self._fft_length, self.window, self.periodic, self.scaling
        )
        # One-sided power: double every bin that stands for a pair of conjugate bins (all but DC and Nyquist).
        doubling = np.full(self._n_freq, 2.0)
        doubling[0] = 1.0
        if self._fft_length % 2 == 0:
            doubling[-1] = 1.0
        self._psd_doubling = doubling
        self._output_dtype = V.output_float_dtype(self.compute_dtype, self.transform_dtype)

    def build(self, input_shape):
        self._check_input(input_shape)
        shape = (self.frame_length, 1, self._n_freq)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(
                name="real_kernel", shape=shape, initializer=ArrayInitializer(self._real_values[:, None, :])
            )
        if self.mode != "real":
            self.imag_kernel = self.add_weight(
                name="imag_kernel", shape=shape, initializer=ArrayInitializer(self._imag_values[:, None, :])
            )
        # The one-sided PSD's bin weights, converted once (not on every call).
        self._psd_weights = _backend.constant(self._psd_doubling, self.transform_dtype) if self.mode == "psd" else None
        self.built = True

    # -- shapes -----------------------------------------------------------------------------------------------

    def _num_frames(self, length):
        if length is None:
            return None
        if self.padding == "same":
            return -(-length // self._frame_step)
        return 1 + (length - self.frame_length) // self._frame_step

    def _check_input(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) != 3:
            layout = "(batch, time, channels)" if self.data_format == V.CH_LAST else "(batch, channels, time)"
            raise ValueError(
                f"STFTSpectrogram expects a 3-D input {layout} (data_format={self.data_format!r}), received an "
                f"input of shape {shape}."
            )
        if dtype is not None:
            dtype = keras.backend.standardize_dtype(dtype)
            if dtype not in ("float16", "bfloat16", "float32", "float64"):
                raise TypeError(
                    f"STFTSpectrogram expects a float input, received an input of dtype {dtype}. Cast it to "
                    "float32 first."
                )
        length = shape[1] if self.data_format == V.CH_LAST else shape[2]
        channels = shape[2] if self.data_format == V.CH_LAST else shape[1]
        if channels == 0:
            layout = "samples, channels" if self.data_format == V.CH_LAST else "channels, samples"
            raise ValueError(
                f"STFTSpectrogram received an input with no channels (input shape {shape}, data_format="
                f"{self.data_format!r}: (batch, {layout}))."
            )
        if length is None:
            return
        if length < 1:
            raise ValueError(f"STFTSpectrogram received an empty signal (input shape {shape}).")
        if self.padding == "valid" and length < self.frame_length:
            raise ValueError(
                f"STFTSpectrogram received a signal of {length} samples (input shape {shape}), shorter than one "
                f"frame (frame_length={self.frame_length}) with padding='valid'. Use padding='same', a shorter "
                "frame_length, or a longer signal."
            )

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        if self.data_format == V.CH_LAST:
            batch, length, channels = input_shape
        else:
            batch, channels, length = input_shape
        frames = self._num_frames(length)
        n_freq = 2 * self._n_freq if self.mode == "stft" else self._n_freq
        if self.expand_dims:
            if self.data_format == V.CH_LAST:
                return (batch, frames, n_freq, channels)
            return (batch, channels, frames, n_freq)
        merged = None if channels is None else channels * n_freq
        if self.data_format == V.CH_LAST:
            return (batch, frames, merged)
        return (batch, merged, frames)

    def compute_output_spec(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self._output_dtype)

    # -- computation ------------------------------------------------------------------------------------------

    def _pad_same(self, signals):
        """Zero-pad the time axis (last) as a strided 'same' convolution does."""
        length = ops.shape(signals)[-1]
        k, step = self.frame_length, self._frame_step
        if isinstance(length, int):
            total = k - 1 - (length - 1) % step
            return functional.pad_along_axis(signals, total // 2, total - total // 2)
        # Unknown length inside a TensorFlow graph: pad the most that can be needed, then slice.
        total = k - 1 - (length - 1) % step
        start = (k - 1) - total // 2
        padded = functional.pad_along_axis(signals, k - 1, k - 1)
        return padded[..., start : start + length + total]

    def _frames(self, signals):
        if self.padding == "same":
            signals = self._pad_same(signals)
        return functional.frame(signals, self.frame_length, self._frame_step)

    def _kernel(self, variable):
        return ops.cast(variable, self.transform_dtype)[:, 0, :]

    def _spectrum(self, signals):
        """``(real, imag)`` of ``(batch, channels, frames, n_freq)`` signals; one of them None in 'real'/'imag'."""
        if self.mode == "real":
            return _backend.matmul(self._frames(signals), self._kernel(self.real_kernel)), None
        if self.mode == "imag":
            return None, _backend.matmul(self._frames(signals), self._kernel(self.imag_kernel))
        kernel = ops.concatenate([self._kernel(self.real_kernel), self._kernel(self.imag_kernel)], axis=-1)
        if self.padding == "same":
            signals = self._pad_same(signals)
        return functional.stft_dft(signals, self._fft_length, self._frame_step, kernel)

    def _layout(self, outputs):
        """``(batch, channels, frames, F)`` to the output layout of ``data_format`` and ``expand_dims``."""
        if self.expand_dims:
            return ops.transpose(outputs, (0, 2, 3, 1)) if self.data_format == V.CH_LAST else outputs
        shape = ops.shape(outputs)
        channels, frames, n_freq = shape[1], shape[2], shape[3]
        if self.data_format == V.CH_LAST:
            return ops.reshape(ops.transpose(outputs, (0, 2, 1, 3)), (-1, frames, channels * n_freq))
        return ops.reshape(ops.transpose(outputs, (0, 1, 3, 2)), (-1, channels * n_freq, frames))

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        signals = ops.cast(inputs, self.transform_dtype)
        if self.data_format == V.CH_LAST:
            signals = ops.transpose(signals, (0, 2, 1))  # (batch, channels, time)
        real, imag = self._spectrum(signals)
        if self.mode == "real":
            outputs = real
        elif self.mode == "imag":
            outputs = imag
        elif self.mode == "stft":
            outputs = ops.concatenate([real, imag], axis=-1)
        elif self.mode == "angle":
            outputs = functional.safe_angle(real, imag)
        else:
            power = ops.square(real) + ops.square(imag)
            if self.mode == "psd":
                outputs = power * self._psd_weights
            else:
                epsilon = keras.config.epsilon()
                outputs = ops.sqrt(_floor(power, epsilon))
                if self.mode == "log":
                    outputs = ops.log(_floor(outputs, epsilon))
        outputs = self._layout(outputs)
        if self._output_dtype != self.transform_dtype:
            outputs = ops.cast(outputs, self._output_dtype)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "mode": self.mode,
                "frame_length": self.frame_length,
                "frame_step": self.frame_step,
                "fft_length": self.fft_length,
                "window": self.window,
                "periodic": self.periodic,
                "scaling": self.scaling,
                "padding": self.padding,
                "data_format": self.data_format,
                "expand_dims": self.expand_dims,
            }
        )
        return config


def _floor(x, floor: float):
    """``maximum(x, floor)`` in ``x``'s dtype (Keras' PyTorch ``maximum`` returns float32 for float64 input)."""
    return ops.where(x > floor, x, floor)

