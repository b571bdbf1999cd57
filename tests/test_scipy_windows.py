"""Every ``scipy.signal.get_window`` window, built in NumPy by ``kapre.constants.get_window``, in
``kapre.STFTSpectrogram`` (Keras' window names) and ``kapre.STFT``.

* ``kapre.constants.get_window(window, n, periodic)`` equals ``scipy.signal.get_window(window, n, fftbins=periodic)``
  to 1e-7 absolute (measured: 3e-11 at most, dpss included) for every name, alias, suffix and parameter form, at
  lengths 1, 2, odd, even, 400 and 512.
* ``kapre.STFTSpectrogram`` in float64: its kernels equal ``keras.layers.STFTSpectrogram``'s (1e-12; 2e-5 on JAX,
  where Keras takes pi in float32) for every name Keras accepts (a str); with Keras' kernels loaded its output
  equals Keras' (atol 1e-9 x the output's scale), and with its own a NumPy reference (atol 1e-9 x scale). Names
  with parameters (a tuple), which Keras' layer rejects, are checked against the NumPy reference in float64
  (1e-9 x scale; measured 3e-14) and float32 (1e-5 x scale; measured 4e-7).
* ``kapre.STFT`` (FFT and DFT engines, float32) equals ``numpy.fft.rfft`` of the frames times scipy's periodic
  window to atol 1e-5 x scale (measured 4.4e-7).
* A ``(name, *parameters)`` tuple survives ``get_config`` / ``from_config``, a JSON round trip and a ``.keras``
  file as the same tuple.
"""

import json
import warnings

import keras
import numpy as np
import pytest
import scipy.signal

import kapre
from kapre import constants
from tests.helpers import float64_backend, model_of, noise, save_and_load, to_numpy

BACKEND = keras.backend.backend()
LENGTHS = (1, 2, 7, 8, 255, 400, 511, 512)

# Every scipy window, without parameters where scipy allows that, and with them (as a tuple) where it takes them.
PLAIN = tuple(name for name in constants.SCIPY_WINDOW_NAMES if name not in (
    "chebwin", "dpss", "gaussian", "general_cosine", "general_gaussian", "general_hamming", "kaiser",
    "kaiser_bessel_derived"))
WITH_PARAMETERS = (
    ("kaiser", 8.6), ("kaiser", 0.0), ("kaiser", 14), ("kaiser", 30.0),
    ("tukey", 0.25), ("tukey", 0.0), ("tukey", 1.0), ("tukey", 0.9), ("tukey",),
    ("gaussian", 7.0), ("gaussian", 0.8), ("gaussian", 100),
    ("general_gaussian", 1.5, 7.0), ("general_gaussian", 0.5, 30.0),
    ("general_hamming", 0.6), ("general_hamming", 0.5),
    ("general_cosine", [0.5, 0.3, 0.2]), ("general_cosine", (1.0, 1.942604, 1.340318, 0.440811, 0.043097)),
    ("chebwin", 100), ("chebwin", 50.0), ("chebwin", 60), ("chebwin", 200),
    ("exponential",), ("exponential", None, 3.0), ("exponential", 2.0, 3.0), ("exponential", None),
    ("taylor",), ("taylor", 5), ("taylor", 5, 40), ("taylor", 6, 35, False), ("taylor", 1),
    ("dpss", 3.0), ("dpss", 0.5), ("dpss", 1.5), ("dpss", 4),
)
ALIASES_AND_SUFFIXES = (
    "brthan", "bth", "bart", "brt", "black", "blk", "blackharr", "bkh", "bman", "bmn", "box", "ones", "rect",
    "rectangular", "halfcosine", "poisson", "flat", "flt", "hamm", "ham", "han", "sinc", "nutl", "nut", "parz", "par",
    "taylorwin", "triangle", "tri", "tuk",
) + (("ksr", 6.0), ("cheb", 80), ("gauss", 5.0), ("gss", 5.0), ("general cosine", [0.6, 0.4]),
      ("general gaussian", 2.0, 9.0), ("general gauss", 2.0, 9.0), ("general_gauss", 2.0, 9.0), ("ggs", 2.0, 9.0),
      ("general hamming", 0.7), "hann_periodic", "hann_symmetric", "blackman_symmetric", ("kaiser_periodic", 5.0),
      ("tukey_symmetric", 0.3), "taylor_periodic", ("dpss_symmetric", 2.0), "sinc_periodic")
ALL_WINDOWS = PLAIN + WITH_PARAMETERS + ALIASES_AND_SUFFIXES


def scipy_window(window, length, periodic):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # chebwin below 45 dB
        return scipy.signal.get_window(window, length, fftbins=periodic)


def kapre_window(window, length, periodic):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return constants.get_window(window, length, periodic=periodic)


# -- the windows themselves -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("window", ALL_WINDOWS, ids=str)
def test_window_equals_scipy(window):
    """Periodic (fftbins=True) and symmetric, at every length of LENGTHS: scipy's values to 1e-7 (or a ValueError
    where scipy raises one: the exponential window's centre with a symmetric window)."""
    for length in LENGTHS:
        for periodic in (True, False):
            try:
                expected = scipy_window(window, length, periodic)
            except ValueError:
                with pytest.raises(ValueError):
                    kapre_window(window, length, periodic)
                continue
            actual = kapre_window(window, length, periodic)
            assert actual.dtype == np.float64 and actual.shape == (length,)
            np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-7, err_msg=f"{window} {length} {periodic}")


@pytest.mark.parametrize("window", [("kaiser_bessel_derived", 8.0), ("kbd", 4.0), ("kaiser bessel derived", 12.0)],
                         ids=str)
def test_kaiser_bessel_derived_is_symmetric_and_even_only(window):
    """scipy defines it for even symmetric windows only, and raises otherwise: so does kapre."""
    for length in (2, 8, 400, 512):
        np.testing.assert_allclose(kapre_window(window, length, False), scipy_window(window, length, False),
                                   rtol=0, atol=1e-7)
        with pytest.raises(ValueError, match="symmetric"):
            constants.get_window(window, length, periodic=True)
    with pytest.raises(ValueError, match="even"):
        constants.get_window(window, 7, periodic=False)


def test_a_list_is_the_tuple_json_gives_back():
    np.testing.assert_array_equal(constants.get_window(["kaiser", 8.6], 64), constants.get_window(("kaiser", 8.6), 64))
    np.testing.assert_array_equal(constants.get_window(["hann"], 64), constants.get_window("hann", 64))


def test_chebwin_warns_below_45_db_as_scipy():
    with pytest.warns(UserWarning, match="45 dB"):
        constants.get_window(("chebwin", 30), 64)


def test_kapre_names_unchanged():
    """kapre's tf.signal names keep their meaning (and ignore ``periodic``)."""
    np.testing.assert_allclose(constants.get_window("hann_window", 8, periodic=False), scipy_window("hann", 8, True),
                               atol=1e-15)
    np.testing.assert_allclose(constants.get_window("kaiser_window", 9), np.kaiser(9, 12.0), atol=1e-15)


@pytest.mark.parametrize("window, words", [
    ("hanning", ["'hanning'", "tukey", "kaiser", "hann_window"]),
    (("welch", 3), ["'welch'", "('welch', 3)"]),
    ("kaiser", ["'kaiser'", "beta", "('kaiser', beta)"]),
    (("hann", 0.5), ["'hann'", "0 parameter", "('hann', 0.5)"]),
    (("tukey", 0.5, 1.0), ["'tukey'", "0 to 1", "alpha"]),
    (("kaiser", "8.6"), ["beta='8.6'", "finite real number"]),
    (("kaiser", float("nan")), ["beta=nan"]),
    (("general_cosine", "abc"), ["a='abc'"]),
    (("taylor", 4.5), ["nbar=4.5", "integer"]),
    (("dpss", 40.0), ["NW", "length / 2 = 32"]),
    (("gaussian", 0.0), ["NaN or infinite", "('gaussian', 0.0)"]),
])
def test_errors_name_the_received_value(window, words):
    with pytest.raises(ValueError) as info:
        constants.get_window(window, 64)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_exponential_center_needs_a_periodic_window_as_in_scipy():
    with pytest.raises(ValueError):
        scipy.signal.get_window(("exponential", 2.0, 3.0), 16, fftbins=False)
    with pytest.raises(ValueError, match="center"):
        constants.get_window(("exponential", 2.0, 3.0), 16, periodic=False)


# -- kapre.STFTSpectrogram ------------------------------------------------------------------------------------------

KERAS_NAMES = ("tukey", "blackman", "bartlett", "hamming", "boxcar", "triang", "parzen", "bohman", "blackmanharris",
               "nuttall", "barthann", "cosine", "exponential", "flattop", "lanczos", "taylor", "hann_periodic", "tuk")
TUPLES = (("kaiser", 8.6), ("tukey", 0.25), ("gaussian", 20.0), ("general_gaussian", 1.5, 40.0), ("chebwin", 80),
          ("dpss", 3.0), ("taylor", 5, 40), ("general_hamming", 0.6), ("general_cosine", [0.5, 0.3, 0.2]),
          ("exponential", None, 30.0))
FRAME, STEP, FFT = 200, 50, 256


def spectrogram_reference(x, window, periodic, scaling="density"):
    """``(batch, frames, fft // 2 + 1)`` complex: rfft of each frame times scipy's window over its L2 / L1 norm."""
    w = scipy_window(window, FRAME, periodic)
    w = w / (np.sqrt(np.sum(w**2)) if scaling == "density" else np.sum(np.abs(w)))
    starts = np.arange(0, x.shape[1] - FRAME + 1, STEP)
    frames = np.stack([x[:, s : s + FRAME, 0] for s in starts], axis=1).astype(np.float64)
    return np.fft.rfft(frames * w, FFT, axis=-1)


def _real_imag(layer_kwargs, x, dtype):
    outputs = []
    for mode in ("real", "imag"):
        layer = kapre.STFTSpectrogram(mode=mode, frame_length=FRAME, frame_step=STEP, fft_length=FFT, dtype=dtype,
                                      **layer_kwargs)
        outputs.append(to_numpy(layer(x)).astype(np.float64))
    return outputs[0] + 1j * outputs[1]


@pytest.mark.parametrize("window", KERAS_NAMES)
@pytest.mark.parametrize("periodic", [False, True])
def test_stft_spectrogram_equals_keras(window, periodic):
    """float64: the same kernels as Keras' layer (which calls scipy), the same outputs, and NumPy's numbers."""
    x = noise((2, 1200, 1), seed=5, dtype="float64")
    kwargs = dict(mode="real", frame_length=FRAME, frame_step=STEP, fft_length=FFT, window=window, periodic=periodic)
    with float64_backend(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = keras.layers.STFTSpectrogram(dtype="float64", **kwargs)
        ours = kapre.STFTSpectrogram(dtype="float64", **kwargs)
        expected = to_numpy(theirs(x))
        ours.build(x.shape)
        kernel_tolerance = 2e-5 if BACKEND == "jax" else 1e-12
        for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
            assert np.abs(a - b).max() <= kernel_tolerance
        ours.set_weights(theirs.get_weights())  # JAX: Keras' float64 kernels take pi in float32
        actual = to_numpy(ours(x))
        assert np.abs(actual - expected).max() <= 1e-9 * np.abs(expected).max()
        reference = spectrogram_reference(x, window, periodic)
        complex_out = _real_imag(dict(window=window, periodic=periodic), x, "float64")
    assert np.abs(complex_out - reference).max() <= 1e-9 * np.abs(reference).max()


@pytest.mark.parametrize("window", TUPLES, ids=str)
def test_stft_spectrogram_with_parameters_equals_numpy(window):
    """Names with parameters (Keras' layer takes a str only): NumPy's numbers, float64 (1e-9 x scale) and float32
    (1e-5 x scale), periodic and symmetric, 'density' and 'spectrum' scaling."""
    x = noise((2, 1200, 1), seed=6, dtype="float64")
    for periodic in (False, True):
        for scaling in ("density", "spectrum"):
            reference = spectrogram_reference(x, window, periodic, scaling)
            kwargs = dict(window=window, periodic=periodic, scaling=scaling)
            with float64_backend():
                actual = _real_imag(kwargs, x, "float64")
            assert np.abs(actual - reference).max() <= 1e-9 * np.abs(reference).max()
            actual32 = _real_imag(kwargs, x.astype("float32"), "float32")
            assert np.abs(actual32 - reference).max() <= 1e-5 * np.abs(reference).max()


def test_stft_spectrogram_invalid_windows_name_the_argument():
    for window, words in [("hanning", ["window='hanning'", "tukey"]), (("kaiser",), ["window=('kaiser',)", "beta"]),
                          ("hann_window", ["window='hann_window'"]), (("tukey", "x"), ["alpha='x'"])]:
        with pytest.raises(ValueError) as info:
            kapre.STFTSpectrogram(window=window)
        for word in words:
            assert word in str(info.value), str(info.value)


@pytest.mark.parametrize("make, key, window, length", [
    (lambda window: kapre.STFTSpectrogram(window=window, frame_length=FRAME, frame_step=STEP), "window",
     ("kaiser", 8.6), 1200),
    (lambda window: kapre.STFT(n_fft=256, hop_length=64, window_name=window), "window_name", ("tukey", 0.25), 1000),
], ids=["STFTSpectrogram", "STFT"])
def test_window_tuple_survives_serialization(make, key, window, length, tmp_path):
    """A ``(name, *params)`` window stays a tuple through get_config / from_config, JSON (where it becomes a list
    and comes back a tuple) and a ``.keras`` save and load, with identical outputs."""
    layer = make(window)
    config = layer.get_config()
    assert config[key] == window
    assert type(layer).from_config(config).get_config() == config
    as_json = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
    assert as_json["config"][key] == list(window)
    assert keras.saving.deserialize_keras_object(as_json).get_config() == config
    model = model_of(layer, (length, 1))
    x = noise((2, length, 1), seed=7)
    loaded = save_and_load(model, tmp_path)
    assert loaded.layers[-1].get_config() == config
    np.testing.assert_array_equal(to_numpy(loaded(x)), to_numpy(model(x)))


# -- kapre.STFT -----------------------------------------------------------------------------------------------------

N_FFT, HOP = 256, 64


@pytest.mark.parametrize("window", ("tukey", "blackman", "bartlett", "parzen", "flattop", "taylor", "lanczos")
                         + TUPLES, ids=str)
@pytest.mark.parametrize("engine", ["fft", "dft"])
def test_stft_equals_numpy(window, engine):
    """float32 output, ``rfft`` of the frames times scipy's periodic window: atol 1e-5 x scale."""
    x = noise((2, 2000, 1), seed=8)
    layer = kapre.STFT(n_fft=N_FFT, hop_length=HOP, window_name=window, engine=engine,
                       input_data_format="channels_last", output_data_format="channels_last")
    actual = to_numpy(layer(x))[..., 0]
    w = scipy_window(window, N_FFT, True)
    starts = np.arange(0, x.shape[1] - N_FFT + 1, HOP)
    frames = np.stack([x[:, s : s + N_FFT, 0] for s in starts], axis=1).astype(np.float64)
    expected = np.fft.rfft(frames * w, axis=-1)
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= 1e-5 * np.abs(expected).max()


def test_stft_win_length_window_and_errors():
    """A window shorter than n_fft is centred as before; an invalid one names ``window_name``."""
    x = noise((1, 1000, 1), seed=9)
    layer = kapre.STFT(n_fft=256, win_length=201, hop_length=50, window_name=("kaiser", 5.0))
    assert to_numpy(layer(x)).shape[-2] == 129
    with pytest.raises(ValueError, match=r"window_name: .*'kaiser'.*beta"):
        kapre.STFT(n_fft=256, window_name="kaiser")
    with pytest.raises(ValueError, match=r"window_name: .*'nope'"):
        kapre.STFT(n_fft=256, window_name=("nope", 1.0))


