"""The DAS fork's kapre layers (``das.kapre``): ``Spectrogram``, ``Melspectrogram``, ``AmplitudeToDB``.

DAS (deep audio segmenter) ships a fork of kapre 0.1.x adapted to channels-last audio. Its layers are kapre 0.2's
(:mod:`kapre.legacy`, :mod:`kapre.utils`) with these differences:

* the input audio is ``(batch, samples, channels)``;
* ``Spectrogram`` is time-first: ``(batch, time, freq, channels)`` (``'channels_last'``) or
  ``(batch, channels, time, freq)`` (``'channels_first'``);
* ``Melspectrogram`` keeps 0.2's mel-first output, ``(batch, n_mels, time, channels)`` or
  ``(batch, channels, n_mels, time)``, as the DAS code and documentation do, and its filters default to
  ``norm=1``: each triangle divided by its L1 norm (librosa >= 0.8's meaning of ``norm=1``).

(The DAS ``Spectrogram`` with ``'channels_first'`` declared ``(batch, channels, time, freq)`` but computed
``(batch, channels, freq, time)``; the declared, documented shape is the one used here.)

Weights keep DAS's shapes (``real_kernels``, ``imag_kernels`` of shape ``(n_dft, 1, 1, n_dft // 2 + 1)``,
``freq2mel`` of shape ``(n_dft // 2 + 1, n_mels)``). The fork (tf.keras 2) tracked its ``K.variable`` attributes as
trainable whatever ``trainable_kernel`` / ``trainable_fb`` said (its ``trainable_weights.append`` calls had no
effect), so its HDF5 files always list ``[real_kernels, imag_kernels, freq2mel]``, while Keras 3 lists a layer's
weights trainable first (``[freq2mel, real_kernels, imag_kernels]`` for ``trainable_fb=True,
trainable_kernel=False``). ``Melspectrogram`` therefore matches saved weights by shape (``freq2mel`` is the only
2-D one; the kernels keep their saved order, real first) in ``set_weights`` and, through a hook this module
installs in Keras' legacy HDF5 loader (``keras.models.load_model``, ``model.load_weights``, also ``by_name=True``),
for HDF5 files: files of the fork and files kapre wrote both load. A DAS HDF5 model loads with::

    import kapre.compat.das as das_kapre
    model = keras.models.load_model(path, custom_objects={
        'Spectrogram': das_kapre.Spectrogram, 'Melspectrogram': das_kapre.Melspectrogram,
        'AmplitudeToDB': das_kapre.AmplitudeToDB, 'Normalization2D': das_kapre.Normalization2D})

The classes are registered as ``KapreDAS>Spectrogram``, ``KapreDAS>Melspectrogram`` and
``KapreDAS>AmplitudeToDB``, distinct from kapre 0.2's (``Kapre02>...``) and 0.4's (``Kapre>...``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import keras
import numpy as np

from kapre import _validation as V
from kapre import legacy, utils

__all__ = ["Spectrogram", "Melspectrogram", "AmplitudeToDB", "Normalization2D"]

register = keras.saving.register_keras_serializable(package="KapreDAS")

# DAS's Normalization2D is kapre 0.2's, unchanged.
Normalization2D = utils.Normalization2D


@register
class Spectrogram(legacy.Spectrogram):
    """The DAS fork's spectrogram: channels-last audio in, time-first spectrogram out.

    The numbers are kapre 0.2's (:class:`kapre.legacy.Spectrogram`): Hann-windowed DFT kernels held as weights,
    ``'same'``/``'valid'`` framing of a strided convolution, ``re**2 + im**2`` raised to
    ``power_spectrogram / 2``, decibels normalized per example to ``[-80, 0]``.

    Args:
        n_dft: number of DFT points, an even integer >= 2 (DAS: a power of two). Defaults to 512.
        n_hop: hop between frames in samples. Defaults to ``n_dft // 2``.
        padding: ``'same'`` (``ceil(samples / n_hop)`` frames, zero padding split as a ``'same'`` convolution,
            the smaller half on the left) or ``'valid'`` (``1 + (samples - n_dft) // n_hop`` frames).
        power_spectrogram: 2.0 for power, 1.0 for amplitude (> 0).
        return_decibel_spectrogram: decibels, ``10 * log10(max(x, 1e-10))`` minus the per-example maximum,
            floored at -80.
        trainable_kernel: make the DFT kernels trainable.
        image_data_format: ``'channels_last'``, ``'channels_first'`` or ``'default'``: the output layout.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape:
        ``(batch, samples, channels)``.

    Output shape:
        ``(batch, frames, n_dft // 2 + 1, channels)`` if ``'channels_last'``,
        ``(batch, channels, frames, n_dft // 2 + 1)`` if ``'channels_first'``.

    Example:
        >>> import numpy as np
        >>> from kapre.compat.das import Spectrogram
        >>> layer = Spectrogram(n_dft=64, n_hop=16, return_decibel_spectrogram=True,
        ...                     image_data_format='channels_last')
        >>> tuple(layer(np.zeros((1, 1024, 3), 'float32')).shape)
        (1, 64, 33, 3)
    """

    _audio_channels_last = True
    _output_permutation = {V.CH_LAST: (0, 2, 3, 1), V.CH_FIRST: (0, 1, 2, 3)}
    _input_layout = "(batch, samples, channels)"


@register
class Melspectrogram(legacy.Melspectrogram):
    """The DAS fork's mel-spectrogram: channels-last audio in, mel filters with ``norm=1`` by default.

    A power :class:`Spectrogram` times the mel filterbank ``freq2mel`` (``(n_dft // 2 + 1, n_mels)``,
    ``librosa.filters.mel(sr, n_dft, n_mels, fmin, fmax, htk, norm).T``), raised to ``power_melgram / 2``.

    Args:
        sr: sampling rate in Hz. Defaults to 22050.
        n_mels: number of mel bands. Defaults to 128.
        fmin: lowest frequency in Hz. Defaults to 0.
        fmax: highest frequency in Hz (``<= sr / 2``); ``None`` means ``sr / 2``.
        power_melgram: 2.0 for power, 1.0 (default) for amplitude.
        return_decibel_melgram: decibels normalized per example to ``[-80, 0]``.
        trainable_fb: make the filterbank trainable.
        htk: HTK mel formula instead of Slaney's.
        norm: ``1`` (default: each filter divided by its L1 norm), another p-norm number, ``'slaney'`` (area
            normalization) or ``None``.
        **kwargs: the :class:`Spectrogram` arguments (``power_spectrogram`` must stay 2.0).

    Input shape:
        ``(batch, samples, channels)``.

    Output shape:
        ``(batch, n_mels, frames, channels)`` if ``'channels_last'``, ``(batch, channels, n_mels, frames)`` if
        ``'channels_first'`` (DAS's layout).

    Example:
        >>> import numpy as np
        >>> from kapre.compat.das import Melspectrogram
        >>> layer = Melspectrogram(n_dft=256, n_hop=128, sr=10000, n_mels=32, image_data_format='channels_last')
        >>> tuple(layer(np.zeros((2, 1024, 1), 'float32')).shape)
        (2, 32, 8, 1)
    """

    _audio_channels_last = True
    _input_layout = "(batch, samples, channels)"

    def __init__(
        self,
        sr=22050,
        n_mels=128,
        fmin=0.0,
        fmax=None,
        power_melgram=1.0,
        return_decibel_melgram=False,
        trainable_fb=False,
        htk=False,
        norm=1,
        **kwargs,
    ):
        super().__init__(
            sr=sr,
            n_mels=n_mels,
            fmin=fmin,
            fmax=fmax,
            power_melgram=power_melgram,
            return_decibel_melgram=return_decibel_melgram,
            trainable_fb=trainable_fb,
            htk=htk,
            norm=norm,
            **kwargs,
        )

    def _match_saved_weights(self, variables: Sequence, values: Sequence) -> list:
        """``values`` reordered to ``variables`` (some order of this layer's three weights), matched by shape.

        The fork saved ``[real_kernels, imag_kernels, freq2mel]``, kapre saves in Keras' order; ``freq2mel`` is
        the only 2-D array and both writers put ``real_kernels`` before ``imag_kernels``. Anything else is returned
        unchanged, for Keras to report the count or shape mismatch.
        """
        values = list(values)
        arrays = [np.asarray(v) for v in values]
        filters = [a for a in arrays if a.ndim == 2]
        kernels = [a for a in arrays if a.ndim != 2]
        targets = {id(self.real_kernels): 0, id(self.imag_kernels): 1, id(self.freq2mel): 2}
        if len(arrays) != 3 or len(filters) != 1 or len(variables) != 3:
            return values
        if sorted(targets.get(id(v), -1) for v in variables) != [0, 1, 2]:
            return values
        by_role = [kernels[0], kernels[1], filters[0]]
        return [by_role[targets[id(v)]] for v in variables]

    def set_weights(self, weights: Sequence) -> None:
        """Sets the weights from a list in this layer's order or in the fork's
        (``[real_kernels, imag_kernels, freq2mel]``, as the fork's ``get_weights`` returns them)."""
        super().set_weights(self._match_saved_weights(self.weights, weights))


@register
class AmplitudeToDB(utils.AmplitudeToDB):
    """The DAS fork's decibel layer (kapre 0.2's): ``10 * log10(max(x, amin))`` normalized per example to
    ``[-top_db, 0]``.

    Args:
        amin: noise floor (> 0). Defaults to 1e-10.
        top_db: dynamic range in dB (> 0). Defaults to 80.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Input shape: any, first axis the batch. Output shape: same as input.

    Example:
        >>> import numpy as np
        >>> from kapre.compat.das import AmplitudeToDB
        >>> np.round(np.asarray(AmplitudeToDB(top_db=60.0)(np.array([[1.0, 1e-9]], 'float32'))), 3).tolist()
        [[0.0, -60.0]]
    """


def _install_legacy_h5_hook() -> None:
    """Lets ``Melspectrogram`` match the weights of a legacy HDF5 file by shape before Keras assigns them.

    Keras' legacy HDF5 loader (``load_model``, ``load_weights``, ``by_name`` or not) calls its private
    ``_set_weights(instance, symbolic_weights, weight_values, ...)`` for each layer and assigns by position, with no
    layer method in between; wrapping it is the only place to fix the fork's order. Other layers pass through
    unchanged; if a Keras version lacks the function, nothing is installed (and such files fail with Keras' shape
    error, as before).
    """
    try:
        from keras.src.legacy.saving import legacy_h5_format
    except ImportError:  # pragma: no cover - Keras moved its private module
        return
    original = getattr(legacy_h5_format, "_set_weights", None)
    if original is None or getattr(original, "_kapre_das_hook", False):
        return

    @functools.wraps(original)
    def _set_weights(instance, symbolic_weights, weight_values, *args, **kwargs):
        if isinstance(instance, Melspectrogram):
            weight_values = instance._match_saved_weights(symbolic_weights, weight_values)
        return original(instance, symbolic_weights, weight_values, *args, **kwargs)

    _set_weights._kapre_das_hook = True
    legacy_h5_format._set_weights = _set_weights


_install_legacy_h5_hook()
