"""kapre: audio preprocessing layers for Keras 3 (TensorFlow, JAX and PyTorch).

The time-frequency and signal layers are importable from the top level, as in kapre 0.4::

    from kapre import STFT, Magnitude, MagnitudeToDecibel, LogmelToMFCC
    from kapre.composed import get_melspectrogram_layer
"""

from kapre._backend_choice import choose_backend as _choose_backend

_choose_backend()  # before Keras is imported: an installed backend when none is configured

from kapre import (  # noqa: I001  (the import order matters: after the backend choice)
    augmentation,
    backend,
    backend_keras,
    composed,
    config,
    constants,
    frontends,
    functional,
    params,
    signal,
    time_frequency,
    time_frequency_tflite,
)
from kapre.augmentation import ChannelSwap, SpecAugment  # kapre 0.4 exports these at top level
from kapre.composed import *  # kapre 0.4's six get_* functions
from kapre.constantq import CQT, VQT
from kapre.melspectrogram import MelSpectrogram
from kapre.resample import Resample
from kapre.chroma import Chroma
from kapre.pcen import *  # noqa: I001  (issue 18 sections, one module each)
from kapre.leaf import *
from kapre.sincnet import *
from kapre.inversion import *
from kapre import pcen, leaf, sincnet, inversion  # noqa: F401
from kapre.signal import *  # kapre 0.4 exports the signal layers at top level
from kapre.stft_spectrogram import *
from kapre.time_frequency import (
    STFT,
    ApplyFilterbank,
    ConcatenateFrequencyMap,
    Delta,
    InverseSTFT,
    Magnitude,
    MagnitudeToDecibel,
    Phase,
)
from kapre.time_frequency_tflite import *

# The 0.2-era and DAS layers register their serializable names on import, so their files load after `import kapre`.
from kapre import filterbank, utils  # noqa: F401
from kapre.compat import das  # noqa: F401
from kapre import export, pipeline  # noqa: F401  (kapre.export.to_onnx / to_litert; kapre.pipeline: tf.data, Grain)

__version__ = "1.0.0.dev0"
VERSION = __version__  # kapre 0.4's name

__all__ = [
    "__version__",
    "VERSION",
    "augmentation",
    "backend",
    "backend_keras",
    "composed",
    "config",
    "constants",
    "export",
    "frontends",
    "functional",
    "params",
    "pipeline",
    "signal",
    "time_frequency",
    "time_frequency_tflite",
    "STFT",
    "InverseSTFT",
    "Magnitude",
    "Phase",
    "MagnitudeToDecibel",
    "ApplyFilterbank",
    "Delta",
    "ConcatenateFrequencyMap",
    "MelSpectrogram",
    "CQT",
    "VQT",
    "Resample",
    "Chroma",
    "SpecAugment",
    "ChannelSwap",
    *composed.__all__,
    *signal.__all__,
    *time_frequency_tflite.__all__,
    *stft_spectrogram.__all__,  # noqa: F405
    *pcen.__all__,
    *leaf.__all__,
    *sincnet.__all__,
    *inversion.__all__,
]
