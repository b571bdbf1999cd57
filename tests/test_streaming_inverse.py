"""kapre.streaming.StreamingInverseSTFT: the inverse STFT's overlap-add, chunk by chunk (issue 19).

The reference is the offline ``keras.Sequential([STFT, InverseSTFT])`` on the whole signal: the streamed samples,
concatenated, are its leading samples (the stream cannot give its last ``frame_length - hop_length`` samples,
which wait for frames after the end), to 1e-5 relative to the largest value (float32), whatever the chunking.
Chunk sizes come from one small palette (1 sample included) so that JAX, which compiles each new shape, stays fast.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kapre
from kapre import _backend, functional
from kapre.composed import get_perfectly_reconstructing_stft_istft
from kapre.streaming import StreamingFrames, StreamingFrameWise, StreamingFrontEnd, StreamingInverseSTFT, to_streaming
from kapre.streaming._inverse import inverse_dft_kernel
from tests.helpers import BACKEND, noise, to_numpy

RTOL = 1e-5
HOP = 16
SIZES = (1, 7, HOP, 29, 3 * HOP)  # 1 sample, less than a hop, a hop, between hops, 3 hops
LENGTH = 400


def chunk_bounds(length: int, seed: int, sizes=SIZES) -> list[tuple[int, int]]:
    """Random chunk bounds, sizes drawn from ``sizes`` (runs of 1-sample chunks included)."""
    rng = np.random.default_rng(seed)
    bounds, start = [], 0
    while start < length:
        size = int(rng.choice(sizes))
        bounds.append((start, min(length, start + size)))
        start += size
    return bounds


class SpectralGain(keras.layers.Layer):
    """A frame-wise spectral gain through magnitude and phase (a denoiser's mask): complex in, complex out."""

    frame_locality = "frame"

    def __init__(self, n_freq, freq_axis, **kwargs):
        super().__init__(**kwargs)
        shape = [1, 1, 1, 1]
        shape[freq_axis] = n_freq
        self.gains = np.linspace(1.5, 0.2, n_freq).astype("float32").reshape(shape)
        self.magnitude, self.phase = kapre.Magnitude(), kapre.Phase()

    def call(self, x):
        magnitude, phase = keras.ops.multiply(self.magnitude(x), self.gains), self.phase(x)  # gains: NumPy
        return _backend.make_complex(magnitude * keras.ops.cos(phase), magnitude * keras.ops.sin(phase))


def make_case(name):
    """(offline model, signal layout 'channels_last' or 'channels_first')."""
    last = {"input_data_format": "channels_last", "output_data_format": "channels_last"}
    if name == "perfect":
        stft, istft = get_perfectly_reconstructing_stft_istft(
            n_fft=64, hop_length=HOP, waveform_data_format="channels_last", stft_data_format="channels_last"
        )
        return keras.Sequential([stft, istft]), "channels_last"
    if name == "plain-gain":  # win_length < n_fft (frames overlap by a non-multiple of the hop), frames channels
        # first, a frame-wise magnitude/phase stage between the transforms
        first = {"input_data_format": "channels_first", "output_data_format": "channels_first"}
        stft = kapre.STFT(n_fft=64, win_length=40, hop_length=HOP, window_name="hamming", **first)
        istft = kapre.InverseSTFT(n_fft=64, win_length=40, hop_length=HOP, forward_window_name="hamming",
                                  input_data_format="channels_first", output_data_format="channels_last")
        return keras.Sequential([stft, SpectralGain(33, freq_axis=3), istft]), "channels_first"
    assert name == "center"  # n_fft // 2 = 36: the centring samples end inside the third frame
    stft = kapre.STFT(n_fft=72, win_length=56, hop_length=HOP, center=True, **last)
    istft = kapre.InverseSTFT(n_fft=72, win_length=56, hop_length=HOP, center=True, **last)
    return keras.Sequential([stft, istft]), "channels_last"


CASES = ("perfect", "plain-gain", "center")
_CACHE: dict = {}


def case_data(name):
    """(offline model, twin, signal, offline output), built once per case (the reference computed compiled:
    JAX's eager mode compiles op by op)."""
    if name not in _CACHE:
        model, layout = make_case(name)
        signal = noise((2, LENGTH, 2) if layout == "channels_last" else (2, 2, LENGTH), seed=len(name))
        offline = to_numpy(_backend.compile_function(model)(signal))
        _CACHE[name] = (model, to_streaming(model), signal, offline)
    return _CACHE[name]


def sample_slice(signal, a, b):
    """Samples ``a:b`` of a ``(batch, time, channels)`` or ``(batch, channels, time)`` signal (time: the longer
    axis here)."""
    return signal[:, a:b] if signal.shape[1] == LENGTH else signal[:, :, a:b]


def stream(twin, signal, bounds):
    outputs = [to_numpy(twin(sample_slice(signal, a, b))) for a, b in bounds]
    return np.concatenate(outputs, axis=twin.output_time_axis)


def assert_leading_equal(streamed, offline, axis):
    count = streamed.shape[axis]
    assert count > 0
    expected = np.take(offline, np.arange(count), axis=axis)
    assert streamed.shape == expected.shape
    np.testing.assert_allclose(streamed, expected, rtol=0, atol=RTOL * float(np.abs(expected).max()))


# -- the overlap-add step itself ------------------------------------------------------------------------------


@pytest.mark.parametrize(("frame_length", "hop"), [(8, 3), (6, 6), (5, 7)])
def test_stream_overlap_add_equals_offline_overlap_add(frame_length, hop):
    """Steps of 3 slots with 0..3 valid frames (garbage in the invalid slots), compiled == the overlap-add of
    all the frames (NumPy)."""
    rng = np.random.default_rng(frame_length)
    n_fft, slots = 8, 3
    window_values = rng.uniform(0.5, 1.0, frame_length).astype("float32")
    window = keras.ops.convert_to_tensor(window_values)
    counts = [3, 0, 1, 2, 3, 1, 0, 2]
    frames = (rng.standard_normal((2, sum(counts), n_fft // 2 + 1))
              + 1j * rng.standard_normal((2, sum(counts), n_fft // 2 + 1))).astype("complex64")
    windowed = np.fft.irfft(frames, n_fft)[..., :frame_length] * window_values
    expected = np.zeros((2, sum(counts) * hop + frame_length))
    for k in range(sum(counts)):
        expected[:, k * hop : k * hop + frame_length] += windowed[:, k]
    columns = -(-frame_length // hop)
    tail = keras.ops.zeros((2, (columns - 1) * hop), "float32") if columns > 1 else None
    step_fn = _backend.compile_function(
        lambda stfts, count, tail: functional.stream_overlap_add(stfts, count, tail, n_fft, hop, window)
    )
    pieces, start = [], 0
    for count in counts:
        step = rng.standard_normal((2, slots, n_fft // 2 + 1)).astype("complex64")
        step[:, :count] = frames[:, start : start + count]
        samples, produced, tail = step_fn(keras.ops.convert_to_tensor(step), np.int32(count), tail)
        samples = to_numpy(samples)
        assert samples.shape == (2, slots * hop) and int(to_numpy(produced)) == count * hop
        assert not samples[:, count * hop :].any()
        pieces.append(samples[:, : count * hop])
        start += count
    streamed = np.concatenate(pieces, axis=1)
    np.testing.assert_allclose(streamed, expected[:, : streamed.shape[1]], rtol=0,
                               atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize("n_fft", [8, 9])
def test_inverse_dft_kernel_is_the_windowed_inverse_fft(n_fft):
    rng = np.random.default_rng(n_fft)
    spectrum = rng.standard_normal((5, n_fft // 2 + 1)) + 1j * rng.standard_normal((5, n_fft // 2 + 1))
    window = rng.uniform(0.5, 1.0, 7)
    kernel = inverse_dft_kernel(n_fft, window)
    assert kernel.shape == (2 * (n_fft // 2 + 1), 7)
    expected = np.fft.irfft(spectrum, n_fft)[:, :7] * window
    np.testing.assert_allclose(np.concatenate([spectrum.real, spectrum.imag], axis=1) @ kernel, expected,
                               atol=1e-12)


# -- converted chains -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_stft_istft_chain_streams_sample_for_sample(name):
    model, twin, signal, offline = case_data(name)
    assert isinstance(twin.stages[-1], StreamingInverseSTFT)
    twin.reset_state()
    bounds = chunk_bounds(LENGTH, seed=len(name))
    streamed = stream(twin, signal, bounds)
    twin.reset_state()  # starts over exactly: the same samples again, bit for bit
    np.testing.assert_array_equal(stream(twin, signal, bounds), streamed)
    axis = twin.output_time_axis
    assert axis == 1  # (batch, samples, channels); the plain-gain case's frames come channels first
    assert_leading_equal(streamed, offline, axis)
    istft = twin.stages[-1]
    # everything but the last frame_length - hop samples of the frames that arrived
    frames = 1 + (LENGTH + twin.stages[0].left_padding - twin.frame_length) // HOP
    trim = istft.n_fft // 2 if istft.center else 0
    assert streamed.shape[axis] == frames * HOP - trim
    if name == "perfect":  # and the perfect pair gives the signal back, n_fft - hop samples later
        delay = 64 - HOP
        np.testing.assert_allclose(streamed[:, delay:], signal[:, : streamed.shape[1] - delay], atol=1e-5)


@pytest.mark.parametrize("name", ["perfect", "center"])
def test_latency_is_what_one_sample_feeding_observes(name):
    """Output sample m comes out exactly when the last input sample its last frame reads arrives (plus the
    reported latency, 0); the waveform's delay is frame_length - hop .. frame_length - 1 samples."""
    model, twin, signal, offline = case_data(name)
    twin.reset_state()
    length = 100
    emitted_at, pieces = [], []
    for index in range(length):
        out = to_numpy(twin(signal[:, index : index + 1]))
        emitted_at += [index] * out.shape[1]
        pieces.append(out)
    streamed = np.concatenate(pieces, axis=1)
    assert_leading_equal(streamed, offline, 1)
    istft, padding = twin.stages[-1], twin.stages[0].left_padding
    frame_length, trim = istft.frame_length, (istft.n_fft // 2 if istft.center else 0)
    m = np.arange(len(emitted_at))
    last_read = (m + trim) // HOP * HOP + frame_length - 1 - padding  # the last stream sample output m reads
    assert twin.latency_samples == istft.latency_samples == 0
    np.testing.assert_array_equal(np.asarray(emitted_at), last_read + twin.latency_samples)
    input_time = m + trim - padding  # the input sample output m reconstructs
    delay = np.asarray(emitted_at) - input_time
    assert delay.min() >= frame_length - HOP and delay.max() <= frame_length - 1


@pytest.mark.skipif(BACKEND != "torch", reason="only PyTorch refuses to turn a GPU tensor into NumPy (JAX and "
                    "TensorFlow copy it to the host): the conversion is made to fail here as a CUDA tensor's does")
@pytest.mark.parametrize("name", ["center", "plain-gain"])
def test_a_step_keeps_its_tensors_out_of_numpy(monkeypatch, name):
    """No tensor of a streaming step goes through NumPy (an H200 run failed with "can't convert cuda:0 device type
    tensor to numpy": the step added the NumPy initial tail to a tensor with ``+``, which on the CPU had silently
    round-tripped through NumPy): the state's setup and steps, with PyTorch's conversion to NumPy made to fail."""
    import torch

    model, _, signal, _ = case_data(name)
    external = to_streaming(model, mode="external")

    def refuse(self, *args, **kwargs):
        raise TypeError("a tensor converted to NumPy")

    outputs = []
    with monkeypatch.context() as patch:
        patch.setattr(torch.Tensor, "__array__", refuse)
        state = external.initial_state(2, 2)
        for a, b in ((0, 29), (29, 29 + HOP)):
            out, state = external(sample_slice(signal, a, b), state)
            outputs.append(out)
    assert all(isinstance(out, torch.Tensor) for out in outputs)


def test_external_state_equals_internal():
    """mode='external' from twin.initial_state(batch, channels), called as twin(chunk, state) and through the
    compiled step (jax.jit, tf.function) in turns, == the internal-state twin on the same chunks."""
    model, twin, signal, offline = case_data("center")
    bounds = chunk_bounds(LENGTH, seed=4, sizes=(1, HOP, 29))
    twin.reset_state()
    internal = stream(twin, signal, bounds)
    external = to_streaming(model, mode="external")
    state = external.initial_state(2, 2)
    assert set(state) == {"0/buffer", "0/due", "1/tail", "1/frames", "num_frames"}
    compiled, pieces = external.compiled_step(), []
    for a, b in bounds:
        chunk = signal[:, a:b]
        out, state = external(chunk, state) if b - a == HOP else compiled(chunk, state)
        out, count = to_numpy(out), int(to_numpy(state["num_frames"])[0])
        assert out.shape == (2, -(-(b - a) // HOP) * HOP, 2)  # fixed sample slots, the valid ones first
        assert not out[:, count:].any()
        pieces.append(out[:, :count])
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), internal, rtol=0, atol=1e-6)
    assert_leading_equal(internal, offline, 1)


def test_by_hand_chain_with_the_dft_engine_and_serialization():
    """The perfectly reconstructing pair built by hand, both transforms as matrix products (engine='dft', for
    export): StreamingFrames over a plain STFT with the pair's n_fft - hop zeros in front, then
    StreamingInverseSTFT; == the offline pair (FFTs); it survives a config round trip."""
    _, _, signal, offline = case_data("perfect")
    last = {"input_data_format": "channels_last", "output_data_format": "channels_last"}
    istft = StreamingInverseSTFT(n_fft=64, hop_length=HOP, engine="dft", **last)
    stft = kapre.STFT(n_fft=64, hop_length=HOP, engine="dft", **last)
    twin = StreamingFrontEnd([StreamingFrames(stft, 64, HOP, 64 - HOP), istft])
    bounds = chunk_bounds(LENGTH, seed=8, sizes=(1, 7, HOP))  # at most a hop: one compiled step
    streamed = stream(twin, signal, bounds)
    assert_leading_equal(streamed, offline, 1)
    config = istft.get_config()
    assert config["engine"] == "dft" and StreamingInverseSTFT.from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(twin))
    assert isinstance(restored.stages[-1], StreamingInverseSTFT)
    np.testing.assert_allclose(stream(restored, signal, bounds), streamed, rtol=0, atol=1e-6)
    windowed = StreamingInverseSTFT(n_fft=8, forward_window_name=np.hanning(8), hop_length=2)
    assert StreamingInverseSTFT.from_config(windowed.get_config()).get_config() == windowed.get_config()


# -- validation -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"n_fft": 0}, "n_fft"),
    ({"n_fft": 64, "win_length": 65}, "win_length"),
    ({"n_fft": 64, "hop_length": "16"}, "hop_length"),
    ({"n_fft": 64, "forward_window_name": "nope"}, "forward_window_name"),
    ({"n_fft": 64, "input_data_format": "nchw"}, "input_data_format"),
    ({"n_fft": 64, "output_data_format": 3}, "output_data_format"),
    ({"n_fft": 64, "center": "yes"}, "center"),
    ({"n_fft": 64, "engine": "matmul"}, "engine"),
])
def test_arguments_are_checked(kwargs, named):
    with pytest.raises((ValueError, TypeError), match=named):
        StreamingInverseSTFT(**kwargs)


def test_a_chain_that_does_not_fit_is_refused():
    stft = kapre.STFT(n_fft=64, hop_length=HOP, input_data_format="channels_last", output_data_format="channels_last")
    framer = StreamingFrames(stft, 64, HOP)
    with pytest.raises(ValueError, match="hop_length=32"):
        StreamingFrontEnd([framer, StreamingInverseSTFT(n_fft=64, hop_length=32, input_data_format="channels_last")])
    with pytest.raises(ValueError, match="input_data_format='channels_first'"):
        StreamingFrontEnd([framer, StreamingInverseSTFT(n_fft=64, hop_length=HOP,
                                                        input_data_format="channels_first")])
    with pytest.raises(ValueError, match="25 frequency bins"):  # another n_fft than the STFT's
        StreamingFrontEnd([framer, StreamingInverseSTFT(n_fft=48, win_length=48, hop_length=HOP,
                                                        input_data_format="channels_last")]).initial_state(1, 1)
    magnitude = StreamingFrontEnd([framer, StreamingFrameWise(kapre.Magnitude()),
                                   StreamingInverseSTFT(n_fft=64, hop_length=HOP, input_data_format="channels_last")])
    with pytest.raises(TypeError, match="complex"):  # the inverse takes complex frames
        magnitude.initial_state(1, 1)
