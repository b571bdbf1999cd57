"""Where kapre's parameters are resolved and checked: framing, filterbanks and decibels, one place each.

Every layer, composed function, 0.2/DAS layer and the command line resolves its framing, filterbank and decibel
arguments through these frozen dataclasses, so a rule (a default, a range, a message) lives once. Each
``resolve`` takes the user's arguments and ``names``, the names the caller's user passed them as (``mel_f_min``
for :class:`kapre.MelSpectrogram`, ``fmin`` for the 0.2 layers), so that an error names the argument as typed.
The constants themselves are built in NumPy by :mod:`kapre.constants` (``build()``).

A new filterbank is one dataclass with ``resolve`` and ``build`` added to :data:`FILTERBANKS`; a new option of
one is one field (and its check) here plus the builder's parameter in :mod:`kapre.constants`.

Example:
    >>> from kapre.params import Framing, MelFilterbank
    >>> framing = Framing.resolve(n_fft=512, hop_length=160)
    >>> framing.win_length, framing.hop_length, framing.num_frames(16000)
    (512, 160, 97)
    >>> MelFilterbank.resolve(sample_rate=16000, n_freq=257, n_mels=40).build().shape
    (257, 40)
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, fields

import numpy as np

from kapre import _validation as V
from kapre import constants
from kapre._frames import num_frames

__all__ = [
    "Framing",
    "MelFilterbank",
    "LogFilterbank",
    "Decibel",
    "KaldiFraming",
    "KaldiMelBanks",
    "ConstantQ",
    "ConstantQOctave",
    "ConstantQPlan",
    "CQT_OUTPUTS",
    "FILTERBANKS",
    "build_filterbank",
    "check_window",
    "serializable_window",
    "too_short_error",
    "prefixed",
    "ChromaFilterbank",
    "CqChroma",
    "check_vector_norm",
]

PAD_MODES = ("constant", "reflect")


def prefixed(prefix: str, keys) -> dict[str, str]:
    """``{key: prefix + key}``: the names of arguments a caller takes with a prefix (``mel_f_min``)."""
    return {key: f"{prefix}{key}" for key in keys}


def _namer(names: dict[str, str] | None):
    names = names or {}
    return lambda key: names.get(key, key)


def check_window(name: str, value):
    """A window argument: ``None`` (periodic Hann), a name (checked when the window is built) or 1-D values."""
    if value is None or isinstance(value, (str, list, tuple, np.ndarray)):
        return value
    raise TypeError(
        f"{name} must be a window name (str), a 1-D array of window values or None, received {name}={value!r}."
    )


def serializable_window(window):
    """Window names stay strings and ``(name, *parameters)`` tuples stay tuples (a list of them, as JSON gives the
    tuple back, becomes the tuple again, so a config survives a round trip); an array window is kept as a list so
    the config is JSON."""
    if window is None or isinstance(window, str):
        return window
    if isinstance(window, (list, tuple)) and window and isinstance(window[0], str):
        return tuple(window)
    return np.asarray(window, dtype=np.float64).tolist()


def too_short_error(layer_name: str, length: int, needed: int, hint: str) -> ValueError:
    """The error for a signal shorter than one frame, with what to do about it."""
    return ValueError(
        f"{layer_name} received a signal of {length} samples, shorter than one frame ({needed} samples). {hint}"
    )


@dataclass(frozen=True, eq=False)
class Framing:
    """How a signal is cut into frames: ``n_fft``, ``win_length`` and ``hop_length`` resolved (``win_length``
    defaults to ``n_fft``, ``hop_length`` to ``win_length // 4``), the window's values, and the padding.

    ``center=False`` (kapre, ``tf.signal``): frames of ``win_length`` samples every ``hop_length``, ``pad_begin``
    prepends ``max(0, n_fft - hop_length)`` zeros, ``pad_end`` gives ``ceil(samples / hop_length)`` frames.
    ``center=True`` (librosa): the signal is padded by ``n_fft // 2`` at both ends with ``pad_mode``.
    """

    n_fft: int
    win_length: int
    hop_length: int
    window: object = None  # the user's window argument (name, values or None)
    center: bool = False
    pad_mode: str = "constant"
    pad_begin: bool = False
    pad_end: bool = False
    window_values: np.ndarray = field(default=None, repr=False)

    @classmethod
    def resolve(
        cls,
        n_fft,
        win_length=None,
        hop_length=None,
        window=None,
        *,
        center=False,
        pad_mode="constant",
        pad_begin=False,
        pad_end=False,
        names: dict[str, str] | None = None,
    ) -> Framing:
        """Checks every argument (messages name it as ``names`` says) and builds the window."""
        name = _namer(names)
        n_fft = V.check_int(name("n_fft"), n_fft, minimum=1, maximum=V.MAX_SAMPLES)
        win_length = V.check_int(name("win_length"), win_length, minimum=1, allow_none=True, maximum=V.MAX_SAMPLES)
        resolved_win = n_fft if win_length is None else win_length
        if resolved_win > n_fft:
            raise ValueError(
                f"{name('win_length')} must be <= {name('n_fft')}={n_fft}, received {name('win_length')}="
                f"{win_length!r}. The FFT of a frame longer than {name('n_fft')} would drop samples; raise "
                f"{name('n_fft')} instead."
            )
        hop_length = V.check_int(name("hop_length"), hop_length, minimum=1, allow_none=True, maximum=V.MAX_SAMPLES)
        resolved_hop = max(1, resolved_win // 4) if hop_length is None else hop_length
        window = check_window(name("window"), window)
        center = V.check_bool(name("center"), center)
        pad_mode = V.check_choice(name("pad_mode"), pad_mode, PAD_MODES)
        pad_begin = V.check_bool(name("pad_begin"), pad_begin)
        pad_end = V.check_bool(name("pad_end"), pad_end)
        if center and (pad_begin or pad_end):
            raise ValueError(
                f"{name('center')}=True pads the signal itself; it cannot be combined with {name('pad_begin')}="
                f"{pad_begin!r} or {name('pad_end')}={pad_end!r}."
            )
        try:
            values = constants.get_window(window, resolved_win)
        except (TypeError, ValueError) as error:  # the builder does not know the caller's argument name
            raise type(error)(f"{name('window')}: {error}") from None
        return cls(n_fft, resolved_win, resolved_hop, window, center, pad_mode, pad_begin, pad_end, values)

    @property
    def n_freq(self) -> int:
        """One-sided frequency bins, ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    @property
    def frame_length(self) -> int:
        """Samples each frame reads: ``n_fft`` when centred, else ``win_length``."""
        return self.n_fft if self.center else self.win_length

    def centered_window(self) -> np.ndarray:
        """The window zero-padded to ``n_fft`` values, centred (librosa's framing)."""
        left = (self.n_fft - self.win_length) // 2
        return np.pad(self.window_values, (left, self.n_fft - self.win_length - left))

    def num_frames(self, length: int | None) -> int | None:
        """Frames of a signal of ``length`` samples (``None`` if unknown)."""
        if length is None:
            return None
        if self.center:
            return 1 + length // self.hop_length
        return num_frames(length + self.begin_padding, self.win_length, self.hop_length, self.pad_end)

    @property
    def begin_padding(self) -> int:
        """Zeros ``pad_begin`` prepends: ``n_fft - hop_length``, none when the hop is longer than ``n_fft``."""
        return max(0, self.n_fft - self.hop_length) if self.pad_begin else 0

    def check_length(self, layer_name: str, length: int | None, hint: str | None = None) -> None:
        """Raises :func:`too_short_error` if a signal of ``length`` samples gives no frame."""
        if not isinstance(length, (int, np.integer)):  # unknown, or symbolic while exporting: checked at run time
            return
        if self.center:
            if self.pad_mode == "reflect" and length <= self.n_fft // 2:
                raise too_short_error(
                    layer_name, length, self.n_fft // 2 + 1, "pad_mode='reflect' needs more than n_fft // 2 samples."
                )
            return
        if self.num_frames(length) == 0:
            prepended = self.begin_padding
            raise too_short_error(
                layer_name,
                length,
                self.win_length - prepended,
                hint or "Use pad_end=True, center=True, a shorter win_length, or pad the signal.",
            )


# A filterbank is built in float64 (then cast): at most 2**26 values, 512 MiB (its builder holds a few such).
MAX_FILTERBANK_VALUES = 2**26


def _check_filterbank_size(name: str, n_filters: int, n_freq: int) -> None:
    if n_filters * n_freq > MAX_FILTERBANK_VALUES:
        raise ValueError(
            f"A filterbank of {name}={n_filters} filters over {n_freq} frequency bins would hold "
            f"{n_filters * n_freq} values (more than 2**26, 512 MiB in float64); use fewer filters or a smaller n_fft."
        )


def _check_number_or_none(name: str, value):
    """``None``, ``'slaney'`` or a positive number (a p-norm, ``np.inf`` for the maximum): a filterbank ``norm``
    (librosa's choices for a filterbank; a p-norm <= 0 is not a norm and would divide by zero)."""
    if value is None or value == "slaney":
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be None, 'slaney' or a positive number (p-norm), received {name}={value!r}.")
    if not value > 0:  # also NaN
        raise ValueError(
            f"{name} must be None, 'slaney' or a positive number (p-norm, np.inf for the maximum), received "
            f"{name}={value!r}."
        )
    return value


@dataclass(frozen=True)
class MelFilterbank:
    """A mel filterbank ``(n_freq, n_mels)`` as ``librosa.filters.mel(...).T``: Slaney's or HTK's formula, norm
    ``'slaney'``, ``None`` or a p-norm; ``f_max=None`` is ``sample_rate / 2``."""

    sample_rate: float
    n_freq: int
    n_mels: int = 128
    f_min: float = 0.0
    f_max: float | None = None
    htk: bool = False
    norm: object = "slaney"

    @classmethod
    def resolve(cls, sample_rate, n_freq, n_mels=128, f_min=0.0, f_max=None, htk=False, norm="slaney", *,
                names: dict[str, str] | None = None) -> MelFilterbank:
        name = _namer(names)
        sample_rate = V.check_sample_rate(name("sample_rate"), sample_rate)
        n_freq = V.check_int(name("n_freq"), n_freq, minimum=2, maximum=V.MAX_SAMPLES // 2 + 1)
        n_mels = V.check_int(name("n_mels"), n_mels, minimum=1, maximum=V.MAX_COUNT)
        f_min = V.check_float(name("f_min"), f_min, minimum=0.0)
        f_max = V.check_float(name("f_max"), f_max, exclusive_minimum=0.0, allow_none=True)
        top = sample_rate / 2.0 if f_max is None else f_max
        if top <= f_min:
            raise ValueError(
                f"{name('f_max')} must be greater than {name('f_min')}={f_min}, received {name('f_max')}={f_max!r}."
            )
        if top > sample_rate / 2.0:
            raise ValueError(
                f"{name('f_max')} must be at most the Nyquist frequency {name('sample_rate')} / 2 = "
                f"{sample_rate / 2.0}, received {name('f_max')}={f_max!r}."
            )
        htk = V.check_bool(name("htk"), htk)
        norm = _check_number_or_none(name("norm"), norm)
        _check_filterbank_size(name("n_mels"), n_mels, n_freq)
        if not np.all(np.diff(constants.mel_frequencies(n_mels + 2, f_min, top, htk)) > 0):
            raise ValueError(
                f"The {name('n_mels')}={n_mels} bands between {name('f_min')}={f_min} and {name('f_max')}="
                f"{top} Hz are too narrow to tell apart in float64 (their edges coincide); widen the range."
            )
        return cls(sample_rate, n_freq, n_mels, f_min, f_max, htk, norm)

    @property
    def n_filters(self) -> int:
        return self.n_mels

    def build(self) -> np.ndarray:
        """The float64 NumPy filterbank (:func:`kapre.constants.mel_filterbank`)."""
        return constants.mel_filterbank(self.sample_rate, self.n_freq, self.n_mels, self.f_min, self.f_max,
                                        self.htk, self.norm)


@dataclass(frozen=True)
class LogFilterbank:
    """kapre's log-frequency filterbank ``(n_freq, n_bins)``: log-normal filters from ``f_min`` (C1 if ``None``),
    ``bins_per_octave`` per octave, ``spread`` bins wide, each summing to 1."""

    sample_rate: float
    n_freq: int
    n_bins: int = 84
    bins_per_octave: int = 12
    f_min: float | None = None
    spread: float = 0.125

    @classmethod
    def resolve(cls, sample_rate, n_freq, n_bins=84, bins_per_octave=12, f_min=None, spread=0.125, *,
                names: dict[str, str] | None = None) -> LogFilterbank:
        name = _namer(names)
        sample_rate = V.check_sample_rate(name("sample_rate"), sample_rate)
        n_freq = V.check_int(name("n_freq"), n_freq, minimum=2, maximum=V.MAX_SAMPLES // 2 + 1)
        n_bins = V.check_int(name("n_bins"), n_bins, minimum=1, maximum=V.MAX_COUNT)
        bins_per_octave = V.check_int(name("bins_per_octave"), bins_per_octave, minimum=1, maximum=V.MAX_COUNT)
        f_min = V.check_float(name("f_min"), f_min, exclusive_minimum=0.0, allow_none=True)
        spread = V.check_float(name("spread"), spread, exclusive_minimum=0.0)
        _check_filterbank_size(name("n_bins"), n_bins, n_freq)
        lowest = constants.C1_HZ if f_min is None else f_min
        nyquist = sample_rate // 2
        octaves = n_bins / bins_per_octave  # (kapre.constants.log_filterbank's test; 2 ** 1000 cannot overflow)
        if octaves > 1000 or lowest * 2**octaves > nyquist:
            raise constants.FilterbankRangeError(
                f"The log filterbank from {name('f_min')}={f_min} ({lowest:.2f} Hz) spans {name('n_bins')}="
                f"{n_bins} bins at {name('bins_per_octave')}={bins_per_octave}, up to "
                f"{lowest * 2 ** min(octaves, 1000):.5g} Hz, above the Nyquist frequency "
                f"{nyquist} Hz of {name('sample_rate')}={sample_rate}. Use fewer bins, a lower {name('f_min')} or "
                "a higher sample rate."
            )
        return cls(sample_rate, n_freq, n_bins, bins_per_octave, f_min, spread)

    @property
    def n_filters(self) -> int:
        return self.n_bins

    def build(self) -> np.ndarray:
        """The float64 NumPy filterbank (:func:`kapre.constants.log_filterbank`; raises
        :class:`kapre.constants.FilterbankRangeError` if the top filter is above Nyquist)."""
        return constants.log_filterbank(self.sample_rate, self.n_freq, self.n_bins, self.bins_per_octave,
                                        self.f_min, self.spread)


# The filterbanks :class:`kapre.ApplyFilterbank` (``type=``) and the composed functions know, by name.
FILTERBANKS = {"mel": MelFilterbank, "log": LogFilterbank}


def build_filterbank(kind: str, filterbank_kwargs: dict, name: str = "filterbank_kwargs") -> np.ndarray:
    """The NumPy filterbank of type ``kind`` from keyword arguments (``sample_rate`` and ``n_freq`` required),
    checked: an unknown or missing key names the keys the type takes."""
    spec = FILTERBANKS[kind]
    keys = [f.name for f in fields(spec)]
    unknown = sorted(set(filterbank_kwargs) - set(keys))
    missing = [key for key in ("sample_rate", "n_freq") if key not in filterbank_kwargs]
    if unknown or missing:
        raise ValueError(
            f"{name} for type={kind!r} takes {keys} ('sample_rate' and 'n_freq' required); received "
            f"{name}={filterbank_kwargs!r}."
        )
    return spec.resolve(**filterbank_kwargs).build()


@dataclass(frozen=True)
class Decibel:
    """``factor * log10(max(x, amin)) - factor * log10(max(amin, ref_value))``, ``factor`` 10 (20 with
    ``amplitude``), floored ``dynamic_range`` dB below each example's maximum (``None``: no floor);
    ``ref_value='max'`` is each example's maximum."""

    ref_value: float | str = 1.0
    amin: float = 1e-5
    dynamic_range: float | None = 80.0
    amplitude: bool = False

    @classmethod
    def resolve(cls, ref_value=1.0, amin=1e-5, dynamic_range=80.0, amplitude=False, *,
                names: dict[str, str] | None = None) -> Decibel:
        name = _namer(names)
        if isinstance(ref_value, str):
            V.check_choice(name("ref_value"), ref_value, ("max",))
        else:
            ref_value = V.check_float(name("ref_value"), ref_value, exclusive_minimum=0.0)
        amin = V.check_float(name("amin"), amin, exclusive_minimum=0.0, maximum=V.FLOAT32_MAX)
        dynamic_range = V.check_float(name("dynamic_range"), dynamic_range, exclusive_minimum=0.0, allow_none=True)
        amplitude = V.check_bool(name("amplitude"), amplitude)
        return cls(ref_value, amin, dynamic_range, amplitude)


# The prefixed names kapre.MelSpectrogram and the composed functions take (mel_f_min, log_n_bins, db_amin, ...).
MEL_NAMES = prefixed("mel_", ("f_min", "f_max", "htk", "norm"))
LOG_NAMES = prefixed("log_", ("n_bins", "bins_per_octave", "f_min", "spread"))
DB_NAMES = prefixed("db_", ("ref_value", "amin", "dynamic_range"))


# The octave recursion of the constant-Q transform (see ConstantQ): a group of bins is computed at 1 / 2**d of the
# rate when its wavelets' spectra (to two side lobes past the main lobe) end below CQT_DECIMATION_HEADROOM x the
# decimated Nyquist frequency; the decimation
# low-pass (constants.halfband_lowpass) rejects what would alias onto that band by CQT_DECIMATION_ATTENUATION dB.
# At 0.5 and 100 dB the recursion is within 2e-5 (relative) of the full-rate transform; at 0.9 it is 2e-2 away.
CQT_DECIMATION_HEADROOM = 0.5
CQT_DECIMATION_ATTENUATION = 100.0
# Decimated outputs per matrix product (constants.decimation_matrix): 32 was the fastest of 8 .. 128 on PyTorch and
# JAX and within 10 % on TensorFlow (16 x 10 s, 2 cores); a one-channel strided convolution took 3-7x longer.
CQT_DECIMATION_BLOCK = 32
CQT_OUTPUTS = ("complex", "magnitude", "power", "db")


@dataclass(frozen=True)
class ConstantQOctave:
    """One group of at most ``bins_per_octave`` bins computed together at ``sample_rate / 2**decimations``:
    bins ``start:stop`` of the transform, the correlation ``kernel`` ``(offsets, 2 * bins)`` whose first row meets
    the sample ``first_offset`` (decimated) samples from each frame's centre."""

    start: int
    stop: int
    decimations: int
    kernel: np.ndarray = field(repr=False)
    first_offset: int

    @property
    def reach(self) -> int:
        """The farthest full-rate sample from a frame's centre this group's kernel reads."""
        return max(-self.first_offset, self.first_offset + self.kernel.shape[0]) * 2**self.decimations


@dataclass(frozen=True)
class ConstantQ:
    """The constant-Q / variable-Q transform's parameters, as ``librosa.cqt`` / ``librosa.vqt`` take them, and
    its plan: which bins are computed at which decimated rate with which kernel.

    ``librosa.vqt`` decimates octave by octave with soxr and sparsifies each octave's FFT-domain filters, which
    puts it 1e-2 to 6e-2 (relative) away from the direct full-rate transform. Here each group of bins correlates
    the signal with librosa's own wavelets (``librosa.filters.wavelet``), sampled at the group's decimated rate
    (:func:`kapre.constants.cqt_correlation_kernel`), and the decimation by two is a 100 dB linear-phase low-pass
    applied to the padded signal (so its ringing at the edges is kept): within 2e-5 of the full-rate transform.
    A group is decimated only as far as the hop allows (``hop_length`` divisible by ``2**d``): an odd hop runs
    every group at the full rate, exactly but with long kernels at the lowest bins.
    """

    sample_rate: float
    hop_length: int
    fmin: float
    n_bins: int
    bins_per_octave: int
    tuning: float
    filter_scale: float
    norm: object
    window: str
    scale: bool
    pad_mode: str
    gamma: float | None
    frequencies: np.ndarray = field(repr=False)
    lengths: np.ndarray = field(repr=False)

    @classmethod
    def resolve(cls, sample_rate=22050, hop_length=512, fmin=None, n_bins=84, bins_per_octave=12, tuning=0.0,
                filter_scale=1.0, norm=1, window="hann", scale=True, pad_mode="constant", gamma=0.0, *,
                names: dict[str, str] | None = None) -> ConstantQ:
        """Checks every argument (messages name it as ``names`` says): ``gamma=None`` is librosa's VQT default
        (ERB-proportional), ``0.0`` the constant-Q transform."""
        name = _namer(names)
        sample_rate = V.check_sample_rate(name("sr"), sample_rate)
        hop_length = V.check_int(name("hop_length"), hop_length, minimum=1, maximum=V.MAX_SAMPLES)
        fmin = constants.C1_HZ_EXACT if fmin is None else V.check_float(name("fmin"), fmin, exclusive_minimum=0.0)
        n_bins = V.check_int(name("n_bins"), n_bins, minimum=2, maximum=V.MAX_COUNT)
        bins_per_octave = V.check_int(name("bins_per_octave"), bins_per_octave, minimum=1, maximum=V.MAX_COUNT)
        tuning = V.check_float(name("tuning"), tuning, minimum=-0.5, maximum=0.5)
        filter_scale = V.check_float(name("filter_scale"), filter_scale, exclusive_minimum=0.0, maximum=1e3)
        if norm is not None and (isinstance(norm, bool) or not isinstance(norm, numbers.Real) or not norm > 0):
            raise ValueError(f"{name('norm')} must be None (no normalisation) or a positive number (a p-norm of each "
                             f"wavelet: 1, 2, np.inf), received {name('norm')}={norm!r}.")
        window = V.check_choice(name("window"), window, constants.CQT_WINDOWS)
        scale = V.check_bool(name("scale"), scale)
        pad_mode = V.check_choice(name("pad_mode"), pad_mode, PAD_MODES)
        gamma = V.check_float(name("gamma"), gamma, minimum=0.0, allow_none=True)
        frequencies = constants.cqt_frequencies(n_bins, fmin, bins_per_octave, tuning)
        lengths, cutoffs = constants.wavelet_lengths(frequencies, sample_rate, window, filter_scale, gamma)
        if cutoffs.max() > sample_rate / 2.0:
            raise ValueError(
                f"The top bin's wavelet reaches {cutoffs.max():.1f} Hz, above the Nyquist frequency "
                f"{name('sr')} / 2 = {sample_rate / 2.0:g} Hz (its centre {frequencies[-1]:.1f} Hz plus half its "
                f"bandwidth): use fewer bins (received {name('n_bins')}={n_bins}), a lower {name('fmin')} "
                f"(received {fmin:g}) or a higher {name('sr')}."
            )
        if lengths.max() > V.MAX_SAMPLES:
            raise ValueError(
                f"The lowest bin's wavelet would be {lengths.max():.0f} samples long, more than 2**24 (5.8 minutes "
                f"at 48 kHz): raise {name('fmin')} (received {fmin:g}) or lower {name('filter_scale')} (received "
                f"{filter_scale:g})."
            )
        return cls(sample_rate, hop_length, fmin, n_bins, bins_per_octave, tuning, filter_scale, norm, window,
                   scale, pad_mode, gamma, frequencies, lengths)

    def num_frames(self, length: int | None) -> int | None:
        """``1 + length // hop_length``: frames centred on every hop, as librosa's."""
        return None if length is None else 1 + length // self.hop_length

    def plan(self) -> ConstantQPlan:
        """The groups of bins from the top down (``bins_per_octave`` each, the lowest possibly fewer), each at the
        lowest rate its cutoff and the hop allow (never higher than the group above it), the decimation low-pass
        and the padding."""
        # where each wavelet's spectrum has fallen far: its centre plus its window's main lobe and two side lobes,
        # in bins of 1 / length (librosa's cutoff, the centre plus half the noise bandwidth, is far inside that for
        # a variable-Q wavelet, whose length follows f + gamma / alpha, not f)
        edges = self.frequencies + (constants.cqt_window_main_lobe(self.window) + 2.0) * self.sample_rate / self.lengths
        gains = np.sqrt(self.lengths) if self.scale else self.lengths
        hop_twos = (self.hop_length & -self.hop_length).bit_length() - 1  # the hop's factors of two
        groups, decimations = [], 0
        for stop in range(self.n_bins, 0, -self.bins_per_octave):
            start = max(0, stop - self.bins_per_octave)
            top = edges[start:stop].max()
            while (decimations < hop_twos
                   and top <= CQT_DECIMATION_HEADROOM * self.sample_rate / 2 ** (decimations + 2)):
                decimations += 1
            kernel, first = constants.cqt_correlation_kernel(
                self.frequencies[start:stop], self.lengths[start:stop], self.sample_rate, self.window, self.norm,
                gains[start:stop], decimation=2**decimations,
            )
            groups.append(ConstantQOctave(start, stop, decimations, kernel, first))
        lowpass = constants.halfband_lowpass(CQT_DECIMATION_ATTENUATION)
        reach = max(group.reach for group in groups)
        # each decimation drops up to taps // 2 + 1 samples (of its input rate) at the start, and at the end up to
        # a block of outputs plus the low-pass's reach: the margins take them, beyond the kernels' reach
        deepest = groups[-1].decimations
        half_taps = lowpass.shape[0] // 2
        dropped_before = sum((half_taps + 1) * 2**level for level in range(deepest))
        dropped_after = sum((2 * CQT_DECIMATION_BLOCK + 2 * half_taps) * 2**level for level in range(deepest))
        return ConstantQPlan(tuple(groups), lowpass, constants.decimation_matrix(lowpass, CQT_DECIMATION_BLOCK),
                             reach, reach + dropped_before, reach + dropped_after + self.hop_length)

    def check_length(self, layer_name: str, length: int | None, reach: int) -> None:
        """Reflect padding mirrors the ``reach`` samples each end's frames read: the signal must be longer."""
        if length is not None and self.pad_mode == "reflect" and length <= reach:
            raise too_short_error(
                layer_name, length, reach + 1,
                f"pad_mode='reflect' mirrors the {reach} samples the lowest bin's wavelet reaches from a frame's "
                "centre; use pad_mode='constant', a higher fmin or a longer signal.",
            )


@dataclass(frozen=True)
class ConstantQPlan:
    """How :func:`kapre.functional.constant_q` computes a :class:`ConstantQ`: the groups of bins (top down), the
    decimation low-pass (and as a ``decimator`` matrix), the farthest sample a frame reads (``reach``) and the
    zeros before and after the signal (``margin``, ``margin_after``: the reach plus what the decimations drop, so
    that the decimated signals keep the low-pass's ringing at the edges)."""

    octaves: tuple[ConstantQOctave, ...]
    lowpass: np.ndarray = field(repr=False)
    decimator: np.ndarray = field(repr=False)
    reach: int = 0
    margin: int = 0
    margin_after: int = 0


@dataclass(frozen=True)
class KaldiFraming:
    """Kaldi's framing (``FrameExtractionOptions``, ``torchaudio.compliance.kaldi``): windows of ``frame_length`` ms
    every ``frame_shift`` ms (``int(sample_frequency * ms / 1000)`` samples, as Kaldi truncates), FFT of
    ``padded_size`` (the next power of two with ``round_to_power_of_two``), and the edges: ``snip_edges=True``
    keeps only frames that fit, ``1 + (n - size) // shift`` of them; ``False`` gives ``(n + shift // 2) // shift``
    frames, frame ``t`` centred near ``t * shift + shift / 2``, the edges mirrored."""

    sample_frequency: float
    size: int
    shift: int
    padded_size: int
    snip_edges: bool
    window_type: str
    blackman_coeff: float
    window_values: np.ndarray = field(default=None, repr=False)

    @classmethod
    def resolve(cls, sample_frequency, frame_length, frame_shift, round_to_power_of_two, snip_edges, window_type,
                blackman_coeff) -> KaldiFraming:
        sample_frequency = V.check_sample_rate("sample_frequency", sample_frequency)
        frame_length = V.check_float("frame_length", frame_length, exclusive_minimum=0.0)
        frame_shift = V.check_float("frame_shift", frame_shift, exclusive_minimum=0.0)
        size, shift = int(sample_frequency * frame_length * 0.001), int(sample_frequency * frame_shift * 0.001)
        if not 2 <= size <= V.MAX_SAMPLES:
            raise ValueError(
                f"frame_length={frame_length} ms at sample_frequency={sample_frequency:g} Hz is {size} samples; "
                f"a frame needs 2 to {V.MAX_SAMPLES} samples."
            )
        if not 1 <= shift <= V.MAX_SAMPLES:
            raise ValueError(
                f"frame_shift={frame_shift} ms at sample_frequency={sample_frequency:g} Hz is {shift} samples; "
                f"the shift needs 1 to {V.MAX_SAMPLES} samples."
            )
        round_to_power_of_two = V.check_bool("round_to_power_of_two", round_to_power_of_two)
        padded = 1 << (size - 1).bit_length() if round_to_power_of_two else size
        if padded % 2:  # Kaldi's real FFT (and torchaudio's and kaldi-native-fbank's checks) needs an even length
            raise ValueError(
                f"frame_length={frame_length} ms at sample_frequency={sample_frequency:g} Hz is {size} samples, an "
                "odd FFT length, which Kaldi refuses; use round_to_power_of_two=True or a frame_length of an even "
                f"number of samples, received round_to_power_of_two={round_to_power_of_two!r}."
            )
        snip_edges = V.check_bool("snip_edges", snip_edges)
        window_type = V.check_choice("window_type", window_type, constants.KALDI_WINDOW_TYPES)
        blackman_coeff = V.check_float("blackman_coeff", blackman_coeff)
        values = constants.kaldi_window(window_type, size, blackman_coeff)
        return cls(sample_frequency, size, shift, padded, snip_edges, window_type, blackman_coeff, values)

    @property
    def n_freq(self) -> int:
        return self.padded_size // 2 + 1

    def num_frames(self, length: int | None) -> int | None:
        if length is None:
            return None
        if self.snip_edges:
            return 0 if length < self.size else 1 + (length - self.size) // self.shift
        return (length + self.shift // 2) // self.shift

    @property
    def left_mirror(self) -> int:
        """Samples mirrored before the signal with ``snip_edges=False`` (negative: samples skipped)."""
        return self.size // 2 - self.shift // 2

    def min_length(self) -> int:
        """The shortest signal that gives a frame (and, with mirrored edges, needs each mirror at most once)."""
        if self.snip_edges:
            return self.size
        shortest = max(1, self.shift - self.shift // 2, self.left_mirror)  # one frame, the left mirror
        while True:  # ends by ``size``: from there on the right mirror is shorter than the signal
            right = (self.num_frames(shortest) - 1) * self.shift + self.size - self.left_mirror - shortest
            if max(self.left_mirror, right) <= shortest:
                return shortest
            shortest += 1

    def check_length(self, layer_name: str, length: int | None) -> None:
        if length is not None and (length < self.size or self.snip_edges) and length < self.min_length():
            hint = ("snip_edges=True needs at least one whole frame (frame_length ms)." if self.snip_edges else
                    "snip_edges=False mirrors the signal at its edges once, so it must be at least as long as "
                    "the mirrored part.")
            raise too_short_error(layer_name, length, self.min_length(), hint + " Pad the signal.")


@dataclass(frozen=True)
class KaldiMelBanks:
    """Kaldi's mel banks (``MelBanksOptions``): ``num_mel_bins`` triangles in HTK mel from ``low_freq`` to
    ``high_freq`` (``<= 0``: that much below the Nyquist frequency; 0 is the Nyquist frequency)."""

    sample_frequency: float
    padded_size: int
    num_mel_bins: int
    low_freq: float
    high_freq: float  # as given
    top: float  # resolved

    @classmethod
    def resolve(cls, sample_frequency, padded_size, num_mel_bins, low_freq, high_freq) -> KaldiMelBanks:
        num_mel_bins = V.check_int("num_mel_bins", num_mel_bins, minimum=3, maximum=V.MAX_COUNT)
        low_freq = V.check_float("low_freq", low_freq, minimum=0.0)
        high_freq = V.check_float("high_freq", high_freq)
        nyquist = sample_frequency / 2.0
        top = high_freq + nyquist if high_freq <= 0.0 else high_freq
        if not low_freq < nyquist:
            raise ValueError(f"low_freq must be below the Nyquist frequency {nyquist:g} Hz, received "
                             f"low_freq={low_freq!r}.")
        if not 0.0 < top <= nyquist or not low_freq < top:
            raise ValueError(
                f"high_freq={high_freq!r} gives an upper edge of {top:g} Hz; it must lie above low_freq={low_freq} "
                f"and at most at the Nyquist frequency {nyquist:g} Hz (a value <= 0 counts from the Nyquist "
                "frequency down)."
            )
        _check_filterbank_size("num_mel_bins", num_mel_bins, padded_size // 2 + 1)
        return cls(sample_frequency, padded_size, num_mel_bins, low_freq, high_freq, top)

    def build(self) -> np.ndarray:
        return constants.mel_space_filterbank(self.sample_frequency, self.padded_size, self.num_mel_bins,
                                              self.low_freq, self.top)


# ---------------------------------------------------------------------------------------------------------------
# Chroma (kapre.Chroma): the STFT and CQT chroma filterbanks and the normalisation of each frame
# ---------------------------------------------------------------------------------------------------------------


def check_vector_norm(name: str, value):
    """A norm as ``librosa.util.normalize`` takes it: ``None`` (no normalisation), ``np.inf`` (maximum),
    ``-np.inf`` (minimum), ``0`` (number of non-zeros) or a positive p-norm; returned as a float (or ``None``)."""
    if value is None:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and (value in (np.inf, -np.inf) or (np.isfinite(value) and value >= 0)):
        return float(value)
    raise ValueError(
        f"{name} must be None, np.inf (maximum), -np.inf (minimum), 0 (number of non-zeros) or a positive "
        f"p-norm, received {name}={value!r}."
    )


@dataclass(frozen=True)
class ChromaFilterbank:
    """The STFT chroma filterbank ``(n_fft // 2 + 1, n_chroma)`` of :func:`kapre.constants.chroma_filterbank`
    (``librosa.filters.chroma(...).T``): ``tuning`` in fractional chroma bins, the octave weighting ``ctroct`` /
    ``octwidth`` (``None``: flat), each FFT bin's weights normalised by ``norm``, ``base_c`` starting at C."""

    sample_rate: float
    n_fft: int
    n_chroma: int = 12
    tuning: float = 0.0
    ctroct: float = 5.0
    octwidth: float | None = 2.0
    norm: float | None = 2.0
    base_c: bool = True

    @classmethod
    def resolve(cls, sample_rate, n_fft, n_chroma=12, tuning=0.0, ctroct=5.0, octwidth=2.0, norm=2.0, base_c=True,
                *, names: dict[str, str] | None = None) -> ChromaFilterbank:
        name = _namer(names)
        sample_rate = V.check_sample_rate(name("sample_rate"), sample_rate)
        n_fft = V.check_int(name("n_fft"), n_fft, minimum=2, maximum=V.MAX_SAMPLES)
        n_chroma = V.check_int(name("n_chroma"), n_chroma, minimum=1, maximum=V.MAX_COUNT)
        tuning = _check_tuning(name("tuning"), tuning)
        ctroct = V.check_float(name("ctroct"), ctroct)
        octwidth = V.check_float(name("octwidth"), octwidth, exclusive_minimum=0.0, allow_none=True)
        norm = check_vector_norm(name("norm"), norm)
        base_c = V.check_bool(name("base_c"), base_c)
        _check_filterbank_size(name("n_chroma"), n_chroma, n_fft // 2 + 1)
        return cls(sample_rate, n_fft, n_chroma, tuning, ctroct, octwidth, norm, base_c)

    @property
    def n_freq(self) -> int:
        return self.n_fft // 2 + 1

    def build(self) -> np.ndarray:
        """The float64 NumPy filterbank (:func:`kapre.constants.chroma_filterbank`)."""
        return constants.chroma_filterbank(self.sample_rate, self.n_fft, self.n_chroma, self.tuning, self.ctroct,
                                           self.octwidth, self.norm, self.base_c)


def _check_tuning(name: str, value) -> float:
    if value is None:
        raise TypeError(
            f"{name} must be a number (the deviation from A440 in fractions of a bin), received {name}=None. "
            "librosa's tuning=None estimates it from the signal; kapre does not: estimate it once "
            "(librosa.estimate_tuning) and pass the number."
        )
    return V.check_float(name, value)


@dataclass(frozen=True)
class CqChroma:
    """The CQT of ``librosa.feature.chroma_cqt`` and its fold onto pitch classes: ``n_octaves * bins_per_octave``
    bins from ``fmin`` (``None``: C1), ``bins_per_octave`` a multiple of ``n_chroma`` (``None``: ``n_chroma``), the
    CQT's other parameters librosa's defaults (:class:`ConstantQ`, which checks them); :meth:`build` is
    :func:`kapre.constants.cq_to_chroma_matrix`, ``(n_bins, n_chroma)``."""

    n_chroma: int
    fmin: float | None
    n_octaves: int
    bins_per_octave: int
    base_c: bool
    transform: ConstantQ = field(repr=False)

    @classmethod
    def resolve(cls, sample_rate=22050, hop_length=512, n_chroma=12, fmin=None, n_octaves=7, bins_per_octave=36,
                tuning=0.0, base_c=True, pad_mode="constant", *, names: dict[str, str] | None = None) -> CqChroma:
        name = _namer(names)
        n_chroma = V.check_int(name("n_chroma"), n_chroma, minimum=1, maximum=V.MAX_COUNT)
        n_octaves = V.check_int(name("n_octaves"), n_octaves, minimum=1, maximum=64)
        bins_per_octave = V.check_int(name("bins_per_octave"), bins_per_octave, minimum=1, maximum=V.MAX_COUNT,
                                      allow_none=True)
        resolved_bpo = n_chroma if bins_per_octave is None else bins_per_octave
        if resolved_bpo % n_chroma:
            raise ValueError(
                f"{name('bins_per_octave')} must be a multiple of {name('n_chroma')}={n_chroma} (each pitch class "
                f"takes the same number of CQT bins), received {name('bins_per_octave')}={bins_per_octave!r}."
            )
        if tuning is None:
            raise TypeError(
                f"{name('tuning')} must be a number (the deviation from A440 in fractions of a bin), received "
                f"{name('tuning')}=None. librosa's tuning=None estimates it from the signal; kapre does not: "
                "estimate it once (librosa.estimate_tuning) and pass the number."
            )
        base_c = V.check_bool(name("base_c"), base_c)
        if n_octaves * resolved_bpo < 2:
            raise ValueError(
                f"The CQT needs at least 2 bins: {name('n_octaves')} * {name('bins_per_octave')} = "
                f"{n_octaves * resolved_bpo}, received {name('n_octaves')}={n_octaves!r} and "
                f"{name('bins_per_octave')}={bins_per_octave!r}."
            )
        transform = ConstantQ.resolve(sample_rate, hop_length, fmin, n_octaves * resolved_bpo, resolved_bpo, tuning,
                                      pad_mode=pad_mode, names=names)
        return cls(n_chroma, fmin, n_octaves, resolved_bpo, base_c, transform)

    @property
    def n_bins(self) -> int:
        return self.n_octaves * self.bins_per_octave

    def build(self) -> np.ndarray:
        """The float64 ``(n_bins, n_chroma)`` fold (:func:`kapre.constants.cq_to_chroma_matrix`)."""
        return constants.cq_to_chroma_matrix(self.n_bins, self.bins_per_octave, self.n_chroma,
                                             self.transform.fmin, self.base_c)


# The quality presets of kapre.Resample: librosa's (resampy's) kaiser_best and kaiser_fast filters, as torchaudio's
# sinc_interp_kaiser arguments (torchaudio's resampling tutorial lists the same values).
RESAMPLING_QUALITIES = {
    "kaiser_best": {"lowpass_filter_width": 64, "rolloff": 0.9475937167399596,
                    "resampling_method": "sinc_interp_kaiser", "beta": 14.769656459379492},
    "kaiser_fast": {"lowpass_filter_width": 16, "rolloff": 0.85,
                    "resampling_method": "sinc_interp_kaiser", "beta": 8.555504641634386},
}
RESAMPLING_DEFAULTS = {"lowpass_filter_width": 6, "rolloff": 0.99, "resampling_method": "sinc_interp_hann",
                       "beta": None}
# Bounds: a filter reads at most 2**10 zero crossings each side (64 is librosa's best), and the kernel, which holds
# new * (orig + 2 * width) values after the gcd reduction (each one a multiply-add per `orig` input samples), at
# most 2**24 values (128 MiB in float64 while built). Coprime rates make it huge: 22050 -> 16001 Hz would need
# 3.5e8 values (2.8 GB), where a typo should be an error, not an allocation.
MAX_RESAMPLE_FILTER_WIDTH = 2**10
MAX_RESAMPLE_KERNEL_VALUES = 2**24
# The convolution's stride is at least this many input samples: with a stride of 1 (8 kHz -> 48 kHz reduces to
# 1 -> 6) the convolutions of one input channel ran 2-8x slower than grouping 8 phases into one step (16 x 10 s,
# 2 CPU cores, ms: JAX 166 -> 50 (hann) and 159 -> 22 (kaiser_best); TensorFlow 89 -> 81, 241 -> 79; PyTorch
# 33 -> 32, 69 -> 58). Grouping phases is exact: the kernel of (g * orig, g * new) is that of (orig, new) repeated.
MIN_RESAMPLE_STRIDE = 8


def _integral_frequency(name: str, value) -> int:
    """A sampling rate in whole Hz (an integer, or a float such as 44100.0 that is one)."""
    value_float = V.check_sample_rate(name, value)
    if value_float != int(value_float):
        raise ValueError(
            f"{name} must be a whole number of Hz (band-limited resampling works on the ratio of two integer rates, "
            f"as torchaudio.functional.resample requires), received {name}={value!r}. For a fractional rate, scale "
            "both rates by the same factor (5512.5 -> 44100 Hz: orig_freq=11025, new_freq=88200)."
        )
    return int(value_float)


@dataclass(frozen=True)
class Resampling:
    """Band-limited resampling from ``orig_freq`` to ``new_freq`` Hz as ``torchaudio.functional.resample``: the
    rates reduced by their gcd to ``orig`` and ``new``, a windowed-sinc low-pass filter ``width`` samples each
    side (:func:`kapre.constants.sinc_resample_kernel`); ``quality`` presets set the filter arguments."""

    orig_freq: int
    new_freq: int
    orig: int  # reduced by the gcd
    new: int
    lowpass_filter_width: int = 6
    rolloff: float = 0.99
    resampling_method: str = "sinc_interp_hann"
    beta: float | None = None
    width: int = 0

    @classmethod
    def resolve(cls, orig_freq, new_freq, lowpass_filter_width=6, rolloff=0.99, resampling_method="sinc_interp_hann",
                beta=None, quality=None) -> Resampling:
        orig_freq = _integral_frequency("orig_freq", orig_freq)
        new_freq = _integral_frequency("new_freq", new_freq)
        quality = V.check_choice("quality", quality, (None, *RESAMPLING_QUALITIES))
        given = {"lowpass_filter_width": lowpass_filter_width, "rolloff": rolloff,
                 "resampling_method": resampling_method, "beta": beta}
        if quality is not None:
            changed = [f"{key}={value!r}" for key, value in given.items()
                       if not (value == RESAMPLING_DEFAULTS[key] and type(value) is type(RESAMPLING_DEFAULTS[key]))]
            if changed:
                raise ValueError(
                    f"quality={quality!r} sets the filter arguments itself; leave them at their defaults or pass "
                    f"quality=None, received {', '.join(changed)}."
                )
            given = dict(RESAMPLING_QUALITIES[quality])
        lowpass_filter_width = V.check_int("lowpass_filter_width", given["lowpass_filter_width"], minimum=1,
                                           maximum=MAX_RESAMPLE_FILTER_WIDTH)
        rolloff = V.check_float("rolloff", given["rolloff"], exclusive_minimum=0.0, maximum=1.0)
        resampling_method = V.check_choice("resampling_method", given["resampling_method"],
                                           constants.RESAMPLING_METHODS)
        # I0(beta) overflows float64 above beta = 713; a Kaiser beta beyond 100 is a filter of nothing but its peak
        beta = V.check_float("beta", given["beta"], minimum=0.0, maximum=100.0, allow_none=True)
        if beta is not None and resampling_method != "sinc_interp_kaiser":
            raise ValueError(f"beta shapes the Kaiser window only: use resampling_method='sinc_interp_kaiser' or "
                             f"beta=None, received beta={beta!r} with resampling_method={resampling_method!r}.")
        gcd = math.gcd(orig_freq, new_freq)
        orig, new = orig_freq // gcd, new_freq // gcd
        width = constants.sinc_resample_width(orig, new, lowpass_filter_width, rolloff)
        values = new * (orig + 2 * width)
        if orig != new and values > MAX_RESAMPLE_KERNEL_VALUES:
            raise ValueError(
                f"Resampling from orig_freq={orig_freq!r} to new_freq={new_freq!r} Hz reduces to {orig} -> {new} "
                f"(their gcd is {gcd}): its kernel would hold {new} x {orig + 2 * width} = {values} values, more "
                "than 2**24 (128 MiB in float64), and cost as many multiply-adds per input sample. Use rates with "
                "a larger common divisor (resample in two steps) or a smaller lowpass_filter_width, received "
                f"lowpass_filter_width={lowpass_filter_width!r}."
            )
        return cls(orig_freq, new_freq, orig, new, lowpass_filter_width, rolloff, resampling_method, beta, width)

    @property
    def identity(self) -> bool:
        """Equal rates: the signal is returned unchanged (as torchaudio)."""
        return self.orig == self.new

    @property
    def phases(self) -> int:
        """Output phases computed per convolution step (:data:`MIN_RESAMPLE_STRIDE`)."""
        return -(-MIN_RESAMPLE_STRIDE // self.orig)

    def output_length(self, length: int | None) -> int | None:
        """``ceil(new_freq * length / orig_freq)`` output samples, in exact integer arithmetic (torchaudio rounds
        ``new * length / orig`` to float32 before its ceil, which gives one sample fewer at a few lengths, the first
        180,697 samples at 44.1 -> 16 kHz)."""
        if length is None or self.identity:
            return length
        return -(-self.new * length // self.orig)

    def build(self) -> np.ndarray:
        """The float64 kernel ``(new * phases, orig * phases + 2 * width)`` (:func:`constants.sinc_resample_kernel`
        of the rates grouped by :attr:`phases`)."""
        phases = self.phases
        return constants.sinc_resample_kernel(self.orig * phases, self.new * phases, self.lowpass_filter_width,
                                              self.rolloff, self.resampling_method, self.beta, width=self.width)


# ==== section: pcen (issue 18) ====
__all__ += ["PCENParams"]

PCEN_MIN_EPS = float(np.finfo(np.float32).tiny)  # 1.18e-38: below it eps is 0 in float32 (or flushed to 0)


@dataclass(frozen=True)
class PCENParams:
    """Per-channel energy normalisation as ``librosa.pcen`` (``gain``, ``bias``, ``power``, ``eps``, the smoothing
    coefficient ``b`` from ``time_constant`` seconds at ``sr`` Hz and ``hop_length`` samples per frame, or
    ``smooth_coef`` given; ``max_size``), and whether LEAF's trainable form holds them as weights (``learnable``,
    one per band when ``per_band``)."""

    sr: float
    hop_length: int
    gain: float
    bias: float
    power: float
    time_constant: float
    eps: float
    b: float  # the smoothing coefficient: smooth_coef, or the one time_constant gives
    max_size: int
    learnable: bool
    per_band: bool

    @classmethod
    def resolve(cls, sr=22050, hop_length=512, gain=0.98, bias=2.0, power=0.5, time_constant=0.4, eps=1e-6,
                smooth_coef=None, max_size=1, learnable=False, per_band=True) -> PCENParams:
        sr = V.check_sample_rate("sr", sr)
        hop_length = V.check_int("hop_length", hop_length, minimum=1, maximum=V.MAX_SAMPLES)
        gain = V.check_float("gain", gain, minimum=0.0)
        bias = V.check_float("bias", bias, minimum=0.0)
        power = V.check_float("power", power, minimum=0.0)
        time_constant = V.check_float("time_constant", time_constant, exclusive_minimum=0.0)
        eps = V.check_float("eps", eps, exclusive_minimum=0.0)
        if eps < PCEN_MIN_EPS:
            raise ValueError(f"eps must be at least {PCEN_MIN_EPS:.4g} (float32's smallest normal number; below it "
                             f"eps is 0 and the smoother's logarithm -inf), received eps={eps!r}.")
        smooth_coef = V.check_float("smooth_coef", smooth_coef, minimum=0.0, maximum=1.0, allow_none=True)
        max_size = V.check_int("max_size", max_size, minimum=1, maximum=V.MAX_COUNT)
        learnable = V.check_bool("learnable", learnable)
        per_band = V.check_bool("per_band", per_band)
        if learnable and power == 0:
            raise ValueError("learnable=True trains root = 1 / power (LEAF's form): power must be > 0, received "
                             "power=0.0 (the logarithmic compression has no root to train).")
        if learnable and bias == 0:
            raise ValueError("learnable=True trains delta = bias, which enters as delta**(1 / root) (LEAF's form), "
                             "whose gradient is infinite at 0: bias must be > 0, received bias=0.0.")
        b = smooth_coef if smooth_coef is not None else constants.pcen_smooth_coefficient(time_constant, sr,
                                                                                          hop_length)
        return cls(sr, hop_length, gain, bias, power, time_constant, eps, b, max_size, learnable, per_band)


# ==== end section: pcen ====


# ==== section: leaf (issue 18) ====
__all__ += ["Leaf", "LEAF_COMPRESSIONS"]

LEAF_COMPRESSIONS = ("pcen", "log", None)


@dataclass(frozen=True)
class Leaf:
    """LEAF's front-end (Zeghidour et al., ICLR 2021; ``leaf_audio.frontend.Leaf``) resolved: the Gabor filters'
    and the pooling's length ``kernel_size`` and the pooling ``stride`` in samples (LEAF's rounding of
    ``window_len`` / ``window_stride`` milliseconds), the filters' initial parameters fitted to a mel filterbank,
    the Gaussian pooling's initial width and the compression."""

    n_filters: int
    sample_rate: float
    window_len: float
    window_stride: float
    min_freq: float
    max_freq: float
    pooling_init: float
    compression: str | None
    kernel_size: int
    stride: int

    @classmethod
    def resolve(cls, n_filters=40, sample_rate=16000, window_len=25.0, window_stride=10.0, min_freq=60.0,
                max_freq=7800.0, pooling_init=0.4, compression="pcen", *,
                names: dict[str, str] | None = None) -> Leaf:
        name = _namer(names)
        n_filters = V.check_int(name("n_filters"), n_filters, minimum=1, maximum=V.MAX_COUNT)
        sample_rate = V.check_sample_rate(name("sample_rate"), sample_rate)
        window_len = V.check_float(name("window_len"), window_len, exclusive_minimum=0.0)
        window_stride = V.check_float(name("window_stride"), window_stride, exclusive_minimum=0.0)
        kernel_size = constants.leaf_window_samples(sample_rate, window_len)
        if kernel_size > V.MAX_SAMPLES:
            raise ValueError(f"{name('window_len')} must be at most 2**24 samples long ({kernel_size} at "
                             f"{name('sample_rate')}={sample_rate:g}), received {name('window_len')}={window_len!r} "
                             "(milliseconds).")
        stride = constants.leaf_stride_samples(sample_rate, window_stride)
        if not 1 <= stride <= V.MAX_SAMPLES:
            raise ValueError(
                f"{name('window_stride')} must be from one sample to 2**24 samples at {name('sample_rate')}="
                f"{sample_rate:g} (from {1000.0 / sample_rate:g} ms), received {name('window_stride')}="
                f"{window_stride!r} (milliseconds: {stride} samples)."
            )
        min_freq = V.check_float(name("min_freq"), min_freq, minimum=0.0)
        max_freq = V.check_float(name("max_freq"), max_freq, exclusive_minimum=0.0)
        if not min_freq < max_freq <= sample_rate / 2.0:
            raise ValueError(
                f"{name('min_freq')} < {name('max_freq')} <= {name('sample_rate')} / 2 = {sample_rate / 2.0:g} Hz "
                f"is required, received {name('min_freq')}={min_freq!r}, {name('max_freq')}={max_freq!r}."
            )
        pooling_init = V.check_float(name("pooling_init"), pooling_init, exclusive_minimum=0.0, maximum=0.5)
        if compression not in LEAF_COMPRESSIONS:
            raise ValueError(f"{name('compression')} must be one of {list(LEAF_COMPRESSIONS)}, received "
                             f"{name('compression')}={compression!r}.")
        return cls(n_filters, sample_rate, window_len, window_stride, min_freq, max_freq, pooling_init, compression,
                   kernel_size, stride)

    def num_frames(self, length: int | None) -> int | None:
        """``ceil(length / stride)``: the pooling's ``'same'`` padding (as TensorFlow's)."""
        return None if length is None else -(-length // self.stride)

    def pooling_padding(self, length: int) -> tuple[int, int]:
        """The zeros TensorFlow's ``'same'`` padding puts before and after the ``length`` filter outputs for the
        pooling: ``max((frames - 1) * stride + kernel_size - length, 0)`` in all, the smaller half before."""
        total = max((self.num_frames(length) - 1) * self.stride + self.kernel_size - length, 0)
        return total // 2, total - total // 2

    @property
    def filter_reach(self) -> int:
        """How far the ``'same'``-padded filters read beyond either end of the signal: ``(kernel_size - 1) // 2``
        taps before the output sample (TensorFlow's smaller half), ``kernel_size // 2`` after."""
        return self.kernel_size // 2

    def fft_length(self, length: int) -> int:
        """The FFT size of the filtering: the smallest fast size (:func:`constants.fast_fft_length`) at which the
        circular convolution of ``length`` samples with the filters wraps onto nothing but zeros."""
        return constants.fast_fft_length(length + self.filter_reach)

    def gabor_init(self) -> np.ndarray:
        """``(n_filters, 2)``: LEAF's initial centre frequencies (radians per sample) and envelope standard
        deviations (samples), fitted to a 512-point mel filterbank (:func:`constants.gabor_init_from_mels`)."""
        return constants.gabor_init_from_mels(self.n_filters, self.sample_rate, self.min_freq, self.max_freq)

    def pooling_init_values(self) -> np.ndarray:
        """``(n_filters,)``: every Gaussian pooling window's initial width (its standard deviation as a fraction of
        half the window), ``pooling_init``."""
        return np.full(self.n_filters, self.pooling_init)


# ==== end section: leaf ====


# ==== section: sincconv (issue 18) ====
SINC_PADDINGS = ("valid", "same")


@dataclass(frozen=True)
class SincFilters:
    """SincNet's band-pass filterbank and its convolution (:class:`kapre.SincConv`): ``filters`` windowed sinc
    band-pass filters of ``kernel_size`` taps (odd) at ``sample_rate`` Hz, applied at ``stride`` with ``padding``
    (Keras' ``Conv1D`` rule) and ``dilation``; cut-offs kept ``>= min_low_hz`` and bands ``>= min_band_hz``."""

    filters: int = 80
    kernel_size: int = 251
    sample_rate: float = 16000.0
    stride: int = 1
    padding: str = "valid"
    dilation: int = 1
    min_low_hz: float = 50.0
    min_band_hz: float = 50.0

    @classmethod
    def resolve(cls, filters=80, kernel_size=251, sample_rate=16000, stride=1, padding="valid", dilation=1,
                min_low_hz=50.0, min_band_hz=50.0) -> SincFilters:
        filters = V.check_int("filters", filters, minimum=1, maximum=V.MAX_COUNT)
        kernel_size = V.check_int("kernel_size", kernel_size, minimum=3, maximum=V.MAX_SAMPLES)
        if kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be odd: SincNet's filters are symmetric about a centre tap (SincNet itself rounds "
                f"an even size up by one), received kernel_size={kernel_size!r}; use kernel_size={kernel_size + 1}."
            )
        sample_rate = V.check_sample_rate("sample_rate", sample_rate)
        stride = V.check_int("stride", stride, minimum=1, maximum=V.MAX_SAMPLES)
        padding = V.check_choice("padding", padding, SINC_PADDINGS)
        dilation = V.check_int("dilation", dilation, minimum=1, maximum=V.MAX_SAMPLES)
        if stride > 1 and dilation > 1:
            raise ValueError(
                "stride > 1 together with dilation > 1 is not supported (as in Keras' Conv1D), received "
                f"stride={stride!r}, dilation={dilation!r}."
            )
        if (kernel_size - 1) * dilation + 1 > V.MAX_SAMPLES:
            raise ValueError(
                f"The dilated kernel spans (kernel_size - 1) * dilation + 1 = {(kernel_size - 1) * dilation + 1} "
                f"samples, more than {V.MAX_SAMPLES}, received kernel_size={kernel_size!r}, dilation={dilation!r}."
            )
        min_low_hz = V.check_float("min_low_hz", min_low_hz, minimum=0.0)
        min_band_hz = V.check_float("min_band_hz", min_band_hz, exclusive_minimum=0.0)
        top = sample_rate / 2.0 - (min_low_hz + min_band_hz)
        if top <= constants.SINCNET_INIT_LOW_HZ:
            raise ValueError(
                f"min_low_hz + min_band_hz must stay below sample_rate / 2 - {constants.SINCNET_INIT_LOW_HZ:g} Hz: "
                f"SincNet's initial filterbank spans {constants.SINCNET_INIT_LOW_HZ:g} Hz to sample_rate / 2 - "
                f"(min_low_hz + min_band_hz), received min_low_hz={min_low_hz!r}, min_band_hz={min_band_hz!r}, "
                f"sample_rate={sample_rate!r}."
            )
        return cls(filters, kernel_size, sample_rate, stride, padding, dilation, min_low_hz, min_band_hz)

    @property
    def span(self) -> int:
        """Input samples one output sample reads: ``(kernel_size - 1) * dilation + 1``."""
        return (self.kernel_size - 1) * self.dilation + 1

    def output_length(self, length: int | None) -> int | None:
        """Output samples for ``length`` input samples: ``ceil(length / stride)`` with ``'same'``, ``(length -
        span) // stride + 1`` with ``'valid'`` (a ``ValueError`` below one span, as Keras' ``Conv1D``)."""
        if length is None:
            return None
        if self.padding == "same":
            return -(-length // self.stride)
        self.check_length(length)
        return (length - self.span) // self.stride + 1

    def check_length(self, length: int | None, layer_name: str = "SincConv") -> None:
        if length is not None and self.padding == "valid" and length < self.span:
            reach = f"kernel_size={self.kernel_size}" + (f", dilation={self.dilation}" if self.dilation > 1 else "")
            raise ValueError(
                f"{layer_name} with padding='valid' needs at least {self.span} samples ({reach}), received an input "
                f"of {length} samples: use a longer signal or padding='same'."
            )

    def initial_bands(self) -> tuple[np.ndarray, np.ndarray]:
        """SincNet's initial ``(low_hz_, band_hz_)`` (:func:`kapre.constants.sincnet_initial_bands`), float64."""
        return constants.sincnet_initial_bands(self.filters, self.sample_rate, self.min_low_hz, self.min_band_hz)


__all__ += ["SINC_PADDINGS", "SincFilters"]
# ==== end section: sincconv ====


# ==== section: inversion (issue 18) ====
GRIFFIN_LIM_INITS = ("random", "zeros")
MAX_SEED = 2**31 - 1
MAX_INVERSION_ITERATIONS = 10_000  # each is an STFT and an inverse STFT (Griffin-Lim) or two matrix products
MAX_OUTPUT_LENGTH = 2**31 - 1  # samples of a reconstructed signal (int32 indexing)
INVERSE_LOGS = ("db", "natural", "log10", None)


@dataclass(frozen=True, eq=False)
class GriffinLimOptions:
    """Griffin-Lim's settings: the STFT's :class:`Framing` the magnitudes came from, the iterations (``n_iter``,
    ``momentum``), the initial phase (``init``, ``seed``), the output ``length`` and the input's ``power``; and
    the integer arithmetic of frames and samples."""

    framing: Framing
    n_iter: int = 32
    momentum: float = 0.99
    init: str = "random"
    seed: int | None = None
    length: int | None = None
    power: float = 1.0

    @classmethod
    def resolve(cls, n_fft=2048, win_length=None, hop_length=None, window="hann", *, center=True,
                pad_mode="constant", pad_begin=False, pad_end=False, n_iter=32, momentum=0.99, init="random",
                seed=None, length=None, power=1.0, names: dict[str, str] | None = None) -> GriffinLimOptions:
        """Checks every argument (messages name it as ``names`` says); warns for ``momentum > 1`` as librosa."""
        name = _namer(names)
        framing = Framing.resolve(n_fft, win_length, hop_length, window, center=center, pad_mode=pad_mode,
                                  pad_begin=pad_begin, pad_end=pad_end, names=names)
        n_iter = V.check_int(name("n_iter"), n_iter, minimum=0, maximum=MAX_INVERSION_ITERATIONS)
        momentum = V.check_float(name("momentum"), momentum, minimum=0.0)
        if momentum > 1:
            import warnings

            warnings.warn(f"Griffin-Lim with {name('momentum')}={momentum} > 1 can be unstable (librosa's warning).",
                          UserWarning, stacklevel=3)
        init = V.check_choice(name("init"), init, GRIFFIN_LIM_INITS)
        seed = V.check_int(name("seed"), seed, minimum=0, maximum=MAX_SEED, allow_none=True)
        length = V.check_int(name("length"), length, minimum=1, maximum=MAX_OUTPUT_LENGTH, allow_none=True)
        if isinstance(power, bool) or power not in (1, 2, 1.0, 2.0):
            raise ValueError(f"{name('power')} must be 1.0 (magnitude) or 2.0 (power spectrogram), received "
                             f"{name('power')}={power!r}.")
        return cls(framing, n_iter, momentum, init, seed, length, float(power))

    @property
    def signal_offsets(self) -> tuple[int, int, int]:
        """``(start, end_trim, end_pad)``: the signal is ``y[start : len(y) - end_trim]`` of the overlap-added
        ``(frames - 1) * hop_length + frame_length`` samples ``y``, zero-padded by ``end_pad`` at the end.
        Centred: the ``n_fft // 2`` padded samples at both ends; else the ``pad_begin`` zeros at the start and, with
        ``pad_end``, ``frames * hop_length`` samples in all (the longest signal with that many frames)."""
        f = self.framing
        if f.center:
            return f.n_fft // 2, f.n_fft // 2, 0
        if f.pad_end:
            return f.begin_padding, max(0, f.win_length - f.hop_length), max(0, f.hop_length - f.win_length)
        return f.begin_padding, 0, 0

    def natural_length(self, frames: int | None) -> int | None:
        """Samples of the signal ``frames`` frames are inverted to without ``length``: librosa's ``istft`` length
        when centred (``(frames - 1) * hop_length``, one more for an odd ``n_fft``), else the samples the frames
        cover less the ``pad_begin`` zeros (``frames * hop_length`` of them with ``pad_end``)."""
        if frames is None:
            return None
        start, end_trim, end_pad = self.signal_offsets
        covered = (frames - 1) * self.framing.hop_length + self.framing.frame_length - start - end_trim + end_pad
        return max(0, covered)  # frames that read only pad_begin's zeros: no sample of the signal to rebuild

    def num_samples(self, frames: int | None) -> int | None:
        """Output samples: ``length`` if given, else :meth:`natural_length`."""
        return self.length if self.length is not None else self.natural_length(frames)

    def check_frames(self, layer_name: str, frames: int | None, n_fft_name: str = "n_fft") -> None:
        """A ``ValueError`` if no signal gives ``frames`` frames with this framing, or ``length`` gives another
        number of frames (the iterations frame the estimate as the magnitudes were framed)."""
        if frames is None:
            return
        f = self.framing
        natural = self.natural_length(frames)
        if frames < 1 or f.num_frames(natural) != frames:
            raise ValueError(
                f"{layer_name} received a spectrogram of {frames} frames, which no signal gives with {n_fft_name}="
                f"{f.n_fft}, win_length={f.win_length}, hop_length={f.hop_length}, center={f.center}, pad_begin="
                f"{f.pad_begin}, pad_end={f.pad_end} (at least {self._fewest_frames()} frames)."
            )
        if self.length is not None and f.num_frames(self.length) != frames:
            raise ValueError(
                f"{layer_name} with length={self.length} frames a signal of that length into "
                f"{f.num_frames(self.length)} frames, but received a spectrogram of {frames} frames: length must be "
                "the length of the signal the spectrogram was computed from (or None)."
            )
        f.check_length(layer_name, natural if self.length is None else self.length,
                       "Griffin-Lim reframes its estimate as the STFT did: use pad_mode='constant' or more frames.")

    def _fewest_frames(self) -> int:
        f = self.framing
        if f.center:
            return 1
        return max(1, f.num_frames(max(0, f.win_length - f.begin_padding)) or 1)


@dataclass(frozen=True)
class MelInversion:
    """:class:`kapre.InverseMel`'s settings: the mel filterbank (:class:`MelFilterbank` for ``n_fft // 2 + 1``
    bins), the spectrogram's ``power`` and the solver's ``n_iter``."""

    filterbank: MelFilterbank
    n_fft: int
    power: float = 2.0
    n_iter: int = 100

    @classmethod
    def resolve(cls, sample_rate=22050, n_fft=2048, n_mels=128, f_min=0.0, f_max=None, htk=False, norm="slaney",
                power=2.0, n_iter=100, *, names: dict[str, str] | None = None) -> MelInversion:
        name = _namer(names)
        n_fft = V.check_int(name("n_fft"), n_fft, minimum=2, maximum=V.MAX_SAMPLES)
        filterbank = MelFilterbank.resolve(sample_rate, n_fft // 2 + 1, n_mels, f_min, f_max, htk, norm,
                                           names=names)
        power = V.check_float(name("power"), power, exclusive_minimum=0.0, maximum=V.MAX_POWER)
        n_iter = V.check_int(name("n_iter"), n_iter, minimum=0, maximum=MAX_INVERSION_ITERATIONS)
        return cls(filterbank, n_fft, power, n_iter)

    @property
    def n_freq(self) -> int:
        return self.n_fft // 2 + 1

    def build(self) -> dict:
        """:func:`kapre.constants.mel_inversion_tables` of the filterbank (NumPy, float64)."""
        return constants.mel_inversion_tables(self.filterbank.build())


@dataclass(frozen=True)
class MfccInversion:
    """MFCCs back to a mel spectrogram (:class:`kapre.MFCCToMel`, :func:`kapre.functional.mfcc_to_mel`): the inverse
    DCT-II (``norm`` as :func:`kapre.constants.dct_matrix`: ``None`` kapre/``tf.signal``, ``'ortho'``,
    ``'backward'`` scipy's/librosa's ``norm=None``) of ``n_mfcc`` coefficients zero-padded to ``n_mels``, the
    lifter undone, then the logarithm ``log`` undone and scaled by ``ref``."""

    n_mfcc: int
    n_mels: int = 128
    norm: str | None = None
    lifter: float = 0.0
    log: str | None = "db"
    ref: float = 1.0

    @classmethod
    def resolve(cls, n_mfcc, n_mels=128, norm=None, lifter=0.0, log="db", ref=1.0, dct_type=2, *,
                names: dict[str, str] | None = None) -> MfccInversion:
        name = _namer(names)
        n_mels = V.check_int(name("n_mels"), n_mels, minimum=1, maximum=V.MAX_COUNT)
        n_mfcc = V.check_int(name("n_mfcc"), n_mfcc, minimum=1, maximum=V.MAX_COUNT)
        if n_mfcc > n_mels:
            raise ValueError(f"{n_mfcc} MFCCs cannot come from {name('n_mels')}={n_mels} mel bands (the DCT of "
                             f"{n_mels} values has {n_mels} coefficients); received {name('n_mels')}={n_mels!r}.")
        if isinstance(dct_type, bool) or dct_type != 2:
            raise ValueError(f"{name('dct_type')} must be 2 (the DCT-II of every kapre MFCC), received "
                             f"{name('dct_type')}={dct_type!r}.")
        norm = V.check_choice(name("norm"), norm, (None, "ortho", "backward"))
        lifter = V.check_float(name("lifter"), lifter, minimum=0.0)
        log = V.check_choice(name("log"), log, INVERSE_LOGS)
        ref = V.check_float(name("ref"), ref, exclusive_minimum=0.0, maximum=V.FLOAT32_MAX)
        if log is None and ref != 1.0:
            raise ValueError(f"{name('ref')} scales the power a logarithm is undone to: with {name('log')}=None "
                             f"(the log-mel spectrogram returned as it is) it must be 1.0, received {name('ref')}="
                             f"{ref!r}.")
        constants.inverse_dct_matrix(n_mfcc, n_mels, norm, lifter)  # raises for a lifter weight of 0
        return cls(n_mfcc, n_mels, norm, lifter, log, ref)

    def build(self) -> np.ndarray:
        """:func:`kapre.constants.inverse_dct_matrix`, ``(n_mfcc, n_mels)``, float64."""
        return constants.inverse_dct_matrix(self.n_mfcc, self.n_mels, self.norm, self.lifter)


__all__ += ["GriffinLimOptions", "MelInversion", "MfccInversion", "GRIFFIN_LIM_INITS", "INVERSE_LOGS"]
# ==== end section: inversion ====
