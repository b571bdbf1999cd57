import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
