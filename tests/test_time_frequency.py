"""kapre.time_frequency layers against librosa and NumPy references, on the active backend."""

import keras
import librosa
import numpy as np
import pytest
import scipy.signal
from keras import ops

import kapre
from kapre import functional
from tests.helpers import BACKEND, gradient, noise, to_numpy, tone_mix

# ------------------------------------------------------------------------------------------------------------------
# References
# ------------------------------------------------------------------------------------------------------------------


def numpy_kapre_stft(x, n_fft, win_length, hop_length, window, pad_begin=False, pad_end=False):
    """kapre 0.4 / tf.signal.stft semantics written out frame by frame, for one 1-D signal."""
    if pad_begin:
        x = np.concatenate([np.zeros(n_fft - hop_length), x])
    length = len(x)
    if pad_end:
        n_frames = -(-length // hop_length)
        x = np.concatenate([x, np.zeros(max(0, (n_frames - 1) * hop_length + win_length - length))])
    else:
        n_frames = max(0, 1 + (length - win_length) // hop_length)
    frames = [x[t * hop_length : t * hop_length + win_length] * window for t in range(n_frames)]
    return np.fft.rfft(np.array(frames).reshape(n_frames, win_length), n=n_fft)


def to_channels(x_bct, data_format):
    """(batch, channels, time) to the layer's input layout."""
    return x_bct if data_format == "channels_first" else np.transpose(x_bct, (0, 2, 1))


def from_spectrum(y, data_format):
    """The layer's spectrogram layout to (batch, channels, time, freq)."""
    return y if data_format == "channels_first" else np.transpose(y, (0, 3, 1, 2))


def assert_close_relative(actual, expected, tolerance):
    scale = np.abs(expected).max()
    error = np.abs(actual - expected).max()
    assert error <= tolerance * scale, f"max abs error {error:.3g} > {tolerance} x {scale:.3g}"


# ------------------------------------------------------------------------------------------------------------------
# STFT
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("window_name, librosa_window", [("hann_window", "hann"), ("hamming_window", "hamming")])
@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("in_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("out_format", ["channels_last", "channels_first"])
def test_stft_equals_librosa_center_false(window_name, librosa_window, channels, in_format, out_format):
    n_fft, hop = 512, 128
    x = noise((2, channels, 4000), seed=channels)
    layer = kapre.STFT(
        n_fft=n_fft,
        hop_length=hop,
        window_name=window_name,
        input_data_format=in_format,
        output_data_format=out_format,
    )
    y = to_numpy(layer(to_channels(x, in_format)))
    assert y.dtype == np.complex64
    y = from_spectrum(y, out_format)
    for b in range(2):
        for c in range(channels):
            expected = librosa.stft(x[b, c], n_fft=n_fft, hop_length=hop, window=librosa_window, center=False).T
            assert y[b, c].shape == expected.shape
            assert_close_relative(y[b, c], expected, 1e-4)


@pytest.mark.parametrize("pad_mode", ["constant", "reflect"])
@pytest.mark.parametrize("n_fft, win_length, hop", [(512, 512, 128), (512, 400, 160), (1024, 1024, 256)])
def test_stft_center_equals_librosa_center_true(pad_mode, n_fft, win_length, hop):
    x = tone_mix(5000)[None, :, None]
    layer = kapre.STFT(
        n_fft=n_fft,
        win_length=win_length,
        hop_length=hop,
        center=True,
        pad_mode=pad_mode,
        input_data_format="channels_last",
        output_data_format="channels_last",
    )
    y = to_numpy(layer(x))[0, :, :, 0]
    expected = librosa.stft(
        x[0, :, 0], n_fft=n_fft, win_length=win_length, hop_length=hop, center=True, pad_mode=pad_mode
    ).T
    assert y.shape == expected.shape == (1 + 5000 // hop, n_fft // 2 + 1)
    # frame for frame
    for t in range(expected.shape[0]):
        assert_close_relative(y[t], expected[t], 1e-4) if np.abs(expected[t]).max() > 0 else None
    assert_close_relative(y, expected, 1e-4)


@pytest.mark.parametrize(
    "n_fft, win_length, hop, pad_begin, pad_end, length",
    [
        (512, 256, 64, False, False, 3000),  # window shorter than n_fft
        (512, 512, 128, True, False, 3000),  # pad_begin
        (512, 512, 128, False, True, 3001),  # pad_end, length not a multiple of the hop
        (512, 512, 128, True, True, 3000),
        (512, 401, 100, False, False, 2999),  # odd window length: still periodic
        (1024, 401, 333, True, True, 5000),  # hop that does not divide the window
        (512, 512, 128, False, True, 100),  # a signal shorter than one frame, with pad_end
        (512, 512, 600, False, False, 2000),  # hop longer than the window
    ],
)
def test_stft_kapre_semantics_equal_numpy_reference(n_fft, win_length, hop, pad_begin, pad_end, length):
    x = noise((2, length, 1), seed=length)
    layer = kapre.STFT(
        n_fft=n_fft,
        win_length=win_length,
        hop_length=hop,
        pad_begin=pad_begin,
        pad_end=pad_end,
        input_data_format="channels_last",
        output_data_format="channels_first",
    )
    y = to_numpy(layer(x))
    window = scipy.signal.get_window("hann", win_length, fftbins=True)  # periodic, odd lengths too
    for b in range(2):
        expected = numpy_kapre_stft(x[b, :, 0], n_fft, win_length, hop, window, pad_begin, pad_end)
        assert y[b, 0].shape == expected.shape
        assert_close_relative(y[b, 0], expected, 1e-4)
    assert layer.compute_output_shape((2, length, 1)) == y.shape


def test_stft_defaults_follow_kapre():
    layer = kapre.STFT()
    assert (layer.n_fft, layer._framing.win_length, layer._framing.hop_length) == (2048, 2048, 512)
    layer = kapre.STFT(n_fft=1024, win_length=800)
    assert layer._framing.hop_length == 200  # win_length // 4
    np.testing.assert_allclose(layer._framing.window_values, scipy.signal.get_window("hann", 800, fftbins=True))


def test_stft_plain_and_array_windows():
    x = noise((1, 3000, 1), seed=3)
    expected = librosa.stft(x[0, :, 0], n_fft=512, hop_length=128, window="blackman", center=False).T
    y = to_numpy(kapre.STFT(n_fft=512, hop_length=128, window_name="blackman", input_data_format="channels_last",
                            output_data_format="channels_last")(x))[0, :, :, 0]
    assert_close_relative(y, expected, 1e-4)
    custom = np.linspace(0, 1, 512) ** 2
    expected = numpy_kapre_stft(x[0, :, 0], 512, 512, 128, custom)
    layer = kapre.STFT(n_fft=512, hop_length=128, window_name=custom, input_data_format="channels_last",
                       output_data_format="channels_last")
    assert_close_relative(to_numpy(layer(x))[0, :, :, 0], expected, 1e-4)
    assert layer.get_config()["window_name"] == custom.tolist()


def _float64_available():
    if BACKEND != "jax":
        return True
    import jax

    return bool(jax.config.jax_enable_x64)


def test_stft_float64_layer_gives_complex128():
    x = noise((1, 2000, 1), dtype="float64")
    y = kapre.STFT(n_fft=256, dtype="float64", input_data_format="channels_last", output_data_format="channels_last")(x)
    y = to_numpy(y)
    expected = numpy_kapre_stft(x[0, :, 0], 256, 256, 64, scipy.signal.get_window("hann", 256))
    if _float64_available():
        assert y.dtype == np.complex128
        assert_close_relative(y[0, :, :, 0], expected, 1e-10)
    else:  # documented: JAX computes float64 only with JAX_ENABLE_X64=1; otherwise it truncates to float32
        assert y.dtype == np.complex64
        assert_close_relative(y[0, :, :, 0], expected, 1e-4)


def test_stft_too_short_signal_raises_clear_error():
    layer = kapre.STFT(n_fft=512, input_data_format="channels_last", output_data_format="channels_last")
    with pytest.raises(ValueError, match="received a signal of 100 samples, shorter than one frame \\(512 samples\\)"):
        layer(noise((1, 100, 1)))
    with pytest.raises(ValueError, match="shorter than one frame"):
        layer.compute_output_shape((None, 511, 1))
    with pytest.raises(ValueError, match="pad_mode='reflect'"):
        kapre.STFT(n_fft=512, center=True, pad_mode="reflect", input_data_format="channels_last")(noise((1, 200, 1)))
    # documented alternatives work on the same short signal
    assert to_numpy(kapre.STFT(n_fft=512, pad_end=True, input_data_format="channels_last",
                               output_data_format="channels_last")(noise((1, 100, 1)))).shape == (1, 1, 257, 1)
    assert to_numpy(kapre.STFT(n_fft=512, center=True, hop_length=128, input_data_format="channels_last",
                               output_data_format="channels_last")(noise((1, 100, 1)))).shape == (1, 1, 257, 1)


def test_stft_bad_inputs():
    layer = kapre.STFT(n_fft=256, input_data_format="channels_last")
    with pytest.raises(ValueError, match="expects a 3-D input .* received an input of shape \\(1, 1000\\)"):
        layer(noise((1, 1000)))
    with pytest.raises(TypeError, match="real \\(float\\) input, received dtype complex64"):
        layer(np.zeros((1, 1000, 1), "complex64"))
    # integer PCM is accepted and converted to float
    pcm = (noise((1, 1000, 1)) * 32767).astype("int16")
    np.testing.assert_allclose(to_numpy(layer(pcm)), to_numpy(layer(pcm.astype("float32"))), rtol=1e-6, atol=1e-3)


# ------------------------------------------------------------------------------------------------------------------
# InverseSTFT and perfect reconstruction
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("divisor", [2, 4, 8])
@pytest.mark.parametrize("form", ["0.3.7", "0.4"])
def test_perfect_reconstruction(divisor, form):
    n_fft, length, channels = 512, 4000, 2
    hop = n_fft // divisor
    x = noise((2, length, channels), seed=divisor)
    if form == "0.3.7":
        stft, istft = kapre.composed.get_perfectly_reconstructing_stft_istft(
            stft_input_shape=(length, channels),
            n_fft=n_fft,
            hop_length=hop,
            waveform_data_format="channels_last",
            stft_data_format="channels_first",
        )
    else:
        stft, istft = kapre.composed.get_perfectly_reconstructing_stft_istft(
            n_fft, hop, "channels_last", "channels_first"
        )
    y = to_numpy(istft(stft(x)))
    trim_begin = n_fft - hop
    reconstructed = y[:, trim_begin : trim_begin + length, :]
    assert reconstructed.shape == x.shape
    assert np.abs(reconstructed - x).max() <= 1e-5


@pytest.mark.parametrize("frame_length, hop_length", [(8, 2), (7, 3), (5, 5), (4, 6), (2048, 512)])
def test_overlap_add_equals_numpy_and_its_gradient_is_the_weights(frame_length, hop_length):
    """functional.overlap_add (PyTorch: in-place adds into one output) against a NumPy loop, including a frame
    length that the hop does not divide and a hop longer than a frame (gaps of zeros)."""
    frames = noise((2, 3, 9, frame_length), seed=21)
    length = 8 * hop_length + frame_length
    expected = np.zeros((2, 3, length), "float32")
    for index in range(9):
        expected[..., index * hop_length : index * hop_length + frame_length] += frames[..., index, :]
    np.testing.assert_allclose(to_numpy(functional.overlap_add(ops.convert_to_tensor(frames), hop_length)),
                               expected, rtol=1e-6, atol=1e-6)
    weights = noise((length,), seed=22)
    grad = gradient(lambda v: functional.overlap_add(v, hop_length) * ops.convert_to_tensor(weights), frames)
    starts = np.arange(9)[:, None] * hop_length + np.arange(frame_length)[None]
    np.testing.assert_allclose(grad, np.broadcast_to(weights[starts], frames.shape), rtol=1e-6)


# PyTorch computes the STFT and the inverse STFT a cache-sized chunk of frames at a time
# (kapre._backend.windowed_rfft / windowed_overlap_add); a small chunk target makes the test inputs span several
# chunks with a shorter last one. Other backends compute the whole at once: the same references must hold there.
_SMALL_CHUNK_SAMPLES = 2**11


def _assert_chunked_on_torch(frames_shape):
    chunks = functional._static_frame_chunks(frames_shape)
    assert chunks is not None and len(chunks) > 2, chunks


@pytest.mark.parametrize(
    "n_fft, win_length, hop, pad_begin, pad_end, center, dtype",
    [
        (512, 512, 128, False, False, False, "float32"),
        (512, 400, 100, True, True, False, "float32"),  # window shorter than n_fft, both paddings
        (1024, 401, 333, False, True, False, "float64"),
        (512, 512, 128, False, False, True, "float32"),  # librosa's centred frames
    ],
)
@pytest.mark.parametrize("out_format", ["channels_first", "channels_last"])
def test_chunked_stft_equals_references(monkeypatch, n_fft, win_length, hop, pad_begin, pad_end, center, dtype,
                                        out_format):
    monkeypatch.setattr(functional, "CHUNK_SAMPLES", _SMALL_CHUNK_SAMPLES)
    x = noise((2, 6000, 1), seed=31, dtype=dtype)
    layer = kapre.STFT(n_fft=n_fft, win_length=win_length, hop_length=hop, pad_begin=pad_begin, pad_end=pad_end,
                       center=center, dtype=dtype, input_data_format="channels_last", output_data_format=out_format)
    y = from_spectrum(to_numpy(layer(x)), out_format)
    wide = dtype == "float64" and _float64_available()  # JAX without JAX_ENABLE_X64 computes in float32
    assert y.dtype == (np.complex128 if wide else np.complex64)
    _assert_chunked_on_torch((2, 1, y.shape[2], n_fft if center else win_length))
    if BACKEND == "torch":  # the chunked path is taken (no gradient is recorded here)
        import torch

        frames = torch.zeros(2, 1, y.shape[2], win_length, dtype=getattr(torch, dtype))
        window = torch.ones(win_length, dtype=frames.dtype)
        chunks = functional._static_frame_chunks(frames.shape)
        chunked = kapre._backend.windowed_rfft(frames, window, n_fft, chunks)
        assert tuple(chunked.shape) == (*frames.shape[:-1], n_fft // 2 + 1)
    tolerance = 1e-10 if wide else 1e-4
    for b in range(2):
        if center:
            expected = librosa.stft(x[b, :, 0], n_fft=n_fft, hop_length=hop, center=True).T
        else:
            window = scipy.signal.get_window("hann", win_length, fftbins=True)
            expected = numpy_kapre_stft(x[b, :, 0], n_fft, win_length, hop, window, pad_begin, pad_end)
        assert y[b, 0].shape == expected.shape
        assert_close_relative(y[b, 0], expected, tolerance)


@pytest.mark.parametrize("center", [False, True])
def test_chunked_inverse_stft_reconstructs_and_its_gradient_is_the_weights(monkeypatch, center):
    """STFT -> InverseSTFT with several chunks: the signal comes back (1e-5), and the gradient of a weighted sum
    of the reconstruction with respect to the input is the weights (the round trip is the identity there)."""
    monkeypatch.setattr(functional, "CHUNK_SAMPLES", _SMALL_CHUNK_SAMPLES)
    n_fft, hop, length = 512, 128, 6000
    if center:
        kwargs = dict(n_fft=n_fft, hop_length=hop, center=True)
        stft = kapre.STFT(**kwargs, input_data_format="channels_last", output_data_format="channels_first")
        istft = kapre.InverseSTFT(**kwargs, input_data_format="channels_first", output_data_format="channels_last")
        begin = 0
    else:
        stft, istft = kapre.composed.get_perfectly_reconstructing_stft_istft(
            n_fft, hop, "channels_last", "channels_first"
        )
        begin = n_fft - hop
    x = noise((2, length, 2), seed=32)
    spectrum = stft(x)
    _assert_chunked_on_torch((2, 2, spectrum.shape[2], n_fft))
    y = to_numpy(istft(spectrum))
    kept = min(length, y.shape[1] - begin) - (0 if center else hop)  # the fully overlapped part
    np.testing.assert_allclose(y[:, begin : begin + kept], x[:, :kept], atol=1e-5)
    weights = np.zeros(y.shape, "float32")
    weights[:, begin : begin + kept] = noise((2, kept, 2), seed=33)
    grad = gradient(lambda v: istft(stft(v)) * ops.convert_to_tensor(weights), x)
    expected = np.zeros_like(x)
    expected[:, :kept] = weights[:, begin : begin + kept]
    np.testing.assert_allclose(grad, expected, atol=1e-5)


def test_perfect_reconstruction_argument_errors():
    get = kapre.composed.get_perfectly_reconstructing_stft_istft
    with pytest.raises(ValueError, match="win_length == n_fft=512"):
        get(n_fft=512, win_length=256)
    with pytest.raises(TypeError, match="unexpected keyword argument 'window_name'"):
        get(n_fft=512, window_name="hann_window")
    with pytest.raises(ValueError, match="waveform_data_format must be one of"):
        get(512, 128, "channel_last", "channels_last")


def test_inverse_stft_center_round_trip_and_shapes():
    x = noise((1, 3000, 1), seed=9)
    kwargs = dict(n_fft=512, hop_length=128, center=True)
    stft = kapre.STFT(**kwargs, input_data_format="channels_last", output_data_format="channels_last")
    istft = kapre.InverseSTFT(**kwargs, input_data_format="channels_last", output_data_format="channels_last")
    spectrum = stft(x)
    y = to_numpy(istft(spectrum))
    assert y.shape == istft.compute_output_shape(tuple(spectrum.shape)) == (1, (24 - 1) * 128, 1)
    np.testing.assert_allclose(y[0, :, 0], x[0, : y.shape[1], 0], atol=1e-5)
    expected = librosa.istft(to_numpy(spectrum)[0, :, :, 0].T, hop_length=128, n_fft=512, length=y.shape[1])
    np.testing.assert_allclose(y[0, :, 0], expected, atol=1e-5)


def test_inverse_stft_shape_and_errors():
    istft = kapre.InverseSTFT(n_fft=1024, hop_length=512, input_data_format="channels_last",
                              output_data_format="channels_last")
    assert tuple(istft(np.zeros((1, 3, 513, 1), "complex64")).shape) == (1, 2048, 1)
    with pytest.raises(ValueError, match="expects 513 frequency bins"):
        istft(np.zeros((1, 3, 257, 1), "complex64"))
    with pytest.raises(TypeError, match="expects a complex input"):
        istft(np.zeros((1, 3, 513, 1), "float32"))


# ------------------------------------------------------------------------------------------------------------------
# Magnitude, Phase, decibels
# ------------------------------------------------------------------------------------------------------------------


def _complex_samples():
    rng = np.random.default_rng(1)
    values = (rng.standard_normal((2, 5, 7, 1)) + 1j * rng.standard_normal((2, 5, 7, 1))).astype("complex64")
    values[0, 0, :4, 0] = [1j, -1j, -1.0, 0.0]  # real part exactly 0, the negative axis, the origin
    return values


def test_magnitude_and_phase_equal_numpy():
    values = _complex_samples()
    np.testing.assert_allclose(to_numpy(kapre.Magnitude()(values)), np.abs(values), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(kapre.Magnitude(power=2.0)(values)), np.abs(values) ** 2, rtol=1e-6)
    real = values.real.astype("float32")
    np.testing.assert_allclose(to_numpy(kapre.Magnitude(power=2)(real)), real**2, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(kapre.Phase()(values)), np.angle(values), atol=1e-6)


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_magnitude_has_no_overflow_or_underflow(dtype):
    """|3e30 + 4e30j| and |3e-30 + 4e-30j| in complex64 (squares out of float32's range), exact zeros, and a
    finite zero gradient at the origin (PyTorch computes without gradient through hypot, with it through abs)."""
    values = np.array([[3e30 + 4e30j, 3e-30 + 4e-30j, 0.0, -2.5 + 0j, 1e-35j]], dtype)[..., None, None]
    if dtype == "complex128" and BACKEND == "jax":
        import jax

        if not jax.config.jax_enable_x64:
            pytest.skip("JAX computes complex128 only with JAX_ENABLE_X64")
    np.testing.assert_allclose(to_numpy(kapre.Magnitude()(values)), np.abs(values), rtol=1e-6)
    if BACKEND == "torch":
        import torch

        spectrum = torch.zeros(1, 3, 2, 1, dtype=torch.complex64, requires_grad=True)
        kapre.Magnitude()(spectrum).sum().backward()
        assert torch.equal(spectrum.grad, torch.zeros_like(spectrum.grad))


@pytest.mark.parametrize("accuracy", [1, 10, 29000])
def test_approximate_phase(accuracy):
    values = _complex_samples()
    phase = to_numpy(kapre.Phase(approx_atan_accuracy=accuracy)(values))
    # real part 0 gives +-pi/2 exactly (kapre 0.4 returned +-pi there)
    np.testing.assert_allclose(phase[0, 0, :4, 0], [np.pi / 2, -np.pi / 2, np.pi, 0.0], atol=1e-6)
    tolerance = {1: 0.05, 10: 1e-6, 29000: 1e-6}[accuracy]  # one term of the fraction is a coarse arctan
    np.testing.assert_allclose(phase, np.angle(values), atol=tolerance)


def test_phase_accepts_kapre_037_config_key():
    layer = kapre.Phase.from_config({"name": "phase", "tflite_phase_accuracy": 12})
    assert layer.approx_atan_accuracy == 12
    assert "tflite_phase_accuracy" not in layer.get_config()


@pytest.mark.parametrize("ref_value", [1.0, 0.5, "max"])
@pytest.mark.parametrize("dynamic_range", [80.0, 30.0])
def test_magnitude_to_decibel_equals_librosa_power_to_db_per_example(ref_value, dynamic_range):
    x = (noise((3, 20, 9, 2), seed=4) ** 2).astype("float32")
    x[1] *= 1e-3  # examples at very different levels: the floor is per example
    x[2, 0, 0, 0] = 0.0
    y = to_numpy(kapre.MagnitudeToDecibel(ref_value=ref_value, amin=1e-5, dynamic_range=dynamic_range)(x))
    for b in range(3):
        ref = np.max if ref_value == "max" else ref_value
        expected = librosa.power_to_db(x[b], ref=ref, amin=1e-5, top_db=dynamic_range)
        np.testing.assert_allclose(y[b], expected, atol=2e-3)


def test_magnitude_to_decibel_amplitude_option_equals_librosa_amplitude_to_db():
    x = np.abs(noise((2, 30, 5, 1), seed=5))
    y = to_numpy(kapre.MagnitudeToDecibel(amplitude=True, amin=1e-5, dynamic_range=60.0)(x))
    for b in range(2):
        np.testing.assert_allclose(y[b], librosa.amplitude_to_db(x[b], ref=1.0, amin=1e-5, top_db=60.0), atol=2e-3)


def test_magnitude_to_decibel_defaults_and_1d_input():
    layer = kapre.MagnitudeToDecibel()
    assert (layer.ref_value, layer.amin, layer.dynamic_range, layer.amplitude) == (1.0, 1e-5, 80.0, False)
    y = to_numpy(layer(np.array([1.0, 0.01, 0.0], "float32")))
    np.testing.assert_allclose(y, [0.0, -20.0, -50.0], atol=1e-4)


def _reference_floor(log_spec, dynamic_range):
    return np.maximum(log_spec, log_spec.max(axis=(1, 2), keepdims=True) - dynamic_range)


def test_reference_decibel_in_place_equals_the_copy_and_leaves_inputs_alone():
    """``in_place=True`` (PyTorch writes the floor into the caller's temporary when no gradient is recorded)
    gives the same numbers as the copying form; ``magnitude_to_decibel`` passes its own temporary, so the
    user's tensor is never overwritten; with a gradient recorded nothing is overwritten and the gradient flows."""
    log_spec = (noise((3, 5, 7), seed=41) * 100.0).astype("float32")
    expected = _reference_floor(log_spec, 30.0)
    copied = to_numpy(functional.reference_decibel(ops.convert_to_tensor(log_spec), 1.0, 1e-10, 30.0))
    owned = ops.convert_to_tensor(log_spec)
    in_place = to_numpy(functional.reference_decibel(owned, 1.0, 1e-10, 30.0, in_place=True))
    np.testing.assert_array_equal(copied, expected)
    np.testing.assert_array_equal(in_place, expected)
    if BACKEND == "torch":  # the temporary itself now holds the result: no second tensor was made
        np.testing.assert_array_equal(to_numpy(owned), expected)
    power = np.abs(noise((3, 5, 7), seed=42)).astype("float32")
    user_tensor = ops.convert_to_tensor(power)
    db = to_numpy(functional.magnitude_to_decibel(user_tensor, 1.0, 1e-10, 30.0))
    np.testing.assert_array_equal(to_numpy(user_tensor), power)
    np.testing.assert_allclose(db, _reference_floor(10 * np.log10(np.maximum(power, 1e-10)), 30.0), atol=1e-4)
    # with a gradient recorded: d sum(floored) / d log_spec is 1 above the floor, 0 below it, and each floored
    # value (the example's maximum - 30) adds 1 to its example's maximum
    grad = gradient(lambda v: functional.reference_decibel(v * 1.0, 1.0, 1e-10, 30.0, in_place=True), log_spec)
    above = log_spec > log_spec.max(axis=(1, 2), keepdims=True) - 30.0
    expected_grad = above.astype("float32")
    for example in range(3):
        peak = np.unravel_index(np.argmax(log_spec[example]), log_spec.shape[1:])
        expected_grad[(example, *peak)] += (~above[example]).sum()
    np.testing.assert_array_equal(grad, expected_grad)


def test_backend_maximum_in_place_falls_back_when_the_result_is_larger():
    small, large = np.array([1.0, 5.0], "float32"), noise((3, 2), seed=43) * 10
    result = kapre._backend.maximum(ops.convert_to_tensor(small), ops.convert_to_tensor(large), in_place=True)
    np.testing.assert_array_equal(to_numpy(result), np.maximum(small, large))


@pytest.mark.parametrize("axis", [None, 0, -1, (1, 2), (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_backend_reduce_max_and_min_equal_numpy(axis, keepdims):
    """kapre._backend.reduce_max / reduce_min (PyTorch: torch.amax / amin, which torch.compile traces without a
    graph break) equal NumPy's max / min on every axis choice; float64 kept; an empty tensor as in Keras."""
    x = noise((3, 4, 5), seed=44).astype("float64")
    for reduce, reference in ((kapre._backend.reduce_max, np.max), (kapre._backend.reduce_min, np.min)):
        result = reduce(ops.convert_to_tensor(x), axis=axis, keepdims=keepdims)
        expected = reference(x, axis=axis, keepdims=keepdims)
        assert tuple(result.shape) == expected.shape
        np.testing.assert_array_equal(to_numpy(result), expected.astype(to_numpy(result).dtype))
    assert keras.backend.standardize_dtype(kapre._backend.reduce_max(ops.convert_to_tensor(x)).dtype) == (
        keras.backend.standardize_dtype(ops.convert_to_tensor(x).dtype))
    empty = ops.zeros((0, 3))
    try:
        expected = ops.max(empty, axis=1)
    except Exception as error:  # Keras on PyTorch and TensorFlow: "Cannot compute the max of an empty tensor"
        with pytest.raises(type(error), match="empty"):
            kapre._backend.reduce_max(empty, axis=1)
    else:
        assert tuple(kapre._backend.reduce_max(empty, axis=1).shape) == tuple(expected.shape)


@pytest.mark.parametrize(
    "shape, target",
    [((3, 1, 1, 1), (3, 2, 5, 4)), ((1,), (3, 2)), ((2,), (3, 2)), ((3, 2), (2,)), ((3, 1), (3, 2)),
     ((3, 2), (3, 1)), ((4, 1, 1), (3, 4, 5, 6)), ((2, 1, 1), (3, 4, 5, 6)), ((), (3,)), ((0, 1), (0, 7))],
)
def test_broadcasts_into_agrees_with_numpy(shape, target):
    """kapre._backend.torch._broadcasts_into (the in-place check of maximum, in pure Python: torch.broadcast_shapes
    took 130 us a call) says whether ``shape`` broadcasts to ``target`` unchanged, as NumPy's broadcasting does."""
    try:
        expected = np.broadcast_shapes(target, shape) == tuple(target)
    except ValueError:
        expected = False
    from kapre._backend.torch import _broadcasts_into  # pure Python: runs under every Keras backend

    assert _broadcasts_into(shape, target) == expected


# ------------------------------------------------------------------------------------------------------------------
# Filterbanks, Delta, frequency map
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_apply_filterbank_mel_and_log(data_format):
    mel_kwargs = {"sample_rate": 16000, "n_freq": 257, "n_mels": 40, "f_min": 20.0, "f_max": 7000.0}
    spec = np.abs(noise((2, 11, 257, 3) if data_format == "channels_last" else (2, 3, 11, 257), seed=6))
    freq_axis = 2 if data_format == "channels_last" else 3
    mel_layer = kapre.ApplyFilterbank("mel", mel_kwargs, data_format=data_format)
    fb = librosa.filters.mel(sr=16000, n_fft=512, n_mels=40, fmin=20.0, fmax=7000.0).T
    expected = np.moveaxis(np.moveaxis(spec, freq_axis, -1) @ fb, -1, freq_axis)
    np.testing.assert_allclose(to_numpy(mel_layer(spec)), expected, rtol=1e-5, atol=1e-6)
    log_layer = kapre.ApplyFilterbank("log", {"sample_rate": 16000, "n_freq": 257, "n_bins": 60},
                                      data_format=data_format)
    out = to_numpy(log_layer(spec))
    assert out.shape[freq_axis] == 60
    fb_log = to_numpy(kapre.backend.filterbank_log(16000, 257, n_bins=60))
    np.testing.assert_allclose(out, np.moveaxis(np.moveaxis(spec, freq_axis, -1) @ fb_log, -1, freq_axis),
                               rtol=1e-5, atol=1e-6)


def test_apply_filterbank_errors():
    with pytest.raises(ValueError, match="type must be one of \\['mel', 'log'\\], received type='linear'"):
        kapre.ApplyFilterbank("linear", {"sample_rate": 16000, "n_freq": 257})
    with pytest.raises(ValueError, match="filterbank_kwargs for type='mel' takes"):
        kapre.ApplyFilterbank("mel", {"sample_rate": 16000, "n_freq": 257, "n_bins": 3})
    layer = kapre.ApplyFilterbank("mel", {"sample_rate": 16000, "n_freq": 257}, data_format="channels_last")
    with pytest.raises(ValueError, match="built for n_freq=257"):
        layer(np.ones((1, 4, 513, 1), "float32"))


def test_delta_small_example_and_librosa_interior():
    x = np.array([1, 2, 3, 4], "float32").reshape(1, 4, 1, 1)
    y = to_numpy(kapre.Delta(win_length=3, data_format="channels_last")(x))
    np.testing.assert_allclose(y.ravel(), [0.5, 1.0, 1.0, 0.5], atol=1e-6)
    spec = noise((2, 40, 13, 1), seed=7)
    for win_length in (3, 5, 9):
        ours = to_numpy(kapre.Delta(win_length=win_length, data_format="channels_last")(spec))
        half = win_length // 2
        for b in range(2):
            expected = librosa.feature.delta(spec[b, :, :, 0], width=win_length, axis=0)
            np.testing.assert_allclose(ours[b, half:-half, :, 0], expected[half:-half], atol=1e-5)


@pytest.mark.parametrize("mode", ["symmetric", "reflect", "constant", "REFLECT"])
def test_delta_padding_modes_channels_first(mode):
    spec = noise((2, 3, 17, 5), seed=8)  # (batch, ch, time, freq)
    ours = to_numpy(kapre.Delta(win_length=5, mode=mode, data_format="channels_first")(spec))
    padded = np.pad(spec, [(0, 0), (0, 0), (2, 2), (0, 0)], mode=mode.lower())
    expected = sum(k * (padded[:, :, 2 + k : 19 + k] - padded[:, :, 2 - k : 19 - k]) for k in (1, 2)) / 10.0
    np.testing.assert_allclose(ours, expected, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_concatenate_frequency_map(dtype, data_format):
    if dtype == "float64" and not _float64_available():
        dtype = "float32"  # JAX without JAX_ENABLE_X64 has no float64
    shape = (2, 4, 5, 3) if data_format == "channels_last" else (2, 3, 4, 5)
    x = noise(shape, dtype=dtype)
    y = to_numpy(kapre.ConcatenateFrequencyMap(data_format=data_format, dtype=dtype)(x))
    assert y.dtype == np.dtype(dtype)
    if data_format == "channels_last":
        assert y.shape == (2, 4, 5, 4)
        np.testing.assert_array_equal(y[..., :3], x)
        np.testing.assert_allclose(y[1, 2, :, 3], np.linspace(0, 1, 5), atol=1e-3)
    else:
        assert y.shape == (2, 4, 4, 5)
        np.testing.assert_array_equal(y[:, :3], x)
        np.testing.assert_allclose(y[1, 3, 2, :], np.linspace(0, 1, 5), atol=1e-3)


def test_default_data_format_follows_keras_setting():
    keras.config.set_image_data_format("channels_first")
    x = noise((1, 2, 2048))  # (batch, channels, time)
    y = kapre.STFT(n_fft=512, hop_length=256)(x)
    assert tuple(y.shape) == (1, 2, 7, 257)
    assert kapre.STFT(n_fft=512).get_config()["input_data_format"] == "default"
    assert tuple(kapre.ConcatenateFrequencyMap()(np.zeros((1, 2, 7, 257), "float32")).shape) == (1, 3, 7, 257)


# ------------------------------------------------------------------------------------------------------------------
# Properties every layer must have
# ------------------------------------------------------------------------------------------------------------------


def _layer_cases():
    """(layer factory, per-example input) pairs covering every time-frequency layer."""
    wave = noise((3, 3000, 2), seed=11)
    spec = np.abs(noise((3, 20, 257, 2), seed=12))
    cplx = (noise((3, 20, 257, 2), seed=13) + 1j * noise((3, 20, 257, 2), seed=14)).astype("complex64")
    cl = {"input_data_format": "channels_last", "output_data_format": "channels_last"}
    return {
        "STFT": (lambda: kapre.STFT(n_fft=512, hop_length=128, **cl), wave),
        "STFT-center": (lambda: kapre.STFT(n_fft=512, hop_length=160, center=True, pad_mode="reflect", **cl), wave),
        "InverseSTFT": (lambda: kapre.InverseSTFT(n_fft=512, hop_length=128, **cl), cplx),
        "Magnitude": (lambda: kapre.Magnitude(), cplx),
        "Phase": (lambda: kapre.Phase(), cplx),
        "Phase-approx": (lambda: kapre.Phase(approx_atan_accuracy=20), cplx),
        "MagnitudeToDecibel": (lambda: kapre.MagnitudeToDecibel(dynamic_range=50.0), spec),
        "ApplyFilterbank": (
            lambda: kapre.ApplyFilterbank("mel", {"sample_rate": 16000, "n_freq": 257}, data_format="channels_last"),
            spec,
        ),
        "Delta": (lambda: kapre.Delta(data_format="channels_last"), spec),
        "ConcatenateFrequencyMap": (lambda: kapre.ConcatenateFrequencyMap(data_format="channels_last"), spec),
    }


LAYER_CASES = _layer_cases()


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_batched_equals_per_example(name):
    make, x = LAYER_CASES[name]
    layer = make()
    batched = to_numpy(layer(x))
    for i in range(x.shape[0]):
        single = to_numpy(layer(x[i : i + 1]))
        np.testing.assert_allclose(batched[i : i + 1], single, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_symbolic_shape_and_dtype_equal_eager(name):
    make, x = LAYER_CASES[name]
    layer = make()
    inputs = keras.Input(shape=x.shape[1:], dtype=str(x.dtype))
    symbolic = layer(inputs)
    eager = layer(x)
    assert tuple(symbolic.shape[1:]) == tuple(eager.shape[1:])
    assert keras.backend.standardize_dtype(symbolic.dtype) == keras.backend.standardize_dtype(eager.dtype)
    assert tuple(layer.compute_output_shape((None,) + x.shape[1:]))[1:] == tuple(eager.shape[1:])


@pytest.mark.parametrize("length", [512, 513, 639, 640, 641, 1023])
@pytest.mark.parametrize("options", [{}, {"pad_end": True}, {"pad_begin": True}, {"center": True}])
def test_stft_compute_output_shape_equals_eager_at_edge_lengths(length, options):
    layer = kapre.STFT(n_fft=512, hop_length=128, input_data_format="channels_last",
                       output_data_format="channels_last", **options)
    x = noise((1, length, 1))
    assert layer.compute_output_shape((1, length, 1)) == tuple(layer(x).shape)
    istft = kapre.InverseSTFT(n_fft=512, hop_length=128, input_data_format="channels_last",
                              output_data_format="channels_last", center=options.get("center", False))
    spectrum = layer(x)
    assert istft.compute_output_shape(tuple(spectrum.shape)) == tuple(istft(spectrum).shape)


def test_gradients_finite_through_stft_magnitude_mel_db():
    melgram = kapre.composed.get_melspectrogram_layer(
        n_fft=512, hop_length=128, sample_rate=16000, n_mels=40, return_decibel=True,
        input_data_format="channels_last", output_data_format="channels_last",
    )
    for x in (noise((2, 2000, 1), seed=15), np.zeros((2, 2000, 1), "float32")):
        grad = gradient(melgram, x)
        assert grad.shape == x.shape
        assert np.all(np.isfinite(grad))
    phase_grad = gradient(lambda v: kapre.Phase(approx_atan_accuracy=20)(kapre.STFT(
        n_fft=256, input_data_format="channels_last", output_data_format="channels_last")(v)),
        noise((1, 1000, 1), seed=16))
    assert np.all(np.isfinite(phase_grad))


def test_mixed_precision_computes_in_float32_and_returns_policy_dtype():
    x = tone_mix(4000)[None, :, None]
    cl = {"input_data_format": "channels_last", "output_data_format": "channels_last"}
    spectrum32 = to_numpy(kapre.STFT(n_fft=512, hop_length=128, **cl)(x))
    reference = to_numpy(kapre.composed.get_melspectrogram_layer(
        n_fft=512, hop_length=128, sample_rate=16000, return_decibel=True, **cl)(x))
    keras.config.set_dtype_policy("mixed_float16")
    spectrum = kapre.STFT(n_fft=512, hop_length=128, **cl)(x)
    # the input is not rounded to float16 and the FFT runs in float32: the same complex64 numbers
    assert keras.backend.standardize_dtype(spectrum.dtype) == "complex64"
    np.testing.assert_allclose(to_numpy(spectrum), spectrum32, rtol=1e-5, atol=1e-4)
    magnitude = kapre.Magnitude()(spectrum)
    assert keras.backend.standardize_dtype(magnitude.dtype) == "float16"
    np.testing.assert_allclose(to_numpy(magnitude), np.abs(spectrum32).astype("float16"), rtol=1e-3, atol=1e-7)
    # decibels of a float16 input are computed in float32 (1e-5 and -50 dB survive) and rounded once at the end
    power16 = np.abs(noise((2, 10, 7, 1), seed=30)).astype("float16") ** 2
    power16[0, 0, 0, 0] = 0
    db = kapre.MagnitudeToDecibel()(power16)
    assert keras.backend.standardize_dtype(db.dtype) == "float16"
    for b in range(2):
        expected = librosa.power_to_db(power16[b].astype("float32"), ref=1.0, amin=1e-5, top_db=80.0)
        np.testing.assert_allclose(to_numpy(db)[b].astype("float32"), expected, atol=0.04)
    # the composed layer hands float16 between layers (the policy's dtype): quiet bins lose float16 precision
    out = kapre.composed.get_melspectrogram_layer(
        n_fft=512, hop_length=128, sample_rate=16000, return_decibel=True, **cl)(x)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    assert np.abs(to_numpy(out).astype("float32") - reference).max() <= 1.0


def test_bfloat16_policy():
    keras.config.set_dtype_policy("mixed_bfloat16")
    x = tone_mix(3000)[None, :, None]
    out = kapre.composed.get_stft_magnitude_layer(n_fft=256, return_decibel=True, input_data_format="channels_last",
                                                  output_data_format="channels_last")(x)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    assert np.all(np.isfinite(to_numpy(keras.ops.cast(out, "float32"))))


# ------------------------------------------------------------------------------------------------------------------
# Argument validation
# ------------------------------------------------------------------------------------------------------------------

INVALID_ARGUMENTS = [
    (kapre.STFT, {"n_fft": 0}, ValueError, "n_fft must be >= 1, received n_fft=0"),
    (kapre.STFT, {"n_fft": 512.0}, TypeError, "n_fft must be an integer, received n_fft=512.0"),
    (kapre.STFT, {"n_fft": 256, "win_length": 512}, ValueError, "win_length must be <= n_fft=256"),
    (kapre.STFT, {"hop_length": -1}, ValueError, "hop_length must be >= 1, received hop_length=-1"),
    (kapre.STFT, {"window_name": "hanning"}, ValueError, "Unknown window name 'hanning'"),
    (kapre.STFT, {"window_name": 3}, TypeError, "window_name must be a window name"),
    (kapre.STFT, {"pad_end": "yes"}, TypeError, "pad_end must be True or False, received pad_end='yes'"),
    (kapre.STFT, {"input_data_format": "channel_last"}, ValueError, "input_data_format must be one of"),
    (kapre.STFT, {"pad_mode": "edge"}, ValueError, "pad_mode must be one of \\['constant', 'reflect'\\]"),
    (kapre.STFT, {"center": True, "pad_end": True}, ValueError, "cannot be combined with pad_begin"),
    (kapre.InverseSTFT, {"hop_length": 0}, ValueError, "hop_length must be >= 1"),
    (kapre.InverseSTFT, {"forward_window_name": "nope"}, ValueError, "Unknown window name 'nope'"),
    (kapre.InverseSTFT, {"output_data_format": None}, TypeError, "output_data_format must be a string"),
    (kapre.Phase, {"approx_atan_accuracy": 0}, ValueError, "approx_atan_accuracy must be >= 1"),
    (kapre.MagnitudeToDecibel, {"amin": 0.0}, ValueError, "amin must be > 0.0, received amin=0.0"),
    (kapre.MagnitudeToDecibel, {"ref_value": -1.0}, ValueError, "ref_value must be > 0.0"),
    (kapre.MagnitudeToDecibel, {"dynamic_range": 0.0}, ValueError, "dynamic_range must be > 0.0"),
    (kapre.MagnitudeToDecibel, {"amplitude": 1}, TypeError, "amplitude must be True or False"),
    (kapre.Delta, {"win_length": 4}, ValueError, "win_length must be an odd number, received win_length=4"),
    (kapre.Delta, {"win_length": 1}, ValueError, "win_length must be >= 3"),
    (kapre.Delta, {"mode": "wrap"}, ValueError, "mode must be one of .* received mode='wrap'"),
    (kapre.ConcatenateFrequencyMap, {"data_format": "nchw"}, ValueError, "data_format must be one of"),
]


@pytest.mark.parametrize("cls, kwargs, error, match", INVALID_ARGUMENTS)
def test_invalid_arguments_raise_clear_errors(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(**kwargs)


def test_layers_reject_wrong_rank():
    with pytest.raises(ValueError, match="Delta expects a 4-D input"):
        kapre.Delta()(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match="ApplyFilterbank expects a 4-D input"):
        kapre.ApplyFilterbank("mel", {"sample_rate": 8000, "n_freq": 129})(np.zeros((2, 129), "float32"))
    with pytest.raises(TypeError, match="Phase expects a complex input"):
        kapre.Phase()(np.zeros((1, 2, 3, 1), "float32"))
    with pytest.raises(TypeError, match="MagnitudeToDecibel expects a real"):
        kapre.MagnitudeToDecibel()(np.zeros((1, 2), "complex64"))


def test_model_in_a_training_loop_on_backend():
    """The front-end inside a compiled model: fit runs and the loss is finite."""
    x = noise((8, 4000, 1), seed=21)
    y = (np.arange(8) % 2).astype("float32")
    model = keras.Sequential([
        keras.Input((4000, 1)),
        kapre.composed.get_melspectrogram_layer(n_fft=512, hop_length=256, sample_rate=16000, n_mels=32,
                                                return_decibel=True, input_data_format="channels_last",
                                                output_data_format="channels_last"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile("adam", "binary_crossentropy", jit_compile=BACKEND != "torch")
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def test_decibel_and_approximate_phase_keep_float64():
    """Keras computes ops.maximum/minimum of float64 tensors in float32 on PyTorch; kapre's decibel floor and
    the approximate phase keep float64 (kapre._backend.maximum/minimum) and float64 precision."""
    if not _float64_available():
        pytest.skip("JAX without JAX_ENABLE_X64 has no float64 (documented)")
    x = noise((2, 50, 8), seed=21, dtype="float64") ** 2 + 1e-12
    db = kapre.MagnitudeToDecibel(dtype="float64")(x)
    assert keras.backend.standardize_dtype(db.dtype) == "float64"
    expected = np.stack([np.maximum(10 * np.log10(np.maximum(e, 1e-5)), 10 * np.log10(np.maximum(e, 1e-5)).max() - 80)
                         for e in x])
    np.testing.assert_allclose(to_numpy(db), expected, rtol=0, atol=1e-10)
    real, imag = noise((64,), seed=22, dtype="float64"), noise((64,), seed=23, dtype="float64")
    tensors = [keras.ops.convert_to_tensor(v) for v in (imag, real)]
    angle = kapre.functional.atan2_continued_fraction(*tensors, 40)
    assert keras.backend.standardize_dtype(angle.dtype) == "float64"
    np.testing.assert_allclose(to_numpy(angle), np.arctan2(imag, real), atol=1e-12)
