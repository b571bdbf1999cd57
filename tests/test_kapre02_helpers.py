"""kapre 0.2's helper functions at their 0.2 paths: kapre.backend_keras.amplitude_to_decibel, kapre.backend.mel,
kapre.backend.get_stft_kernels, and kapre.backend.filterbank_log with 0.2's ``sr=`` / ``fmin=``.

The references are independent NumPy transcriptions of kapre 0.2.0's definitions (kapre/backend.py and
kapre/backend_keras.py of keunwoochoi/kapre at "Kapre 0.2.0 (#78)"), with librosa where 0.2 called librosa
(``librosa.filters.mel``, ``librosa.filters.get_window``, ``librosa.fft_frequencies``, ``librosa.util.normalize``).
"""

from __future__ import annotations

import importlib
import inspect

import keras
import librosa
import numpy as np
import pytest

import kapre  # noqa: F401  (chooses the backend before anything else imports Keras' backends)
import kapre.backend as kb
from kapre.backend_keras import amplitude_to_decibel
from tests.helpers import to_numpy
from tests.test_backend import _log_filterbank_transcription

# Tolerances. Decibels are computed in float32 (log10 of values up to ~1e3: a float32 ulp of ~100 dB is 8e-6 dB).
DB_ATOL = 1e-4
# The mel filters and DFT kernels are float64 computations cast to float32 (relative ulp 6e-8).
MEL_RTOL, MEL_ATOL = 1e-6, 1e-9
KERNEL_ATOL = 1e-6
LOG_ATOL = 1e-7


# ---------------------------------------------------------------------------------------------------------------
# The module paths and signatures
# ---------------------------------------------------------------------------------------------------------------


def test_the_0_2_modules_import_and_keep_0_2_signatures():
    module = importlib.import_module("kapre.backend_keras")
    assert module.amplitude_to_decibel is amplitude_to_decibel

    def defaults(fn):
        return {name: p.default for name, p in inspect.signature(fn).parameters.items()}

    empty = inspect.Parameter.empty
    assert defaults(amplitude_to_decibel) == {"x": empty, "amin": 1e-10, "dynamic_range": 80.0}
    assert defaults(kb.mel) == {"sr": empty, "n_dft": empty, "n_mels": 128, "fmin": 0.0, "fmax": None,
                                "htk": False, "norm": "slaney"}
    assert defaults(kb.get_stft_kernels) == {"n_dft": empty}
    log = defaults(kb.filterbank_log)  # 0.4's positional order, 0.2's names as keywords
    assert list(log)[:6] == ["sample_rate", "n_freq", "n_bins", "bins_per_octave", "f_min", "spread"]
    assert {key: log[key] for key in ("n_bins", "bins_per_octave", "spread", "sr", "fmin")} == {
        "n_bins": 84, "bins_per_octave": 12, "spread": 0.125, "sr": None, "fmin": None}
    assert {"mel", "get_stft_kernels", "filterbank_log"} <= set(kb.__all__)


# ---------------------------------------------------------------------------------------------------------------
# amplitude_to_decibel
# ---------------------------------------------------------------------------------------------------------------


def ref_amplitude_to_decibel(x, amin=1e-10, dynamic_range=80.0):
    """0.2: 10 * ln(max(x, amin)) / ln(10), minus the max over axes 1..ndim-1 (all axes for 1-D), floored."""
    x = np.asarray(x, dtype=np.float64)
    log_spec = 10.0 * np.log(np.maximum(x, amin)) / np.log(10.0)
    axis = tuple(range(1, x.ndim)) if x.ndim > 1 else None
    log_spec = log_spec - np.max(log_spec, axis=axis, keepdims=True)
    return np.maximum(log_spec, -1.0 * dynamic_range)


def _spectrogram_batch(shape, seed=0):
    """Power-like values over ~12 decades with exact zeros, each example at its own scale."""
    rng = np.random.default_rng(seed)
    x = 10.0 ** rng.uniform(-9.0, 3.0, shape)
    x[rng.uniform(size=shape) < 0.05] = 0.0
    scales = 10.0 ** np.arange(shape[0], dtype=np.float64) * 1e-3
    return (x * scales.reshape((-1,) + (1,) * (len(shape) - 1))).astype("float32")


@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((3, 20, 7, 2), {}),
        ((2, 31, 5), {"amin": 1e-5, "dynamic_range": 60.0}),
        ((4, 9), {"dynamic_range": 120.0}),
        ((17,), {}),
    ],
)
def test_amplitude_to_decibel_equals_0_2_formula(shape, kwargs):
    x = _spectrogram_batch(shape)
    out = amplitude_to_decibel(x, **kwargs)
    assert keras.ops.is_tensor(out) and keras.backend.standardize_dtype(out.dtype) == "float32"
    ours = to_numpy(out)
    expected = ref_amplitude_to_decibel(x, **kwargs)
    assert ours.shape == x.shape
    np.testing.assert_allclose(ours, expected, rtol=0, atol=DB_ATOL)
    if len(shape) > 1:  # per example: every example's maximum is 0 dB whatever its scale
        np.testing.assert_array_equal(ours.reshape(shape[0], -1).max(axis=1), 0.0)
    assert ours.min() >= -kwargs.get("dynamic_range", 80.0)


def test_amplitude_to_decibel_in_a_model_with_a_free_batch():
    inputs = keras.Input((12, 5, 1))
    model = keras.Model(inputs, keras.layers.Lambda(amplitude_to_decibel)(inputs))
    x = _spectrogram_batch((3, 12, 5, 1), seed=1)
    np.testing.assert_allclose(to_numpy(model(x)), ref_amplitude_to_decibel(x), rtol=0, atol=DB_ATOL)


def test_amplitude_to_decibel_integers_count_as_floats_and_bad_arguments_name_themselves():
    x = np.array([[1, 10, 0], [100, 1, 1]], dtype="int32")
    out = amplitude_to_decibel(x)
    assert keras.backend.standardize_dtype(out.dtype) == keras.config.floatx()
    np.testing.assert_allclose(to_numpy(out), ref_amplitude_to_decibel(x), rtol=0, atol=DB_ATOL)
    with pytest.raises(ValueError, match="amin"):
        amplitude_to_decibel(x, amin=0.0)
    with pytest.raises(ValueError, match="dynamic_range"):
        amplitude_to_decibel(x, dynamic_range=-1.0)


# ---------------------------------------------------------------------------------------------------------------
# mel (0.2 delegated to librosa.filters.mel)
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((22050, 2048), {}),
        ((16000, 512), {"n_mels": 40, "fmin": 30.0, "fmax": 7600.0}),
        ((44100, 1024), {"n_mels": 64, "htk": True}),
        ((8000, 256), {"n_mels": 24, "norm": None}),
        ((16000, 400), {"n_mels": 32, "norm": 1}),  # librosa >= 0.8: a number is a p-norm
        ((16000, 400), {"n_mels": 32, "norm": np.inf, "htk": True, "fmin": 100.0}),
    ],
)
def test_mel_equals_librosa(args, kwargs):
    sr, n_dft = args
    ours = kb.mel(*args, **kwargs)
    # 0.2: librosa.filters.mel(sr=sr, n_fft=n_dft, n_mels=..., fmin=..., fmax=..., htk=..., norm=...)
    expected = librosa.filters.mel(sr=sr, n_fft=n_dft, **kwargs, dtype=np.float64)
    assert isinstance(ours, np.ndarray) and ours.dtype == np.float32
    assert ours.shape == (kwargs.get("n_mels", 128), n_dft // 2 + 1) == expected.shape
    np.testing.assert_allclose(ours, expected, rtol=MEL_RTOL, atol=MEL_ATOL)


def test_mel_follows_floatx_and_rejects_bad_arguments_by_name():
    floatx = keras.config.floatx()
    try:
        keras.config.set_floatx("float64")
        ours = kb.mel(16000, 512, n_mels=40)
        assert ours.dtype == np.float64
        np.testing.assert_allclose(ours, librosa.filters.mel(sr=16000, n_fft=512, n_mels=40, dtype=np.float64),
                                   rtol=1e-12, atol=1e-15)
    finally:
        keras.config.set_floatx(floatx)
    with pytest.raises(ValueError, match="n_dft must be an even number.*n_dft=511"):
        kb.mel(16000, 511)
    with pytest.raises(ValueError, match="sr"):
        kb.mel(0, 512)
    with pytest.raises(ValueError, match="fmax"):
        kb.mel(16000, 512, fmin=5000.0, fmax=4000.0)


# ---------------------------------------------------------------------------------------------------------------
# get_stft_kernels
# ---------------------------------------------------------------------------------------------------------------


def ref_stft_kernels(n_dft):
    """0.2: cos / -sin of (2 pi k / n_dft) * n, k < n_dft // 2 + 1, times librosa's periodic Hann, transposed to
    (n_dft, nb_filter) and expanded to (n_dft, 1, 1, nb_filter)."""
    nb_filter = n_dft // 2 + 1
    timesteps = np.arange(n_dft)
    w_ks = np.arange(nb_filter) * 2 * np.pi / float(n_dft)
    real = np.cos(w_ks.reshape(-1, 1) * timesteps.reshape(1, -1))
    imag = -np.sin(w_ks.reshape(-1, 1) * timesteps.reshape(1, -1))
    window = librosa.filters.get_window("hann", n_dft, fftbins=True).reshape(1, -1)
    real, imag = (real * window).T, (imag * window).T
    return real[:, np.newaxis, np.newaxis, :], imag[:, np.newaxis, np.newaxis, :]


@pytest.mark.parametrize("n_dft", [2, 16, 512, 2048])
def test_get_stft_kernels_equal_0_2_formula(n_dft):
    real, imag = kb.get_stft_kernels(n_dft)
    expected_real, expected_imag = ref_stft_kernels(n_dft)
    for ours, expected in ((real, expected_real), (imag, expected_imag)):
        assert isinstance(ours, np.ndarray) and ours.dtype == np.float32
        assert ours.shape == (n_dft, 1, 1, n_dft // 2 + 1)
        np.testing.assert_allclose(ours, expected, rtol=0, atol=KERNEL_ATOL)
    # the window is 0.5 - 0.5 cos(2 pi n / n_dft) (periodic Hann): the k = 0 real kernel is the window itself
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_dft) / n_dft)
    np.testing.assert_allclose(real[:, 0, 0, 0], window, rtol=0, atol=KERNEL_ATOL)
    frame = np.random.default_rng(n_dft).uniform(-1, 1, n_dft)  # a frame times the kernels is rfft(window * frame)
    spectrum = np.fft.rfft(window * frame)
    np.testing.assert_allclose(frame @ real[:, 0, 0, :], spectrum.real, rtol=0, atol=1e-5 * np.sqrt(n_dft))
    np.testing.assert_allclose(frame @ imag[:, 0, 0, :], spectrum.imag, rtol=0, atol=1e-5 * np.sqrt(n_dft))


@pytest.mark.parametrize("n_dft", [0, 1, 3, 513, 2.0, True])
def test_get_stft_kernels_bad_n_dft_raises_naming_it(n_dft):
    with pytest.raises((ValueError, TypeError), match="n_dft"):
        kb.get_stft_kernels(n_dft)


# ---------------------------------------------------------------------------------------------------------------
# filterbank_log: 0.2's sr= / fmin= beside 0.4's sample_rate= / f_min=
# ---------------------------------------------------------------------------------------------------------------


def ref_filterbank_log_0_2(sr, n_freq, fmin=None, **kwargs):
    """0.2's filterbank_log (librosa 0.4's logfrequency) loop by loop, (n_bins, n_freq): the same formula 0.4 kept,
    transcribed once in tests/test_backend.py."""
    return _log_filterbank_transcription(sr, n_freq, f_min=fmin, **kwargs).T


@pytest.mark.parametrize(
    "sr, n_freq, kwargs",
    [
        (22050, 1025, {}),
        (16000, 257, {"n_bins": 60, "fmin": 50.0}),
        (44100, 2049, {"n_bins": 120, "bins_per_octave": 24, "spread": 0.25}),
    ],
)
def test_filterbank_log_takes_sr_and_fmin_with_0_2_numbers(sr, n_freq, kwargs):
    with_sr = to_numpy(kb.filterbank_log(sr=sr, n_freq=n_freq, **kwargs))
    new_kwargs = {("f_min" if key == "fmin" else key): value for key, value in kwargs.items()}
    with_sample_rate = to_numpy(kb.filterbank_log(sample_rate=sr, n_freq=n_freq, **new_kwargs))
    positional = to_numpy(kb.filterbank_log(sr, n_freq, **new_kwargs))
    np.testing.assert_array_equal(with_sr, with_sample_rate)
    np.testing.assert_array_equal(with_sr, positional)
    # kapre 0.4's (n_freq, n_bins) layout: the transpose of 0.2's (n_bins, n_freq)
    expected = ref_filterbank_log_0_2(sr, n_freq, **kwargs).T
    assert with_sr.shape == expected.shape
    np.testing.assert_allclose(with_sr, expected, rtol=0, atol=LOG_ATOL)


def test_filterbank_log_needs_exactly_one_sample_rate_and_one_f_min():
    with pytest.raises(TypeError, match="sample_rate=.*sr=.*not both"):
        kb.filterbank_log(16000, 257, sr=16000)
    with pytest.raises(TypeError, match="sample_rate=.*sr=.*not both"):
        kb.filterbank_log(sample_rate=16000, sr=16000, n_freq=257)
    with pytest.raises(TypeError, match="needs a sample rate.*sample_rate=.*sr="):
        kb.filterbank_log(n_freq=257)
    with pytest.raises(TypeError, match="needs n_freq"):
        kb.filterbank_log(sr=16000)
    with pytest.raises(TypeError, match="f_min=.*fmin=.*not both"):
        kb.filterbank_log(sr=16000, n_freq=257, n_bins=60, f_min=50.0, fmin=50.0)
    with pytest.raises(ValueError, match="sr=-16000"):  # the message names the keyword the caller used
        kb.filterbank_log(sr=-16000, n_freq=257)
    with pytest.raises(ValueError, match="fmin=5000"):
        kb.filterbank_log(sr=16000, n_freq=257, fmin=5000.0)
