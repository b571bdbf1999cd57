"""kapre.streaming: causal framing of a stream, the framing and frame-wise stages, the chain's two modes, to_streaming.

The reference of a streamed front-end is the offline front-end (the same layer object, or a model saved and
loaded) on the whole signal: the streamed frames, concatenated, equal its frames one for one (1e-5 relative to
the largest value, float32), whatever the chunking. The time-stateful stages (Delta, PCEN, decibel floors) are in
tests/test_streaming_temporal.py, the inverse STFT in tests/test_streaming_inverse.py, export in
tests/test_streaming_export.py.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kapre
from kapre import frontends, functional
from kapre.streaming import NotStreamable, StreamingFrames, StreamingFrontEnd, to_streaming
from tests.helpers import noise, save_and_load, to_numpy
from tests.layer_registry import CASES

RTOL = 1e-5  # float32: the same per-frame arithmetic, so equal up to the order of the batched products


def random_chunks(length: int, hop: int, seed: int) -> list[tuple[int, int]]:
    """Chunk bounds of random sizes 1 .. 3 * hop, with runs of 1-sample chunks mixed in."""
    rng = np.random.default_rng(seed)
    bounds, start = [], 0
    while start < length:
        size = 1 if rng.random() < 0.2 else int(rng.integers(1, 3 * hop + 1))
        bounds.append((start, min(length, start + size)))
        start += size
    return bounds


def stream(twin, signal, bounds, time_axis=1):
    """``twin`` (internal mode) fed ``signal[:, a:b]`` for each bound; the outputs joined on ``time_axis``."""
    outputs = [to_numpy(twin(signal[:, a:b])) for a, b in bounds]
    return np.concatenate(outputs, axis=time_axis)


def assert_frames_equal(streamed, offline, time_axis, rtol=RTOL):
    """The streamed frames are the offline frames' leading ones (the offline layer may pad past the end)."""
    count = streamed.shape[time_axis]
    assert count > 0
    expected = np.take(offline, np.arange(count), axis=time_axis)
    assert streamed.shape == expected.shape
    scale = max(float(np.abs(expected).max()), 1e-30)
    np.testing.assert_allclose(streamed, expected, rtol=0, atol=rtol * scale)


# -- functional.stream_frames ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("frame_length", "hop", "padding"), [(5, 3, 0), (5, 3, 2), (4, 6, 0), (8, 2, 7)])
def test_stream_frames_cuts_the_offline_frames_for_any_chunking(frame_length, hop, padding):
    signal = np.arange(1, 60, dtype="float32")[None]
    padded = np.concatenate([np.zeros((1, padding), "float32"), signal], axis=1)
    expected = np.stack([padded[0, k * hop : k * hop + frame_length]
                         for k in range(1 + (padded.shape[1] - frame_length) // hop)])
    buffer, due = np.zeros((1, frame_length - 1), "float32"), np.int32(frame_length - padding)
    frames = []
    for a, b in random_chunks(signal.shape[1], hop, seed=frame_length + hop):
        chunk_frames, count, buffer, due = functional.stream_frames(buffer, signal[:, a:b], due, frame_length, hop)
        chunk_frames, count = to_numpy(chunk_frames), int(to_numpy(count))
        assert chunk_frames.shape == (1, -(-(b - a) // hop), frame_length)
        assert not chunk_frames[:, count:].any()  # the slots past the valid frames are zeros
        frames.append(chunk_frames[0, :count])
    np.testing.assert_array_equal(np.concatenate(frames), expected)


# -- every streamable layer of the shared registry ------------------------------------------------------------

def _registry_twins():
    """(case, offline layer, twin) for the registry's waveform cases that convert; the rest are named with the
    reason (asserted below), never dropped silently."""
    converted, refused = [], {}
    for case in CASES:
        if case.dtype != "float32" or case.is_model and case.name.startswith("Compose"):
            continue
        layer = case.factory()
        try:
            twin = to_streaming(layer)
        except NotStreamable as error:
            refused[case.name] = str(error)
            continue
        converted.append(pytest.param(case, id=case.name))
    return converted, refused


CONVERTED, REFUSED = _registry_twins()
# The waveform layers of the registry that must stream (frame-local over the waveform, causal framing)
MUST_STREAM = {"STFT", "STFT-dft", "STFT-pad-hamming", "STFT-channels-first", "STFT-center-constant",
               "MelSpectrogram", "MelSpectrogram-decibel-channels-first", "MelSpectrogram-center-constant"}


def test_the_registry_s_streamable_layers_convert_and_the_others_say_why():
    assert MUST_STREAM <= {p.id for p in CONVERTED}, MUST_STREAM - {p.id for p in CONVERTED}
    for name in ("STFT-center-reflect-array-window", "MelSpectrogram-center-reflect"):
        assert "reflect" in REFUSED[name]


def stream_along(twin, signal, axis, seed=5):
    """``twin`` fed random chunks of ``signal`` cut along ``axis``; the outputs joined on its time axis."""
    outputs = []
    for a, b in random_chunks(signal.shape[axis], twin.hop_length, seed=seed):
        index = [slice(None)] * signal.ndim
        index[axis] = slice(a, b)
        outputs.append(to_numpy(twin(signal[tuple(index)])))
    return np.concatenate(outputs, axis=twin.output_time_axis)


@pytest.mark.parametrize("case", CONVERTED)
def test_registry_layer_streams_frame_for_frame(case):
    """Every registry case that converts: random chunkings (1 .. 3 hops, runs of single samples) == offline."""
    layer = case.factory()
    signal = noise((2, *case.shape_at(700)), seed=3)  # a composed model's input length is fixed (time_axis None)
    offline = to_numpy(layer(signal))
    twin = to_streaming(layer)
    streamed = stream_along(twin, signal, 1 if case.time_axis is None else case.time_axis + 1)
    if case.output_time_axis is not None:
        assert twin.output_time_axis == case.output_time_axis + 1
    assert_frames_equal(streamed, offline, twin.output_time_axis)
