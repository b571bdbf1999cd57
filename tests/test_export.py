"""The export matrix (issue 20): front-end x backend x (ONNX, LiteRT), through :mod:`kapre.export`.

Per backend and format, one model holding every front-end of the matrix (one output each, :func:`matrix_model`)
is exported once (``kapre.export.to_onnx`` / ``to_litert``: the model traced in export mode), then run in its
runtime (ONNX Runtime CPU; the LiteRT interpreter, builtin ops only) on a batch of 1 x 1 s and a batch of
3 x 1.5 s (free batch and length axes, one file), and each output is compared with the Keras model's on the
backend itself:

- linear outputs (spectra, magnitudes, mel energies, CQT, PCEN, LEAF): 1e-4 of the example's largest magnitude;
  complex outputs (STFT, CQT) come out as a trailing (real, imaginary) axis;
- log outputs (dB, natural log, log10, Whisper's and AST's scaled logs): 1e-3 dB once mapped to dB, on the bins
  within 40 dB of the example's maximum (``../shared/acceptance-readings.md``: further down, two correct float32
  STFTs differ by ~1e-2 dB); MFCC: 1e-3 x sqrt(n_mels) log units, the bound an orthonormal DCT puts on a 1e-3
  error per band; deltas of dB: 1e-3 dB x the delta filter's gain, on frames whose window lies within 40 dB;
- phase: 1e-4 x pi rad, wrapped, on the bins above 1e-3 of the example's largest magnitude (the angle of a
  near-zero bin is ill-conditioned).

A cell that cannot work is listed in :data:`UNSUPPORTED` with the reason (the README's matrix repeats it).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

import keras
import numpy as np
import pytest

import kapre
from kapre import export, frontends
from tests.helpers import BACKEND, to_numpy

CL = dict(input_data_format="channels_last", output_data_format="channels_last")
SR = 16000
STFT_ARGS = dict(n_fft=512, win_length=400, hop_length=160, **CL)
MEL_ARGS = dict(n_fft=512, hop_length=160, sample_rate=SR, n_mels=64, **CL)
DB_PER_NEPER = 10.0 / np.log(10.0)  # dB per unit of natural log (of a power)


@dataclasses.dataclass(frozen=True)
class Cell:
    """A front-end of the matrix: ``build(wave)`` maps the ``(batch, time, 1)`` input to its output; ``kind`` says
    how it is compared; ``to_db`` (``kind == 'log'``) maps its values to dB, ``scale`` (``'mfcc'``/``'delta'``) is
    the error bound's factor."""

    build: Callable
    kind: str = "linear"  # linear | log | mfcc | delta | phase
    to_db: tuple[float, float] = (1.0, 0.0)
    scale: float = 1.0


def _mono(wave):
    return keras.layers.Reshape((-1,))(wave)  # (batch, time, 1) -> (batch, time): the model front-ends' input


def _stft(wave):
    return kapre.STFT(**STFT_ARGS)(wave)


def _magnitude(wave):
    return kapre.Magnitude()(_stft(wave))


def _log_mel(wave):
    return kapre.MelSpectrogram(**MEL_ARGS)(wave)  # decibels (the default)


# the delta filter's gain on an error: sum |n| / (2 sum n**2) over n = -2..2 (win_length 5): 6 / 10
DELTA_GAIN = sum(abs(n) for n in range(-2, 3)) / (2 * sum(n * n for n in range(-2, 3)))

CELLS = {
    "STFT": Cell(_stft),
    "Magnitude": Cell(_magnitude),
    "Phase": Cell(lambda w: kapre.Phase()(_stft(w)), kind="phase"),
    "MagnitudeToDecibel": Cell(lambda w: kapre.MagnitudeToDecibel()(_magnitude(w)), kind="log"),
    "ApplyFilterbank": Cell(lambda w: kapre.ApplyFilterbank(
        "mel", {"sample_rate": SR, "n_freq": 257, "n_mels": 64}, data_format="channels_last")(_magnitude(w))),
    "MelSpectrogram": Cell(lambda w: kapre.MelSpectrogram(**MEL_ARGS)(w), kind="log"),  # decibels by default
    "LogmelToMFCC": Cell(lambda w: kapre.LogmelToMFCC(n_mfccs=20, dct_norm="ortho")(_log_mel(w)), kind="mfcc",
                         scale=np.sqrt(64)),
    "Delta": Cell(lambda w: kapre.Delta(data_format="channels_last")(_log_mel(w)), kind="delta", scale=DELTA_GAIN),
    "whisper_log_mel": Cell(lambda w: frontends.whisper_log_mel()(_mono(w)), kind="log", to_db=(40.0, 0.0)),
    "kaldi_fbank": Cell(lambda w: frontends.kaldi_fbank()(_mono(w)), kind="log", to_db=(DB_PER_NEPER, 0.0)),
    "kaldi_mfcc": Cell(lambda w: frontends.kaldi_mfcc()(_mono(w)), kind="mfcc", scale=np.sqrt(23)),
    "ast_fbank": Cell(lambda w: frontends.ast_fbank(target_length=200)(_mono(w)), kind="log",
                      to_db=(2 * frontends.AUDIOSET_STD * DB_PER_NEPER, frontends.AUDIOSET_MEAN * DB_PER_NEPER)),
    "beats_fbank": Cell(lambda w: frontends.beats_fbank()(_mono(w)), kind="log",
                        to_db=(2 * frontends.BEATS_STD * DB_PER_NEPER, frontends.BEATS_MEAN * DB_PER_NEPER)),
    "panns_log_mel": Cell(lambda w: frontends.panns_log_mel()(_mono(w)), kind="log"),
    "clap_log_mel": Cell(lambda w: frontends.clap_log_mel()(_mono(w)), kind="log"),
    "yamnet_log_mel": Cell(lambda w: frontends.yamnet_log_mel()(_mono(w)), kind="log", to_db=(DB_PER_NEPER, 0.0)),
    "vggish_log_mel": Cell(lambda w: frontends.vggish_log_mel()(_mono(w)), kind="log", to_db=(DB_PER_NEPER, 0.0)),
    "CQT": Cell(lambda w: kapre.CQT(sr=SR, hop_length=256, n_bins=48, **CL)(w)),
    "PCEN": Cell(lambda w: kapre.PCEN(sr=SR, hop_length=160, data_format="channels_last")(
        kapre.MelSpectrogram(**MEL_ARGS, return_decibel=False)(w))),
    "LEAF": Cell(lambda w: kapre.LEAF(sample_rate=SR)(w)),
}
FORMATS = ("onnx", "litert")

# (backend, format, front-end) -> why the cell cannot work; JAX exports through TensorFlow (kapre.export)
UNSUPPORTED: dict[tuple[str, str, str], str] = {}


def _unsupported(backend: str, fmt: str, name: str) -> str | None:
    return UNSUPPORTED.get((backend, fmt, name)) or UNSUPPORTED.get(("*", fmt, name))


def matrix_model(fmt: str) -> tuple[keras.Model, list[str]]:
    """One model with every supported front-end of ``fmt`` on this backend as an output; the outputs' names."""
    wave = keras.Input((None, 1), name="wave")
    names = [name for name in CELLS if not _unsupported(BACKEND, fmt, name)]
    outputs = [CELLS[name].build(wave) for name in names]
    return keras.Model(wave, outputs, name=f"export_matrix_{fmt}"), names


def signal(batch: int, length: int) -> np.ndarray:
    """A chirp from 100 Hz to 6 kHz over white noise 10 dB below it, a different phase per example."""
    rng = np.random.default_rng(batch * 7 + length)
    t = np.arange(length) / SR
    phases = rng.uniform(0, 2 * np.pi, (batch, 1))
    chirp = 0.5 * np.sin(2 * np.pi * (100 * t + (6000 - 100) / (2 * t[-1]) * t**2) + phases)
    return (chirp + 0.15 * rng.standard_normal((batch, length)))[..., None].astype("float32")


RUNS = ((1, SR), (3, SR * 3 // 2))


@pytest.fixture(scope="module", params=FORMATS)
def exported(request, tmp_path_factory):
    fmt = request.param
    model, names = matrix_model(fmt)
    suffix = "onnx" if fmt == "onnx" else "tflite"
    path = os.path.join(str(tmp_path_factory.mktemp(f"export_{fmt}")), f"matrix.{suffix}")
    (export.to_onnx if fmt == "onnx" else export.to_litert)(model, path)
    run = export.run_onnx if fmt == "onnx" else export.run_litert
    results = {}
    for batch, length in RUNS:
        x = signal(batch, length)
        got = run(path, [x])
        ref = model(x)
        results[batch, length] = (x, [to_numpy(r) for r in ref], got)
    return fmt, names, results


def _as_parts(values: np.ndarray) -> np.ndarray:
    return np.stack([values.real, values.imag], axis=-1) if np.iscomplexobj(values) else values


def _per_example_max(values: np.ndarray) -> np.ndarray:
    return values.reshape(values.shape[0], -1).max(axis=1).reshape((-1,) + (1,) * (values.ndim - 1))


def check_cell(cell: Cell, got: np.ndarray, ref: np.ndarray) -> None:
    ref = _as_parts(ref)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    error = np.abs(got.astype("float64") - ref)
    if cell.kind == "linear":
        scale = _per_example_max(np.abs(ref))
        assert (error <= 1e-4 * scale).all(), float((error / scale).max())
    elif cell.kind == "log":
        a, b = cell.to_db
        db = a * ref + b
        near = db >= _per_example_max(db) - 40.0
        assert near.mean() > 0.05  # the comparison covers a real share of the bins
        assert (error[near] * a <= 1e-3).all(), float((error[near] * a).max())
    elif cell.kind == "mfcc":
        assert (error <= 1e-3 * cell.scale).all(), float(error.max())
    else:
        raise AssertionError(cell.kind)


@pytest.mark.parametrize("name", list(CELLS))
def test_export_matrix_cell(exported, name):
    fmt, names, results = exported
    reason = _unsupported(BACKEND, fmt, name)
    if reason:
        pytest.skip(reason)
    index = names.index(name)
    cell = CELLS[name]
    for _, refs, gots in results.values():
        got, ref = gots[index], refs[index]
        if cell.kind == "phase":
            spectrum = refs[names.index("STFT")]
            reliable = np.abs(spectrum) > 1e-3 * _per_example_max(np.abs(spectrum))
            assert got.shape == ref.shape
            wrapped = np.abs(np.angle(np.exp(1j * (got.astype("float64") - ref))))
            assert reliable.mean() > 0.3 and (wrapped[reliable] <= 1e-4 * np.pi).all(), wrapped[reliable].max()
        elif cell.kind == "delta":
            db = refs[names.index("MelSpectrogram")]  # the delta's input (the same log-mel), in dB
            near = db >= _per_example_max(db) - 40.0
            # a delta frame reads 5 frames: all within 40 dB
            window = np.ones_like(near)
            padded = np.pad(near, [(0, 0), (2, 2), (0, 0), (0, 0)], mode="edge")
            for shift in range(5):
                window &= padded[:, shift : shift + near.shape[1]]
            assert got.shape == ref.shape and window.mean() > 0.05
            error = np.abs(got.astype("float64") - ref)[window]
            assert (error <= 1e-3 * cell.scale).all(), error.max()
        else:
            check_cell(cell, got, ref)


def test_export_rejects_bad_arguments(tmp_path):
    layer = kapre.MelSpectrogram(**MEL_ARGS)
    with pytest.raises(export.ExportError, match="input_shape"):
        export.to_onnx(layer, tmp_path / "a.onnx")
    with pytest.raises(export.ExportError, match="does not exist"):
        export.to_onnx(layer, tmp_path / "missing" / "a.onnx", input_shape=(None, 1))
    with pytest.raises(export.ExportError, match="keras.Model or a kapre layer"):
        export.to_litert("not a model", tmp_path / "a.tflite")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_export_mode_restores_the_backend():
    from kapre import _backend

    before = _backend.rfft
    with export.export_mode():
        assert export.exporting() and _backend.rfft is not before
    assert not export.exporting() and _backend.rfft is before


@pytest.mark.parametrize("kind", ["ln", "log10", "db"])
def test_export_mode_logarithms_match_numpy(kind):
    """The model front-ends' logarithms in export mode (``log10`` as ``Log`` and one ``Mul``, as ONNX has no
    ``Log10``: what a ``log10`` exports as is ``Log``, ``Div`` and a ``Mul``) against NumPy's, in float64."""
    from kapre import functional

    x = np.abs(np.random.default_rng(5).standard_normal((3, 50))).astype("float32") * 100.0
    x[0, :3] = 0.0  # the floor
    with export.export_mode():
        got = to_numpy(functional.log_with_floor(keras.ops.convert_to_tensor(x), kind, floor=1e-10))
    floored = np.maximum(x.astype(np.float64), 1e-10)
    expected = {"ln": np.log, "log10": np.log10, "db": lambda v: 10.0 * np.log10(v)}[kind](floored)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.abs(expected).max())


# The two-stage DFT of the export backend (kapre._backend.portable: framing, window and the DFT as a depthwise
# convolution and one matmul), against NumPy's FFT: n1 = n_fft / n2 even and odd, a window shorter than n_fft.
TWO_STAGE_CASES = [(512, 160, 512), (512, 160, 400), (400, 160, 400), (1024, 256, 1024), (100, 10, 90)]


@pytest.mark.parametrize("n_fft,hop,win_length", TWO_STAGE_CASES)
def test_two_stage_dft_kernels_match_numpy_fft(n_fft, hop, win_length):
    from kapre import constants

    n2 = constants.two_stage_block(n_fft, hop)
    assert n2 is not None and n_fft % n2 == 0 and hop % n2 == 0
    stage1, stage2, bins = constants.two_stage_dft_kernels(n_fft, n2)
    n1, groups = n_fft // n2, n_fft // n2 // 2 + 1
    frames = np.random.default_rng(n_fft).standard_normal((4, n_fft))
    blocks = frames.reshape(4, n1, n2)  # [frame, m, r] = sample m * n2 + r
    a = np.einsum("fmr,mrc->frc", blocks, stage1).reshape(4, 2 * n2, groups)  # [frame, 2 r + part, k1]
    y = np.einsum("oi,fig->fog", stage2, a)  # [frame, part * n2 + k2, k1]
    power = (y[:, :n2] ** 2 + y[:, n2:] ** 2).reshape(4, -1)[:, bins]
    expected = np.abs(np.fft.rfft(frames, n_fft)) ** 2
    np.testing.assert_allclose(power, expected, rtol=0, atol=1e-12 * expected.max())


def test_two_stage_block_needs_a_common_divisor():
    from kapre import constants

    assert constants.two_stage_block(512, 160) == 16  # n_fft / n2 + 2 n2 = 64, the fewest
    assert constants.two_stage_block(512, 161) is None  # gcd 1: the dense DFT matmul
    assert constants.two_stage_block(16, 8) == 4  # a block of 4, 4 blocks per frame


@pytest.mark.parametrize("length", [4000, 4007])
@pytest.mark.parametrize("filterbank_kind", ["dense", "mel"])
@pytest.mark.parametrize("n_fft,hop,win_length", [*TWO_STAGE_CASES, (512, 161, 400)])
def test_export_mode_power_spectrogram_matches_numpy(n_fft, hop, win_length, filterbank_kind, length):
    """``functional.power_spectrogram`` and the fused filterbank product in export mode, on the backend, against
    NumPy (the last case has no common block: the dense DFT matmul); float32, 1e-5 of the largest value. A dense
    filterbank is one product; a mel filterbank splits into blocks of stage 2's rows (asserted where it applies).
    4007 samples end in a part of a block and of a hop, which the block convolution drops: the frame count is
    NumPy's."""
    from kapre import constants, functional
    from kapre._backend import portable

    rng = np.random.default_rng(1)
    signals = rng.standard_normal((2, 1, length)).astype("float32")
    window = constants.get_window("hann", win_length).astype("float32")
    if filterbank_kind == "dense":
        filterbank = np.abs(rng.standard_normal((n_fft // 2 + 1, 8)))
    else:
        filterbank = constants.mel_filterbank(16000, n_fft // 2 + 1, 40)
        n2 = constants.two_stage_block(n_fft, hop)
        if n2 is not None and n_fft >= 400:  # the sparse product is split (a 100-point DFT's 40 bands overlap)
            _, _, bins = constants.two_stage_dft_kernels(n_fft, n2)
            _, blocks = portable._stage2_filterbank_blocks(filterbank, bins, n2 * (n_fft // n2 // 2 + 1))
            assert len(blocks) > 1
    n_frames = 1 + (signals.shape[-1] - win_length) // hop
    framed = signals[..., np.arange(n_frames)[:, None] * hop + np.arange(win_length)].astype("float64")
    power = np.abs(np.fft.rfft(framed * window, n_fft)) ** 2
    with export.export_mode():
        got = to_numpy(functional.power_spectrogram(keras.ops.convert_to_tensor(signals), n_fft, hop,
                                                    keras.ops.convert_to_tensor(window)))
        mel = {magnitude: to_numpy(functional.filtered_power_spectrogram(
            keras.ops.convert_to_tensor(signals), n_fft, hop, keras.ops.convert_to_tensor(window), filterbank,
            [(0, n_fft // 2 + 1, keras.ops.convert_to_tensor(filterbank.astype("float32")))], magnitude=magnitude))
            for magnitude in (False, True)}
    np.testing.assert_allclose(got, power, rtol=0, atol=1e-5 * power.max())
    for magnitude, values in mel.items():
        expected = (np.sqrt(power) if magnitude else power) @ filterbank
        np.testing.assert_allclose(values, expected, rtol=0, atol=1e-5 * expected.max())


@pytest.mark.parametrize("output_data_format", ["channels_first", "channels_last"])
def test_export_mode_mel_spectrogram_equals_the_layer(output_data_format):
    """The whole MelSpectrogram in export mode (the two-stage DFT, the block products, decibels whose reference and
    80 dB floor the export applies after the output layout) against the layer's usual computation: stereo, both
    output layouts, a clip half silent so the floor holds in each example. 1e-3 dB within 40 dB of each example's
    largest value (``shared/acceptance-readings.md``: further down two correct float32 STFTs differ by ~1e-2 dB)
    and on the floored values, which must be floored in both."""
    layer = kapre.MelSpectrogram(n_fft=512, hop_length=160, sample_rate=SR, n_mels=40, db_ref_value="max",
                                 input_data_format="channels_last", output_data_format=output_data_format)
    rng = np.random.default_rng(7)
    wave = rng.standard_normal((2, 8007, 2)).astype("float32")
    wave[:, 4000:] *= 1e-6  # 120 dB down: below the floor
    x = keras.ops.convert_to_tensor(wave)
    expected = to_numpy(layer(x))
    with export.export_mode():
        got = to_numpy(layer(x))
    assert got.shape == expected.shape == layer.compute_output_shape(wave.shape)
    top = expected.max(axis=tuple(range(1, expected.ndim)), keepdims=True)
    floored = expected <= top - 80.0 + 1e-3
    assert floored.any(axis=tuple(range(1, expected.ndim))).all()  # the floor holds in every example
    compared = floored | (expected >= top - 40.0)
    np.testing.assert_allclose(got[compared], expected[compared], rtol=0, atol=1e-3)
    np.testing.assert_array_equal((got <= top - 80.0 + 2e-3)[floored], True)
