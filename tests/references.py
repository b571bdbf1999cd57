"""The test references that cannot be pip requirements of the ``test`` extra, in ``.test-references/``.

torchaudio (``compliance.kaldi``, ``transforms``) has no build for the pinned torch 2.13 (the newest, 2.11.0, is
built for torch 2.11), and openai-whisper requires triton and its own torch. Both are pure Python where the tests
use them, so they are installed with ``--no-deps`` into ``.test-references/`` (gitignored; torchaudio's compiled
extension, built against another torch's ABI, is removed: it then imports as pure Python, as in its pex
deployment), together with whisper's small import-time requirements (tiktoken, more-itertools).
``tests/conftest.py`` puts the folder on ``sys.path``; ``python run_tests.py`` builds it first when it is missing.

Usage: ``python tests/references.py`` (idempotent; ``--force`` rebuilds).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / ".test-references"
PACKAGES = (
    "torchaudio==2.11.0", "openai-whisper==20250625", "tiktoken>=0.7", "more-itertools>=10",
    # LiteRT export from PyTorch (keras' format="litert"); with its dependencies it would downgrade
    # typing_extensions and pydantic (litert-converter pins xdsl)
    "litert-torch==0.10.0", "litert-converter==0.5.0", "ai-edge-litert==2.3.0", "ai-edge-quantizer==0.10.0",
    "litert-lm-builder==0.18.1", "torchao==0.18.0", "immutabledict==4.2.1",
)
STAMP = TARGET / "installed.txt"


def is_installed() -> bool:
    return STAMP.is_file() and STAMP.read_text().split() == list(PACKAGES)


def install(force: bool = False) -> None:
    if is_installed() and not force:
        return
    shutil.rmtree(TARGET, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(TARGET), *PACKAGES]
    subprocess.run(command, check=True)
    for library in (TARGET / "torchaudio" / "lib").glob("*.so"):
        library.unlink()  # built for torch 2.11's ABI; the pure-Python modules the tests use need none of it
    STAMP.write_text("\n".join(PACKAGES) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="rebuild even if present")
    install(parser.parse_args().force)
    print(f"test references in {TARGET}: {', '.join(PACKAGES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
