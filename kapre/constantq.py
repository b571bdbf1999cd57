"""``kapre.CQT`` and ``kapre.VQT``: the constant-Q and variable-Q transforms of ``librosa.cqt`` / ``librosa.vqt``,
as layers on every backend.

Each group of ``bins_per_octave`` bins correlates the signal with librosa's own wavelets (``librosa.filters.wavelet``:
a Hann-windowed complex phasor ``Q * sr / f`` samples long), at the lowest rate its top frequency allows: the
signal is low-passed and decimated by two once per octave (a 100 dB linear-phase filter, as a matrix product in
``keras.ops``), and each group's wavelets are sampled at its rate (:func:`kapre.constants.cqt_correlation_kernel`).
So the lowest octave of a default CQT (32.7 to 61.7 Hz, wavelets of 11,000 samples at 22,050 Hz) costs what the
highest does: 183 multiply-adds per bin and frame at 1 / 64 of the rate. The result is within 2e-5 (relative) of
the direct full-rate correlation with librosa's wavelets; ``librosa.cqt`` itself, which decimates with soxr and
drops 1 % of each filter's energy (``sparsity=0.01``), is 1e-2 to 6e-2 away from it.
"""

from __future__ import annotations

import keras
from keras import ops

from kapre import _backend, functional
from kapre import _validation as V
from kapre._layer import WAVEFORM, KapreLayer
from kapre.params import CQT_OUTPUTS, DB_NAMES, ConstantQ, Decibel

__all__ = ["CQT", "VQT"]


@keras.saving.register_keras_serializable(package="Kapre")
class VQT(KapreLayer):
    """Variable-Q transform (``librosa.vqt``) of a batch of (multichannel) waveforms: complex, magnitude, power or
    decibels.

    ``n_bins`` bins from ``fmin`` up, ``bins_per_octave`` per octave; bin ``k`` at ``fmin * 2 ** ((k + tuning) /
    bins_per_octave)`` Hz correlates the signal, around every ``hop_length``-th sample (frame ``t`` centred on
    sample ``t * hop_length``, the signal padded by ``pad_mode`` at both ends, as ``librosa.vqt``), with a
    ``window``-ed complex phasor ``Q * sr / (f + gamma / alpha)`` samples long (``Q = filter_scale / alpha``,
    ``alpha`` the bins' relative bandwidth, 0.058 at 12 per octave), normalised by ``norm``; ``scale=True``
    divides bin ``k`` by the square root of its length (librosa's default: a sine of amplitude ``A`` at a bin's
    centre gives about ``A * sqrt(length) / 2``). ``gamma`` widens the low bins: ``None`` is librosa's default,
    ``24.7 * alpha / 0.108`` Hz (proportional to the equivalent rectangular bandwidth of hearing), ``0`` the
    constant-Q transform (:class:`CQT`).

    Args:
        sr: sampling rate in Hz (22,050, librosa's default).
        hop_length: samples between frames (512: 23 ms at 22,050 Hz). Every octave below the top one is computed
            at half the rate of the one above as far as ``hop_length`` has factors of two (512: six times); an odd
            hop computes every bin at the full rate (exact, but the lowest bins' wavelets are long: slower).
        fmin: the lowest bin's frequency in Hz; ``None`` is C1, 32.70 Hz.
        n_bins: number of bins (84: seven octaves at 12 per octave, C1 to B7 = 3,951 Hz).
        bins_per_octave: bins per octave (12: semitones).
        gamma: the bandwidth offset in Hz (``None``: librosa's ERB-proportional default; ``0``: constant Q).
        tuning: the bins' offset in fractions of a bin, -0.5 to 0.5 (0.0: A4 = 440 Hz falls on a bin).
        filter_scale: multiplies every wavelet's length (1.0; smaller is shorter, wider in frequency).
        norm: each wavelet's normalisation: ``1`` (librosa's default: unit sum of magnitudes), ``2``, ``np.inf``,
            any positive p-norm, or ``None``.
        window: the wavelets' window: ``'hann'`` (default), ``'hamming'``, ``'blackman'``, ``'blackmanharris'``,
            ``'bartlett'``, ``'boxcar'`` (``'rectangular'``, ``'ones'``).
        scale: divide each bin by the square root of its wavelet's length (librosa's default ``True``).
        pad_mode: ``'constant'`` (zeros, librosa's default) or ``'reflect'`` (then the signal must be longer than
            the lowest bin's half wavelet, 5,665 samples for the defaults).
        output_type: ``'complex'`` (librosa's values, phase included), ``'magnitude'`` (``|C|``), ``'power'``
            (``|C| ** 2``) or ``'db'`` (``librosa.amplitude_to_db(|C|, ref=db_ref_value, amin=db_amin,
            top_db=db_dynamic_range)``, the floor per example).
        db_amin, db_ref_value, db_dynamic_range: the decibels' floor on ``|C|`` (1e-5), reference (1.0) and range
            below each example's maximum (80 dB; ``None``: no floor), for ``output_type='db'``.
        input_data_format: ``'channels_last'`` for ``(batch, time, channels)``, ``'channels_first'`` for
            ``(batch, channels, time)``, ``'default'`` for Keras' setting.
        output_data_format: ``'channels_last'`` for ``(batch, frames, n_bins, channels)``, ``'channels_first'``
            for ``(batch, channels, frames, n_bins)``, ``'default'`` for Keras' setting.
        **kwargs: base ``keras.layers.Layer`` arguments (``dtype='float64'`` computes in float64).

    Input shape:
        ``(batch, time, channels)`` (channels_last) or ``(batch, channels, time)`` (channels_first).

    Output shape:
        ``(batch, 1 + time // hop_length, n_bins, channels)`` (channels_last) or ``(batch, channels,
        1 + time // hop_length, n_bins)`` (channels_first); complex64 for ``output_type='complex'`` (complex128 in
        float64), else real.

    Example:
        >>> import numpy as np, kapre
        >>> vqt = kapre.VQT(sr=22050, hop_length=512, n_bins=84, output_type='db',
        ...                 input_data_format='channels_last', output_data_format='channels_last')
        >>> tuple(vqt(np.zeros((2, 22050, 1), 'float32')).shape)
        (2, 44, 84, 1)
    """

    _config_keys = (
        "sr", "hop_length", "fmin", "n_bins", "bins_per_octave", "gamma", "tuning", "filter_scale", "norm",
        "window", "scale", "pad_mode", "output_type", "db_amin", "db_ref_value", "db_dynamic_range",
        "input_data_format", "output_data_format",
    )
    _default_gamma = None

    @property
    def frame_locality(self):
        """``'waveform'`` (zeros appended after the signal change no frame within it), except with reflect
        padding (the end of the signal is mirrored)."""
        return None if self.pad_mode == "reflect" else WAVEFORM

    def __init__(
        self,
        sr=22050,
        hop_length=512,
        fmin=None,
        n_bins=84,
        bins_per_octave=12,
        gamma=None,
        tuning=0.0,
        filter_scale=1.0,
        norm=1,
        window="hann",
        scale=True,
        pad_mode="constant",
        output_type="complex",
        db_amin=1e-5,
        db_ref_value=1.0,
        db_dynamic_range=80.0,
        input_data_format="default",
        output_data_format="default",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._transform = ConstantQ.resolve(
            sr, hop_length, fmin, n_bins, bins_per_octave, tuning, filter_scale, norm, window, scale, pad_mode,
            gamma,
        )
        self.sr, self.hop_length, self.fmin, self.n_bins, self.bins_per_octave = (
            sr, hop_length, fmin, n_bins, bins_per_octave
        )
        self.gamma, self.tuning, self.filter_scale, self.norm, self.window, self.scale, self.pad_mode = (
            gamma, tuning, filter_scale, norm, window, scale, self._transform.pad_mode
        )
        self.output_type = V.check_choice("output_type", output_type, CQT_OUTPUTS)
        self._decibel = Decibel.resolve(db_ref_value, db_amin, db_dynamic_range, amplitude=True, names=DB_NAMES)
        self.db_amin, self.db_ref_value, self.db_dynamic_range = db_amin, db_ref_value, db_dynamic_range
        self.input_data_format = V.check_data_format("input_data_format", input_data_format)
        self.output_data_format = V.check_data_format("output_data_format", output_data_format)
        self._input_format = V.resolve_data_format(self.input_data_format)
        self._output_format = V.resolve_data_format(self.output_data_format)
        self._plan = self._transform.plan()
        self._tensors = None

    def build(self, input_shape):
        self._tensors = functional.constant_q_tensors(self._plan, self.transform_dtype)
        self.built = True

    def _check_input(self, shape, dtype=None):
        self.check_rank(shape, 3, "(batch, time, channels) or (batch, channels, time) per input_data_format")
        if dtype is not None:
            V.check_real_input(type(self).__name__, dtype)
        length = shape[1] if self._input_format == V.CH_LAST else shape[2]
        self._transform.check_length(type(self).__name__, length, self._plan.reach)

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        batch, length, channels = self.waveform_dims(input_shape)
        return self.framed_shape(batch, self._transform.num_frames(length), self.n_bins, channels)

    def compute_output_spec(self, inputs):
        shape = self.compute_output_shape(inputs.shape)
        if self.output_type == "complex":
            return keras.KerasTensor(shape, dtype=V.complex_dtype(self.transform_dtype))
        return keras.KerasTensor(shape, dtype=self.output_dtype(self.transform_dtype))

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        return _backend.call_compiled_when_eager(self, self._compute, inputs)

    def _compute(self, inputs):
        waveforms = self.channels_first_waveforms(inputs)  # (batch, channels, time)
        batch, channels, length = (size if size is not None else ops.shape(waveforms)[axis]
                                   for axis, size in enumerate(waveforms.shape))
        count = batch * channels if isinstance(batch, int) and isinstance(channels, int) else -1
        rows = ops.reshape(waveforms, (count, length))  # explicit: -1 is ambiguous for an empty batch or signal
        real, imag = functional.constant_q(rows, self._tensors, self._transform.hop_length, self.pad_mode)
        frames = self._transform.num_frames(length) if isinstance(length, int) else ops.shape(real)[1]
        if self.output_type == "complex" and _backend.EXPORTING:  # kapre.export: held as parts, a trailing axis
            real, imag = (self.framed_output(ops.reshape(part, (batch, channels, frames, self.n_bins)))
                          for part in (real, imag))
            return _backend.make_complex(real, imag)
        values = self._finish(real, imag)  # (batch * channels, frames, n_bins)
        values = ops.reshape(values, (batch, channels, frames, self.n_bins))
        if self.output_type == "db":  # the reference and the floor per example, over its channels too
            d = self._decibel
            reference = d.ref_value if isinstance(d.ref_value, str) else d.ref_value**2
            values = functional.reference_decibel(values, reference, d.amin**2, d.dynamic_range)
        return self.framed_output(values)

    def _finish(self, real, imag):
        """The requested output from the real and imaginary parts, ``(rows, frames, n_bins)``."""
        if self.output_type == "complex":
            return _backend.make_complex(real, imag)
        if self.output_type == "magnitude":
            values = functional.magnitude_from_parts(real, imag)
        elif self.output_type == "power":
            values = real * real + imag * imag
        else:  # 20 log10 max(|C|, amin) as 10 log10 max(|C|**2, amin**2): no square root
            values = functional.decibel(real * real + imag * imag, self._decibel.amin**2)
        return self.to_output_dtype(values, self.transform_dtype)


@keras.saving.register_keras_serializable(package="Kapre")
class CQT(VQT):
    """Constant-Q transform (``librosa.cqt``) of a batch of (multichannel) waveforms: :class:`VQT` with
    ``gamma=0``, every bin's wavelet ``Q * sr / f`` samples long (``Q = 16.8`` at 12 bins per octave: 11,330
    samples at C1 = 32.7 Hz, 94 at B7 = 3,951 Hz, at 22,050 Hz).

    Args:
        sr, hop_length, fmin, n_bins, bins_per_octave, tuning, filter_scale, norm, window, scale, pad_mode,
        output_type, db_amin, db_ref_value, db_dynamic_range, input_data_format, output_data_format: as :class:`VQT`.
        **kwargs: base ``keras.layers.Layer`` arguments (``dtype='float64'`` computes in float64).

    Input shape:
        ``(batch, time, channels)`` (channels_last) or ``(batch, channels, time)`` (channels_first).

    Output shape:
        ``(batch, 1 + time // hop_length, n_bins, channels)`` (channels_last) or ``(batch, channels,
        1 + time // hop_length, n_bins)`` (channels_first); complex64 for ``output_type='complex'``, else real.

    Example:
        >>> import numpy as np, kapre
        >>> cqt = kapre.CQT(sr=22050, hop_length=512, output_type='magnitude',
        ...                 input_data_format='channels_last', output_data_format='channels_last')
        >>> t = np.arange(22050) / 22050
        >>> tone = np.sin(2 * np.pi * 440.0 * t).astype('float32')[None, :, None]  # A4: 45 semitones above C1
        >>> int(np.argmax(np.asarray(cqt(tone))[0, 20, :, 0]))
        45
    """

    _config_keys = tuple(key for key in VQT._config_keys if key != "gamma")

    def __init__(
        self,
        sr=22050,
        hop_length=512,
        fmin=None,
        n_bins=84,
        bins_per_octave=12,
        tuning=0.0,
        filter_scale=1.0,
        norm=1,
        window="hann",
        scale=True,
        pad_mode="constant",
        output_type="complex",
        db_amin=1e-5,
        db_ref_value=1.0,
        db_dynamic_range=80.0,
        input_data_format="default",
        output_data_format="default",
        **kwargs,
    ):
        super().__init__(
            sr=sr, hop_length=hop_length, fmin=fmin, n_bins=n_bins, bins_per_octave=bins_per_octave, gamma=0.0,
            tuning=tuning, filter_scale=filter_scale, norm=norm, window=window, scale=scale, pad_mode=pad_mode,
            output_type=output_type, db_amin=db_amin, db_ref_value=db_ref_value, db_dynamic_range=db_dynamic_range,
            input_data_format=input_data_format, output_data_format=output_data_format, **kwargs,
        )

