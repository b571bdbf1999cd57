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
    "FILTERBANKS",
    "build_filterbank",
    "check_window",
    "serializable_window",
    "too_short_error",
    "prefixed",
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
    """Window names stay strings; an array window is kept as a list so the config is JSON."""
    if window is None or isinstance(window, str):
        return window
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
        if length is None:
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
