"""``to_streaming``: an offline front-end (a layer, a Sequential or a chain of layers) to its streaming twin.

Each offline layer class maps to streaming stages through a converter registered here
(:func:`register_converter`); a frame-local layer (``frame_locality == 'frame'``) needs none.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from kapre import _validation as V
from kapre._layer import FRAME
from kapre.streaming._core import MODES, StreamingFrames, StreamingFrameWise, StreamingFrontEnd, StreamingStage

_CONVERTERS: dict[type, Callable] = {}


def register_converter(*classes):
    """Decorator: ``fn(layer, options) -> list of StreamingStage`` converts layers of ``classes``."""

    def decorate(fn):
        for cls in classes:
            _CONVERTERS[cls] = fn
        return fn

    return decorate


class NotStreamable(ValueError):
    """A front-end that has no causal streaming form (the error names the layer and the reason)."""


def refuse(layer, reason: str):
    raise NotStreamable(f"{type(layer).__name__} ({layer.name!r}) has no streaming form: {reason}")


def copy_with(layer, **changes):
    """A new layer of ``layer``'s class with its config changed by ``changes`` and its weights copied."""
    config = layer.get_config()
    config.update(changes)
    config["name"] = layer.name + "_streaming"
    twin = type(layer).from_config(config)
    if layer.weights:
        if not twin.built and getattr(layer, "_build_shapes_dict", None):
            twin.build(next(iter(layer._build_shapes_dict.values())))
        twin.set_weights(layer.get_weights())
    return twin


def _offline_layers(model_or_layer) -> list:
    """The layers of a front-end in order: a layer, a Sequential, or a functional model that is one chain."""
    if isinstance(model_or_layer, keras.Sequential):
        return [layer for layer in model_or_layer.layers if not isinstance(layer, keras.layers.InputLayer)]
    if isinstance(model_or_layer, keras.Model) and hasattr(model_or_layer, "_operations"):
        layers = [op for op in model_or_layer.operations if not isinstance(op, keras.layers.InputLayer)]
        for earlier, later in zip(layers, layers[1:], strict=False):
            nodes = later._inbound_nodes
            inbound = {node.operation for node in nodes[0].parent_nodes} if nodes else set()
            if inbound and earlier not in inbound:
                raise NotStreamable(f"to_streaming converts a chain of layers; {later.name!r} does not take "
                                    f"{earlier.name!r}'s output.")
        if len(model_or_layer.inputs) != 1 or len(model_or_layer.outputs) != 1:
            raise NotStreamable("to_streaming converts a model with one input and one output.")
        return layers
    if isinstance(model_or_layer, keras.layers.Layer):
        return [model_or_layer]
    raise TypeError(f"to_streaming takes a Keras layer or model, received {type(model_or_layer).__name__}.")


def stages_of(layer, options: dict) -> list[StreamingStage]:
    """The streaming stages of one offline layer."""
    if isinstance(layer, StreamingStage):
        return [layer]
    for cls in type(layer).__mro__:
        if cls in _CONVERTERS:
            return list(_CONVERTERS[cls](layer, options))
    if isinstance(layer, keras.Sequential):
        return [stage for inner in _offline_layers(layer) for stage in stages_of(inner, options)]
    if getattr(layer, "frame_locality", None) == FRAME:
        return [StreamingFrameWise(layer)]
    refuse(layer, "it is not one of kapre's streamable layers (framing layers, frame-wise layers, Delta, PCEN, "
                  "decibels, InverseSTFT).")


def to_streaming(model_or_layer, mode="internal", *, db_floor="running_max", **options) -> StreamingFrontEnd:
    """The streaming twin of an offline front-end, with the same weights.

    Args:
        model_or_layer: a built or unbuilt offline front-end: one kapre layer, a ``keras.Sequential`` of them
            (a :func:`kapre.composed` front-end included) or a functional model that is one chain. Its first
            layer frames the waveform (``STFT``, ``MelSpectrogram``, the Kaldi and YAMNet/VGGish front-ends of
            :mod:`kapre.frontends`, ...).
        mode: ``'internal'`` (state in variables of the twin, ``twin(chunk)``, ``twin.reset_state()``) or
            ``'external'`` (``twin(chunk, state) -> (features, new_state)``, ``twin.initial_state(...)``).
        db_floor: how a per-clip decibel floor (``dynamic_range`` dB below each example's maximum, which needs
            the whole clip) is made causal: ``'running_max'`` (below the maximum so far, per example),
            ``'fixed'`` (below the reference, 0 dB) or ``None`` (no floor).
        **options: ``istft_engine='fft'`` (default) or ``'dft'``: how a streamed ``InverseSTFT`` computes its
            inverse transform (``'dft'``: one matrix product, no FFT op, for export).

    Returns:
        a :class:`StreamingFrontEnd`.

    Raises:
        NotStreamable: a layer with no causal form (reflect padding at the start, a per-clip mean, a target
        length, dither, ...), named with the reason.
    """
    V.check_choice("mode", mode, MODES)
    V.check_choice("db_floor", db_floor, ("running_max", "fixed", None))
    options = dict(options, db_floor=db_floor)
    layers = _offline_layers(model_or_layer)
    stages = [stage for layer in layers for stage in stages_of(layer, options)]
    if not isinstance(stages[0], StreamingFrames):
        raise NotStreamable(f"The first layer of a streaming front-end frames the waveform; {layers[0].name!r} "
                            f"({type(layers[0]).__name__}) does not.")
    name = f"{getattr(model_or_layer, 'name', 'front_end')}_streaming"
    return StreamingFrontEnd(stages, mode=mode, name=name)


# -- the framing layers ---------------------------------------------------------------------------------------


def _centered_window(layer):
    return np.asarray(layer._framing.centered_window(), dtype=np.float64)


def _waveform_layer_stages(layer, options, extra_changes=None):
    """STFT and MelSpectrogram: their own framing, causal whatever ``center`` / ``pad_begin`` say at the start."""
    framing = layer._framing
    changes = dict(extra_changes or {})
    if framing.center:
        if framing.pad_mode == "reflect":
            refuse(layer, "center=True with pad_mode='reflect' mirrors samples that have not arrived yet; use "
                          "pad_mode='constant' (zeros before the stream) or center=False.")
        padding, frame_length = layer.n_fft // 2, layer.n_fft
        changes.update(center=False, win_length=layer.n_fft, window_name=_centered_window(layer).tolist())
    else:
        padding, frame_length = 0, framing.frame_length
        if getattr(framing, "pad_begin", False):
            padding = max(0, layer.n_fft - framing.hop_length)
            changes["pad_begin"] = False
        if getattr(framing, "pad_end", False):
            changes["pad_end"] = False  # end padding would pad each frame; the stream's end is not known
    if padding >= frame_length:
        refuse(layer, f"its {padding} samples of left padding reach past the first frame ({frame_length} samples).")
    frame_layer = copy_with(layer, **changes) if changes else layer
    input_kind = "channels_last" if layer._input_format == V.CH_LAST else "channels_first"
    time_axis = 1 if layer._output_format == V.CH_LAST else 2
    framer = StreamingFrames(frame_layer, frame_length, framing.hop_length, padding, input_kind, time_axis)
    return framer, time_axis


def _stft_stages(layer, options):
    framer, _ = _waveform_layer_stages(layer, options)
    return [framer]


def _mel_stages(layer, options):
    """MelSpectrogram; in decibels, a per-clip reference (``db_ref_value='max'``) and floor become causal stages
    (one frame at a time, the layer would take each frame's own maximum)."""
    floor = layer.return_decibel and layer.db_dynamic_range is not None
    reference = layer.return_decibel and layer.db_ref_value == "max"
    changes = {}
    if floor:
        changes["db_dynamic_range"] = None
    if reference:  # decibels against 1, then against the running maximum (a constant offset cancels)
        changes["db_ref_value"] = 1.0
    framer, _ = _waveform_layer_stages(layer, options, changes or None)
    stages = [framer]
    if reference:
        stages.append(_REFERENCE_FACTORY(name=layer.name + "_reference"))
    if floor:
        stages.extend(decibel_floor_stages(layer.db_dynamic_range, options))
    return stages


def decibel_floor_stages(dynamic_range, options) -> list[StreamingStage]:
    """The causal floor ``options['db_floor']`` asks for, as stages (set by the decibel module)."""
    return _FLOOR_FACTORY(dynamic_range, options.get("db_floor", "running_max"))


def _no_floor(dynamic_range, floor):
    raise NotStreamable("A causal decibel floor is not available in this build.")


_FLOOR_FACTORY = _no_floor


def set_floor_factory(fn) -> None:
    global _FLOOR_FACTORY
    _FLOOR_FACTORY = fn


_REFERENCE_FACTORY = None  # the causal decibel reference stage's class (set by the decibel module)


def set_reference_factory(fn) -> None:
    global _REFERENCE_FACTORY
    _REFERENCE_FACTORY = fn


def _frontend_stages(layer, options):
    """The model front-ends of kapre.frontends that frame causally (Kaldi with snip_edges, YAMNet/VGGish, ...)."""
    from kapre.frontends import FRAMES_FIRST, KaldiFeatures, MelFeatures

    time_axis = 1 if layer.layout == FRAMES_FIRST else 2
    if isinstance(layer, KaldiFeatures):
        if layer.frame_locality is None:
            refuse(layer, "Kaldi features stream with snip_edges=True, subtract_mean=False, dither=0 and no "
                          "target_length (mirrored edges, a per-utterance mean, a fixed length and random dither "
                          "need the whole utterance).")
        framing = layer._framing
        return [StreamingFrames(layer, framing.size, framing.shift, 0, "samples", time_axis)]
    assert isinstance(layer, MelFeatures)
    if layer.center or layer.pad or layer.pad_or_trim is not None or layer.patch_frames is not None:
        refuse(layer, "it centres, pads, trims or groups frames into patches; the streaming form is the plain "
                      "log-mel framing (YAMNet's and VGGish's frames, patches=False).")
    stages = []
    changes = {}
    if layer.log is not None and layer.dynamic_range is not None:
        if layer.dynamic_range_over == "batch":
            refuse(layer, "a floor taken over the whole batch has no causal form.")
        if layer.n_mfcc is not None or layer.norm_mean != 0.0 or layer.norm_std != 1.0:
            refuse(layer, "its per-clip decibel floor comes before the DCT or the normalisation; a causal floor "
                          "there is not offered (set dynamic_range=None).")
        changes["dynamic_range"] = None
    frame_layer = copy_with(layer, **changes) if changes else layer
    framing = layer._stft_framing
    stages.append(StreamingFrames(frame_layer, framing.frame_length, framing.hop_length, 0, "samples", time_axis))
    if changes:
        stages.extend(decibel_floor_stages(layer.dynamic_range, options))
    return stages


def _stft_spectrogram_stages(layer, options):
    """Keras' STFTSpectrogram with ``padding='valid'`` (``'same'`` pads the start by a length-dependent amount)."""
    if layer.padding != "valid":
        refuse(layer, "padding='same' pads the start by an amount that depends on the signal's length; use "
                      "padding='valid'.")
    channels_last = layer.data_format == "channels_last"
    return [StreamingFrames(layer, layer.frame_length, layer._frame_step, 0,
                            "channels_last" if channels_last else "channels_first", 1 if channels_last else 2)]


def _legacy_stages(layer, options):
    """kapre 0.2's (and the DAS fork's) Spectrogram and Melspectrogram with ``padding='valid'``."""
    if layer.padding != "valid":
        refuse(layer, "padding='same' pads the start by an amount that depends on the signal's length; use "
                      "padding='valid'.")
    if getattr(layer, "return_decibel_melgram", False) or getattr(layer, "return_decibel_spectrogram", False):
        refuse(layer, "its decibels are relative to each example's maximum (kapre 0.2's rule), which needs the whole "
                      "clip; stream it without decibels and add kapre.MagnitudeToDecibel.")
    input_kind = "channels_first" if layer._input_layout == "(batch, channels, samples)" else "channels_last"
    time_axis = 2 if layer._format == V.CH_LAST else 3
    return [StreamingFrames(layer, layer.n_dft, layer._hop, 0, input_kind, time_axis)]


def _register_builtin_converters():
    from kapre.frontends import KaldiFeatures, MelFeatures
    from kapre.legacy import Spectrogram
    from kapre.melspectrogram import MelSpectrogram
    from kapre.stft_spectrogram import STFTSpectrogram
    from kapre.time_frequency import STFT

    register_converter(STFT)(_stft_stages)
    register_converter(MelSpectrogram)(_mel_stages)
    register_converter(KaldiFeatures, MelFeatures)(_frontend_stages)
    register_converter(STFTSpectrogram)(_stft_spectrogram_stages)
    register_converter(Spectrogram)(_legacy_stages)


_register_builtin_converters()
