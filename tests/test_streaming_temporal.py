"""kapre.streaming's time-stateful stages: Delta (look-ahead), PCEN (smoother state), the causal decibel floors.

The reference of a streamed chain is the offline chain (the same layer objects) on the whole signal: the streamed
frames, concatenated, equal its leading frames one for one (1e-5 relative to the largest value, float32),
whatever the chunking. The causal decibel floors and the running ``'max'`` reference have no offline twin; their
reference is computed in NumPy from the offline output without the floor (the maximum over the frames up to and
including each frame, per example).

Every chain here shares one STFT geometry and the chunk sizes come from a small set (random order and mix), so
that eager JAX compiles few shapes: the file stays well under 40 s per backend.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kapre
from kapre import frontends
from kapre.streaming import (
    StreamingDecibelFloor,
    StreamingDecibelReference,
    StreamingDelta,
    StreamingFrameWise,
    StreamingFrontEnd,
    StreamingPCEN,
    to_streaming,
)
from kapre.utils import AmplitudeToDB
from tests.helpers import noise, save_and_load, to_numpy

RTOL = 1e-5  # float32, relative to the largest value of the reference
SR, N_FFT, HOP, N_MELS = 16000, 64, 32, 10
LENGTH = 640  # 19 frames
# 1-sample chunks, chunks below, at and above the hop, up to 3 hops: slot counts 1, 2 and 3
CHUNK_SIZES = (1, 1, 1, 5, 31, 32, 33, 64, 96)


def random_chunks(length: int, seed: int) -> list[tuple[int, int]]:
    """Chunk bounds of sizes drawn at random (seeded) from CHUNK_SIZES, mixed."""
    rng = np.random.default_rng(seed)
    bounds, start = [], 0
    while start < length:
        size = int(rng.choice(CHUNK_SIZES))
        bounds.append((start, min(length, start + size)))
        start += size
    return bounds


def signal(seed=0, burst=False, length=LENGTH):
    """``(2, length, 1)`` noise; ``burst``: at 1 % for the first third, full level, then at 0.1 % (-40, 0, -60 dB):
    the running maximum differs from the clip's before the burst, and floors the frames after it."""
    x = noise((2, length, 1), seed=seed)
    if burst:
        envelope = np.full(length, 0.001, "float32")
        envelope[: length // 3], envelope[length // 3 : 2 * length // 3] = 0.01, 1.0
        x = x * envelope[None, :, None]
    return x


X = signal(seed=3, burst=True)  # the signal of the PCEN chains


def stream(twin, x, bounds):
    """``twin`` (internal mode) fed ``x[:, a:b]`` for each bound; the outputs joined on its output time axis."""
    outputs = [to_numpy(twin(x[:, a:b])) for a, b in bounds]
    return np.concatenate(outputs, axis=twin.output_time_axis)


def assert_frames_equal(streamed, reference, time_axis, expected_count=None, rtol=RTOL):
    count = streamed.shape[time_axis]
    if expected_count is not None:
        assert count == expected_count
    assert count > 0
    expected = np.take(reference, np.arange(count), axis=time_axis)
    assert streamed.shape == expected.shape
    scale = max(float(np.abs(expected).max()), 1e-30)
    np.testing.assert_allclose(streamed, expected, rtol=0, atol=rtol * scale)


def stft(output_format="channels_last"):
    return kapre.STFT(n_fft=N_FFT, hop_length=HOP, center=False, input_data_format="channels_last",
                      output_data_format=output_format)


def mel_front(output_format="channels_last"):
    """STFT -> Magnitude -> mel filterbank: non-negative (batch, frames, mels, 1) or (batch, 1, frames, mels)."""
    return [stft(output_format), kapre.Magnitude(),
            kapre.ApplyFilterbank("mel", dict(sample_rate=SR, n_freq=N_FFT // 2 + 1, n_mels=N_MELS),
                                  data_format=output_format)]


def frames_of(length=LENGTH):
    return 1 + (length - N_FFT) // HOP


# -- PCEN and Delta ---------------------------------------------------------------------------------------------


def _pcen(learnable, data_format="channels_last"):
    if learnable:
        return kapre.PCEN(learnable=True, gain=0.96, smooth_coef=0.04, eps=1e-12, max_size=3, data_format=data_format)
    return kapre.PCEN(sr=SR, hop_length=HOP, data_format=data_format)


def _train(pcen):
    """Weights away from the initial values, some past LEAF's constraints (as after training)."""
    rng = np.random.default_rng(7)
    pcen.set_weights([rng.uniform(low, high, (N_MELS,)).astype("float32")
                      for low, high in ((0.7, 1.1), (0.5, 3.0), (1.0, 4.0), (0.01, 0.3))])


_CHAINS = {}


def _pcen_chain(learnable, data_format="channels_last", delta=None):
    """``(offline, pcen, offline(X))``: mel front-end -> PCEN (-> Delta(win_length, mode)), a learnable PCEN's
    weights trained, and its output on ``X``. Shared by the tests (one compilation of the offline layers)."""
    key = (learnable, data_format, delta)
    if key not in _CHAINS:
        pcen = _pcen(learnable, data_format)
        layers = [*mel_front(data_format), pcen]
        if delta is not None:
            layers.append(kapre.Delta(*delta, data_format=data_format))
        offline = keras.Sequential(layers)
        offline(X)  # built
        if learnable:
            _train(pcen)
        _CHAINS[key] = offline, pcen, to_numpy(offline(X))
    return _CHAINS[key]


def smoother_state(offline, pcen):
    """PCEN's smoother at the last frame of ``X`` (its ``return_state``), by the recurrence in NumPy (float64)."""
    mel = X
    for layer in offline.layers[:3]:  # the mel front-end
        mel = layer(mel)
    time_axis, freq_axis = pcen._time_axis, pcen._freq_axis
    x = np.maximum(np.moveaxis(to_numpy(mel).astype("float64"), (time_axis, freq_axis), (1, -1)), 0.0)
    if pcen._params.learnable:  # LEAF's start and max_size=3 over frequency; the constrained coefficient
        padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(1, 1)])
        x = np.maximum(np.maximum(padded[..., :-2], padded[..., 1:-1]), padded[..., 2:])
        coef, smoother = np.clip(pcen.get_weights()[3], 0.0, 1.0), x[:, 0]
    else:  # librosa's start, M[-1] = 1
        coef, smoother = pcen._params.b, np.ones_like(x[:, 0])
    for t in range(x.shape[1]):
        smoother = (1.0 - coef) * smoother + coef * x[:, t]
    return np.moveaxis(smoother, -1, freq_axis - 1)  # one frame: the input's layout without the time axis


@pytest.mark.parametrize(("learnable", "data_format", "delta"), [
    (False, "channels_last", (5, "symmetric")),
    (True, "channels_first", (3, "reflect")),  # Delta's 'constant' mode: test_stages_build_by_hand
])
def test_pcen_and_delta_chain_streams_the_offline_frames(learnable, data_format, delta):
    """librosa's PCEN (sr, hop) and LEAF's learnable one (trained weights), each followed by a Delta: every frame
    but Delta's last W (which need the end of the stream) equals the offline chain's, the left edge included."""
    offline, pcen, reference = _pcen_chain(learnable, data_format, delta)
    twin = to_streaming(offline)
    assert [type(s) for s in twin.stages[-2:]] == [StreamingPCEN, StreamingDelta]
    assert twin.stages[-2].layer is pcen  # the offline layer's own weights
    half = delta[0] // 2
    assert twin.latency_samples == half * HOP
    streamed = stream(twin, X, random_chunks(LENGTH, seed=delta[0]))
    assert_frames_equal(streamed, reference, twin.output_time_axis, frames_of() - half)
    # PCEN's state is the smoother at the last frame (the offline layer's return_state)
    [smoother] = [v for k, v in twin.get_state().items() if k.endswith("/smoother")]
    np.testing.assert_allclose(smoother, smoother_state(offline, pcen), rtol=1e-5, atol=1e-6)


def test_pcen_and_delta_latency_is_what_one_sample_feeding_observes():
    """Frame k reads samples up to k * hop + n_fft - 1; with Delta's W frames of look-ahead it is emitted when the
    sample W * hop later arrives, and not before. Driven through the compiled external step."""
    offline, _, reference = _pcen_chain(False, "channels_last", (5, "symmetric"))
    length = 200
    twin = to_streaming(offline, mode="external")
    assert twin.latency_samples == 2 * HOP
    step, state = twin.compiled_step(), twin.initial_state(2, 1)
    emitted, frames = [], []
    for i in range(length):
        features, state = step(X[:, i : i + 1], state)
        count = int(to_numpy(state["num_frames"])[0])
        emitted += [i] * count
        frames.append(to_numpy(features)[:, :count])
    last_read = np.arange(len(emitted)) * HOP + N_FFT - 1
    assert len(emitted) == frames_of(length) - 2
    np.testing.assert_array_equal(np.asarray(emitted) - last_read, twin.latency_samples)
    assert_frames_equal(np.concatenate(frames, axis=1), reference, 1, len(emitted))


def test_pcen_twin_follows_weight_changes_after_conversion():
    offline, pcen, reference = _pcen_chain(True)
    twin = to_streaming(offline)
    assert_frames_equal(stream(twin, X, random_chunks(LENGTH, seed=11)), reference, 1, frames_of())
    _CHAINS.pop((True, "channels_last", None))  # its weights change here
    pcen.set_weights([w * 1.05 for w in pcen.get_weights()])  # e.g. trained on after conversion
    twin.reset_state()
    streamed = stream(twin, X, random_chunks(LENGTH, seed=12))
    assert_frames_equal(streamed, to_numpy(offline(X)), twin.output_time_axis, frames_of())


# -- decibel floors and references ------------------------------------------------------------------------------


def running_max(values):
    """The maximum of each example over every non-batch axis and the frames (axis 1) up to each frame."""
    per_frame = values.reshape(values.shape[0], values.shape[1], -1).max(axis=-1)
    return np.maximum.accumulate(per_frame, axis=1)[:, :, None, None]


def _mel_db(dynamic_range):
    return kapre.MelSpectrogram(n_fft=N_FFT, hop_length=HOP, sample_rate=SR, n_mels=N_MELS, return_decibel=True,
                                db_dynamic_range=dynamic_range, input_data_format="channels_last",
                                output_data_format="channels_last")


def test_melspectrogram_decibel_floor_is_causal():
    x = signal(seed=6, burst=True)
    raw = to_numpy(_mel_db(None)(x))  # the decibels without the per-clip floor
    twin = to_streaming(_mel_db(30.0))  # db_floor='running_max'
    expected = np.maximum(raw, running_max(raw) - 30.0)
    assert not np.array_equal(expected, raw)  # the floor bites
    assert (expected != np.maximum(raw, raw.max(axis=(1, 2, 3), keepdims=True) - 30.0)).any()  # not per clip
    streamed = stream(twin, x, random_chunks(LENGTH, seed=13))
    assert_frames_equal(streamed, expected, 1, frames_of())


def test_mel_features_floor_converts_through_the_factory():
    def features(dynamic_range):
        return frontends.MelFeatures(sample_rate=SR, n_fft=N_FFT, hop_length=HOP, center=False, n_mels=N_MELS,
                                     log="db", log_floor=1e-10, dynamic_range=dynamic_range)

    x = signal(seed=7, burst=True)[..., 0]
    raw = to_numpy(features(None)(x))  # (batch, frames, mels)
    twin = to_streaming(features(30.0))
    assert isinstance(twin.stages[-1], StreamingDecibelFloor) and twin.stages[-1].floor == "running_max"
    expected = np.maximum(raw, running_max(raw[..., None])[..., 0] - 30.0)
    assert_frames_equal(stream(twin, x, random_chunks(LENGTH, seed=14)), expected, 1, frames_of())


DECIBEL_CASES = {  # offline layer, its amin, its floor (dB), whether its reference is the maximum, db_floor
    "ref-max": (lambda: kapre.MagnitudeToDecibel(ref_value="max", dynamic_range=40.0), 1e-5, 40.0, True,
                "running_max"),
    "amplitude-to-db": (lambda: AmplitudeToDB(top_db=40.0), 1e-10, 40.0, True, "running_max"),
    "ref-1-fixed": (lambda: kapre.MagnitudeToDecibel(ref_value=1.0, dynamic_range=40.0), 1e-5, 40.0, False, "fixed"),
}


@pytest.mark.parametrize("case", sorted(DECIBEL_CASES))
def test_decibel_layers_stream_with_a_running_reference_and_floor(case):
    factory, amin, floor, reference, db_floor = DECIBEL_CASES[case]
    x = signal(seed=8, burst=True)
    front = [stft(), kapre.Magnitude()]
    raw = to_numpy(keras.Sequential([*front, kapre.MagnitudeToDecibel(amin=amin, dynamic_range=None)])(x))
    twin = to_streaming(keras.Sequential([*front, factory()]), db_floor=db_floor)
    assert isinstance(twin.stages[-1], StreamingDecibelFloor) and twin.stages[-1].floor == db_floor
    if reference:  # relative to the loudest frame so far (at most 0 dB), floored below that 0 dB
        assert isinstance(twin.stages[-2], StreamingDecibelReference)
        expected = np.maximum(raw - running_max(raw), -floor)
    else:  # 'fixed': below the reference, 0 dB
        expected = np.maximum(raw, -floor)
    assert not np.array_equal(expected, raw if not reference else raw - running_max(raw))  # the floor bites
    streamed = stream(twin, x, random_chunks(LENGTH, seed=15))
    assert_frames_equal(streamed, expected, 1, frames_of())
    if reference:  # the loudest frame so far is at 0 dB (to rounding: a compiled step may fuse the two passes)
        np.testing.assert_allclose(streamed.max(axis=(1, 2, 3)), 0.0, atol=1e-5)


# -- the modes, reset, serialization --------------------------------------------------------------------------


def _all_stateful_chain():
    """PCEN, then decibels with a running reference and floor, then Delta: every kind of state of this module."""
    return keras.Sequential([*mel_front(), kapre.PCEN(sr=SR, hop_length=HOP, data_format="channels_last"),
                             kapre.MagnitudeToDecibel(ref_value="max", dynamic_range=40.0),
                             kapre.Delta(3, data_format="channels_last")])


def test_external_mode_equals_internal_and_reset_starts_over():
    offline = _all_stateful_chain()
    x, other = signal(seed=9), signal(seed=10)
    bounds = [(a, min(LENGTH, a + 33)) for a in range(0, 200, 33)]  # 3 sizes (eager external: 1 trace each)
    bounds += [(a, a + 1) for a in range(bounds[-1][1], bounds[-1][1] + 40)]
    bounds += [(a, min(LENGTH, a + 96)) for a in range(bounds[-1][1], LENGTH, 96)]
    internal = to_streaming(offline)
    first = stream(internal, x, bounds)

    external = to_streaming(offline, mode="external")
    state = external.initial_state(2, 1)
    assert {k.split("/")[-1] for k in state} >= {"ring", "count", "smoother", "max", "num_frames"}
    outputs = []
    for a, b in bounds:
        features, state = external(x[:, a:b], state)
        features, count = to_numpy(features), int(to_numpy(state["num_frames"])[0])
        assert features.shape[1] == -(-(b - a) // HOP)  # the fixed slot count
        assert not features[:, count:].any()  # invalid slots are zero
        outputs.append(features[:, :count])
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), first, rtol=0, atol=1e-6 * np.abs(first).max())

    # reset after part of another stream: the first stream again, exactly as the fresh twin gave it
    stream(internal, other, bounds[:7])
    internal.reset_state()
    again = stream(internal, x, bounds)
    np.testing.assert_array_equal(again, first)


def test_stages_serialize_and_the_offline_model_survives_save_load(tmp_path):
    for stage in (StreamingDelta(7, "Reflect", "channels_first"), StreamingDecibelFloor(50.0, "fixed"),
                  StreamingDecibelReference()):
        clone = type(stage).from_config(stage.get_config())
        assert clone.get_config() == stage.get_config()
    pcen_stage = StreamingPCEN(kapre.PCEN(learnable=True, data_format="channels_last"))
    clone = StreamingPCEN.from_config(pcen_stage.get_config())
    assert clone.layer.get_config() == pcen_stage.layer.get_config()

    # a stream begun on the offline model's twin continues on the twin of the model saved and loaded
    offline, _, reference = _pcen_chain(True, "channels_last", (3, "symmetric"))
    loaded = save_and_load(offline, tmp_path)
    x = X
    bounds = random_chunks(LENGTH, seed=17)
    before, after = bounds[: len(bounds) // 2], bounds[len(bounds) // 2 :]
    twin = to_streaming(offline)
    first = stream(twin, x, before)
    reloaded = to_streaming(loaded)
    reloaded(x[:, :1])  # its state variables
    reloaded.set_state(twin.get_state())
    streamed = np.concatenate([first, stream(reloaded, x, after)], axis=1)
    assert_frames_equal(streamed, reference, 1, frames_of() - 1)


def test_stages_build_by_hand():
    framer = to_streaming(stft()).stages[0]
    twin = StreamingFrontEnd([framer, StreamingFrameWise(kapre.Magnitude()),
                              StreamingDelta(3, "constant", "channels_last")])
    x = signal(seed=12)
    offline = keras.Sequential([framer.layer, kapre.Magnitude(), kapre.Delta(3, "constant", "channels_last")])
    assert twin.latency_samples == HOP
    assert_frames_equal(stream(twin, x, random_chunks(LENGTH, seed=18)), to_numpy(offline(x)), 1, frames_of() - 1)


def test_arguments_are_validated():
    with pytest.raises(ValueError, match="win_length"):
        StreamingDelta(4)
    with pytest.raises(ValueError, match="mode"):
        StreamingDelta(5, "edge")
    with pytest.raises(ValueError, match="dynamic_range"):
        StreamingDecibelFloor(-3.0)
    with pytest.raises(ValueError, match="floor"):
        StreamingDecibelFloor(80.0, "clip")
    with pytest.raises(TypeError, match="layer"):
        StreamingPCEN(kapre.Delta())
    with pytest.raises(ValueError, match="db_floor"):
        to_streaming(_mel_db(80.0), db_floor="max")
    # the frames on another axis than the offline layer's time axis
    twin = to_streaming(keras.Sequential([stft(), kapre.Magnitude(), kapre.Delta(data_format="channels_first")]))
    with pytest.raises(ValueError, match="axis"):
        twin(signal()[:, :N_FFT])
