"""JAX's export routes (:mod:`kapre.export`): both through TensorFlow in a child process
(:mod:`kapre._backend.export_via_tensorflow`, which says why)."""

from __future__ import annotations

from kapre._backend.export_via_tensorflow import to_litert as to_litert
from kapre._backend.export_via_tensorflow import to_onnx as to_onnx
