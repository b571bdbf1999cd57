"""``kapre.PCEN``: per-channel energy normalisation, librosa's and LEAF's trainable form."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kapre import _backend, functional
from kapre import _validation as V
from kapre._layer import ArrayInitializer, KapreLayer
from kapre.params import PCENParams

__all__ = ["PCEN"]


@keras.saving.register_keras_serializable(package="Kapre")
class PCEN(KapreLayer):
    """Per-channel energy normalisation (PCEN) of a non-negative spectrogram, as ``librosa.pcen``; with
    ``learnable=True``, LEAF's trainable sPCEN.

    Each band ``x[t]`` is divided by a power of its own running average and compressed::

        M[t] = (1 - b) M[t-1] + b x[t]                                  (a first-order low-pass filter)
        P[t] = (x[t] / (eps + M[t])**gain + bias)**power - bias**power

    which suppresses stationary background and keeps onsets (Wang et al., ICASSP 2017; Lostanlen et al., IEEE SPL
    2019). The smoother is a compiled scan (:func:`kapre.functional.exponential_smoothing`: blocks of 32 frames,
    one matrix product each, then the same over the block ends), the formula :func:`kapre.functional.pcen`,
    computed as librosa does (``bias**power * expm1(power * log1p(y / bias))``; ``power=0``: ``log1p(y)``;
    ``bias=0``: ``y**power``).

    Args:
        sr: the sampling rate of the audio in Hz, with ``hop_length`` only to turn ``time_constant`` into frames.
            Default 22,050 Hz (librosa's).
        hop_length: the samples between frames of the spectrogram. Default 512 (23.2 ms at 22,050 Hz).
        gain: the exponent of the running average the input is divided by (``alpha`` in the papers); below 1, a
            little of the level is kept. Default 0.98.
        bias: added before the compression (``delta``); the compression is near-linear below it. Default 2.
        power: the compression's exponent (``1 / r``); 0.5 is a square root, 0 the limit ``log1p``. Default 0.5.
        time_constant: the smoother's time constant in seconds. The coefficient is librosa's ``b = (sqrt(1 + 4
            T**2) - 1) / (2 T**2)`` with ``T = time_constant * sr / hop_length`` frames: the defaults, 0.4 s at
            22,050 Hz and a 512-sample hop, are 17.2 frames and ``b = 0.0564`` (a 10 ms hop: 40 frames,
            ``b = 0.0247``). Default 0.4 s.
        eps: added to the running average before the power: the level, in the input's units, below which the
            input is no longer normalised. Default 1e-6 (at least 1.2e-38).
        smooth_coef: ``b`` itself in ``[0, 1]`` (1: no smoothing), overriding ``time_constant``; ``None`` (the
            default) derives it from ``time_constant``.
        learnable: ``False`` (default): the formula with fixed parameters, equal to ``librosa.pcen``. ``True``:
            LEAF's trainable form (``leaf_audio.postprocessing.PCENLayer``): weights ``alpha`` (initialised to
            ``gain``), ``delta`` (``bias``), ``root`` (``1 / power``) and ``smooth`` (``b``), constrained in the
            forward pass as LEAF does: ``alpha = min(alpha, 1)``, ``root = max(root, 1)``, ``smooth`` clipped to
            ``[0, 1]`` (the weights themselves may wander past them). Needs ``bias > 0`` and ``power > 0``. LEAF's
            own initialisation is ``gain=0.96, bias=2.0, power=0.5, smooth_coef=0.04, eps=1e-12``.
        per_band: with ``learnable=True``, one value of each weight per frequency band (shape ``(freq,)``, LEAF's
            per-channel PCEN); ``False``: one scalar each. Ignored when ``learnable=False``. Default True.
        return_state: ``True``: ``call`` returns ``(outputs, state)``, the smoother's last frame ``M[last]``, to
            pass as ``initial_state`` with the next chunk of the same signal (chunks so chained equal one call).
        data_format: ``'channels_last'`` ``(batch, time, freq, channels)``, ``'channels_first'`` ``(batch,
            channels, time, freq)`` or ``'default'`` (Keras' ``image_data_format``).
        max_size: librosa's ``max_size``: the smoother follows the input max-filtered over this many frequency
            bands (centred, cut at the edges), for sources that glide across bands; 1 (default): no filter.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: the spectrogram. Values must be non-negative (a magnitude or power spectrogram, mel or linear;
            not decibels): negative values count as 0 (librosa returns NaN where they make its logarithm's
            argument negative). A NaN or inf makes its band of that example NaN (the blocked scan's matrix
            products spread it over the band, also before it).
        initial_state: the smoother's state before the first frame, ``M[-1]``, one frame of the batch: ``(batch,
            freq, channels)`` (channels last) or ``(batch, channels, freq)``. ``None``: librosa's default with
            ``learnable=False``, ``M[-1] = 1`` (its ``zi`` is ``scipy.signal.lfilter_zi([b], [1, b - 1]) = 1 - b``,
            the steady state of a unit input; librosa's ``zi`` is ``(1 - b) * M[-1]`` and its ``zf`` ``(1 - b) *
            M[last]``); LEAF's with ``learnable=True``, ``M[-1] = x[0]`` (the first frame, of the max-filtered
            input when ``max_size > 1``), so that ``M[0] = x[0]``.

    Input shape: ``(batch, time, freq, channels)`` (channels last) or ``(batch, channels, time, freq)``.
    Output shape: the input's. With ``return_state=True`` also the state, ``(batch, freq, channels)`` or ``(batch,
    channels, freq)``, in the dtype the layer computes in (float32 under mixed precision, where the output is the
    policy's float16).

    PCEN is causal: output frame ``t`` depends on input frames ``0..t`` only, so frames appended at the end change
    none before them. kapre's frame localities have no such kind (``"frame"`` promises that frame ``t`` depends
    on input frame ``t`` only), so the layer declares ``None``, and :mod:`kapre.extraction` runs it clip by clip.

    Computed in float32 (float64 for a float64 layer; float32 under mixed precision). Against ``librosa.pcen`` in
    float64 the float32 layer is within about 1e-6 relative.

    Example:
        >>> import numpy as np, keras, kapre
        >>> mel = np.random.default_rng(0).uniform(0, 1e3, (2, 100, 40, 1)).astype('float32')  # 1 s, 10 ms hop
        >>> pcen = kapre.PCEN(sr=16000, hop_length=160, data_format='channels_last')
        >>> tuple(pcen(mel).shape)
        (2, 100, 40, 1)
        >>> streaming = kapre.PCEN(sr=16000, hop_length=160, return_state=True, data_format='channels_last')
        >>> first, state = streaming(mel[:, :60])
        >>> tuple(state.shape)
        (2, 40, 1)
        >>> second, _ = streaming(mel[:, 60:], initial_state=state)
        >>> chunked = np.concatenate([keras.ops.convert_to_numpy(first), keras.ops.convert_to_numpy(second)], 1)
        >>> bool(np.allclose(chunked, keras.ops.convert_to_numpy(pcen(mel)), rtol=1e-5, atol=1e-6))
        True
        >>> trainable = kapre.PCEN(learnable=True, gain=0.96, smooth_coef=0.04, eps=1e-12,
        ...                        data_format='channels_last')
        >>> _ = trainable(mel)
        >>> [tuple(w.shape) for w in trainable.trainable_weights]
        [(40,), (40,), (40,), (40,)]
    """

    frame_locality = None  # causal, which no locality of kapre._layer describes (see the docstring)
    _config_keys = (
        "sr", "hop_length", "gain", "bias", "power", "time_constant", "eps", "smooth_coef", "learnable", "per_band",
        "return_state", "data_format", "max_size",
    )

    def __init__(
        self,
        sr=22050,
        hop_length=512,
        gain=0.98,
        bias=2.0,
        power=0.5,
        time_constant=0.4,
        eps=1e-6,
        smooth_coef=None,
        learnable=False,
        per_band=True,
        return_state=False,
        data_format="default",
        max_size=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._params = PCENParams.resolve(sr, hop_length, gain, bias, power, time_constant, eps, smooth_coef,
                                          max_size, learnable, per_band)
        self.sr, self.hop_length, self.gain, self.bias, self.power = sr, hop_length, gain, bias, power
        self.time_constant, self.eps, self.smooth_coef, self.max_size = time_constant, eps, smooth_coef, max_size
        self.learnable, self.per_band = learnable, per_band
        self.return_state = V.check_bool("return_state", return_state)
        self.data_format = V.check_data_format("data_format", data_format)
        self._format = V.resolve_data_format(self.data_format)
        self._time_axis, self._freq_axis = (1, 2) if self._format == V.CH_LAST else (2, 3)
        self._n_bands = None

    # -- shapes ----------------------------------------------------------------------------------------------------

    def _check_input(self, shape, dtype=None):
        self.check_rank(shape, 4, "(batch, time, freq, channels) or (batch, channels, time, freq) per data_format")
        if dtype is not None:
            V.check_real_input("PCEN", dtype)
        bands = shape[self._freq_axis]
        if self._n_bands is not None and bands is not None and bands != self._n_bands:
            raise ValueError(f"PCEN was built for {self._n_bands} frequency bands (its weights are per band), "
                             f"received an input of shape {tuple(shape)}.")

    def _state_shape(self, input_shape) -> tuple:
        return tuple(size for axis, size in enumerate(input_shape) if axis != self._time_axis)

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        if self.return_state:
            return tuple(input_shape), self._state_shape(input_shape)
        return tuple(input_shape)

    def compute_output_spec(self, inputs, initial_state=None):
        self._check_input(inputs.shape, inputs.dtype)
        output = keras.KerasTensor(tuple(inputs.shape), dtype=self.output_dtype(self.transform_dtype))
        if self.return_state:
            return output, keras.KerasTensor(self._state_shape(inputs.shape), dtype=self.transform_dtype)
        return output

    # -- weights ---------------------------------------------------------------------------------------------------

    def build(self, input_shape):
        self._check_input(input_shape)
        if self._params.learnable:
            shape = ()
            if self._params.per_band:
                bands = input_shape[self._freq_axis]
                if bands is None:
                    raise ValueError("PCEN(learnable=True, per_band=True) holds one weight per frequency band: the "
                                     f"frequency axis must have a static size, received input shape "
                                     f"{tuple(input_shape)}.")
                self._n_bands = int(bands)
                shape = (self._n_bands,)
            p = self._params
            for name, value in (("alpha", p.gain), ("delta", p.bias), ("root", 1.0 / p.power), ("smooth", p.b)):
                setattr(self, name, self.add_weight(name=name, shape=shape,
                                                    initializer=ArrayInitializer(np.full(shape, value))))
        self.built = True

    def _band_vector(self, weight):
        """A weight in the compute dtype, shaped to broadcast against the input (per band: along frequency)."""
        value = ops.cast(weight, self.transform_dtype)
        if len(weight.shape) == 1 and self._format == V.CH_LAST:
            value = ops.expand_dims(value, -1)  # (freq, 1) against (..., freq, channels)
        return value

    # -- computation -----------------------------------------------------------------------------------------------

    def call(self, inputs, initial_state=None):
        self._check_input(inputs.shape, inputs.dtype)
        if initial_state is not None:
            initial_state = ops.convert_to_tensor(initial_state)
        weights = ()
        if self._params.learnable:
            weights = tuple(ops.convert_to_tensor(w) for w in (self.alpha, self.delta, self.root, self.smooth))
        # eager JAX and TensorFlow run one compiled function (eager JAX compiles each op of the scan otherwise:
        # seconds); the weights are arguments, never constants of the compiled function
        outputs, state = _backend.call_compiled_when_eager(self, self._compute, (inputs, initial_state, weights),
                                                           static_shapes=True)
        outputs = self.to_output_dtype(outputs, self.transform_dtype)
        return (outputs, state) if self.return_state else outputs

    def _compute(self, packed):
        inputs, initial_state, weights = packed
        p = self._params
        x = ops.cast(inputs, self.transform_dtype)
        if initial_state is not None:
            initial_state = ops.cast(initial_state, self.transform_dtype)
        axis, max_axis = self._time_axis, self._freq_axis
        if not p.learnable:
            return functional.pcen(x, p.b, p.gain, p.bias, p.power, p.eps, initial_state, axis=axis,
                                   max_size=p.max_size, max_axis=max_axis)
        alpha, delta, root, smooth = (self._band_vector(w) for w in weights)
        # LEAF's constraints, in the forward pass (kapre._backend's maximum and minimum keep float64 on PyTorch)
        ones = ops.ones_like(alpha)
        alpha = _backend.minimum(alpha, ones)
        root = _backend.maximum(root, ones)
        smooth = _backend.minimum(_backend.maximum(smooth, ops.zeros_like(smooth)), ones)
        if initial_state is None and (_backend.EXPORTING or x.shape[axis] != 0):  # LEAF: M[-1] = the first frame
            first = ops.take(x, 0, axis=axis)
            first = ops.where(first < 0, ops.zeros_like(first), first)
            initial_state = functional.max_filter(first, p.max_size, max_axis - 1)
        return functional.pcen(x, smooth, alpha, delta, 1.0 / root, p.eps, initial_state, axis=axis,
                               max_size=p.max_size, max_axis=max_axis)
