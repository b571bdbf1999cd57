"""The way back: ``kapre.GriffinLim``, ``kapre.InverseMel`` and ``kapre.MFCCToMel``.

Spectrogram-domain features turned back towards sound, so that they can be listened to (kapre#40):
MFCCs to a mel spectrogram (:class:`MFCCToMel`, ``librosa.feature.inverse.mfcc_to_mel``), a mel spectrogram to a
linear STFT magnitude (:class:`InverseMel`, ``librosa.feature.inverse.mel_to_stft``) and an STFT magnitude to a
waveform (:class:`GriffinLim`, ``librosa.griffinlim``). Chained, they are ``librosa.feature.inverse.mel_to_audio``
and ``mfcc_to_audio``. The computations are :func:`kapre.functional.mfcc_to_mel`, :func:`kapre.functional.mel_to_stft`
and :func:`kapre.functional.griffin_lim`; their constants come from :mod:`kapre.constants`, their arguments are
resolved by :mod:`kapre.params` (``MfccInversion``, ``MelInversion``, ``GriffinLimOptions``).
"""

from __future__ import annotations

import keras
from keras import ops

from kapre import _backend, functional
from kapre import _validation as V
from kapre._layer import FRAME, KapreLayer
from kapre.params import MAX_SEED, GriffinLimOptions, MelInversion, MfccInversion

__all__ = ["GriffinLim", "InverseMel", "MFCCToMel"]

register = keras.saving.register_keras_serializable(package="Kapre")

_SPECTROGRAM_LAYOUT = "(batch, time, freq, channels) or (batch, channels, time, freq) per data format"


def _compiled(layer, name: str):
    """``layer.<name>`` compiled where the backend's eager mode runs op by op (JAX), cached on the layer outside
    Keras' attribute tracking: the iterations are compiled as one computation also when the layer is called under
    ``jax.grad`` (eager, they took 2-4x longer to run the first time)."""
    cache = layer.__dict__.setdefault("_kapre_inversion_compiled", {})
    if name not in cache:
        cache[name] = _backend.compile_function(getattr(layer, name))
    return cache[name]


@register
class GriffinLim(KapreLayer):
    """Waveforms from STFT magnitudes by librosa's fast Griffin-Lim (``librosa.griffinlim``: Griffin and Lim,
    1984, with the momentum of Perraudin, Balazs and Søndergaard, 2013).

    Starting from the given magnitudes with zero or random phase, each of ``n_iter`` iterations takes the
    least-squares inverse STFT of the estimate, the STFT of that signal with the same framing, and keeps its phase
    (with momentum) under the given magnitudes (:func:`kapre.functional.griffin_lim`). The framing must be the one
    the magnitudes were computed with: ``center=True`` is ``librosa.stft``'s (and ``kapre.STFT(center=True)``'s);
    ``center=False`` with ``pad_begin`` / ``pad_end`` is :class:`kapre.STFT`'s own, so ``GriffinLim`` inverts
    ``Magnitude()(STFT(...)(x))`` given the STFT's arguments.

    Args:
        n_fft: FFT size in samples (2048 = 93 ms at 22,050 Hz); the input has ``n_fft // 2 + 1`` bins.
        win_length: window length in samples, at most ``n_fft``. Defaults to ``n_fft``.
        hop_length: samples between frames. Defaults to ``win_length // 4``.
        window_name: the STFT's window, as :class:`kapre.STFT`'s ``window_name`` (``'hann'``, the default, is the
            periodic Hann window librosa uses; ``None`` is the same).
        center: ``True`` (default, librosa's convention): frame ``t`` centred on sample ``t * hop_length`` of the
            signal padded by ``n_fft // 2`` at both ends; ``False``: :class:`kapre.STFT`'s framing.
        pad_mode: the STFT's padding with ``center=True``: ``'constant'`` (zeros, librosa's default) or
            ``'reflect'``.
        pad_begin, pad_end: :class:`kapre.STFT`'s padding with ``center=False``: the prepended zeros are not part
            of the output; with ``pad_end`` the output is ``frames * hop_length`` samples (less the prepended
            zeros), the longest signal with that many frames.
        n_iter: iterations, 0 to 10,000 (default 32, librosa's); each costs an inverse STFT and an STFT.
        momentum: the fast Griffin-Lim momentum, >= 0 (default 0.99, librosa's; 0 is the original algorithm; above
            1 it may diverge, and a warning says so).
        init: the initial phase: ``'random'`` (default, librosa's): uniform in ``[0, 2 pi)``, drawn by
            :func:`kapre.functional.random_phases` from ``seed`` (the same phases on every backend; frame ``t``'s
            the same whatever the length; the same for every example and channel of a batch); ``'zeros'``: zero
            phase, librosa's ``init=None``; deterministic.
        seed: an integer in ``[0, 2**31)`` fixing the random phases; ``None`` (default): new phases at every call,
            drawn with a ``keras.random.SeedGenerator`` as Keras' random layers do (under ``jax.jit``, call the
            model statelessly or pass a seed). Only with ``init='random'``.
        length: the output's length in samples (the original signal's, which must give the input's number of
            frames), or ``None``: ``(frames - 1) * hop_length`` with ``center=True`` (librosa's ``istft``), else
            the samples the frames cover.
        power: 1.0 (default): the input is a magnitude ``|X|``; 2.0: a power spectrogram ``|X| ** 2`` (its square
            root is taken).
        input_data_format: ``'channels_last'`` for ``(batch, time, freq, channels)`` input, ``'channels_first'``
            for ``(batch, channels, time, freq)``, ``'default'`` for Keras' setting.
        output_data_format: ``'channels_last'`` for ``(batch, samples, channels)`` waveforms, ``'channels_first'``
            for ``(batch, channels, samples)``, ``'default'`` for Keras' setting.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``, ...).

    Input shape:
        ``(batch, frames, n_fft // 2 + 1, channels)`` or ``(batch, channels, frames, n_fft // 2 + 1)``: linear
        magnitudes (not decibels: undo those first, e.g. ``10 ** (dB / 20)``), non-negative; negative values
        are taken as 0. NaN or inf propagate to the whole signal.

    Output shape:
        ``(batch, samples, channels)`` or ``(batch, channels, samples)``, ``samples`` as ``length`` says; in
        the same units as the signal the magnitudes came from. Computed in float32 (float64 for a float64
        layer; float32 under mixed precision, returned in the policy's dtype).

    Raises:
        ValueError: the input's frequency axis is not ``n_fft // 2 + 1`` long, its number of frames cannot come
            from this framing (or from a signal of ``length`` samples), or it is too short for ``'reflect'``.

    Example:
        >>> import numpy as np, kapre
        >>> y = np.sin(2 * np.pi * 440 * np.arange(8192) / 16000).astype('float32').reshape(1, -1, 1)
        >>> stft = kapre.STFT(n_fft=512, hop_length=128, center=True, input_data_format='channels_last',
        ...                   output_data_format='channels_last')
        >>> magnitudes = kapre.Magnitude()(stft(y))
        >>> griffin_lim = kapre.GriffinLim(n_fft=512, hop_length=128, n_iter=16, init='zeros', length=8192,
        ...                                input_data_format='channels_last', output_data_format='channels_last')
        >>> tuple(griffin_lim(magnitudes).shape)
        (1, 8192, 1)
    """

    _config_keys = (
        "n_fft", "win_length", "hop_length", "window_name", "center", "pad_mode", "pad_begin", "pad_end", "n_iter",
        "momentum", "init", "seed", "length", "power", "input_data_format", "output_data_format",
    )

    def __init__(
        self,
        n_fft=2048,
        win_length=None,
        hop_length=None,
        window_name="hann",
        center=True,
        pad_mode="constant",
        pad_begin=False,
        pad_end=False,
        n_iter=32,
        momentum=0.99,
        init="random",
        seed=None,
        length=None,
        power=1.0,
        input_data_format="default",
        output_data_format="default",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._options = GriffinLimOptions.resolve(
            n_fft, win_length, hop_length, window_name, center=center, pad_mode=pad_mode, pad_begin=pad_begin,
            pad_end=pad_end, n_iter=n_iter, momentum=momentum, init=init, seed=seed, length=length, power=power,
            names={"window": "window_name"},
        )
        if seed is not None and init != "random":
            raise ValueError(f"seed fixes the random initial phases: use init='random' or seed=None, received "
                             f"seed={seed!r} with init={init!r}.")
        self.n_fft, self.win_length, self.hop_length, self.window_name = int(n_fft), win_length, hop_length, window_name
        self.center, self.pad_mode, self.pad_begin, self.pad_end = center, pad_mode, pad_begin, pad_end
        self.n_iter, self.momentum, self.init, self.seed = n_iter, momentum, init, seed
        self.length, self.power = length, power
        self.input_data_format = V.check_data_format("input_data_format", input_data_format)
        self.output_data_format = V.check_data_format("output_data_format", output_data_format)
        self._input_format = V.resolve_data_format(self.input_data_format)
        self._output_format = V.resolve_data_format(self.output_data_format)
        self._freq_axis = 2 if self._input_format == V.CH_LAST else 3
        # new random phases at every call (seed=None): a Keras seed generator, as Keras' random layers hold
        self.seed_generator = keras.random.SeedGenerator() if init == "random" and seed is None else None
        self._window = None

    def build(self, input_shape):
        self._window = _backend.constant(self._options.framing.window_values, self.transform_dtype)
        self.built = True

    def _check_input(self, shape, dtype=None):
        self.check_rank(shape, 4, _SPECTROGRAM_LAYOUT)
        if dtype is not None:
            V.check_real_input("GriffinLim", dtype)
        n_freq = shape[self._freq_axis]
        expected = self._options.framing.n_freq
        if n_freq is not None and n_freq != expected:
            raise ValueError(
                f"GriffinLim with n_fft={self.n_fft} expects n_fft // 2 + 1 = {expected} frequency bins (axis "
                f"{self._freq_axis}), received an input of shape {tuple(shape)} with {n_freq}: set n_fft to the "
                f"STFT's ({2 * (n_freq - 1)} or {2 * n_freq - 1} for {n_freq} bins)."
            )
        self._options.check_frames("GriffinLim", shape[self._freq_axis - 1])

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        if self._input_format == V.CH_LAST:
            batch, frames, _, channels = input_shape
        else:
            batch, channels, frames, _ = input_shape
        samples = self._options.num_samples(frames)
        return (batch, samples, channels) if self._output_format == V.CH_LAST else (batch, channels, samples)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self.output_dtype(self.transform_dtype))

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        if self.seed_generator is None:
            return _backend.call_compiled_when_eager(self, _compiled(self, "_compute"), inputs)
        seed = keras.random.randint((), 0, MAX_SEED, dtype="int32", seed=self.seed_generator)
        return _backend.call_compiled_when_eager(self, _compiled(self, "_compute_with_seed"), (inputs, seed))

    def _compute_with_seed(self, inputs_and_seed):
        return self._compute(*inputs_and_seed)

    def _compute(self, inputs, seed=None):
        dtype = self.transform_dtype
        magnitudes = ops.cast(inputs, dtype)
        if self._input_format == V.CH_LAST:
            magnitudes = ops.transpose(magnitudes, (0, 3, 1, 2))  # (batch, channels, frames, freq)
        if self._options.power == 2.0:
            magnitudes = functional.safe_sqrt(ops.relu(magnitudes))
        framing = self._options.framing
        phases = None
        if self.init == "random":
            phases = functional.random_phases(ops.shape(magnitudes)[2], framing.n_freq,
                                              self.seed if seed is None else seed, dtype)
        waveforms = functional.griffin_lim(
            magnitudes, self.n_fft, framing.hop_length, self._window, self.n_iter, self._options.momentum,
            center=framing.center, pad_mode=framing.pad_mode, pad_begin=framing.pad_begin, pad_end=framing.pad_end,
            init_angles=phases, length=self.length,
        )  # (batch, channels, samples)
        if self._output_format == V.CH_LAST:
            waveforms = ops.transpose(waveforms, (0, 2, 1))
        return self.to_output_dtype(waveforms, dtype)


class _SpectrogramInversion(KapreLayer):
    """Shared layout handling of :class:`InverseMel` and :class:`MFCCToMel`: a spectrogram in, the same layout out
    with another number of bins; the bins' axis moved last for the computation."""

    frame_locality = FRAME  # each output frame is computed from its own input frame alone

    def __init__(self, data_format="default", **kwargs):
        super().__init__(**kwargs)
        self.data_format = V.check_data_format("data_format", data_format)
        self._format = V.resolve_data_format(self.data_format)
        self._bin_axis = 2 if self._format == V.CH_LAST else 3

    def _output_bins(self) -> int:
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        shape = list(input_shape)
        shape[self._bin_axis] = self._output_bins()
        return tuple(shape)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self.output_dtype(self.transform_dtype))

    def _bins_last(self, inputs):
        """``(batch, channels, time, bins)`` in the transform's dtype."""
        values = ops.cast(inputs, self.transform_dtype)
        return ops.transpose(values, (0, 3, 1, 2)) if self._format == V.CH_LAST else values

    def _finish(self, values):
        if self._format == V.CH_LAST:
            values = ops.transpose(values, (0, 2, 3, 1))
        return self.to_output_dtype(values, self.transform_dtype)


@register
class InverseMel(_SpectrogramInversion):
    """Linear STFT magnitudes from a mel spectrogram, as ``librosa.feature.inverse.mel_to_stft``: per frame the
    non-negative least-squares spectrum under the mel filterbank, to the power ``1 / power``.

    The filterbank is the one :class:`kapre.MelSpectrogram` and ``ApplyFilterbank('mel', ...)`` apply
    (:func:`kapre.constants.mel_filterbank`, ``librosa.filters.mel``) for the same arguments. The solver
    (:func:`kapre.functional.mel_to_stft`) runs ``n_iter`` accelerated projected-gradient (FISTA) steps from
    librosa's start, the clipped least-squares solution. There are many spectra with the same mel spectrogram
    (fewer bands than bins): the result is one of them, not librosa's (L-BFGS-B) to the digit; its mel residual
    ``||power @ F - mel|| / ||mel||`` is at most librosa's on chirps, tones and noise (see tests/test_inversion.py).
    The output feeds :class:`GriffinLim` (power 1.0) to give a waveform.

    Args:
        sample_rate: sampling rate in Hz of the audio the mel spectrogram was computed from.
        n_fft: FFT size of that STFT; the output has ``n_fft // 2 + 1`` bins, 0 Hz to Nyquist.
        n_mels: mel bands of the input (checked against its mel axis).
        f_min, f_max: the filterbank's range in Hz (``None``: ``sample_rate / 2``); :class:`kapre.MelSpectrogram`'s
            ``mel_f_min`` / ``mel_f_max``.
        htk: the HTK mel formula instead of Slaney's (``mel_htk``).
        norm: ``'slaney'`` (default), ``None`` or a number (``mel_norm``), as librosa.
        power: the exponent of the magnitudes the mel spectrogram was computed from: 2.0 (power, librosa's and
            :class:`kapre.MelSpectrogram`'s default) or 1.0 (magnitude), any value in (0, 4].
        n_iter: solver steps, 0 to 10,000 (default 100; 0 is the clipped least-squares start). Each costs two
            products with the ``(n_fft // 2 + 1, n_mels)`` filterbank per frame.
        data_format: ``'channels_last'`` for ``(batch, time, mels, channels)``, ``'channels_first'`` for
            ``(batch, channels, time, mels)``, ``'default'`` for Keras' setting.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape:
        ``(batch, time, n_mels, channels)`` or ``(batch, channels, time, n_mels)``: a linear (not decibel) mel
        spectrogram, non-negative (undo decibels first: ``10 ** (dB / 10)``; :class:`MFCCToMel` returns linear
        values).

    Output shape:
        ``(batch, time, n_fft // 2 + 1, channels)`` or ``(batch, channels, time, n_fft // 2 + 1)``: magnitudes
        ``|X|``, non-negative. Computed in float32 (float64 for a float64 layer; float32 under mixed precision,
        returned in the policy's dtype).

    Example:
        >>> import numpy as np, kapre
        >>> inverse = kapre.InverseMel(sample_rate=16000, n_fft=512, n_mels=40, data_format='channels_last')
        >>> tuple(inverse(np.ones((1, 10, 40, 1), 'float32')).shape)
        (1, 10, 257, 1)
    """

    _config_keys = ("sample_rate", "n_fft", "n_mels", "f_min", "f_max", "htk", "norm", "power", "n_iter",
                    "data_format")

    def __init__(self, sample_rate=22050, n_fft=2048, n_mels=128, f_min=0.0, f_max=None, htk=False, norm="slaney",
                 power=2.0, n_iter=100, data_format="default", **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self._inversion = MelInversion.resolve(sample_rate, n_fft, n_mels, f_min, f_max, htk, norm, power, n_iter)
        self.sample_rate, self.n_fft, self.n_mels = sample_rate, n_fft, n_mels
        self.f_min, self.f_max, self.htk, self.norm = f_min, f_max, htk, norm
        self.power, self.n_iter = power, n_iter
        self._tables = None

    def build(self, input_shape):
        self._tables = functional.mel_inversion_tensors(self._inversion.build(), self.transform_dtype)
        self.built = True

    def _output_bins(self) -> int:
        return self._inversion.n_freq

    def _check_input(self, shape, dtype=None):
        self.check_rank(shape, 4, _SPECTROGRAM_LAYOUT)
        if dtype is not None:
            V.check_real_input("InverseMel", dtype)
        n_mels = shape[self._bin_axis]
        if n_mels is not None and n_mels != self._inversion.filterbank.n_mels:
            raise ValueError(
                f"InverseMel with n_mels={self.n_mels} expects {self.n_mels} mel bands (axis {self._bin_axis}), "
                f"received an input of shape {tuple(shape)} with {n_mels}."
            )

    def call(self, inputs):
        self._check_input(inputs.shape, inputs.dtype)
        return _backend.call_compiled_when_eager(self, _compiled(self, "_compute"), inputs)

    def _compute(self, inputs):
        magnitudes = functional.mel_to_stft(self._bins_last(inputs), self._tables, self._inversion.power,
                                            self._inversion.n_iter)
        return self._finish(magnitudes)


@register
class MFCCToMel(_SpectrogramInversion):
    """A mel spectrogram from MFCCs, as ``librosa.feature.inverse.mfcc_to_mel``: the coefficients zero-padded to
    ``n_mels``, the lifter undone, the inverse DCT-II, the logarithm undone
    (:func:`kapre.functional.mfcc_to_mel`).

    It inverts :class:`kapre.LogmelToMFCC` (``dct_norm`` alike) applied to decibels (``log='db'``:
    :class:`kapre.MelSpectrogram`'s ``return_decibel``, ``librosa.power_to_db``), and ``librosa.feature.mfcc``
    (``dct_norm='ortho'``, ``lifter`` alike). With as many coefficients as bands it is exact (up to the decibels'
    floor); with fewer, the result is the spectral envelope the kept coefficients describe.

    Args:
        n_mels: mel bands of the output, at least the input's number of coefficients.
        dct_norm: the DCT's normalisation: ``None`` (default, :class:`kapre.LogmelToMFCC`'s and ``tf.signal``'s:
            every coefficient scaled by ``sqrt(2 / n_mels)``), ``'ortho'`` (librosa's and scipy's orthonormal DCT)
            or ``'backward'`` (unnormalised, librosa's ``norm=None``).
        lifter: librosa's cepstral lifter (``mfcc(lifter=...)``), >= 0; 0 (default) for none.
        log: the logarithm the log-mel spectrogram was taken with: ``'db'`` (default): ``10 * log10``, undone as
            ``ref_value * 10 ** (x / 10)`` (``librosa.db_to_power``), a power mel spectrogram out; ``'natural'``
            (``exp``, Kaldi's), ``'log10'`` (``10 ** x``, Whisper's) or ``None``: the log-mel spectrogram itself.
        ref_value: the decibels' reference, as :class:`kapre.MagnitudeToDecibel`'s (the value 0 dB stands for);
            1.0 with ``log=None``.
        data_format: ``'channels_last'`` for ``(batch, time, n_mfcc, channels)``, ``'channels_first'`` for
            ``(batch, channels, time, n_mfcc)``, ``'default'`` for Keras' setting.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape:
        ``(batch, time, n_mfcc, channels)`` or ``(batch, channels, time, n_mfcc)``; ``n_mfcc`` must be known.

    Output shape:
        ``(batch, time, n_mels, channels)`` or ``(batch, channels, time, n_mels)``: mel power (for
        ``log='db'`` of a power spectrogram's decibels), linear. Computed in float32 (float64 for a float64
        layer; float32 under mixed precision, returned in the policy's dtype); decibels above about 385 overflow
        float32.

    Example:
        >>> import numpy as np, kapre
        >>> to_mel = kapre.MFCCToMel(n_mels=64, data_format='channels_last')
        >>> tuple(to_mel(np.zeros((1, 10, 20, 1), 'float32')).shape)
        (1, 10, 64, 1)
    """

    _config_keys = ("n_mels", "dct_norm", "lifter", "log", "ref_value", "data_format")
    _NAMES = {"norm": "dct_norm", "ref": "ref_value"}

    def __init__(self, n_mels=128, dct_norm=None, lifter=0.0, log="db", ref_value=1.0, data_format="default",
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        # checked now for one coefficient; build() resolves the input's number
        self._inversion = MfccInversion.resolve(1, n_mels, dct_norm, lifter, log, ref_value, names=self._NAMES)
        self.n_mels, self.dct_norm, self.lifter, self.log, self.ref_value = n_mels, dct_norm, lifter, log, ref_value
        self._matrix = None

    def _output_bins(self) -> int:
        return self._inversion.n_mels

    def _check_input(self, shape, dtype=None):
        self.check_rank(shape, 4, _SPECTROGRAM_LAYOUT)
        if dtype is not None:
            V.check_real_input("MFCCToMel", dtype)
        n_mfcc = shape[self._bin_axis]
        if n_mfcc is None:
            raise ValueError(f"MFCCToMel needs a known number of coefficients (axis {self._bin_axis}), received an "
                             f"input of shape {tuple(shape)}.")
        if n_mfcc > self._inversion.n_mels:
            raise ValueError(
                f"MFCCToMel with n_mels={self.n_mels} takes at most {self.n_mels} coefficients (axis "
                f"{self._bin_axis}), received an input of shape {tuple(shape)} with {n_mfcc}."
            )
        return n_mfcc

    def build(self, input_shape):
        n_mfcc = self._check_input(input_shape)
        self._inversion = MfccInversion.resolve(n_mfcc, self.n_mels, self.dct_norm, self.lifter, self.log,
                                                self.ref_value, names=self._NAMES)
        self._matrix = _backend.constant(self._inversion.build(), self.transform_dtype)
        self.built = True

    def call(self, inputs):
        n_mfcc = self._check_input(inputs.shape, inputs.dtype)
        if n_mfcc != self._inversion.n_mfcc:
            raise ValueError(f"MFCCToMel was built for {self._inversion.n_mfcc} coefficients, received an input of "
                             f"shape {tuple(inputs.shape)}.")
        log_mel = _backend.matmul(self._bins_last(inputs), self._matrix)
        return self._finish(functional.undo_log(log_mel, self._inversion.log, self._inversion.ref))
