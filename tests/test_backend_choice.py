"""The reason ``kapre info`` gives for the backend when ``keras.json`` holds only what Keras wrote on its own.

Keras writes ``$KERAS_HOME/keras.json`` (``~/.keras/keras.json``) with ``"backend": "tensorflow"`` on its first
import when the file does not exist, whatever ``KERAS_BACKEND`` says. Such a file records no choice of the user's, so
kapre treats it as no choice: the ``kapre`` command picks the first installed of JAX, TensorFlow, PyTorch whether
or not Keras has written that file yet (its first run does not decide its second's backend), a plain ``import kapre``
picks Keras' own default, and the reason says what the file is (see ``tests/test_cli.py``'s ``test_backend_choice``
for the reasons of the other cases).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from kapre import _backend_choice
from tests.helpers import BACKEND

ALL_INSTALLED = {"tensorflow", "jax", "torch"}
DEFAULT_REASON = (
    "picked by kapre (KERAS_BACKEND unset and {keras_json} holds only the defaults Keras writes on its first import "
    "(backend 'tensorflow'; set KERAS_BACKEND or edit that file to choose)): first installed of {order}"
)
DEFAULT_NOT_INSTALLED_REASON = DEFAULT_REASON


def _keras_written_text(config: dict, indent: int | None = 4) -> str:
    return json.dumps(config, indent=indent)


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty KERAS_HOME, KERAS_BACKEND unset, and choose_backend free to run as if Keras were not imported yet."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_BACKEND", raising=False)  # restored (and any value choose_backend sets undone) after
    monkeypatch.delitem(sys.modules, "keras")  # choose_backend does nothing once Keras is imported
    monkeypatch.setattr(_backend_choice, "CHOICE", {"backend": None, "reason": "not chosen by kapre"})
    return tmp_path


def _choose(monkeypatch, installed: set[str]) -> tuple[dict, str | None]:
    monkeypatch.setattr(_backend_choice, "_installed", installed.__contains__)
    choice = _backend_choice.choose_backend(_backend_choice.CLI_ORDER)
    return dict(choice), os.environ.get("KERAS_BACKEND")


def _expected(text: str, order=_backend_choice.CLI_ORDER) -> str:
    return text.format(keras_json=_backend_choice.keras_config_path(), order=", ".join(order))


@pytest.mark.parametrize("indent", [4, None], ids=["as-keras-writes-it", "same-content-other-layout"])
def test_keras_default_file_is_not_called_a_choice(keras_home, monkeypatch, indent):
    (keras_home / "keras.json").write_text(_keras_written_text(_backend_choice.KERAS_DEFAULT_CONFIG, indent))
    choice, env = _choose(monkeypatch, ALL_INSTALLED)
    assert choice == {"backend": "jax", "reason": _expected(DEFAULT_REASON)}  # as without the file
    assert env == "jax"
    assert str(keras_home / "keras.json") in choice["reason"]
    # a plain `import kapre` (library order) keeps Keras' own default, TensorFlow, and needs no variable
    monkeypatch.setattr(_backend_choice, "CHOICE", {"backend": None, "reason": "not chosen by kapre"})
    monkeypatch.delenv("KERAS_BACKEND")
    library = dict(_backend_choice.choose_backend(_backend_choice.LIBRARY_ORDER))
    assert library == {"backend": "tensorflow",
                       "reason": _expected(DEFAULT_REASON, _backend_choice.LIBRARY_ORDER)}
    assert os.environ.get("KERAS_BACKEND") is None


def test_keras_default_file_naming_a_backend_that_is_not_installed(keras_home, monkeypatch):
    (keras_home / "keras.json").write_text(_keras_written_text(_backend_choice.KERAS_DEFAULT_CONFIG))
    choice, env = _choose(monkeypatch, {"jax", "torch"})
    assert choice == {"backend": "jax", "reason": _expected(DEFAULT_NOT_INSTALLED_REASON)}
    assert env == "jax"


@pytest.mark.parametrize(
    "config",
    [
        {**_backend_choice.KERAS_DEFAULT_CONFIG, "floatx": "float64"},  # a value changed
        {**_backend_choice.KERAS_DEFAULT_CONFIG, "image_data_format": "channels_first"},
        {**_backend_choice.KERAS_DEFAULT_CONFIG, "nnx_enabled": False},  # a key added
        {"backend": "tensorflow"},  # keys removed: written by hand
        {k: v for k, v in _backend_choice.KERAS_DEFAULT_CONFIG.items() if k != "epsilon"},
    ],
    ids=["floatx", "image_data_format", "extra-key", "backend-only", "no-epsilon"],
)
def test_a_file_that_differs_from_keras_default_is_the_users_choice(keras_home, monkeypatch, config):
    (keras_home / "keras.json").write_text(_keras_written_text(config))
    choice, env = _choose(monkeypatch, ALL_INSTALLED)
    assert choice == {"backend": "tensorflow", "reason": _expected("set in {keras_json}")}
    assert env is None
    choice, env = _choose(monkeypatch, {"jax"})
    assert choice == {"backend": "jax", "reason": _expected(
        "picked by kapre ({keras_json} names 'tensorflow', which is not installed): first installed of jax, "
        "tensorflow, torch")}
    assert env == "jax"


def test_a_user_who_edited_only_the_backend_chose_it(keras_home, monkeypatch):
    config = {**_backend_choice.KERAS_DEFAULT_CONFIG, "backend": "torch"}
    (keras_home / "keras.json").write_text(_keras_written_text(config))
    choice, env = _choose(monkeypatch, ALL_INSTALLED)
    assert choice == {"backend": "torch", "reason": _expected("set in {keras_json}")}
    assert env is None


def test_keras_backend_variable_wins_over_keras_default_file(keras_home, monkeypatch):
    (keras_home / "keras.json").write_text(_keras_written_text(_backend_choice.KERAS_DEFAULT_CONFIG))
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    choice, env = _choose(monkeypatch, ALL_INSTALLED)
    assert choice == {"backend": "torch", "reason": "set by KERAS_BACKEND"}
    assert env == "torch"


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2]", '"tensorflow"'], ids=["empty", "broken", "list", "str"])
def test_unreadable_or_odd_files_name_no_backend(keras_home, monkeypatch, text):
    (keras_home / "keras.json").write_text(text)
    choice, env = _choose(monkeypatch, ALL_INSTALLED)
    assert choice == {"backend": "jax", "reason": "picked by kapre (KERAS_BACKEND unset and no backend in keras.json): "
                      "first installed of jax, tensorflow, torch"}
    assert env == "jax"


def test_decide_keeps_its_reasons_unless_told_the_file_is_keras_default():
    installed = {"tensorflow", "jax"}.__contains__
    order = _backend_choice.CLI_ORDER
    assert _backend_choice.decide(None, "tensorflow", installed, order)[2] == _expected("set in {keras_json}")
    assert _backend_choice.decide(None, "tensorflow", installed, order, keras_default=True) == (
        "jax", True, _expected(DEFAULT_REASON))
    assert _backend_choice.decide("jax", "tensorflow", installed, order, keras_default=True) == (
        "jax", False, "set by KERAS_BACKEND")
    assert _backend_choice.decide(None, "tensorflow", {"jax"}.__contains__, order, keras_default=True) == (
        "jax", True, _expected(DEFAULT_NOT_INSTALLED_REASON))


def test_keras_writes_exactly_the_default_kapre_recognises_and_kapre_info_says_so(tmp_path):
    """On the installed Keras: its first import writes KERAS_DEFAULT_CONFIG (backend "tensorflow" even when
    KERAS_BACKEND names another), and ``kapre info`` then reports that file as Keras' defaults, not a choice."""
    env = dict(os.environ, KERAS_HOME=str(tmp_path), KERAS_BACKEND=BACKEND, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", "import keras"], env=env, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = json.loads((tmp_path / "keras.json").read_text())
    assert written == _backend_choice.KERAS_DEFAULT_CONFIG
    assert _backend_choice.is_keras_default_config(written)

    del env["KERAS_BACKEND"]
    proc = subprocess.run([sys.executable, "-m", "kapre", "info"], env=env, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    reason = DEFAULT_REASON.format(keras_json=tmp_path / "keras.json", order="jax, tensorflow, torch")
    assert re.search(r"backend in use\s+jax \(" + re.escape(reason) + r"\)", proc.stdout), proc.stdout
