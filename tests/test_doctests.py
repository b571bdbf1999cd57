"""The docstring examples of every module in the ``kapre`` package, each run as its own test on this run's backend.

Examples that cannot run here are marked ``# doctest: +SKIP`` in the docstring itself; nothing is skipped from here.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import keras
import pytest

import kapre

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# Docstring examples known to fail: the test name -> the reason (a strict xfail, so the case flips when fixed).
# The test name -> (reason, backends or None for all).
KNOWN_FAILURES: dict[str, tuple[str, tuple | None]] = {}


def _module_names():
    names = ["kapre"]
    for info in pkgutil.walk_packages(kapre.__path__, "kapre."):
        if not info.name.endswith("__main__"):  # importing it would run the command line
            names.append(info.name)
    return sorted(set(names))


def _collect():
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = {}
    for name in _module_names():
        module = importlib.import_module(name)
        for test in finder.find(module, name):
            if test.examples:
                tests.setdefault(test.name, test)
    return [tests[name] for name in sorted(tests)]


DOCTESTS = _collect()


def _param(test):
    reason, backends = KNOWN_FAILURES.get(test.name, (None, None))
    known = reason is not None and (backends is None or keras.backend.backend() in backends)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if known else []
    return pytest.param(test, id=test.name, marks=marks)


def test_the_examples_were_found():
    names = {test.name for test in DOCTESTS}
    assert len(DOCTESTS) >= 30, names
    assert {"kapre.time_frequency.STFT", "kapre.composed.get_melspectrogram_layer"} <= names
    assert set(KNOWN_FAILURES) <= names, set(KNOWN_FAILURES) - names


@pytest.mark.parametrize("test", [_param(test) for test in DOCTESTS])
def test_docstring_example(test):
    keras.backend.clear_session(free_memory=False)
    test.globs = dict(test.globs)  # each run starts from the module's namespace, never a previous run's names
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report = []
    result = runner.run(test, out=report.append, clear_globs=True)
    assert result.failed == 0, "".join(report)
