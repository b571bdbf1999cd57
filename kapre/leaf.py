"""``kapre.LEAF``: the learnable audio front-end (Zeghidour et al., ICLR 2021).

LEAF (``leaf_audio.frontend.Leaf``, google-research/leaf-audio) filters the waveform with complex Gabor filters
initialised on the mel scale, takes the squared modulus, low-passes and decimates each band with its own Gaussian
window, and compresses with a trainable per-channel energy normalisation (sPCEN): every stage is trainable. This
layer computes LEAF's defaults and its arithmetic (the filters' taps, ``'same'`` paddings and constraints as its
TensorFlow code has them) on every Keras backend.

The 401-tap filtering, a direct convolution of 80 real channels at stride 1 in LEAF and speechbrain (16 GFLOP for
a batch of 32 one-second clips), runs here in the frequency domain (:func:`kapre.functional.gabor_filterbank_power`:
one FFT of the batch, two inverse FFTs per filter, exact to rounding), and the Gaussian pooling as one matrix
product of stride-sized blocks (:func:`kapre.functional.gaussian_pooling`).
"""

from __future__ import annotations

import keras
from keras import ops

from kapre import _backend, functional
from kapre import _validation as V
from kapre._layer import ArrayInitializer, KapreLayer
from kapre.params import Leaf

__all__ = ["LEAF"]

# sPCEN's initial values in LEAF (leaf_audio.frontend.Leaf's compression_fn)
LEAF_PCEN = dict(gain=0.96, bias=2.0, power=0.5, smooth_coef=0.04, eps=1e-12)
LOG_OFFSET = 1e-5  # LEAF's log compression: log(x + 1e-5) (frontend.log_compression)
CHUNK_VALUES = 1 << 21  # the filtering holds at most this many spectrum values per chunk of rows (16 MiB complex64)


class _GaborConstraint(keras.constraints.Constraint):
    """LEAF's ``GaborConstraint`` as a weight constraint (applied by the optimizer after each update, as in LEAF):
    centre frequencies in ``[0, pi]``, standard deviations within :func:`kapre.constants.gabor_sigma_bounds`."""

    def __init__(self, kernel_size: int):
        self.kernel_size = kernel_size

    def __call__(self, w):
        centers, sigmas = functional.gabor_constraint(w, self.kernel_size)
        return ops.stack([centers, sigmas], axis=1)

    def get_config(self):
        return {"kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="Kapre")
class LEAF(KapreLayer):
    """LEAF, the learnable audio front-end: waveforms in, ``n_filters`` trainable bands every ``window_stride`` ms out.

    As ``leaf_audio.frontend.Leaf`` with its defaults (no pre-emphasis, no instance normalisation, no
    SpecAugment):

    1. **Gabor filterbank**: ``n_filters`` complex filters ``h[t] = exp(-t**2 / (2 sigma**2)) exp(i mu t) / (sqrt(2
       pi) sigma)``, ``window_len`` ms long (``kernel_size = int(sample_rate * window_len // 1000 + 1)`` taps, 401
       at 16 kHz and 25 ms), correlated with the signal at every sample (``'same'`` padding). Their parameters are
       the weight ``gabor_kernel`` ``(n_filters, 2)``: the centre frequency ``mu`` in radians per sample and the
       envelope's standard deviation ``sigma`` in samples, initialised to match a 512-point HTK mel filterbank
       from ``min_freq`` to ``max_freq`` (LEAF's ``GaborInit``; the defaults' centres lie on that filterbank's
       bins, from 94 to 7,313 Hz, and ``sigma`` narrows from 96 to 8.3 samples) and kept, in the forward pass
       and by the optimizer after each step (LEAF's ``GaborConstraint``), within ``mu`` in ``[0, pi]`` and
       ``sigma`` in ``[1.50, kernel_size * 0.375]`` samples (a half-power bandwidth from pi / 2 down to one bin
       of ``kernel_size``).
    2. **Squared modulus** ``|y|**2`` of each filter's output.
    3. **Gaussian pooling**: each band low-passed by its own Gaussian window of ``kernel_size`` taps, ``exp(-0.5 ((t
       - (K - 1) / 2) / (w (K - 1) / 2))**2)``, and kept every ``window_stride`` ms (``int(sample_rate *
       window_stride // 1000)`` samples, 160 at 16 kHz) with TensorFlow's ``'same'`` padding. The widths ``w``
       are the weight ``pooling_widths`` ``(n_filters,)``, initialised to ``pooling_init`` (0.4: close to a
       Hann window) and clipped to ``[2 / K, 0.5]`` in the forward pass (LEAF's). The result is floored at 1e-5.
    4. **Compression**: ``'pcen'`` (default), LEAF's sPCEN, a :class:`kapre.PCEN` sublayer with
       ``learnable=True, per_band=True``: trainable ``alpha`` (0.96), ``delta`` (2.0), ``root`` (2.0) and
       smoothing coefficient (0.04) per band, floor ``eps`` 1e-12, the smoother starting at the first frame;
       ``'log'``: ``log(x + 1e-5)`` (LEAF's ``log_compression``, no weights); ``None``: the pooled energies.

    Unlike LEAF's code, the filters are initialised for the layer's ``sample_rate`` (LEAF's ``GaborInit`` assumes
    16 kHz whatever its ``sample_rate``). The filtering is computed with FFTs (exact to rounding: a float32 layer is
    within 1e-5 relative of LEAF's direct convolution) and is differentiable with respect to every weight.

    Args:
        n_filters: the number of Gabor filters (output bands). Default 40.
        sample_rate: the input's sampling rate in Hz. Default 16,000.
        window_len: the filters' and pooling windows' length in milliseconds. Default 25 (401 taps at 16 kHz).
        window_stride: the pooling's stride in milliseconds, the output's frame period. Default 10 (160 samples).
        min_freq, max_freq: the range in Hz of the mel filterbank the filters are initialised from. Defaults 60
            and 7,800 Hz (``max_freq`` at most ``sample_rate / 2``).
        pooling_init: the pooling windows' initial width (standard deviation as a fraction of half the window), in
            ``(0, 0.5]``. Default 0.4.
        compression: ``'pcen'`` (default), ``'log'`` or ``None``, as above.
        input_data_format: ``'channels_last'`` for ``(batch, time, channels)``, ``'channels_first'`` for
            ``(batch, channels, time)``, ``'default'`` for Keras' setting.
        output_data_format: ``'channels_last'`` for ``(batch, frames, n_filters, channels)``, ``'channels_first'``
            for ``(batch, channels, frames, n_filters)``, ``'default'`` for Keras' setting.
        **kwargs: base ``keras.layers.Layer`` arguments (``dtype='float64'`` computes in float64).

    Input shape:
        ``(batch, time, channels)`` (channels_last) or ``(batch, channels, time)`` (channels_first); each channel is
        filtered on its own with the same weights (LEAF takes one channel). At least one sample.

    Output shape:
        ``(batch, frames, n_filters, channels)`` (channels_last) or ``(batch, channels, frames, n_filters)``
        (channels_first), ``frames = ceil(time / stride)`` (100 for 1 s at 16 kHz).

    Computed in float32 (float64 for a float64 layer; float32 under mixed precision, returned in the policy's
    dtype). The pooling's ``'same'`` padding puts ``(frames - 1) * stride + kernel_size - time`` zeros around the
    signal, the smaller half first: it depends on the length, so zeros appended to a clip move every frame
    (``frame_locality`` is ``None``).

    Example:
        >>> import numpy as np, kapre
        >>> leaf = kapre.LEAF(input_data_format='channels_last', output_data_format='channels_last')
        >>> noise = np.random.default_rng(0).standard_normal((2, 16000, 1)).astype('float32')  # 1 s at 16 kHz
        >>> tuple(leaf(noise).shape)
        (2, 100, 40, 1)
        >>> [w.path.split('/', 1)[1] for w in leaf.trainable_weights]
        ['gabor_kernel', 'pooling_widths', 'pcen/alpha', 'pcen/delta', 'pcen/root', 'pcen/smooth']
    """

    frame_locality = None  # the pooling's 'same' padding depends on the length (see the docstring)
    _config_keys = ("n_filters", "sample_rate", "window_len", "window_stride", "min_freq", "max_freq",
                    "pooling_init", "compression", "input_data_format", "output_data_format")

    def __init__(
        self,
        n_filters=40,
        sample_rate=16000,
        window_len=25.0,
        window_stride=10.0,
        min_freq=60.0,
        max_freq=7800.0,
        pooling_init=0.4,
        compression="pcen",
        input_data_format="default",
        output_data_format="default",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._leaf = Leaf.resolve(n_filters, sample_rate, window_len, window_stride, min_freq, max_freq,
                                  pooling_init, compression)
        self.n_filters, self.sample_rate, self.window_len, self.window_stride = (
            n_filters, sample_rate, window_len, window_stride)
        self.min_freq, self.max_freq, self.pooling_init, self.compression = (
            min_freq, max_freq, pooling_init, compression)
        self.input_data_format = V.check_data_format("input_data_format", input_data_format)
        self.output_data_format = V.check_data_format("output_data_format", output_data_format)
        self._input_format = V.resolve_data_format(self.input_data_format)
        self._output_format = V.resolve_data_format(self.output_data_format)
        self.pcen = None
        if compression == "pcen":
            from kapre.pcen import PCEN

            # (batch, channels, frames, n_filters): the layout the filterbank computes
            self.pcen = PCEN(sr=self._leaf.sample_rate, hop_length=self._leaf.stride, learnable=True, per_band=True,
                             data_format="channels_first", dtype=self.dtype_policy, name="pcen", **LEAF_PCEN)

    @property
    def kernel_size(self) -> int:
        """The filters' and pooling windows' length in samples."""
        return self._leaf.kernel_size

    @property
    def stride(self) -> int:
        """The pooling's stride in samples."""
        return self._leaf.stride

    # -- shapes ----------------------------------------------------------------------------------------------------

    def _check_input(self, shape, dtype=None):
        self.check_rank(shape, 3, "(batch, time, channels) or (batch, channels, time) per input_data_format")
        if dtype is not None:
            V.check_real_input("LEAF", dtype)
        length = self.waveform_dims(shape)[1]
        if length is not None and length < 1:
            raise ValueError(f"LEAF needs at least one sample per signal, received an input of shape {tuple(shape)}.")

    def _features_shape(self, input_shape) -> tuple:
        """``(batch, channels, frames, n_filters)``: what the filterbank computes, and the PCEN sublayer takes."""
        batch, length, channels = self.waveform_dims(input_shape)
        return batch, channels, self._leaf.num_frames(length), self.n_filters

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        batch, channels, frames, bands = self._features_shape(input_shape)
        return self.framed_shape(batch, frames, bands, channels)

    def compute_output_spec(self, inputs):
        shape = self.compute_output_shape(inputs.shape)
        return keras.KerasTensor(shape, dtype=self.output_dtype(self.transform_dtype))

    # -- weights ---------------------------------------------------------------------------------------------------

    def build(self, input_shape):
        self._check_input(input_shape)
        self.gabor_kernel = self.add_weight(
            name="gabor_kernel", shape=(self.n_filters, 2), initializer=ArrayInitializer(self._leaf.gabor_init()),
            constraint=_GaborConstraint(self.kernel_size))
        self.pooling_widths = self.add_weight(
            name="pooling_widths", shape=(self.n_filters,),
            initializer=ArrayInitializer(self._leaf.pooling_init_values()))
        if self.pcen is not None:
            self.pcen.build(self._features_shape(input_shape))
        self.built = True

    # -- computation -----------------------------------------------------------------------------------------------

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        weights = (ops.convert_to_tensor(self.gabor_kernel), ops.convert_to_tensor(self.pooling_widths))
        # the weights go in as arguments: a compiled call (eager TensorFlow / JAX) never holds stale values
        features = _backend.call_compiled_when_eager(self, self._filterbank, (inputs, *weights), static_shapes=True)
        if self.compression == "pcen":
            features = self.pcen(features)
        elif self.compression == "log":
            features = ops.log(features + ops.cast(LOG_OFFSET, features.dtype))
        return self.to_output_dtype(self.framed_output(features), self.transform_dtype)

    def _filterbank(self, args):
        """The floored pooled energies ``(batch, channels, frames, n_filters)`` in the transform dtype."""
        inputs, kernel, widths = args
        waveforms = self.channels_first_waveforms(inputs)  # (batch, channels, time)
        batch, channels, length = (size if size is not None else ops.shape(waveforms)[axis]
                                   for axis, size in enumerate(waveforms.shape))
        count = batch * channels if isinstance(batch, int) and isinstance(channels, int) else -1
        rows = ops.reshape(waveforms, (count, length))  # explicit: -1 is ambiguous for an empty batch
        per_chunk = None
        if isinstance(length, int):
            per_chunk = max(1, CHUNK_VALUES // (self.n_filters * (self._leaf.fft_length(length) // 2 + 1)))
        features = functional.leaf_filterbank(rows, kernel, widths, self.kernel_size, self.stride, per_chunk)
        frames = self._leaf.num_frames(length) if isinstance(length, int) else ops.shape(features)[1]
        return ops.reshape(features, (batch, channels, frames, self.n_filters))
