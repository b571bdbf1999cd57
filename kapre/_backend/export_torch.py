"""PyTorch's export routes (:mod:`kapre.export`): ONNX by ``torch.onnx.export`` (the dynamo exporter), the free
axes of the input signature ``torch.export.Dim.AUTO`` (ranges and relations inferred from the trace); LiteRT
through TensorFlow in a child process, as litert-torch 0.10 converts no free axis."""

from __future__ import annotations

import numpy as np

from kapre._backend.export_via_tensorflow import in_tensorflow


def _examples_and_dims(input_signature):
    import torch

    examples, dims = [], []
    for index, spec in enumerate(input_signature):
        shape = [3 if size is None and axis == 0 else 1601 if size is None else size
                 for axis, size in enumerate(spec.shape)]
        examples.append(torch.from_numpy(np.random.default_rng(index).standard_normal(shape).astype(spec.dtype)))
        dims.append({axis: torch.export.Dim.AUTO
                     for axis, size in enumerate(spec.shape) if size is None} or None)
    return tuple(examples), tuple(dims)


class _Forward:
    @staticmethod
    def module(model):
        import torch

        class Forward(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, *inputs):
                return self.model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)

        return Forward().eval()


def to_onnx(model, path: str, input_signature, opset: int | None = None) -> None:
    import torch

    examples, dims = _examples_and_dims(input_signature)
    names = [spec.name or f"input_{i}" for i, spec in enumerate(input_signature)]
    with torch.no_grad():
        program = torch.onnx.export(_Forward.module(model), examples, dynamo=True, dynamic_shapes=(dims,),
                                    input_names=names, opset_version=opset, optimize=True, verbose=False)
    program.save(path)


def to_litert(model, path: str, input_signature) -> None:
    """Through TensorFlow in a child process (:mod:`kapre._backend.export_via_tensorflow`): litert-torch 0.10
    cannot convert a free batch or length axis."""
    in_tensorflow(model, path, "litert", None)
