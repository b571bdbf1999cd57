"""Functions that return high-level layers composed of other kapre layers (kapre 0.4's ``kapre.composed``).

Each returns a ``keras.Sequential`` (or a functional ``keras.Model``) of kapre layers. It saves and loads in the
``.keras`` format like any model. To flatten one into your own model, add its ``.layers`` one by one::

    your_model = keras.Sequential()
    for layer in kapre.composed.get_melspectrogram_layer(input_shape=(44100, 1)).layers:
        your_model.add(layer)
"""

from __future__ import annotations

import contextlib

import keras

from kapre import _backend
from kapre import _validation as V
from kapre._backend import data_pipeline
from kapre.params import DB_NAMES, LOG_NAMES, MEL_NAMES, Decibel, LogFilterbank, MelFilterbank
from kapre.time_frequency import (
    STFT,
    ApplyFilterbank,
    ConcatenateFrequencyMap,
    InverseSTFT,
    Magnitude,
    MagnitudeToDecibel,
    Phase,
)

__all__ = [
    "get_stft_magnitude_layer",
    "get_melspectrogram_layer",
    "get_log_frequency_spectrogram_layer",
    "get_perfectly_reconstructing_stft_istft",
    "get_stft_mag_phase",
    "get_frequency_aware_conv2d",
]


@keras.saving.register_keras_serializable(package="Kapre")
class FrontEnd(keras.Sequential):
    """The ``keras.Sequential`` the composed functions return: a complex input to its real ``Input`` is a
    ``TypeError`` (a plain ``Sequential`` casts it to float, silently dropping the imaginary part), and an empty
    batch gives the empty output of the model's output shape (TensorFlow 2.21's convolution returns its input's
    shape for an empty batch, so a ``Conv2D`` after it fails). In a ``tf.data`` ``map`` under JAX or PyTorch it runs
    as one ``tf.numpy_function`` (:mod:`kapre.pipeline`)."""

    def __call__(self, *args, **kwargs):
        # a symbolic tf.Tensor (a tf.data map) under JAX / PyTorch: the whole front-end in one tf.numpy_function
        if _backend.NAME != "tensorflow" and args and data_pipeline.is_graph_tensor(args[0]):
            return data_pipeline.call_layer_in_tf_graph(self, *args, **kwargs)
        return super().__call__(*args, **kwargs)

    def call(self, inputs, training=None, mask=None):
        declared_inputs = getattr(self, "inputs", None)  # AttributeError until an Input or a first call built it
        declared = declared_inputs[0].dtype if declared_inputs else None
        received = keras.backend.standardize_dtype(inputs.dtype) if hasattr(inputs, "dtype") else None
        if declared is not None and received is not None:
            declared = keras.backend.standardize_dtype(declared)
            if received.startswith("complex") and not declared.startswith("complex"):
                raise TypeError(
                    f"{self.name} expects real audio (its input is {declared}), received dtype {received}. Pass "
                    "the real signal; a complex spectrogram goes to the layers after the STFT."
                )
        if getattr(inputs, "shape", None) is not None and len(inputs.shape) > 0 and inputs.shape[0] == 0:
            spec = self.compute_output_spec(keras.KerasTensor(tuple(inputs.shape), dtype=inputs.dtype))
            return keras.ops.zeros(spec.shape, dtype=spec.dtype)
        return super().call(inputs, training=training, mask=mask)


def _sequential(layers, input_shape, name, input_data_format):
    if input_shape is None:
        return FrontEnd(layers, name=name)
    with _naming_the_input_shape(input_shape, input_data_format):
        return FrontEnd([keras.Input(shape=V.check_shape("input_shape", input_shape)), *layers], name=name)


@contextlib.contextmanager
def _naming_the_input_shape(input_shape, input_data_format):
    """A ValueError while the model is built on ``input_shape`` (a layer's check of its input: too short, wrong
    rank) says which arguments to look at: the input shape and its data format."""
    try:
        yield
    except ValueError as error:
        raise ValueError(
            f"The front-end cannot take input_shape={tuple(input_shape)!r} with input_data_format="
            f"{input_data_format!r} (one example, without the batch axis): {V.error_reason(error)}"
        ) from error


def _analysis_stft(
    n_fft, win_length, hop_length, window_name, pad_begin, pad_end, input_data_format, output_data_format
):
    """The STFT every composed analysis layer starts with (after validating the two data formats)."""
    V.check_data_format("input_data_format", input_data_format)
    V.check_data_format("output_data_format", output_data_format)
    return STFT(
        n_fft=n_fft,
        win_length=win_length,
        hop_length=hop_length,
        window_name=window_name,
        pad_begin=pad_begin,
        pad_end=pad_end,
        input_data_format=input_data_format,
        output_data_format=output_data_format,
    )


def _filterbank_n_freq(n_fft) -> int:
    """The STFT's bins a filterbank spans; a filterbank needs two (``n_fft >= 2``)."""
    V.check_int("n_fft", n_fft, minimum=2)
    return n_fft // 2 + 1


def _decibel_layer(db_amin, db_ref_value, db_dynamic_range):
    Decibel.resolve(db_ref_value, db_amin, db_dynamic_range, names=DB_NAMES)
    return MagnitudeToDecibel(ref_value=db_ref_value, amin=db_amin, dynamic_range=db_dynamic_range)


def get_stft_magnitude_layer(
    input_shape=None,
    n_fft=2048,
    win_length=None,
    hop_length=None,
    window_name=None,
    pad_begin=False,
    pad_end=False,
    return_decibel=False,
    db_amin=1e-5,
    db_ref_value=1.0,
    db_dynamic_range=80.0,
    input_data_format="default",
    output_data_format="default",
    name="stft_magnitude",
):
    """A ``Sequential`` of :class:`~kapre.STFT`, :class:`~kapre.Magnitude` and, if ``return_decibel``,
    :class:`~kapre.MagnitudeToDecibel`.

    Args:
        input_shape: shape of one waveform, e.g. ``(44100, 2)``; needed only if this is the model's first layer.
        n_fft, win_length, hop_length, window_name, pad_begin, pad_end: see :class:`~kapre.STFT`.
        return_decibel: apply decibel scaling at the end (recommended for analysis tasks).
        db_amin, db_ref_value, db_dynamic_range: see :class:`~kapre.MagnitudeToDecibel`.
        input_data_format: ``'channels_last'`` (``(batch, time, channels)``), ``'channels_first'`` or ``'default'``.
        output_data_format: ``'channels_last'`` (``(batch, time, freq, channels)``), ``'channels_first'`` or
            ``'default'``.
        name: name of the returned model.

    Example:
        >>> from kapre.composed import get_stft_magnitude_layer
        >>> layer = get_stft_magnitude_layer(input_shape=(2048, 1), n_fft=1024, return_decibel=True,
        ...     input_data_format='channels_last', output_data_format='channels_first')
        >>> layer.output_shape
        (None, 1, 5, 513)
    """
    V.check_data_format("input_data_format", input_data_format)
    V.check_data_format("output_data_format", output_data_format)
    layers = [
        _analysis_stft(
            n_fft, win_length, hop_length, window_name, pad_begin, pad_end, input_data_format, output_data_format
        ),
        Magnitude(),
    ]
    if return_decibel:
        layers.append(_decibel_layer(db_amin, db_ref_value, db_dynamic_range))
    return _sequential(layers, input_shape, name, input_data_format)


def get_melspectrogram_layer(
    input_shape=None,
    n_fft=2048,
    win_length=None,
    hop_length=None,
    window_name=None,
    pad_begin=False,
    pad_end=False,
    sample_rate=22050,
    n_mels=128,
    mel_f_min=0.0,
    mel_f_max=None,
    mel_htk=False,
    mel_norm="slaney",
    return_decibel=False,
    db_amin=1e-5,
    db_ref_value=1.0,
    db_dynamic_range=80.0,
    input_data_format="default",
    output_data_format="default",
    name="melspectrogram",
):
    """A ``Sequential`` of ``STFT``, ``Magnitude``, ``ApplyFilterbank('mel')`` and optionally
    ``MagnitudeToDecibel``: a mel spectrogram of the STFT *magnitude* (kapre's convention; librosa's
    ``melspectrogram(power=1.0)``).

    Args:
        input_shape: shape of one waveform; needed only if this is the model's first layer.
        n_fft, win_length, hop_length, window_name, pad_begin, pad_end: see :class:`~kapre.STFT`.
        sample_rate: sampling rate of the input (Hz).
        n_mels: number of mel bands.
        mel_f_min, mel_f_max: frequency range (Hz) of the filterbank; ``mel_f_max=None`` means ``sample_rate / 2``.
        mel_htk: use the HTK mel formula instead of Slaney's.
        mel_norm: ``'slaney'`` (area normalisation), ``None`` or a number (p-norm), as librosa.
        return_decibel, db_amin, db_ref_value, db_dynamic_range: see :class:`~kapre.MagnitudeToDecibel`.
        input_data_format, output_data_format: see :class:`~kapre.STFT`.
        name: name of the returned model.

    Example:
        >>> from kapre.composed import get_melspectrogram_layer
        >>> melgram = get_melspectrogram_layer(input_shape=(2, 2048), n_fft=1024, return_decibel=True,
        ...     n_mels=96, input_data_format='channels_first', output_data_format='channels_last')
        >>> melgram.output_shape
        (None, 5, 96, 2)
    """
    stft = _analysis_stft(
        n_fft, win_length, hop_length, window_name, pad_begin, pad_end, input_data_format, output_data_format
    )
    mel_kwargs = {
        "sample_rate": sample_rate,
        "n_freq": _filterbank_n_freq(n_fft),
        "n_mels": n_mels,
        "f_min": mel_f_min,
        "f_max": mel_f_max,
        "htk": mel_htk,
        "norm": mel_norm,
    }
    MelFilterbank.resolve(**mel_kwargs, names=MEL_NAMES)
    layers = [
        stft,
        Magnitude(),
        ApplyFilterbank(type="mel", filterbank_kwargs=mel_kwargs, data_format=output_data_format),
    ]
    if return_decibel:
        layers.append(_decibel_layer(db_amin, db_ref_value, db_dynamic_range))
    return _sequential(layers, input_shape, name, input_data_format)


def get_log_frequency_spectrogram_layer(
    input_shape=None,
    n_fft=2048,
    win_length=None,
    hop_length=None,
    window_name=None,
    pad_begin=False,
    pad_end=False,
    sample_rate=22050,
    log_n_bins=84,
    log_f_min=None,
    log_bins_per_octave=12,
    log_spread=0.125,
    return_decibel=False,
    db_amin=1e-5,
    db_ref_value=1.0,
    db_dynamic_range=80.0,
    input_data_format="default",
    output_data_format="default",
    name="log_frequency_spectrogram",
):
    """A ``Sequential`` of ``STFT``, ``Magnitude``, ``ApplyFilterbank('log')`` and optionally
    ``MagnitudeToDecibel``: a spectrogram whose frequency axis is linear in octaves.

    Args:
        input_shape: shape of one waveform; needed only if this is the model's first layer.
        n_fft, win_length, hop_length, window_name, pad_begin, pad_end: see :class:`~kapre.STFT`.
        sample_rate: sampling rate of the input (Hz).
        log_n_bins: number of log-frequency bins (84 = 7 octaves of semitones).
        log_f_min: centre frequency (Hz) of the lowest bin; ``None`` means C1, 32.70 Hz.
        log_bins_per_octave: bins per octave (12 = semitones).
        log_spread: width of each filter as a fraction of a bin.
        return_decibel, db_amin, db_ref_value, db_dynamic_range: see :class:`~kapre.MagnitudeToDecibel`.
        input_data_format, output_data_format: see :class:`~kapre.STFT`.
        name: name of the returned model.

    Example:
        >>> from kapre.composed import get_log_frequency_spectrogram_layer
        >>> layer = get_log_frequency_spectrogram_layer(input_shape=(2048, 2), n_fft=1024, return_decibel=True,
        ...     input_data_format='channels_last', output_data_format='channels_last')
        >>> layer.output_shape
        (None, 5, 84, 2)
    """
    stft = _analysis_stft(
        n_fft, win_length, hop_length, window_name, pad_begin, pad_end, input_data_format, output_data_format
    )
    log_kwargs = {
        "sample_rate": sample_rate,
        "n_freq": _filterbank_n_freq(n_fft),
        "n_bins": log_n_bins,
        "bins_per_octave": log_bins_per_octave,
        "f_min": log_f_min,
        "spread": log_spread,
    }
    LogFilterbank.resolve(**log_kwargs, names=LOG_NAMES)
    layers = [
        stft,
        Magnitude(),
        ApplyFilterbank(type="log", filterbank_kwargs=log_kwargs, data_format=output_data_format),
    ]
    if return_decibel:
        layers.append(_decibel_layer(db_amin, db_ref_value, db_dynamic_range))
    return _sequential(layers, input_shape, name, input_data_format)


_PR_KEYWORDS_037 = (
    "stft_input_shape",
    "istft_input_shape",
    "n_fft",
    "win_length",
    "hop_length",
    "forward_window_name",
    "waveform_data_format",
    "stft_data_format",
    "stft_name",
    "istft_name",
)
_PR_POSITIONAL_04 = ("n_fft", "hop_length", "waveform_data_format", "stft_data_format", "stft_name", "istft_name")


def get_perfectly_reconstructing_stft_istft(*args, **kwargs):
    """An ``(STFT, InverseSTFT)`` pair that reconstructs the waveform exactly (up to float rounding).

    Two call forms are accepted:

    - kapre 0.3.7 (keywords, or positionally starting with ``stft_input_shape``):
      ``get_perfectly_reconstructing_stft_istft(stft_input_shape=None, istft_input_shape=None, n_fft=2048,
      win_length=None, hop_length=None, forward_window_name=None, waveform_data_format='default',
      stft_data_format='default', stft_name='stft', istft_name='istft')``
    - kapre 0.4 (positional, starting with an integer ``n_fft``):
      ``get_perfectly_reconstructing_stft_istft(n_fft, hop_length, waveform_data_format, stft_data_format,
      stft_name=None, istft_name=None)`` (Hann window, ``win_length = n_fft``).

    The STFT uses ``pad_begin=True`` and ``pad_end=True``, so every sample is covered by the same number of
    frames. With ``x -> STFT -> InverseSTFT -> y``, ``y`` is longer than ``x``: with
    ``trim_begin = n_fft - hop_length``, ``y[:, trim_begin:trim_begin + len(x)]`` (channels_last) equals ``x``.

    Args:
        stft_input_shape: shape of one waveform, if the STFT is the first layer of a ``Sequential``.
        istft_input_shape: shape of one STFT, if the inverse STFT is the first layer of a ``Sequential``.
        n_fft, win_length, hop_length: see :class:`~kapre.STFT` (``win_length`` must equal ``n_fft`` or be
            ``None``; the hop must let the windows overlap, ``hop_length <= win_length``).
        forward_window_name: the analysis window; ``None`` is a periodic Hann window.
        waveform_data_format: data format of the waveforms, ``'channels_last'``, ``'channels_first'`` or
            ``'default'``.
        stft_data_format: data format of the STFT.
        stft_name, istft_name: names of the two layers.

    Returns:
        ``(stft_layer, istft_layer)``.

    Example:
        >>> from kapre.composed import get_perfectly_reconstructing_stft_istft
        >>> stft, istft = get_perfectly_reconstructing_stft_istft(stft_input_shape=(2048, 2), n_fft=512,
        ...     hop_length=128, waveform_data_format='channels_last', stft_data_format='channels_last')
        >>> stft.name, istft.name
        ('stft', 'istft')
    """
    if args and isinstance(args[0], int) and not isinstance(args[0], bool):
        if len(args) > len(_PR_POSITIONAL_04):
            raise TypeError(
                f"get_perfectly_reconstructing_stft_istft takes at most {len(_PR_POSITIONAL_04)} positional "
                f"arguments in kapre 0.4's form {list(_PR_POSITIONAL_04)}, received {len(args)}."
            )
        options = dict(zip(_PR_POSITIONAL_04, args, strict=False))
        options.setdefault("stft_name", None)
        options.setdefault("istft_name", None)
    else:
        if len(args) > len(_PR_KEYWORDS_037):
            raise TypeError(
                f"get_perfectly_reconstructing_stft_istft takes at most {len(_PR_KEYWORDS_037)} positional "
                f"arguments, received {len(args)}."
            )
        options = dict(zip(_PR_KEYWORDS_037, args, strict=False))
    for key, value in kwargs.items():
        if key not in _PR_KEYWORDS_037:
            raise TypeError(
                f"get_perfectly_reconstructing_stft_istft got an unexpected keyword argument {key!r}; it takes "
                f"{list(_PR_KEYWORDS_037)}."
            )
        if key in options:
            raise TypeError(f"get_perfectly_reconstructing_stft_istft got multiple values for argument {key!r}.")
        options[key] = value
    return _perfectly_reconstructing_pair(**options)


def _perfectly_reconstructing_pair(
    stft_input_shape=None,
    istft_input_shape=None,
    n_fft=2048,
    win_length=None,
    hop_length=None,
    forward_window_name=None,
    waveform_data_format="default",
    stft_data_format="default",
    stft_name="stft",
    istft_name="istft",
):
    V.check_data_format("waveform_data_format", waveform_data_format)
    V.check_data_format("stft_data_format", stft_data_format)
    V.check_int("n_fft", n_fft, minimum=1, maximum=V.MAX_SAMPLES)
    if win_length is not None and win_length != n_fft:
        raise ValueError(
            f"get_perfectly_reconstructing_stft_istft needs win_length == n_fft={n_fft} (pad_begin pads "
            f"n_fft - hop_length samples), received win_length={win_length!r}."
        )
    hop = n_fft // 4 if hop_length is None else V.check_int("hop_length", hop_length, minimum=1, maximum=V.MAX_SAMPLES)
    if hop > n_fft:
        raise ValueError(
            f"hop_length must be <= n_fft={n_fft} so that frames overlap, received hop_length={hop_length!r}."
        )
    stft_kwargs = {"input_shape": tuple(stft_input_shape)} if stft_input_shape is not None else {}
    istft_kwargs = {"input_shape": tuple(istft_input_shape)} if istft_input_shape is not None else {}
    stft = STFT(
        n_fft=n_fft,
        win_length=n_fft,
        hop_length=hop,
        window_name=forward_window_name,
        pad_begin=True,
        pad_end=True,
        input_data_format=waveform_data_format,
        output_data_format=stft_data_format,
        name=stft_name,
        **stft_kwargs,
    )
    istft = InverseSTFT(
        n_fft=n_fft,
        win_length=n_fft,
        hop_length=hop,
        forward_window_name=forward_window_name,
        input_data_format=stft_data_format,
        output_data_format=waveform_data_format,
        name=istft_name,
        **istft_kwargs,
    )
    return stft, istft


def get_stft_mag_phase(
    input_shape,
    n_fft=2048,
    win_length=None,
    hop_length=None,
    window_name=None,
    pad_begin=False,
    pad_end=False,
    return_decibel=False,
    db_amin=1e-5,
    db_ref_value=1.0,
    db_dynamic_range=80.0,
    input_data_format="default",
    output_data_format="default",
    name="stft_mag_phase",
):
    """A functional model whose output stacks the STFT magnitude (optionally in dB) and phase on the channel axis.

    The first ``channels`` output channels are the magnitudes, the next ``channels`` the phases. The channel
    axis is that of the resolved ``output_data_format`` (kapre 0.4 looked at the literal argument and
    concatenated on the wrong axis under a global ``channels_first`` setting; fixed here).

    Args:
        input_shape: shape of one waveform, e.g. ``(44100, 2)`` (required: this is a functional model).
        n_fft, win_length, hop_length, window_name, pad_begin, pad_end: see :class:`~kapre.STFT`.
        return_decibel, db_amin, db_ref_value, db_dynamic_range: see :class:`~kapre.MagnitudeToDecibel`.
        input_data_format, output_data_format: see :class:`~kapre.STFT`.
        name: name of the returned model.

    Example:
        >>> from kapre.composed import get_stft_mag_phase
        >>> model = get_stft_mag_phase(input_shape=(2048, 3), return_decibel=True, n_fft=1024,
        ...     input_data_format='channels_last', output_data_format='channels_last')
        >>> model.output_shape
        (None, 5, 513, 6)
    """
    V.check_data_format("input_data_format", input_data_format)
    V.check_data_format("output_data_format", output_data_format)
    if input_shape is None:
        raise ValueError("get_stft_mag_phase builds a functional model and needs input_shape, received None.")
    stft = _analysis_stft(
        n_fft, win_length, hop_length, window_name, pad_begin, pad_end, input_data_format, output_data_format
    )
    waveforms = keras.Input(shape=V.check_shape("input_shape", input_shape))
    with _naming_the_input_shape(input_shape, input_data_format):
        spectrum = stft(waveforms)
    magnitudes = Magnitude()(spectrum)
    phases = Phase()(spectrum)
    if return_decibel:
        magnitudes = _decibel_layer(db_amin, db_ref_value, db_dynamic_range)(magnitudes)
    channel_axis = 1 if V.resolve_data_format(output_data_format) == V.CH_FIRST else 3
    outputs = keras.layers.Concatenate(axis=channel_axis)([magnitudes, phases])
    return keras.Model(inputs=waveforms, outputs=outputs, name=name)


# Position of `groups` among keras.layers.Conv2D's positional arguments (filters, kernel_size, strides, padding,
# data_format, dilation_rate, groups, ...). kapre 0.4 looked at args[7] (activation) instead.
_CONV2D_GROUPS_POSITION = 6


def get_frequency_aware_conv2d(data_format="default", freq_aware_name="frequency_aware_conv2d", *args, **kwargs):
    """A ``Sequential`` of :class:`~kapre.ConcatenateFrequencyMap` and ``keras.layers.Conv2D``.

    Args:
        data_format: data format of the input and output, ``'channels_last'``, ``'channels_first'`` or
            ``'default'``.
        freq_aware_name: name of the returned model.
        *args: positional arguments of ``keras.layers.Conv2D`` (``filters``, ``kernel_size``, ...).
        **kwargs: keyword arguments of ``keras.layers.Conv2D``.

    Raises:
        ValueError: for a grouped convolution (``groups > 1``, by keyword or position): only the last group
            would see the frequency map.

    Example:
        >>> from kapre.composed import get_frequency_aware_conv2d
        >>> layer = get_frequency_aware_conv2d('channels_last', 'fa_conv', 16, (3, 3), padding='same')
        >>> [type(l).__name__ for l in layer.layers]
        ['ConcatenateFrequencyMap', 'Conv2D']
    """
    V.check_data_format("data_format", data_format)
    if not isinstance(freq_aware_name, str) or not freq_aware_name:
        raise TypeError(f"freq_aware_name must be a non-empty string, received freq_aware_name={freq_aware_name!r}.")
    groups = kwargs.get("groups", args[_CONV2D_GROUPS_POSITION] if len(args) > _CONV2D_GROUPS_POSITION else 1)
    if groups is not None and groups > 1:
        raise ValueError(
            f"Group convolution is not supported with a frequency-aware layer (only the last group would be "
            f"frequency-aware), received groups={groups!r}."
        )
    if data_format != V.CH_DEFAULT:
        if len(args) > 4:
            raise TypeError(
                "get_frequency_aware_conv2d sets Conv2D's data_format from its own data_format argument; do not "
                "pass it positionally too."
            )
        kwargs["data_format"] = data_format
    try:
        conv = keras.layers.Conv2D(*args, **kwargs)
    except (ValueError, TypeError):
        raise
    except Exception as error:  # Keras' Conv2D fails on some wrong types with AttributeError and the like
        raise ValueError(
            f"keras.layers.Conv2D rejected the arguments {args!r} {kwargs!r}: {type(error).__name__}: {error}"
        ) from error
    return FrontEnd([ConcatenateFrequencyMap(data_format=data_format), conv], name=freq_aware_name)
