"""kapre.MelSpectrogram and its fast path: the backend ops equal the generic keras.ops path, the block-sparse
filterbank equals the dense product, and the layer equals the composed layers and librosa (center=False)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import kapre
from kapre import _backend, constants, functional
from tests.helpers import BACKEND, gradient, model_of, noise, save_and_load, to_numpy

W2 = dict(n_fft=512, hop_length=160, sample_rate=16000, n_mels=64)


def _librosa_log_mel(x, sr, n_fft, hop, n_mels, power=2.0):
    import librosa
    spec = librosa.feature.melspectrogram(
        y=x, sr=sr, n_fft=n_fft, hop_length=hop, window="hann", center=False, power=power, n_mels=n_mels,
        fmin=0.0, fmax=sr / 2, htk=False, norm="slaney",
    )
    return np.stack([librosa.power_to_db(s, ref=1.0, amin=1e-10, top_db=80.0) for s in spec])  # (b, mels, t)


@pytest.mark.parametrize("frame_length, hop", [(512, 160), (2048, 512), (400, 400), (300, 512)])
def test_backend_frame_equals_generic_frame(frame_length, hop):
    x = ops.convert_to_tensor(noise((2, 3, 4000)))
    native = _backend.frame(x, frame_length, hop)
    generic = to_numpy(functional.frame(x, frame_length, hop))
    np.testing.assert_array_equal(to_numpy(native), generic)


@pytest.mark.parametrize("n_fft, length", [(512, 512), (2048, 2048), (512, 400)])
def test_backend_rfft_power_equals_generic(n_fft, length):
    x = noise((3, 7, length))
    power = to_numpy(_backend.rfft_power(ops.convert_to_tensor(x), n_fft))
    real, imag = ops.rfft(ops.convert_to_tensor(x), fft_length=n_fft)
    generic = to_numpy(ops.square(real) + ops.square(imag))
    np.testing.assert_allclose(power, generic, rtol=1e-5, atol=1e-4)
    spectrum = np.fft.rfft(x.astype(np.float64), n=n_fft, axis=-1)
    np.testing.assert_allclose(power, np.abs(spectrum) ** 2, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    "sr, n_fft, n_mels, f_min, f_max, htk",
    [(22050, 2048, 128, 0.0, None, False), (16000, 512, 64, 0.0, None, False), (16000, 512, 40, 300.0, 6000.0, True),
     (8000, 256, 80, 0.0, None, False)],
)
@pytest.mark.parametrize("width_multiple", [1, 16])
def test_filterbank_blocks_cover_every_weight(sr, n_fft, n_mels, f_min, f_max, htk, width_multiple):
    fb = constants.mel_filterbank(sr, n_fft // 2 + 1, n_mels, f_min, f_max, htk)
    blocks = constants.filterbank_blocks(fb, width_multiple=width_multiple)
    assert blocks[0][2] == 0 and blocks[-1][3] == n_mels
    covered = np.zeros_like(fb, dtype=bool)
    for (r0, r1, c0, c1), nxt in zip(blocks, [*blocks[1:], None], strict=True):
        assert 0 <= r0 < r1 <= fb.shape[0]
        if nxt is not None:
            assert c1 == nxt[2]
        covered[r0:r1, c0:c1] = True
    assert not np.any(fb[~covered])
    x = noise((2, 5, fb.shape[0])) ** 2
    weights = [(r0, r1, ops.convert_to_tensor(fb[r0:r1, c0:c1].astype("float32"))) for r0, r1, c0, c1 in blocks]
    banded = to_numpy(functional.apply_filterbank_blocks(ops.convert_to_tensor(x), weights))
    np.testing.assert_allclose(banded, x @ fb.astype("float32"), rtol=1e-5, atol=1e-6)
    # padded to the multiple with zero columns: the first (c1 - c0) columns of each product are the block's
    for r0, r1, c0, c1 in blocks:
        padded = constants.pad_columns(fb[r0:r1, c0:c1], width_multiple)
        assert padded.shape == (r1 - r0, -(-(c1 - c0) // width_multiple) * width_multiple)
        assert not padded[:, c1 - c0 :].any()
        np.testing.assert_array_equal(padded[:, : c1 - c0], fb[r0:r1, c0:c1])


def test_blocks_costed_at_padded_widths_are_multiples_where_that_is_cheaper():
    """With width_multiple 16 (PyTorch) the W2 filterbank (257 x 64) splits at a multiple of 16, so no padded
    column is wasted; with 1 it splits where the fewest multiply-adds are."""
    fb = constants.mel_filterbank(16000, 257, 64, 0.0, None, False)
    assert [c1 - c0 for *_, c0, c1 in constants.filterbank_blocks(fb, width_multiple=16)] == [48, 16]
    assert [c1 - c0 for *_, c0, c1 in constants.filterbank_blocks(fb)] == [42, 22]


def test_filterbank_blocks_with_an_empty_band():
    fb = np.zeros((10, 3))
    fb[2:5, 0] = 1.0
    fb[6:9, 2] = 1.0
    blocks = constants.filterbank_blocks(fb)
    x = noise((4, 10))
    out = np.concatenate([x[:, r0:r1] @ fb[r0:r1, c0:c1] for r0, r1, c0, c1 in blocks], axis=-1)
    np.testing.assert_allclose(out, x @ fb, atol=1e-12)


def test_power_spectrogram_equals_squared_stft_magnitude():
    x = ops.convert_to_tensor(noise((2, 1, 8000)))
    window = ops.convert_to_tensor(constants.get_window(None, 400).astype("float32"))
    power = to_numpy(functional.power_spectrogram(x, 512, 160, window))
    magnitude = to_numpy(functional.magnitude(functional.stft(x, 512, 160, window)))
    np.testing.assert_allclose(power, magnitude**2, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("channels, in_format, out_format", [(1, "channels_last", "channels_last"),
                                                             (2, "channels_first", "channels_last"),
                                                             (2, "channels_last", "channels_first")])
def test_layer_equals_librosa_within_1e3_db(channels, in_format, out_format):
    x = noise((3, channels, 16000))
    layer = kapre.MelSpectrogram(**W2, input_data_format=in_format, output_data_format=out_format)
    inputs = x if in_format == "channels_first" else x.transpose(0, 2, 1)
    y = to_numpy(layer(inputs))
    if out_format == "channels_last":
        y = y.transpose(0, 3, 1, 2)  # (b, ch, t, mels)
    assert y.shape == (3, channels, 97, 64)
    for c in range(channels):
        ref = _librosa_log_mel(x[:, c], 16000, 512, 160, 64).transpose(0, 2, 1)
        # top_db is per example over all channels in kapre; noise channels have nearly the same maximum
        np.testing.assert_allclose(y[:, c], np.maximum(ref, y[:, c].min()), atol=1e-3)


@pytest.mark.parametrize("pad_mode", ["constant", "reflect"])
@pytest.mark.parametrize("win_length, length", [(None, 16000), (400, 16000), (None, 300), (300, 5001)])
def test_centered_layer_equals_librosa_within_1e3_db(pad_mode, win_length, length):
    """center=True: librosa.feature.melspectrogram's default framing (a window shorter than n_fft in the middle of
    each n_fft frame), both pad modes, signals shorter than n_fft included."""
    import librosa

    x = noise((2, length), seed=5)
    layer = kapre.MelSpectrogram(**W2, win_length=win_length, center=True, pad_mode=pad_mode,
                                 input_data_format="channels_first", output_data_format="channels_first")
    y = to_numpy(layer(x[:, None, :]))[:, 0]
    assert y.shape == (2, 1 + length // 160, 64) == tuple(layer.compute_output_shape((2, 1, length)))[::2] + (64,)
    for i in range(2):
        spec = librosa.feature.melspectrogram(y=x[i].astype("float64"), sr=16000, n_fft=512, hop_length=160,
                                              win_length=win_length, center=True, pad_mode=pad_mode, n_mels=64)
        ref = librosa.power_to_db(spec, ref=1.0, amin=1e-10, top_db=80.0).T
        np.testing.assert_allclose(y[i], ref, atol=1e-3)  # float32 against float64: well within 1e-3 dB
    assert layer.frame_locality == (None if pad_mode == "reflect" else "waveform")


def test_centered_reflect_rejects_a_signal_of_half_a_frame():
    layer = kapre.MelSpectrogram(**W2, center=True, pad_mode="reflect", input_data_format="channels_last")
    with pytest.raises(ValueError, match="pad_mode='reflect' needs more than n_fft // 2 samples"):
        layer(np.zeros((1, 256, 1), "float32"))
    with pytest.raises(ValueError, match="pad_mode must be one of"):
        kapre.MelSpectrogram(**W2, center=True, pad_mode="wrap")


def test_layer_equals_composed_layers():
    x = noise((2, 22050 * 2, 1), seed=3)
    fast = kapre.MelSpectrogram(n_fft=2048, hop_length=512, sample_rate=22050, n_mels=128, power=1.0,
                                return_decibel=True, db_amin=1e-5, input_data_format="channels_last",
                                output_data_format="channels_last")
    composed = kapre.composed.get_melspectrogram_layer(
        n_fft=2048, hop_length=512, sample_rate=22050, n_mels=128, return_decibel=True, db_amin=1e-5,
        input_data_format="channels_last", output_data_format="channels_last",
    )
    np.testing.assert_allclose(to_numpy(fast(x)), to_numpy(composed(x)), atol=1e-3)


def test_layer_shape_config_and_save_load(tmp_path):
    layer = kapre.MelSpectrogram(**W2, input_data_format="channels_last", output_data_format="channels_last")
    assert layer.compute_output_shape((None, 16000, 1)) == (None, 97, 64, 1)
    clone = kapre.MelSpectrogram.from_config(layer.get_config())
    x = noise((2, 16000, 1))
    np.testing.assert_array_equal(to_numpy(clone(x)), to_numpy(layer(x)))
    inputs = keras.Input(shape=(16000, 1))
    model = keras.Model(inputs, layer(inputs))
    loaded = save_and_load(model, tmp_path)
    np.testing.assert_allclose(to_numpy(loaded(x)), to_numpy(model(x)), atol=1e-5)


def test_layer_rejects_bad_arguments():
    with pytest.raises(ValueError, match="power"):
        kapre.MelSpectrogram(power=3.0)
    with pytest.raises(ValueError, match="shorter than one frame"):
        kapre.MelSpectrogram(n_fft=512, input_data_format="channels_last")(np.zeros((1, 100, 1), "float32"))


def test_eager_call_equals_compiled_call():
    """On JAX and TensorFlow an eager call runs as one cached compiled computation
    (kapre._backend.call_compiled_when_eager); it must give the traced numbers."""
    layer = kapre.MelSpectrogram(n_fft=256, hop_length=64, sample_rate=8000, n_mels=20,
                                 input_data_format="channels_last", output_data_format="channels_last")
    x = noise((2, 2000, 1), seed=5)
    eager = to_numpy(layer(x))
    model = keras.Sequential([keras.Input((2000, 1)), layer])
    compiled = model.predict(x, verbose=0)  # Keras compiles predict on every backend that can
    np.testing.assert_allclose(eager, compiled, atol=1e-4)
    cache = layer.__dict__.get("_kapre_compiled_calls", {})
    assert bool(cache) == (BACKEND in ("jax", "tensorflow"))


@pytest.mark.parametrize("total, per_chunk", [(97, 2048), (97, 32), (427, 32), (6397, 1), (5, 2), (1, 1)])
def test_frame_chunks_cover_every_frame_once(total, per_chunk):
    chunks = functional.frame_chunks(total, per_chunk)
    assert chunks[0][0] == 0 and chunks[-1][1] == total
    assert all(prev[1] == nxt[0] for prev, nxt in zip(chunks[:-1], chunks[1:], strict=True))
    sizes = [stop - start for start, stop in chunks]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1 and max(sizes) <= per_chunk
    assert len(chunks) == -(-total // per_chunk)


@pytest.mark.parametrize("rows, signals, frames, frame_length, target, expected", [
    (64, 1, 97, 512, 2**20, 4),  # W2: 16 clips a chunk
    (4, 2, 47, 512, 2**16, 4),  # one 2-channel clip a chunk
    (16, 1, 309, 2048, 2**20, 16),  # W1: a clip a chunk
    (10000, 1, 1, 512, 2**20, 5),  # one-frame clips: 2,048 a chunk
    (2, 1, 47, 512, 2**12, None),  # one clip's frames exceed a chunk
    (3, 1, 0, 512, 2**20, None),  # no frame
])
def test_row_chunks_cover_every_row_once_in_whole_rows(rows, signals, frames, frame_length, target, expected):
    from kapre._frames import row_chunks

    chunks = row_chunks(rows, signals, frames, frame_length, target)
    if expected is None:
        assert chunks is None
        return
    assert len(chunks) == expected and chunks[0][0] == 0 and chunks[-1][1] == rows
    assert all(prev[1] == nxt[0] for prev, nxt in zip(chunks[:-1], chunks[1:], strict=True))
    sizes = [r1 - r0 for r0, r1 in chunks]
    assert max(sizes) * signals * frames * frame_length <= target and max(sizes) - min(sizes) <= 1


def test_frames_per_chunk_aims_at_the_target():
    assert functional.frames_per_chunk(16, 2048, 2**20) == 32  # W1: 16 clips x 32 frames x 2048 = 2**20
    assert functional.frames_per_chunk(64, 512, 2**20) == 32
    assert functional.frames_per_chunk(None, 512, 2**20) == 2048  # unknown batch: one row
    assert functional.frames_per_chunk(64, 2048, 2**10) == 1  # at least one frame


@pytest.mark.parametrize("per_chunk, max_chunks", [(1, 1000), (7, 1000), (7, 2), (9, 3), (53, 1), (54, 1)])
def test_chunked_power_spectrogram_equals_whole(per_chunk, max_chunks):
    """Chunks of per_chunk frames, or fewer larger ones when there would be more than max_chunks, all equal
    the whole computation."""
    x = ops.convert_to_tensor(noise((2, 3, 9000), seed=11))
    window = ops.convert_to_tensor(constants.get_window(None, 400).astype("float32"))

    def power(signals):
        return functional.power_spectrogram(signals, 512, 160, window)

    whole = to_numpy(power(x))
    chunked = to_numpy(functional.map_frame_chunks(power, x, 400, 160, per_chunk, max_chunks))
    assert chunked.shape == whole.shape == (2, 3, 54, 257)
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-6 * whole.max())


@pytest.mark.parametrize("per_chunk", [1, 7, 18, 27, 53])
def test_looped_chunks_equal_whole(per_chunk):
    """map_frame_chunks(loop=True): equal chunks through keras.ops.map, the frames left in one more call
    (54 frames: 54 x 1, 7 x 7 + 5 left, 3 x 18, 2 x 27 twice); each split equals the whole."""
    x = ops.convert_to_tensor(noise((2, 3, 9000), seed=11))
    window = ops.convert_to_tensor(constants.get_window(None, 400).astype("float32"))

    def power(signals):
        return functional.power_spectrogram(signals, 512, 160, window)

    whole = to_numpy(power(x))
    looped = to_numpy(functional.map_frame_chunks(power, x, 400, 160, per_chunk, loop=True))
    assert looped.shape == whole.shape == (2, 3, 54, 257)
    np.testing.assert_allclose(looped, whole, rtol=1e-5, atol=1e-6 * whole.max())


def test_layer_in_chunks_equals_librosa_and_per_example():
    """4 clips x 10 s at 22,050 Hz, n_fft 2048: 3.5 M frame samples, so the layer works in chunks
    (kapre.functional.map_frame_chunks); one clip alone is 2 chunks of another size."""
    x = noise((4, 220500, 1), seed=12)
    layer = kapre.MelSpectrogram(n_fft=2048, hop_length=512, sample_rate=22050, n_mels=128,
                                 input_data_format="channels_last", output_data_format="channels_last")
    assert functional.frames_per_chunk(4, 2048, layer._chunk_samples) < 427
    y = to_numpy(layer(x))[..., 0]
    ref = _librosa_log_mel(x[..., 0], 22050, 2048, 512, 128).transpose(0, 2, 1)
    assert y.shape == ref.shape == (4, 427, 128)
    np.testing.assert_allclose(y, ref, atol=1e-3)
    for index in range(4):
        np.testing.assert_allclose(to_numpy(layer(x[index : index + 1]))[0, ..., 0], y[index], atol=1e-4)


@pytest.mark.parametrize("max_chunks", [None, 2])
def test_layer_in_many_chunks_equals_librosa_and_has_finite_gradients(max_chunks):
    """A short input forced into 15 chunks (the backend's limit) or 2 larger ones; numbers equal librosa,
    gradients are finite."""
    layer = kapre.MelSpectrogram(n_fft=256, hop_length=64, sample_rate=8000, n_mels=20,
                                 input_data_format="channels_last", output_data_format="channels_last")
    layer._chunk_samples, layer._max_chunks = 2**11, max_chunks  # 4 frames per chunk for 2 clips
    x = noise((2, 4000, 1), seed=13)
    y = to_numpy(layer(x))[..., 0]
    ref = _librosa_log_mel(x[..., 0], 8000, 256, 64, 20).transpose(0, 2, 1)
    assert y.shape == ref.shape == (2, 59, 20)
    np.testing.assert_allclose(y, ref, atol=1e-3)
    grad = gradient(lambda t: layer(t), x)
    assert grad.shape == x.shape and np.isfinite(grad).all() and np.abs(grad).max() > 0


@pytest.mark.parametrize("loop", [True, False])
def test_layer_with_looped_or_unrolled_chunks_equals_librosa_and_has_finite_gradients(loop):
    """Each backend runs one of the two chunk schedules by default (JAX loops: _backend.LOOPS_OVER_FRAME_CHUNKS);
    both are forced here on every backend (59 frames in 4-frame chunks: 14 looped + 3 left over, or 15 unrolled)."""
    layer = kapre.MelSpectrogram(n_fft=256, hop_length=64, sample_rate=8000, n_mels=20,
                                 input_data_format="channels_last", output_data_format="channels_last")
    layer._chunk_samples, layer._loop_chunks = 2**11, loop
    x = noise((2, 4000, 1), seed=13)
    y = to_numpy(layer(x))[..., 0]
    ref = _librosa_log_mel(x[..., 0], 8000, 256, 64, 20).transpose(0, 2, 1)
    np.testing.assert_allclose(y, ref, atol=1e-3)
    grad = gradient(lambda t: layer(t), x)
    assert grad.shape == x.shape and np.isfinite(grad).all() and np.abs(grad).max() > 0
    # compiled on TF and JAX; TF's predict graph has no static batch size, so there the loop falls back to
    # unrolled chunks (kapre.functional.map_frame_chunks)
    compiled = model_of(layer, (4000, 1)).predict(x, verbose=0)[..., 0]
    np.testing.assert_allclose(compiled, ref, atol=1e-3)


def test_only_jax_loops_over_chunks():
    assert _backend.LOOPS_OVER_FRAME_CHUNKS == (BACKEND == "jax")


@pytest.mark.skipif(BACKEND != "torch", reason="torch.compile; TF/JAX: test_eager_call_equals_compiled_call")
def test_torch_compile_equals_eager_with_many_chunks():
    """Eager PyTorch takes every chunk the input needs; under torch.compile at most 16 larger ones
    (kapre._backend.max_frame_chunks); the results agree."""
    import torch

    layer = kapre.MelSpectrogram(n_fft=256, hop_length=64, sample_rate=8000, n_mels=20,
                                 input_data_format="channels_last", output_data_format="channels_last")
    layer._chunk_samples = 2**10
    x = torch.from_numpy(noise((2, 8000, 1), seed=14))
    assert _backend.max_frame_chunks() > 1000
    assert len(functional.frame_chunks(122, functional.frames_per_chunk(2, 256, 2**10))) > 16
    eager = to_numpy(layer(x))
    compiled = to_numpy(torch.compile(lambda t: layer(t))(x))
    np.testing.assert_allclose(compiled, eager, atol=1e-4)


def test_max_frame_chunks_outside_torch_eager_is_the_graph_cap():
    assert _backend.max_frame_chunks() == (1 << 30 if BACKEND == "torch" else 16)


@pytest.mark.skipif(BACKEND != "torch", reason="PyTorch's fused chunk (kapre._backend.torch_mel); TF/JAX compile the "
                    "generic composition, checked against librosa by the other tests here")
@pytest.mark.parametrize("power, amin", [(2.0, 1e-10), (1.0, 1e-5), (2.0, None), (1.0, None)])
def test_torch_fused_chunk_equals_generic_composition(power, amin):
    """EagerTorchMel.chunk (PyTorch's fused chunk, also used under torch.compile) computes what the keras.ops
    composition computes."""
    from kapre._backend.torch_mel import EagerTorchMel

    fb = constants.mel_filterbank(16000, 257, 64, 0.0, 8000.0, False, "slaney")
    blocks = [(r0, r1, ops.convert_to_tensor(fb[r0:r1, c0:c1].astype("float32")))
              for r0, r1, c0, c1 in constants.filterbank_blocks(fb)]
    window = ops.convert_to_tensor(constants.get_window(None, 400).astype("float32"))
    x = ops.convert_to_tensor(noise((2, 3, 8000), seed=15))
    fused = EagerTorchMel.chunk(x, 400, 160, 512, window, blocks, power, amin)
    spectrogram = functional.power_spectrogram(x, 512, 160, window)
    if power == 1.0:
        spectrogram = ops.sqrt(spectrogram)
    generic = functional.apply_filterbank_blocks(spectrogram, blocks)
    if amin is not None:
        generic = functional.decibel(generic, amin)
    generic = to_numpy(generic)
    assert to_numpy(fused).shape == generic.shape == (2, 3, 48, 64)
    np.testing.assert_allclose(to_numpy(fused), generic, rtol=1e-6, atol=1e-6 * np.abs(generic).max())


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16", "float64"])
def test_layer_under_other_dtype_policies_in_chunks(policy):
    """The chunked, fused path computes in float32 under mixed precision (float64 for a float64 layer, where the
    backend has it) and returns the policy's dtype; the numbers equal librosa within the output dtype's resolution."""
    x = noise((4, 32000, 1), seed=17)
    kwargs = dict(**W2, input_data_format="channels_last", output_data_format="channels_last")
    reference = _librosa_log_mel(x[..., 0], 16000, 512, 160, 64).transpose(0, 2, 1)[..., None]  # (b, t, mels, 1)
    layer = kapre.MelSpectrogram(**kwargs, dtype=policy)
    layer._chunk_samples = 2**14  # several chunks
    y = layer(x)
    expected = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16", "float64": "float64"}[policy]
    if policy == "float64" and BACKEND == "jax":
        import jax

        expected = "float64" if jax.config.jax_enable_x64 else "float32"
    assert keras.backend.standardize_dtype(y.dtype) == expected
    # float16 resolution at 100 dB is 0.06 dB; bfloat16's is 0.5 dB
    tolerance = {"mixed_float16": 0.07, "mixed_bfloat16": 0.6, "float64": 1e-3}[policy]
    np.testing.assert_allclose(to_numpy(ops.cast(y, "float32")).astype("float64"), reference, atol=tolerance)


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: kapre.MelSpectrogram(sample_rate=16000, mel_f_max=9000.0), "mel_f_max"),
        (lambda: kapre.MelSpectrogram(mel_f_min=-1.0), "mel_f_min"),
        (lambda: kapre.MelSpectrogram(mel_norm="l2"), "mel_norm"),
        (lambda: kapre.MelSpectrogram(db_amin=0.0), "db_amin"),
        (lambda: kapre.MelSpectrogram(db_dynamic_range=-1.0), "db_dynamic_range"),
        (lambda: kapre.MelSpectrogram(db_ref_value="min"), "db_ref_value"),
        (lambda: kapre.composed.get_melspectrogram_layer(sample_rate=16000, mel_f_max=9000.0), "mel_f_max"),
        (lambda: kapre.composed.get_melspectrogram_layer(return_decibel=True, db_amin=-1.0), "db_amin"),
        (lambda: kapre.composed.get_stft_magnitude_layer(return_decibel=True, db_dynamic_range=0.0),
         "db_dynamic_range"),
        (lambda: kapre.composed.get_log_frequency_spectrogram_layer(log_n_bins=0), "log_n_bins"),
        (lambda: kapre.composed.get_log_frequency_spectrogram_layer(log_spread=-0.1), "log_spread"),
        (lambda: kapre.time_frequency.Melspectrogram(sr=16000, fmax=9000.0), "fmax"),
        (lambda: kapre.filterbank.Filterbank(n_fbs=0, trainable_fb=False, sr=8000), "n_fbs"),
    ],
)
def test_bad_arguments_are_named_as_the_user_passed_them(make, argument):
    """The shared checks (kapre.backend.check_mel_args, ...) report the caller's argument names (mel_f_max,
    db_amin, fmax, ...), not the internal ones (f_max, amin)."""
    with pytest.raises(ValueError, match=rf"(^|\W){argument} must .* received {argument}="):
        make()


@pytest.mark.parametrize("signal", ["zeros", "ones", "half-silent"])
@pytest.mark.parametrize("forced_generic", [False, True], ids=["default-path", "generic-path"])
def test_magnitude_mel_gradient_is_finite_on_silence(signal, forced_generic):
    """Issue 22's reproduction: MelSpectrogram(power=1.0) on zeros (every power bin 0) or ones (every bin but DC 0)
    gave 1,012 of 1,030 NaN gradient entries: the square root of the power now has gradient 0 at 0 (as Magnitude),
    on the default path (eager PyTorch's own) and on the generic composition (TF, JAX, torch.compile)."""
    layer = kapre.MelSpectrogram(n_fft=128, hop_length=42, sample_rate=16000, n_mels=17, power=1.0,
                                 return_decibel=False, input_data_format="channels_last",
                                 output_data_format="channels_last")
    if forced_generic:
        layer._loop_chunks = _backend.LOOPS_OVER_FRAME_CHUNKS  # any forced chunk setting selects the generic path
    x = {"zeros": np.zeros((2, 515, 1), "float32"), "ones": np.ones((2, 515, 1), "float32"),
         "half-silent": np.concatenate([noise((2, 258, 1), seed=2), np.zeros((2, 257, 1), "float32")], axis=1)}[signal]
    grad = gradient(lambda t: layer(t), x)
    assert grad.shape == x.shape and np.isfinite(grad).all(), int(np.count_nonzero(~np.isfinite(grad)))
    y = to_numpy(layer(x))
    ref = np.stack([librosa_magnitude_mel(x[i, :, 0]) for i in range(2)])
    np.testing.assert_allclose(y[..., 0], ref, atol=1e-5 * max(1.0, float(ref.max())), rtol=1e-5)
    if signal == "half-silent":  # the gradient still flows where there is sound
        assert np.abs(grad[:, :200]).max() > 0


def librosa_magnitude_mel(y):
    import librosa

    return librosa.feature.melspectrogram(y=y.astype("float64"), sr=16000, n_fft=128, hop_length=42, n_mels=17,
                                          power=1.0, center=False).T


def test_only_tensorflow_fuses_the_steps_after_the_fft():
    """TensorFlow's graphs run each op over the full-size data unless XLA fuses them; JAX and ``torch.compile``
    fuse by themselves and eager PyTorch has its own chunk (kapre._backend.torch_mel)."""
    fused = _backend.fused_power_tail(lambda power: power)
    assert (fused is not None) == (BACKEND == "tensorflow"), fused


@pytest.fixture
def xla_tail():
    """kapre.config.enable_xla_tail() for one test, the default restored after it."""
    kapre.config.enable_xla_tail()
    try:
        yield
    finally:
        kapre.config.disable_xla_tail()


def test_the_xla_tail_is_opt_in():
    """Off by default (XLA's compiler costs memory: kapre.config's text); the switch is process-wide, read when a
    graph is traced, and op_by_op overrides it in its thread."""
    assert not kapre.config.is_xla_tail_enabled() and not _backend.fusing()
    kapre.config.enable_xla_tail()
    try:
        assert kapre.config.is_xla_tail_enabled() and _backend.fusing()
        with _backend.op_by_op():
            assert not _backend.fusing()
        assert _backend.fusing()
    finally:
        kapre.config.disable_xla_tail()
    assert not kapre.config.is_xla_tail_enabled() and not _backend.fusing()


def test_the_xla_tail_leaves_the_numbers_as_they_are(xla_tail):
    """Every backend, the switch on: librosa's log-mel to 1e-3 dB (on JAX and PyTorch the switch does nothing; on
    TensorFlow the layer's eager call runs the cluster)."""
    import librosa

    x = noise((2, 8000, 1), seed=8)
    layer = kapre.MelSpectrogram(**W2, db_amin=1e-10)
    y = to_numpy(layer(x))[..., 0]
    if BACKEND == "tensorflow":  # the eager call went through the trace that holds the cluster
        assert ("_compute", True) in layer.__dict__["_kapre_compiled_calls"]
    spec = librosa.feature.melspectrogram(y=x[..., 0].astype("float64"), sr=16000, n_fft=512, hop_length=160,
                                          center=False, power=2.0, n_mels=64)
    ref = np.stack([librosa.power_to_db(s, ref=1.0, amin=1e-10, top_db=80.0) for s in spec]).transpose(0, 2, 1)
    np.testing.assert_allclose(y, np.maximum(ref, y.min()), atol=1e-3)


def _xla_functions(concrete) -> int:
    """How many functions of a traced TensorFlow graph carry XLA's must-compile attribute."""
    library = concrete.graph.as_graph_def().library.function
    return sum(1 for f in library if f.attr["_XlaMustCompile"].b)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the XLA cluster is TensorFlow's: JAX and PyTorch have no "
                    "fused tail (test_only_tensorflow_fuses_the_steps_after_the_fft); the layer's numbers are "
                    "checked against librosa on every backend by the tests above")
@pytest.mark.parametrize("power, return_decibel", [(2.0, True), (1.0, False), (2.0, False)])
@pytest.mark.parametrize("shape", [(3, 16000, 1), (2, 5001, 2)])
def test_tensorflow_fused_tail_equals_op_by_op_and_librosa(power, return_decibel, shape, xla_tail):
    import tensorflow as tf

    x = noise(shape, seed=5)
    fused = kapre.MelSpectrogram(**W2, power=power, return_decibel=return_decibel, db_amin=1e-10)
    plain = kapre.MelSpectrogram(**W2, power=power, return_decibel=return_decibel, db_amin=1e-10)
    plain.build(x.shape)
    plain.__dict__["_fused_tail_fn"] = None  # the op-by-op composition
    traced = tf.function(lambda t: fused(t)).get_concrete_function(tf.TensorSpec(shape, "float32"))
    assert _xla_functions(traced) >= 1  # static shapes: the chunks' tails run in the XLA cluster
    y, y_plain = to_numpy(traced(tf.constant(x))), to_numpy(plain(x))
    assert y.shape == y_plain.shape
    if return_decibel:
        np.testing.assert_allclose(y, y_plain, atol=1e-4)  # dB
    else:
        np.testing.assert_allclose(y, y_plain, rtol=1e-5, atol=1e-6 * float(np.abs(y_plain).max()))
    import librosa

    spec = librosa.feature.melspectrogram(y=x[..., 0].astype("float64"), sr=16000, n_fft=512, hop_length=160,
                                          center=False, power=power, n_mels=64)  # (b, mels, t)
    if return_decibel:  # librosa's dB with kapre's reference 1.0 and 80 dB floor per example
        ref = np.stack([librosa.power_to_db(s, ref=1.0, amin=1e-10, top_db=80.0) for s in spec])
        # the floor is per example over all its channels in kapre (noise channels have nearly the same maximum)
        np.testing.assert_allclose(y[..., 0], np.maximum(ref.transpose(0, 2, 1), y[..., 0].min()), atol=1e-3)
    else:
        ref = spec.transpose(0, 2, 1)
        np.testing.assert_allclose(y[..., 0], ref, rtol=1e-4, atol=1e-5 * float(ref.max()))


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the XLA cluster is TensorFlow's: JAX and PyTorch have no "
                    "fused tail (test_only_tensorflow_fuses_the_steps_after_the_fft)")
def test_tensorflow_takes_no_xla_cluster_by_default():
    """Without kapre.config.enable_xla_tail a static-shape trace holds no XLA function (no compiler mapped into the
    process), and the layer's eager call does not trace one either."""
    import tensorflow as tf

    layer = kapre.MelSpectrogram(**W2)
    x = noise((2, 8000, 1), seed=9)
    traced = tf.function(lambda t: layer(t)).get_concrete_function(tf.TensorSpec(x.shape, "float32"))
    assert _xla_functions(traced) == 0
    layer(x)
    assert set(layer.__dict__["_kapre_compiled_calls"]) == {("_compute", False)}


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the XLA cluster is TensorFlow's: JAX and PyTorch have no "
                    "fused tail (test_only_tensorflow_fuses_the_steps_after_the_fft)")
def test_tensorflow_fused_tail_runs_op_by_op_for_a_free_length(xla_tail):
    """A graph traced with a free length (a ``tf.function`` with relaxed shapes) takes no XLA cluster: XLA would
    compile once per length."""
    import tensorflow as tf

    layer = kapre.MelSpectrogram(**W2)
    x = noise((2, 8000, 1), seed=6)
    traced = tf.function(lambda t: layer(t)).get_concrete_function(tf.TensorSpec((None, None, 1), "float32"))
    assert _xla_functions(traced) == 0
    np.testing.assert_allclose(to_numpy(traced(tf.constant(x))), to_numpy(layer(x)), atol=1e-4)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the XLA cluster is TensorFlow's: JAX and PyTorch have no "
                    "fused tail (test_only_tensorflow_fuses_the_steps_after_the_fft)")
def test_op_by_op_traces_no_fused_cluster_and_keeps_its_own_traces(xla_tail):
    """Inside kapre._backend.op_by_op (kapre.extraction's engines) an eager call traces the op-by-op graph, whose
    bytes do not depend on the call history; the layer's traces made outside it are not reused inside."""
    import tensorflow as tf

    layer = kapre.MelSpectrogram(**W2)
    x = noise((2, 8000, 1), seed=7)
    fused = to_numpy(layer(x))  # a static trace with the cluster
    with _backend.op_by_op():
        plain = to_numpy(layer(x))
        traced = tf.function(lambda t: layer(t)).get_concrete_function(tf.TensorSpec(x.shape, "float32"))
        assert _xla_functions(traced) == 0
    plain_again = kapre.MelSpectrogram(**W2)
    plain_again.build(x.shape)
    plain_again.__dict__["_fused_tail_fn"] = None
    np.testing.assert_array_equal(plain, to_numpy(plain_again(x)))  # the op-by-op graph's own bytes
    np.testing.assert_allclose(fused, plain, atol=1e-4)
    assert set(layer.__dict__["_kapre_compiled_calls"]) == {("_compute", True), ("_compute", False)}
