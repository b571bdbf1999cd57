"""kapre's front-ends in data pipelines (kapre.pipeline, docs/data_pipelines.md), on this run's backend.

A ``tf.data`` ``map`` of a kapre layer, a composed front-end or a whole model (``tf_data_function``) gives the features
the layer gives inside a Keras model on the same backend: TensorFlow ops in the graph under TensorFlow, one
``tf.numpy_function`` per call under JAX and PyTorch. Grain's ``map`` with ``GrainTransform`` too. The example
``examples/train_in_pipeline.py`` runs here as a test. TensorFlow (tf.data) and Grain are test requirements on every
backend: a missing one fails the module, it is never skipped.
"""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import keras
import numpy as np
import pytest

try:
    import tensorflow as tf
except ImportError as error:  # pragma: no cover
    raise ImportError(
        "tests/test_data_pipelines.py runs tf.data under every backend and needs tensorflow: pip install -e .[test]"
    ) from error
try:
    import grain
except ImportError as error:  # pragma: no cover
    raise ImportError("tests/test_data_pipelines.py needs grain: pip install -e .[test]") from error

import kapre
from kapre import frontends, pipeline
from kapre._backend import data_pipeline
from tests.helpers import BACKEND, model_of, to_numpy, tone_mix

RTOL = 1e-5  # pipeline vs model: the same backend computes both (TensorFlow: a tf.data graph vs a compiled model)
SAMPLE_RATE = 16000
LENGTH = 4000  # 0.25 s
BATCH = 2


def _clips(n: int = 4, length: int = LENGTH, channels: int | None = 1) -> np.ndarray:
    clips = np.stack([tone_mix(length, SAMPLE_RATE, seed=i) for i in range(n)])
    return clips if channels is None else np.repeat(clips[..., None], channels, axis=-1)


def _mel(**kwargs) -> kapre.MelSpectrogram:
    options = dict(sample_rate=SAMPLE_RATE, n_fft=512, hop_length=160, n_mels=40, return_decibel=True,
                   input_data_format="channels_last", output_data_format="channels_last")
    return kapre.MelSpectrogram(**{**options, **kwargs})


def _in_model(layer, x: np.ndarray, input_shape=None) -> np.ndarray:
    """``layer`` inside a functional model, applied to ``x`` in batches of ``BATCH`` (the reference of every
    pipeline here; the pipelines' batch size, so that JAX compiles the layer once per test)."""
    return _by_batch(model_of(layer, x.shape[1:] if input_shape is None else input_shape, dtype=str(x.dtype)), x)


def _by_batch(fn, x: np.ndarray):
    """``fn`` applied to ``x`` in batches of ``BATCH``, concatenated (each output of a list of outputs)."""
    outputs = [fn(x[i: i + BATCH]) for i in range(0, len(x), BATCH)]
    if isinstance(outputs[0], (list, tuple)):
        return [np.concatenate([to_numpy(o[k]) for o in outputs]) for k in range(len(outputs[0]))]
    return np.concatenate([to_numpy(o) for o in outputs])


def _collect(ds, component=None) -> np.ndarray:
    batches = [element if component is None else element[component] for element in ds]
    return np.concatenate([np.asarray(b) for b in batches])


def _assert_close(actual, expected):
    expected = np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, (actual.shape, actual.dtype,
                                                                               expected.shape, expected.dtype)
    scale = float(np.max(np.abs(expected))) or 1.0
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * scale)


# -- a kapre layer in tf.data's map -------------------------------------------------------------------------


@pytest.mark.parametrize("parallel", [None, 4])
def test_melspectrogram_in_map_matches_the_model(parallel):
    x = _clips()
    layer = _mel()
    ds = tf.data.Dataset.from_tensor_slices(x).batch(BATCH).map(layer, num_parallel_calls=parallel)
    assert ds.element_spec.shape.as_list() == [None, 22, 40, 1] and ds.element_spec.dtype == tf.float32
    _assert_close(_collect(ds), _in_model(layer, x))


def test_stft_complex_output_then_magnitude_in_map():
    x = _clips(channels=2)
    stft, magnitude = kapre.STFT(n_fft=256, hop_length=128), kapre.Magnitude()
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(len(x)))).batch(BATCH)
    spectra = ds.map(lambda audio, label: (stft(audio), label))
    assert spectra.element_spec[0].dtype == tf.complex64 and spectra.element_spec[0].shape.as_list()[1:] == [
        30, 129, 2]
    ds = spectra.map(lambda spectrum, label: (magnitude(spectrum), label))
    assert ds.element_spec[0].dtype == tf.float32
    _assert_close(_collect(spectra, 0), _by_batch(stft, x))
    inputs = keras.Input(x.shape[1:])
    reference = _by_batch(keras.Model(inputs, magnitude(stft(inputs))), x)
    _assert_close(_collect(ds, 0), reference)
    np.testing.assert_array_equal(_collect(ds, 1), np.arange(len(x)))


@pytest.mark.parametrize("builder", ["kaldi_fbank", "whisper_log_mel"])
def test_model_front_ends_in_map(builder):
    x = _clips(n=4, channels=None)  # (batch, samples)
    layer = getattr(frontends, builder)()
    ds = tf.data.Dataset.from_tensor_slices(x).batch(BATCH).map(layer)
    assert ds.element_spec.shape.as_list()[1:] == list(layer.compute_output_shape((None, LENGTH))[1:])
    _assert_close(_collect(ds), _in_model(layer, x))


def test_composed_front_end_in_map():
    """A kapre.composed.FrontEnd (a Sequential of kapre layers) maps directly, as one bridged call."""
    x = _clips()
    front_end = kapre.composed.get_melspectrogram_layer(
        input_shape=(LENGTH, 1), n_fft=512, hop_length=160, sample_rate=SAMPLE_RATE, n_mels=40, return_decibel=True,
        input_data_format="channels_last", output_data_format="channels_last",
    )
    ds = tf.data.Dataset.from_tensor_slices(x).batch(BATCH).map(front_end, num_parallel_calls=2)
    assert ds.element_spec.shape.as_list() == [None, 22, 40, 1]
    _assert_close(_collect(ds), _by_batch(front_end, x))


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_any_keras_model_through_tf_data_function(kind):
    """A plain keras.Sequential / functional model of kapre layers: tf_data_function bridges the whole model."""
    x = _clips()
    if kind == "sequential":
        model = keras.Sequential([keras.Input((None, 1)), kapre.STFT(n_fft=256, hop_length=128), kapre.Magnitude(),
                                  kapre.MagnitudeToDecibel()])
    else:
        inputs = keras.Input((None, 1))
        stft = kapre.STFT(n_fft=256, hop_length=128)(inputs)
        model = keras.Model(inputs, [kapre.Magnitude()(stft), kapre.Phase()(stft)])
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(len(x)))).batch(BATCH)
    ds = ds.map(pipeline.tf_data_function(model), num_parallel_calls=2)
    expected = _by_batch(model, x)
    if kind == "sequential":
        assert ds.element_spec[0].shape.as_list() == [None, 30, 129, 1]
        _assert_close(_collect(ds, 0), expected)
    else:
        features = list(ds)
        for index in range(2):
            _assert_close(np.concatenate([np.asarray(f[0][index]) for f in features]), expected[index])


def test_unbatched_clips_and_dict_elements():
    """batched=False: single clips, mapped before batching; key: dict elements."""
    x = _clips()
    layer = _mel()
    expected = _in_model(layer, x)
    ds = tf.data.Dataset.from_tensor_slices(x).map(pipeline.tf_data_function(layer, batched=False))
    assert ds.element_spec.shape.as_list() == [22, 40, 1]
    _assert_close(np.stack(list(ds)), expected)
    ds = tf.data.Dataset.from_tensor_slices({"audio": x, "label": np.arange(len(x))}).batch(BATCH)
    ds = ds.map(pipeline.tf_data_function(layer, key="audio", output_key="mel"))
    assert set(ds.element_spec) == {"audio", "label", "mel"}
    _assert_close(_collect(ds, "mel"), expected)
    with pytest.raises(TypeError, match="dict elements"):
        tf.data.Dataset.from_tensor_slices(x).map(pipeline.tf_data_function(layer, key="audio"))


def test_clips_of_different_lengths():
    """Ragged lengths: padded_batch then map (the length axis unknown), or map single clips then padded_batch."""
    lengths = (LENGTH, 3000, 3500, 2500)
    clips = [tone_mix(n, SAMPLE_RATE, seed=n)[:, None] for n in lengths]
    layer = _mel()
    signature = tf.TensorSpec((None, 1), tf.float32)
    source = tf.data.Dataset.from_generator(lambda: iter(clips), output_signature=signature)
    padded = source.padded_batch(2).map(layer)
    assert padded.element_spec.shape.as_list() == [None, None, 40, 1]
    batches = list(padded)
    for index, batch in enumerate(batches):
        pair = clips[2 * index: 2 * index + 2]
        zeros = np.zeros((2, max(len(c) for c in pair), 1), "float32")
        for row, clip in enumerate(pair):
            zeros[row, : len(clip)] = clip
        _assert_close(np.asarray(batch), _in_model(layer, zeros, input_shape=(None, 1)))
    per_clip = source.map(pipeline.tf_data_function(layer, batched=False)).padded_batch(4, padding_values=-1.0)
    (features,) = list(per_clip)
    for row, clip in enumerate(clips):
        alone = _in_model(layer, clip[None], input_shape=(None, 1))[0]
        _assert_close(np.asarray(features[row, : len(alone)]), alone)
        assert np.all(np.asarray(features[row, len(alone):]) == -1.0)


def test_augmentation_in_map_with_training():
    spectrograms = np.abs(np.random.default_rng(0).standard_normal((4, 40, 32, 1))).astype("float32") + 1.0
    augment = kapre.SpecAugment(freq_mask_param=8, time_mask_param=8, seed=0)
    ds = tf.data.Dataset.from_tensor_slices(spectrograms).batch(BATCH)
    train = _collect(ds.map(pipeline.tf_data_function(augment, training=True)))
    assert train.shape == spectrograms.shape and np.any(train == 0.0)
    np.testing.assert_array_equal(_collect(ds.map(augment)), spectrograms)  # inference: unchanged


# -- errors ---------------------------------------------------------------------------------------------------


def test_wrong_rank_in_map_is_a_clear_error():
    x = _clips()
    layer = _mel()
    with pytest.raises(ValueError, match=r"expects a 3-D input .*\(4000, 1\)") as info:
        tf.data.Dataset.from_tensor_slices(x).map(layer)  # not batched
    if BACKEND != "tensorflow" and hasattr(info.value, "__notes__"):
        assert "batch the dataset before the map" in "".join(info.value.__notes__)
    with pytest.raises(ValueError, match=r"expects a 3-D input"):
        tf.data.Dataset.from_tensor_slices(x).batch(BATCH).map(pipeline.tf_data_function(layer, batched=False))


def test_ragged_and_unknown_rank_inputs_are_clear_errors():
    """The bridge's own checks (what JAX and PyTorch run; called directly, so that TensorFlow checks them too)."""
    layer = _mel()
    bridged = layer if BACKEND != "tensorflow" else lambda x: data_pipeline.call_layer_in_tf_graph(layer, x)
    ragged = tf.data.Dataset.from_tensor_slices(tf.ragged.constant([[0.0, 1.0], [2.0]], ragged_rank=1)).batch(BATCH)
    with pytest.raises(TypeError, match="dense tensors.*padded_batch"):
        ragged.map(lambda x: bridged(x[..., None]))
    unknown = tf.data.Dataset.from_generator(lambda: iter([np.zeros((1, 600, 1), "float32")]),
                                             output_signature=tf.TensorSpec(None, tf.float32))
    with pytest.raises(ValueError, match="known rank"):
        unknown.map(bridged)
    augment = kapre.SpecAugment(freq_mask_param=2, time_mask_param=2)
    with pytest.raises(TypeError, match="only its inputs may be tensors"):
        tf.data.Dataset.from_tensor_slices(_clips()).batch(BATCH).map(
            lambda x: data_pipeline.call_layer_in_tf_graph(augment, x[..., None], training=tf.constant(True))
        )


def test_eager_calls_do_not_take_the_bridge(monkeypatch):
    """Outside a graph the layer runs as before: the bridge is never entered (a cheap type check only)."""
    layer = _mel()
    x = _clips(n=2)
    expected = to_numpy(layer(x))

    def fail(*args, **kwargs):
        raise AssertionError("the tf.data bridge was entered for an eager call")

    monkeypatch.setattr(data_pipeline, "call_layer_in_tf_graph", fail)
    _assert_close(to_numpy(layer(x)), expected)
    _assert_close(to_numpy(layer(keras.ops.convert_to_tensor(x))), expected)
    assert not data_pipeline.is_graph_tensor(x) and not data_pipeline.is_graph_tensor(tf.constant(x))
    assert not data_pipeline.is_graph_tensor([keras.ops.convert_to_tensor(x)])


def test_a_layer_used_in_a_pipeline_still_serializes(tmp_path):
    layer = _mel()
    x = _clips(n=2)
    list(tf.data.Dataset.from_tensor_slices(x).batch(BATCH).map(layer))
    model = model_of(layer, (LENGTH, 1))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    _assert_close(to_numpy(loaded(x)), to_numpy(model(x)))
    assert layer.get_config() == _mel(name=layer.name).get_config()


# -- Grain ---------------------------------------------------------------------------------------------------


def test_grain_map_matches_the_model():
    x = _clips()
    layer = _mel()
    expected = _in_model(layer, x)
    transform = pipeline.GrainTransform(layer)
    assert isinstance(transform, grain.transforms.Map)
    batched = grain.MapDataset.source(list(x)).batch(BATCH).map(transform)
    _assert_close(np.concatenate(list(batched)), expected)
    pairs = grain.MapDataset.source([(clip, index) for index, clip in enumerate(x)])
    single = pairs.map(pipeline.GrainTransform(layer, batched=False)).to_iter_dataset()
    elements = list(single)
    _assert_close(np.stack([e[0] for e in elements]), expected)
    assert [e[1] for e in elements] == list(range(len(x)))
    records = grain.MapDataset.source([{"audio": clip, "label": i} for i, clip in enumerate(x)])
    mapped = records.map(pipeline.GrainTransform(layer, key="audio", batched=False))
    _assert_close(np.stack([mapped[i]["audio"] for i in range(len(x))]), expected)


def test_grain_data_loader_and_pickling():
    x = _clips(n=4)
    layer = _mel()
    expected = _in_model(layer, x)
    transform = pipeline.GrainTransform(layer, batched=False)
    loader = grain.DataLoader(
        data_source=list(x),
        sampler=grain.samplers.IndexSampler(num_records=len(x), shuffle=False, num_epochs=1),
        operations=[transform, grain.transforms.Batch(batch_size=2)],
        worker_count=0,
    )
    _assert_close(np.concatenate(list(loader)), expected)
    copy = pickle.loads(pickle.dumps(transform))  # what Grain's worker processes receive
    _assert_close(np.stack([copy.map(clip) for clip in x]), expected)


# -- the example ---------------------------------------------------------------------------------------------


def test_the_training_example():
    """examples/train_in_pipeline.py on this run's backend (written for JAX; the other backends run it too)."""
    path = Path(__file__).resolve().parent.parent / "examples" / "train_in_pipeline.py"
    spec = importlib.util.spec_from_file_location("train_in_pipeline", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    results = example.main(epochs=3)
    assert results["backend"] == BACKEND
    assert results["problems"] == [], results
    assert results["max_db_difference"] <= example.DB_TOLERANCE
