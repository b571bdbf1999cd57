"""Every ```python block of the documentation runs, as a user would paste it, in a fresh Python process.

Each block runs in its own subprocess, in an empty folder, with ``KERAS_HOME`` an empty folder (so no
``~/.keras/keras.json`` plays a part):

- ``current``: on the backend of this test session, in the TensorFlow and PyTorch sessions (``KERAS_BACKEND`` is
  passed through; ``run_tests.py`` runs the suite once per backend);
- ``demo-install``: in the JAX session (instead of ``current``: it runs on JAX too), as after the README's first
  quickstart command (``pip install ".[demo]"``: kapre, JAX and the command-line extras), with ``KERAS_BACKEND``
  unset and the packages that command does not install made unimportable. A block that does ``import keras`` before
  ``import kapre`` fails there exactly as it did for users (``No module named 'tensorflow'``);
  ``test_demo_install_simulation`` checks that.

A block may not depend on a file or a variable from elsewhere: each must run on its own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import BACKEND

ROOT = Path(__file__).resolve().parent.parent

# The Markdown files whose ```python blocks must run (paths relative to the repository root).
MARKDOWN_FILES = ("README.md",)

# What `pip install ".[demo]"` does not install (kapre's test extra and librosa's dependencies do). SciPy is not
# among them: JAX and jaxlib require it.
NOT_IN_DEMO_INSTALL = ("tensorflow", "torch", "librosa", "sklearn")

TIMEOUT_S = 600

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(?P<text>.*?)\s*#*\s*$")


@dataclass(frozen=True)
class Block:
    file: str  # relative to ROOT
    line: int  # 1-based line of the opening fence
    heading: str  # the nearest heading above it
    code: str

    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-") or "top"


def python_blocks(relative_path: str) -> list[Block]:
    """The ```python (or ~~~python) fenced blocks of a Markdown file, with the heading each one is under."""
    lines = (ROOT / relative_path).read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    heading = ""
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            match = _HEADING.match(lines[i])
            if match:
                heading = match.group("text").replace("`", "")
            i += 1
            continue
        fence, info = opening.group("fence"), opening.group("info").strip()
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines):
            closing = _FENCE.match(lines[i])
            if closing and closing.group("fence")[0] == fence[0] and len(closing.group("fence")) >= len(fence) \
                    and not closing.group("info").strip():
                break
            body.append(lines[i])
            i += 1
        i += 1  # past the closing fence (or the end of the file)
        language = info.split()[0].lower() if info else ""
        if language in ("python", "py", "python3"):
            blocks.append(Block(relative_path, start + 1, heading, textwrap.dedent("\n".join(body)) + "\n"))
    return blocks


BLOCKS = [block for path in MARKDOWN_FILES for block in python_blocks(path)]


def _block_id(block: Block) -> str:
    same = [b for b in BLOCKS if b.file == block.file and b.slug() == block.slug()]
    suffix = f"-{same.index(block) + 1}" if len(same) > 1 else ""
    return f"{block.file}#{block.slug()}{suffix}"


# The demo-install run happens in the JAX session only: that install has JAX as its only backend. It runs the block
# on JAX, with KERAS_BACKEND unset and without the other backends, so a second plain JAX run would repeat it.
ENVIRONMENTS = ("demo-install",) if BACKEND == "jax" else ("current",)

# Appended to each block: which backend Keras ran on, if the block imported it.
_REPORT_BACKEND = """
import sys as _sys
print("\\n[readme-test] backend:", _sys.modules["keras"].backend.backend() if "keras" in _sys.modules else None)
"""

# Put first on PYTHONPATH for the demo-install run. It hides NOT_IN_DEMO_INSTALL from the import system the way an
# uninstalled package is absent: `import tensorflow` raises ModuleNotFoundError("No module named 'tensorflow'") and
# importlib.util.find_spec("tensorflow") returns None (what kapre and Keras use to probe for a backend).
_SITECUSTOMIZE = '''
import importlib.machinery
import sys

_HIDDEN = frozenset({hidden!r})


class _PathFinderWithoutHidden(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname.partition(".")[0] in _HIDDEN:
            return None
        return super().find_spec(fullname, path, target)


sys.meta_path[:] = [
    _PathFinderWithoutHidden if finder is importlib.machinery.PathFinder else finder for finder in sys.meta_path
]
assert _PathFinderWithoutHidden in sys.meta_path, sys.meta_path
assert not _HIDDEN & {{name.partition(".")[0] for name in sys.modules}}, "imported before sitecustomize"
'''


def _environment(tmp_path: Path, kind: str) -> dict[str, str]:
    keras_home = tmp_path / "keras-home"
    keras_home.mkdir()
    env = dict(os.environ)
    env["KERAS_HOME"] = str(keras_home)
    env.pop("MPLBACKEND", None)  # a block that saves a figure must choose a file backend itself
    python_path = [str(ROOT)]  # this checkout's kapre, as installed with `pip install -e`
    if kind == "demo-install":
        env.pop("KERAS_BACKEND", None)
        site_dir = tmp_path / "demo-install-site"
        site_dir.mkdir()
        (site_dir / "sitecustomize.py").write_text(_SITECUSTOMIZE.format(hidden=tuple(NOT_IN_DEMO_INSTALL)))
        python_path.insert(0, str(site_dir))
    else:
        assert kind == "current", kind
    env["PYTHONPATH"] = os.pathsep.join(python_path)
    return env


def run_python(code: str, tmp_path: Path, kind: str) -> subprocess.CompletedProcess:
    """Run ``code`` as a script in a fresh process, in an empty folder under ``tmp_path``."""
    work = tmp_path / "work"
    work.mkdir(parents=True)
    script = work / "readme_block.py"
    script.write_text(code + _REPORT_BACKEND, encoding="utf-8")
    return subprocess.run([sys.executable, script.name], cwd=work, env=_environment(tmp_path, kind),
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def _describe(block_or_code, proc: subprocess.CompletedProcess) -> str:
    where = f"{block_or_code.file}:{block_or_code.line} ({block_or_code.heading})" if isinstance(
        block_or_code, Block) else "code"
    return f"{where}: exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}"


def _backend_used(proc: subprocess.CompletedProcess) -> str:
    reports = re.findall(r"^\[readme-test\] backend: (\S+)$", proc.stdout, flags=re.MULTILINE)
    assert reports, proc.stdout[-2000:]
    return reports[-1]


def test_readme_has_python_blocks():
    """The parametrized test below must not silently test nothing."""
    assert "README.md" in MARKDOWN_FILES
    assert [block for block in BLOCKS if block.file == "README.md"], "README.md has no ```python block"
    for path in MARKDOWN_FILES:
        assert (ROOT / path).is_file(), path
        assert all(block.code.strip() for block in python_blocks(path)), f"{path} has an empty ```python block"


@pytest.mark.parametrize(
    "block, kind",
    [pytest.param(block, kind, id=f"{_block_id(block)}-{kind}") for block in BLOCKS for kind in ENVIRONMENTS],
)
def test_python_block_runs(block: Block, kind: str, tmp_path):
    proc = run_python(block.code, tmp_path, kind)
    assert proc.returncode == 0, _describe(block, proc)
    if "import keras" in block.code or "import kapre" in block.code or "from kapre" in block.code:
        assert _backend_used(proc) == (BACKEND if kind == "current" else "jax"), _describe(block, proc)


# The README's "Using the layers" block as it was when users hit the failure: `import keras` before `import kapre`.
_KERAS_FIRST = """
import keras
import kapre
from kapre.composed import get_melspectrogram_layer

model = keras.Sequential([keras.Input((22050, 1)), get_melspectrogram_layer(n_fft=1024, hop_length=256)])
"""

_PROBE = f"""
import importlib.util
import sys

for name in {NOT_IN_DEMO_INSTALL!r}:
    assert importlib.util.find_spec(name) is None, name
    try:
        __import__(name)
    except ModuleNotFoundError as err:
        assert str(err) == f"No module named {{name!r}}", err
    else:
        raise AssertionError(name + " is importable")
for name in ("jax", "scipy", "matplotlib", "soundfile", "soxr", "tqdm", "kapre"):
    assert importlib.util.find_spec(name) is not None, name
import kapre  # picks an installed backend
import keras

assert keras.backend.backend() == "jax", keras.backend.backend()
"""


if BACKEND == "jax":

    def test_demo_install_simulation(tmp_path):
        """The demo-install environment reproduces the users' failure and hides exactly the packages it should."""
        keras_first = run_python(_KERAS_FIRST, tmp_path / "keras-first", "demo-install")
        assert keras_first.returncode != 0, _describe("code", keras_first)
        assert "ModuleNotFoundError: No module named 'tensorflow'" in keras_first.stderr, _describe("code", keras_first)

        # The same code with kapre first runs there; and the probe sees JAX only.
        kapre_first = _KERAS_FIRST.replace("import keras\nimport kapre\n", "import kapre\nimport keras\n")
        assert kapre_first != _KERAS_FIRST
        proc = run_python(kapre_first, tmp_path / "kapre-first", "demo-install")
        assert proc.returncode == 0, _describe("code", proc)
        assert _backend_used(proc) == "jax"
        proc = run_python(_PROBE, tmp_path / "probe", "demo-install")
        assert proc.returncode == 0, _describe("code", proc)
