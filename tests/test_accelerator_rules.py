"""The device rules, checked on the CPU on every backend (CI has no GPU; `benchmarks/gpu.py` and the GPU run of the
benchmark README exercise a GPU itself):

- a layer's input is moved to where its constants are (PyTorch: a CPU tensor on a GPU machine), as ``keras.ops``
  moves each op's operands;
- float32 work stays float32 on a GPU: PyTorch's cuDNN and JAX use TF32 there by default (found on an H200: 3e-4
  relative error on the STFT, 6e-4 on the resampler, against 1e-5 tolerances), so a layer call runs in a context
  that turns it off, and restores the user's settings after;
- on an accelerator the frames go in one chunk and the mel product is one dense matmul (each chunk and block costs
  kernel launches there; on the CPU the cache-sized chunks and sparse blocks stay): same numbers either way.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import pytest
from keras import ops

import kapre
from kapre import _backend, functional
from tests.helpers import BACKEND, noise, to_numpy


def _computed_on_an_accelerator(x) -> bool:
    """Where the backend put ``x``, read from the tensor itself (not through kapre's rule)."""
    if BACKEND == "jax":
        return any(device.platform != "cpu" for device in x.devices())
    return "cpu" not in str(x.device).lower()


def test_the_rules_follow_the_device():
    """On the CPU: no precision context, the CPU chunk rule; on a GPU (the suite run on one): the precision
    context and one chunk. The input as it is either way."""
    x = ops.convert_to_tensor(noise((2, 100)))
    accelerator = _computed_on_an_accelerator(x)
    assert _backend.on_accelerator(x) is accelerator
    cpu_context = isinstance(_backend.float32_precision(x), contextlib.nullcontext)
    assert cpu_context is not accelerator or BACKEND == "tensorflow"  # TensorFlow's TF32 is the user's switch
    assert functional.chunk_samples_for(x) == (functional.ACCELERATOR_CHUNK_SAMPLES if accelerator
                                               else functional.CHUNK_SAMPLES)
    assert functional.chunk_samples_for(x, 1000) == (functional.ACCELERATOR_CHUNK_SAMPLES if accelerator else 1000)
    assert _backend.place_input(x) is x


def test_functional_calls_run_in_the_float32_context(monkeypatch):
    """The public functions with matmuls or convolutions enter the float32 context as a layer call does (a
    functional ``mfcc_to_mel`` on an H200 under JAX was 1e-2 off librosa in TF32); the result is unchanged."""
    entered = []
    original = _backend.float32_precision
    monkeypatch.setattr(_backend, "float32_precision", lambda x: entered.append(x) or original(x))
    mfcc = noise((2, 5, 20))
    outside = to_numpy(functional.mfcc_to_mel.__wrapped__(mfcc, 40))
    assert not entered
    inside = to_numpy(functional.mfcc_to_mel(mfcc, 40))
    assert len(entered) == 1 and entered[0] is mfcc
    if not _computed_on_an_accelerator(ops.convert_to_tensor(mfcc)):  # on a GPU the context is what changes it
        np.testing.assert_array_equal(inside, outside)
    window = ops.convert_to_tensor(np.hanning(64).astype("float32"))
    functional.stft(n_fft=64, hop_length=16, window=window, signals=ops.convert_to_tensor(noise((1, 400))))
    assert tuple(entered[-1].shape) == (1, 400)  # the input, passed by keyword after others, chooses the context


@pytest.mark.skipif(BACKEND != "torch", reason="PyTorch's TF32 switches and device moves")
def test_torch_float32_exact_turns_tf32_off_and_restores_the_users_settings():
    import torch

    from kapre._backend.torch import _Float32Exact

    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
        with _Float32Exact():
            assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
        with pytest.raises(RuntimeError, match="inside"), _Float32Exact():
            raise RuntimeError("inside")
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@pytest.mark.skipif(BACKEND != "torch", reason="PyTorch's TF32 switches and device moves")
def test_torch_place_input_moves_to_keras_device_and_leaves_meta_tensors():
    import torch

    from kapre._backend.torch import float32_precision

    meta = torch.empty((2, 100), device="meta")
    assert _backend.place_input(meta) is meta  # Keras' shape inference
    cpu = torch.from_numpy(noise((2, 100)).astype("float64"))
    placed = _backend.place_input(cpu)
    assert placed.device == ops.convert_to_tensor(np.zeros(1)).device and placed.dtype == torch.float64
    assert _backend.place_input([cpu]) == [cpu]  # not a tensor: as it is
    assert isinstance(float32_precision(cpu), contextlib.nullcontext)  # the CPU has no TF32
    # a CPU tensor into a layer: the same output as the array (on a GPU machine it is moved to the GPU first)
    layer = kapre.MelSpectrogram(n_fft=256, hop_length=64, sample_rate=16000, n_mels=32)
    x = noise((2, 4000, 1), seed=3)
    np.testing.assert_array_equal(to_numpy(layer(torch.from_numpy(x))), to_numpy(layer(x)))


@pytest.mark.skipif(BACKEND != "jax", reason="JAX's default matmul precision")
def test_jax_layers_trace_highest_precision_on_an_accelerator(monkeypatch):
    """On an accelerator every dot and convolution of a layer's trace asks for HIGHEST precision, also inside the
    user's jit; on the CPU the trace is left as it was."""
    import jax

    from kapre._backend import jax as jax_backend

    x = noise((2, 4000, 1), seed=4)
    layer = kapre.STFT(n_fft=256, hop_length=64, engine="dft")
    monkeypatch.setattr(jax_backend, "on_accelerator", lambda v: False)  # the CPU's rule, also on a GPU machine
    assert "HIGHEST" not in str(jax.make_jaxpr(lambda v: layer(v))(x))
    monkeypatch.setattr(jax_backend, "on_accelerator", lambda v: True)
    traced = str(jax.make_jaxpr(lambda v: layer(v))(x))
    products = traced.count("conv_general_dilated[") + traced.count("dot_general[")
    assert products > 0 and traced.count("precision=(Precision.HIGHEST, Precision.HIGHEST)") == products, traced


def test_one_chunk_and_a_dense_mel_product_on_an_accelerator(monkeypatch):
    """With the accelerator rule forced on the CPU: one chunk, one dense block, the same log-mel (1e-4 dB) as the
    CPU's cache-sized chunks and sparse blocks, on an input the CPU rule splits into several chunks."""
    x = noise((4, 20 * 16000, 1), seed=5)  # 4 x 20 s: 2.5 M samples framed, several chunks of 2**18..2**21
    kwargs = dict(n_fft=512, hop_length=160, sample_rate=16000, n_mels=64, return_decibel=True)
    monkeypatch.setattr(_backend, "on_accelerator", lambda v: False)  # the CPU's rule, also on a GPU machine
    cpu_rule = to_numpy(kapre.MelSpectrogram(**kwargs)(x))
    per_chunk = []
    original_map = functional.map_frame_chunks

    def spy_map(fn, signals, frame_length, hop_length, frames_per_chunk, **options):
        per_chunk.append(frames_per_chunk)
        return original_map(fn, signals, frame_length, hop_length, frames_per_chunk, **options)

    monkeypatch.setattr(functional, "map_frame_chunks", spy_map)
    if BACKEND == "torch":
        from kapre._backend import torch_mel

        original_chunks = torch_mel.frame_chunks
        monkeypatch.setattr(torch_mel, "frame_chunks",
                            lambda total, n: per_chunk.append(n) or original_chunks(total, n))
    monkeypatch.setattr(_backend, "on_accelerator", lambda v: True)
    layer = kapre.MelSpectrogram(**kwargs)
    accelerator_rule = to_numpy(layer(x))
    frames = functional.num_frames(x.shape[1], 512, 160)
    assert per_chunk and all(n >= frames for n in per_chunk), per_chunk
    dense = layer.__dict__["_dense_block_weights"]
    assert len(dense) == 1 and tuple(dense[0][2].shape) == (257, 64)
    np.testing.assert_allclose(accelerator_rule, cpu_rule, rtol=0, atol=1e-4)
    cpu_frames = functional.frames_per_chunk(4, 512, functional.CHUNK_SAMPLES)
    assert cpu_frames < frames  # the CPU rule did split this input


def test_stft_and_its_inverse_take_no_chunk_plan_on_an_accelerator(monkeypatch):
    """The STFT's and inverse STFT's chunk plans (PyTorch's cache-sized FFT chunks) are dropped on an accelerator;
    the round trip is unchanged."""
    plans = []
    windowed_rfft, windowed_overlap_add = _backend.windowed_rfft, _backend.windowed_overlap_add
    monkeypatch.setattr(_backend, "windowed_rfft",
                        lambda frames, window, n_fft, chunks=None: plans.append(chunks) or windowed_rfft(
                            frames, window, n_fft, chunks))
    monkeypatch.setattr(_backend, "windowed_overlap_add",
                        lambda stfts, n_fft, hop, window, chunks=None: plans.append(chunks) or windowed_overlap_add(
                            stfts, n_fft, hop, window, chunks))
    x = noise((8, 16000 * 8, 1), seed=6)
    monkeypatch.setattr(_backend, "on_accelerator", lambda v: False)  # the CPU's rule, also on a GPU machine
    stft = kapre.STFT(n_fft=512, hop_length=128)
    istft = kapre.InverseSTFT(n_fft=512, hop_length=128)
    cpu = to_numpy(istft(stft(x)))
    assert any(plan is not None and len(plan) > 1 for plan in plans), plans  # the CPU rule did split this input
    plans.clear()
    monkeypatch.setattr(_backend, "on_accelerator", lambda v: True)
    accelerator = to_numpy(kapre.InverseSTFT(n_fft=512, hop_length=128)(kapre.STFT(n_fft=512, hop_length=128)(x)))
    assert plans and all(plan is None for plan in plans), plans
    np.testing.assert_allclose(accelerator, cpu, rtol=0, atol=1e-6)


def test_mixed_input_types_still_validate():
    """The entry hook keeps Keras' own argument handling: a keyword input and a symbolic input still work."""
    layer = kapre.STFT(n_fft=64, hop_length=16)
    assert tuple(layer(inputs=noise((1, 256, 1))).shape)[:2] == (1, 13)
    symbolic = keras.Input((256, 1))
    assert tuple(layer(symbolic).shape)[1] == 13
