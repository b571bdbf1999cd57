import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tests import references  # noqa: E402

# torchaudio and openai-whisper, the references that cannot be pip requirements (tests/references.py); appended,
# so that nothing there shadows an installed package
if references.TARGET.is_dir() and str(references.TARGET) not in sys.path:
    sys.path.append(str(references.TARGET))

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _reset_keras_state():
    """Every test starts from Keras' defaults (data format, dtype policy) and a fresh name scope.

    ``free_memory=False`` skips clear_session's gc.collect(), about 1 s per test on a heap holding three frameworks.
    """
    data_format = keras.config.image_data_format()
    policy = keras.config.dtype_policy()
    yield
    keras.config.set_image_data_format(data_format)
    keras.config.set_dtype_policy(policy)
    keras.backend.clear_session(free_memory=False)
