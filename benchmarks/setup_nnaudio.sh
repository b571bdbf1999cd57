#!/usr/bin/env bash
# Build the folder for the nnAudio rows of `python benchmarks/run.py --suite constantq` (issue 17: kapre.CQT against
# nnAudio's CQT1992v2 / CQT2010v2): <repo>/.bench-nnaudio, put on PYTHONPATH for those rows only. Run by
# `python benchmarks/run.py --setup-peers`; the benchmark itself never builds it (its rows are skipped, with a note,
# while it is missing). BENCH_NNAUDIO_PATH names another folder holding nnAudio instead.
#
# nnAudio 0.3.4 (PyPI's newest, 2025) is pure Python and requires only torch, numpy and scipy, which the
# environment already has at its pinned versions (torch 2.13 CPU, numpy 2.x, scipy 1.17): it is installed with
# --target --no-deps, so that it can neither upgrade nor downgrade them, and nothing is installed into the
# environment itself. Checked: it imports and runs on torch 2.13.0+cpu / numpy 2.4 / scipy 1.17 without a patch
# (it uses scipy.signal.get_window and scipy.fftpack, both still present); if a later torch/scipy drops an API it
# uses, patch it in the benchmark (benchmarks/constantq.py), never in kapre.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${BENCH_NNAUDIO_PATH:-${ROOT}/.bench-nnaudio}"
rm -rf "${TARGET}"
python -m pip install --quiet --no-deps --target "${TARGET}" "nnAudio==0.3.4"
printf '*\n' > "${TARGET}/.gitignore"  # the folder ignores itself (it is not in the repository's .gitignore)
cd / && PYTHONPATH="${TARGET}" python -c "import nnAudio, nnAudio.features, torch, numpy, scipy; \
print('nnAudio', nnAudio.__version__, nnAudio.__file__, 'torch', torch.__version__, 'numpy', numpy.__version__, \
'scipy', scipy.__version__); nnAudio.features.CQT1992v2(verbose=False); nnAudio.features.CQT2010v2(verbose=False)"
