"""The streaming core: the stage protocol, causal framing of a stream, frame-wise stages and the chain.

A streaming front-end is a chain of stages. The first frames the stream (:class:`StreamingFrames`); each later
stage maps the frames completed so far to its own output. Every step works on a fixed number of frame *slots*
(``ceil(chunk / hop)`` for a chunk of ``chunk`` samples), the valid frames first; ``num_frames`` says how many are
valid. The fixed slot count is what makes a step traceable and exportable for a given chunk size; the eager,
internal-state :class:`StreamingFrontEnd` returns only the valid frames.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kapre import _backend, functional
from kapre import _validation as V
from kapre._layer import KapreLayer

register = keras.saving.register_keras_serializable(package="Kapre")

MODES = ("internal", "external")


class StreamingStage(keras.layers.Layer):
    """One stage of a streaming chain (the protocol every streaming layer follows).

    - ``time_axis``: the axis of this stage's input that holds the frame slots (set by the chain).
    - ``output_time_axis``: the same for its output (the input's unless the stage changes the layout).
    - ``hop_length``: input samples per input frame (set by the chain; the framer knows its own).
    - ``latency_samples``: how many samples of the stream beyond the last one an output frame reads must have
      arrived before the stage emits that frame (its look-ahead; 0 for a causal stage).
    - ``initial_state(example)``: a dict of NumPy arrays (the state at the start of a stream), given an input of
      this stage (only its shape and dtype are used).
    - ``step(inputs, num_frames, state)``: ``(outputs, num_frames, new_state)``, pure: no variable is written.
    """

    time_axis: int = 1
    hop_length: int = 1
    latency_samples: int = 0

    @property
    def output_time_axis(self) -> int:
        return self.time_axis

    def build(self, input_shape=None):
        self.built = True

    def initial_state(self, example) -> dict[str, np.ndarray]:
        return {}

    def step(self, inputs, num_frames, state):
        raise NotImplementedError

    def call(self, inputs):  # a stage is run through step(); called alone it is the frame-wise map
        raise NotImplementedError(f"{type(self).__name__} runs inside kapre.streaming.StreamingFrontEnd.")


class WrapsLayer:
    """Config of a layer built around other layers (the attributes named in ``wrapped``; a stage's offline layer,
    ``self.layer``, by default): each serialized under its name."""

    wrapped = ("layer",)

    def get_config(self):
        config = super().get_config()
        config.update({name: keras.saving.serialize_keras_object(getattr(self, name)) for name in self.wrapped})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.update({name: keras.saving.deserialize_keras_object(config[name]) for name in cls.wrapped})
        return cls(**config)


def _time_to_axis(values, time_axis: int, slots: int):
    """``(batch * slots, ..., 1 at time_axis, ...)`` (the offline layer's output for one frame per row) to
    ``(batch, ..., slots at time_axis, ...)``."""
    if time_axis != 1:
        values = ops.moveaxis(values, time_axis, 1)  # (batch * slots, 1, rest)
    rest = tuple(values.shape[2:])
    values = ops.reshape(values, (-1, slots, *rest))
    return ops.moveaxis(values, 1, time_axis) if time_axis != 1 else values


@register
class StreamingFrames(WrapsLayer, StreamingStage):
    """Causal framing of a stream through an offline framing layer: the offline layer's frames, as samples arrive.

    Each frame of ``frame_length`` samples is cut from the stream when its last sample arrives and passed, as a
    signal of exactly one frame, through ``layer`` (the offline layer, with its own weights). So every frame
    equals the offline layer's frame over the same samples: the offline layer on the stream with
    ``left_padding`` zeros in front (the offline layer's own left padding; ``center=True`` frames read
    ``n_fft // 2`` zeros first, ``pad_begin`` its ``n_fft - hop_length``).

    Args:
        layer: the offline layer run on each frame (frame-local: ``center=False`` framing, no end padding).
        frame_length: samples per frame.
        hop_length: samples between frame starts.
        left_padding: zeros in front of the stream, ``0 <= left_padding < frame_length``.
        input_kind: ``'channels_last'`` ``(batch, samples, channels)``, ``'channels_first'`` ``(batch,
            channels, samples)`` or ``'samples'``: ``(batch, samples)`` or ``(batch, samples, channels)`` as the
            model front-ends of :mod:`kapre.frontends` take them.
        output_time_axis: the frames axis of ``layer``'s output.
    """

    def __init__(self, layer, frame_length, hop_length, left_padding=0, input_kind="channels_last",
                 output_time_axis=1, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer
        self.frame_length = V.check_int("frame_length", frame_length, minimum=1)
        self.hop_length = V.check_int("hop_length", hop_length, minimum=1)
        self.left_padding = V.check_int("left_padding", left_padding, minimum=0)
        if self.left_padding >= self.frame_length:
            raise ValueError(
                f"left_padding must be < frame_length={self.frame_length}, received left_padding={left_padding!r}."
            )
        self.input_kind = V.check_choice(
            "input_kind", input_kind, ("channels_last", "channels_first", "samples")
        )
        self._output_time_axis = int(output_time_axis)

    @property
    def output_time_axis(self) -> int:
        return self._output_time_axis

    def get_config(self):
        config = super().get_config()
        config.update(
            frame_length=self.frame_length, hop_length=self.hop_length, left_padding=self.left_padding,
            input_kind=self.input_kind, output_time_axis=self._output_time_axis,
        )
        return config

    # -- layouts ----------------------------------------------------------------------------------------------

    def _rows(self, chunk):
        """``chunk`` as ``(batch, channels, samples)``."""
        if self.input_kind == "samples" and len(chunk.shape) == 2:
            return chunk[:, None, :]
        if self.input_kind in ("channels_last", "samples"):
            return ops.swapaxes(chunk, 1, 2)
        return chunk

    def _check_chunk(self, shape):
        ranks = (2, 3) if self.input_kind == "samples" else (3,)
        if len(shape) not in ranks:
            layout = {"samples": "(batch, samples)", "channels_first": "(batch, channels, samples)"}.get(
                self.input_kind, "(batch, samples, channels)"
            )
            raise ValueError(f"A streaming chunk of {type(self.layer).__name__} is {layout}, received an input of "
                             f"shape {tuple(shape)}.")

    def initial_state(self, example):
        self._check_chunk(example.shape)
        batch, channels = example.shape[0], self._rows(example).shape[1]
        dtype = V.fft_dtype(self.layer.compute_dtype)
        return {
            "buffer": np.zeros((batch, channels, self.frame_length - 1), dtype),
            "due": np.full((batch,), self.frame_length - self.left_padding, "int32"),
        }

    def step(self, inputs, num_frames, state, length=None):
        """As :meth:`StreamingStage.step`; ``length``: the number of new samples at the start of ``inputs`` (an
        int32 tensor; ``None``: all)."""
        self._check_chunk(inputs.shape)
        rows = self._rows(inputs)
        channels = rows.shape[1]
        frames, num_frames, buffer, due = functional.stream_frames(
            state["buffer"], rows, state["due"][0], self.frame_length, self.hop_length, length
        )  # (batch, channels, slots, frame_length)
        slots = frames.shape[2]
        # each frame a one-frame signal of the offline layer, in its input layout
        if channels == 1:  # (batch, 1, slots, frame_length): every layout is a reshape away
            shape = {"channels_first": (-1, 1, self.frame_length)}.get(self.input_kind, (-1, self.frame_length, 1))
            if self.input_kind == "samples" and len(inputs.shape) == 2:
                shape = (-1, self.frame_length)
            signals = ops.reshape(frames, shape)
        else:
            signals = self._signals(frames, inputs, channels)
        outputs = _time_to_axis(apply_layer(self.layer, signals), self._output_time_axis, slots)
        outputs = _zero_invalid(outputs, num_frames, self._output_time_axis)
        due = functional.per_row(due, state["due"])
        return outputs, num_frames, {"buffer": buffer, "due": due}

    def _signals(self, frames, inputs, channels):
        """``(batch, channels, slots, frame_length)`` frames as one-frame signals in the layer's input layout."""
        frames = ops.transpose(frames, (0, 2, 3, 1))  # (batch, slots, frame_length, channels)
        if self.input_kind == "channels_first":
            signals = ops.reshape(ops.swapaxes(frames, 2, 3), (-1, channels, self.frame_length))
        elif self.input_kind == "samples" and len(inputs.shape) == 2:
            signals = ops.reshape(frames, (-1, self.frame_length))
        else:
            signals = ops.reshape(frames, (-1, self.frame_length, channels))
        return signals


def apply_layer(layer, inputs):
    """``layer(inputs)``; for a built kapre layer that casts its own inputs, its ``call`` directly: Keras'
    ``__call__`` bookkeeping costs more than a streaming step's arithmetic on a few frames (PyTorch: ~0.5 ms)."""
    if isinstance(layer, KapreLayer) and layer.built and not layer._autocast_inputs:
        return layer.call(inputs)
    return layer(inputs)


def _zero_invalid(values, num_frames, time_axis: int):
    """``values`` with the slots at and after ``num_frames`` (along ``time_axis``) set to zero."""
    return functional.zero_invalid_slots(values, num_frames, time_axis)


@register
class StreamingFrameWise(WrapsLayer, StreamingStage):
    """A frame-local offline layer (each output frame from its own input frame: ``Magnitude``, ``Phase``,
    ``ApplyFilterbank``, ``LogmelToMFCC``, decibels without a per-clip floor, ...) applied to each step's frames.
    It holds no state."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def step(self, inputs, num_frames, state):
        return _zero_invalid(apply_layer(self.layer, inputs), num_frames, self.time_axis), num_frames, {}


@register
class StreamingFrontEnd(keras.layers.Layer):
    """A streaming front-end: a chain of stages, the first of them a :class:`StreamingFrames`.

    ``mode='internal'``: the state lives in non-trainable variables of the layer (created at the first call, for
    that call's batch size and channels); ``layer(chunk)`` returns the frames the chunk completes (eagerly,
    exactly those: a chunk that completes none returns zero frames; under a trace, all ``ceil(chunk / hop)``
    slots, the invalid ones zero) and advances the state; :meth:`reset_state` starts over.

    ``mode='external'``: nothing is stored; ``layer(chunk, state)`` (and :meth:`step`) return ``(features,
    new_state)``, with ``ceil(chunk / hop)`` frame slots in ``features`` (the invalid ones zero) and
    ``new_state['num_frames']`` (``(batch,)`` int32) the number of valid leading slots. The first state is
    :meth:`initial_state`. :meth:`step_model` wraps the step as a Keras model for export.

    Attributes:
        hop_length: samples per output frame.
        frame_length: samples each frame of the framer reads.
        latency_samples: samples of look-ahead: a frame is returned once this many samples beyond the last one it
            reads have arrived (the sum of the stages'; 0 for a causal chain).
    """

    def __init__(self, stages, mode="internal", **kwargs):
        super().__init__(**kwargs)
        stages = list(stages)
        if not stages or not isinstance(stages[0], StreamingFrames):
            raise ValueError(f"The first stage of a StreamingFrontEnd frames the stream (StreamingFrames), received "
                             f"{[type(s).__name__ for s in stages]!r}.")
        self.stages = stages
        self.mode = V.check_choice("mode", mode, MODES)
        time_axis, hop = stages[0].output_time_axis, stages[0].hop_length
        for stage in stages[1:]:
            stage.time_axis, stage.hop_length = time_axis, hop
            time_axis = stage.output_time_axis
        self._state_variables = None
        self._state_key = None

    def build(self, chunk_shape=None, state_shape=None):
        # internal mode: the state variables, for the first chunk's batch size and channels
        if self.mode == "internal" and chunk_shape is not None and self._state_variables is None:
            self._make_variables(chunk_shape)
        self.built = True

    def get_config(self):
        config = super().get_config()
        config.update(stages=[keras.saving.serialize_keras_object(s) for s in self.stages], mode=self.mode)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["stages"] = [keras.saving.deserialize_keras_object(s) for s in config["stages"]]
        return cls(**config)

    # -- properties -------------------------------------------------------------------------------------------

    @property
    def hop_length(self) -> int:
        return self.stages[0].hop_length

    @property
    def frame_length(self) -> int:
        return self.stages[0].frame_length

    @property
    def latency_samples(self) -> int:
        return int(sum(stage.latency_samples for stage in self.stages))

    @property
    def output_time_axis(self) -> int:
        return self.stages[-1].output_time_axis

    # -- the pure step ----------------------------------------------------------------------------------------

    def initial_state(self, batch_size=1, channels=1, dtype="float32") -> dict[str, np.ndarray]:
        """The state at the start of a stream, for chunks of ``batch_size`` rows and ``channels`` channels (a
        model front-end of :mod:`kapre.frontends` with ``channels=1`` takes ``(batch, samples)`` chunks), as a
        flat dict of NumPy arrays."""
        batch_size = V.check_int("batch_size", batch_size, minimum=1)
        channels = V.check_int("channels", channels, minimum=1)
        first = self.stages[0]
        if first.input_kind == "samples" and channels == 1:
            example = np.zeros((batch_size, first.hop_length), dtype)
        elif first.input_kind == "channels_first":
            example = np.zeros((batch_size, channels, first.hop_length), dtype)
        else:
            example = np.zeros((batch_size, first.hop_length, channels), dtype)
        return self._initial_state_for(example)

    def _initial_state_for(self, example) -> dict[str, np.ndarray]:
        """Each stage's initial state, given a chunk (only its shape and dtype are used): the chain is traced
        (:func:`kapre._backend.trace_shapes`) to give each stage an input of the right shape."""
        flat = {}

        def run(chunk):
            values, num_frames = chunk, ops.zeros((), "int32")
            for index, stage in enumerate(self.stages):
                state = stage.initial_state(values)
                flat.update({f"{index}/{name}": value for name, value in state.items()})
                values, num_frames, _ = stage.step(values, num_frames, state)
            return values

        _backend.trace_shapes(run, np.asarray(example))
        flat["num_frames"] = np.zeros((example.shape[0],), "int32")
        return flat

    def step(self, chunk, state, length=None):
        """``(features, new_state)`` for one chunk (see the class docstring); pure. ``length`` (an int32 tensor):
        only the first ``length`` samples of ``chunk`` are new, the rest padding (one compiled step then serves
        chunks of many sizes); ``None``: all of them."""
        values, num_frames, new_state = chunk, None, {}
        for index, stage in enumerate(self.stages):
            prefix = f"{index}/"
            own = {name[len(prefix):]: value for name, value in state.items() if name.startswith(prefix)}
            if index == 0:
                values, num_frames, updated = stage.step(values, num_frames, own, length=length)
            else:
                values, num_frames, updated = stage.step(values, num_frames, own)
            new_state.update({prefix + name: value for name, value in updated.items()})
        new_state["num_frames"] = functional.per_row(num_frames, values)
        return values, new_state

    def compiled_step(self):
        """:meth:`step` compiled by the backend (``jax.jit``, ``tf.function``; PyTorch runs eagerly), traced once
        per chunk shape."""
        compiled = self.__dict__.get("_compiled_step")
        if compiled is None:
            compiled = self.__dict__["_compiled_step"] = _backend.compile_step(self.step, self._read_weights())
        return compiled

    def step_model(self, chunk_samples, batch_size=1, channels=1, dtype="float32") -> keras.Model:
        """The step as a functional Keras model for a fixed chunk size: inputs ``[chunk, *state]``, outputs
        ``[features, *new_state]``, the state in the order of :meth:`initial_state` (the names are the inputs'
        and outputs' names, ``/`` written as ``__``). For ``model.export`` and converters."""
        chunk_samples = V.check_int("chunk_samples", chunk_samples, minimum=1)
        first = self.stages[0]
        if first.input_kind == "samples" and channels == 1:
            chunk_shape = (chunk_samples,)
        elif first.input_kind == "channels_first":
            chunk_shape = (channels, chunk_samples)
        else:
            chunk_shape = (chunk_samples, channels)
        state = self.initial_state(batch_size, channels, dtype)
        names = list(state)
        chunk_input = keras.Input(chunk_shape, batch_size=batch_size, dtype=dtype, name="chunk")
        state_inputs = [
            keras.Input(value.shape[1:], batch_size=batch_size, dtype=str(value.dtype), name=_safe(name))
            for name, value in state.items()
        ]
        # LiteRT's StableHLO lowering (the JAX and PyTorch routes to LiteRT) turns a matmul whose operand has a
        # unit first axis and a unit row axis, as a batch of one frame gives, into an invalid tfl.batch_matmul
        # ("found invalid output rank"): there a batch of one runs as two identical rows, the first returned.
        twin_rows = batch_size == 1 and keras.backend.backend() != "tensorflow"
        outputs = _StepLayer(self, names, twin_rows=twin_rows)([chunk_input, *state_inputs])
        return keras.Model([chunk_input, *state_inputs], outputs, name="streaming_step")

    # -- internal and external calls --------------------------------------------------------------------------

    def call(self, chunk, state=None):
        if self.mode == "external":
            if state is None:
                raise ValueError("A StreamingFrontEnd with mode='external' is called as layer(chunk, state); start "
                                 "from layer.initial_state(batch_size, channels).")
            if not _is_eager(chunk):
                return self.step(chunk, state)
            features, new_state = self._bucketed_step(chunk, state)
            time_axis = 2 if self.stages[0].input_kind == "channels_first" else 1
            slots, bucket_slots = _bucket(chunk.shape[time_axis], self.hop_length)
            per_slot = features.shape[self.output_time_axis] // bucket_slots  # 1 frame, or hop samples
            index = [slice(None)] * len(features.shape)
            index[self.output_time_axis] = slice(0, slots * per_slot)  # the chunk's own slots, as its exact step
            return features[tuple(index)], new_state
        if state is not None:
            raise ValueError("A StreamingFrontEnd with mode='internal' keeps its own state: call it as layer(chunk).")
        variables = self._variables_for(chunk)
        state = {name: variable.value for name, variable in variables.items()}
        eager = _is_eager(chunk)
        if eager:  # one compiled step per chunk-size bucket
            features, new_state = self._bucketed_step(chunk, state)
        else:
            features, new_state = self.step(chunk, state)
        for name, variable in variables.items():
            variable.assign(new_state[name])
        num_frames = new_state["num_frames"][0]
        if eager:
            count = int(keras.ops.convert_to_numpy(num_frames))
            index = [slice(None)] * len(features.shape)
            index[self.output_time_axis] = slice(0, count)
            features = features[tuple(index)]
        return features

    def _read_weights(self) -> list:
        """The offline layers' weights the step reads (not the state variables, which go in as the state)."""
        state = {id(v) for v in (self._state_variables or {}).values()}
        return [weight for weight in self.weights if id(weight) not in state]

    def _bucketed_step(self, chunk, state):
        """The step compiled once per chunk-size bucket (4, 8, 16, ... hops): the chunk is padded to its bucket and
        only its own samples count (``length``), so a stream of mixed chunk sizes compiles once or twice."""
        time_axis = 2 if self.stages[0].input_kind == "channels_first" else 1
        length = chunk.shape[time_axis]
        bucket = _bucket(length, self.hop_length)[1] * self.hop_length
        padding = [(0, 0)] * len(chunk.shape)
        padding[time_axis] = (0, bucket - length)
        chunk = np.pad(keras.ops.convert_to_numpy(chunk), padding)  # eager: NumPy pads without a compilation
        compiled = self.__dict__.get("_compiled_bucket_step")
        if compiled is None:
            compiled = self.__dict__["_compiled_bucket_step"] = _backend.compile_step(
                self.step, self._read_weights()
            )
        return compiled(chunk, state, np.int32(length))

    def _variables_for(self, chunk):
        if self._state_variables is None:
            self._make_variables(chunk.shape)
        key = (chunk.shape[0], self._channels_of(chunk.shape))
        if key != self._state_key:
            raise ValueError(
                f"This streaming front-end holds the state of a stream of (batch, channels) = {self._state_key}; "
                f"received a chunk of shape {tuple(chunk.shape)}. Use one front-end per stream layout."
            )
        return self._state_variables

    def _make_variables(self, shape):
        shape = tuple(shape)
        if shape[0] is None:
            raise ValueError("An internal-state streaming front-end needs the batch size of its chunks; received "
                             f"a chunk shape {shape} without one (use mode='external' for symbolic use).")
        example = [1 if d is None else d for d in shape]
        example[2 if self.stages[0].input_kind == "channels_first" else 1] = self.hop_length  # any length will do
        example = np.zeros(tuple(example), "float32")
        initial = self._initial_state_for(example)
        self.__dict__["_initial_values"] = initial
        with keras.name_scope(self.name, caller=self):
            self._state_variables = {
                name: self.add_weight(
                    name=_safe(name), shape=value.shape, dtype=str(value.dtype), trainable=False,
                    initializer=_Constant(value),
                )
                for name, value in initial.items()
            }
        self._state_key = (shape[0], self._channels_of(shape))

    def _channels_of(self, shape):
        if len(shape) == 2:
            return 1
        return shape[1] if self.stages[0].input_kind == "channels_first" else shape[2]

    def reset_state(self):
        """Start the stream over: every state variable back to its initial value (internal mode)."""
        if self._state_variables is None:
            return
        for name, variable in self._state_variables.items():
            variable.assign(self.__dict__["_initial_values"][name])

    def get_state(self) -> dict[str, np.ndarray]:
        """The internal state as NumPy arrays (empty before the first chunk)."""
        if self._state_variables is None:
            return {}
        return {name: keras.ops.convert_to_numpy(v.value) for name, v in self._state_variables.items()}

    def set_state(self, state: dict) -> None:
        """Continue from ``state`` (e.g. from :meth:`get_state` of another twin of the same front-end)."""
        if self._state_variables is None:
            raise ValueError("set_state needs the state variables: call the front-end on one chunk first.")
        missing = sorted(set(self._state_variables) - set(state))
        if missing:
            raise ValueError(f"The state lacks {missing}.")
        for name, variable in self._state_variables.items():
            variable.assign(state[name])


class _Constant(keras.initializers.Initializer):
    def __init__(self, values):
        self.values = np.asarray(values)

    def __call__(self, shape, dtype=None):
        return _backend.initial_value(self.values, dtype or str(self.values.dtype))


@register
class _StepLayer(WrapsLayer, keras.layers.Layer):
    """The external step of a front-end as one layer over a flat list ``[chunk, *state]`` (for :meth:`step_model`);
    serializable, so a step model saves as ``.keras`` (``kapre.export``'s routes through TensorFlow load it)."""

    wrapped = ("front_end",)

    def __init__(self, front_end, names, twin_rows=False, **kwargs):
        super().__init__(**kwargs)
        self.front_end = front_end
        self.names = list(names)
        self.twin_rows = bool(twin_rows)  # run a batch of one as two identical rows (see step_model)

    def get_config(self):
        config = super().get_config()
        config.update(names=self.names, twin_rows=self.twin_rows)
        return config

    def build(self, input_shape=None):
        self.built = True

    def call(self, inputs):
        if self.twin_rows:
            inputs = [ops.concatenate([value, value], axis=0) for value in inputs]
        chunk, *state_values = inputs
        features, new_state = self.front_end.step(chunk, dict(zip(self.names, state_values, strict=True)))
        outputs = [features, *(new_state[name] for name in self.names)]
        return [value[:1] for value in outputs] if self.twin_rows else outputs


def _bucket(length: int, hop_length: int) -> tuple[int, int]:
    """``(slots, bucket_slots)``: a chunk's own frame slots and those of its bucket (4, 8, 16, ...)."""
    slots = -(-length // hop_length)
    return slots, 1 << int(max(4, slots) - 1).bit_length()


def _safe(name: str) -> str:
    return name.replace("/", "__")


def _is_eager(value) -> bool:
    try:
        keras.ops.convert_to_numpy(value)
    except Exception:  # a tracer or a symbolic tensor
        return False
    return True

