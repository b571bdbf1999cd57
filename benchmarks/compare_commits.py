"""kapre against an earlier kapre on this machine: ``python benchmarks/compare_commits.py --base REV [--passes 3]``.

A refactor must not cost speed. This checks out ``REV`` into a temporary git worktree and times
``kapre.MelSpectrogram`` on the W1 and W2 log-mel workloads (``workloads.py``) on each backend, the working tree's
kapre and the base's alternating in separate processes (each process: input converted first, one warm-up call,
``--calls`` timed calls, median), and prints the ratio new / base per pass and its median. The same CPU, the
same minutes: the machine's slow phases hit both sides alike. Nothing is written to the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

MODES = {"torch": "eager", "jax": "jit", "tensorflow": "function"}

_CHILD = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
import keras, kapre
from workloads import WORKLOADS, make_input
w = WORKLOADS[sys.argv[3]]
calls = int(sys.argv[4])
layer = kapre.MelSpectrogram(n_fft=w["n_fft"], hop_length=w["hop"], sample_rate=w["sr"], n_mels=w["n_mels"],
                             db_amin=1e-10, input_data_format="channels_first", output_data_format="channels_first")
x = keras.ops.convert_to_tensor(make_input(w)[:, None, :])
backend = keras.backend.backend()
if backend == "jax":
    import jax
    fn = jax.jit(lambda t: layer(t))
elif backend == "tensorflow":
    import tensorflow as tf
    layer(x)
    fn = tf.function(lambda t: layer(t))
else:
    fn = layer
keras.ops.convert_to_numpy(fn(x))
times = []
for _ in range(calls):
    start = time.perf_counter()
    keras.ops.convert_to_numpy(fn(x))
    times.append(time.perf_counter() - start)
print(json.dumps({"kapre": kapre.__file__, "median_ms": 1000 * float(np.median(times))}))
"""


def time_one(tree: Path, backend: str, workload: str, calls: int) -> float:
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", _CHILD, str(tree), str(HERE), workload, str(calls)], env=env,
                         capture_output=True, text=True, check=True, cwd="/")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["kapre"].startswith(str(tree)), (result["kapre"], tree)  # the intended kapre was timed
    return result["median_ms"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the git revision to compare with")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--calls", type=int, default=21)
    parser.add_argument("--backends", default="torch,jax,tensorflow")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base_tree = Path(folder) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base_tree), args.base],
                       check=True, capture_output=True)
        try:
            print(f"new: working tree {ROOT}; base: {args.base}; {args.passes} alternating passes, "
                  f"{args.calls} calls each")
            print(f"{'workload':<12} {'backend':<22} {'base ms':>16} {'new ms':>16} {'new/base per pass':<24} median")
            for workload in ("W1 log-mel", "W2 log-mel"):
                for backend in args.backends.split(","):
                    base, new = [], []
                    for index in range(args.passes):
                        order = [(base_tree, base), (ROOT, new)]
                        for tree, into in order if index % 2 == 0 else order[::-1]:
                            into.append(time_one(tree, backend, workload, args.calls))
                    ratios = [n / b for n, b in zip(new, base, strict=True)]
                    print(f"{workload:<12} {backend + ' ' + MODES[backend]:<22} "
                          f"{statistics.median(base):>16.2f} {statistics.median(new):>16.2f} "
                          f"{' '.join(f'{r:.2f}' for r in ratios):<24} {statistics.median(ratios):.2f}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
