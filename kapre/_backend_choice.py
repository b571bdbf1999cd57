"""Choose a Keras backend that is installed, before Keras is imported (used by the ``kapre`` command).

Keras reads ``KERAS_BACKEND`` or ``~/.keras/keras.json`` when it is first imported and defaults to TensorFlow. After
``pip install "kapre[demo]"`` only JAX may be installed, and Keras writes ``"backend": "tensorflow"`` into a new
``keras.json`` on its first import; both would make ``import keras`` fail. :func:`choose_backend` sets
``KERAS_BACKEND`` to an installed backend when the user has not chosen a usable one. It must run before the first
``import keras``; this module imports nothing but the standard library.

Rules, in order:

1. ``KERAS_BACKEND`` is set: it is used as is.
2. ``keras.json`` names a backend that is installed: it is used (``KERAS_BACKEND`` is left unset). A file that holds
   exactly what Keras writes on its first import (:data:`KERAS_DEFAULT_CONFIG`, whatever backend ran then) is no
   choice of the user's and counts as no file (rule 3), so the command's first run does not decide its second's.
3. Otherwise the first installed of ``preferred`` is used (``KERAS_BACKEND`` is set). For the ``kapre`` command the
   order is JAX, TensorFlow, PyTorch; on a plain ``import kapre`` it is Keras' own default, TensorFlow, first, so that
   importing the library never changes the backend Keras would have picked when that backend is installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys

__all__ = ["choose_backend", "decide", "invoked_as_cli", "CHOICE"]

CLI_ORDER = ("jax", "tensorflow", "torch")
LIBRARY_ORDER = ("tensorflow", "jax", "torch")
_MODULES = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch", "numpy": "numpy", "openvino": "openvino"}

# What Keras writes into ``keras.json`` when the file does not exist, on its first import (``keras/src/backend/
# config.py``): its built-in defaults. The backend is always "tensorflow", whatever KERAS_BACKEND says (the variable is
# read after the file is written). A file with exactly this content records no choice of the user's.
KERAS_DEFAULT_CONFIG = {
    "floatx": "float32",
    "epsilon": 1e-07,
    "backend": "tensorflow",
    "image_data_format": "channels_last",
}

# What choose_backend decided: {"backend": str | None, "reason": str}; read by ``kapre info`` and ``kapre demo``.
CHOICE: dict = {"backend": None, "reason": "not chosen by kapre"}


def _installed(backend: str) -> bool:
    module = _MODULES.get(backend, backend)
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def keras_config_path() -> str:
    """Where Keras reads ``keras.json`` (``$KERAS_HOME/keras.json`` or ``~/.keras/keras.json``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "keras.json")


def _read_keras_config():
    """The parsed content of ``keras.json``, or ``None`` when it is missing or unreadable."""
    try:
        with open(keras_config_path()) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def is_keras_default_config(config) -> bool:
    """Whether ``config`` (a parsed ``keras.json``) is exactly what Keras writes on its first import."""
    return isinstance(config, dict) and config == KERAS_DEFAULT_CONFIG


def _backend_in(config) -> str | None:
    """The backend a parsed ``keras.json`` names, if any."""
    value = config.get("backend") if isinstance(config, dict) else None
    return value if isinstance(value, str) and value else None


def invoked_as_cli() -> bool:
    """True when this process is the ``kapre`` console script or ``python -m kapre``."""
    argv0 = os.path.basename(sys.argv[0]) if sys.argv else ""
    if argv0 in ("kapre", "kapre.exe", "kapre-script.py"):
        return True
    orig = list(getattr(sys, "orig_argv", []))
    for i, arg in enumerate(orig[:-1]):
        if arg == "-m":
            return orig[i + 1] == "kapre"
    return False


def decide(
    env: str | None, configured: str | None, installed, preferred: tuple[str, ...], keras_default: bool = False
) -> tuple[str | None, bool, str]:
    """The backend to use: ``(name or None, whether KERAS_BACKEND must be set, reason)``.

    Args:
        env: the value of ``KERAS_BACKEND`` (``None`` or empty when unset).
        configured: the backend named in ``keras.json``, if any.
        installed: ``installed(name) -> bool``.
        preferred: backends to try in order.
        keras_default: ``keras.json`` holds exactly the defaults Keras writes on its first import
            (:data:`KERAS_DEFAULT_CONFIG`), so its backend is no choice of the user's: it is treated as no choice
            (the first installed of ``preferred``, which for a plain ``import kapre`` is Keras' own default).
    """
    path = keras_config_path()
    if env:
        return env, False, "set by KERAS_BACKEND"
    if configured and installed(configured) and not keras_default:
        return configured, False, f"set in {path}"
    for name in preferred:
        if installed(name):
            if configured and keras_default:
                # Keras wrote that file on its first import, whatever was chosen then: no choice of the user's, so
                # the choice stays the same before and after it exists (the command's first run does not decide
                # the backend of its second).
                why = (
                    f"KERAS_BACKEND unset and {path} holds only the defaults Keras writes on its first import "
                    f"(backend {configured!r}; set KERAS_BACKEND or edit that file to choose)"
                )
            elif configured:
                why = f"{path} names {configured!r}, which is not installed"
            else:
                why = "KERAS_BACKEND unset and no backend in keras.json"
            # What Keras would pick on its own (keras.json, else TensorFlow) needs no variable.
            return name, name != (configured or "tensorflow"), f"picked by kapre ({why}): first installed of " + (
                ", ".join(preferred)
            )
    return None, False, f"none of {', '.join(preferred)} is installed"


def choose_backend(preferred: tuple[str, ...] | None = None) -> dict:
    """Set ``KERAS_BACKEND`` to an installed backend unless the user chose a usable one (see the module docstring).

    Args:
        preferred: backends to try, in order; ``None`` means JAX, TensorFlow, PyTorch when run as the ``kapre``
            command and TensorFlow, JAX, PyTorch otherwise.

    Returns:
        :data:`CHOICE`, ``{"backend": name or None, "reason": text}``. Has no effect once Keras is imported.
    """
    if "keras" in sys.modules:
        if CHOICE["backend"] is None:
            CHOICE.update(backend=None, reason="Keras was already imported")
        return CHOICE
    cli = invoked_as_cli()
    if cli:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up logging, if it is imported
    if preferred is None:
        preferred = CLI_ORDER if cli else LIBRARY_ORDER
    config = _read_keras_config()
    name, set_env, reason = decide(
        os.environ.get("KERAS_BACKEND"), _backend_in(config), _installed, preferred,
        keras_default=is_keras_default_config(config),
    )
    if set_env:
        os.environ["KERAS_BACKEND"] = name
    CHOICE.update(backend=name, reason=reason)
    return CHOICE
