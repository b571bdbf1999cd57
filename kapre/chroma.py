"""``kapre.Chroma``: chromagrams (energy per pitch class) from an STFT or a CQT, as ``librosa.feature.chroma_stft`` and
``librosa.feature.chroma_cqt``.

``source='stft'``: the power STFT (librosa's framing: frames of ``n_fft`` samples, the window centred in them,
``center=True`` pads ``n_fft // 2`` samples at both ends) mapped through the chroma filterbank of
:func:`kapre.constants.chroma_filterbank`. ``source='cqt'``: the CQT magnitude of :func:`kapre.functional.cqt`
(``n_octaves * bins_per_octave`` bins from ``fmin``) folded onto the pitch classes
(:func:`kapre.constants.cq_to_chroma_matrix`), values below ``threshold`` zeroed. Then each frame is divided by its
``norm`` (:func:`kapre.functional.normalize`, librosa's ``util.normalize``).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kapre import _backend, functional
from kapre import _validation as V
from kapre._frames import num_frames
from kapre._layer import WAVEFORM, KapreLayer
from kapre.params import ChromaFilterbank, CqChroma, Framing, check_vector_norm, too_short_error

__all__ = ["Chroma"]

SOURCES = ("stft", "cqt")
# The arguments that only one source reads, with their defaults: the other source refuses a value different from it.
_STFT_ONLY = {"n_fft": 2048, "win_length": None, "window": "hann", "center": True, "ctroct": 5.0, "octwidth": 2}
_CQT_ONLY = {"threshold": 0.0, "fmin": None, "n_octaves": 7, "bins_per_octave": 36}


def _differs(value, default) -> bool:
    if isinstance(value, (list, tuple, np.ndarray)) or isinstance(default, (list, tuple, np.ndarray)):
        return True
    return value is not default and (value != default or isinstance(value, bool) != isinstance(default, bool))


@keras.saving.register_keras_serializable(package="Kapre")
class Chroma(KapreLayer):
    """Chromagram of a batch of (multichannel) waveforms, from an STFT or a CQT, as librosa's ``chroma_stft`` /
    ``chroma_cqt`` with the same argument names and defaults.

    ``source='stft'`` (``librosa.feature.chroma_stft``): ``|STFT|**2`` (``n_fft``, ``hop_length``, ``win_length``,
    ``window``; ``center=True`` pads ``n_fft // 2`` samples at both ends with ``pad_mode`` and centres frame ``t``
    on sample ``t * hop_length``) times the chroma filterbank (``librosa.filters.chroma``: Gaussian bumps per pitch
    class, each FFT bin's weights of unit 2-norm, weighted by a Gaussian over octaves centred ``ctroct`` octaves
    above A0 = 27.5 Hz with half-width ``octwidth`` octaves).

    ``source='cqt'`` (``librosa.feature.chroma_cqt``): the magnitude of the CQT (:func:`kapre.functional.cqt`:
    ``n_octaves * bins_per_octave`` bins from ``fmin``, Hann wavelets, librosa's other CQT defaults) summed per
    pitch class (``librosa.filters.cq_to_chroma``), values below ``threshold`` set to 0.

    Then each frame is divided by its ``norm`` over the pitch classes (``librosa.util.normalize``: frames whose norm
    is below the dtype's smallest normal number are left as they are).

    Differences from librosa: ``tuning`` is a number (default 0.0, A440); librosa's default ``tuning=None``
    estimates it from each signal, which kapre does not (estimate it once, e.g. ``librosa.estimate_tuning``, and
    pass it). ``chroma_cqt``'s ``window`` (a smoothing of the fold) and ``cqt_mode='hybrid'`` are not offered;
    ``base_c`` applies to both sources (``chroma_cqt`` always starts at C). librosa's ``chroma_cqt`` computes its
    CQT octave by octave with soxr resampling; kapre's CQT differs from it by about 1e-2 (relative), so the CQT
    chroma matches librosa's ``chroma_cqt(C=...)`` fed with a full-rate CQT more closely than ``chroma_cqt(y=...)``.

    Args:
        source: ``'stft'`` or ``'cqt'``.
        sr: sampling rate in Hz (22050).
        hop_length: samples between frames (512, 23.2 ms at 22,050 Hz).
        n_chroma: pitch classes per octave (12).
        tuning: deviation from A440 in fractions of a chroma bin (``'stft'``) or of a CQT bin (``'cqt'``, from
            -0.5 to 0.5), as librosa (0.0).
        norm: the normalisation of each frame: ``np.inf`` (maximum 1, the default), ``-np.inf``, ``0``, a
            p-norm ``p > 0`` or ``None`` (none).
        threshold: ``'cqt'`` only: chroma values below it are set to 0 before the normalisation (0.0); ``None``
            as 0.0.
        n_fft: ``'stft'`` only: FFT size (2048, 92.9 ms at 22,050 Hz).
        win_length: ``'stft'`` only: window length (``None``: ``n_fft``), centred in the ``n_fft`` samples.
        window: ``'stft'`` only: a window name (``'hann'``, periodic as scipy's ``get_window``; see
            :func:`kapre.constants.get_window`) or ``win_length`` values.
        center: ``'stft'`` only: librosa's centred frames (``1 + samples // hop_length``); ``False``: frames of
            ``n_fft`` samples start at ``t * hop_length`` (``1 + (samples - n_fft) // hop_length``).
        pad_mode: ``'constant'`` (zeros) or ``'reflect'``: the padding of centred frames (both sources).
        ctroct, octwidth: ``'stft'`` only: the octave weighting (5.0 octaves above A0, i.e. about 880 Hz, and 2
            octaves); ``octwidth=None`` weighs every octave equally.
        base_c: the first pitch class is C (``True``) or A (``False``).
        fmin: ``'cqt'`` only: the lowest CQT bin's frequency in Hz (``None``: C1, 32.70 Hz).
        n_octaves: ``'cqt'`` only: octaves of the CQT (7).
        bins_per_octave: ``'cqt'`` only: CQT bins per octave (36), a multiple of ``n_chroma`` (``None``:
            ``n_chroma``).
        input_data_format, output_data_format: ``'default'``, ``'channels_last'`` or ``'channels_first'``.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape:
        ``(batch, time, channels)`` (``channels_last``) or ``(batch, channels, time)`` (``channels_first``).

    Output shape:
        ``(batch, frames, n_chroma, channels)`` (``channels_last``) or ``(batch, channels, frames, n_chroma)``
        (``channels_first``); ``frames = 1 + time // hop_length`` (centred frames).

    Example:
        >>> import numpy as np, kapre
        >>> t = np.arange(22050) / 22050
        >>> a4 = np.sin(2 * np.pi * 440.0 * t).astype('float32')[None, :, None]
        >>> chroma = kapre.Chroma(input_data_format='channels_last', output_data_format='channels_last')
        >>> out = np.asarray(chroma(a4))
        >>> out.shape
        (1, 44, 12, 1)
        >>> int(out[0, 20, :, 0].argmax())  # A, the tenth pitch class from C
        9
    """

    _config_keys = (
        "source", "sr", "hop_length", "n_chroma", "tuning", "norm", "threshold", "n_fft", "win_length", "window",
        "center", "pad_mode", "ctroct", "octwidth", "base_c", "fmin", "n_octaves", "bins_per_octave",
        "input_data_format", "output_data_format",
    )

    def __init__(
        self,
        source="stft",
        sr=22050,
        hop_length=512,
        n_chroma=12,
        tuning=0.0,
        norm=np.inf,
        threshold=0.0,
        n_fft=2048,
        win_length=None,
        window="hann",
        center=True,
        pad_mode="constant",
        ctroct=5.0,
        octwidth=2,
        base_c=True,
        fmin=None,
        n_octaves=7,
        bins_per_octave=36,
        input_data_format="default",
        output_data_format="default",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.source = V.check_choice("source", source, SOURCES)
        given = {"n_fft": n_fft, "win_length": win_length, "window": window, "center": center, "ctroct": ctroct,
                 "octwidth": octwidth, "threshold": threshold, "fmin": fmin, "n_octaves": n_octaves,
                 "bins_per_octave": bins_per_octave}
        other = _CQT_ONLY if self.source == "stft" else _STFT_ONLY
        for key, default in other.items():
            if _differs(given[key], default):
                raise ValueError(
                    f"{key} applies to source={'cqt' if self.source == 'stft' else 'stft'!r} only; with "
                    f"source={self.source!r} leave it at its default {default!r}, received {key}={given[key]!r}."
                )
        self.sr, self.hop_length, self.n_chroma, self.tuning = sr, hop_length, n_chroma, tuning
        self.norm, self.threshold, self.n_fft, self.win_length, self.window = norm, threshold, n_fft, win_length, window
        self.center, self.pad_mode, self.ctroct, self.octwidth, self.base_c = center, pad_mode, ctroct, octwidth, base_c
        self.fmin, self.n_octaves, self.bins_per_octave = fmin, n_octaves, bins_per_octave
        self._norm = check_vector_norm("norm", norm)
        hop = V.check_int("hop_length", hop_length, minimum=1, maximum=V.MAX_SAMPLES)
        V.check_float("threshold", threshold, allow_none=True)
        self._threshold = 0.0 if threshold is None else float(threshold)
        self._framing = Framing.resolve(n_fft, win_length, hop, window, center=center, pad_mode=pad_mode)
        if self.source == "stft":
            self._bank = ChromaFilterbank.resolve(sr, n_fft, n_chroma, tuning, ctroct, octwidth, 2.0, base_c,
                                                  names={"sample_rate": "sr"})
        else:
            self._bank = CqChroma.resolve(sr, hop, n_chroma, fmin, n_octaves, bins_per_octave, tuning, base_c,
                                          pad_mode)
        self.input_data_format = V.check_data_format("input_data_format", input_data_format)
        self.output_data_format = V.check_data_format("output_data_format", output_data_format)
        self._input_format = V.resolve_data_format(self.input_data_format)
        self._output_format = V.resolve_data_format(self.output_data_format)
        self._filterbank_values = self._bank.build()  # (n_freq or n_bins, n_chroma), float64
        self._window = None
        self._filterbank = None
        self._cq_tensors = None

    @property
    def frame_locality(self):
        """``'waveform'`` with zero padding (``pad_mode='constant'``, or ``center=False``), else ``None``."""
        return WAVEFORM if self.pad_mode == "constant" or (self.source == "stft" and not self.center) else None

    def build(self, input_shape):
        dtype = self.transform_dtype
        if self.source == "stft":
            self._window = _backend.constant(self._framing.centered_window(), dtype)  # librosa's: n_fft values
        else:  # the CQT's kernels and decimation filter, planned once (about half a second at 7 x 36 bins)
            self._cq_tensors = functional.constant_q_tensors(self._cq_plan(), dtype)
        self._filterbank = _backend.constant(self._filterbank_values, dtype)
        self.built = True

    def _cq_plan(self):
        """The CQT's plan (:meth:`kapre.params.ConstantQ.plan`), computed on first use, kept outside Keras'
        attribute tracking."""
        plan = self.__dict__.get("_kapre_cq_plan")
        if plan is None:
            plan = self.__dict__["_kapre_cq_plan"] = self._bank.transform.plan()
        return plan

    def _num_frames(self, length):
        if length is None:
            return None
        if self.source == "cqt" or self.center:
            return 1 + length // self._framing.hop_length
        return num_frames(length, self._framing.n_fft, self._framing.hop_length)

    def _check_input(self, shape, dtype=None):
        self.check_rank(shape, 3, "(batch, time, channels) or (batch, channels, time) per input_data_format")
        if dtype is not None:
            V.check_real_input("Chroma", dtype)
        length = shape[1] if self._input_format == V.CH_LAST else shape[2]
        if length is None:
            return
        if self.source == "stft" and not self.center and length < self._framing.n_fft:
            raise too_short_error("Chroma", length, self._framing.n_fft, "center=False needs n_fft samples; use "
                                  "center=True or pad the signal.")
        if self.source == "stft" and self.center:
            self._framing.check_length("Chroma", length)
        if self.source == "cqt" and self.pad_mode == "reflect":
            self._bank.transform.check_length("Chroma", length, self._cq_plan().reach)

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        batch, length, channels = self.waveform_dims(input_shape)
        return self.framed_shape(batch, self._num_frames(length), self.n_chroma, channels)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape),
                                 dtype=self.output_dtype(self.transform_dtype))

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        channels = inputs.shape[2] if self._input_format == V.CH_LAST else inputs.shape[1]
        if inputs.shape[0] == 0 or channels == 0:
            # an empty batch (or no channel): ops.max and the CQT's reshapes refuse zero-size tensors
            return ops.zeros(self.compute_output_shape(inputs.shape), self.output_dtype(self.transform_dtype))
        return _backend.call_compiled_when_eager(self, self._compute, inputs)

    def _compute(self, inputs):
        waveforms = self.channels_first_waveforms(inputs)  # (batch, ch, time)
        if self.source == "stft":
            features = self._stft_power(waveforms)  # (batch, ch, frames, n_freq)
        else:
            features = self._cqt_magnitude(waveforms)  # (batch, ch, frames, n_bins)
        chroma = _backend.matmul(features, self._filterbank)
        if self.source == "cqt" and self._threshold > 0.0:  # chroma >= 0: a threshold <= 0 changes nothing
            chroma = functional.zero_below(chroma, self._threshold)
        chroma = functional.normalize(chroma, self._norm, axis=-1)
        return self.to_output_dtype(self.framed_output(chroma), self.transform_dtype)

    def _stft_power(self, waveforms):
        n_fft = self._framing.n_fft
        if self.center:
            half = n_fft // 2
            waveforms = functional.pad_along_axis(waveforms, half, half, mode=self.pad_mode, axis=-1)
        return functional.power_spectrogram(waveforms, n_fft, self._framing.hop_length, self._window)

    def _cqt_magnitude(self, waveforms):
        """``|CQT|`` (:func:`kapre.functional.constant_q`, as :func:`kapre.functional.cqt`) of ``(batch, ch,
        time)``: ``(batch, ch, frames, n_bins)``."""
        shape = ops.shape(waveforms)
        flat = ops.reshape(waveforms, (-1, shape[-1]))
        real, imag = functional.constant_q(flat, self._cq_tensors, hop_length=self._framing.hop_length,
                                           pad_mode=self.pad_mode)
        magnitude = functional.magnitude_from_parts(real, imag)
        return ops.reshape(magnitude, (shape[0], shape[1], ops.shape(magnitude)[1], self._bank.n_bins))
