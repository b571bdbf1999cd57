"""Train a small audio classifier with a trainable kapre front-end under data parallelism (JAX or TensorFlow).

The model takes raw audio: ``kapre.STFT(engine='dft', trainable_kernel=True)`` (its DFT kernel is a trainable
weight, so the gradients reach the front-end) -> ``kapre.Magnitude`` -> mel ``kapre.ApplyFilterbank`` ->
``kapre.MagnitudeToDecibel`` -> a small dense classifier. The data: 0.5 s clips at 16 kHz, a low (class 0) or
high (class 1) tone plus noise. Each step's global batch is split over the devices:

- JAX: ``keras.distribution.DataParallel`` over ``jax.devices()``. On a CPU, make two virtual devices with
  ``XLA_FLAGS`` (it must be set before JAX is imported)::

      XLA_FLAGS=--xla_force_host_platform_device_count=2 KERAS_BACKEND=jax python examples/train_distributed.py

- TensorFlow: ``tf.distribute.MirroredStrategy`` over two logical CPU devices (configured by the script before
  TensorFlow initialises its runtime), the model built and compiled in ``strategy.scope()``::

      KERAS_BACKEND=tensorflow python examples/train_distributed.py

``--devices 1`` trains the same model on one device (no distribution); the losses and weights agree with the
two-device run to float rounding (tests/test_distribution.py checks it). Run it from the repository root with
kapre installed (or ``PYTHONPATH=.``); it takes seconds on a CPU.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kapre  # noqa: E402

SAMPLE_RATE = 16000
CLIP_SAMPLES = SAMPLE_RATE // 2  # 0.5 s
N_FFT = 256


def tones(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` clips ``(n, CLIP_SAMPLES, 1)`` and labels: a low (0) or high (1) tone with noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2  # balanced, so every shard of the batch holds both classes
    freqs = np.where(labels == 1, rng.uniform(2000.0, 4000.0, n), rng.uniform(300.0, 800.0, n))
    t = np.arange(CLIP_SAMPLES) / SAMPLE_RATE
    clips = 0.5 * np.sin(2 * np.pi * freqs[:, None] * t) + 0.02 * rng.standard_normal((n, CLIP_SAMPLES))
    return clips[..., None].astype("float32"), labels.astype("int32")


def build_model() -> keras.Model:
    keras.utils.set_random_seed(0)  # the same initial weights on every run
    fmt = {"input_data_format": "channels_last", "output_data_format": "channels_last"}
    mel = {"sample_rate": SAMPLE_RATE, "n_freq": N_FFT // 2 + 1, "n_mels": 32}
    model = keras.Sequential([
        keras.Input((CLIP_SAMPLES, 1)),
        kapre.STFT(n_fft=N_FFT, hop_length=128, engine="dft", trainable_kernel=True, name="stft", **fmt),
        kapre.Magnitude(),
        kapre.ApplyFilterbank("mel", mel, data_format="channels_last"),
        kapre.MagnitudeToDecibel(),
        keras.layers.Rescaling(1.0 / 40.0),
        keras.layers.Reshape((-1, mel["n_mels"])),
        keras.layers.GlobalAveragePooling1D(),  # each mel band's mean over time
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(2),
    ])
    # plain SGD: each step's update is a fixed function of the gradient, so one device and many agree step by step
    model.compile(
        optimizer=keras.optimizers.SGD(0.05), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    return model


def main(steps: int = 5, devices: int = 2, batch: int = 8) -> dict:
    """Train ``steps`` SGD steps on one global batch of ``batch`` clips, split over ``devices`` (1: no distribution).

    Returns ``{"losses": [...], "weights": [...], "initial_weights": [...], "devices": n, "per_device_batch": m}``:
    each step's loss (before its update), the weights before and after, and how the batch was really split.
    """
    backend = keras.backend.backend()
    x, y = tones(batch)
    info = {"devices": 1, "per_device_batch": batch}
    if devices == 1:
        model = build_model()
    elif backend == "jax":
        import jax

        if len(jax.devices()) != devices:
            raise RuntimeError(
                f"JAX sees {len(jax.devices())} devices, not {devices}: on a CPU set "
                f"XLA_FLAGS=--xla_force_host_platform_device_count={devices} before JAX is imported."
            )
        distribution = keras.distribution.DataParallel(devices=jax.devices())
        keras.distribution.set_distribution(distribution)
        # the batch axis of the data is sharded over the mesh: check where a batch really lands
        sharded = keras.distribution.distribute_tensor(x, distribution.get_data_layout(x.shape))
        info = {"devices": len(sharded.sharding.device_set),
                "per_device_batch": sharded.addressable_shards[0].data.shape[0]}
        model = build_model()
    elif backend == "tensorflow":
        import tensorflow as tf

        try:  # before TensorFlow initialises its runtime; afterwards the logical devices are fixed
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
        except RuntimeError:
            pass
        strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(devices)])
        info = {"devices": strategy.num_replicas_in_sync, "per_device_batch": batch // strategy.num_replicas_in_sync}
        with strategy.scope():
            model = build_model()
    else:
        raise NotImplementedError(f"this example's data parallelism covers JAX and TensorFlow, not {backend!r}")
    if info["devices"] != devices:
        raise RuntimeError(f"the batch is split over {info['devices']} devices, not {devices}")

    initial = [np.array(w) for w in model.get_weights()]
    # one batch per epoch: each epoch's logged loss is that one step's loss
    history = model.fit(x, y, batch_size=batch, epochs=steps, shuffle=False, verbose=0)
    return {"losses": history.history["loss"], "weights": model.get_weights(), "initial_weights": initial, **info}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--devices", type=int, default=2)
    args = parser.parse_args()
    result = main(steps=args.steps, devices=args.devices)
    print(f"{keras.backend.backend()}: batch split over {result['devices']} devices "
          f"({result['per_device_batch']} clips each); losses {np.round(result['losses'], 4).tolist()}")
    kernel_change = np.abs(result["weights"][0] - result["initial_weights"][0]).max()
    print(f"the front-end's DFT kernel moved by up to {kernel_change:.2e}")
