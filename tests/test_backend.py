"""kapre.backend and kapre.constants against librosa, SciPy and NumPy transcriptions."""

import itertools
import warnings

import librosa
import numpy as np
import pytest
import scipy.signal

import kapre
import kapre.backend as kb
from kapre import constants
from tests.helpers import to_numpy


def test_constants_strings():
    assert (kb._CH_FIRST_STR, kb._CH_LAST_STR, kb._CH_DEFAULT_STR) == ("channels_first", "channels_last", "default")


@pytest.mark.parametrize("name", ["hann", "hamming", "blackman", "blackmanharris", "bartlett", "triang", "cosine"])
@pytest.mark.parametrize("length", [1, 2, 7, 400, 401])
def test_plain_windows_equal_scipy_periodic(name, length):
    expected = scipy.signal.get_window(name, length, fftbins=True)
    np.testing.assert_allclose(constants.get_window(name, length), expected, atol=1e-12)


@pytest.mark.parametrize("length", [2, 400, 401, 1024])
def test_kapre_window_names_follow_tf_signal(length):
    # tf.signal: periodic Hann/Hamming (odd lengths too), symmetric Kaiser(beta=12), Vorbis, KBD (even lengths).
    n = np.arange(length)
    np.testing.assert_allclose(
        constants.get_window("hann_window", length), 0.5 - 0.5 * np.cos(2 * np.pi * n / length), atol=1e-12
    )
    np.testing.assert_allclose(
        constants.get_window("hamming_window", length), 0.54 - 0.46 * np.cos(2 * np.pi * n / length), atol=1e-12
    )
    np.testing.assert_allclose(constants.get_window("kaiser_window", length), np.kaiser(length, 12.0), atol=1e-12)
    vorbis = np.sin(np.pi / 2 * np.sin(np.pi * (n + 0.5) / length) ** 2)
    np.testing.assert_allclose(constants.get_window("vorbis_window", length), vorbis, atol=1e-12)
    if length % 2 == 0:
        kbd = scipy.signal.windows.kaiser_bessel_derived(length, 12.0)
        np.testing.assert_allclose(constants.get_window("kaiser_bessel_derived_window", length), kbd, atol=1e-12)


def test_window_errors():
    with pytest.raises(ValueError, match="Unknown window name 'hanning'"):
        constants.get_window("hanning", 10)
    with pytest.raises(ValueError, match="win_length=10 values, received 9"):
        constants.get_window(np.ones(9), 10)
    with pytest.raises(ValueError, match="even window length, received 7"):
        constants.get_window("kaiser_bessel_derived_window", 7)
    with pytest.raises(ValueError, match="NaN"):
        constants.get_window([1.0, np.nan], 2)


def test_get_window_fn():
    hann = kb.get_window_fn(None)
    np.testing.assert_allclose(to_numpy(hann(8)), scipy.signal.get_window("hann", 8, fftbins=True), atol=1e-7)
    np.testing.assert_allclose(to_numpy(hann(8, periodic=False)), np.hanning(8), atol=1e-7)
    hamming = kb.get_window_fn("hamming_window")
    np.testing.assert_allclose(to_numpy(hamming(9, periodic=False)), np.hamming(9), atol=1e-7)
    with pytest.raises(ValueError, match="'bogus_window' is not supported"):
        kb.get_window_fn("bogus_window")
    with pytest.raises(NotImplementedError):  # kapre 0.4 raised NotImplementedError; still caught by old code
        kb.get_window_fn("bogus_window")


def test_validate_data_format_str():
    for value in ("default", "channels_first", "channels_last"):
        kb.validate_data_format_str(value)
    with pytest.raises(ValueError, match="received data_format='channel_last'"):
        kb.validate_data_format_str("channel_last")
    with pytest.raises(TypeError, match="data_format=3"):
        kb.validate_data_format_str(3)


MEL_GRID = list(
    itertools.product(
        [8000, 16000, 22050, 44100],  # sample rate
        [257, 1025],  # n_freq
        [1, 40, 128],  # n_mels
        [(0.0, None), (60.0, 3800.0)],  # (fmin, fmax)
        [False, True],  # htk
        [None, "slaney", 1, 2.0, np.inf],  # norm
    )
)


def test_mel_filterbank_equals_librosa_on_a_grid():
    worst = 0.0
    for sample_rate, n_freq, n_mels, (f_min, f_max), htk, norm in MEL_GRID:
        ours = to_numpy(kb.filterbank_mel(sample_rate, n_freq, n_mels, f_min, f_max, htk, norm))
        with warnings.catch_warnings():  # librosa warns about empty filters at some grid points
            warnings.simplefilter("ignore")
            expected = librosa.filters.mel(
                sr=sample_rate, n_fft=2 * (n_freq - 1), n_mels=n_mels, fmin=f_min, fmax=f_max, htk=htk, norm=norm
            ).T
        assert ours.shape == (n_freq, n_mels) and ours.dtype == np.float32
        worst = max(worst, float(np.abs(ours - expected).max()))
    assert worst <= 1e-6, worst


def _log_filterbank_transcription(sample_rate, n_freq, n_bins=84, bins_per_octave=12, f_min=None, spread=0.125):
    """kapre 0.4's filterbank_log written out loop by loop (librosa 0.4's logfrequency)."""
    f_min = 32.70319566 if f_min is None else f_min
    sigma = float(spread) / bins_per_octave
    basis = np.zeros((n_bins, n_freq))
    log_freqs = np.log2(librosa.fft_frequencies(sr=sample_rate, n_fft=(n_freq - 1) * 2)[1:])
    for i in range(n_bins):
        c_freq = f_min * (2.0 ** (float(i) / bins_per_octave))
        basis[i, 1:] = np.exp(-0.5 * ((log_freqs - np.log2(c_freq)) / sigma) ** 2 - np.log2(sigma) - log_freqs)
    basis = librosa.util.normalize(basis, norm=1, axis=1)
    return basis.T


@pytest.mark.parametrize(
    "sample_rate, n_freq, kwargs",
    [
        (22050, 1025, {}),
        (16000, 257, {"n_bins": 60, "bins_per_octave": 12, "f_min": 50.0}),
        (44100, 2049, {"n_bins": 120, "bins_per_octave": 24, "spread": 0.25}),
    ],
)
def test_log_filterbank_equals_kapre_formula_and_sums_to_one(sample_rate, n_freq, kwargs):
    ours = to_numpy(kb.filterbank_log(sample_rate, n_freq, **kwargs))
    expected = _log_filterbank_transcription(sample_rate, n_freq, **kwargs)
    np.testing.assert_allclose(ours, expected, atol=1e-6)
    np.testing.assert_allclose(ours.sum(axis=0), 1.0, atol=1e-5)


def test_log_filterbank_above_nyquist_raises_value_error():
    with pytest.raises(ValueError, match="above the Nyquist frequency 4000"):
        kb.filterbank_log(8000, 257)
    with pytest.raises(RuntimeError):  # kapre 0.4's exception type is kept too
        kb.filterbank_log(8000, 257)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sample_rate": 0, "n_freq": 257}, "sample_rate must be > 0"),
        ({"sample_rate": 16000, "n_freq": 1}, "n_freq must be >= 2"),
        ({"sample_rate": 16000, "n_freq": 257, "n_mels": 0}, "n_mels must be >= 1"),
        ({"sample_rate": 16000, "n_freq": 257, "f_min": 500.0, "f_max": 400.0}, "f_max must be greater than f_min"),
        ({"sample_rate": 16000, "n_freq": 257, "f_max": 9000.0}, "Nyquist"),
        ({"sample_rate": 16000, "n_freq": 257, "norm": "l2"}, "norm must be None, 'slaney' or a positive number"),
    ],
)
def test_mel_filterbank_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kb.filterbank_mel(**kwargs)


def test_magnitude_to_decibel_function_per_example():
    x = np.abs(np.random.default_rng(0).standard_normal((3, 20, 7, 2))).astype("float32") ** 2
    x[1] *= 1e-4
    ours = to_numpy(kb.magnitude_to_decibel(x, ref_value=1.0, amin=1e-5, dynamic_range=40.0))
    for i in range(3):
        expected = librosa.power_to_db(x[i], ref=1.0, amin=1e-5, top_db=40.0)
        np.testing.assert_allclose(ours[i], expected, atol=1e-3)
    with pytest.raises(ValueError, match="amin must be > 0"):
        kb.magnitude_to_decibel(x, amin=0.0)
    with pytest.raises(ValueError, match="ref_value must be one of \\['max'\\]"):
        kb.magnitude_to_decibel(x, ref_value="min")


def test_mu_law_equals_librosa_and_round_trips():
    signal = np.linspace(-1, 1, 1001).astype("float32")
    codes = to_numpy(kb.mu_law_encoding(signal, 256))
    assert codes.dtype == np.int32
    # kapre's code is librosa's mu-law compression rounded to the nearest of 256 levels in [0, 255].
    compressed = librosa.mu_compress(signal.astype(np.float64), mu=255, quantize=False)
    np.testing.assert_array_equal(codes, np.floor((compressed + 1) / 2 * 255 + 0.5).astype(np.int32))
    # librosa's own quantize=True bins differently (np.digitize, codes in [-128, 127]): at most one level apart.
    assert np.abs(codes - (librosa.mu_compress(signal, mu=255, quantize=True) + 128)).max() <= 1
    all_codes = np.arange(256, dtype="int32")
    decoded = to_numpy(kb.mu_law_decoding(all_codes, 256))
    np.testing.assert_array_equal(to_numpy(kb.mu_law_encoding(decoded, 256)), all_codes)
    # Decoding maps code c to level c / 255 * 2 - 1 and expands it as librosa.mu_expand does.
    levels = all_codes / 255.0 * 2.0 - 1.0
    np.testing.assert_allclose(decoded, librosa.mu_expand(levels, mu=255, quantize=False), atol=1e-6)


def test_library_has_no_module_level_librosa_or_scipy_import():
    """librosa and SciPy are test references only: no kapre module imports them at import time."""
    import ast
    import pathlib

    package = pathlib.Path(kapre.__file__).parent
    offenders = []
    for path in package.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("librosa", "scipy")]
    assert not offenders, offenders


# ------------------------------------------------------------------------------------------------------------------
# kapre 0.4's surface (top-level names, kapre.backend's tensors and helpers)
# ------------------------------------------------------------------------------------------------------------------


def test_kapre_04_top_level_names():
    from kapre import (  # noqa: F401  (the import is the test)
        VERSION,
        ChannelSwap,
        SpecAugment,
        get_frequency_aware_conv2d,
        get_log_frequency_spectrogram_layer,
        get_melspectrogram_layer,
        get_perfectly_reconstructing_stft_istft,
        get_stft_mag_phase,
        get_stft_magnitude_layer,
    )

    assert VERSION == kapre.__version__
    assert SpecAugment is kapre.augmentation.SpecAugment and ChannelSwap is kapre.augmentation.ChannelSwap
    assert get_melspectrogram_layer is kapre.composed.get_melspectrogram_layer
    assert {"SpecAugment", "ChannelSwap", "VERSION", *kapre.composed.__all__} <= set(kapre.__all__)


def test_backend_filterbanks_are_backend_tensors_in_floatx():
    """kapre 0.4 documents filterbank_mel/filterbank_log as returning a Tensor (code calls .numpy() on it under
    TensorFlow): a tensor of the active backend in Keras' floatx, equal to the NumPy constants."""
    import keras

    mel = kb.filterbank_mel(22050, 1025, n_mels=64)
    log = kb.filterbank_log(22050, 1025)
    expected_values = (constants.mel_filterbank(22050, 1025, 64), constants.log_filterbank(22050, 1025))
    for tensor, expected in zip((mel, log), expected_values, strict=True):
        assert keras.ops.is_tensor(tensor) and not isinstance(tensor, np.ndarray)
        assert keras.backend.standardize_dtype(tensor.dtype) == keras.config.floatx()
        np.testing.assert_allclose(to_numpy(tensor), expected, rtol=1e-6, atol=1e-9)
    if keras.backend.backend() == "tensorflow":
        assert mel.numpy().shape == (1025, 64)
    assert kb._get_floatx() == keras.config.floatx() == "float32"
    assert kb._get_image_data_format() == keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")  # restored by conftest
    assert kb._get_image_data_format() == "channels_first"


def test_legacy_melspectrogram_keeps_float64_on_every_backend():
    """The 0.2 Melspectrogram in float64 computes and returns float64 (its mel product kept float64 on PyTorch,
    where keras.ops.matmul computed float32); JAX only with x64 enabled."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        if not jax.config.jax_enable_x64:
            pytest.skip("JAX computes float64 only with JAX_ENABLE_X64=1")
    layer = kapre.time_frequency.Melspectrogram(n_dft=512, n_hop=256, sr=16000, n_mels=32, padding="valid",
                                                 image_data_format="channels_first", dtype="float64")
    x = np.random.default_rng(3).uniform(-1, 1, (2, 1, 4000))
    out = layer(x)
    assert keras.backend.standardize_dtype(out.dtype) == "float64"
    # float64 NumPy/librosa: sqrt(|rfft(hann * frame)|**2 @ mel), (batch, ch, mels, frames); float32 is ~1e-7 off
    frames = np.stack([x[..., t * 256 : t * 256 + 512] for t in range(1 + (4000 - 512) // 256)], axis=-2)
    power = np.abs(np.fft.rfft(frames * scipy.signal.get_window("hann", 512, fftbins=True), axis=-1)) ** 2
    mel = librosa.filters.mel(sr=16000, n_fft=512, n_mels=32, norm="slaney", dtype=np.float64).T
    expected = np.sqrt(power @ mel).swapaxes(-1, -2)
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-10, atol=1e-12)
