"""STFT(engine='dft'): equals the FFT engine and librosa, holds its kernel as a weight, trains, saves and loads."""

from __future__ import annotations

import keras
import librosa
import numpy as np
import pytest

import kapre
from tests.helpers import BACKEND, gradient, model_of, noise, save_and_load, to_numpy

CL = dict(input_data_format="channels_last", output_data_format="channels_last")
REL_TOL = 1e-4  # DFT vs FFT engine: max abs error <= REL_TOL * the largest magnitude


def kernel_gradient(layer, post, x):
    """d sum(post(layer(x))) / d layer.dft_kernel on the active backend, as NumPy."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            total = tf.reduce_sum(post(layer(x)))
        return tape.gradient(total, layer.dft_kernel.value).numpy()
    if BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        def loss(kernel):
            out, _ = layer.stateless_call([kernel], [], x)
            return jnp.sum(post(out))

        return np.asarray(jax.grad(loss)(layer.dft_kernel.value))
    variable = layer.dft_kernel.value
    variable.grad = None
    post(layer(x)).sum().backward()
    return to_numpy(variable.grad)


@pytest.mark.parametrize(
    "n_fft, win_length, hop_length, center",
    [
        (256, None, 64, False),
        (400, 300, 160, False),
        (512, None, 128, True),
        (1024, 1000, 256, False),
        (2048, None, 512, True),
    ],
)
def test_dft_equals_fft(n_fft, win_length, hop_length, center):
    x = noise((2, 6000, 2), seed=n_fft)
    kwargs = dict(n_fft=n_fft, win_length=win_length, hop_length=hop_length, center=center, **CL)
    fft = to_numpy(kapre.STFT(**kwargs)(x))
    dft = to_numpy(kapre.STFT(engine="dft", **kwargs)(x))
    assert dft.dtype == np.complex64 and dft.shape == fft.shape
    assert np.abs(dft - fft).max() <= REL_TOL * np.abs(fft).max()


@pytest.mark.parametrize("n_fft", [400, 1000])
def test_dft_equals_librosa(n_fft):
    """An independent reference: librosa.stft(center=True) with a periodic Hann window, any n_fft."""
    x = noise((1, 4000, 1), seed=3)
    out = to_numpy(kapre.STFT(n_fft=n_fft, hop_length=n_fft // 4, center=True, engine="dft", **CL)(x))
    ref = librosa.stft(x[0, :, 0], n_fft=n_fft, hop_length=n_fft // 4, center=True, pad_mode="constant").T
    assert np.abs(out[0, :, :, 0] - ref).max() <= REL_TOL * np.abs(ref).max()


def test_weights_per_engine():
    x = noise((1, 1000, 1))
    fft = kapre.STFT(n_fft=256, **CL)
    fft(x)
    assert fft.weights == []  # kapre 0.4 files (no weights for STFT) still load
    frozen = kapre.STFT(n_fft=256, win_length=200, engine="dft", **CL)
    frozen(x)
    assert [w.path.split("/")[-1] for w in frozen.weights] == ["dft_kernel"]
    assert frozen.trainable_weights == [] and tuple(frozen.dft_kernel.shape) == (200, 2 * 129)
    trainable = kapre.STFT(n_fft=256, engine="dft", trainable_kernel=True, **CL)
    trainable(x)
    assert len(trainable.trainable_weights) == 1


def test_invalid_arguments():
    with pytest.raises(ValueError, match="engine"):
        kapre.STFT(engine="rfft")
    with pytest.raises(TypeError, match="trainable_kernel"):
        kapre.STFT(engine="dft", trainable_kernel="yes")
    with pytest.raises(ValueError, match="trainable_kernel"):
        kapre.STFT(engine="fft", trainable_kernel=True)


@pytest.mark.parametrize("length", [256, 257, 300])
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_symbolic_equals_eager_and_batched_equals_single(length, fmt):
    layer = kapre.STFT(
        n_fft=256, hop_length=64, pad_end=length == 300, engine="dft", input_data_format=fmt, output_data_format=fmt
    )
    shape = (length, 2) if fmt == "channels_last" else (2, length)
    x = noise((3, *shape), seed=length)
    batched = to_numpy(layer(x))
    symbolic = layer.compute_output_spec(keras.KerasTensor((None, *shape)))
    assert symbolic.shape == (None, *batched.shape[1:]) and symbolic.dtype == "complex64"
    single = np.concatenate([to_numpy(layer(x[i : i + 1])) for i in range(3)])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_keras_round_trip_keeps_trained_kernel(tmp_path):
    layer = kapre.STFT(n_fft=128, hop_length=32, engine="dft", trainable_kernel=True, **CL)
    model = model_of(layer, (1000, 1))
    kernel = to_numpy(layer.dft_kernel)
    layer.dft_kernel.assign(kernel * np.random.default_rng(0).uniform(0.5, 1.5, kernel.shape).astype("float32"))
    x = noise((2, 1000, 1))
    loaded = save_and_load(model, tmp_path)
    np.testing.assert_allclose(to_numpy(loaded(x)), to_numpy(model(x)), atol=1e-6)
    config = loaded.layers[-1].get_config()
    assert config["engine"] == "dft" and config["trainable_kernel"] is True


def test_kapre_04_config_loads_as_fft_engine():
    config = {
        "name": "stft",
        "trainable": True,
        "dtype": "float32",
        "n_fft": 512,
        "win_length": None,
        "hop_length": None,
        "window_name": None,
        "pad_begin": False,
        "pad_end": False,
        "input_data_format": "channels_last",
        "output_data_format": "channels_last",
    }
    layer = kapre.STFT.from_config(config)
    assert layer.engine == "fft" and layer.trainable_kernel is False


def test_magnitude_gradient_finite_at_zeros():
    x = np.zeros((2, 1000, 1), "float32")
    layer = kapre.STFT(n_fft=256, engine="dft", trainable_kernel=True, **CL)
    magnitude = kapre.Magnitude()
    layer.build(x.shape)
    grad_x = gradient(lambda v: magnitude(layer(v)), x)
    assert np.all(np.isfinite(grad_x))
    grad_kernel = kernel_gradient(layer, magnitude, x)
    assert grad_kernel.shape == (256, 258) and np.all(np.isfinite(grad_kernel))


def test_trainable_dft_and_filterbank_fit():
    """Trainable DFT kernel -> magnitude -> trainable filterbank (Dense over frequency) -> log -> regression."""
    keras.utils.set_random_seed(0)
    n_fft, length, n_mels = 64, 512, 8
    inputs = keras.Input((1, length))
    stft = kapre.STFT(
        n_fft=n_fft,
        hop_length=32,
        engine="dft",
        trainable_kernel=True,
        input_data_format="channels_first",
        output_data_format="channels_first",
    )
    spec = kapre.Magnitude()(stft(inputs))  # (batch, 1, time, freq)
    filterbank = keras.layers.Dense(
        n_mels,
        use_bias=False,
        name="filterbank",
        kernel_initializer=keras.initializers.Constant(kapre.backend.filterbank_mel(8000, n_fft // 2 + 1, n_mels)),
    )
    mel = keras.layers.Lambda(lambda t: keras.ops.log(t + 1e-3))(filterbank(spec))
    outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D(data_format="channels_first")(mel))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    x = noise((16, 1, length), seed=1) * np.linspace(0.1, 1.0, 16, dtype="float32")[:, None, None]
    y = np.linspace(-1.0, 1.0, 16, dtype="float32")[:, None]
    kernel_before = to_numpy(stft.dft_kernel).copy()
    filterbank_before = to_numpy(filterbank.kernel).copy()
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert not np.allclose(to_numpy(stft.dft_kernel), kernel_before)
    assert not np.allclose(to_numpy(filterbank.kernel), filterbank_before)
