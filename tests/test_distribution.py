"""Data-parallel training with a trainable kapre front-end equals one-device training (issue 21).

``examples/train_distributed.py`` trains a model with raw audio in (``kapre.STFT(engine='dft',
trainable_kernel=True)`` -> magnitude -> mel -> decibels -> dense) for a few SGD steps on one fixed batch of 8 clips,
once on one device and once with the batch split over two (4 clips each):

- JAX: ``keras.distribution.DataParallel`` over 2 virtual CPU devices (``XLA_FLAGS``, read when JAX is imported);
- TensorFlow: ``tf.distribute.MirroredStrategy`` over 2 logical CPU devices (fixed when TensorFlow initialises).

So each configuration runs in its own Python process; the child checks that the batch really is split over 2
devices and writes its losses and weights to an .npz, compared here. Each test runs in its backend's run of the
suite only (run_tests.py runs the suite once per backend), so once per suite run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "train_distributed.py"
STEPS = 4
# Measured (4 steps): losses agree to 1.5e-7 relative, weights to 4e-7 of their largest value, each weight's total
# update to 4e-5 of its largest entry (the DFT kernel: an update of ~1e-3 on values ~1 meets float32 rounding), on
# both backends. The tolerances leave a margin; a gradient scaled by the device count (sum instead of mean) moves the
# losses by > 1e-2 and the updates by 100%.
LOSS_RTOL = 1e-5
WEIGHT_RTOL = 1e-5  # of the weight's largest absolute value
UPDATE_RTOL = 1e-3  # of the weight's largest update, plus WEIGHT_RTOL's rounding
MIN_UPDATE = 1e-4  # every weight, the front-end's DFT kernel included, must move at least this much

CHILD = """
import importlib.util
import numpy as np
spec = importlib.util.spec_from_file_location("train_distributed", {script!r})
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)
result = example.main(steps={steps}, devices={devices})
{checks}
np.savez({out!r}, losses=np.array(result["losses"]), devices=result["devices"],
         per_device_batch=result["per_device_batch"],
         **{{f"weight_{{i}}": w for i, w in enumerate(result["weights"])}},
         **{{f"initial_{{i}}": w for i, w in enumerate(result["initial_weights"])}})
"""

JAX_CHECKS = {
    1: """
import jax, keras
assert len(jax.devices()) == 1, jax.devices()
assert keras.distribution.distribution() is None
assert result["devices"] == 1 and result["per_device_batch"] == 8, result
""",
    2: """
import jax, keras
assert len(jax.devices()) == 2, jax.devices()
distribution = keras.distribution.distribution()
assert isinstance(distribution, keras.distribution.DataParallel), distribution
assert distribution.device_mesh.devices.size == 2, distribution.device_mesh.devices
assert result["devices"] == 2 and result["per_device_batch"] == 4, result  # a batch's shards, measured
""",
}

TF_CHECKS = {
    1: """
import tensorflow as tf
assert result["devices"] == 1 and result["per_device_batch"] == 8, result
assert not tf.distribute.has_strategy()
""",
    2: """
import tensorflow as tf
assert len(tf.config.list_logical_devices("CPU")) == 2, tf.config.list_logical_devices("CPU")
assert result["devices"] == 2 and result["per_device_batch"] == 4, result  # strategy.num_replicas_in_sync
""",
}


def run_child(backend: str, devices: int, checks: str, out: Path) -> dict[str, np.ndarray]:
    env = dict(os.environ)
    env.update(KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("XLA_FLAGS", None)
    if backend == "jax" and devices > 1:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    code = CHILD.format(script=str(SCRIPT), steps=STEPS, devices=devices, checks=checks, out=str(out))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"{backend} child with {devices} device(s) failed:\n{done.stderr[-4000:]}"
    with np.load(out) as data:
        return dict(data)


def compare(single: dict[str, np.ndarray], parallel: dict[str, np.ndarray]) -> None:
    assert int(single["devices"]) == 1 and int(parallel["devices"]) == 2
    assert int(parallel["per_device_batch"]) == 4
    assert single["losses"].shape == parallel["losses"].shape == (STEPS,)
    assert single["losses"][-1] < single["losses"][0], single["losses"]  # it trains
    loss_diff = np.abs(single["losses"] - parallel["losses"]).max() / np.abs(single["losses"]).max()
    assert loss_diff <= LOSS_RTOL, (single["losses"], parallel["losses"])
    names = sorted(k for k in single if k.startswith("weight_"))
    assert names and names == sorted(k for k in parallel if k.startswith("weight_"))
    for name in names:
        initial = "initial_" + name.split("_")[1]
        np.testing.assert_array_equal(single[initial], parallel[initial], err_msg=f"{name}: initial values")
        scale = np.abs(single[name]).max()
        weight_diff = np.abs(single[name] - parallel[name]).max()
        assert weight_diff <= WEIGHT_RTOL * scale, f"{name}: weights differ by {weight_diff:.2e} (scale {scale:.2e})"
        update, parallel_update = single[name] - single[initial], parallel[name] - parallel[initial]
        largest = np.abs(update).max()
        assert largest >= MIN_UPDATE, f"{name} barely trained: largest update {largest:.2e}"
        update_diff = np.abs(update - parallel_update).max()
        assert update_diff <= UPDATE_RTOL * largest + WEIGHT_RTOL * scale, (
            f"{name}: updates differ by {update_diff:.2e} (largest update {largest:.2e})"
        )


WHY_ONE_RUN = {"jax": "the JAX run of the suite (subprocesses with their own XLA_FLAGS)",
               "tensorflow": "the TensorFlow run of the suite (subprocesses configure their logical devices)"}


@pytest.mark.parametrize("backend, checks", [("jax", JAX_CHECKS), ("tensorflow", TF_CHECKS)],
                         ids=["jax-DataParallel", "tensorflow-MirroredStrategy"])
def test_two_devices_train_as_one(backend, checks, tmp_path):
    """JAX's keras.distribution.DataParallel over 2 virtual CPU devices, TensorFlow's MirroredStrategy over 2
    logical CPUs: the losses and weights of one device after the same steps."""
    if keras.backend.backend() != backend:
        pytest.skip(f"runs in {WHY_ONE_RUN[backend]}")
    single = run_child(backend, 1, checks[1], tmp_path / "single.npz")
    parallel = run_child(backend, 2, checks[2], tmp_path / "parallel.npz")
    compare(single, parallel)
