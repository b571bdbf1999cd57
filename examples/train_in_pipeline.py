"""Train a small classifier on kapre mel spectrograms twice: with the front-end in the ``tf.data`` pipeline, and with
it inside the model. JAX backend by default (``KERAS_BACKEND`` overrides it; TensorFlow and PyTorch work too).

The data: 0.5 s clips at 16 kHz of one tone plus noise; class 0 is a low tone (300-800 Hz), class 1 a high one
(2-4 kHz). The front-end: ``kapre.MelSpectrogram`` in decibels (32 bands, 512-point FFT, hop 256).

(a) front-end in the pipeline: ``dataset.map(kapre.pipeline.tf_data_function(front_end))`` computes the features
    (under JAX and PyTorch as one ``tf.numpy_function`` per batch, on the host, ``num_parallel_calls`` at a time);
    the model is the classifier alone, trained on features.
(b) front-end in the model: ``keras.Sequential([front_end, *classifier])`` trained on raw audio.

The script checks that the pipeline's features equal the model's front-end output (to 1e-3 dB on the bins within
40 dB of each example's maximum; the same backend computes both) and that both models learn (accuracy on held-out
clips). Usage::

    python examples/train_in_pipeline.py            # JAX
    KERAS_BACKEND=torch python examples/train_in_pipeline.py

It runs in seconds on a CPU. See docs/data_pipelines.md.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402  (tf.data only; the model runs on KERAS_BACKEND)

import kapre  # noqa: E402
from kapre.pipeline import tf_data_function  # noqa: E402

SAMPLE_RATE = 16000
CLIP_SAMPLES = SAMPLE_RATE // 2  # 0.5 s
BATCH = 32
DB_WINDOW = 40.0  # the features are compared on the bins within this many dB of each example's maximum
DB_TOLERANCE = 1e-3


def tones(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` clips ``(n, CLIP_SAMPLES, 1)`` and their labels: a low (0) or high (1) tone with noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    low, high = rng.uniform(300.0, 800.0, n), rng.uniform(2000.0, 4000.0, n)
    freqs = np.where(labels == 1, high, low)
    t = np.arange(CLIP_SAMPLES) / SAMPLE_RATE
    clips = rng.uniform(0.1, 0.5, (n, 1)) * np.sin(2 * np.pi * freqs[:, None] * t + rng.uniform(0, 6.28, (n, 1)))
    clips += 0.02 * rng.standard_normal(clips.shape)
    return clips[..., None].astype("float32"), labels.astype("int32")


def front_end() -> kapre.MelSpectrogram:
    return kapre.MelSpectrogram(
        sample_rate=SAMPLE_RATE, n_fft=512, hop_length=256, n_mels=32, return_decibel=True, db_dynamic_range=80.0,
        input_data_format="channels_last", output_data_format="channels_last",
    )


def classifier_layers(frames: int) -> list:
    """A small classifier on ``(frames, mels, 1)`` decibel features: each band's mean over time, two dense layers."""
    return [
        keras.layers.Rescaling(1.0 / 40.0),
        keras.layers.AveragePooling2D(pool_size=(frames, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(2, activation="softmax"),
    ]


def compile_model(model: keras.Model) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def max_db_difference(a: np.ndarray, b: np.ndarray) -> float:
    """The largest ``|a - b|`` over the bins of ``b`` within ``DB_WINDOW`` dB of its example's maximum."""
    peak = b.reshape(len(b), -1).max(axis=1).reshape((-1,) + (1,) * (b.ndim - 1))
    return float(np.abs(a - b)[b >= peak - DB_WINDOW].max())


def main(epochs: int = 3, n_train: int = 256, n_test: int = 64, verbose: int = 0) -> dict:
    keras.utils.set_random_seed(0)
    x_train, y_train = tones(n_train, seed=1)
    x_test, y_test = tones(n_test, seed=2)
    results = {"backend": keras.backend.backend()}

    # (a) the front-end in the tf.data pipeline; the model sees features
    pipeline_front_end = front_end()
    to_features = tf_data_function(pipeline_front_end)  # maps (audio, label) -> (features, label)

    def feature_dataset(x, y, shuffle: bool):
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle:
            ds = ds.shuffle(len(x), seed=0)
        return ds.batch(BATCH).map(to_features, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    train_a, test_a = feature_dataset(x_train, y_train, True), feature_dataset(x_test, y_test, False)
    feature_shape = tuple(train_a.element_spec[0].shape[1:])  # (frames, mels, 1)
    model_a = compile_model(keras.Sequential([keras.Input(feature_shape), *classifier_layers(feature_shape[0])]))
    start = time.perf_counter()
    history_a = model_a.fit(train_a, epochs=epochs, shuffle=False, verbose=verbose)  # the dataset shuffles
    results["a_fit_seconds"] = time.perf_counter() - start
    results["a_loss"] = history_a.history["loss"]
    results["a_test_accuracy"] = float(model_a.evaluate(test_a, verbose=0)[1])

    # (b) the front-end inside the model (a copy of the same layer, from its config); the model sees audio
    model_front_end = kapre.MelSpectrogram.from_config(pipeline_front_end.get_config())
    model_b = compile_model(
        keras.Sequential([keras.Input((CLIP_SAMPLES, 1)), model_front_end, *classifier_layers(feature_shape[0])])
    )
    raw_train = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(n_train, seed=0).batch(BATCH)
    raw_test = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(BATCH)
    start = time.perf_counter()
    history_b = model_b.fit(raw_train, epochs=epochs, shuffle=False, verbose=verbose)
    results["b_fit_seconds"] = time.perf_counter() - start
    results["b_loss"] = history_b.history["loss"]
    results["b_test_accuracy"] = float(model_b.evaluate(raw_test, verbose=0)[1])

    # the same features either way: the pipeline's vs the front-end's inside model (b)
    in_pipeline = np.concatenate([features.numpy() for features, _ in test_a])
    in_model = keras.Model(model_b.inputs, model_b.layers[0].output).predict(x_test, batch_size=BATCH, verbose=0)
    results["feature_shape"] = tuple(in_pipeline.shape)
    results["max_db_difference"] = max_db_difference(in_pipeline, in_model)

    problems = []
    if in_pipeline.shape != in_model.shape:
        problems.append(f"feature shapes differ: {in_pipeline.shape} vs {in_model.shape}")
    elif results["max_db_difference"] > DB_TOLERANCE:
        problems.append(f"features differ by {results['max_db_difference']:.2e} dB (> {DB_TOLERANCE})")
    for run in ("a", "b"):
        loss = results[f"{run}_loss"]
        if not loss[-1] < loss[0] or results[f"{run}_test_accuracy"] < 0.9:
            problems.append(f"({run}) did not learn: loss {loss}, test accuracy {results[f'{run}_test_accuracy']}")
    results["problems"] = problems
    return results


if __name__ == "__main__":
    summary = main(verbose=2)
    print(f"backend: {summary['backend']}; features {summary['feature_shape']}")
    for run, where in (("a", "in the tf.data pipeline"), ("b", "in the model")):
        print(
            f"({run}) front-end {where}: fit {summary[f'{run}_fit_seconds']:.1f} s, loss "
            f"{summary[f'{run}_loss'][0]:.3f} -> {summary[f'{run}_loss'][-1]:.3f}, "
            f"test accuracy {summary[f'{run}_test_accuracy']:.3f}"
        )
    print(
        f"largest feature difference (bins within {DB_WINDOW:.0f} dB of the peak): "
        f"{summary['max_db_difference']:.2e} dB"
    )
    if summary["problems"]:
        raise SystemExit("FAILED: " + "; ".join(summary["problems"]))
    print("OK")
