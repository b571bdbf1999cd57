"""kapre: audio preprocessing layers for Keras 3 (TensorFlow, JAX and PyTorch).

The time-frequency layers are importable from the top level, as in kapre 0.4::

    from kapre import STFT, Magnitude, MagnitudeToDecibel
    from kapre.composed import get_melspectrogram_layer
"""

from kapre import (
    augmentation,
    backend,
    composed,
    constants,
    functional,
    signal,
    time_frequency,
    time_frequency_tflite,
)
from kapre.melspectrogram import MelSpectrogram
from kapre.signal import *  # noqa: F403  (kapre 0.4 exports the signal layers at top level)
from kapre.stft_spectrogram import *  # noqa: F403
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
from kapre.time_frequency_tflite import *  # noqa: F403

__version__ = "1.0.0.dev0"

__all__ = [
    "__version__",
    "augmentation",
    "signal",
    "time_frequency_tflite",
    "backend",
    "composed",
    "constants",
    "functional",
    "time_frequency",
    "STFT",
    "InverseSTFT",
    "Magnitude",
    "Phase",
    "MagnitudeToDecibel",
    "ApplyFilterbank",
    "Delta",
    "ConcatenateFrequencyMap",
    "MelSpectrogram",
]
