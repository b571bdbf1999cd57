"""Run a front-end over many clips of different lengths: zero-padded batches, each output trimmed to its clip.

:func:`extract` takes a front-end (a kapre layer, a ``keras.Sequential`` of kapre layers, or any Keras layer or model)
and waveforms ``(time, channels)`` of any lengths, and returns one array per waveform, equal (up to float rounding)
to calling the front-end on each waveform alone. :func:`extract_files` does the same for audio files. The ``kapre
extract`` command (``docs/cli.md``) runs on this engine.

How a front-end is batched follows what each layer declares in its ``frame_locality`` attribute:

* ``"waveform"``: waveform in, frames out, each output frame depending only on the samples it covers, so zeros
  appended at the end of a waveform change no frame that lies within it (:class:`kapre.STFT` without reflection
  padding, :class:`kapre.MelSpectrogram` with or without decibels, ...). A front-end is batched only if its first
  layer is such a layer.
* ``"frame"``: each output frame depends only on the input frame of the same index (:class:`kapre.Magnitude`,
  :class:`kapre.ApplyFilterbank`, :class:`kapre.LogmelToMFCC`, ...).
* ``"example_max"``: elementwise given a maximum over each example, which frames of zeros never raise
  (:class:`kapre.MagnitudeToDecibel`: zeros sit at its ``amin`` floor). The engine zeroes the frames beyond each
  clip's end before such a layer.
* anything else (``None``, no attribute): unknown. This layer and every layer after it run clip by clip on the
  clip's own frames.

The leading run of batchable layers (the first a ``"waveform"`` layer) runs on zero-padded batches, compiled once
per shape on JAX; its output is cut to each clip's frame count (the first layer's ``compute_output_shape``), and
the remaining layers run per clip. A front-end whose first layer is not a ``"waveform"`` layer (or that is not a
layer or a ``Sequential``) runs whole, batching only waveforms of equal length.

Example:
    >>> import numpy as np, kapre, kapre.extraction
    >>> mel = kapre.MelSpectrogram(n_fft=512, hop_length=160, sample_rate=16000, n_mels=40,
    ...                            input_data_format='channels_last', output_data_format='channels_last')
    >>> clips = [np.random.default_rng(i).standard_normal((n, 1)).astype('float32') for i, n in enumerate(
    ...     (16000, 4000, 9000))]
    >>> features = kapre.extraction.extract(mel, clips)
    >>> [f.shape for f in features]
    [(97, 40, 1), (22, 40, 1), (54, 40, 1)]
    >>> alone = np.asarray(mel(clips[1][None]))[0]
    >>> bool(np.allclose(features[1], alone, atol=1e-3))
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "FRAME",
    "WAVEFORM",
    "EXAMPLE_MAX",
    "Extractor",
    "extract",
    "extract_files",
    "frontend_layers",
    "sample_rate_of",
]

from kapre._layer import EXAMPLE_MAX, FRAME, WAVEFORM  # noqa: E402  (the values layers declare, one definition)

# Lengths used to find the frame (time) axis of each batched layer's output from compute_output_shape: the one axis
# whose size differs between the two.
_PROBE_LENGTHS = (1 << 20, (1 << 20) + (1 << 19))


def frontend_layers(frontend) -> list:
    """The layers a front-end runs one after another: a ``keras.Sequential``'s layers (nested ones flattened), a
    single layer as ``[layer]``; ``[]`` for any other model (its layers are not a chain)."""
    import keras

    if isinstance(frontend, keras.Sequential):
        layers = []
        for layer in frontend.layers:
            layers.extend(frontend_layers(layer) if isinstance(layer, keras.Sequential) else [layer])
        return layers
    if isinstance(frontend, keras.Model) or not isinstance(frontend, keras.layers.Layer):
        return []
    return [frontend]


def sample_rate_of(frontend) -> int | None:
    """The sample rate a front-end was made for (a mel or log-frequency filterbank's), or ``None`` if none says."""
    for layer in frontend_layers(frontend):
        kwargs = getattr(layer, "filterbank_kwargs", None)
        if isinstance(kwargs, dict) and kwargs.get("sample_rate"):
            return int(kwargs["sample_rate"])
        rate = getattr(layer, "sample_rate", None)
        if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate > 0:
            return int(rate)
    return None


def _locality(layer) -> str | None:
    value = getattr(layer, "frame_locality", None)
    return value if value in (WAVEFORM, FRAME, EXAMPLE_MAX) else None


def _channels_first(layer) -> bool:
    import keras

    fmt = getattr(layer, "input_data_format", None)
    if fmt in (None, "default"):
        fmt = keras.config.image_data_format() if fmt == "default" else "channels_last"
    return fmt == "channels_first"


def _bucket(length: int) -> int:
    """``length`` rounded up to one of 8 steps per octave: padded batches then share a few shapes, so that the
    backends (JAX in particular) compile each shape once, at most 12.5 % more samples."""
    if length <= 64:
        return 64
    step = 2 ** (max(0, math.ceil(math.log2(length)) - 3))
    return int(math.ceil(length / step) * step)


def _time_axis(first: tuple, second: tuple) -> int | None:
    if len(first) != len(second):
        return None
    differ = [i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
    return differ[0] if len(differ) == 1 and differ[0] > 0 else None


def _check_waveforms(waveforms) -> list[np.ndarray]:
    if isinstance(waveforms, np.ndarray) or not isinstance(waveforms, Iterable):
        shape = f" of shape {waveforms.shape}" if isinstance(waveforms, np.ndarray) else ""
        raise TypeError(
            f"waveforms must be a list of arrays (time, channels), received {type(waveforms).__name__}{shape}; for "
            "one waveform w use [w]."
        )
    checked = []
    for i, w in enumerate(waveforms):
        w = np.asarray(w)
        if w.ndim != 2:
            raise ValueError(
                f"waveform {i} has shape {w.shape}; expected (time, channels), e.g. w[:, None] for a mono 1-D array."
            )
        if w.shape[0] == 0 or w.shape[1] == 0:
            raise ValueError(f"waveform {i} is empty: shape {w.shape}.")
        if not np.issubdtype(w.dtype, np.number) or np.issubdtype(w.dtype, np.complexfloating):
            raise ValueError(f"waveform {i} must hold real numbers, received dtype {w.dtype}.")
        checked.append(w.astype(np.float32, copy=False))
    return checked


class Extractor:
    """A front-end prepared to run over clips of different lengths (see the module docstring for the rules).

    Args:
        frontend: a kapre layer, a ``keras.Sequential`` of layers, or any Keras layer or model taking waveforms
            ``(batch, time, channels)`` (or ``(batch, channels, time)`` when its first layer has
            ``input_data_format='channels_first'``).

    Attributes:
        frontend: the front-end.
        batched_layers: the leading layers that run on zero-padded batches (empty: the front-end runs whole, only
            waveforms of equal length share a batch).
        per_clip_layers: the layers after them, run clip by clip on the clip's frames.
        masked: indices into ``batched_layers`` of the layers whose input's frames beyond each clip's end are
            zeroed first (the ``"example_max"`` layers).
        channels_first_in: whether the front-end takes ``(batch, channels, time)``.
    """

    def __init__(self, frontend):
        self.frontend = frontend
        self.layers = frontend_layers(frontend)
        self.batched_layers: list = []
        self.per_clip_layers: list = []
        self.masked: frozenset = frozenset()
        self.channels_first_in = _channels_first(self.layers[0]) if self.layers else False
        self._functions: dict = {}
        self._axes: dict = {}
        if not self.layers or _locality(self.layers[0]) != WAVEFORM:
            return
        split, masked = 1, set()
        for i, layer in enumerate(self.layers[1:], start=1):
            kind = _locality(layer)
            if kind == EXAMPLE_MAX:
                masked.add(i)
            elif kind != FRAME:
                break
            split += 1
        self.batched_layers, self.per_clip_layers = self.layers[:split], self.layers[split:]
        self.masked = frozenset(masked)

    @property
    def first_layer(self):
        """The front-end's first layer (a ``"waveform"`` layer when the front-end is batched), else ``None``."""
        return self.layers[0] if self.layers else None

    def _input_shape(self, length, channels: int, batch=1) -> tuple:
        return (batch, channels, length) if self.channels_first_in else (batch, length, channels)

    def _frame_axes(self, channels: int) -> list[int] | None:
        """The frame axis of each batched layer's input (from the second on) and of the last one's output, or
        ``None`` when the shapes do not tell (the front-end then runs whole)."""
        if channels in self._axes:
            return self._axes[channels]
        axes = []
        try:
            shapes = [self._input_shape(n, channels) for n in _PROBE_LENGTHS]
            for layer in self.batched_layers:
                shapes = [tuple(layer.compute_output_shape(shape)) for shape in shapes]
                axis = _time_axis(*shapes)
                if axis is None:
                    axes = None
                    break
                axes.append(axis)
        except Exception:  # compute_output_shape not implemented, or the probe too short for an enormous frame
            axes = None
        self._axes[channels] = axes
        return axes

    @property
    def batched(self) -> bool:
        """Whether clips of different lengths share zero-padded batches."""
        return bool(self.batched_layers)

    def num_frames(self, length: int, channels: int = 1) -> int | None:
        """Frames the front-end outputs for a clip of ``length`` samples, or ``None`` when it does not say (the
        front-end is not batched).

        Raises:
            ValueError: the clip is shorter than one frame (the first layer's message).
        """
        if not self.batched:
            return None
        axes = self._frame_axes(channels)
        if axes is None:
            return None
        return int(self.batched_layers[0].compute_output_shape(self._input_shape(length, channels))[axes[0]])

    def _check_length(self, length: int, channels: int) -> None:
        """The first layer's own error for a clip it cannot take (too short for its frames or its reflect padding),
        before the call: a ``keras.Sequential`` whose first call fails stays configured to that input shape, and
        every later clip would then fail with Keras' shape message instead."""
        first = self.first_layer
        if first is None:
            return
        try:
            first.compute_output_shape(self._input_shape(length, channels))
        except ValueError:
            raise
        except Exception:  # noqa: S110 (compute_output_shape not implemented: the call itself will tell)
            pass

    def _batch_function(self, channels: int):
        """``f(waveforms, frame_mask)`` running the batched layers, compiled (once per shape) on JAX."""
        if channels in self._functions:
            return self._functions[channels]
        import keras

        from kapre import _backend

        axes = self._frame_axes(channels)
        masked = self.masked

        def run(x, mask):
            for i, layer in enumerate(self.batched_layers):
                if i in masked:
                    rank = len(x.shape)
                    shape = [1] * rank
                    shape[0], shape[axes[i - 1]] = -1, mask.shape[1]
                    x = keras.ops.multiply(x, keras.ops.cast(keras.ops.reshape(mask, shape), x.dtype))
                x = layer(x)
            return x

        # Build the layers outside any trace, so that their constants are concrete arrays.
        shape = self._input_shape(None, channels, batch=None)
        for layer in self.batched_layers:
            if not layer.built:
                layer.build(shape)
            shape = layer.compute_output_shape(shape)
        function = _backend.compile_function(run)
        self._functions[channels] = function
        return function

    def __call__(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The front-end's output for each waveform ``(time, channels)``, all in one batch (equal channel counts).

        Use :func:`extract` for many clips: it sorts them by length and splits them into batches. The layers run
        op by op (:func:`kapre._backend.op_by_op`: no fused cluster), so a clip's features are the same bytes
        whatever the process extracted before, in any engine.
        """
        from kapre import _backend

        with _backend.op_by_op():
            return self._extract_batch(waveforms)

    def _extract_batch(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
        import keras

        waveforms = _check_waveforms(waveforms)
        if not waveforms:
            return []
        channels = waveforms[0].shape[1]
        if any(w.shape[1] != channels for w in waveforms):
            counts = sorted({w.shape[1] for w in waveforms})
            raise ValueError(
                f"waveforms of one batch must have equal channel counts, received {counts}; use extract(), which "
                "groups them."
            )
        lengths = [w.shape[0] for w in waveforms]

        def layout(batch):
            return np.transpose(batch, (0, 2, 1)) if self.channels_first_in else batch

        axes = self._frame_axes(channels) if self.batched else None
        if axes is None:  # run whole; only equal lengths can share a batch
            outputs = {}
            for length in sorted(set(lengths)):
                self._check_length(length, channels)
                idx = [i for i, n in enumerate(lengths) if n == length]
                result = keras.ops.convert_to_numpy(self.frontend(layout(np.stack([waveforms[i] for i in idx]))))
                outputs.update((i, np.asarray(result[k])) for k, i in enumerate(idx))
            return [outputs[i] for i in range(len(waveforms))]

        frames = [self.num_frames(n, channels) for n in lengths]
        batch = np.zeros((len(waveforms), _bucket(max(lengths)), channels), dtype=np.float32)
        for i, w in enumerate(waveforms):
            batch[i, : w.shape[0]] = w
        total = self.num_frames(batch.shape[1], channels)
        mask = (np.arange(total)[None, :] < np.array(frames)[:, None]).astype(np.float32)
        result = keras.ops.convert_to_numpy(self._batch_function(channels)(layout(batch), mask))
        time_axis = axes[-1]
        outputs = []
        for i, n_frames in enumerate(frames):
            one = np.take(result[i : i + 1], np.arange(n_frames), axis=time_axis)
            for layer in self.per_clip_layers:
                one = layer(one)
            if self.per_clip_layers:
                one = keras.ops.convert_to_numpy(one)
            outputs.append(np.asarray(one[0]))
        return outputs


def extract(frontend, waveforms: Sequence[np.ndarray], batch_size: int = 16) -> list[np.ndarray]:
    """Run ``frontend`` on each waveform ``(time, channels)``, in zero-padded batches; one output per waveform.

    Each output equals (up to float rounding) ``frontend(waveform[None])[0]``, with the frame count of the waveform's
    own length. Waveforms are grouped by channel count and sorted by length, so that padding costs little.

    Args:
        frontend: a kapre layer, a ``keras.Sequential`` of layers, any Keras layer or model, or an
            :class:`Extractor` (reuse one across calls: on JAX its batches are compiled once per shape).
        waveforms: arrays ``(time, channels)``, of any lengths and channel counts.
        batch_size: most waveforms per batch.

    Returns:
        NumPy arrays, in the order of ``waveforms``.

    Raises:
        TypeError: ``waveforms`` is not a list of arrays.
        ValueError: a waveform is not ``(time, channels)``, is empty, or is shorter than one frame.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, received {batch_size!r}.")
    extractor = frontend if isinstance(frontend, Extractor) else Extractor(frontend)
    waveforms = _check_waveforms(waveforms)
    for i, w in enumerate(waveforms):
        try:
            extractor.num_frames(w.shape[0], w.shape[1])
        except ValueError as err:
            raise ValueError(f"waveform {i}: {err}") from err
    order = sorted(range(len(waveforms)), key=lambda i: (waveforms[i].shape[1], waveforms[i].shape[0], i))
    outputs: list = [None] * len(waveforms)
    start = 0
    while start < len(order):
        channels = waveforms[order[start]].shape[1]
        chunk = [order[start]]
        while (
            len(chunk) < batch_size
            and start + len(chunk) < len(order)
            and waveforms[order[start + len(chunk)]].shape[1] == channels
        ):
            chunk.append(order[start + len(chunk)])
        for i, result in zip(chunk, extractor([waveforms[i] for i in chunk]), strict=True):
            outputs[i] = result
        start += len(chunk)
    return outputs


def extract_files(
    frontend, paths: Sequence[str], sample_rate: int | None = None, mono: bool = True, batch_size: int = 16
) -> list[np.ndarray]:
    """:func:`extract` on audio files, read with :func:`kapre.audio.load_audio` (needs ``soundfile``, and ``soxr``
    to resample).

    Args:
        frontend: as :func:`extract`.
        paths: audio files.
        sample_rate: rate to resample every file to; ``None`` takes the front-end's (:func:`sample_rate_of`), else
            each file's own.
        mono: average the channels first.
        batch_size: most files per batch.

    Raises:
        kapre.audio.AudioError: a file cannot be used (its message names the file); a ``ValueError`` too.
    """
    from kapre.audio import AudioError, load_audio

    extractor = frontend if isinstance(frontend, Extractor) else Extractor(frontend)
    if sample_rate is None:
        sample_rate = sample_rate_of(extractor.frontend)
    waveforms = []
    for path in paths:
        try:
            audio, _ = load_audio(path, sample_rate=sample_rate, mono=mono)
            extractor.num_frames(audio.shape[0], audio.shape[1])
        except AudioError as err:
            raise AudioError(f"{path}: {err}") from err
        except ValueError as err:
            raise AudioError(f"{path}: too short: {err}") from err
        waveforms.append(audio)
    return extract(extractor, waveforms, batch_size=batch_size)
