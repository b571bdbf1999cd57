"""The streaming stages that carry state over time: Delta (look-ahead), PCEN (the smoother) and decibel floors.

Each is a :class:`~kapre.streaming.StreamingStage` with its converter from the offline layer:

- :class:`StreamingDelta` (``kapre.Delta``): the delta of frame ``k`` reads frames ``k - W .. k + W``; it is
  emitted with frame ``k + W``, a latency of ``W`` hops. The offline layer's left-edge padding is reproduced, so
  every emitted frame equals the offline one; the last ``W`` frames of a stream (which need the offline layer's
  right-edge padding, i.e. the end of the stream) are never emitted.
- :class:`StreamingPCEN` (``kapre.PCEN``, librosa's form and LEAF's learnable one, the offline layer's own weights):
  causal, no latency; the state is the smoother's last value.
- :class:`StreamingDecibelFloor` and :class:`StreamingDecibelReference`: the per-clip floor and ``'max'``
  reference of the decibel layers need the whole clip; their causal forms follow the maximum so far (or a fixed
  reference). ``to_streaming(..., db_floor='running_max' | 'fixed' | None)`` chooses the floor.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kapre import _backend, functional
from kapre import _validation as V
from kapre.pcen import PCEN
from kapre.streaming._convert import (
    copy_with,
    decibel_floor_stages,
    register_converter,
    set_floor_factory,
    set_reference_factory,
)
from kapre.streaming._core import StreamingFrameWise, StreamingStage, WrapsLayer, _zero_invalid
from kapre.time_frequency import Delta, MagnitudeToDecibel

__all__ = ["StreamingDelta", "StreamingPCEN", "StreamingDecibelFloor", "StreamingDecibelReference"]

register = keras.saving.register_keras_serializable(package="Kapre")

FLOORS = ("running_max", "fixed")


def _float_dtype(dtype) -> str:
    dtype = keras.backend.standardize_dtype(dtype)
    return dtype if dtype.startswith(("float", "bfloat")) else "float32"


def _time_axis_of(data_format: str) -> int:
    return 1 if V.resolve_data_format(data_format) == V.CH_LAST else 2


def _check_spectrogram(stage, shape, expected_axis: int, layout: str):
    """A 4-D input whose frames are on ``expected_axis`` (the offline layer's time axis) and the chain's."""
    V.check_input_rank(type(stage).__name__, shape, 4, layout)
    if stage.time_axis != expected_axis:
        raise ValueError(
            f"{type(stage).__name__} works on frames along axis {expected_axis} (its data_format), but the stage "
            f"before it puts the frames on axis {stage.time_axis}: use the data_format of the front-end's output."
        )


def _compiled_when_eager(owner, fn, packed):
    """``fn(packed)``; called eagerly, one compiled function per input shape on the backends whose eager mode runs
    op by op (JAX compiles every small op for every new shape otherwise: seconds per slot count)."""
    return _backend.call_compiled_when_eager(owner, fn, packed, static_shapes=True)


def _lowest(dtype: str) -> float:
    return float(np.finfo(dtype).min)


# -- Delta ------------------------------------------------------------------------------------------------------


@register
class StreamingDelta(StreamingStage):
    """The streaming form of :class:`kapre.Delta`: the delta of each frame, emitted once its look-ahead arrived.

    ``delta[k] = sum_{j=1..W} j * (x[k + j] - x[k - j]) / (2 * sum_j j**2)`` with ``W = win_length // 2``: frame
    ``k``'s delta reads frames ``k - W .. k + W`` and is emitted in the step that completes frame ``k + W``. Before
    the first frame the offline layer pads ``W`` frames with ``mode`` (``'symmetric'``: the first frames mirrored
    with the edge repeated, ``'reflect'``: without it, ``'constant'``: zeros); all of them have arrived when the
    first delta is due, so the emitted deltas equal the offline layer's frames ``0 .. K - W - 1`` of a stream of
    ``K`` frames exactly. The last ``W`` deltas need the end of the stream (the offline right-edge padding) and
    are not emitted.

    Args:
        win_length: odd number of frames (>= 3) the derivative is estimated over. Default 5.
        mode: the offline layer's padding, ``'symmetric'``, ``'reflect'`` or ``'constant'`` (case-insensitive).
        data_format: ``'channels_last'`` ``(batch, time, freq, channels)``, ``'channels_first'`` ``(batch,
            channels, time, freq)`` or ``'default'``: the offline layer's; the frames must be on its time axis.
        **kwargs: base ``keras.layers.Layer`` arguments.

    State: ``ring``, the last ``2 W`` frames (a fixed-size tensor, the input's shape with ``2 W`` frames), and
    ``count``, ``(batch,)`` int32, the frames seen so far saturated at ``2 W`` (the left edge).

    Latency: ``W * hop_length`` samples (``latency_samples``): frame ``k``'s delta is emitted when the last sample
    of frame ``k + W`` arrives.
    """

    def __init__(self, win_length=5, mode="symmetric", data_format="default", **kwargs):
        super().__init__(**kwargs)
        self.win_length = V.check_delta_args(win_length, mode)
        self.mode = mode
        self.data_format = V.check_data_format("data_format", data_format)
        self.half = (self.win_length - 1) // 2

    @property
    def latency_samples(self) -> int:
        return self.half * self.hop_length

    def get_config(self):
        config = super().get_config()
        config.update(win_length=self.win_length, mode=self.mode, data_format=self.data_format)
        return config

    def _check(self, shape):
        _check_spectrogram(self, shape, _time_axis_of(self.data_format),
                           "(batch, time, freq, channels) or (batch, channels, time, freq) per data_format")

    def initial_state(self, example):
        self._check(example.shape)
        shape = list(example.shape)
        shape[self.time_axis] = 2 * self.half
        return {
            "ring": np.zeros(tuple(shape), _float_dtype(example.dtype)),
            "count": np.zeros((example.shape[0],), "int32"),
        }

    def step(self, inputs, num_frames, state):
        self._check(inputs.shape)
        return _compiled_when_eager(self, self._step, (inputs, num_frames, state))

    def _step(self, packed):
        inputs, num_frames, state = packed
        deltas, count, new_ring, new_count = functional.stream_delta(
            state["ring"], inputs, num_frames, state["count"][0], self.win_length, self.mode, self.time_axis
        )
        batch = ops.shape(new_ring)[0]
        new_count = ops.broadcast_to(ops.reshape(new_count, (1,)), (batch,))
        return deltas, count, {"ring": new_ring, "count": new_count}


@register_converter(Delta)
def _delta_stages(layer, options):
    return [StreamingDelta(layer.win_length, layer.mode, layer.data_format, name=layer.name + "_streaming")]


# -- PCEN -------------------------------------------------------------------------------------------------------


@register
class StreamingPCEN(WrapsLayer, StreamingStage):
    """The streaming form of :class:`kapre.PCEN`, around the offline layer itself (its weights are shared).

    PCEN is causal (frame ``t`` depends on frames ``0..t``): each step continues the smoother from the previous
    step's last frame, so the streamed frames equal the offline layer on the whole stream with its default start
    (librosa's form: ``M[-1] = 1``; ``learnable=True``, LEAF's: ``M[-1] = x[0]``, the first frame). Every option
    of the offline layer streams (``max_size > 1`` filters over frequency, within a frame; nothing reads later
    frames). ``return_state`` is ignored: the stage returns the features and keeps the state itself.

    Args:
        layer: a :class:`kapre.PCEN` (built or not; a learnable one is built at the first stream, with its weights
            as initialised or trained).
        **kwargs: base ``keras.layers.Layer`` arguments.

    State: ``smoother``, ``M`` at the last valid frame (one frame of the batch, the input's shape without the time
    axis, in the layer's compute dtype; ones at the start for librosa's form); with ``learnable=True`` also
    ``started``, ``(batch,)`` int32, 0 until the first frame (which then starts the smoother, LEAF's start).
    Only valid slots advance the state.

    Latency: 0.
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, PCEN):
            raise TypeError(f"layer must be a kapre.PCEN, received layer={type(layer).__name__!r}.")
        self.layer = layer


    def _check(self, shape):
        layer = self.layer
        _check_spectrogram(self, shape, layer._time_axis,
                           "(batch, time, freq, channels) or (batch, channels, time, freq) per data_format")
        layer._check_input(shape)
        if not layer.built:
            layer.build(tuple(shape))

    def initial_state(self, example):
        self._check(example.shape)
        dtype = self.layer.transform_dtype
        shape = tuple(size for axis, size in enumerate(example.shape) if axis != self.time_axis)
        if not self.layer._params.learnable:
            return {"smoother": np.ones(shape, dtype)}
        return {"smoother": np.zeros(shape, dtype), "started": np.zeros((example.shape[0],), "int32")}

    def step(self, inputs, num_frames, state):
        self._check(inputs.shape)
        layer = self.layer
        weights = ()
        if layer._params.learnable:  # arguments of the compiled step, never constants of it
            weights = tuple(ops.convert_to_tensor(w) for w in (layer.alpha, layer.delta, layer.root, layer.smooth))
        return _compiled_when_eager(self, self._step, (inputs, num_frames, state, weights))

    def _step(self, packed):
        inputs, num_frames, state, weights = packed
        layer, p = self.layer, self.layer._params
        dtype = layer.transform_dtype
        x = ops.cast(inputs, dtype)
        if not p.learnable:
            coef, gain, bias, power, started = p.b, p.gain, p.bias, p.power, None
        else:
            # the offline layer's weights, constrained as its forward pass does (LEAF's constraints)
            alpha, delta, root, smooth = (layer._band_vector(w) for w in weights)
            ones = ops.ones_like(alpha)
            # (kapre._backend's maximum and minimum keep float64 on PyTorch)
            gain = _backend.minimum(alpha, ones)
            root = _backend.maximum(root, ones)
            coef = _backend.minimum(_backend.maximum(smooth, ops.zeros_like(smooth)), ones)
            bias, power, started = delta, 1.0 / root, state["started"]
        outputs, smoother, started = functional.stream_pcen(
            x, num_frames, state["smoother"], coef, gain, bias, power, p.eps, axis=self.time_axis,
            max_size=p.max_size, max_axis=layer._freq_axis, started=started,
        )
        outputs = _zero_invalid(layer.to_output_dtype(outputs, dtype), num_frames, self.time_axis)
        new_state = {"smoother": smoother}
        if started is not None:
            new_state["started"] = started
        return outputs, num_frames, new_state


@register_converter(PCEN)
def _pcen_stages(layer, options):
    return [StreamingPCEN(layer, name=layer.name + "_streaming")]


# -- decibels ---------------------------------------------------------------------------------------------------


class _RunningMaxStage(StreamingStage):
    """A stage whose state is the running maximum of each example (over every non-batch axis and every frame)."""

    def _running_state(self, example):
        dtype = _float_dtype(example.dtype)
        return {"max": np.full((example.shape[0],), _lowest(dtype), dtype)}

    def _running(self, inputs, num_frames, state):
        """``(running, new_max)``: ``running`` shaped to broadcast against ``inputs``."""
        running, new_max = functional.stream_running_max(inputs, num_frames, state["max"], self.time_axis)
        shape = [1] * len(inputs.shape)
        shape[0], shape[self.time_axis] = -1, inputs.shape[self.time_axis]
        return ops.reshape(running, shape), new_max


@register
class StreamingDecibelFloor(_RunningMaxStage):
    """A causal floor for values already in decibels (or another logarithm): the streaming form of the per-clip
    floor ``max(x, max(x) - dynamic_range)`` of :class:`kapre.MagnitudeToDecibel`, ``kapre.MelSpectrogram(
    return_decibel=True)`` and the model front-ends, whose maximum needs the whole clip.

    Args:
        dynamic_range: dB (> 0) kept below the reference.
        floor: ``'running_max'`` (default): ``max(x[t], R[t] - dynamic_range)``, ``R[t]`` the maximum of the example
            over every frame up to and including ``t`` (and every non-batch axis, as the offline per-example
            floor): from the frame where the clip's maximum arrives on, this is the offline floor; before it, the
            floor is lower. ``'fixed'``: ``max(x, -dynamic_range)``, the floor below the reference (0 dB).
        **kwargs: base ``keras.layers.Layer`` arguments.

    State: ``'running_max'``: ``max``, ``(batch,)``, the maximum so far (the dtype's lowest finite value before the
    first frame); ``'fixed'``: none.

    Latency: 0.
    """

    def __init__(self, dynamic_range=80.0, floor="running_max", **kwargs):
        super().__init__(**kwargs)
        self.dynamic_range = V.check_float("dynamic_range", dynamic_range, exclusive_minimum=0.0)
        self.floor = V.check_choice("floor", floor, FLOORS)

    def get_config(self):
        config = super().get_config()
        config.update(dynamic_range=self.dynamic_range, floor=self.floor)
        return config

    def initial_state(self, example):
        return self._running_state(example) if self.floor == "running_max" else {}

    def step(self, inputs, num_frames, state):
        return _compiled_when_eager(self, self._step, (inputs, num_frames, state))

    def _step(self, packed):
        inputs, num_frames, state = packed
        if self.floor == "fixed":
            floor = ops.convert_to_tensor(-self.dynamic_range, dtype=inputs.dtype)
            return _zero_invalid(_backend.maximum(inputs, floor), num_frames, self.time_axis), num_frames, {}
        running, new_max = self._running(inputs, num_frames, state)
        outputs = _backend.maximum(inputs, ops.cast(running - self.dynamic_range, inputs.dtype))
        return _zero_invalid(outputs, num_frames, self.time_axis), num_frames, {"max": new_max}


@register
class StreamingDecibelReference(_RunningMaxStage):
    """A causal ``'max'`` reference for decibels: ``x[t] - R[t]``, ``R[t]`` the maximum of the example over every
    frame up to and including ``t`` (and every non-batch axis). The streaming form of ``ref_value='max'`` of
    :class:`kapre.MagnitudeToDecibel` and of ``kapre.utils.AmplitudeToDB``, whose reference, the clip's maximum,
    needs the whole clip: from the frame where the clip's maximum arrives on, this is the offline reference;
    before it the values are relative to the loudest frame so far (so each frame's maximum is at most 0 dB, the
    loudest so far exactly 0).

    Args:
        **kwargs: base ``keras.layers.Layer`` arguments.

    State: ``max``, ``(batch,)``, the maximum so far (the dtype's lowest finite value before the first frame).

    Latency: 0.
    """

    def initial_state(self, example):
        return self._running_state(example)

    def step(self, inputs, num_frames, state):
        return _compiled_when_eager(self, self._step, (inputs, num_frames, state))

    def _step(self, packed):
        inputs, num_frames, state = packed
        running, new_max = self._running(inputs, num_frames, state)
        outputs = inputs - ops.cast(running, inputs.dtype)
        return _zero_invalid(outputs, num_frames, self.time_axis), num_frames, {"max": new_max}


def _floor_stages(dynamic_range, floor):
    """The causal decibel floor ``to_streaming``'s ``db_floor`` asks for (``None``: no floor)."""
    if floor is None:
        return []
    return [StreamingDecibelFloor(dynamic_range, floor)]


set_floor_factory(_floor_stages)
set_reference_factory(StreamingDecibelReference)


@register_converter(MagnitudeToDecibel)
def _decibel_stages(layer, options):
    """Frame-wise decibels (no per-clip floor, a fixed reference) and the causal reference and floor."""
    d = layer._decibel
    stages = []
    if d.ref_value == "max":
        # decibels against 1 (a constant offset when amin > 1, which the running reference cancels)
        stages += [StreamingFrameWise(copy_with(layer, ref_value=1.0, dynamic_range=None)),
                   StreamingDecibelReference(name=layer.name + "_reference")]
    elif d.dynamic_range is not None:
        stages.append(StreamingFrameWise(copy_with(layer, dynamic_range=None)))
    else:
        stages.append(StreamingFrameWise(layer))
    if d.dynamic_range is not None:
        stages += decibel_floor_stages(d.dynamic_range, options)
    return stages


def _amplitude_to_db_stages(layer, options):
    """``kapre.utils.AmplitudeToDB``: ``MagnitudeToDecibel(ref_value='max', dynamic_range=top_db)`` in 0.2's
    layout, streamed the same way (the reduction is over every non-batch axis, whatever the layout)."""
    frame = MagnitudeToDecibel(ref_value=1.0, amin=layer.amin, dynamic_range=None, name=layer.name + "_streaming",
                               dtype=layer.dtype_policy)
    return [StreamingFrameWise(frame), StreamingDecibelReference(name=layer.name + "_reference"),
            *decibel_floor_stages(layer.top_db, options)]


def _register_utils():
    from kapre.utils import AmplitudeToDB

    register_converter(AmplitudeToDB)(_amplitude_to_db_stages)


_register_utils()
