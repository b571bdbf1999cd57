"""Plotting kapre's outputs with matplotlib (an optional dependency: ``pip install "kapre[cli]"``).

kapre's spectrograms are ``(time, freq)`` per channel (``channels_last`` output of one example is
``(time, freq, channels)``), the transpose of librosa's ``(freq, time)``. :func:`specshow` takes kapre's layout.

Example:
    >>> import matplotlib.pyplot as plt  # doctest: +SKIP
    >>> from kapre.composed import get_melspectrogram_layer  # doctest: +SKIP
    >>> from kapre.plot import specshow  # doctest: +SKIP
    >>> mel = get_melspectrogram_layer(n_fft=2048, hop_length=512, sample_rate=22050, return_decibel=True,
    ...     input_data_format='channels_last', output_data_format='channels_last')  # doctest: +SKIP
    >>> S = mel(audio[None, :, None])[0, :, :, 0]  # doctest: +SKIP
    >>> fig, ax = plt.subplots()  # doctest: +SKIP
    >>> specshow(S, sr=22050, hop_length=512, n_fft=2048, y_axis='mel', ax=ax, colorbar='dB')  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from kapre import constants

__all__ = ["specshow", "waveshow", "note_name", "PITCH_CLASSES"]

_Y_AXES = ("linear", "hz", "log", "mel", "cqt_hz", "logfreq", "cqt_note", "chroma", "coef", None)
_C1_HZ = 32.70319566257483  # librosa.note_to_hz('C1')
# Pitch classes from C, as librosa.midi_to_note(..., unicode=False) names them (sharps).
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_name(frequency: float, octave: bool = True, cents: bool = False) -> str:
    """The nearest equal-tempered note of ``frequency`` (Hz, A4 = 440 Hz) as librosa's ``hz_to_note`` names it
    (``'C1'``, ``'A#4'``; without the octave with ``octave=False``; with the deviation in cents, ``'A4+12'``, with
    ``cents=True``)."""
    midi = 12.0 * np.log2(float(frequency) / 440.0) + 69.0
    nearest = int(np.round(midi))
    name = PITCH_CLASSES[nearest % 12] + (str(nearest // 12 - 1) if octave else "")
    if cents:
        deviation = int(np.round(100 * (midi - nearest)))
        name += f"{deviation:+d}" if deviation else ""
    return name


def _pyplot():
    try:
        import matplotlib

        if not hasattr(matplotlib, "_kapre_backend_set"):
            # A file-writing backend unless the user already chose one (or is in a notebook).
            import sys

            if "matplotlib.pyplot" not in sys.modules and "ipykernel" not in sys.modules:
                matplotlib.use("Agg")
            matplotlib._kapre_backend_set = True
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            "kapre.plot needs matplotlib, which is not installed. Install it with: "
            'pip install "kapre[cli]"  (or: pip install matplotlib)'
        ) from err
    return plt


def _to_numpy(values) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values
    try:
        return np.asarray(values)
    except Exception:  # a backend tensor that NumPy cannot read directly (e.g. a torch tensor on a GPU)
        import keras

        return np.asarray(keras.ops.convert_to_numpy(values))


def _as_time_freq(S) -> np.ndarray:
    S = _to_numpy(S)
    if S.ndim == 4 and S.shape[0] == 1:
        S = S[0]
    if S.ndim == 3 and S.shape[-1] == 1:
        S = S[..., 0]
    if S.ndim != 2:
        raise ValueError(
            f"specshow takes one spectrogram of shape (time, freq) (kapre's layout; (1, time, freq, 1) and "
            f"(time, freq, 1) are squeezed), received shape {S.shape}. Select a channel first, e.g. S[0, :, :, c]."
        )
    if np.iscomplexobj(S):
        raise ValueError("specshow draws real values; take the magnitude (kapre.Magnitude) or the phase first.")
    return S


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges half-way between centres, extended by half a step at both ends."""
    if centres.size == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    middle = (centres[:-1] + centres[1:]) / 2
    return np.concatenate([[2 * centres[0] - middle[0]], middle, [2 * centres[-1] - middle[-1]]])


def _hz_formatter():
    from matplotlib.ticker import FuncFormatter

    def fmt(value, _pos=None):
        if value >= 1000:
            return f"{value / 1000:g}k"
        return f"{value:g}"

    return FuncFormatter(fmt)


def _note_ticks(low: float, high: float) -> np.ndarray:
    """Tick frequencies of a ``'cqt_note'`` axis from ``low`` to ``high`` Hz: every C (C0 .. C10), or every natural
    note when fewer than two Cs fall in the range (every semitone below a few notes)."""
    midi = np.arange(0, 140)
    freqs = 440.0 * 2.0 ** ((midi - 69) / 12.0)
    inside = (freqs >= low) & (freqs <= high)
    for pitch_classes in ((0,), (0, 2, 4, 5, 7, 9, 11), tuple(range(12))):
        chosen = inside & np.isin(midi % 12, pitch_classes)
        if chosen.sum() >= 2:
            return freqs[chosen]
    return freqs[inside]


def specshow(
    S,
    sr: float = 22050,
    hop_length: int = 512,
    n_fft: int | None = None,
    y_axis: str | None = "linear",
    x_axis: str | None = "time",
    ax=None,
    fmin: float | None = None,
    fmax: float | None = None,
    htk: bool = False,
    bins_per_octave: int = 12,
    center: bool = False,
    tuning: float = 0.0,
    n_chroma: int | None = None,
    cmap: str = "magma",
    colorbar: str | bool | None = None,
    **kwargs,
):
    """Draw a spectrogram-like array onto a matplotlib Axes, with axes in seconds and Hz.

    Args:
        S: one spectrogram, ``(time, freq)`` as kapre outputs it (``(time, freq, 1)`` and ``(1, time, freq, 1)``
            are accepted): an STFT magnitude, mel or log-frequency spectrogram (in dB or not) or MFCCs.
        sr: sample rate of the audio (Hz).
        hop_length: hop between frames (samples).
        n_fft: FFT size; used to place frame ``t`` at its window's centre (``t * hop + n_fft / 2`` when
            ``center=False``, kapre's default framing). ``None`` places frame ``t`` at ``t * hop``.
        y_axis: what the second axis of ``S`` holds:

            - ``'linear'`` (or ``'hz'``): STFT bins ``0 .. sr / 2`` on a linear Hz axis;
            - ``'log'``: STFT bins on a logarithmic Hz axis;
            - ``'mel'``: mel bands from ``fmin`` (default 0) to ``fmax`` (default ``sr / 2``), evenly spaced on the
              axis and labelled in Hz (``htk`` selects the mel formula);
            - ``'cqt_hz'`` (or ``'logfreq'``): kapre's log-frequency bins or a constant-Q transform's
              (``kapre.CQT``, ``kapre.VQT``), ``fmin * 2 ** ((i + tuning) / bins_per_octave)`` (``fmin`` defaults to
              C1 = 32.70 Hz), on a logarithmic Hz axis;
            - ``'cqt_note'``: the same axis labelled with note names (``C1``, ``C2``, ... at each C; every natural
              note, ``C4``, ``D4``, ..., when the bins span less than two octaves), as ``librosa.display.specshow``'s
              ``'cqt_note'``;
            - ``'chroma'``: pitch classes (``kapre.Chroma``), ``n_chroma`` bins per octave from C, labelled ``C``,
              ``C#``, ``D``, ... (``librosa.display.specshow``'s ``'chroma'``);
            - ``'coef'`` or ``None``: bin index (e.g. MFCC coefficients).
        x_axis: ``'time'`` (seconds) or ``None`` (frame index).
        ax: the Axes to draw on (default: the current Axes).
        fmin, fmax: frequency range for ``'mel'``; ``fmin`` the first bin of ``'cqt_hz'`` and ``'cqt_note'``.
        htk: HTK mel formula (as the layer's ``mel_htk``).
        bins_per_octave: for ``'cqt_hz'`` and ``'cqt_note'``.
        center: the frames were taken with ``STFT(center=True)`` (frame ``t`` centred at ``t * hop``); constant-Q
            transforms' frames are centred: ``center=True`` (or ``n_fft=None``) for them.
        tuning: the bins' deviation from A440 in fractions of a bin (the layer's ``tuning``), for ``'cqt_hz'`` and
            ``'cqt_note'``.
        n_chroma: chroma bins per octave for ``'chroma'`` (default: the bins of ``S``).
        cmap: colour map.
        colorbar: ``True`` or a label (e.g. ``'dB'``) to add a colour bar next to ``ax``.
        **kwargs: passed to ``Axes.pcolormesh`` (``vmin``, ``vmax``, ...).

    Returns:
        The ``QuadMesh`` drawn (pass it to ``fig.colorbar``).
    """
    plt = _pyplot()
    if y_axis not in _Y_AXES:
        raise ValueError(f"y_axis must be one of {list(_Y_AXES)}, received y_axis={y_axis!r}.")
    if x_axis not in ("time", "s", None):
        raise ValueError(f"x_axis must be 'time' or None, received x_axis={x_axis!r}.")
    S = _as_time_freq(S)
    n_frames, n_bins = S.shape
    ax = plt.gca() if ax is None else ax

    # -- time axis
    if x_axis is None:
        x = np.arange(n_frames + 1) - 0.5
        ax.set_xlabel("frame")
    else:
        offset = 0.0 if (center or n_fft is None) else n_fft / 2
        x = _edges((np.arange(n_frames) * hop_length + offset) / sr)
        x = np.maximum(x, 0.0)
        ax.set_xlabel("time (s)")

    # -- frequency axis
    y_scale = "linear"
    formatter = None
    log_ticks = None
    if y_axis in ("linear", "hz", "log"):
        fft_size = 2 * (n_bins - 1) if n_bins > 1 else 1
        y = _edges(np.arange(n_bins) * sr / fft_size)
        y[0] = 0.0
        ax.set_ylabel("frequency (Hz)")
        if y_axis == "log":
            y[0] = y[1] / 2 if n_bins > 1 else 1.0
            y_scale = "log"
            log_ticks = np.array([32, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000], dtype=float)
        formatter = _hz_formatter()
    elif y_axis == "mel":
        lo = 0.0 if fmin is None else fmin
        hi = sr / 2 if fmax is None else fmax
        mel_lo, mel_hi = constants.hz_to_mel(lo, htk=htk), constants.hz_to_mel(hi, htk=htk)
        step = (mel_hi - mel_lo) / (n_bins + 1)  # band i peaks at the (i + 1)-th of n_bins + 2 mel points
        y = _edges(mel_lo + step * (np.arange(n_bins) + 1.0))
        ax.set_ylabel("frequency (Hz, mel scale)")
        from matplotlib.ticker import FixedLocator

        candidates = np.array([0, 250, 500, 1000, 2000, 4000, 8000, 16000], dtype=float)
        candidates = candidates[(candidates >= lo) & (candidates <= hi)]
        ax.yaxis.set_major_locator(FixedLocator(constants.hz_to_mel(candidates, htk=htk)))
        from matplotlib.ticker import FuncFormatter

        hz = _hz_formatter()
        formatter = FuncFormatter(lambda m, pos=None: hz(float(constants.mel_to_hz(m, htk=htk)), pos))
    elif y_axis in ("cqt_hz", "logfreq", "cqt_note"):
        lo = (_C1_HZ if fmin is None else fmin) * 2.0 ** (float(tuning) / bins_per_octave)
        y = lo * 2.0 ** ((np.arange(n_bins + 1) - 0.5) / bins_per_octave)
        y_scale = "log"
        if y_axis == "cqt_note":
            ax.set_ylabel("note")
            log_ticks = _note_ticks(y[0], y[-1])
            from matplotlib.ticker import FuncFormatter

            formatter = FuncFormatter(lambda f, _pos=None: note_name(f) if f > 0 else "")
        else:
            ax.set_ylabel("frequency (Hz, log scale)")
            formatter = _hz_formatter()
            log_ticks = np.array([16, 32, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000], dtype=float)
    elif y_axis == "chroma":
        per_octave = n_bins if n_chroma is None else int(n_chroma)
        if per_octave < 1:
            raise ValueError(f"n_chroma must be a positive integer, received n_chroma={n_chroma!r}.")
        step = 12.0 / per_octave  # semitones per chroma bin; bin i is centred on i * step semitones above C
        y = (np.arange(n_bins + 1) - 0.5) * step
        ax.set_ylabel("pitch class")
        from matplotlib.ticker import FixedLocator, FuncFormatter

        semitones = np.arange(int(np.floor(y[0])), int(np.ceil(y[-1])) + 1)
        semitones = semitones[(semitones >= y[0]) & (semitones <= y[-1])]
        ax.yaxis.set_major_locator(FixedLocator(semitones.astype(float)))
        formatter = FuncFormatter(lambda v, _pos=None: PITCH_CLASSES[int(np.round(v)) % 12])
    else:
        y = np.arange(n_bins + 1) - 0.5
        ax.set_ylabel("coefficient" if y_axis == "coef" else "bin")

    kwargs.setdefault("rasterized", True)
    mesh = ax.pcolormesh(x, y, S.T, cmap=cmap, shading="flat", **kwargs)
    if y_scale == "log":
        from matplotlib.ticker import FixedLocator

        ax.set_yscale("log", base=2)
        ax.yaxis.set_major_locator(FixedLocator(log_ticks[(log_ticks >= y[0]) & (log_ticks <= y[-1])]))
    if formatter is not None:
        ax.yaxis.set_major_formatter(formatter)
        ax.yaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(y[0], y[-1])
    if colorbar:
        cbar = ax.figure.colorbar(mesh, ax=ax, pad=0.01)
        if isinstance(colorbar, str):
            cbar.set_label(colorbar)
    return mesh


def waveshow(y, sr: float = 22050, ax=None, color: str = "steelblue", max_points: int = 20000):
    """Draw a waveform ``(time,)`` or ``(time, channels)`` against seconds (channels overlaid).

    Long signals are drawn as their min/max envelope over ``max_points`` columns.

    Returns:
        The Axes.
    """
    plt = _pyplot()
    ax = plt.gca() if ax is None else ax
    y = _to_numpy(y)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2:
        raise ValueError(f"waveshow takes (time,) or (time, channels), received shape {y.shape}.")
    n = y.shape[0]
    for c in range(y.shape[1]):
        channel = y[:, c]
        if n > max_points:
            step = int(np.ceil(n / (max_points // 2)))
            usable = (n // step) * step
            blocks = channel[:usable].reshape(-1, step)
            t = (np.arange(blocks.shape[0]) * step + step / 2) / sr
            ax.fill_between(t, blocks.min(axis=1), blocks.max(axis=1), color=color, alpha=0.8 / y.shape[1] + 0.2,
                            linewidth=0)
        else:
            ax.plot(np.arange(n) / sr, channel, color=color, linewidth=0.5)
    ax.set_xlim(0, n / sr)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")
    return ax
