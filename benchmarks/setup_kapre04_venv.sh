#!/usr/bin/env bash
# Build the isolated environment for the "kapre 0.4.1 (PyPI)" rows: kapre 0.4.1 has our import name, so it lives in
# its own virtual environment (<repo>/.bench-venv, gitignored). Run by `python benchmarks/run.py --setup-peers`;
# the benchmark itself never builds it (its rows are skipped, with a note, while it is missing).
#
# Why not the current TensorFlow: kapre 0.4.1's wheel requires `tensorflow<2.21,>=2.16` and `keras<3.14` (the
# `tensorflow` distribution, not `tensorflow-cpu`). `pip install tensorflow-cpu==2.21.0 kapre==0.4.1` therefore
# resolves a *second* TensorFlow (tensorflow 2.20.0 next to tensorflow-cpu 2.21.0, both writing the same
# `tensorflow/` package) and downgrades keras to 3.13: a broken mix. We use the newest TF it supports,
# tensorflow-cpu 2.20, with keras < 3.14; kapre itself is installed with --no-deps (so that its `tensorflow`
# requirement does not pull the full TensorFlow next to tensorflow-cpu), then librosa, which it imports.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${ROOT}/.bench-venv"
rm -rf "${VENV}"
python3 -m venv "${VENV}"
"${VENV}/bin/pip" install --quiet "tensorflow-cpu>=2.20,<2.21" "keras>=3.0,<3.14" "numpy<3"
"${VENV}/bin/pip" install --quiet --no-deps "kapre==0.4.1"
"${VENV}/bin/pip" install --quiet "librosa>=0.11,<1"  # kapre 0.4.1 builds its mel filterbank with librosa
cd / && "${VENV}/bin/python" -c "import kapre, tensorflow as tf, keras; print(kapre.__file__, getattr(kapre, '__version__', '?'), 'tf', tf.__version__, 'keras', keras.__version__)"
