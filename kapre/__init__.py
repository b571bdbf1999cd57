"""kapre: audio preprocessing layers for Keras 3 (TensorFlow, JAX and PyTorch).

The time-frequency layers are importable from the top level, as in kapre 0.4::

    from kapre import STFT, Magnitude, MagnitudeToDecibel
    from kapre.composed import get_melspectrogram_layer
"""

from kapre import backend, composed, constants, functional, time_frequency
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

from kapre.signal import *  # noqa: E402,F403  (kapre 0.4 exports the signal layers at top level)
from kapre.time_frequency_tflite import *  # noqa: E402,F403
from kapre.stft_spectrogram import *  # noqa: E402,F403
from kapre import augmentation, signal, time_frequency_tflite  # noqa: E402

__version__ = "1.0.0.dev0"

__all__ = [
    "__version__",
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
]
