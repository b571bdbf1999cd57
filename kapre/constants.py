"""DSP constants built once, in NumPy: windows, filterbanks, DFT kernels and DCT matrices.

Everything here is computed in float64 and returned as a NumPy array. Layers call these functions once (in
``__init__`` or ``build``) and hand the result to the backend; nothing here runs per call, and nothing here
imports librosa or scipy (they are test references only).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

__all__ = [
    "KAPRE_WINDOW_NAMES",
    "PLAIN_WINDOW_NAMES",
    "EmptyFilterbankWarning",
    "FilterbankRangeError",
    "get_window",
    "hz_to_mel",
    "mel_to_hz",
    "mel_frequencies",
    "fft_frequencies",
    "mel_filterbank",
    "log_filterbank",
    "dft_kernels",
    "stft_dft_kernel",
    "dct_matrix",
    "inverse_stft_window",
    "KALDI_WINDOW_TYPES",
    "kaldi_window",
    "mel_space_filterbank",
    "cepstral_lifter",
    "CQT_WINDOW_BANDWIDTHS",
    "cqt_frequencies",
    "relative_bandwidths",
    "wavelet_lengths",
    "cqt_correlation_kernel",
    "halfband_lowpass",
    "cqt_window_main_lobe",
    "decimation_matrix",
    "chroma_filterbank",
    "cq_to_chroma_matrix",
]


C1_HZ = 32.70319566  # the note C1, the lowest bin of kapre's log filterbank by default
C1_HZ_EXACT = 440.0 * 2.0 ** ((24 - 69) / 12.0)  # C1 as librosa.note_to_hz("C1"): the CQT's default fmin


class EmptyFilterbankWarning(UserWarning):
    """Some filters of a filterbank are all zero: no FFT bin falls inside them, so their outputs are always 0.

    librosa warns in the same case ("Empty filters detected in mel frequency basis"). The filterbank is still
    built (as librosa's), so a configuration copied from elsewhere keeps its shape.
    """


class FilterbankRangeError(ValueError, RuntimeError):
    """A filterbank asks for frequencies above the Nyquist frequency.

    A ``ValueError`` (an invalid argument) that is also a ``RuntimeError``, which is what kapre 0.4 raised.
    """


# ---------------------------------------------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------------------------------------------

# kapre's names: tf.signal's window functions.
KAPRE_WINDOW_NAMES = (
    "hann_window",
    "hamming_window",
    "kaiser_window",
    "kaiser_bessel_derived_window",
    "vorbis_window",
)

# Plain (scipy / librosa) names, periodic ("fftbins=True") as librosa uses them for the STFT.
PLAIN_WINDOW_NAMES = (
    "hann",
    "hamming",
    "blackman",
    "blackmanharris",
    "bartlett",
    "triang",
    "cosine",
    "boxcar",
    "rectangular",
    "ones",
)


def _general_cosine(length: int, coefficients: Sequence[float], periodic: bool) -> np.ndarray:
    """sum_k (-1)^k a_k cos(2 pi k n / N), N = length (periodic) or length - 1 (symmetric)."""
    if length == 1:
        return np.ones(1)
    denominator = length if periodic else length - 1
    phase = 2.0 * np.pi * np.arange(length) / denominator
    window = np.zeros(length)
    for k, a_k in enumerate(coefficients):
        window += (-1) ** k * a_k * np.cos(k * phase)
    return window


def _kaiser(length: int, beta: float) -> np.ndarray:
    """Symmetric Kaiser window, as ``tf.signal.kaiser_window`` and ``np.kaiser``."""
    if length == 1:
        return np.ones(1)
    ratio = 2.0 * np.arange(length) / (length - 1) - 1.0
    return np.i0(beta * np.sqrt(np.clip(1.0 - ratio**2, 0.0, None))) / np.i0(beta)


def _kaiser_bessel_derived(length: int, beta: float) -> np.ndarray:
    if length % 2:
        raise ValueError(
            f"kaiser_bessel_derived_window needs an even window length, received {length}. "
            "Use an even win_length or another window."
        )
    half = length // 2
    cumulative = np.cumsum(_kaiser(half + 1, beta))
    half_window = np.sqrt(cumulative[:-1] / cumulative[-1])
    return np.concatenate([half_window, half_window[::-1]])


def _vorbis(length: int) -> np.ndarray:
    return np.sin(np.pi / 2.0 * np.sin(np.pi * (np.arange(length) + 0.5) / length) ** 2)


# -- scipy.signal.get_window's windows, in NumPy ------------------------------------------------------------------
# Each builder returns the symmetric window of m >= 2 samples, transcribed from scipy.signal.windows (1.17) so that
# the numbers agree to rounding; get_window builds a periodic window as the symmetric one of length + 1 without its
# last sample, as scipy does.


def _sym_general_cosine(m: int, a) -> np.ndarray:
    return _general_cosine(m, a, periodic=False)  # scipy's sum_k a_k cos(k x), x from -pi to pi


def _sym_general_hamming(m: int, alpha: float) -> np.ndarray:
    return _sym_general_cosine(m, (alpha, 1.0 - alpha))


def _sym_boxcar(m: int) -> np.ndarray:
    return np.ones(m)


def _sym_triang(m: int) -> np.ndarray:
    n = np.arange(1, (m + 1) // 2 + 1)
    if m % 2 == 0:
        half = (2 * n - 1.0) / m
        return np.concatenate([half, half[::-1]])
    half = 2 * n / (m + 1.0)
    return np.concatenate([half, half[-2::-1]])


def _sym_parzen(m: int) -> np.ndarray:
    n = np.abs(np.arange(-(m - 1) / 2.0, (m - 1) / 2.0 + 0.5, 1.0))
    return np.where(n <= (m - 1) / 4.0, 1 - 6 * (n / (m / 2.0)) ** 2.0 + 6 * (n / (m / 2.0)) ** 3.0,
                    2 * (1 - n / (m / 2.0)) ** 3.0)


def _sym_bohman(m: int) -> np.ndarray:
    fac = np.abs(np.linspace(-1, 1, m)[1:-1])
    inner = (1 - fac) * np.cos(np.pi * fac) + 1.0 / np.pi * np.sin(np.pi * fac)
    return np.concatenate([[0.0], inner, [0.0]])


def _sym_bartlett(m: int) -> np.ndarray:
    n = np.arange(m, dtype=np.float64)
    return np.where(n <= (m - 1) / 2.0, 2.0 * n / (m - 1), 2.0 - 2.0 * n / (m - 1))


def _sym_barthann(m: int) -> np.ndarray:
    fac = np.abs(np.arange(m) / (m - 1.0) - 0.5)
    return 0.62 - 0.48 * fac + 0.38 * np.cos(2 * np.pi * fac)


def _sym_cosine(m: int) -> np.ndarray:
    return np.sin(np.pi / m * (np.arange(m) + 0.5))


def _sym_lanczos(m: int) -> np.ndarray:
    right = np.sinc(2.0 * np.arange((m + 1) // 2, m) / (m - 1) - 1.0)
    middle = [1.0] if m % 2 else []
    return np.concatenate([right[::-1], middle, right])


def _sym_tukey(m: int, alpha: float = 0.5) -> np.ndarray:
    if alpha <= 0:
        return np.ones(m)
    if alpha >= 1.0:
        return _sym_general_hamming(m, 0.5)
    n = np.arange(m, dtype=np.float64)
    width = int(math.floor(alpha * (m - 1) / 2.0))
    n1, n2, n3 = n[: width + 1], n[width + 1 : m - width - 1], n[m - width - 1 :]
    w1 = 0.5 * (1 + np.cos(np.pi * (-1 + 2.0 * n1 / alpha / (m - 1))))
    w3 = 0.5 * (1 + np.cos(np.pi * (-2.0 / alpha + 1 + 2.0 * n3 / alpha / (m - 1))))
    return np.concatenate([w1, np.ones(n2.shape), w3])


def _sym_gaussian(m: int, std: float) -> np.ndarray:
    n = np.arange(m) - (m - 1.0) / 2.0
    return np.exp(-(n**2) / (2 * std * std))


def _sym_general_gaussian(m: int, p: float, sig: float) -> np.ndarray:
    n = np.arange(m) - (m - 1.0) / 2.0
    return np.exp(-0.5 * np.abs(n / sig) ** (2 * p))


def _sym_chebwin(m: int, at: float) -> np.ndarray:
    order = m - 1.0
    beta = np.cosh(1.0 / order * np.arccosh(10 ** (abs(at) / 20.0)))
    x = beta * np.cos(np.pi * np.arange(m) / m)
    # The window's DFT from the Chebyshev polynomial written with cosh / cos (the expansion loses precision).
    p = np.zeros(m)
    p[x > 1] = np.cosh(order * np.arccosh(x[x > 1]))
    p[x < -1] = (2 * (m % 2) - 1) * np.cosh(order * np.arccosh(-x[x < -1]))
    inside = np.abs(x) <= 1
    p[inside] = np.cos(order * np.arccos(x[inside]))
    if m % 2:
        w = np.real(np.fft.fft(p))[: (m + 1) // 2]
        w = np.concatenate([w[:0:-1], w])
    else:
        w = np.real(np.fft.fft(p * np.exp(1j * np.pi / m * np.arange(m))))
        half = m // 2 + 1
        w = np.concatenate([w[half - 1 : 0 : -1], w[1:half]])
    return w / np.max(w)


def _sym_exponential(m: int, center: float | None = None, tau: float = 1.0) -> np.ndarray:
    center = (m - 1) / 2 if center is None else center
    return np.exp(-np.abs(np.arange(m) - center) / tau)


def _sym_taylor(m: int, nbar: int = 4, sll: float = 30, norm: bool = True) -> np.ndarray:
    b = 10 ** (sll / 20)
    a = np.arccosh(b) / np.pi
    s2 = nbar**2 / (a**2 + (nbar - 0.5) ** 2)
    ma = np.arange(1, nbar, dtype=np.float64)
    m2 = ma * ma
    signs = np.where(np.arange(nbar - 1) % 2 == 0, 1.0, -1.0)
    fm = np.empty(nbar - 1)
    for i in range(nbar - 1):
        numer = signs[i] * np.prod(1 - m2[i] / s2 / (a**2 + (ma - 0.5) ** 2))
        denom = 2 * np.prod(1 - m2[i] / m2[:i]) * np.prod(1 - m2[i] / m2[i + 1 :])
        fm[i] = numer / denom

    def taylor_sum(n):
        return 1 + 2 * np.matmul(fm, np.cos(2 * np.pi * ma[:, np.newaxis] * (n - m / 2.0 + 0.5) / m))

    w = taylor_sum(np.arange(m, dtype=np.float64))
    if norm:
        w = w * (1.0 / taylor_sum(np.asarray([(m - 1) / 2.0]))[0])
    return w


DPSS_MAX_LENGTH = 4096  # dpss solves a dense (length / 2)-square eigenproblem: ~1 s at 2048 samples, ~5 s at 4096


def _sym_dpss(m: int, nw: float) -> np.ndarray:
    """The first Slepian sequence, scaled as scipy's ``dpss(m, nw)`` (peak 1, ``m**2 / (m**2 + nw)`` for even m).

    It is the top eigenvector of Percival and Walden's tridiagonal matrix (diagonal ``((m - 1 - 2t) / 2)**2
    cos(2 pi W)``, off-diagonal ``t (m - t) / 2``). That matrix is persymmetric and the sequence is even, so the
    problem folds onto the first half (the centre sample of an odd length rescaled by sqrt(2) to stay symmetric).
    """
    t = np.arange(m, dtype=np.float64)
    diagonal = ((m - 1 - 2 * t) / 2.0) ** 2 * np.cos(2 * np.pi * float(nw) / m)
    off = t[1:] * (m - t[1:]) / 2.0
    half = (m + 1) // 2
    d = diagonal[:half].copy()
    e = off[: half - 1].copy()
    if m % 2 == 0:
        d[-1] += off[half - 1]  # the mirrored neighbour of the last sample of the half is that sample itself
    else:
        e[-1] *= math.sqrt(2.0)
    folded = np.diag(d) + np.diag(e, 1) + np.diag(e, -1)
    _, vectors = np.linalg.eigh(folded)
    u = vectors[:, -1].copy()
    if m % 2:
        u[-1] *= math.sqrt(2.0)
        w = np.concatenate([u, u[-2::-1]])
    else:
        w = np.concatenate([u, u[::-1]])
    if w.sum() < 0:
        w = -w
    w = w / w.max()
    if m % 2 == 0:
        w = w * (m**2 / float(m**2 + nw))
    return w


# canonical name: (builder, its parameters' names, how many of them are required). Every scipy window whose
# parameters are numbers (general_cosine's a sequence of them).
_SCIPY_WINDOWS = {
    "barthann": (_sym_barthann, (), 0),
    "bartlett": (_sym_bartlett, (), 0),
    "blackman": (lambda m: _sym_general_cosine(m, (0.42, 0.50, 0.08)), (), 0),
    "blackmanharris": (lambda m: _sym_general_cosine(m, (0.35875, 0.48829, 0.14128, 0.01168)), (), 0),
    "bohman": (_sym_bohman, (), 0),
    "boxcar": (_sym_boxcar, (), 0),
    "chebwin": (_sym_chebwin, ("at",), 1),
    "cosine": (_sym_cosine, (), 0),
    "dpss": (_sym_dpss, ("NW",), 1),
    "exponential": (_sym_exponential, ("center", "tau"), 0),
    "flattop": (lambda m: _sym_general_cosine(m, (0.21557895, 0.41663158, 0.277263158, 0.083578947, 0.006947368)),
                (), 0),
    "gaussian": (_sym_gaussian, ("std",), 1),
    "general_cosine": (_sym_general_cosine, ("a",), 1),
    "general_gaussian": (_sym_general_gaussian, ("p", "sig"), 2),
    "general_hamming": (_sym_general_hamming, ("alpha",), 1),
    "hamming": (lambda m: _sym_general_hamming(m, 0.54), (), 0),
    "hann": (lambda m: _sym_general_hamming(m, 0.5), (), 0),
    "kaiser": (_kaiser, ("beta",), 1),
    "kaiser_bessel_derived": (_kaiser_bessel_derived, ("beta",), 1),  # odd lengths refused in get_window
    "lanczos": (_sym_lanczos, (), 0),
    "nuttall": (lambda m: _sym_general_cosine(m, (0.3635819, 0.4891775, 0.1365995, 0.0106411)), (), 0),
    "parzen": (_sym_parzen, (), 0),
    "taylor": (_sym_taylor, ("nbar", "sll", "norm"), 0),
    "triang": (_sym_triang, (), 0),
    "tukey": (_sym_tukey, ("alpha",), 0),
}

# scipy.signal.get_window's other spellings of the same windows.
SCIPY_WINDOW_ALIASES = {
    "brthan": "barthann", "bth": "barthann",
    "bart": "bartlett", "brt": "bartlett",
    "black": "blackman", "blk": "blackman",
    "blackharr": "blackmanharris", "bkh": "blackmanharris",
    "bman": "bohman", "bmn": "bohman",
    "box": "boxcar", "ones": "boxcar", "rect": "boxcar", "rectangular": "boxcar",
    "cheb": "chebwin",
    "halfcosine": "cosine",
    "poisson": "exponential",
    "flat": "flattop", "flt": "flattop",
    "gauss": "gaussian", "gss": "gaussian",
    "general cosine": "general_cosine",
    "general gaussian": "general_gaussian", "general gauss": "general_gaussian", "general_gauss": "general_gaussian",
    "ggs": "general_gaussian",
    "general hamming": "general_hamming",
    "hamm": "hamming", "ham": "hamming",
    "han": "hann",
    "ksr": "kaiser",
    "kaiser bessel derived": "kaiser_bessel_derived", "kbd": "kaiser_bessel_derived",
    "sinc": "lanczos",
    "nutl": "nuttall", "nut": "nuttall",
    "parz": "parzen", "par": "parzen",
    "taylorwin": "taylor",
    "triangle": "triang", "tri": "triang",
    "tuk": "tukey",
}

# The windows of scipy.signal.get_window, by their scipy function names. Each also takes the suffix '_periodic' or
# '_symmetric' (which overrides ``periodic``, as in scipy); those with parameters take them as a tuple,
# ``('kaiser', 8.6)``, ``('tukey', 0.25)``, ``('general_cosine', [0.5, 0.5])``.
SCIPY_WINDOW_NAMES = tuple(_SCIPY_WINDOWS)

__all__ += ["SCIPY_WINDOW_NAMES", "SCIPY_WINDOW_ALIASES", "DPSS_MAX_LENGTH", "resolve_window_name"]


def _is_real_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _known_names_message() -> str:
    return (
        f"Use one of kapre's names {list(KAPRE_WINDOW_NAMES)}, a scipy.signal.get_window name "
        f"{list(SCIPY_WINDOW_NAMES)} (or its aliases {sorted(SCIPY_WINDOW_ALIASES)}; each may end in '_periodic' or "
        "'_symmetric'), with its parameters as a tuple such as ('kaiser', 8.6), or a 1-D array of window values."
    )


def _is_named_window(window) -> bool:
    """A name, or a name with parameters: a tuple (or, after a JSON round trip, a list) whose first item is a str."""
    return isinstance(window, str) or (
        isinstance(window, (tuple, list)) and len(window) > 0 and isinstance(window[0], str)
    )


def resolve_window_name(window) -> tuple[str, tuple, bool | None]:
    """Check a scipy-style window name (a str, or a tuple/list ``(name, *parameters)``) without building it.

    Returns ``(canonical name, parameters, forced periodicity)``: the periodicity is ``True`` / ``False`` for a
    name ending in ``'_periodic'`` / ``'_symmetric'``, else ``None``. kapre's own names (``'hann_window'``, ...)
    are returned as they are, with no parameters.

    Raises:
        ValueError: an unknown name (the message lists the known ones), the wrong number of parameters, or
            parameters that are not finite real numbers.
    """
    if not _is_named_window(window):
        raise ValueError(f"A window name must be a str or a tuple (name, *parameters), received {window!r}.")
    name, params = (window, ()) if isinstance(window, str) else (window[0], tuple(window[1:]))
    if name in KAPRE_WINDOW_NAMES:
        if params:
            raise ValueError(f"kapre's window {name!r} takes no parameters, received {window!r}.")
        return name, (), None
    forced = None
    base = name
    if base.endswith("_symmetric"):
        forced, base = False, base[: -len("_symmetric")]
    elif base.endswith("_periodic"):
        forced, base = True, base[: -len("_periodic")]
    base = SCIPY_WINDOW_ALIASES.get(base, base)
    if base not in _SCIPY_WINDOWS:
        raise ValueError(f"Unknown window name {name!r} (received {window!r}). {_known_names_message()}")
    _, names, required = _SCIPY_WINDOWS[base]
    if not required <= len(params) <= len(names):
        wanted = f"{required}" if required == len(names) else f"{required} to {len(names)}"
        example = ", ".join((repr(base),) + names)
        raise ValueError(
            f"The {base!r} window takes {wanted} parameter(s) {list(names)}, received {window!r}. Pass them in a "
            f"tuple: ({example})."
        )
    for param_name, value in zip(names, params, strict=False):  # optional parameters may be left out
        if base == "general_cosine":
            try:
                ok = np.ndim(value) == 1 and len(value) > 0 and all(_is_real_number(v) for v in value)
            except TypeError:
                ok = False
            ok = ok and bool(np.all(np.isfinite(np.asarray(value, dtype=np.float64))))
        elif base == "taylor" and param_name == "norm":
            ok = isinstance(value, (bool, np.bool_)) or (_is_real_number(value) and value in (0, 1))
        elif base == "taylor" and param_name == "nbar":
            ok = _is_real_number(value) and float(value).is_integer() and value >= 1
        elif base == "exponential" and param_name == "center" and value is None:
            ok = True
        else:
            ok = _is_real_number(value) and math.isfinite(value)
        if not ok:
            kind = {"a": "a non-empty 1-D sequence of finite numbers", "norm": "a bool",
                    "nbar": "an integer >= 1"}.get(param_name, "a finite real number")
            raise ValueError(
                f"The {base!r} window's parameter {param_name} must be {kind}, received {param_name}={value!r} in "
                f"{window!r}."
            )
    return base, params, forced


def _scipy_window(window, length: int, periodic: bool) -> np.ndarray:
    """``scipy.signal.get_window(window, length, fftbins=periodic)`` in NumPy (``window`` a name or name tuple)."""
    base, params, forced = resolve_window_name(window)
    periodic = periodic if forced is None else forced
    builder = _SCIPY_WINDOWS[base][0]
    if base == "general_cosine":
        params = (tuple(float(v) for v in params[0]),)
    if base == "taylor" and params:
        params = (int(params[0]),) + params[1:]
    if base == "exponential" and not periodic and len(params) >= 1 and params[0] is not None:
        raise ValueError(
            f"The 'exponential' window's center applies to periodic windows only (scipy: 'If sym==True, center "
            f"must be None'), received {window!r} with a symmetric window."
        )
    if base == "kaiser_bessel_derived":
        if periodic:
            raise ValueError(
                f"The Kaiser-Bessel-derived window {window!r} is only defined as a symmetric window (scipy raises "
                "for fftbins=True). Use periodic=False, the name 'kaiser_bessel_derived_symmetric', or kapre's "
                "'kaiser_bessel_derived_window'."
            )
        if length % 2:
            raise ValueError(
                f"The Kaiser-Bessel-derived window {window!r} needs an even window length, received {length}."
            )
    if base == "chebwin" and abs(params[0]) < 45:
        warnings.warn(
            f"The Dolph-Chebyshev window {window!r} is not suitable for spectral analysis below about 45 dB of "
            "attenuation (its equivalent noise bandwidth does not grow monotonically there), as scipy warns.",
            UserWarning, stacklevel=3)
    if base == "dpss" and length > 1:
        nw = float(params[0])
        if not 0 < nw < length / 2.0:
            raise ValueError(f"The 'dpss' window's NW must be > 0 and < length / 2 = {length / 2.0:g}, received "
                             f"NW={params[0]!r} in {window!r}.")
        if length > DPSS_MAX_LENGTH:
            raise ValueError(f"The 'dpss' window is built for lengths up to {DPSS_MAX_LENGTH} samples (a dense "
                             f"eigenproblem), received length={length}.")
    if length == 1:
        return np.ones(1)  # scipy's one-sample windows are [1.0]
    m = length + 1 if periodic else length
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        values = np.asarray(builder(m, *params), dtype=np.float64)[:length]
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"The window {window!r} of {length} samples has NaN or infinite values (a parameter out of its usable "
            "range, e.g. a zero width). Use other parameters."
        )
    return values


def get_window(
    window: str | tuple | Sequence[float] | np.ndarray | None, length: int, periodic: bool = True
) -> np.ndarray:
    """Return an analysis window of ``length`` samples as a float64 NumPy array.

    Args:
        window: ``None`` (periodic Hann, kapre's default); one of kapre's ``tf.signal`` names
            (``'hann_window'``, ``'hamming_window'``, ``'kaiser_window'``, ``'kaiser_bessel_derived_window'``,
            ``'vorbis_window'``), which behave as ``tf.signal`` with its defaults (periodic Hann and Hamming,
            ``beta=12`` for the Kaiser windows); any name ``scipy.signal.get_window`` knows
            (:data:`SCIPY_WINDOW_NAMES`, their aliases :data:`SCIPY_WINDOW_ALIASES` and the ``'_periodic'`` /
            ``'_symmetric'`` suffixes), with its parameters as a tuple (``('kaiser', 8.6)``, ``('tukey', 0.25)``,
            ``('gaussian', 7.0)``; a list, as JSON returns a tuple, works too), equal to
            ``scipy.signal.get_window(window, length, fftbins=periodic)``; or a 1-D array of exactly ``length``
            values.
        length: window length in samples, a positive integer.
        periodic: for the scipy names only: ``False`` gives the symmetric window (``fftbins=False`` in scipy,
            ``periodic=False`` in ``keras.layers.STFTSpectrogram``). kapre's names and arrays ignore it.

    Returns:
        A float64 array of shape ``(length,)``. Periodic windows are periodic for odd lengths too.
    """
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"Window length must be a positive integer, received length={length!r}.")
    length = int(length)
    if window is None:
        window = "hann_window"
    if isinstance(window, str) and window in KAPRE_WINDOW_NAMES:
        if length == 1 and window in KAPRE_WINDOW_NAMES[:3]:
            return np.ones(1)  # a one-sample window is [1.0], as in tf.signal
        if window == "hann_window":
            return _general_cosine(length, (0.5, 0.5), periodic=True)
        if window == "hamming_window":
            return _general_cosine(length, (0.54, 0.46), periodic=True)
        if window == "kaiser_window":
            return _kaiser(length, 12.0)
        if window == "kaiser_bessel_derived_window":
            return _kaiser_bessel_derived(length, 12.0)
        return _vorbis(length)
    if _is_named_window(window):
        return _scipy_window(window, length, periodic)
    try:
        values = np.asarray(window, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"A window array must hold real numbers, received {window!r}.") from error
    if values.ndim != 1:
        raise ValueError(f"A window array must be 1-D, received an array of shape {values.shape}.")
    if values.shape[0] != length:
        raise ValueError(
            f"A window array must have win_length={length} values, received {values.shape[0]} values."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("A window array must hold finite values only; it holds NaN or infinity.")
    if np.abs(values).max() > np.finfo(np.float32).max:
        raise ValueError("A window array must hold values within float32's range (|w| <= 3.4e38).")
    return values.copy()


def inverse_stft_window(forward_window: np.ndarray, hop_length: int) -> np.ndarray:
    """The synthesis window that makes overlap-add invert an STFT (``tf.signal.inverse_stft_window_fn``).

    It is ``forward_window / sum_k forward_window[n + k * hop]**2``, the sum running over the frames that overlap
    sample ``n``.
    """
    frame_length = forward_window.shape[0]
    overlaps = -(-frame_length // hop_length)
    squared = np.zeros(overlaps * hop_length)
    squared[:frame_length] = forward_window**2
    denominator = np.tile(squared.reshape(overlaps, hop_length).sum(axis=0), overlaps)[:frame_length]
    if np.any(denominator <= 0):
        raise ValueError(
            f"The window of {frame_length} samples (win_length; n_fft by default) is zero at every frame that "
            f"covers some sample for hop_length={hop_length}: overlap-add "
            "cannot invert this STFT. Use a smaller hop_length or another window."
        )
    return forward_window / denominator


# ---------------------------------------------------------------------------------------------------------------
# Frequency scales and filterbanks
# ---------------------------------------------------------------------------------------------------------------

_SLANEY_F_SP = 200.0 / 3
_SLANEY_MIN_LOG_HZ = 1000.0
_SLANEY_MIN_LOG_MEL = _SLANEY_MIN_LOG_HZ / _SLANEY_F_SP
_SLANEY_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(frequencies, htk: bool = False) -> np.ndarray:
    """Hertz to mel: the Slaney (Auditory Toolbox) scale by default, ``2595 log10(1 + f / 700)`` if ``htk``."""
    frequencies = np.asarray(frequencies, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + frequencies / 700.0)
    mels = frequencies / _SLANEY_F_SP
    log_region = frequencies >= _SLANEY_MIN_LOG_HZ
    safe = np.where(log_region, frequencies, _SLANEY_MIN_LOG_HZ)
    return np.where(log_region, _SLANEY_MIN_LOG_MEL + np.log(safe / _SLANEY_MIN_LOG_HZ) / _SLANEY_LOGSTEP, mels)


def mel_to_hz(mels, htk: bool = False) -> np.ndarray:
    """Mel to hertz, the inverse of :func:`hz_to_mel`."""
    mels = np.asarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    frequencies = _SLANEY_F_SP * mels
    log_region = mels >= _SLANEY_MIN_LOG_MEL
    return np.where(
        log_region, _SLANEY_MIN_LOG_HZ * np.exp(_SLANEY_LOGSTEP * (mels - _SLANEY_MIN_LOG_MEL)), frequencies
    )


def mel_frequencies(n_mels: int, f_min: float, f_max: float, htk: bool = False) -> np.ndarray:
    """``n_mels`` frequencies (Hz) equally spaced on the mel scale from ``f_min`` to ``f_max``."""
    mels = np.linspace(hz_to_mel(f_min, htk), hz_to_mel(f_max, htk), n_mels)
    return mel_to_hz(mels, htk)


def fft_frequencies(sample_rate: float, n_freq: int) -> np.ndarray:
    """Centre frequencies (Hz) of the ``n_freq`` one-sided FFT bins of an ``2 * (n_freq - 1)``-point FFT."""
    return np.linspace(0.0, float(sample_rate) / 2.0, int(n_freq))


def _normalize_rows(weights: np.ndarray, norm: float) -> np.ndarray:
    """Divide each row by its ``norm``-norm (``np.inf``: max), leaving all-zero rows as they are."""
    magnitudes = np.abs(weights)
    if norm == np.inf:
        lengths = magnitudes.max(axis=1, keepdims=True)
    elif norm == -np.inf:
        lengths = magnitudes.min(axis=1, keepdims=True)
    elif norm == 0:
        lengths = np.sum(magnitudes > 0, axis=1, keepdims=True).astype(np.float64)
    else:
        lengths = np.sum(magnitudes**norm, axis=1, keepdims=True) ** (1.0 / norm)
    lengths = np.where(lengths < np.finfo(np.float64).tiny, 1.0, lengths)
    return weights / lengths


def mel_filterbank(
    sample_rate: float,
    n_freq: int,
    n_mels: int = 128,
    f_min: float = 0.0,
    f_max: float | None = None,
    htk: bool = False,
    norm: str | float | None = "slaney",
) -> np.ndarray:
    """Triangular mel filterbank, shape ``(n_freq, n_mels)``, numerically ``librosa.filters.mel(...).T``.

    Args:
        sample_rate: sampling rate of the audio in Hz.
        n_freq: number of one-sided FFT bins, ``n_fft // 2 + 1``.
        n_mels: number of mel bands.
        f_min: lowest frequency (Hz) of the lowest band's lower edge.
        f_max: highest frequency (Hz) of the highest band's upper edge; ``None`` means ``sample_rate / 2``.
        htk: use the HTK mel formula instead of Slaney's.
        norm: ``'slaney'`` divides each triangle by its width in Hz (constant energy per band); a number ``p``
            divides each filter by its ``p``-norm (``np.inf``: by its maximum); ``None`` leaves peaks at 1.
    """
    if f_max is None:
        f_max = float(sample_rate) / 2.0
    n_fft = 2 * (int(n_freq) - 1)
    fft_freqs = np.fft.rfftfreq(n=n_fft, d=1.0 / float(sample_rate)) if n_fft > 0 else np.zeros(1)
    mel_edges = mel_frequencies(n_mels + 2, f_min, f_max, htk)
    edge_gaps = np.diff(mel_edges)
    ramps = mel_edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / edge_gaps[:-1, None]
    upper = ramps[2:] / edge_gaps[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    empty = int(np.sum(weights.max(axis=1) <= 0.0))
    if empty:
        warnings.warn(
            f"{empty} of n_mels={n_mels} mel bands are empty (all-zero filters: no FFT bin lies inside them) with "
            f"n_fft={n_fft} at sample_rate={sample_rate:g} Hz between f_min={f_min:g} and f_max={f_max:g} Hz; "
            "those bands are always 0. Use fewer mel bands, a larger n_fft, or a wider frequency range.",
            EmptyFilterbankWarning, stacklevel=2)
    if norm == "slaney":
        weights *= (2.0 / (mel_edges[2 : n_mels + 2] - mel_edges[:n_mels]))[:, None]
    elif norm is not None:
        weights = _normalize_rows(weights, float(norm))
    return np.ascontiguousarray(weights.T)


def log_filterbank(
    sample_rate: float,
    n_freq: int,
    n_bins: int = 84,
    bins_per_octave: int = 12,
    f_min: float | None = None,
    spread: float = 0.125,
) -> np.ndarray:
    """kapre's log-frequency filterbank, shape ``(n_freq, n_bins)``: log-normal filters that each sum to 1.

    Filter ``i`` is centred at ``f_min * 2 ** (i / bins_per_octave)`` with a width of ``spread`` bins (on the
    octave axis); the DC bin gets no weight. This is kapre's formula (from librosa 0.4's ``logfrequency``).

    Raises:
        FilterbankRangeError: if the highest centre frequency is above ``sample_rate // 2``.
    """
    if f_min is None:
        f_min = C1_HZ
    f_max = f_min * 2 ** (n_bins / bins_per_octave)
    if f_max > sample_rate // 2:
        raise FilterbankRangeError(
            f"The log filterbank reaches f_max={f_max:.2f} Hz (f_min={f_min}, n_bins={n_bins}, "
            f"bins_per_octave={bins_per_octave}), above the Nyquist frequency {sample_rate // 2} Hz of "
            f"sample_rate={sample_rate}. Reduce n_bins or f_min, raise bins_per_octave, or use a higher sample rate."
        )
    sigma = float(spread) / bins_per_octave
    log_freqs = np.log2(fft_frequencies(sample_rate, n_freq)[1:])
    centres = np.log2(f_min * 2.0 ** (np.arange(n_bins) / bins_per_octave))
    basis = np.zeros((n_bins, n_freq))
    basis[:, 1:] = np.exp(-0.5 * ((log_freqs[None, :] - centres[:, None]) / sigma) ** 2 - np.log2(sigma) - log_freqs)
    basis = _normalize_rows(basis, 1.0)
    return np.ascontiguousarray(basis.T)


# ---------------------------------------------------------------------------------------------------------------
# Transform kernels
# ---------------------------------------------------------------------------------------------------------------


def dft_kernels(n_fft: int, window: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Real and imaginary one-sided DFT kernels, each of shape ``(n_fft, n_fft // 2 + 1)``.

    ``frames @ real + 1j * (frames @ imag)`` equals ``np.fft.rfft(frames, n_fft)`` for frames of ``n_fft``
    samples. A ``window`` of at most ``n_fft`` samples, placed at the start of the frame, is folded into the
    kernels (rows beyond the window become zero), so the product also applies the window.
    """
    n = np.arange(n_fft)[:, None]
    k = np.arange(n_fft // 2 + 1)[None, :]
    # Reduce n*k modulo n_fft in integers before the trigonometry, which keeps large n_fft exact.
    angle = 2.0 * np.pi * ((n * k) % n_fft) / n_fft
    real, imag = np.cos(angle), -np.sin(angle)
    if window is not None:
        folded = np.zeros(n_fft)
        folded[: window.shape[0]] = window
        real, imag = real * folded[:, None], imag * folded[:, None]
    return real, imag


def stft_dft_kernel(n_fft: int, window: np.ndarray, center: bool = False) -> np.ndarray:
    """One matrix ``(frame_length, 2 * (n_fft // 2 + 1))`` whose product with frames gives ``[real | imag]`` of
    the windowed one-sided DFT.

    Without ``center`` the frames are ``win_length`` samples (the window at the start of an ``n_fft`` frame, the
    zero rows dropped); with ``center`` they are ``n_fft`` samples with the window centred, as in
    :func:`kapre.functional.stft`.
    """
    win_length = window.shape[0]
    if center and win_length < n_fft:
        left = (n_fft - win_length) // 2
        window = np.pad(window, (left, n_fft - win_length - left))
    real, imag = dft_kernels(n_fft, window)
    frame_length = n_fft if center else win_length
    return np.concatenate([real[:frame_length], imag[:frame_length]], axis=1)


def two_stage_block(n_fft: int, hop_length: int) -> int | None:
    """The block size ``n2`` of :func:`two_stage_dft_kernels` for frames of ``n_fft`` samples every ``hop_length``:
    a divisor of both (so frames start on block boundaries) with the fewest multiply-adds per frame, about
    ``n_fft * (n_fft / n2 + 2 * n2)``; ``None`` where no block of at least 4 samples leaves at least 4 blocks
    per frame (the dense DFT matmul is then as cheap)."""
    common = math.gcd(n_fft, hop_length)
    blocks = [n2 for n2 in range(4, common + 1) if common % n2 == 0 and n_fft // n2 >= 4]
    if not blocks:
        return None
    return min(blocks, key=lambda n2: n_fft // n2 + 2 * n2)


def two_stage_dft_kernels(n_fft: int, n2: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one-sided DFT of ``n_fft = n1 * n2`` samples in two stages (Cooley-Tukey), as real matrices.

    A frame's sample ``m * n2 + r`` is block ``m``'s sample ``r``. Stage 1, per ``r``, is the length-``n1`` DFT over
    the blocks with the twiddles folded in, ``A[k1, r] = sum_m x[m n2 + r] exp(-2 pi i k1 (m n2 + r) / n_fft)``, for
    ``k1 = 0 .. n1 // 2`` (the other ``k1`` give conjugate bins: the input is real); stage 2 is the length-``n2``
    DFT over ``r``, the same for every ``k1``: ``X[k1 + n1 k2] = sum_r A[k1, r] exp(-2 pi i r k2 / n2)``. About
    ``n_fft / (n1 + 2 n2)`` times fewer multiply-adds than one dense DFT matmul (8x at ``n_fft`` 512, ``n2`` 16).

    Returns:
        ``stage1`` ``(n1, n2, 2 * groups)``, ``groups = n1 // 2 + 1``: ``[m, r, part * groups + k1]`` is the cosine
        (part 0) or minus sine (part 1) of ``2 pi k1 (m n2 + r) / n_fft`` (a depthwise kernel over the channels
        ``r``; multiply the window in as ``window[m * n2 + r]``); ``stage2`` ``(2 * n2, 2 * n2)``: row
        ``part * n2 + slot`` (the real, then the imaginary part of ``X[k1 + n1 k2]`` with ``k2 = order[slot]``),
        column ``2 * r + part`` (of ``A[k1, r]``); ``bins`` ``(n_fft // 2 + 1,)``: where one-sided bin ``k`` is in
        the flattened ``(n2, groups)`` power of stage 2's output (``k`` itself or its conjugate ``n_fft - k``, which
        has the same power).

    The slots take ``k2`` in the order ``0, n2 - 1, 1, n2 - 2, ...``: slot ``2 j`` holds bins ``n1 j .. n1 j +
    n1 // 2`` and slot ``2 j + 1`` the conjugates of ``n1 j + n1 // 2 + 1 .. n1 (j + 1) - 1``, so the one-sided bins
    lie in ascending ranges of ``groups`` rows and a filterbank's band (a range of bins) reads a range of rows: a
    sparse filterbank splits into dense blocks of rows (:func:`filterbank_blocks`) in this order as in bin order.
    """
    n1 = n_fft // n2
    if n1 * n2 != n_fft:
        raise ValueError(f"n2 must divide n_fft, received n_fft={n_fft}, n2={n2}.")
    groups = n1 // 2 + 1
    sample = (np.arange(n1)[:, None] * n2 + np.arange(n2)[None, :])[:, :, None]  # (n1, n2, 1): m n2 + r
    angle = 2.0 * np.pi * ((sample * np.arange(groups)) % n_fft) / n_fft  # (n1, n2, groups)
    stage1 = np.concatenate([np.cos(angle), -np.sin(angle)], axis=-1)
    angle = 2.0 * np.pi * ((np.arange(n2)[:, None] * np.arange(n2)[None, :]) % n2) / n2  # [k2, r]
    cos, sin = np.cos(angle), np.sin(angle)
    stage2 = np.zeros((2, n2, n2, 2))  # (a + ib)(cos - i sin) = a cos + b sin + i (b cos - a sin)
    stage2[0, :, :, 0], stage2[0, :, :, 1] = cos, sin
    stage2[1, :, :, 0], stage2[1, :, :, 1] = -sin, cos
    # k2 = 0, n2 - 1, 1, n2 - 2, ... (an odd n2's middle k2 once)
    order = np.array([k2 for j in range((n2 + 1) // 2) for k2 in dict.fromkeys((j, n2 - 1 - j))])
    slot = np.argsort(order)  # slot[k2]: the row that holds k2
    one_sided = np.arange(n_fft // 2 + 1)
    folded = np.where(one_sided % n1 <= n1 // 2, one_sided, n_fft - one_sided)  # residue <= n1 // 2
    bins = slot[folded // n1] * groups + folded % n1
    return stage1, stage2[:, order].reshape(2 * n2, 2 * n2), bins


def dct_matrix(n_input: int, n_output: int, norm: str | None = None) -> np.ndarray:
    """DCT-II matrix of shape ``(n_input, n_output)``: ``x @ M`` is the DCT of ``x`` over its last axis.

    ``norm=None`` follows ``tf.signal.mfccs_from_log_mel_spectrogram`` (all coefficients scaled by
    ``sqrt(2 / n_input)``, so c0 is ``sqrt(2)`` times the orthonormal value); ``norm='ortho'`` is the
    orthonormal DCT-II of scipy and librosa; ``norm='backward'`` is scipy's unnormalised ``2 sum x cos(...)``
    (``scipy.fft.dct(norm=None)``, ``librosa.feature.mfcc(norm=None)``, ``torchaudio``'s ``create_dct(norm=None)``).
    """
    n = np.arange(n_input)[:, None]
    k = np.arange(n_output)[None, :]
    cosines = np.cos(np.pi * k * (2 * n + 1) / (2.0 * n_input))
    if norm == "backward":
        return 2.0 * cosines
    matrix = np.sqrt(2.0 / n_input) * cosines
    if norm == "ortho":
        matrix[:, 0] /= np.sqrt(2.0)
    elif norm is not None:
        raise ValueError(f"dct norm must be None, 'ortho' or 'backward', received norm={norm!r}.")
    return matrix


def filterbank_blocks(
    filterbank: np.ndarray, block_overhead: float = 4096.0, copy_cost: float = 16.0, width_multiple: int = 1
) -> list[tuple[int, int, int, int]]:
    """Split a ``(n_freq, n_filters)`` filterbank into dense blocks that hold all its non-zero weights.

    A mel filterbank is almost all zeros (each FFT bin feeds at most two bands), so ``x @ filterbank`` can be
    computed as ``concatenate([x[..., r0:r1] @ filterbank[r0:r1, c0:c1] for each block], -1)``: bands
    (columns) ``c0:c1`` only read bins (rows) ``r0:r1``. The column groups are contiguous and chosen by dynamic
    programming to minimise ``sum(rows * (cols + copy_cost) + block_overhead)`` (multiply-adds per frame, the
    slice copy, and a per-block cost). Returns ``[(r0, r1, c0, c1), ...]`` covering every column in order;
    an all-zero column reads row 0 only. The product is exact: the weights left out are zeros. With
    ``width_multiple`` > 1 a block's columns are costed as if zero-padded up to a multiple of it (the block
    will be padded so, for a matmul that is fastest at such widths: :func:`pad_columns`).
    """
    weights = np.asarray(filterbank)
    n_rows, n_cols = weights.shape
    nonzero = weights != 0
    any_row = nonzero.any(axis=0)
    first = np.where(any_row, nonzero.argmax(axis=0), 0)
    last = np.where(any_row, n_rows - 1 - nonzero[::-1].argmax(axis=0), 0)
    best = np.full(n_cols + 1, np.inf)
    best[0] = 0.0
    choice = np.zeros(n_cols + 1, dtype=int)
    for stop in range(1, n_cols + 1):
        low, high = n_rows, -1
        for start in range(stop - 1, -1, -1):
            low, high = min(low, int(first[start])), max(high, int(last[start]))
            width = -(-(stop - start) // width_multiple) * width_multiple
            cost = best[start] + (high - low + 1) * (width + copy_cost) + block_overhead
            if cost < best[stop]:
                best[stop], choice[stop] = cost, start
    blocks = []
    stop = n_cols
    while stop > 0:
        start = int(choice[stop])
        low, high = int(first[start:stop].min()), int(last[start:stop].max())
        blocks.append((low, high + 1, start, stop))
        stop = start
    return blocks[::-1]


def pad_columns(weights: np.ndarray, multiple: int) -> np.ndarray:
    """``weights`` with zero columns appended up to a multiple of ``multiple`` columns."""
    extra = -weights.shape[-1] % multiple
    return np.pad(weights, [(0, 0)] * (weights.ndim - 1) + [(0, extra)]) if extra else weights


# ---------------------------------------------------------------------------------------------------------------
# Constant-Q and variable-Q wavelets (librosa.filters.wavelet), and the decimation filter of the octave recursion
# ---------------------------------------------------------------------------------------------------------------

# librosa's equivalent noise bandwidths (librosa.filters.WINDOW_BANDWIDTHS), in FFT bins, of the plain windows:
# they set how far above its centre a wavelet reaches (its cutoff), hence the Nyquist check and the decimation.
CQT_WINDOW_BANDWIDTHS = {
    "hann": 1.50018310546875,
    "hamming": 1.3629455320350348,
    "blackman": 1.7269681554262326,
    "blackmanharris": 2.0045975283585014,
    "bartlett": 1.3334961334912805,
    "triang": 1.333170652355585,
    "cosine": 1.2337005350199792,
    "boxcar": 1.0,
    "rectangular": 1.0,
    "ones": 1.0,
}


def cqt_frequencies(n_bins: int, fmin: float, bins_per_octave: int = 12, tuning: float = 0.0) -> np.ndarray:
    """Centre frequencies ``fmin * 2 ** ((k + tuning) / bins_per_octave)``, ``k = 0 .. n_bins - 1``, in Hz
    (``librosa.cqt_frequencies(n_bins, fmin=fmin * 2 ** (tuning / bins_per_octave))``)."""
    tuned = float(fmin) * 2.0 ** (float(tuning) / int(bins_per_octave))
    return tuned * 2.0 ** (np.arange(int(n_bins)) / int(bins_per_octave))


def relative_bandwidths(freqs: np.ndarray) -> np.ndarray:
    """Each bin's relative bandwidth ``alpha`` from the local bins per octave (librosa's ``_relative_bandwidth``):
    centred log-frequency differences inside, one-sided at the two ends; ``(2**(2/b) - 1) / (2**(2/b) + 1)`` for
    ``b`` bins per octave (0.0577 at 12 per octave)."""
    log_freqs = np.log2(np.asarray(freqs, dtype=np.float64))
    per_octave = np.empty_like(log_freqs)
    per_octave[0] = 1.0 / (log_freqs[1] - log_freqs[0])
    per_octave[-1] = 1.0 / (log_freqs[-1] - log_freqs[-2])
    per_octave[1:-1] = 2.0 / (log_freqs[2:] - log_freqs[:-2])
    ratio = 2.0 ** (2.0 / per_octave)
    return (ratio - 1.0) / (ratio + 1.0)


def wavelet_lengths(
    freqs: np.ndarray, sample_rate: float, window: str, filter_scale: float, gamma: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Filter lengths in samples (fractional) and each wavelet's upper cutoff in Hz, as
    ``librosa.filters.wavelet_lengths``: ``Q = filter_scale / alpha``, length ``Q * sr / (f + gamma / alpha)``
    (``gamma=None``: librosa's ERB-proportional ``gamma = 24.7 * alpha / 0.108``; 0: the constant-Q transform),
    cutoff ``f * (1 + bandwidth / (2 Q)) + gamma / 2`` with the window's equivalent noise bandwidth."""
    freqs = np.asarray(freqs, dtype=np.float64)
    alpha = relative_bandwidths(freqs)
    gammas = alpha * 24.7 / 0.108 if gamma is None else np.full_like(freqs, float(gamma))
    quality = float(filter_scale) / alpha
    lengths = quality * float(sample_rate) / (freqs + gammas / alpha)
    cutoffs = freqs * (1.0 + 0.5 * CQT_WINDOW_BANDWIDTHS[window] / quality) + 0.5 * gammas
    return lengths, cutoffs


def _norm_of(values: np.ndarray, norm) -> float:
    """The ``norm`` of a filter as ``librosa.util.normalize`` divides by it: 1 for ``norm=None`` and for a filter
    whose norm is below the smallest normal float64 (left as it is)."""
    if norm is None:
        return 1.0
    magnitudes = np.abs(values)
    size = magnitudes.max() if norm == np.inf else np.sum(magnitudes ** float(norm)) ** (1.0 / float(norm))
    return float(size) if size > np.finfo(np.float64).tiny else 1.0


# The windows the wavelets may use, as functions of the position u in [0, 1) along the window: a periodic window of
# n samples is w(i / n) (scipy's get_window(name, n, fftbins=True)); a decimated octave samples the same w between.
_CQT_WINDOW_COSINES = {
    "hann": (0.5, 0.5),
    "hamming": (0.54, 0.46),
    "blackman": (0.42, 0.5, 0.08),
    "blackmanharris": (0.35875, 0.48829, 0.14128, 0.01168),
    "boxcar": (1.0,),
    "rectangular": (1.0,),
    "ones": (1.0,),
}
CQT_WINDOWS = (*_CQT_WINDOW_COSINES, "bartlett")


def cqt_window_main_lobe(window: str) -> float:
    """Half the width of a wavelet window's main lobe, in bins of 1 / length: 1 for the boxcar, 2 for Hann,
    Hamming and Bartlett, 3 for Blackman, 4 for Blackman-Harris (a cosine sum of K terms: K)."""
    return 2.0 if window == "bartlett" else float(len(_CQT_WINDOW_COSINES[window]))


def _window_at(window: str, positions: np.ndarray) -> np.ndarray:
    """The periodic ``window`` at fractional ``positions`` in [0, 1) of its length."""
    if window == "bartlett":
        return 1.0 - np.abs(2.0 * positions - 1.0)
    values = np.zeros_like(positions)
    for k, a_k in enumerate(_CQT_WINDOW_COSINES[window]):
        values += (-1) ** k * a_k * np.cos(2.0 * np.pi * k * positions)
    return values


def cqt_correlation_kernel(
    freqs: np.ndarray,
    lengths: np.ndarray,
    sample_rate: float,
    window: str,
    norm,
    gains: np.ndarray,
    decimation: int = 1,
) -> tuple[np.ndarray, int]:
    """The wavelets of a group of bins as one real correlation kernel at ``sample_rate / decimation``:
    ``(kernel, first_offset)``.

    Bin ``b``'s wavelet is ``librosa.filters.wavelet``'s at ``sample_rate``: the phasor ``exp(2 pi i f t / sr)``
    at ``t = floor(-L / 2) .. floor(L / 2) - 1`` (``L = lengths[b]``, in samples at ``sample_rate``) times the
    periodic ``window`` of that many samples, normalised by ``norm``, times ``gains[b]``; output frame ``t`` of the
    bin is ``sum_t' wavelet(t') * x[t * hop - t']`` (librosa's alignment and phase: the phasor's zero phase sits on
    the frame's centre). With ``decimation=M`` the same continuous wavelet is sampled every ``M`` samples and
    multiplied by ``M``, so that the correlation with the ``M``-times decimated signal equals the full-rate one
    (a Riemann sum of the same integral) for content below the decimated Nyquist frequency.

    ``kernel`` is ``(offsets, 2 * bins)``: row ``r`` multiplies the (decimated) sample at offset
    ``first_offset + r`` from the frame's centre; the first ``bins`` columns give the real parts, the others the
    imaginary parts.
    """
    step = int(decimation)
    columns = []
    for freq, length, gain in zip(freqs, lengths, gains, strict=True):
        start = int(np.floor(-length / 2.0))
        n_samples = int(np.floor(length / 2.0)) - start
        full_rate = np.arange(start, start + n_samples, dtype=np.float64)
        full_values = np.exp(2j * np.pi * freq * full_rate / float(sample_rate)) * _window_at(
            window, (full_rate - start) / n_samples
        )
        scale = 1.0 / _norm_of(full_values, norm)
        # the decimated samples of the same wavelet: times that are multiples of the decimation
        times = np.arange(-(-start // step) * step, start + n_samples, step, dtype=np.float64)
        values = np.exp(2j * np.pi * freq * times / float(sample_rate)) * _window_at(
            window, (times - start) / n_samples
        )
        columns.append((-(times // step).astype(np.int64), values * (scale * gain * step)))
    first = min(int(offsets.min()) for offsets, _ in columns)
    last = max(int(offsets.max()) for offsets, _ in columns)
    kernel = np.zeros((last - first + 1, 2 * len(columns)))
    for b, (offsets, values) in enumerate(columns):
        kernel[offsets - first, b] = values.real
        kernel[offsets - first, len(columns) + b] = values.imag
    return kernel, first


def halfband_lowpass(attenuation_db: float = 120.0) -> np.ndarray:
    """A linear-phase low-pass at a quarter of the sampling rate (Kaiser-windowed sinc, odd length, unit DC gain),
    for decimation by two where the kept band ends at an eighth of the rate and the band that would alias onto it
    starts at three eighths: ``attenuation_db`` of rejection there, passband ripple below 1e-6 for 120 dB."""
    transition = 0.25  # cycles per sample between the passband edge (1/8) and the stopband edge (3/8)
    beta = 0.1102 * (attenuation_db - 8.7)
    taps = int(np.ceil((attenuation_db - 7.95) / (2.285 * 2.0 * np.pi * transition))) + 1
    taps += 1 - taps % 2  # odd: the delay is a whole number of samples
    offsets = np.arange(taps) - (taps - 1) / 2.0
    lowpass = 0.5 * np.sinc(0.5 * offsets) * _kaiser(taps, beta)
    return lowpass / lowpass.sum()



def decimation_matrix(lowpass: np.ndarray, block: int) -> np.ndarray:
    """``lowpass`` (odd length ``L``) filtering and decimating by two as one matrix ``(2 * block + L - 1, block)``:
    column ``s`` holds the filter at rows ``2 s .. 2 s + L - 1``, so that a frame of ``2 * block + L - 1`` samples,
    taken every ``2 * block`` samples, gives ``block`` decimated outputs in one product (a matrix product runs at
    full speed on every backend; a one-channel strided convolution does not)."""
    taps = lowpass.shape[0]
    matrix = np.zeros((2 * block + taps - 1, block))
    for column in range(block):
        matrix[2 * column : 2 * column + taps, column] = lowpass[::-1]
    return matrix

# ---------------------------------------------------------------------------------------------------------------
# Kaldi's and tf.signal's conventions (kapre.frontends)
# ---------------------------------------------------------------------------------------------------------------

KALDI_WINDOW_TYPES = ("povey", "hanning", "hamming", "rectangular", "blackman")


def kaldi_window(window_type: str, length: int, blackman_coeff: float = 0.42) -> np.ndarray:
    """Kaldi's analysis windows (``feature-window.cc``, ``torchaudio.compliance.kaldi``), all symmetric.

    ``'povey'`` (Kaldi's default) is the symmetric Hann window to the power 0.85; ``'hanning'`` and
    ``'hamming'`` are the symmetric Hann and Hamming (0.54/0.46) windows; ``'blackman'`` is
    ``c - 0.5 cos(a n) + (0.5 - c) cos(2 a n)`` with ``a = 2 pi / (length - 1)`` and ``c = blackman_coeff``;
    ``'rectangular'`` is all ones.
    """
    if window_type not in KALDI_WINDOW_TYPES:
        raise ValueError(f"window_type must be one of {list(KALDI_WINDOW_TYPES)}, received {window_type!r}.")
    if window_type == "rectangular" or length == 1:
        return np.ones(length)
    angle = 2.0 * np.pi * np.arange(length) / (length - 1)
    if window_type in ("povey", "hanning"):
        hann = 0.5 - 0.5 * np.cos(angle)
        return np.abs(hann) ** 0.85 if window_type == "povey" else hann
    if window_type == "hamming":
        return 0.54 - 0.46 * np.cos(angle)
    return blackman_coeff - 0.5 * np.cos(angle) + (0.5 - blackman_coeff) * np.cos(2.0 * angle)


def _kaldi_mel(frequencies) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(frequencies, dtype=np.float64) / 700.0)


def mel_space_filterbank(sample_rate: float, n_fft: int, n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    """Triangles equally spaced and straight on the HTK mel scale ``1127 ln(1 + f / 700)``: ``(n_fft // 2 + 1,
    n_mels)``.

    Kaldi's mel banks (``mel-computations.cc``, ``torchaudio.compliance.kaldi.get_mel_banks`` without VTLN),
    ``tf.signal.linear_to_mel_weight_matrix`` (YAMNet) and VGGish's ``spectrogram_to_mel_matrix`` are all this
    matrix: band ``m`` rises linearly *in mel* from edge ``m`` to ``m + 1`` and falls to ``m + 2``, the
    ``n_mels + 2`` edges equally spaced in mel from ``f_min`` to ``f_max``, peaks of 1, no normalisation
    (:func:`mel_filterbank` draws its triangles straight in Hz instead). FFT bin ``i`` lies at
    ``i * sample_rate / n_fft``. The DC bin has weight 0 in all three (tf.signal and VGGish zero it explicitly; in
    Kaldi it lies below every band), and so does the last bin (Kaldi leaves it out; in the others it lies at or
    above the last edge).
    """
    bin_hz = np.arange(int(n_fft) // 2 + 1) * (float(sample_rate) / int(n_fft))
    bin_mels = _kaldi_mel(bin_hz)[:, None]
    edges = np.linspace(_kaldi_mel(f_min), _kaldi_mel(f_max), int(n_mels) + 2)
    left, center, right = edges[:-2][None, :], edges[1:-1][None, :], edges[2:][None, :]
    rising = (bin_mels - left) / (center - left)
    falling = (right - bin_mels) / (right - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    weights[-1, :] = 0.0
    return weights


def cepstral_lifter(n_ceps: int, lifter: float, offset: int = 0) -> np.ndarray:
    """Sine liftering weights ``1 + (L / 2) sin(pi (i + offset) / L)`` for cepstra ``i = 0 .. n_ceps - 1``:
    Kaldi's and HTK's with ``offset=0``, librosa's ``mfcc(lifter=L)`` with ``offset=1``. All ones for ``L = 0``."""
    if lifter == 0:
        return np.ones(int(n_ceps))
    return 1.0 + 0.5 * lifter * np.sin(np.pi * (np.arange(int(n_ceps)) + offset) / lifter)


# ---------------------------------------------------------------------------------------------------------------
# Resampling
# ---------------------------------------------------------------------------------------------------------------

RESAMPLING_METHODS = ("sinc_interp_hann", "sinc_interp_kaiser")
DEFAULT_KAISER_BETA = 14.769656459379492  # torchaudio's default beta for sinc_interp_kaiser (librosa's kaiser_best)


def sinc_resample_width(orig_freq: int, new_freq: int, lowpass_filter_width: int, rolloff: float) -> int:
    """Samples of the input each side of an output sample that the resampling filter reads:
    ``ceil(lowpass_filter_width * orig / (min(orig, new) * rolloff))`` (frequencies reduced by their gcd)."""
    return math.ceil(lowpass_filter_width * orig_freq / (min(orig_freq, new_freq) * rolloff))


def sinc_resample_kernel(
    orig_freq: int,
    new_freq: int,
    lowpass_filter_width: int = 6,
    rolloff: float = 0.99,
    method: str = "sinc_interp_hann",
    beta: float | None = None,
    width: int | None = None,
) -> np.ndarray:
    """The windowed-sinc resampling kernel ``(new_freq, orig_freq + 2 * width)`` of
    ``torchaudio.functional.resample`` (float64), for frequencies already reduced by their gcd.

    Output sample ``j * new + p`` is ``kernel[p] @ x[j * orig - width : (j + 1) * orig + width]`` (zeros outside
    the signal), with ``width`` from :func:`sinc_resample_width`. Row ``p`` is a low-pass sinc with its cutoff at
    ``rolloff * min(orig, new) / 2`` (in units of the reduced rates), centred at the output sample's position
    ``p / new`` and cut off ``lowpass_filter_width`` zero crossings out by a Hann (``cos**2``) or Kaiser
    (``I0(beta * sqrt(1 - (t / width)**2)) / I0(beta)``) window. ``width`` overrides :func:`sinc_resample_width`:
    the kernel of ``(g * orig, g * new)`` with the width of ``(orig, new)`` computes ``g`` periods of ``(orig, new)``
    per step (the same filter; torchaudio's width is that of the gcd-reduced rates).
    """
    orig_freq, new_freq = int(orig_freq), int(new_freq)
    if method not in RESAMPLING_METHODS:
        raise ValueError(f"method must be one of {list(RESAMPLING_METHODS)}, received method={method!r}.")
    cutoff = min(orig_freq, new_freq) * float(rolloff)  # the low-pass cutoff (twice it), in reduced units
    if width is None:
        width = sinc_resample_width(orig_freq, new_freq, lowpass_filter_width, rolloff)
    offsets = np.arange(-width, width + orig_freq, dtype=np.float64) / orig_freq  # input positions
    positions = -np.arange(new_freq, dtype=np.float64)[:, None] / new_freq  # minus the output positions
    t = np.clip((positions + offsets[None, :]) * cutoff, -lowpass_filter_width, lowpass_filter_width)
    if method == "sinc_interp_hann":
        window = np.cos(t * (np.pi / (2.0 * lowpass_filter_width))) ** 2
    else:
        beta = DEFAULT_KAISER_BETA if beta is None else float(beta)
        window = np.i0(beta * np.sqrt(np.clip(1.0 - (t / lowpass_filter_width) ** 2, 0.0, None))) / np.i0(beta)
    return np.sinc(t) * window * (cutoff / orig_freq)


# ---------------------------------------------------------------------------------------------------------------
# Chroma (pitch-class) filterbanks: from an STFT (librosa.filters.chroma) and from a CQT (librosa.filters.cq_to_chroma)
# ---------------------------------------------------------------------------------------------------------------


def _hz_to_midi(frequency: float) -> float:
    """MIDI note number of a frequency in Hz (A440 = 69), written as librosa writes it (same rounding)."""
    return float(12.0 * (np.log2(float(frequency)) - np.log2(440.0)) + 69.0)


def chroma_filterbank(
    sr: float,
    n_fft: int,
    n_chroma: int = 12,
    tuning: float = 0.0,
    ctroct: float = 5.0,
    octwidth: float | None = 2,
    norm: float | None = 2,
    base_c: bool = True,
) -> np.ndarray:
    """Chroma filterbank ``(n_fft // 2 + 1, n_chroma)`` mapping power-STFT bins to pitch classes, float64,
    numerically ``librosa.filters.chroma(sr=sr, n_fft=n_fft, ..., dtype=np.float64).T`` (Ellis' ``chromagram_E``).

    Each FFT bin ``k > 0`` sits at ``n_chroma * log2(f_k / (A440 / 16))`` chroma bins (``A440`` shifted by
    ``tuning`` fractional chroma bins); it feeds every pitch class through a Gaussian bump (its width: twice the
    spacing of neighbouring FFT bins in chroma bins, at least 1) of its distance to that class modulo an octave.
    The DC bin is placed 1.5 octaves below bin 1. Each FFT bin's weights are normalised over the pitch classes by
    their ``norm``-norm (``None``: not), then weighted by a Gaussian over octaves centred at ``ctroct`` octaves
    above A0 (27.5 Hz) with half-width ``octwidth`` octaves (``None``: flat). ``base_c`` starts at C, else at A.

    Example:
        >>> import numpy as np
        >>> from kapre.constants import chroma_filterbank
        >>> chroma_filterbank(22050, 2048).shape
        (1025, 12)
    """
    n_chroma, n_fft = int(n_chroma), int(n_fft)
    frequencies = np.arange(1, n_fft) * (float(sr) / n_fft)  # the FFT bins but DC (one full period)
    a440 = 440.0 * 2.0 ** (float(tuning) / n_chroma)
    bins = n_chroma * np.log2(frequencies / (a440 / 16.0))
    bins = np.concatenate(([bins[0] - 1.5 * n_chroma], bins))  # DC: 1.5 octaves below bin 1
    widths = np.concatenate((np.maximum(np.diff(bins), 1.0), [1.0]))
    half = np.round(n_chroma / 2.0)
    # each bin's distance to each pitch class, wrapped into [-n_chroma / 2, n_chroma / 2) (kept positive inside)
    distance = np.remainder(bins[None, :] - np.arange(n_chroma, dtype=np.float64)[:, None] + half + 10 * n_chroma,
                            n_chroma) - half
    weights = np.exp(-0.5 * (2.0 * distance / widths[None, :]) ** 2)  # (n_chroma, n_fft)
    if norm is not None:
        weights = _normalize_rows(weights.T, float(norm)).T
    if octwidth is not None:
        weights = weights * np.exp(-0.5 * ((bins / n_chroma - float(ctroct)) / float(octwidth)) ** 2)[None, :]
    if base_c:
        weights = np.roll(weights, -3 * (n_chroma // 12), axis=0)
    return np.ascontiguousarray(weights[:, : n_fft // 2 + 1].T)


def cq_to_chroma_matrix(
    n_input: int, bins_per_octave: int = 12, n_chroma: int = 12, fmin: float | None = None, base_c: bool = True
) -> np.ndarray:
    """The ``(n_input, n_chroma)`` 0/1 matrix folding constant-Q bins onto pitch classes, float64, numerically
    ``librosa.filters.cq_to_chroma(n_input, bins_per_octave=..., n_chroma=..., fmin=..., base_c=...).T``.

    ``bins_per_octave`` must be a multiple of ``n_chroma``: each pitch class takes the ``bins_per_octave //
    n_chroma`` CQT bins centred on it in every octave. ``fmin`` is the centre frequency of the first CQT bin
    (``None``: C1, 32.70 Hz) and sets which pitch class it is; ``base_c`` starts the classes at C, else at A.

    Example:
        >>> from kapre.constants import cq_to_chroma_matrix
        >>> cq_to_chroma_matrix(84, 12, 12)[:13].argmax(axis=1).tolist()
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0]
    """
    n_input, bins_per_octave, n_chroma = int(n_input), int(bins_per_octave), int(n_chroma)
    if bins_per_octave % n_chroma:
        raise ValueError(
            f"bins_per_octave={bins_per_octave} must be a multiple of n_chroma={n_chroma} to fold CQT bins onto "
            "pitch classes."
        )
    merge = bins_per_octave // n_chroma
    octave = np.repeat(np.eye(n_chroma), merge, axis=1)  # (n_chroma, bins_per_octave)
    octave = np.roll(octave, -(merge // 2), axis=1)  # each class centred on its own bin
    octaves = -(-n_input // bins_per_octave)
    matrix = np.tile(octave, octaves)[:, :n_input]
    fmin = C1_HZ_EXACT if fmin is None else float(fmin)
    first = np.mod(_hz_to_midi(fmin), 12)  # the pitch class of the first bin, in semitones above C
    roll = first if base_c else first - 9
    matrix = np.roll(matrix, int(np.round(roll * (n_chroma / 12.0))), axis=0)
    return np.ascontiguousarray(matrix.T)


# ==== section: pcen (issue 18) ====
__all__ += ["pcen_smooth_coefficient", "decay_matrix", "decay_powers"]


def pcen_smooth_coefficient(time_constant: float, sr: float, hop_length: float) -> float:
    """The first-order smoother's coefficient ``b`` for a time constant in seconds, as ``librosa.pcen``: with
    ``t = time_constant * sr / hop_length`` frames, ``b = (sqrt(1 + 4 t**2) - 1) / (2 t**2)``, computed as the
    equal ``2 / (sqrt(1 + 4 t**2) + 1)`` (no cancellation for long time constants). It solves
    ``b**2 + (1 - b) / t - 2 = 0``, the full width at half maximum of the squared response of the low-pass filter
    (Lostanlen et al., 2019). 0.4 s at 22,050 Hz and a 512-sample hop (17.2 frames): ``b = 0.0564``."""
    t_frames = float(time_constant) * float(sr) / float(hop_length)
    return 2.0 / (math.sqrt(1.0 + 4.0 * t_frames**2) + 1.0)


def decay_matrix(log_decay: float, size: int) -> np.ndarray:
    """The ``(size, size)`` lower-triangular matrix ``a**(i - j)`` (``i >= j``, else 0) with ``a =
    exp(log_decay)``, in float64: the zero-state response of ``M[t] = a M[t-1] + u[t]`` over ``size`` steps is
    ``decay_matrix @ u``. ``log_decay`` may be ``-inf`` (``a = 0``: the identity)."""
    steps = np.arange(size)
    lags = steps[:, None] - steps[None, :]
    with np.errstate(invalid="ignore", over="ignore"):
        powers = np.exp(np.maximum(lags, 0) * log_decay) if log_decay != -math.inf else (lags == 0) * 1.0
    return np.where(lags >= 0, powers, 0.0)


def decay_powers(log_decay: float, size: int) -> np.ndarray:
    """``a**1, ..., a**size`` in float64 (``a = exp(log_decay)``): the weight of the state before ``size`` steps of
    ``M[t] = a M[t-1] + u[t]`` in each of them."""
    if log_decay == -math.inf:
        return np.zeros(size)
    return np.exp(np.arange(1, size + 1) * log_decay)


# ==== end section: pcen ====


# ==== section: leaf (issue 18) ====
__all__ += [
    "leaf_window_samples",
    "leaf_stride_samples",
    "htk_triangular_filterbank",
    "gabor_init_from_mels",
    "gabor_sigma_bounds",
    "gabor_time_axis",
    "LEAF_INIT_N_FFT",
    "fast_fft_length",
]

LEAF_INIT_N_FFT = 512  # the FFT size of the mel filterbank LEAF's Gabor filters are fitted to (melfilters.Gabor)


def leaf_window_samples(sample_rate: float, window_len_ms: float) -> int:
    """LEAF's filter and pooling length in samples, ``int(sample_rate * window_len // 1000 + 1)`` (401 at 16 kHz
    and 25 ms): one sample more than the window, so that the filters have a centre tap."""
    return int(sample_rate * window_len_ms // 1000 + 1)


def leaf_stride_samples(sample_rate: float, window_stride_ms: float) -> int:
    """LEAF's pooling stride in samples, ``int(sample_rate * window_stride // 1000)`` (160 at 16 kHz and 10 ms)."""
    return int(sample_rate * window_stride_ms // 1000)


def _htk_mel_ln(frequencies):
    """The HTK mel scale as TensorFlow writes it: ``1127 * ln(1 + f / 700)``."""
    return 1127.0 * np.log1p(np.asarray(frequencies, dtype=np.float64) / 700.0)


def htk_triangular_filterbank(n_mels: int, n_freq: int, sample_rate: float, f_min: float, f_max: float) -> np.ndarray:
    """``(n_freq, n_mels)`` triangles on the HTK mel scale, as ``tf.signal.linear_to_mel_weight_matrix`` builds
    them (LEAF's mel filterbank): ``n_mels + 2`` edges equally spaced in mel from ``f_min`` to ``f_max``, the bins
    at ``linspace(0, sample_rate / 2, n_freq)`` Hz, each triangle rising from its lower edge to 1 at its centre
    and falling to 0 at its upper edge (linear in mel, not in Hz), no normalisation, the DC bin zero."""
    bins_mel = _htk_mel_ln(np.linspace(0.0, sample_rate / 2.0, n_freq)[1:])[:, None]
    edges = np.linspace(_htk_mel_ln(f_min), _htk_mel_ln(f_max), n_mels + 2)
    lower, center, upper = edges[None, :-2], edges[None, 1:-1], edges[None, 2:]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.concatenate([np.zeros((1, n_mels)), weights], axis=0)


def gabor_init_from_mels(n_filters: int, sample_rate: float, f_min: float, f_max: float,
                         n_fft: int = LEAF_INIT_N_FFT) -> np.ndarray:
    """LEAF's initial Gabor parameters ``(n_filters, 2)``, fitted to a mel filterbank (``initializers.GaborInit``,
    ``melfilters.Gabor.gabor_params_from_mels``): column 0 the centre frequency in radians per sample, the peak
    bin of each filter's square root (``2 pi argmax / n_fft``); column 1 the standard deviation in samples of
    the filter's Gaussian envelope, ``sqrt(2 ln 2) n_fft / (pi w)`` where ``w`` counts the bins at which the square
    root of the filter reaches half its peak (the full width at half maximum of the squared response, in bins).

    A filter that no bin falls into (too many filters for ``n_fft``) has no peak: as in LEAF, it starts at 0 rad
    with the width of all ``n_fft // 2 + 1`` bins (clipped at run time), and :class:`EmptyFilterbankWarning` is
    issued."""
    root = np.sqrt(htk_triangular_filterbank(n_filters, n_fft // 2 + 1, sample_rate, f_min, f_max).T)
    peaks = root.max(axis=1, keepdims=True)
    if not (peaks > 0).all():
        warnings.warn(
            f"{int((peaks <= 0).sum())} of the {n_filters} Gabor filters fall between the bins of the "
            f"{n_fft}-point mel filterbank LEAF fits them to (too many filters between {f_min:g} and {f_max:g} Hz): "
            "they start at 0 Hz with the narrowest envelope.", EmptyFilterbankWarning, stacklevel=3)
    widths = (root >= peaks / 2.0).sum(axis=1)
    centers = np.argmax(root, axis=1) * 2.0 * np.pi / n_fft
    sigmas = np.sqrt(2.0 * np.log(2.0)) * n_fft / (np.pi * widths)
    return np.stack([centers, sigmas], axis=1)


def gabor_sigma_bounds(kernel_size: int) -> tuple[float, float]:
    """LEAF's ``GaborConstraint`` on the envelope's standard deviation, in samples, ``(lower, upper)``: the full
    width at half maximum of the frequency response, ``2 sqrt(2 ln 2) / sigma`` radians, stays between pi / 2 and
    one bin of a ``kernel_size``-point DFT (``2 pi / kernel_size``): ``sigma`` from ``4 sqrt(2 ln 2) / pi`` (1.50)
    to ``kernel_size sqrt(2 ln 2) / pi`` (150.3 for 401 taps)."""
    root = math.sqrt(2.0 * math.log(2.0))
    return 4.0 * root / math.pi, kernel_size * root / math.pi


FAST_FFT_FACTORS = (1, 3, 5, 9, 15)  # FFT lengths m * 2**k: within 25 % of any length, all fast on every backend


def fast_fft_length(minimum: int) -> int:
    """The smallest ``m * 2**k`` (``m`` in 1, 3, 5, 9, 15) of at least ``minimum``: an FFT size that every
    backend's FFT computes fast (16,200 -> 16,384; 44,300 -> 49,152; 160,200 -> 163,840)."""
    return min(m << max(0, (-(-minimum // m) - 1).bit_length()) for m in FAST_FFT_FACTORS)


def gabor_time_axis(kernel_size: int) -> np.ndarray:
    """The taps' times in samples, ``-(kernel_size // 2) ... (kernel_size + 1) // 2 - 1`` (LEAF's
    ``impulse_responses.gabor_filters``): centred for an odd size, one more tap before 0 for an even one."""
    return np.arange(-(kernel_size // 2), (kernel_size + 1) // 2, dtype=np.float64)


# ==== end section: leaf ====


# ==== section: sincconv (issue 18) ====
SINCNET_INIT_LOW_HZ = 30.0  # SincNet's lowest initial cut-off (SincConv_fast in mravanelli/SincNet's dnn_models.py)


def sincnet_initial_bands(
    filters: int, sample_rate: float, min_low_hz: float = 50.0, min_band_hz: float = 50.0
) -> tuple[np.ndarray, np.ndarray]:
    """SincNet's initial parameters ``(low_hz_, band_hz_)``, float64, ``(filters,)`` each: ``filters + 1`` edges
    equally spaced on the HTK mel scale (``2595 log10(1 + f / 700)``) from 30 Hz to ``sample_rate / 2 - (min_low_hz +
    min_band_hz)``; ``low_hz_`` is every edge but the last, ``band_hz_`` the differences of neighbours. (The layer
    adds ``min_low_hz`` and ``min_band_hz`` to them in its forward pass, so the first filter starts at 80 Hz.)"""
    edges = mel_frequencies(filters + 1, SINCNET_INIT_LOW_HZ, sample_rate / 2.0 - (min_low_hz + min_band_hz), htk=True)
    return edges[:-1], np.diff(edges)


def sincnet_half_window(kernel_size: int) -> np.ndarray:
    """SincNet's Hamming window over the left half of an odd kernel, float64, ``((kernel_size - 1) // 2,)``: taps
    ``-n .. -1`` of the kernel (``n = (kernel_size - 1) // 2``; the centre tap is not windowed, the right half is the
    mirror image). As SincNet computes it: ``0.54 - 0.46 cos(2 pi m / kernel_size)`` at ``n`` points ``m`` equally
    spaced from 0 to ``kernel_size / 2 - 1`` (a step of ``(n - 1/2) / (n - 1)``, slightly above one sample), so the
    outermost tap holds 0.08 and the tap next to the centre ``0.54 - 0.46 cos(2 pi (n - 1/2) / kernel_size)``."""
    half = (kernel_size - 1) // 2
    positions = np.linspace(0.0, kernel_size / 2.0 - 1.0, half)
    return 0.54 - 0.46 * np.cos(2.0 * np.pi * positions / kernel_size)


def sincnet_half_phase(kernel_size: int, sample_rate: float) -> np.ndarray:
    """``2 pi t / sample_rate`` at the left half's taps ``t = -n .. -1`` (``n = (kernel_size - 1) // 2``), float64,
    ``((kernel_size - 1) // 2,)``: the angular time axis SincNet multiplies the cut-offs (Hz) by."""
    half = (kernel_size - 1) // 2
    return 2.0 * np.pi * np.arange(-half, 0, dtype=np.float64) / float(sample_rate)


__all__ += ["SINCNET_INIT_LOW_HZ", "sincnet_initial_bands", "sincnet_half_window", "sincnet_half_phase"]
# ==== end section: sincconv ====


# ==== section: inversion (issue 18) ====

def mel_inversion_tables(filterbank: np.ndarray) -> dict:
    """What :func:`kapre.functional.mel_to_stft` needs to invert a ``(n_freq, n_mels)`` filterbank ``F``
    (:func:`mel_filterbank`, as :class:`kapre.InverseMel` builds it), all float64:

    - ``'filterbank'``: ``F`` (``mel = power @ F``) and ``'filterbank_t'``: ``F.T`` (the gradient's product);
    - ``'pinv'``: ``pinv(F)``, ``(n_mels, n_freq)``: the least-squares start ``max(mel @ pinv(F), 0)``, as
      ``librosa.util.nnls`` starts (``np.linalg.pinv``'s default cut-off);
    - ``'step'``: ``1 / L`` with ``L = ||F||_2 ** 2``, the Lipschitz constant of the gradient of
      ``0.5 * ||x @ F - mel|| ** 2`` (0 for an all-zero filterbank, which has nothing to fit).
    """
    weights = np.asarray(filterbank, dtype=np.float64)
    lipschitz = float(np.linalg.norm(weights, 2) ** 2) if weights.size else 0.0
    return {
        "filterbank": np.ascontiguousarray(weights),
        "filterbank_t": np.ascontiguousarray(weights.T),
        "pinv": np.ascontiguousarray(np.linalg.pinv(weights)),
        "step": 1.0 / lipschitz if lipschitz > 0 else 0.0,
    }


def inverse_dct_matrix(n_mfcc: int, n_mels: int, norm: str | None = None, lifter: float = 0.0) -> np.ndarray:
    """``(n_mfcc, n_mels)`` matrix ``W`` such that ``mfcc @ W`` is the log-mel spectrogram the first ``n_mfcc``
    coefficients come from, the others taken as 0: the exact inverse of :func:`dct_matrix` ``(n_mels, n_mels,
    norm)`` (``x @ D = c``, so ``x = c @ inv(D)``; for ``'ortho'`` this is ``D.T``), its first ``n_mfcc`` rows,
    each divided by librosa's lifter weight ``1 + (lifter / 2) sin(pi (i + 1) / lifter)``
    (:func:`cepstral_lifter` with ``offset=1``, ``librosa.feature.inverse.mfcc_to_mel``). Equals
    ``scipy.fft.idct(c, n=n_mels, norm=...)`` of the zero-padded coefficients for ``'ortho'`` and ``'backward'``
    (scipy's ``norm=None``).

    Raises:
        ValueError: ``n_mfcc > n_mels``, or a lifter weight within float64's epsilon of 0 (``lifter=2`` and a third
            coefficient: librosa warns and divides by ``tiny``, which turns that coefficient into ~1e38).
    """
    if n_mfcc > n_mels:
        raise ValueError(f"n_mfcc={n_mfcc} coefficients cannot come from n_mels={n_mels} mel bands (a DCT of "
                         f"{n_mels} values has {n_mels} coefficients).")
    forward = dct_matrix(n_mels, n_mels, norm=norm)
    if norm == "ortho":
        inverse = forward.T
    elif norm == "backward":  # 2 cos(...): D = D_ortho diag(s), s_0 = 2 sqrt(n), s_k = sqrt(2 n)
        inverse = dct_matrix(n_mels, n_mels, norm="ortho").T / _dct_scales(n_mels, 2.0 * np.sqrt(n_mels),
                                                                           np.sqrt(2.0 * n_mels))[:, None]
    else:  # kapre / tf.signal: D = D_ortho diag(s), s_0 = sqrt(2), s_k = 1
        inverse = dct_matrix(n_mels, n_mels, norm="ortho").T / _dct_scales(n_mels, np.sqrt(2.0), 1.0)[:, None]
    weights = cepstral_lifter(n_mfcc, lifter, offset=1)
    if np.any(np.abs(weights) < np.finfo(np.float64).eps):
        bad = np.flatnonzero(np.abs(weights) < np.finfo(np.float64).eps).tolist()
        raise ValueError(
            f"lifter={lifter!r} gives the coefficients {bad} a lifter weight of 0 "
            "(1 + lifter / 2 * sin(pi * (i + 1) / lifter)): they cannot be un-liftered. Use another lifter."
        )
    return np.ascontiguousarray(inverse[:n_mfcc] / weights[:, None])


def _dct_scales(n: int, first: float, others: float) -> np.ndarray:
    scales = np.full(n, others, dtype=np.float64)
    scales[0] = first
    return scales


__all__ += ["mel_inversion_tables", "inverse_dct_matrix"]
# ==== end section: inversion ====
