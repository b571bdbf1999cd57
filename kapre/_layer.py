"""The small base of kapre's layers: dtypes under mixed precision, rank checks, config keys, frame locality."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kapre import _backend
from kapre import _validation as V
from kapre._backend import data_pipeline
from kapre.params import serializable_window

# What a layer's output over time depends on, for batching clips of different lengths (kapre.extraction pads them
# with zeros to a common length, then trims each output to the clip's own frames):
FRAME = "frame"  # output frame t depends only on input frame t
WAVEFORM = "waveform"  # waveform in, frames out; a frame depends only on the samples it covers, so appended zeros
#                        change no frame that lies within the signal (a per-example dB floor included: frames of
#                        zeros sit at the minimum and never raise the maximum)
EXAMPLE_MAX = "example_max"  # elementwise given each example's maximum over its input, which frames zeroed
#                              before the layer do not raise (they sit at the layer's floor)
FRAME_LOCALITIES = (FRAME, WAVEFORM, EXAMPLE_MAX, None)


class ArrayInitializer(keras.initializers.Initializer):
    """Initial weight values computed in NumPy (float64), converted to the weight's dtype by
    :func:`kapre._backend.initial_value`: outside any trace on JAX (a layer first built inside the user's
    ``jax.jit`` holds no tracer), a constant op of the current graph inside a TensorFlow graph (a ``tf.data`` map:
    TensorFlow cannot lift an eager constant captured there). Not serialized: the weights are saved with the
    model."""

    def __init__(self, values: np.ndarray):
        self.values = np.asarray(values)

    def __call__(self, shape, dtype=None):
        if tuple(shape) != self.values.shape:
            raise ValueError(f"Weight shape {tuple(shape)} does not match the computed {self.values.shape}.")
        return _backend.initial_value(self.values, keras.backend.standardize_dtype(dtype or keras.config.floatx()))


class KapreLayer(keras.layers.Layer):
    """Base of kapre's layers.

    - ``frame_locality`` (class attribute or property): one of :data:`FRAME_LOCALITIES`; ``None`` (the default)
      promises nothing.
    - ``_config_keys``: the constructor arguments :meth:`get_config` returns, read from attributes of the same
      name holding the user's values verbatim (a NumPy array, e.g. a window, becomes a list).
    - dtypes: inputs are cast in ``call`` (``autocast`` off unless ``_autocast_inputs``); transforms compute in
      :attr:`transform_dtype` (float64 for a float64 layer, else float32, also under ``mixed_float16`` /
      ``mixed_bfloat16``) and hand back :meth:`output_dtype` (the policy's dtype under mixed precision).
    """

    frame_locality: str | None = None
    _config_keys: tuple[str, ...] = ()
    # False: the layer casts its inputs itself (a transform computes in float32 under mixed precision); True: Keras
    # casts float inputs to the policy's compute dtype, as for its own layers (Delta, ConcatenateFrequencyMap)
    _autocast_inputs = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.autocast = self._autocast_inputs

    def __call__(self, *args, **kwargs):
        # a symbolic tf.Tensor (a tf.data map) under JAX / PyTorch: bridged by tf.numpy_function (kapre.pipeline)
        if _backend.NAME != "tensorflow" and args and data_pipeline.is_graph_tensor(args[0]):
            return data_pipeline.call_layer_in_tf_graph(self, *args, **kwargs)
        if not args:
            return super().__call__(*args, **kwargs)
        # the input where the layer's constants are (PyTorch: a CPU tensor on a GPU machine), and float32 work in
        # float32 on a GPU (not TF32): librosa's numbers on every device
        inputs = _backend.place_input(args[0])
        with _backend.float32_precision(inputs):
            return super().__call__(inputs, *args[1:], **kwargs)

    @property
    def transform_dtype(self) -> str:
        """The float dtype the layer's transform runs in."""
        return V.fft_dtype(self.compute_dtype)

    @staticmethod
    def work_dtype_of(input_dtype) -> str:
        """An input's own precision for elementwise work: float32 or float64 kept, anything else float32."""
        dtype = V.real_dtype_of(input_dtype)
        return dtype if dtype in ("float32", "float64") else "float32"

    def output_dtype(self, computed_dtype) -> str:
        """The dtype handed back for a result computed in ``computed_dtype`` (complex: its real dtype)."""
        return V.output_float_dtype(self.compute_dtype, V.real_dtype_of(computed_dtype))

    def to_output_dtype(self, values, computed_dtype):
        """``values`` cast to :meth:`output_dtype` when that differs from what it holds."""
        target = self.output_dtype(computed_dtype)
        return values if keras.backend.standardize_dtype(values.dtype) == target else ops.cast(values, target)

    # -- waveform in, (frames, features) out, in the layouts self._input_format / self._output_format ----------

    def waveform_dims(self, input_shape) -> tuple:
        """``(batch, length, channels)`` of a waveform input shape in the layer's input format."""
        if self._input_format == V.CH_LAST:
            batch, length, channels = input_shape
        else:
            batch, channels, length = input_shape
        return batch, length, channels

    def framed_shape(self, batch, frames, n_features, channels) -> tuple:
        """The output shape ``(batch, frames, n_features, channels)`` or ``(batch, channels, frames, n_features)``."""
        if self._output_format == V.CH_LAST:
            return (batch, frames, n_features, channels)
        return (batch, channels, frames, n_features)

    def channels_first_waveforms(self, inputs):
        """``inputs`` in the transform dtype as ``(batch, channels, time)``."""
        waveforms = ops.cast(inputs, self.transform_dtype)
        if self._input_format != V.CH_LAST:
            return waveforms
        if inputs.shape[2] == 1:  # a reshape is free, a transpose is a copy
            return ops.expand_dims(ops.squeeze(waveforms, axis=2), 1)
        return ops.transpose(waveforms, (0, 2, 1))

    def framed_output(self, features):
        """``(batch, channels, frames, n_features)`` in the layer's output format."""
        if self._output_format != V.CH_LAST:
            return features
        if features.shape[1] == 1:
            return ops.expand_dims(ops.squeeze(features, axis=1), -1)
        return ops.transpose(features, (0, 2, 3, 1))

    def check_rank(self, shape, rank: int, layout: str) -> None:
        """A ``ValueError`` naming the layer, the expected layout and the received shape."""
        V.check_input_rank(type(self).__name__, shape, rank, layout)

    def get_config(self):
        config = super().get_config()
        for key in self._config_keys:
            value = getattr(self, key)
            if key.endswith(("window", "window_name")):
                value = serializable_window(value)
            config[key] = value.tolist() if isinstance(value, np.ndarray) else value
        return config
