"""kapre.MelSpectrogram's eager path (kapre._backend.EAGER_MEL_PATH: PyTorch's kapre._backend.torch_mel): every
option of the layer equals librosa and the layer's generic keras.ops composition; its scratch buffers are reused from
call to call, kept per thread, and not shared by copies of the layer. On TensorFlow and JAX the layer has no eager
path: it compiles the generic composition, and the same references hold there (the call, compiled, against the
composition run op by op)."""

from __future__ import annotations

import copy
import pickle
import threading

import numpy as np
import pytest
from keras import ops

import kapre
from kapre import _backend
from tests.helpers import BACKEND, gradient, noise, to_numpy

SR, N_FFT, HOP, N_MELS = 16000, 512, 160, 40


def _librosa_mel(x_bct: np.ndarray, power: float, decibel: bool, ref, top_db) -> np.ndarray:
    """(batch, channels, frames, mels) from librosa (center=False); decibels per example over all its channels."""
    import librosa

    spec = librosa.feature.melspectrogram(
        y=x_bct.astype(np.float64), sr=SR, n_fft=N_FFT, hop_length=HOP, window="hann", center=False, power=power,
        n_mels=N_MELS, fmin=0.0, fmax=SR / 2, htk=False, norm="slaney",
    )  # (batch, channels, mels, frames)
    if decibel:
        spec = np.stack([librosa.power_to_db(s, ref=np.max if ref == "max" else ref, amin=1e-10, top_db=top_db)
                         for s in spec])
    return spec.transpose(0, 1, 3, 2)


def _to_bct(x: np.ndarray, channels_last: bool) -> np.ndarray:
    return x.transpose(0, 2, 1) if channels_last else x


def _from_bcfm(y: np.ndarray, channels_last: bool) -> np.ndarray:
    return y.transpose(0, 3, 1, 2) if channels_last else y  # (b, frames, mels, ch) -> (b, ch, frames, mels)


CASES = [
    # channels, input format, output format, power, return_decibel, ref, top_db, chunk_samples
    (1, "channels_last", "channels_last", 2.0, True, 1.0, 80.0, None),
    (2, "channels_last", "channels_first", 2.0, True, 1.0, 80.0, None),
    (2, "channels_first", "channels_last", 1.0, True, 1.0, 80.0, None),
    (1, "channels_first", "channels_first", 2.0, False, 1.0, 80.0, None),
    (2, "channels_last", "channels_last", 2.0, True, "max", 60.0, None),
    (1, "channels_last", "channels_first", 2.0, True, 0.5, None, None),
    (2, "channels_first", "channels_first", 2.0, True, 1.0, 80.0, 2**12),  # 2 clips x 2 ch: 2 frames a chunk
    (1, "channels_last", "channels_last", 1.0, False, 1.0, 80.0, 2**13),
    (2, "channels_last", "channels_first", 2.0, True, "max", 80.0, 2**16),  # a 2-channel clip a chunk (row_chunks)
    (1, "channels_first", "channels_last", 1.0, False, 1.0, 80.0, 2**15),  # a clip a chunk, magnitudes
]


@pytest.mark.parametrize("channels, in_format, out_format, power, decibel, ref, top_db, chunk_samples", CASES)
def test_layer_equals_librosa_and_the_generic_composition(
    channels, in_format, out_format, power, decibel, ref, top_db, chunk_samples
):
    layer = kapre.MelSpectrogram(
        n_fft=N_FFT, hop_length=HOP, sample_rate=SR, n_mels=N_MELS, power=power, return_decibel=decibel,
        db_ref_value=ref, db_dynamic_range=top_db, db_amin=1e-10, input_data_format=in_format,
        output_data_format=out_format,
    )
    if chunk_samples is not None:
        layer._chunk_samples = chunk_samples
    if chunk_samples in (2**15, 2**16):  # these cases take whole clips a chunk, two chunks
        from kapre._frames import row_chunks

        assert row_chunks(2, channels, 47, N_FFT, chunk_samples) == [(0, 1), (1, 2)]
    shape = (2, 8000, channels) if in_format == "channels_last" else (2, channels, 8000)
    x = noise(shape, seed=31)
    y = to_numpy(layer(x))
    expected = _librosa_mel(_to_bct(x, in_format == "channels_last"), power, decibel, ref, top_db)
    got = _from_bcfm(y, out_format == "channels_last")
    assert got.shape == expected.shape == (2, channels, 47, N_MELS)
    if decibel:
        np.testing.assert_allclose(got, expected, atol=1e-3)  # dB
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6 * expected.max())
    generic = to_numpy(layer._compute_generic(ops.convert_to_tensor(x)))
    np.testing.assert_allclose(y, generic, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(generic).max()))


def test_the_eager_path_is_selected_on_pytorch_only():
    """PyTorch's layer holds the eager path, whose output (padded blocks or not) is the layer's; TensorFlow's and
    JAX's hold none (nor padded blocks) and their call equals the generic composition run op by op."""
    layer = kapre.MelSpectrogram(n_fft=N_FFT, hop_length=HOP, sample_rate=SR, n_mels=N_MELS,
                                 input_data_format="channels_last", output_data_format="channels_last")
    x = noise((2, 4000, 1), seed=32)
    y = to_numpy(layer(x))
    if BACKEND != "torch":
        assert _backend.EAGER_MEL_PATH is None and layer._eager_path is None
        assert layer._padded_block_weights is None
        generic = to_numpy(layer._compute_generic(ops.convert_to_tensor(x)))
        np.testing.assert_allclose(y, generic, rtol=0, atol=1e-4)  # dB; compiled vs op by op
        return
    from kapre._backend.torch_mel import EagerTorchMel

    assert isinstance(layer._eager_path, EagerTorchMel) and layer._padded_block_weights is not None
    for padded in (layer._padded_block_weights, None):  # None: the blocks unpadded
        mel = layer._eager_path(
            ops.convert_to_tensor(x), channels_last_in=True, dtype="float32", frame_length=N_FFT, hop_length=HOP,
            n_fft=N_FFT, window=layer._window, blocks=layer._block_weights, padded_blocks=padded, power=2.0,
            chunk_samples=layer._chunk_samples, amin=1e-10,
        )
        np.testing.assert_allclose(to_numpy(layer._finish(mel)), y, rtol=0, atol=1e-5)


_TORCH_ONLY = pytest.mark.skipif(
    BACKEND != "torch", reason="scratch buffers belong to PyTorch's eager path (kapre._backend.EAGER_MEL_PATH is None "
    "on TensorFlow and JAX: test_the_eager_path_is_selected_on_pytorch_only)"
)


def _scratch_pointers(layer) -> dict:
    buffers = layer._eager_path.scratch._local.__dict__.get("buffers", {})
    return {slot: buffer.data_ptr() for slot, buffer in buffers.items()}


@_TORCH_ONLY
def test_scratch_buffers_are_reused_from_call_to_call():
    """PyTorch keeps the chunks' temporaries in the same buffers on every call (no fresh allocations to fault in)."""
    layer = kapre.MelSpectrogram(n_fft=N_FFT, hop_length=HOP, sample_rate=SR, n_mels=N_MELS,
                                 input_data_format="channels_last", output_data_format="channels_last")
    x = noise((4, 16000, 1), seed=33)
    first = to_numpy(layer(x))
    pointers = _scratch_pointers(layer)
    second = to_numpy(layer(x))
    np.testing.assert_array_equal(first, second)
    assert _scratch_pointers(layer) == pointers
    shorter = to_numpy(layer(x[:, :8000]))  # a smaller chunk fits in the same buffers
    generic = to_numpy(layer._compute_generic(ops.convert_to_tensor(x[:, :8000])))
    np.testing.assert_allclose(shorter, generic, rtol=0, atol=1e-4)  # dB
    assert _scratch_pointers(layer) == pointers
    assert sorted(pointers) == ["a", "b"]


def test_concurrent_calls_from_threads_equal_sequential_calls():
    """A layer shared by threads (an inference server): each thread's chunks use their own scratch buffers."""
    layer = kapre.MelSpectrogram(n_fft=N_FFT, hop_length=HOP, sample_rate=SR, n_mels=N_MELS,
                                 input_data_format="channels_last", output_data_format="channels_last")
    inputs = [noise((3, 12000 + 1000 * index, 1), seed=40 + index) for index in range(4)]
    expected = [to_numpy(layer(x)) for x in inputs]
    results: dict[int, list[np.ndarray]] = {}
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            results[index] = [to_numpy(layer(inputs[index])) for _ in range(5)]
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for index in range(4):
        for y in results[index]:
            np.testing.assert_array_equal(y, expected[index])


@_TORCH_ONLY
def test_copies_of_the_layer_get_their_own_empty_scratch():
    layer = kapre.MelSpectrogram(n_fft=N_FFT, hop_length=HOP, sample_rate=SR, n_mels=N_MELS,
                                 input_data_format="channels_last", output_data_format="channels_last")
    x = noise((2, 8000, 1), seed=34)
    y = to_numpy(layer(x))
    from kapre._backend.torch_mel import TorchScratch

    assert _scratch_pointers(layer)
    for copied in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer._eager_path.scratch))):
        scratch = copied if isinstance(copied, TorchScratch) else copied._eager_path.scratch
        assert scratch is not layer._eager_path.scratch
        assert scratch._local.__dict__.get("buffers", {}) == {}
    np.testing.assert_array_equal(to_numpy(copy.deepcopy(layer)(x)), y)


def test_gradient_through_the_eager_path_equals_the_generic_composition():
    """With autograd recording, PyTorch's path takes no scratch and writes nothing in place; its gradient equals
    the generic composition's on every backend (finite, not all zero)."""
    layer = kapre.MelSpectrogram(n_fft=N_FFT, hop_length=HOP, sample_rate=SR, n_mels=N_MELS,
                                 input_data_format="channels_last", output_data_format="channels_last")
    layer._chunk_samples = 2**12  # several chunks
    x = noise((2, 4000, 1), seed=35)
    layer(x)
    fast = gradient(lambda t: layer(t), x)
    generic = gradient(lambda t: layer._compute_generic(t), x)
    assert np.isfinite(fast).all() and np.abs(fast).max() > 0
    np.testing.assert_allclose(fast, generic, rtol=1e-4, atol=1e-4 * np.abs(generic).max())
