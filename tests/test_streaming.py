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
            to_streaming(layer)
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


# -- latency, empty steps, the two modes ----------------------------------------------------------------------


def _mel(**kwargs):
    return kapre.MelSpectrogram(n_fft=128, win_length=100, hop_length=40, sample_rate=8000, n_mels=16,
                                return_decibel=False, input_data_format="channels_last",
                                output_data_format="channels_last", **kwargs)


@pytest.mark.parametrize("center", [False, True])
def test_a_frame_comes_out_with_the_sample_that_completes_it(center):
    """Fed one sample at a time, frame k appears exactly when the last sample it reads arrives (latency 0);
    a step that completes no frame returns zero frames."""
    layer = _mel(center=center)
    twin = to_streaming(layer)
    assert twin.latency_samples == 0
    signal = noise((1, 300, 1), seed=1)
    padding = 64 if center else 0  # center=True: n_fft // 2 zeros before the stream, frames of n_fft
    frame_length = 128 if center else 100
    emitted = []
    for t in range(300):
        out = to_numpy(twin(signal[:, t : t + 1]))
        assert out.shape[0] == 1 and out.shape[2:] == (16, 1) and out.shape[1] in (0, 1)
        emitted.extend([t] * out.shape[1])
    last_read = [k * 40 + frame_length - 1 - padding for k in range(len(emitted))]
    assert emitted == last_read and len(emitted) == 1 + (300 + padding - frame_length) // 40


def test_external_state_equals_internal_and_reset_starts_over():
    layer = keras.Sequential([kapre.STFT(n_fft=128, hop_length=48, engine="dft", input_data_format="channels_last",
                                         output_data_format="channels_last"), kapre.Magnitude()])
    signal = noise((3, 900, 2), seed=2)
    bounds = random_chunks(900, 48, seed=7)
    internal = to_streaming(layer)
    first = stream(internal, signal, bounds)
    internal.reset_state()
    np.testing.assert_array_equal(stream(internal, signal, bounds), first)  # exactly: the same computation
    external = to_streaming(layer, mode="external")
    state = external.initial_state(batch_size=3, channels=2)
    outputs = []
    for a, b in bounds:
        features, state = external(signal[:, a:b], state)
        count = int(to_numpy(state["num_frames"])[0])
        features = to_numpy(features)
        assert not features[:, count:].any()  # the slots past the valid frames are zeros
        outputs.append(features[:, :count])
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), first, rtol=0, atol=RTOL * np.abs(first).max())
    assert_frames_equal(first, to_numpy(layer(signal)), 1)


def test_state_survives_keras_save_and_load_of_the_offline_model_and_reconversion(tmp_path):
    """Half a stream through the twin of a model with trained weights, the model saved and loaded, a new twin
    continues from the first twin's state: the whole stream equals the offline model (and the uninterrupted
    twin), in both modes."""
    inputs = keras.Input((None, 1))
    stft = kapre.STFT(n_fft=64, hop_length=24, engine="dft", trainable_kernel=True, name="stft",
                      input_data_format="channels_last", output_data_format="channels_last")
    outputs = kapre.ApplyFilterbank("mel", {"sample_rate": 8000, "n_freq": 33, "n_mels": 10},
                                    data_format="channels_last")(kapre.Magnitude()(stft(inputs)))
    model = keras.Model(inputs, outputs)
    kernel = to_numpy(stft.dft_kernel)
    stft.dft_kernel.assign(kernel * np.random.default_rng(0).uniform(0.8, 1.2, kernel.shape).astype("float32"))
    signal = noise((2, 600, 1), seed=4)
    bounds = random_chunks(600, 24, seed=9)
    half = len(bounds) // 2
    reference = to_numpy(model(signal))

    first = to_streaming(model, mode="external")
    state = first.initial_state(2, 1)
    outputs = []
    for a, b in bounds[:half]:
        features, state = first(signal[:, a:b], state)
        outputs.append(to_numpy(features)[:, : int(to_numpy(state["num_frames"])[0])])
    second = to_streaming(save_and_load(model, tmp_path), mode="external")
    assert set(second.initial_state(2, 1)) == set(state)
    for a, b in bounds[half:]:
        features, state = second(signal[:, a:b], state)
        outputs.append(to_numpy(features)[:, : int(to_numpy(state["num_frames"])[0])])
    assert_frames_equal(np.concatenate(outputs, axis=1), reference, 1)

    internal = to_streaming(model)
    part = [to_numpy(internal(signal[:, a:b])) for a, b in bounds[:half]]
    (tmp_path / "again").mkdir()
    resumed = to_streaming(save_and_load(model, tmp_path / "again"))
    resumed(signal[:, :0])  # builds the state variables
    resumed.set_state(internal.get_state())
    part += [to_numpy(resumed(signal[:, a:b])) for a, b in bounds[half:]]
    assert_frames_equal(np.concatenate(part, axis=1), reference, 1)


def test_streaming_front_end_config_round_trip():
    twin = to_streaming(keras.Sequential([_mel(), kapre.LogmelToMFCC(n_mfccs=8, data_format="channels_last")]))
    clone = StreamingFrontEnd.from_config(twin.get_config())
    assert [type(s).__name__ for s in clone.stages] == [type(s).__name__ for s in twin.stages]
    signal = noise((1, 500, 1), seed=6)
    bounds = random_chunks(500, 40, seed=1)
    np.testing.assert_allclose(stream(clone, signal, bounds), stream(twin, signal, bounds), rtol=0, atol=1e-5)
    assert isinstance(clone.stages[0], StreamingFrames) and clone.hop_length == 40 and clone.frame_length == 100


# -- what has no streaming form, and bad input ----------------------------------------------------------------


@pytest.mark.parametrize(("layer", "reason"), [
    (kapre.STFT(n_fft=64, center=True, pad_mode="reflect"), "reflect"),
    (frontends.kaldi_fbank(snip_edges=False, dither=0.0), "snip_edges=True"),
    (frontends.kaldi_fbank(snip_edges=True, dither=1.0), "dither"),
    (frontends.whisper_log_mel(), "centres, pads, trims"),
    (kapre.Magnitude(), "frames the waveform"),
    (keras.layers.Dense(3), "not one of kapre's streamable layers"),
])
def test_layers_without_a_causal_form_are_refused_with_the_reason(layer, reason):
    with pytest.raises(NotStreamable, match=reason):
        to_streaming(layer)


def test_bad_arguments_and_chunks_are_named():
    layer = _mel()
    with pytest.raises(ValueError, match="mode"):
        to_streaming(layer, mode="online")
    with pytest.raises(ValueError, match="db_floor"):
        to_streaming(layer, db_floor="max")
    with pytest.raises(TypeError, match="Keras layer or model"):
        to_streaming("mel")
    twin = to_streaming(layer)
    with pytest.raises(ValueError, match=r"\(batch, samples, channels\)"):
        twin(np.zeros((1, 100), "float32"))
    twin(np.zeros((2, 100, 1), "float32"))
    with pytest.raises(ValueError, match="one front-end per stream layout"):
        twin(np.zeros((3, 100, 1), "float32"))
    with pytest.raises(ValueError, match="layer\\(chunk, state\\)"):
        to_streaming(layer, mode="external")(np.zeros((1, 10, 1), "float32"))
    with pytest.raises(ValueError, match="left_padding"):
        StreamingFrames(layer, 10, 5, left_padding=10)
    with pytest.raises(ValueError, match="StreamingFrames"):
        StreamingFrontEnd([])


def test_mel_decibels_against_the_clip_maximum_stream_against_the_running_maximum():
    """``db_ref_value='max'`` (each example's maximum: the whole clip) streams relative to the loudest frame so
    far; NumPy reference from the offline decibels against 1."""
    kwargs = dict(n_fft=128, win_length=100, hop_length=40, sample_rate=8000, n_mels=16, return_decibel=True,
                  db_dynamic_range=None, input_data_format="channels_last", output_data_format="channels_last")
    signal = noise((2, 600, 1), seed=8) * np.linspace(0.1, 1.0, 600, dtype="float32")[None, :, None]
    against_one = to_numpy(kapre.MelSpectrogram(**kwargs)(signal))
    running = np.maximum.accumulate(against_one.max(axis=(2, 3)), axis=1)[:, :, None, None]
    twin = to_streaming(kapre.MelSpectrogram(db_ref_value="max", **kwargs))
    streamed = stream(twin, signal, random_chunks(600, 40, seed=3))
    assert_frames_equal(streamed, against_one - running, 1)
