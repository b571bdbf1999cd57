"""kapre's backend boundary: the few operations that need the backend's own API, one module per backend.

As in Keras (``keras/src/backend/__init__.py``), the module of the active Keras backend is selected once, when
kapre is imported, and its names are re-exported here: ``from kapre import _backend`` then
``_backend.rfft(x, n_fft)``. Every backend module implements the same interface (``INTERFACE``, in
:mod:`kapre._backend._interface`), so callers
never branch on the backend and never receive a "not available" ``None``:

- transforms: ``rfft``, ``irfft``, ``rfft_power``, ``frame``, ``overlap_add``, ``windowed_rfft``,
  ``windowed_overlap_add`` (the last two take a chunk plan, :func:`kapre._frames.static_frame_chunks`, that a
  backend may use to stay in the CPU cache or ignore);
- elementwise and linear algebra that keep float64 where ``keras.ops`` would not: ``matmul``, ``maximum``,
  ``minimum``, ``arctan2``, ``magnitude``, ``make_complex``;
- tensors and execution: ``constant`` (created outside any trace), ``initial_value`` (a weight's),
  ``call_compiled_when_eager``, ``compile_function``, ``device_names``;
- execution policy, measured per backend: ``MATMUL_WIDTH_MULTIPLE``, ``LOOPS_OVER_FRAME_CHUNKS``,
  ``max_frame_chunks()``;
- ``fused_power_tail``: the steps after an FFT as one fused computation where the backend would run them op by
  op (TensorFlow's graphs: an XLA cluster), ``None`` elsewhere; taken only once ``set_fused_tail(True)``
  (:func:`kapre.config.enable_xla_tail`; off by default: XLA's compiler costs memory) and outside ``op_by_op()``
  (a context, for results whose bits must not depend on the call history: :mod:`kapre.extraction`); ``fusing()``
  says whether a graph traced now takes it;
- ``EAGER_STREAMING``: a class with a streaming step's small tensor work (framing, zeroing the invalid slots,
  the per-row count) in the backend's own calls for eager use (PyTorch's, where each ``keras.ops`` call's
  dispatch outweighs a streaming step's arithmetic), or ``None``;
- ``EAGER_MEL_PATH``: a class computing :class:`kapre.MelSpectrogram` eagerly with the backend's own calls
  (PyTorch: :mod:`kapre._backend.torch_mel`), or ``None`` where the layer's ``keras.ops`` composition, compiled, is
  the fast path.

No other module of kapre imports ``tensorflow``, ``jax`` or ``torch`` (``tests/test_imports.py`` checks it).
"""

from __future__ import annotations

from keras import backend as _keras_backend

from kapre._backend._interface import INTERFACE as INTERFACE

# op_by_op(): no fused computation (fused_power_tail) is traced inside it; fusing(): whether one may be;
# set_fused_tail(): the process-wide opt-in (kapre.config)
from kapre._backend.generic import fusing as fusing
from kapre._backend.generic import op_by_op as op_by_op
from kapre._backend.generic import set_fused_tail as set_fused_tail

_name = _keras_backend.backend()
if _name == "tensorflow":
    from kapre._backend.tensorflow import *  # noqa: F403
elif _name == "jax":
    from kapre._backend.jax import *  # noqa: F403
elif _name == "torch":
    from kapre._backend.torch import *  # noqa: F403
else:  # numpy or openvino: keras.ops throughout
    from kapre._backend.generic import *  # noqa: F403

if _name == "torch":
    from kapre._backend.torch import EagerStreaming as EAGER_STREAMING
    from kapre._backend.torch_mel import EagerTorchMel as EAGER_MEL_PATH
else:
    EAGER_MEL_PATH = None
    EAGER_STREAMING = None

# True while kapre.export.export_mode() has put kapre._backend.portable's functions in place of these
EXPORTING = False
