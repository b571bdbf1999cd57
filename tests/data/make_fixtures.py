"""Write tests/data/frontend_<backend>.keras: a kapre front-end saved under the active backend.

Run once per backend (KERAS_BACKEND=tensorflow|jax|torch python tests/data/make_fixtures.py); the test suite loads
every backend's file under every backend (tests/test_serialization.py) and checks the numbers against librosa.
"""

import os

import keras

import kapre


def frontend() -> keras.Model:
    """The model stored in the fixtures; tests/test_serialization.py computes its reference independently."""
    return keras.Sequential(
        [
            keras.Input((4000, 1)),
            kapre.STFT(n_fft=512, hop_length=128, window_name="hann_window", input_data_format="channels_last",
                       output_data_format="channels_last"),
            kapre.Magnitude(),
            kapre.ApplyFilterbank("mel", {"sample_rate": 16000, "n_freq": 257, "n_mels": 40},
                                  data_format="channels_last"),
            kapre.MagnitudeToDecibel(),
            kapre.Delta(win_length=5, data_format="channels_last"),
            kapre.ConcatenateFrequencyMap(data_format="channels_last"),
        ],
        name="frontend",
    )


if __name__ == "__main__":
    path = os.path.join(os.path.dirname(__file__), f"frontend_{keras.backend.backend()}.keras")
    frontend().save(path)
    print("wrote", path)
