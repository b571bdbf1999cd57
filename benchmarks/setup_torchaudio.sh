#!/usr/bin/env bash
# Build the folder for the "torchaudio" rows: <repo>/.bench-torchaudio (gitignored), put on PYTHONPATH by
# benchmarks/run.py for those rows only. Run by `python benchmarks/run.py --setup-peers`; the benchmark itself never
# builds it (its rows are skipped, with a note, while it is missing).
#
# PyPI has no torchaudio for torch 2.13 (the newest is 2.11.0, built for torch 2.11). It is installed with
# --no-deps (so that pip keeps torch 2.13), and its compiled extension (torchaudio/lib/*.so, built against torch
# 2.11's ABI: loading it next to torch 2.13 fails with "OSError: Could not load this library") is removed.
# torchaudio then imports as pure Python, as it does in its pex deployment (torchaudio/_extension/utils.py:
# `_load_lib` returns False when the library file is absent); MelSpectrogram, MFCC, Spectrogram and
# AmplitudeToDB are torch code and need none of the extension.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${ROOT}/.bench-torchaudio"
rm -rf "${TARGET}"
python3 -m pip install --quiet --no-deps --target "${TARGET}" "torchaudio==2.11.0"
rm -f "${TARGET}"/torchaudio/lib/*.so
cd / && PYTHONPATH="${TARGET}" python3 -c "import torch, torchaudio; print('torchaudio', torchaudio.__version__, 'on torch', torch.__version__, '(extension loaded:', torchaudio._extension._IS_TORCHAUDIO_EXT_AVAILABLE, ')')"
