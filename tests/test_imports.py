"""The import structure of the kapre package: no cycles, and the backends' own APIs only behind kapre._backend.

Every ``import`` statement counts, including those inside functions (``ast.walk``). An edge goes from a module to
each kapre module it names explicitly (``from kapre import functional`` names ``kapre.functional``; ``import kapre``
names the package's ``__init__``); the implicit import of a module's parent packages is not an edge (Python
initialises a package before its modules, as Keras' own backend package relies on).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import BACKEND

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "kapre"
BACKEND_MODULES = ("tensorflow", "jax", "jaxlib", "torch", "torchaudio")
BOUNDARY = "kapre._backend"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE_ROOT.rglob("*.py"))}


def _imports(path: Path, module: str, known: set[str]) -> tuple[set[str], set[str]]:
    """(kapre modules imported, top-level names of other packages imported) by the file at ``path``."""
    is_package = path.name == "__init__.py"
    kapre_targets, external = set(), set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                (kapre_targets if alias.name.split(".")[0] == "kapre" else external).add(
                    alias.name if alias.name.split(".")[0] == "kapre" else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "kapre":
                external.add(source.split(".")[0])
                continue
            for alias in node.names:
                candidate = f"{source}.{alias.name}"
                kapre_targets.add(candidate if candidate in known else source)
    return {target for target in kapre_targets if target in known}, external


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    modules = _modules()
    known = set(modules)
    edges, externals = {}, {}
    for name, path in modules.items():
        targets, external = _imports(path, name, known)
        edges[name] = targets - {name}
        externals[name] = external
    return edges, externals


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


_ONCE = pytest.mark.skipif(BACKEND != "jax", reason="reads source files only: run once, in the JAX session")


@_ONCE
def test_the_graph_sees_imports_inside_functions_and_relative_imports(tmp_path):
    """The walker itself: an import inside a function and a relative import are edges."""
    source = "def f():\n    from kapre import functional\n    from . import constants\n    import torch\n"
    path = PACKAGE_ROOT / "plot.py"  # any module of the package: only its location is used
    tree_file = tmp_path / "probe.py"
    tree_file.write_text(source)
    known = set(_modules())
    targets, external = _imports(tree_file, _module_name(path), known)
    assert targets == {"kapre.functional", "kapre.constants"} and external == {"torch"}


@_ONCE
def test_no_import_cycles():
    edges, _ = _graph()
    assert len(edges) > 20 and "kapre._backend.torch_mel" in edges
    assert _cycles(edges) == []


@_ONCE
def test_cycle_detection_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@_ONCE
def test_backend_apis_are_imported_only_by_the_backend_package():
    _, externals = _graph()
    offenders = {
        module: sorted(set(names) & set(BACKEND_MODULES))
        for module, names in externals.items()
        if set(names) & set(BACKEND_MODULES) and not (module == BOUNDARY or module.startswith(BOUNDARY + "."))
    }
    assert offenders == {}
    inside = {module for module, names in externals.items() if set(names) & set(BACKEND_MODULES)}
    assert {"kapre._backend.tensorflow", "kapre._backend.jax", "kapre._backend.torch"} <= inside


@_ONCE
def test_every_backend_module_implements_the_whole_interface():
    """Each backend module defines (or imports) every name of kapre._backend._interface.INTERFACE and exports
    exactly those (read from the source, so the modules of backends that are not active are checked too)."""
    tree = ast.parse((PACKAGE_ROOT / "_backend" / "_interface.py").read_text())
    interface = next(set(ast.literal_eval(node.value)) for node in tree.body if isinstance(node, ast.Assign))
    assert {"rfft", "frame", "overlap_add", "matmul", "constant", "call_compiled_when_eager"} <= interface
    for name in ("generic", "tensorflow", "jax", "torch"):
        tree = ast.parse((PACKAGE_ROOT / "_backend" / f"{name}.py").read_text())
        defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        defined |= {t.id for node in tree.body if isinstance(node, ast.Assign) for target in node.targets
                    for t in ast.walk(target) if isinstance(t, ast.Name)}  # a, b = ... too
        defined |= {alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
                    for alias in node.names}
        assert interface <= defined, (name, interface - defined)
        exports = [ast.unparse(node.value) for node in tree.body if isinstance(node, ast.Assign)
                   and getattr(node.targets[0], "id", None) == "__all__"]
        assert exports == ["list(INTERFACE)"], (name, exports)


def test_the_active_backend_module_provides_the_interface():
    from kapre import _backend

    missing = [name for name in _backend.INTERFACE if not hasattr(_backend, name)]
    assert missing == [] and _backend.NAME == BACKEND
    assert not hasattr(_backend, "without_autograd")  # a module's helpers stay in the module


def test_the_command_entry_point_imports_only_the_standard_library_at_module_level():
    """``kapre_cli`` (the ``kapre`` console script) parses arguments before kapre, Keras or a backend is imported:
    its modules import only the standard library and each other at module level; kapre only inside ``main``."""
    import sys

    entry = PACKAGE_ROOT.parent / "kapre_cli"
    files = sorted(entry.glob("*.py"))
    assert {path.name for path in files} >= {"__init__.py", "parser.py"}
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:  # module level only; imports inside functions run when the command runs
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [(node.module or "").split(".")[0]]
            for name in names:
                assert name in sys.stdlib_module_names or name in ("__future__", "kapre_cli"), (path.name, name)
