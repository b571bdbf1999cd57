"""LiteRT (TFLite)-compatible STFT, magnitude and phase: the real and imaginary parts in a trailing axis of size 2.

LiteRT's builtin ops have no complex dtype and no FFT, so :class:`STFTTflite` computes the STFT with the DFT
engine (:func:`kapre.functional.stft_dft`: framing by reshape and slices, then one matrix product with a
cos/sin kernel that has the window folded in) and returns ``(..., 2)`` real tensors; :class:`MagnitudeTflite`
and :class:`PhaseTflite` take that layout. Unlike kapre 0.3.x the layers work with **any batch size** (kapre fixed
it to 1), ``PhaseTflite()`` works at its default (kapre crashed), and they run on every Keras backend and
save to ``.keras`` as ``Kapre>STFTTflite``, ``Kapre>MagnitudeTflite`` and ``Kapre>PhaseTflite``.

The numbers are those of :class:`kapre.STFT` (``STFTTflite(...)[..., 0] + 1j * STFTTflite(...)[..., 1]``
equals ``STFT(...)`` with the same arguments, within float32 rounding), so a model can be trained with ``STFT``
(either engine) and exported with ``STFTTflite``. kapre 0.3.x's ``STFTTflite`` centred a ``win_length < n_fft``
frame inside the ``n_fft`` DFT (so it differed from its own ``STFT`` by a phase ramp); here the window sits at
the start of the frame, as in ``STFT`` and ``tf.signal.stft``. Magnitudes are identical either way.

Converting to LiteRT (TensorFlow backend), builtin ops only::

    model.export("saved_model_dir", format="tf_saved_model")   # Keras 3: a SavedModel with a serving endpoint
    converter = tf.lite.TFLiteConverter.from_saved_model("saved_model_dir")
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]   # no SELECT_TF_OPS / Flex
    flatbuffer = converter.convert()

The exported SavedModel holds the layer weights (the DFT kernel, trained or not) as variables, which the
converter freezes into constants. ``tests/test_tflite.py`` checks this path with a kernel changed after
construction (so a kernel re-initialised or left unset would show): the LiteRT output equals Keras' (about 2e-5
absolute on magnitudes of order 10, about 4e-6 dB after decibel scaling) at batch sizes 1 and 3 (the batch
axis is dynamic; ``interpreter.resize_tensor_input`` then ``allocate_tensors``). ``TFLiteConverter
.from_keras_model(model)`` gave the same numbers with TensorFlow 2.21 and Keras 3.15. Avoid converting a
bare ``tf.function``'s concrete function without passing the model as ``trackable_obj``: nothing then keeps
the variables the graph reads alive and tied to their values.

Builtin-only: ``STFTTflite``, ``MagnitudeTflite``, ``PhaseTflite`` (both the exact default, which lowers to
LiteRT's builtin ``ATAN2``, and ``approx_atan_accuracy=n``, which uses only ``+ - * /`` and select),
``ApplyFilterbank`` and ``MagnitudeToDecibel``. The complex-valued layers (``STFT``, ``Magnitude``, ``Phase``,
``InverseSTFT``) are not: LiteRT builtins have no complex tensors and no FFT.
"""

from __future__ import annotations

import keras
from keras import ops

from kapre import _validation as V
from kapre import functional
from kapre.time_frequency import STFT, Magnitude, Phase

__all__ = ["STFTTflite", "MagnitudeTflite", "PhaseTflite"]

register = keras.saving.register_keras_serializable(package="Kapre")


def _check_parts_input(layer_name: str, shape, dtype=None) -> None:
    """A real ``(..., 2)`` tensor: the output of :class:`STFTTflite`."""
    if len(shape) < 1 or shape[-1] != 2:
        raise ValueError(
            f"{layer_name} expects a real input whose last axis (size 2) holds the real and imaginary parts, as "
            f"STFTTflite returns; received an input of shape {tuple(shape)}."
        )
    if dtype is not None:
        dtype = keras.backend.standardize_dtype(dtype)
        if dtype.startswith("complex"):
            raise TypeError(
                f"{layer_name} expects a real input with a trailing real/imag axis of size 2, received dtype "
                f"{dtype}. For a complex input use kapre.{layer_name.replace('Tflite', '')}."
            )


@register
class STFTTflite(STFT):
    """STFT with a trailing real/imaginary axis, on builtin LiteRT (TFLite) ops; any batch size.

    The DFT engine of :class:`kapre.STFT` (``engine='dft'``): the same frames, window and numbers, but the
    output is real, with the real and imaginary parts stacked in a last axis of size 2.

    Args:
        n_fft: DFT size in samples; any positive integer (not only powers of two). The output has
            ``n_fft // 2 + 1`` frequency bins.
        win_length: window length in samples, at most ``n_fft``. Defaults to ``n_fft``.
        hop_length: samples between successive frames. Defaults to ``win_length // 4``.
        window_name: the analysis window, as in :class:`kapre.STFT` (``None`` is the periodic Hann window).
        pad_begin: prepend ``max(0, n_fft - hop_length)`` zeros. Not with ``center``.
        pad_end: append zeros so that there are ``ceil(samples / hop_length)`` frames. Not with ``center``.
        input_data_format: ``'channels_last'`` for ``(batch, time, channels)`` waveforms,
            ``'channels_first'`` for ``(batch, channels, time)``, ``'default'`` for Keras' setting.
        output_data_format: ``'channels_last'`` for ``(batch, time, freq, channels, 2)`` output,
            ``'channels_first'`` for ``(batch, channels, time, freq, 2)``, ``'default'`` for Keras' setting.
        center: frame as ``librosa.stft(center=True)`` (see :class:`kapre.STFT`). Defaults to ``False``.
        pad_mode: padding used with ``center``: ``'constant'`` or ``'reflect'``.
        trainable_kernel: make the DFT kernel (a layer weight, ``dft_kernel``) trainable. Defaults to ``False``.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``, ...).

    Input shape:
        ``(batch, time, channels)`` if ``input_data_format='channels_last'``, ``(batch, channels, time)`` if
        ``'channels_first'``.

    Output shape:
        ``(batch, frames, n_fft // 2 + 1, channels, 2)`` if ``output_data_format='channels_last'``,
        ``(batch, channels, frames, n_fft // 2 + 1, 2)`` if ``'channels_first'``; ``[..., 0]`` is the real part,
        ``[..., 1]`` the imaginary part. ``float32`` (``float64`` for a ``float64`` layer; ``float32`` under
        mixed precision).

    Raises:
        ValueError: for a signal shorter than one frame without ``pad_end`` (as :class:`kapre.STFT`), or
            ``engine`` other than ``'dft'``.

    Example:
        >>> import numpy as np, kapre
        >>> stft = kapre.STFTTflite(n_fft=1024, hop_length=512, input_data_format='channels_last',
        ...                         output_data_format='channels_last')
        >>> tuple(stft(np.zeros((3, 2048, 1), 'float32')).shape)
        (3, 3, 513, 1, 2)
    """

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
        trainable_kernel=False,
        **kwargs,
    ):
        engine = kwargs.pop("engine", "dft")
        if engine != "dft":
            raise ValueError(
                f"STFTTflite always uses the DFT engine (LiteRT has no FFT); engine must be 'dft', received "
                f"engine={engine!r}. Use kapre.STFT for engine='fft'."
            )
        super().__init__(
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            window_name=window_name,
            pad_begin=pad_begin,
            pad_end=pad_end,
            input_data_format=input_data_format,
            output_data_format=output_data_format,
            center=center,
            pad_mode=pad_mode,
            engine="dft",
            trainable_kernel=trainable_kernel,
            **kwargs,
        )

    def compute_output_shape(self, input_shape):
        return (*super().compute_output_shape(input_shape), 2)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self.transform_dtype)

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        real, imag = self._spectrum_parts(inputs)  # each (batch, ch, time, freq)
        parts = ops.stack([real, imag], axis=-1)
        if self._output_format == V.CH_LAST:
            parts = ops.transpose(parts, (0, 2, 3, 1, 4))
        return parts

    def get_config(self):
        config = super().get_config()
        config.pop("engine")
        return config


def _work_dtype(dtype) -> str:
    dtype = keras.backend.standardize_dtype(dtype)
    return dtype if dtype in ("float32", "float64") else "float32"


class _PartsToRealMixin:
    """Shapes and dtypes of the layers that reduce a trailing real/imaginary axis ``(..., 2)`` to ``(...)``."""

    def compute_output_shape(self, input_shape):
        _check_parts_input(type(self).__name__, input_shape)
        return tuple(input_shape[:-1])

    def _output_dtype(self, input_dtype):
        return V.output_float_dtype(self.compute_dtype, _work_dtype(input_dtype))

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self._output_dtype(inputs.dtype))


@register
class MagnitudeTflite(_PartsToRealMixin, Magnitude):
    """Magnitude ``sqrt(re**2 + im**2)`` of a spectrum with a trailing real/imaginary axis (:class:`STFTTflite`).

    Builtin LiteRT ops only; the gradient is finite (0) where the spectrum is exactly 0.

    Input shape: ``(..., 2)``, real; e.g. ``(batch, time, freq, channels, 2)``.

    Output shape: ``(...)``, the input's shape without its last axis; e.g. ``(batch, time, freq, channels)``.

    Example:
        >>> import numpy as np, kapre
        >>> np.asarray(kapre.MagnitudeTflite()(np.array([[3.0, 4.0]], 'float32'))).tolist()
        [5.0]
    """

    def call(self, inputs):
        _check_parts_input("MagnitudeTflite", inputs.shape, inputs.dtype)
        parts = ops.cast(inputs, _work_dtype(inputs.dtype))
        return self._finish(functional.magnitude_from_parts(parts[..., 0], parts[..., 1]), parts.dtype)


@register
class PhaseTflite(_PartsToRealMixin, Phase):
    """Phase (radians, ``[-pi, pi]``) of a spectrum with a trailing real/imaginary axis (:class:`STFTTflite`).

    Args:
        approx_atan_accuracy: ``None`` (default): the exact ``atan2``; it converts to LiteRT's builtin
            ``ATAN2`` op. A positive integer: the continued-fraction arctan of
            :func:`kapre.functional.atan2_continued_fraction` (``+ - * /`` and select only, for LiteRT runtimes
            without ``ATAN2``; kapre 0.3.x's option). The argument is range-reduced first, so about 10 terms are
            exact in float32 and at most 40 terms are evaluated whatever the value (kapre suggested thousands).
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: ``(..., 2)``, real; e.g. ``(batch, time, freq, channels, 2)``.

    Output shape: the input's shape without its last axis.

    Example:
        >>> import numpy as np, kapre
        >>> [round(float(v), 4) for v in np.asarray(kapre.PhaseTflite()(np.array([[0.0, 1.0]], 'float32')))]
        [1.5708]
    """

    def call(self, inputs):
        _check_parts_input("PhaseTflite", inputs.shape, inputs.dtype)
        parts = ops.cast(inputs, _work_dtype(inputs.dtype))
        real, imag = parts[..., 0], parts[..., 1]
        if self.approx_atan_accuracy:
            angle = functional.atan2_continued_fraction(imag, real, self.approx_atan_accuracy)
        else:
            angle = functional.safe_angle(real, imag)  # zero gradient at exactly-zero bins
        return self._finish(angle, parts.dtype)
