"""``kapre info``: versions, the Keras backend in use and its devices."""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import importlib.util
import os
import sys

import numpy as np

from kapre import _backend_choice
from kapre.cli.options import kapre_version

__all__ = ["run", "backend_name", "backend_reason"]


def backend_name() -> str:
    import keras

    return keras.backend.backend()


def backend_reason() -> str:
    choice = _backend_choice.CHOICE
    if choice.get("backend") and choice.get("reason"):
        return choice["reason"]
    if os.environ.get("KERAS_BACKEND"):
        return "set by KERAS_BACKEND"
    if os.path.exists(_backend_choice.keras_config_path()):
        return f"from {_backend_choice.keras_config_path()} or Keras' default"
    return "Keras' default"


@functools.lru_cache(maxsize=1)
def _distributions() -> dict:
    try:
        return importlib.metadata.packages_distributions()
    except Exception:  # a broken install's metadata
        return {}


def module_version(name: str) -> str:
    """The installed version of module ``name``, read without importing it (unless it is already imported)."""
    module = sys.modules.get(name)
    if module is not None:
        return getattr(module, "__version__", "installed")
    try:
        if importlib.util.find_spec(name) is None:
            return "not installed"
    except (ImportError, ValueError):
        return "not installed"
    for dist in _distributions().get(name, []):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "installed"


def devices() -> list[str]:
    from kapre import _backend

    try:
        return list(_backend.device_names()) or ["unknown"]
    except Exception as err:
        return [f"unknown ({type(err).__name__}: {err})"]


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import platform

    import keras

    backend = backend_name()
    lines = [
        ("kapre", kapre_version()),
        ("python", platform.python_version()),
        ("keras", keras.__version__),
        ("backend in use", f"{backend} ({backend_reason()})"),
        (backend, module_version(backend)),
        ("devices", ", ".join(devices())),
        ("numpy", np.__version__),
    ]
    for name in ("tensorflow", "jax", "torch"):
        if name != backend:
            lines.append((name, module_version(name)))
    for name in ("soundfile", "soxr", "matplotlib", "tqdm", "librosa"):
        lines.append((name, module_version(name)))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    return 0
