"""Streaming front-ends: the offline front-end, frame by frame, as the audio arrives.

``to_streaming(front_end, mode='internal' | 'external')`` converts an offline front-end (with its weights) into
its streaming twin, a :class:`StreamingFrontEnd`; the stages are also public for building by hand.

Chunks may have any length, one sample included; a frame is returned when its last sample has arrived (plus the
look-ahead of the stages that need one: :attr:`StreamingFrontEnd.latency_samples`). The frames equal the offline
front-end's on the same stream with causal framing: ``center=False`` framing from the first sample (or the offline
layer's own zeros in front: ``center=True`` with constant padding, ``pad_begin``); what needs samples after the
end of the stream (``pad_end``, the last frames of a centred STFT, Delta's last frames) is not produced.
"""

from kapre.streaming._convert import NotStreamable, register_converter, to_streaming
from kapre.streaming._core import StreamingFrames, StreamingFrameWise, StreamingFrontEnd, StreamingStage
from kapre.streaming._inverse import StreamingInverseSTFT
from kapre.streaming._temporal import (
    StreamingDecibelFloor,
    StreamingDecibelReference,
    StreamingDelta,
    StreamingPCEN,
)

__all__ = [
    "to_streaming",
    "register_converter",
    "NotStreamable",
    "StreamingFrontEnd",
    "StreamingStage",
    "StreamingFrames",
    "StreamingFrameWise",
    "StreamingInverseSTFT",
    "StreamingDelta",
    "StreamingPCEN",
    "StreamingDecibelFloor",
    "StreamingDecibelReference",
]
