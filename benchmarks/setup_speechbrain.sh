#!/usr/bin/env bash
# Build the folder for the speechbrain rows of `python benchmarks/run.py --suite learnable` (issue 18: kapre.LEAF
# against speechbrain.lobes.features.Leaf, kapre.SincConv against speechbrain.nnet.CNN.SincConv):
# <repo>/.bench-speechbrain, put on PYTHONPATH for those rows only (with .test-references, for torchaudio). The
# benchmark never builds it (its rows are skipped, with a note, while it is missing). BENCH_SPEECHBRAIN_PATH names
# another folder holding speechbrain instead.
#
# speechbrain 1.1.2 is pure Python. It is installed with --target --no-deps, so that it can neither upgrade nor
# downgrade the environment's pinned torch (2.13 CPU) and NumPy, and nothing is installed into the environment
# itself. Of its requirements, the modules `import speechbrain.lobes.features` / `speechbrain.nnet.CNN` load are:
# torch, numpy, scipy, tqdm, packaging, joblib, huggingface_hub, pyyaml (the environment's), hyperpyyaml and
# ruamel.yaml (pure Python, installed here, also --no-deps) and torchaudio, which comes from the test references'
# folder .test-references (`python tests/references.py`: torchaudio 2.11 without its compiled extension; the
# benchmark puts it on PYTHONPATH beside this folder). sentencepiece, soundfile and requests are imported only by
# parts of speechbrain the benchmark does not use.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${BENCH_SPEECHBRAIN_PATH:-${ROOT}/.bench-speechbrain}"
REFERENCES="${ROOT}/.test-references"
rm -rf "${TARGET}"
python -m pip install --quiet --no-deps --target "${TARGET}" "speechbrain==1.1.2" "hyperpyyaml==1.2.3" \
    "ruamel.yaml==0.18.17"
printf '*\n' > "${TARGET}/.gitignore"  # the folder ignores itself (it is not in the repository's .gitignore)
if [ ! -d "${REFERENCES}/torchaudio" ]; then
    echo "speechbrain imports torchaudio: build ${REFERENCES} with \`python tests/references.py\` too" >&2
    exit 1
fi
cd / && PYTHONPATH="${TARGET}:${REFERENCES}" python -c "import speechbrain, torch, numpy; \
from speechbrain.lobes.features import Leaf; from speechbrain.nnet.CNN import SincConv; \
print('speechbrain', speechbrain.__version__, speechbrain.__file__, 'torch', torch.__version__, 'numpy', \
numpy.__version__); Leaf(out_channels=40, in_channels=1)(torch.zeros(1, 1600)); \
SincConv(out_channels=8, kernel_size=251, in_channels=1)(torch.zeros(1, 1600, 1))"
