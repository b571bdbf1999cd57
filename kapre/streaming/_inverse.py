"""The streaming inverse STFT: overlap-add carried from chunk to chunk (the streaming form of ``kapre.InverseSTFT``)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kapre import _backend, constants, functional
from kapre import _validation as V
from kapre.params import Framing, serializable_window
from kapre.streaming._convert import register_converter
from kapre.streaming._core import StreamingStage
from kapre.time_frequency import InverseSTFT

register = keras.saving.register_keras_serializable(package="Kapre")


@register
class StreamingInverseSTFT(StreamingStage):
    """The streaming form of :class:`kapre.InverseSTFT`: STFT frames in, the waveform out as it becomes final.

    The arguments are :class:`kapre.InverseSTFT`'s, with the same meaning and checks. The stage follows a framing
    stage (the chain's first stage is always a :class:`~kapre.streaming.StreamingFrames`; to resynthesise frames
    you already hold, stream the STFT that makes them), possibly with frame-wise stages between (a spectral mask,
    ...), whose frames come every ``hop_length`` samples on the time axis ``input_data_format`` says.

    Each step overlap-adds the windowed inverse FFTs of the frames that arrive. When frame ``k`` arrives, the
    overlap-added samples before ``(k + 1) * hop_length`` are final (no later frame reaches them): the step returns
    ``hop_length`` samples per frame and keeps the partial sums of the next ``frame_length - hop_length`` samples
    (rounded up to whole hops) as its state, ``frame_length`` the window's length (``win_length``; ``n_fft`` with
    ``center``). Concatenated, the streamed samples are the offline layer's output on the frames so far, sample for
    sample, except its last ``frame_length - hop_length`` samples, which wait for the frames after them (there is no
    flush; at the end of a stream, zeros fed after it, what ``STFT(pad_end=True)`` appends, bring them out).

    With ``center=True`` the offline layer divides each sample by the overlap-added squared window over the frames
    covering it and drops the first ``n_fft // 2`` samples (the STFT's centring padding); the stream does the same:
    the first samples, covered by fewer frames, are divided by their own partial sums, and the first
    ``n_fft // 2`` samples are dropped (so the first steps return fewer than ``hop_length`` samples per frame).

    Layout: the input is the STFT's, complex ``(batch, frame slots, n_fft // 2 + 1, channels)`` or ``(batch,
    channels, frame slots, n_fft // 2 + 1)``; the output is a waveform, ``(batch, samples, channels)`` or ``(batch,
    channels, samples)`` per ``output_data_format``, with ``slots * hop_length`` sample slots on
    :attr:`output_time_axis`. The count the step returns (and ``new_state['num_frames']`` of an external-state
    chain) counts valid *samples*, the leading ones: ``num_frames * hop_length``, less the dropped centring samples
    with ``center=True``. So this stage ends a chain.

    Latency: ``latency_samples`` is 0, the core's measure (samples needed beyond the last one an output reads):
    a sample is returned as soon as the last frame that covers it has arrived. Through an STFT -> inverse STFT
    chain a sample of the waveform comes out ``frame_length - hop_length`` to ``frame_length - 1`` samples after
    it went in (it waits for the last frame that covers it: the delay any STFT framing has).

    State: ``tail`` (``(batch, channels, (ceil(frame_length / hop_length) - 1) * hop_length)``, the partial sums;
    absent when frames do not overlap) and, with ``center=True``, ``frames`` (``(batch,)`` int32: the frames seen
    so far, counted up to the number after which the window envelope is periodic and the centring samples are
    dropped).

    Args:
        n_fft, win_length, hop_length, forward_window_name, center: the forward STFT's (see
            :class:`kapre.InverseSTFT`); ``hop_length`` must equal the hop of the chain's frames.
        input_data_format: the layout of the STFT frames, ``'channels_last'`` ``(batch, time, freq, channels)``,
            ``'channels_first'`` ``(batch, channels, time, freq)`` or ``'default'``; it must put the frames on the
            axis the stage before gives them on.
        output_data_format: ``'channels_last'`` ``(batch, samples, channels)``, ``'channels_first'`` ``(batch,
            channels, samples)`` or ``'default'``.
        engine: ``'fft'`` (default): the backend's inverse FFT, the offline layer's arithmetic. ``'dft'``: one
            matrix product of ``[real | imag]`` of the frames with a ``(n_fft + 2, frame_length)`` kernel (the
            window folded in): no FFT op, so the step exports to LiteRT builtins (with ``STFT(engine='dft')``
            before it); the same numbers within float32 rounding. :func:`~kapre.streaming.to_streaming` takes it
            as ``istft_engine='dft'``.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Example:
        >>> import numpy as np, kapre
        >>> from kapre.composed import get_perfectly_reconstructing_stft_istft
        >>> from kapre.streaming import to_streaming
        >>> import keras
        >>> stft, istft = get_perfectly_reconstructing_stft_istft(n_fft=64, hop_length=16,
        ...     waveform_data_format='channels_last', stft_data_format='channels_last')
        >>> twin = to_streaming(keras.Sequential([stft, istft]))
        >>> tuple(twin(np.zeros((1, 40, 1), 'float32')).shape)  # frames 0 and 1 arrive: 2 hops of samples
        (1, 32, 1)
    """

    def __init__(
        self,
        n_fft=2048,
        win_length=None,
        hop_length=None,
        forward_window_name=None,
        input_data_format="default",
        output_data_format="default",
        center=False,
        engine="fft",
        **kwargs,
    ):
        super().__init__(**kwargs)
        framing = Framing.resolve(
            n_fft, win_length, hop_length, forward_window_name, center=center,
            names={"window": "forward_window_name"},
        )
        input_data_format = V.check_data_format("input_data_format", input_data_format)
        output_data_format = V.check_data_format("output_data_format", output_data_format)
        engine = V.check_choice("engine", engine, ("fft", "dft"))
        if engine == "dft" and framing.n_fft > V.MAX_DFT_LENGTH:
            raise ValueError(f"engine='dft' holds an (n_fft + 2) x win_length kernel: n_fft must be <= "
                             f"{V.MAX_DFT_LENGTH} with it, received n_fft={framing.n_fft!r}. Use engine='fft'.")
        if framing.center:
            window = framing.centered_window()
        else:
            window = constants.inverse_stft_window(framing.window_values, framing.hop_length)
        self.__dict__["_framing"] = framing
        self.__dict__["_window_values"] = np.asarray(window, np.float64)
        self.__dict__["_envelopes"] = {}
        self._arguments = {
            "n_fft": int(n_fft), "win_length": win_length, "hop_length": hop_length,
            "forward_window_name": forward_window_name, "input_data_format": input_data_format,
            "output_data_format": output_data_format, "center": framing.center, "engine": engine,
        }
        self._input_format = V.resolve_data_format(input_data_format)
        self._output_format = V.resolve_data_format(output_data_format)
        frame_length = framing.frame_length
        self._tail_length = (-(-frame_length // framing.hop_length) - 1) * framing.hop_length
        # with center: the frames after which the envelope is periodic and the centring samples are dropped
        hop = framing.hop_length
        self._warmup_frames = max(self._tail_length // hop, -(-(framing.n_fft // 2) // hop))

    @classmethod
    def from_layer(cls, layer, **kwargs) -> StreamingInverseSTFT:
        """The streaming form of the offline ``kapre.InverseSTFT`` ``layer`` (its arguments and dtype)."""
        config = layer.get_config()
        arguments = {key: config[key] for key in type(layer)._config_keys}
        kwargs.setdefault("name", f"{layer.name}_streaming")
        kwargs.setdefault("dtype", layer.dtype_policy)
        return cls(**arguments, **kwargs)

    def get_config(self):
        config = super().get_config()
        arguments = dict(self._arguments)
        window = serializable_window(arguments["forward_window_name"])
        arguments["forward_window_name"] = window.tolist() if isinstance(window, np.ndarray) else window
        config.update(arguments)
        return config

    # -- the chain's attributes ---------------------------------------------------------------------------------

    @property
    def hop_length(self) -> int:
        return self._framing.hop_length

    @hop_length.setter
    def hop_length(self, value):
        if int(value) != self._framing.hop_length:
            raise ValueError(
                f"StreamingInverseSTFT ({self.name!r}) has hop_length={self._framing.hop_length}, but the frames it "
                f"follows come every {value} samples: give it the STFT's hop_length."
            )

    @property
    def time_axis(self) -> int:
        return 1 if self._input_format == V.CH_LAST else 2

    @time_axis.setter
    def time_axis(self, value):
        if int(value) != self.time_axis:
            raise ValueError(
                f"StreamingInverseSTFT ({self.name!r}) with input_data_format="
                f"{self._arguments['input_data_format']!r} takes frames on axis {self.time_axis}, but the stage "
                f"before it gives them on axis {value}: give it the STFT's output_data_format."
            )

    @property
    def output_time_axis(self) -> int:
        return 1 if self._output_format == V.CH_LAST else 2

    @property
    def n_fft(self) -> int:
        return self._framing.n_fft

    @property
    def frame_length(self) -> int:
        """Samples each frame covers: ``win_length``, ``n_fft`` with ``center``."""
        return self._framing.frame_length

    @property
    def center(self) -> bool:
        return self._framing.center

    # -- the step -------------------------------------------------------------------------------------------------

    def _check_frames(self, shape, dtype):
        V.check_input_rank("StreamingInverseSTFT", shape, 4, "(batch, time, freq, channels) or (batch, channels, "
                                                             "time, freq) per input_data_format")
        V.check_complex_input("StreamingInverseSTFT", dtype)
        n_freq = shape[2] if self._input_format == V.CH_LAST else shape[3]
        if n_freq is not None and n_freq != self._framing.n_freq:
            raise ValueError(
                f"StreamingInverseSTFT with n_fft={self.n_fft} expects {self._framing.n_freq} frequency bins, "
                f"received frames of shape {tuple(shape)}."
            )

    def initial_state(self, example):
        self._check_frames(example.shape, example.dtype)
        batch = example.shape[0]
        channels = example.shape[3] if self._input_format == V.CH_LAST else example.shape[1]
        dtype = V.real_dtype_of(example.dtype)
        state = {}
        if self._tail_length:
            state["tail"] = np.zeros((batch, channels, self._tail_length), dtype)
        if self.center:
            state["frames"] = np.zeros((batch,), "int32")
        return state

    def _envelope(self, slots: int, dtype: str) -> np.ndarray:
        """The overlap-added squared centred window from sample 0, ``(warmup + slots) * hop`` values, those at or
        below the offline layer's threshold set to 1 (:func:`kapre.functional.istft`)."""
        key = (slots, dtype)
        envelope = self._envelopes.get(key)
        if envelope is None:
            hop, squared = self.hop_length, self._window_values**2
            frames = self._warmup_frames + slots
            total = np.zeros((frames - 1) * hop + squared.shape[0])
            for k in range(frames):
                total[k * hop : k * hop + squared.shape[0]] += squared
            tiny = 1e-10 if dtype == "float32" else 1e-30
            total = total[: frames * hop].astype(dtype)
            envelope = self._envelopes[key] = np.where(total > tiny, total, 1).astype(dtype)
        return envelope

    def step(self, inputs, num_frames, state):
        self._check_frames(inputs.shape, inputs.dtype)
        dtype = V.real_dtype_of(inputs.dtype)
        slots = inputs.shape[self.time_axis]
        window = _backend.constant(self._window_values, dtype)

        def rows(values):  # (batch, channels, slots, freq)
            return ops.transpose(values, (0, 3, 1, 2)) if self._input_format == V.CH_LAST else values

        if self._arguments["engine"] == "dft":  # real and imaginary parts first: no complex op but those two
            if "_kernel" not in self.__dict__:  # NumPy, cached (a backend tensor made under a trace must not be)
                self.__dict__["_kernel"] = inverse_dft_kernel(self.n_fft, self._window_values)
            kernel = _backend.constant(self._kernel, dtype)
            stfts = (rows(ops.real(inputs)), rows(ops.imag(inputs)))
        else:
            kernel, stfts = None, rows(inputs)
        samples, count, tail = functional.stream_overlap_add(
            stfts, num_frames, state.get("tail"), self.n_fft, self.hop_length, window, kernel
        )
        new_state = {"tail": tail} if self._tail_length else {}
        if self.center:
            seen = state["frames"][0]
            envelope = _backend.constant(self._envelope(slots, dtype), dtype)
            samples, count = functional.stream_normalize_and_trim(
                samples, count, seen * self.hop_length, envelope, self.n_fft // 2
            )
            seen = ops.minimum(seen + ops.cast(num_frames, "int32"), self._warmup_frames)
            new_state["frames"] = ops.broadcast_to(ops.reshape(seen, (1,)), (ops.shape(samples)[0],))
        if self._output_format == V.CH_LAST:
            samples = ops.transpose(samples, (0, 2, 1))
        return samples, count, new_state


def inverse_dft_kernel(n_fft: int, window: np.ndarray) -> np.ndarray:
    """``(2 * (n_fft // 2 + 1), L)``: ``[real | imag] @ kernel`` is ``irfft(frame, n_fft)[:L] * window`` (the
    imaginary parts of the 0 Hz and Nyquist bins ignored, as the inverse FFTs do), ``L = len(window)``."""
    n_freq, length = n_fft // 2 + 1, window.shape[0]
    weights = np.full(n_freq, 2.0)
    weights[0] = 1.0
    if n_fft % 2 == 0:
        weights[-1] = 1.0
    angles = 2.0 * np.pi * ((np.arange(n_freq)[:, None] * np.arange(length)[None, :]) % n_fft) / n_fft
    scale = weights[:, None] / n_fft * np.asarray(window, np.float64)[None, :]
    return np.concatenate([scale * np.cos(angles), -scale * np.sin(angles)], axis=0)


@register_converter(InverseSTFT)
def _inverse_stft_stages(layer, options):
    """``options['istft_engine']``: ``'fft'`` (default) or ``'dft'`` (see :class:`StreamingInverseSTFT`)."""
    return [StreamingInverseSTFT.from_layer(layer, engine=options.get("istft_engine", "fft"))]
