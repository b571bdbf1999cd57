"""The LiteRT interpreter :func:`kapre.export.run_litert` runs a flatbuffer with: ai-edge-litert's, else
TensorFlow's copy (``tf.lite.Interpreter``)."""

from __future__ import annotations

import json
import struct

# the metadata entry (LiteRT) / property (ONNX) where kapre.export records the model's input names, in order
INPUT_NAMES_KEY = "kapre.input_names"


def interpreter(path: str):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            import tensorflow as tf
        except ImportError as error:
            from kapre._backend._export_error import ExportError

            raise ExportError("Running a LiteRT file needs the LiteRT interpreter: pip install ai-edge-litert "
                              "(or tensorflow).") from error
        Interpreter = tf.lite.Interpreter
    return Interpreter(model_path=path)


def recorded_input_names(path: str) -> list[str] | None:
    """The model's input names in order, as :func:`kapre.export.to_litert` records them in the flatbuffer's
    metadata; ``None`` for a file without them. Reads the flatbuffer's tables directly (TFLite schema: ``Model``
    field 4 ``buffers``, field 6 ``metadata``; ``Metadata`` field 0 ``name``, 1 ``buffer``; ``Buffer`` field 0
    ``data``), so no TensorFlow is needed."""
    with open(path, "rb") as file:
        data = file.read()

    def u32(at: int) -> int:
        return struct.unpack_from("<I", data, at)[0]

    def field(table: int, index: int) -> int | None:  # the position of a table's field, None when absent
        vtable = table - struct.unpack_from("<i", data, table)[0]
        entry = 4 + 2 * index
        if entry >= struct.unpack_from("<H", data, vtable)[0]:
            return None
        offset = struct.unpack_from("<H", data, vtable + entry)[0]
        return table + offset if offset else None

    def vector(at: int) -> tuple[int, int]:  # (start, length) of the vector a field points to
        start = at + u32(at)
        return start + 4, u32(start)

    def tables(at: int) -> list[int]:
        start, length = vector(at)
        return [start + 4 * i + u32(start + 4 * i) for i in range(length)]

    try:
        model = u32(0)
        metadata, buffers = field(model, 6), field(model, 4)
        if metadata is None or buffers is None:
            return None
        for entry in tables(metadata):
            name_at, buffer_at = field(entry, 0), field(entry, 1)
            if name_at is None or buffer_at is None:
                continue
            start, length = vector(name_at)
            if data[start : start + length].decode() != INPUT_NAMES_KEY:
                continue
            payload = field(tables(buffers)[u32(buffer_at)], 0)
            start, length = vector(payload)
            return list(json.loads(data[start : start + length].decode()))
    except (struct.error, IndexError, UnicodeDecodeError, ValueError, TypeError):
        return None  # not a flatbuffer kapre wrote: the signature's own order
    return None
