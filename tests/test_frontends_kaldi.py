"""The Kaldi-family model front-ends of kapre.frontends against their references, on the active backend.

* ``kaldi_fbank`` / ``kaldi_mfcc``: ``torchaudio.compliance.kaldi.fbank`` / ``.mfcc`` over a grid of option sets that
  together take every option value (not a cartesian product), and kaldi-native-fbank (the C++ port of Kaldi's
  ``compute-fbank-feats`` / ``compute-mfcc-feats``) on a representative subset.
  shared/acceptance-readings.md puts the two references 3e-5 (fbank) and 1.5e-4 (MFCC) apart; each is valid.
* ``ast_fbank``: transformers' ``ASTFeatureExtractor``, both its torchaudio path and its NumPy path.
* ``beats_fbank``: BEATs.preprocess, transcribed below (microsoft/unilm, beats/BEATs.py).

Tolerances (from the issue): 1e-3 absolute in the reference's output units for log outputs (log fbank, log energy,
MFCC, the normalised AST/BEATs features); 1e-4 of the clip's largest value for linear outputs
(``use_log_fbank=False``; the energy column stays log-domain and keeps 1e-3).

Signals: speech-like audio (tests/speech_corpus.py: glottal pulses through formant resonators, noise bursts) with
room noise 47 dB below the peak, white noise, digital silence, and speech at int16 scale, batched together; lengths
that are and are not a whole number of hops. Without room noise, the synthetic speech has mel bands 100+ dB below
the frame's energy, where float32 itself is the limit: there torchaudio in float32 and in float64 differ by up to
3e-2 (fbank) and 6e-2 (MFCC, cepstral_lifter=22) on the same clip, so the 1e-3 point cannot be read against a float32
reference; that case is measured against torchaudio in float64 (test_ill_conditioned_speech_against_float64). On the
grid's signals torchaudio float32 is within 6.3e-4 (fbank) / 4.2e-4 (MFCC) of float64, and a grid case passes
against either precision of the reference (shared/acceptance-readings.md: each is valid).
"""

from __future__ import annotations

import contextlib
import json
import math
import os

import kaldi_native_fbank as knf
import keras
import numpy as np
import pytest
import torch

from kapre import frontends
from tests.helpers import BACKEND, save_and_load, to_numpy
from tests.speech_corpus import synthesize_speech

LOG_TOL = 1e-3  # absolute, in log units (and in the normalised units of ast/beats)
LINEAR_TOL = 1e-4  # relative to the clip's largest value


def _torchaudio_kaldi():
    try:
        import torchaudio.compliance.kaldi as kaldi
    except ImportError as error:  # pragma: no cover - environment problem, not a skip
        pytest.fail(
            "torchaudio, the reference of the Kaldi front-ends, is not importable: run `python tests/references.py` "
            f"(it installs torchaudio into .test-references/, which tests/conftest.py puts on sys.path): {error!r}"
        )
    return kaldi


# ------------------------------------------------------------------------------------------------------------------
# Deviations seen, written out as JSON when KAPRE_FRONTEND_DEVIATIONS names a file (for the closing note)
# ------------------------------------------------------------------------------------------------------------------

DEVIATIONS: dict[str, float] = {}


def _record(key: str, value: float) -> None:
    DEVIATIONS[key] = max(DEVIATIONS.get(key, 0.0), float(value))


@pytest.fixture(scope="module", autouse=True)
def _write_deviations():
    yield
    path = os.environ.get("KAPRE_FRONTEND_DEVIATIONS")
    if path:
        with open(path, "w") as handle:
            json.dump({"backend": BACKEND, **DEVIATIONS}, handle, indent=1, sort_keys=True)


# ------------------------------------------------------------------------------------------------------------------
# Signals
# ------------------------------------------------------------------------------------------------------------------


def speech(n: int, sample_rate: int = 16000, seed: int = 0, room_noise: bool = True) -> np.ndarray:
    """``n`` samples of synthetic speech (the loudest stretch of a longer sentence, peak 0.5-0.9).

    ``room_noise``: plus pink noise at 3e-3 RMS and white noise at 1e-3 RMS (47 and 57 dB below the peak), as in a
    recording. Without it, the synthetic speech has bands 100+ dB below the frame's energy (below f0 after
    pre-emphasis, above the formants): float32 does not resolve those to 1e-3 in log units, and torchaudio in float32
    is up to 3e-2 from torchaudio in float64 there (see test_ill_conditioned_speech_against_float64). With the room
    noise, torchaudio float32 and float64 agree to 6.3e-4 over the whole grid (check_grid_premise).
    """
    total = max(2 * n, sample_rate)
    y = synthesize_speech(sample_rate, total / sample_rate, seed=seed)[:, 0].astype(np.float64)
    energy = np.concatenate([[0.0], np.cumsum(y**2)])
    start = int(np.argmax(energy[n:] - energy[:-n]))
    y = y[start : start + n]
    if room_noise:
        rng = np.random.default_rng(seed + 1000)
        spectrum = np.fft.rfft(rng.standard_normal(n))
        frequency = np.fft.rfftfreq(n)
        spectrum[1:] /= np.sqrt(frequency[1:] / frequency[-1])  # 1/f power
        spectrum[0] = 0.0
        pink = np.fft.irfft(spectrum, n)
        y = y + 3e-3 * pink / np.std(pink) + 1e-3 * rng.standard_normal(n)
    return y.astype(np.float32)


def white_noise(n: int, seed: int = 0) -> np.ndarray:
    return (0.3 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def clip_batch(n: int, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """(4, n): speech, white noise, silence and speech at int16 scale (another sentence)."""
    return np.stack(
        [
            speech(n, sample_rate, seed),
            white_noise(n, seed),
            np.zeros(n, np.float32),
            np.round(32767 * speech(n, sample_rate, seed + 1)).astype(np.float32),
        ]
    )


# ------------------------------------------------------------------------------------------------------------------
# References
# ------------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def one_torch_thread():
    """The references' small torch ops on one thread: with two (this suite runs on 2 cores, beside another
    framework's threads) each torchaudio call took 0.1-0.3 s instead of 2 ms. Restored after (kapre's torch)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def torchaudio_kaldi(clip: np.ndarray, mfcc: bool = False, dtype=torch.float32, **options) -> np.ndarray:
    """torchaudio.compliance.kaldi.fbank / .mfcc of one 1-D clip, (frames, features)."""
    kaldi = _torchaudio_kaldi()
    function = kaldi.mfcc if mfcc else kaldi.fbank
    waveform = torch.as_tensor(np.asarray(clip, np.float64), dtype=dtype)[None]
    with one_torch_thread():
        return function(waveform, **options).numpy().astype(np.float64)


def knf_kaldi(clip: np.ndarray, mfcc: bool = False, **options) -> np.ndarray:
    """kaldi-native-fbank's OnlineFbank / OnlineMfcc of one 1-D clip, every option set explicitly.

    knf's own defaults differ from torchaudio's (dither 3e-5, energy_floor 0, MFCC use_energy True), hence all set.
    Kaldi applies subtract_mean in compute-*-feats, after the features: done here the same way.
    """
    o = dict(sample_frequency=16000.0, frame_length=25.0, frame_shift=10.0, dither=0.0, preemphasis_coefficient=0.97,
             remove_dc_offset=True, window_type="povey", round_to_power_of_two=True, blackman_coeff=0.42,
             snip_edges=True, low_freq=20.0, high_freq=0.0, num_mel_bins=23, use_energy=False, raw_energy=True,
             energy_floor=1.0, use_log_fbank=True, use_power=True, htk_compat=False, subtract_mean=False, num_ceps=13,
             cepstral_lifter=22.0)
    unknown = set(options) - set(o)
    assert not unknown, unknown
    o.update(options)
    opts = knf.MfccOptions() if mfcc else knf.FbankOptions()
    frame = opts.frame_opts
    frame.samp_freq = float(o["sample_frequency"])
    frame.frame_length_ms = float(o["frame_length"])
    frame.frame_shift_ms = float(o["frame_shift"])
    frame.dither = float(o["dither"])
    frame.preemph_coeff = float(o["preemphasis_coefficient"])
    frame.remove_dc_offset = bool(o["remove_dc_offset"])
    frame.window_type = o["window_type"]
    frame.round_to_power_of_two = bool(o["round_to_power_of_two"])
    frame.blackman_coeff = float(o["blackman_coeff"])
    frame.snip_edges = bool(o["snip_edges"])
    mel = opts.mel_opts
    mel.num_bins = int(o["num_mel_bins"])
    mel.low_freq = float(o["low_freq"])
    mel.high_freq = float(o["high_freq"])
    opts.use_energy = bool(o["use_energy"])
    opts.raw_energy = bool(o["raw_energy"])
    opts.energy_floor = float(o["energy_floor"])
    opts.htk_compat = bool(o["htk_compat"])
    if mfcc:
        opts.num_ceps = int(o["num_ceps"])
        opts.cepstral_lifter = float(o["cepstral_lifter"])
        computer = knf.OnlineMfcc(opts)
    else:
        opts.use_log_fbank = bool(o["use_log_fbank"])
        opts.use_power = bool(o["use_power"])
        computer = knf.OnlineFbank(opts)
    computer.accept_waveform(float(o["sample_frequency"]), np.asarray(clip, np.float32).tolist())
    computer.input_finished()
    out = np.array([computer.get_frame(i) for i in range(computer.num_frames_ready)], np.float64)
    if o["subtract_mean"]:
        out = out - out.mean(axis=0)
    return out


# BEATs.preprocess (microsoft/unilm, beats/BEATs.py), per clip of the batch:
#     waveform = waveform.unsqueeze(0) * 2 ** 15
#     fbank = ta_kaldi.fbank(waveform, num_mel_bins=128, sample_frequency=16000, frame_length=25, frame_shift=10)
#     fbank = (fbank - fbank_mean) / (2 * fbank_std)          # fbank_mean=15.41663, fbank_std=6.55582
def beats_preprocess(clip: np.ndarray, fbank_mean: float = 15.41663, fbank_std: float = 6.55582) -> np.ndarray:
    kaldi = _torchaudio_kaldi()
    with one_torch_thread():
        waveform = torch.as_tensor(np.asarray(clip, np.float32))[None] * 2**15
        fbank = kaldi.fbank(waveform, num_mel_bins=128, sample_frequency=16000, frame_length=25, frame_shift=10)
        return ((fbank - fbank_mean) / (2 * fbank_std)).numpy().astype(np.float64)


# ------------------------------------------------------------------------------------------------------------------
# Comparison
# ------------------------------------------------------------------------------------------------------------------


def energy_column(options: dict, n_features: int) -> int | None:
    """Index of fbank's log-energy column (use_energy): last with htk_compat, else first."""
    if not options.get("use_energy", False):
        return None
    return n_features - 1 if options.get("htk_compat", False) else 0


def errors(actual: np.ndarray, expected: np.ndarray, options: dict, mfcc: bool) -> tuple[float, float | None]:
    """(max abs error of the log-domain outputs, max abs error of the linear outputs / the clip's largest linear
    value, or None where there are none); shapes must agree."""
    assert actual.shape == expected.shape, f"shape {actual.shape} != reference {expected.shape}"
    error = np.abs(actual.astype(np.float64) - expected)
    if mfcc or options.get("use_log_fbank", True):
        return float(error.max(initial=0.0)), None
    log_columns = np.zeros(expected.shape[-1], bool)
    column = energy_column(options, expected.shape[-1])
    if column is not None:
        log_columns[column] = True
    log_error = float(error[:, log_columns].max(initial=0.0))
    scale = float(np.abs(expected[:, ~log_columns]).max(initial=0.0))
    linear_error = float(error[:, ~log_columns].max(initial=0.0))
    if scale == 0.0:  # a silent clip: the reference is exactly 0
        return log_error, math.inf if linear_error > 0 else 0.0
    return log_error, linear_error / scale


def deviation(actual: np.ndarray, expected: np.ndarray, options: dict, mfcc: bool) -> float:
    """The largest error of one clip as a multiple of its tolerance (<= 1 passes)."""
    log_error, linear_error = errors(actual, expected, options, mfcc)
    return max(log_error / LOG_TOL, (linear_error or 0.0) / LINEAR_TOL)


def record_errors(key: str, actual: np.ndarray, expected: np.ndarray, options: dict, mfcc: bool) -> None:
    log_error, linear_error = errors(actual, expected, options, mfcc)
    _record(f"{key} (max abs, log outputs)", log_error)
    if linear_error is not None:
        _record(f"{key} (max error / largest value, linear outputs)", linear_error)


def check_against(reference_name: str, kind: str, actual: np.ndarray, references: list, options: dict, mfcc: bool,
                  float64_references: list | None = None) -> None:
    """Every clip of ``actual`` (batch, frames, features) against its reference, with a readable failure.

    With ``float64_references`` (torchaudio run in float64), a clip passes when it is within tolerance of the float32
    reference or of the float64 one: each precision of the reference is valid (shared/acceptance-readings.md). They
    differ where a mel band lies 100+ dB below its frame's total energy (e.g. the DC band after pre-emphasis, with
    low_freq=0), which float32 cannot resolve to 1e-3 in log units: there torchaudio-float32 itself is 5e-4 off.
    """
    worst, worst_clip = 0.0, -1
    for i, expected in enumerate(references):
        ratio = deviation(actual[i], expected, options, mfcc)
        record_errors(f"{kind} vs {reference_name}", actual[i], expected, options, mfcc)
        if float64_references is not None:
            ratio = min(ratio, deviation(actual[i], float64_references[i], options, mfcc))
            record_errors(f"{kind} vs {reference_name} float64", actual[i], float64_references[i], options, mfcc)
            record_errors(f"({reference_name} float32 vs float64, {kind} grid)", expected, float64_references[i],
                          options, mfcc)
        if ratio > worst:
            worst, worst_clip = ratio, i
    if worst > 1.0:
        expected = references[worst_clip]
        error = np.abs(actual[worst_clip] - expected)
        frame, feature = np.unravel_index(np.argmax(error), error.shape)
        note = ""
        if float64_references is not None:
            reference64 = float64_references[worst_clip]
            note = (f"; vs torchaudio float64: kapre {np.abs(actual[worst_clip] - reference64).max():.3g}, "
                    f"torchaudio float32 {np.abs(expected - reference64).max():.3g}")
        pytest.fail(
            f"{kind} {options} vs {reference_name}: clip {worst_clip} ({CLIP_NAMES[worst_clip]}) off by {worst:.3g} x "
            f"its tolerance; max abs error {error.max():.3g} at frame {frame}, feature {feature}: kapre "
            f"{actual[worst_clip][frame, feature]:.6g}, reference {expected[frame, feature]:.6g}{note}"
        )


CLIP_NAMES = ("speech", "white noise", "silence", "speech x 32767")


# ------------------------------------------------------------------------------------------------------------------
# The option grid: every option value appears in some case (n: clip length in samples)
# ------------------------------------------------------------------------------------------------------------------

HOP_MULTIPLE, NOT_HOP_MULTIPLE, SHORT = 16000, 16000 + 37, 400 + 160 * 3 + 11

FBANK_CASES = [
    ({}, HOP_MULTIPLE),
    ({}, SHORT),
    ({"snip_edges": False}, NOT_HOP_MULTIPLE),
    ({"snip_edges": False, "frame_length": 20.0, "frame_shift": 5.0}, SHORT),
    ({"window_type": "hanning", "preemphasis_coefficient": 0.0}, HOP_MULTIPLE),
    ({"window_type": "hamming", "remove_dc_offset": False}, NOT_HOP_MULTIPLE),
    ({"window_type": "rectangular", "round_to_power_of_two": False}, NOT_HOP_MULTIPLE),
    ({"window_type": "blackman", "round_to_power_of_two": False, "frame_length": 32.0}, SHORT),
    ({"window_type": "blackman", "blackman_coeff": 0.5, "snip_edges": False}, NOT_HOP_MULTIPLE),
    ({"window_type": "povey", "preemphasis_coefficient": 1.0, "remove_dc_offset": False}, SHORT),
    ({"low_freq": 0.0, "high_freq": 8000.0}, HOP_MULTIPLE),
    ({"low_freq": 100.0, "high_freq": -400.0, "num_mel_bins": 40}, NOT_HOP_MULTIPLE),
    ({"sample_frequency": 8000.0, "low_freq": 300.0, "high_freq": 3400.0, "num_mel_bins": 20}, NOT_HOP_MULTIPLE),
    ({"sample_frequency": 8000.0, "snip_edges": False, "high_freq": -200.0}, SHORT),
    ({"sample_frequency": 8000.0, "frame_length": 32.0, "frame_shift": 8.0, "window_type": "hamming",
      "use_energy": True}, HOP_MULTIPLE),
    ({"use_energy": True}, NOT_HOP_MULTIPLE),
    ({"use_energy": True, "raw_energy": False, "energy_floor": 0.0}, HOP_MULTIPLE),
    ({"use_energy": True, "htk_compat": True, "energy_floor": 0.0}, SHORT),
    ({"use_energy": True, "htk_compat": True, "raw_energy": False, "energy_floor": 1.0,
      "window_type": "hanning"}, NOT_HOP_MULTIPLE),
    ({"htk_compat": True}, SHORT),
    ({"use_log_fbank": False}, NOT_HOP_MULTIPLE),
    ({"use_log_fbank": False, "use_power": False, "snip_edges": False}, SHORT),
    ({"use_power": False}, HOP_MULTIPLE),
    ({"use_log_fbank": False, "use_energy": True, "raw_energy": False, "window_type": "blackman"}, HOP_MULTIPLE),
    ({"subtract_mean": True}, NOT_HOP_MULTIPLE),
    ({"subtract_mean": True, "snip_edges": False, "use_energy": True, "energy_floor": 0.0}, SHORT),
    ({"subtract_mean": True, "use_log_fbank": False}, HOP_MULTIPLE),
    ({"num_mel_bins": 80, "frame_length": 30.0, "frame_shift": 12.5}, NOT_HOP_MULTIPLE),
    ({"num_mel_bins": 128, "frame_length": 50.0, "frame_shift": 25.0, "snip_edges": False}, NOT_HOP_MULTIPLE),
    ({"frame_length": 23.0, "frame_shift": 11.1, "round_to_power_of_two": False}, NOT_HOP_MULTIPLE),
    ({"num_mel_bins": 10, "low_freq": 40.0}, SHORT),
    ({"sample_frequency": 22050.0, "high_freq": -1000.0, "num_mel_bins": 64}, NOT_HOP_MULTIPLE),
]

MFCC_CASES = [
    ({}, HOP_MULTIPLE),
    ({"num_ceps": 20, "num_mel_bins": 40, "cepstral_lifter": 0.0}, NOT_HOP_MULTIPLE),
    ({"cepstral_lifter": 0.0}, SHORT),
    ({"use_energy": True}, NOT_HOP_MULTIPLE),
    ({"use_energy": True, "htk_compat": True}, HOP_MULTIPLE),
    ({"htk_compat": True}, NOT_HOP_MULTIPLE),
    ({"use_energy": True, "raw_energy": False, "energy_floor": 0.0}, SHORT),
    ({"subtract_mean": True, "use_energy": True}, NOT_HOP_MULTIPLE),
    ({"sample_frequency": 8000.0, "snip_edges": False, "high_freq": -200.0}, NOT_HOP_MULTIPLE),
    ({"window_type": "hamming", "preemphasis_coefficient": 0.0, "remove_dc_offset": False,
      "round_to_power_of_two": False, "num_ceps": 23, "num_mel_bins": 23}, HOP_MULTIPLE),
    ({"window_type": "blackman", "frame_length": 20.0, "frame_shift": 5.0, "low_freq": 64.0}, SHORT),
    ({"window_type": "rectangular", "snip_edges": False, "sample_frequency": 8000.0, "num_ceps": 10}, SHORT),
    ({"window_type": "hanning", "high_freq": 7000.0, "num_mel_bins": 30, "cepstral_lifter": 10.0}, HOP_MULTIPLE),
]


def case_id(case) -> str:
    options, n = case
    text = ",".join(f"{k}={v}" for k, v in options.items()) or "defaults"
    return f"{text}-n{n}"


def layer_output(layer, x) -> np.ndarray:
    return to_numpy(layer(x)).astype(np.float64)


_GRID_OUTPUTS: dict = {}  # kapre's output per grid case, shared by the torchaudio and kaldi-native-fbank tests


def run_grid_case(options: dict, n: int, mfcc: bool):
    sample_rate = int(options.get("sample_frequency", 16000))
    x = clip_batch(n, sample_rate, seed=n % 7)
    key = (mfcc, n, tuple(sorted(options.items())))
    if key not in _GRID_OUTPUTS:
        builder = frontends.kaldi_mfcc if mfcc else frontends.kaldi_fbank
        _GRID_OUTPUTS[key] = layer_output(builder(**options), x)
    return x, _GRID_OUTPUTS[key]


def check_grid_premise(references: list, references64: list) -> None:
    """On the grid's speech clips torchaudio float32 and float64 agree to 7.5e-4 (6e-4 measured, in the narrow low
    bands of num_mel_bins=128): 1e-3 then tests the implementation, not float32 rounding (see speech())."""
    for i in (0, 3):
        own = np.abs(references[i] - references64[i]).max()
        assert own <= 7.5e-4, f"the grid's {CLIP_NAMES[i]} clip is beyond float32's reach: torchaudio itself {own:.3g}"


@pytest.mark.parametrize("case", FBANK_CASES, ids=case_id)
def test_kaldi_fbank_equals_torchaudio(case):
    options, n = case
    x, actual = run_grid_case(options, n, mfcc=False)
    references = [torchaudio_kaldi(clip, **options) for clip in x]
    references64 = [torchaudio_kaldi(clip, dtype=torch.float64, **options) for clip in x]
    check_against("torchaudio", "kaldi_fbank", actual, references, options, False, references64)
    if options.get("use_log_fbank", True):
        check_grid_premise(references, references64)


@pytest.mark.parametrize("case", MFCC_CASES, ids=case_id)
def test_kaldi_mfcc_equals_torchaudio(case):
    options, n = case
    x, actual = run_grid_case(options, n, mfcc=True)
    references = [torchaudio_kaldi(clip, mfcc=True, **options) for clip in x]
    references64 = [torchaudio_kaldi(clip, mfcc=True, dtype=torch.float64, **options) for clip in x]
    check_against("torchaudio", "kaldi_mfcc", actual, references, options, True, references64)
    check_grid_premise(references, references64)


# A representative subset against kaldi-native-fbank: windows, snip_edges, energy placement, linear outputs, 8 kHz,
# subtract_mean, liftering
KNF_FBANK = [FBANK_CASES[i] for i in (0, 2, 8, 11, 13, 18, 20, 21, 25, 28)]
KNF_MFCC = [MFCC_CASES[i] for i in (0, 1, 4, 5, 8, 11)]


@pytest.mark.parametrize("case", KNF_FBANK, ids=case_id)
def test_kaldi_fbank_equals_kaldi_native_fbank(case):
    options, n = case
    x, actual = run_grid_case(options, n, mfcc=False)
    check_against("kaldi-native-fbank", "kaldi_fbank", actual, [knf_kaldi(clip, **options) for clip in x], options,
                  False)


@pytest.mark.parametrize("case", KNF_MFCC, ids=case_id)
def test_kaldi_mfcc_equals_kaldi_native_fbank(case):
    options, n = case
    x, actual = run_grid_case(options, n, mfcc=True)
    check_against("kaldi-native-fbank", "kaldi_mfcc", actual, [knf_kaldi(clip, mfcc=True, **options) for clip in x],
                  options, True)


def test_grid_covers_every_option_value():
    """The grid above is the evidence for every option: each value named in the issue appears in some case."""
    seen: dict[str, set] = {}
    for options, _ in FBANK_CASES + MFCC_CASES:
        for key, value in options.items():
            seen.setdefault(key, set()).add(value)
    mfcc_seen: dict[str, set] = {}
    for options, _ in MFCC_CASES:
        for key, value in options.items():
            mfcc_seen.setdefault(key, set()).add(value)
    required = {
        "window_type": {"povey", "hanning", "hamming", "rectangular", "blackman"},
        "preemphasis_coefficient": {0.0},  # 0.97 is the default
        "remove_dc_offset": {False},
        "round_to_power_of_two": {False},
        "snip_edges": {False},
        "use_energy": {True},
        "raw_energy": {False},
        "energy_floor": {0.0, 1.0},
        "use_log_fbank": {False},
        "use_power": {False},
        "htk_compat": {True},
        "subtract_mean": {True},
        "sample_frequency": {8000.0},
        "blackman_coeff": {0.5},
    }
    for key, values in required.items():
        assert values <= seen.get(key, set()), (key, values, seen.get(key))
    assert any(v < 0 for v in seen["high_freq"]) and any(v > 0 for v in seen["high_freq"])
    assert seen["low_freq"] - {20.0}
    assert {"frame_length", "frame_shift", "num_mel_bins"} <= set(seen)
    assert {0.0, 10.0} <= mfcc_seen["cepstral_lifter"] and len(mfcc_seen["num_ceps"]) >= 2
    assert {True} <= mfcc_seen["use_energy"] and {True} <= mfcc_seen["htk_compat"]


# ------------------------------------------------------------------------------------------------------------------
# Speech without room noise: bands beyond float32's reach, measured against torchaudio in float64
# ------------------------------------------------------------------------------------------------------------------

ILL_CONDITIONED = [
    (False, {}),
    (False, {"num_mel_bins": 80, "frame_length": 30.0, "frame_shift": 12.5}),
    (False, {"num_mel_bins": 128, "frame_length": 50.0, "frame_shift": 25.0, "snip_edges": False}),
    (True, {}),
    (True, {"sample_frequency": 8000.0, "snip_edges": False, "high_freq": -200.0}),
]


def float32_reach(clip: np.ndarray, mfcc: bool, options: dict, c: float = 2.0) -> np.ndarray:
    """What float32 resolves of each output, in log units: 1e-3 + 2 eps32 * sqrt(N * E_frame / E_band).

    A float32 FFT of N points has an error of about eps32 * sqrt(N) * ||frame|| in each bin (and the window's and
    pre-emphasis' roundings add as much again), so a mel band of energy E_band is known to a relative
    ~eps32 * sqrt(N * E_frame / E_band), E_frame = ||frame||^2 the energy of the windowed frame the FFT takes
    (torchaudio's log energy with raw_energy=False), all in float64. Measured (max error / bound): torchaudio in
    float32 0.9 (on the int16-scale clip's quiet frames, num_mel_bins=128), kapre 0.17 on each backend. For MFCCs
    the DCT (rows of norm <= sqrt(2 / num_mel_bins)) and the lifter carry the bands' bounds into every
    coefficient of the frame.
    """
    fbank_options = {k: v for k, v in options.items() if k not in ("num_ceps", "cepstral_lifter")}
    fbank_options.update(use_energy=True, raw_energy=False, energy_floor=0.0, htk_compat=False)
    features = torchaudio_kaldi(clip, dtype=torch.float64, **fbank_options)
    log_frame_energy, log_mel = features[:, :1], features[:, 1:]
    sample_frequency = options.get("sample_frequency", 16000.0)
    size = int(sample_frequency * options.get("frame_length", 25.0) * 0.001)
    n_fft = 2 ** math.ceil(math.log2(size)) if options.get("round_to_power_of_two", True) else size
    band_bound = c * np.finfo(np.float32).eps * np.sqrt(n_fft) * np.exp((log_frame_energy - log_mel) / 2)
    if not mfcc:
        return LOG_TOL + band_bound
    lifter = options.get("cepstral_lifter", 22.0)
    num_ceps = options.get("num_ceps", 13)
    largest_lift = max(1.0 + 0.5 * lifter * math.sin(math.pi * i / lifter) for i in range(num_ceps)) if lifter else 1.0
    per_frame = largest_lift * math.sqrt(2 / log_mel.shape[1]) * band_bound.sum(axis=1, keepdims=True)
    return LOG_TOL + np.broadcast_to(per_frame, (log_mel.shape[0], num_ceps))


@pytest.mark.parametrize("mfcc, options", ILL_CONDITIONED, ids=lambda v: str(v))
def test_ill_conditioned_speech_against_float64(mfcc, options):
    """Synthetic speech with digital silence and no noise floor, also at int16 scale, against torchaudio in float64.

    Bands 100+ dB below the frame's energy: here torchaudio in float32 is itself up to 3e-2 (fbank) / 6e-2 (MFCC)
    from torchaudio in float64, so no float32 computation meets 1e-3 on every band. Read: every output within
    1e-3 + what float32 resolves of it (float32_reach), a bound torchaudio-float32 meets too (checked here).
    """
    sample_rate = int(options.get("sample_frequency", 16000))
    x = np.stack([speech(NOT_HOP_MULTIPLE, sample_rate, seed=s, room_noise=False) for s in (1, 2)])
    x[1, :4000] = 0.0  # digital silence, as at the start of the corpus files
    x = np.concatenate([x, np.round(32767 * x)])
    builder = frontends.kaldi_mfcc if mfcc else frontends.kaldi_fbank
    actual = layer_output(builder(**options), x)
    kind = "kaldi_mfcc" if mfcc else "kaldi_fbank"
    for i, clip in enumerate(x):
        reference64 = torchaudio_kaldi(clip, mfcc=mfcc, dtype=torch.float64, **options)
        reference32 = torchaudio_kaldi(clip, mfcc=mfcc, **options)
        bound = float32_reach(clip, mfcc, options)
        ours = np.abs(actual[i] - reference64)
        theirs = np.abs(reference32 - reference64)
        _record(f"{kind} vs torchaudio float64, speech without room noise (max abs)", ours.max())
        _record(f"{kind} vs torchaudio float32, speech without room noise (max abs)",
                np.abs(actual[i] - reference32).max())
        _record(f"(torchaudio float32 vs float64, {kind}, speech without room noise) (max abs)", theirs.max())
        _record(f"{kind} vs torchaudio float64, speech without room noise (max error / float32 reach)",
                (ours / bound).max())
        _record(f"(torchaudio float32 vs float64, {kind}, speech without room noise) (max error / float32 reach)",
                (theirs / bound).max())
        assert (theirs <= bound).all(), f"the bound is wrong: torchaudio float32 {(theirs / bound).max():.3g} x"
        worst = np.unravel_index(np.argmax(ours / bound), ours.shape)
        assert (ours <= bound).all(), (
            f"clip {i}: kapre off float64 by {ours[worst]:.3g} at {worst}, beyond float32's reach {bound[worst]:.3g}"
            f" (torchaudio float32 there: {theirs[worst]:.3g}; max over the clip: kapre {ours.max():.3g}, "
            f"torchaudio float32 {theirs.max():.3g})"
        )


# ------------------------------------------------------------------------------------------------------------------
# Batches, channels, layouts, shapes
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "builder, options",
    [
        ("kaldi_fbank", {"subtract_mean": True, "snip_edges": False, "use_energy": True}),
        ("kaldi_mfcc", {"subtract_mean": True}),
        ("ast_fbank", {"target_length": 120}),
        ("beats_fbank", {}),
    ],
)
def test_batch_equals_each_clip_alone(builder, options):
    x = clip_batch(NOT_HOP_MULTIPLE, seed=3)
    layer = getattr(frontends, builder)(**options)
    batched = layer_output(layer, x)
    for i in range(len(x)):
        alone = layer_output(layer, x[i : i + 1])
        np.testing.assert_allclose(batched[i], alone[0], rtol=0, atol=1e-4, err_msg=f"{builder} clip {i}")


@pytest.mark.parametrize("builder", ["kaldi_fbank", "kaldi_mfcc", "ast_fbank", "beats_fbank"])
def test_layouts_and_channels(builder):
    options = {"target_length": 60} if builder == "ast_fbank" else {}
    n = NOT_HOP_MULTIPLE
    x = clip_batch(n, seed=4)[:3]
    default = getattr(frontends, builder)(**options)
    assert default.get_config()["layout"] == "frames_first"  # every Kaldi-family reference is (frames, features)
    frames_first = layer_output(default, x)
    features_first = layer_output(getattr(frontends, builder)(layout="features_first", **options), x)
    np.testing.assert_allclose(features_first, np.swapaxes(frames_first, 1, 2), rtol=0, atol=1e-6)
    # (batch, samples, channels) -> a trailing channels axis; channel c equals the mono clip x[c]
    stereo = np.stack([x[:2], x[1:3]], axis=-1)  # (2, n, 2)
    out = layer_output(getattr(frontends, builder)(**options), stereo)
    assert out.shape == (2,) + frames_first.shape[1:] + (2,)
    np.testing.assert_allclose(out[..., 0], frames_first[:2], rtol=0, atol=1e-4)
    np.testing.assert_allclose(out[..., 1], frames_first[1:3], rtol=0, atol=1e-4)


SHAPE_CASES = [
    ("kaldi_fbank", {}, 400),  # exactly one frame
    ("kaldi_fbank", {}, 559),  # still one frame
    ("kaldi_fbank", {}, 560),  # two
    ("kaldi_fbank", {"snip_edges": False}, 400),  # the window's length: (400 + 80) // 160 = 3 frames
    ("kaldi_fbank", {"snip_edges": False}, 559),
    ("kaldi_fbank", {"snip_edges": False}, 560),
    ("kaldi_fbank", {"snip_edges": False, "frame_shift": 7.0}, 401),  # odd shift
    ("kaldi_fbank", {"use_energy": True, "layout": "features_first"}, 400),
    ("kaldi_fbank", {"sample_frequency": 8000.0}, 200),
    ("kaldi_mfcc", {"num_ceps": 20, "num_mel_bins": 30}, 400),
    ("kaldi_mfcc", {"snip_edges": False}, 401),
    ("ast_fbank", {}, 400),
    ("ast_fbank", {"target_length": None}, 400),
    ("ast_fbank", {"target_length": None, "layout": "features_first"}, 1000),
    ("beats_fbank", {}, 400),
    ("beats_fbank", {"layout": "features_first"}, 16037),
]


def reference_of(builder: str, options: dict, clip: np.ndarray) -> np.ndarray:
    """The reference of one clip in (frames, features) (layout ignored)."""
    options = {k: v for k, v in options.items() if k != "layout"}
    if builder == "kaldi_fbank":
        return torchaudio_kaldi(clip, **options)
    if builder == "kaldi_mfcc":
        return torchaudio_kaldi(clip, mfcc=True, **options)
    if builder == "beats_fbank":
        return beats_preprocess(clip, **{{"mean": "fbank_mean", "std": "fbank_std"}[k]: v for k, v in options.items()})
    return ast_reference(clip, **options)


@pytest.mark.parametrize("builder, options, n", SHAPE_CASES, ids=lambda v: str(v))
def test_compute_output_shape_matches_eager(builder, options, n):
    layer = getattr(frontends, builder)(**options)
    x = speech(n, seed=5)[None]
    out = layer_output(layer, x)
    expected = reference_of(builder, options, x[0]).shape
    if options.get("layout") == "features_first":
        expected = expected[::-1]
    assert out.shape == (1,) + expected
    assert tuple(layer.compute_output_shape((None, n))) == (None,) + expected
    assert tuple(layer.compute_output_shape((3, n))) == (3,) + expected
    # the symbolic path agrees too
    symbolic = layer(keras.Input((n,)))
    assert tuple(symbolic.shape) == (None,) + expected


# ------------------------------------------------------------------------------------------------------------------
# Dither
# ------------------------------------------------------------------------------------------------------------------


def test_dither_is_seeded():
    x = clip_batch(NOT_HOP_MULTIPLE, seed=6)
    outputs = {}
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        outputs[name] = layer_output(frontends.kaldi_fbank(dither=1.0, seed=seed), x)
    np.testing.assert_array_equal(outputs["a"], outputs["b"])
    assert np.abs(outputs["a"] - outputs["c"]).max() > 1e-2
    # the silent clip is no longer silent (log(eps) = -15.94 everywhere without dither)
    assert outputs["a"][2].min() > -10
    mfcc_a = layer_output(frontends.kaldi_mfcc(dither=1.0, seed=5), x)
    mfcc_b = layer_output(frontends.kaldi_mfcc(dither=1.0, seed=5), x)
    mfcc_c = layer_output(frontends.kaldi_mfcc(dither=1.0, seed=6), x)
    np.testing.assert_array_equal(mfcc_a, mfcc_b)
    assert np.abs(mfcc_a - mfcc_c).max() > 1e-2


@pytest.mark.parametrize("dither", [0.25, 4.0])
def test_dither_noise_level_in_the_frame_domain(dither):
    """Silence, no DC removal, no pre-emphasis, rectangular window: the raw log energy is log(sum of frame noise^2).

    Kaldi (and torchaudio) add N(0, dither^2) to each sample of each frame (frames get independent noise), so
    exp(energy) / frame_length averages dither^2 (chi-square with 400 degrees of freedom per frame: over 2 x 98
    frames the mean is within 0.5 % (1 sigma)), and consecutive frames' energies are uncorrelated although the
    frames overlap by 240 samples (noise added to the waveform would correlate them by 0.6).
    """
    layer = frontends.kaldi_fbank(dither=dither, seed=3, use_energy=True, raw_energy=True, energy_floor=0.0,
                                  remove_dc_offset=False, preemphasis_coefficient=0.0, window_type="rectangular")
    out = layer_output(layer, np.zeros((2, HOP_MULTIPLE), np.float32))
    power = np.exp(out[:, :, 0]) / 400.0
    ratio = power.mean() / dither**2
    _record(f"dither {dither}: mean frame noise power / dither^2", ratio)
    assert abs(ratio - 1.0) < 0.03, f"noise power {power.mean():.4g}, expected dither^2 = {dither**2:.4g}"
    centred = power - power.mean(axis=1, keepdims=True)
    correlation = (centred[:, 1:] * centred[:, :-1]).sum() / (centred**2).sum()
    assert abs(correlation) < 0.3, f"consecutive frames' noise correlated ({correlation:.2f}): not per-frame noise"
    assert not np.allclose(out[0], out[1]), "both clips of the batch got the same noise"


def test_dither_fbank_statistics_equal_torchaudio():
    """Default options, silence, dither 1: the mean linear mel energy of each band over ~2000 frames agrees with
    torchaudio's (seeded) within 10 % per band and 3 % over all bands (a wrong noise scale s moves them by s^2)."""
    n, clips, dither = 80000, 4, 1.0
    options = {"dither": dither, "use_log_fbank": False}
    x = np.zeros((clips, n), np.float32)
    ours = layer_output(frontends.kaldi_fbank(seed=1, **options), x).reshape(-1, 23)
    torch.manual_seed(0)
    theirs = np.concatenate([torchaudio_kaldi(clip, **options) for clip in x])
    per_band = ours.mean(axis=0) / theirs.mean(axis=0)
    overall = ours.mean() / theirs.mean()
    _record("dither statistics: max |band mean ratio - 1| vs torchaudio", np.abs(per_band - 1).max())
    assert abs(overall - 1) < 0.03, f"overall mean mel energy ratio {overall:.4f}"
    assert np.abs(per_band - 1).max() < 0.10, f"per-band ratios {np.round(per_band, 3)}"


# ------------------------------------------------------------------------------------------------------------------
# AST and BEATs
# ------------------------------------------------------------------------------------------------------------------

_AST_MODULE = "transformers.models.audio_spectrogram_transformer.feature_extraction_audio_spectrogram_transformer"


def ast_extractor(max_length: int = 1024, numpy_path: bool = False, monkeypatch=None):
    """transformers' ASTFeatureExtractor; it computes with torchaudio's kaldi.fbank when ``is_speech_available()``.

    In this environment torchaudio is importable (from .test-references/, which conftest.py puts on sys.path before
    transformers is imported), so the extractor takes its torchaudio path; ``numpy_path=True`` forces its NumPy path
    (transformers.audio_utils.spectrogram with its own Kaldi-scale mel filters), the one used where torchaudio is
    missing. The two paths differ by 4e-5 here.
    """
    import importlib

    module = importlib.import_module(_AST_MODULE)
    if numpy_path:
        monkeypatch.setattr(module, "is_speech_available", lambda: False)
    return module.ASTFeatureExtractor(max_length=max_length)


def ast_reference(clip, target_length=1024, mean=-4.2677393, std=4.5689974, num_mel_bins=128, **unused):
    """ASTFeatureExtractor's output for one clip; target_length=None: its frames, neither padded nor cut."""
    assert not unused, unused
    if target_length is None:
        target_length = 1 + (len(clip) - 400) // 160
    import importlib

    extractor = importlib.import_module(_AST_MODULE).ASTFeatureExtractor(
        max_length=target_length, mean=mean, std=std, num_mel_bins=num_mel_bins)
    with one_torch_thread():
        return extractor(clip, sampling_rate=16000, return_tensors="np")["input_values"][0].astype(np.float64)


def test_ast_extractor_takes_its_torchaudio_path_here():
    import importlib

    assert importlib.import_module(_AST_MODULE).is_speech_available(), (
        "transformers does not see torchaudio: run `python tests/references.py`")


@pytest.mark.parametrize(
    "seconds, target_length",
    [(1.0, 1024), (11.0, 1024), (2.0, 100), (0.5, 100), (1.0, None)],
    ids=["pad-to-1024", "cut-11s-to-1024", "cut-to-100", "pad-to-100", "no-target-length"],
)
def test_ast_fbank_equals_ast_feature_extractor(seconds, target_length):
    n = int(seconds * 16000) + 37
    x = np.stack([speech(n, seed=7), white_noise(n, seed=7), np.zeros(n, np.float32)])
    actual = layer_output(frontends.ast_fbank(target_length=target_length), x)
    references = [ast_reference(clip, target_length=target_length) for clip in x]
    frames = 1 + (n - 400) // 160
    if target_length is not None:
        assert actual.shape[1] == target_length
        if frames < target_length:  # padded rows: zeros before normalisation
            np.testing.assert_allclose(actual[:, frames:], (0 + 4.2677393) / (2 * 4.5689974), atol=1e-6)
    check_against("transformers ASTFeatureExtractor", "ast_fbank", actual, references, {}, True)


def test_ast_fbank_equals_ast_feature_extractor_numpy_path(monkeypatch):
    n = 16037
    x = np.stack([speech(n, seed=8), white_noise(n, seed=8)])
    actual = layer_output(frontends.ast_fbank(target_length=120), x)
    extractor = ast_extractor(max_length=120, numpy_path=True, monkeypatch=monkeypatch)
    with one_torch_thread():
        references = [extractor(clip, sampling_rate=16000, return_tensors="np")["input_values"][0].astype(np.float64)
                      for clip in x]
    check_against("transformers ASTFeatureExtractor (NumPy path)", "ast_fbank", actual, references, {}, True)


def test_ast_fbank_custom_normalisation_and_bins():
    n = 8037
    x = np.stack([speech(n, seed=9), white_noise(n, seed=9)])
    options = {"target_length": 60, "mean": 1.5, "std": 2.0, "num_mel_bins": 64}
    actual = layer_output(frontends.ast_fbank(**options), x)
    check_against("transformers ASTFeatureExtractor", "ast_fbank", actual,
                  [ast_reference(clip, **options) for clip in x], options, True)


@pytest.mark.parametrize(
    "n, normalisation", [(HOP_MULTIPLE, {}), (NOT_HOP_MULTIPLE, {}), (SHORT, {"mean": 3.0, "std": 2.5})]
)
def test_beats_fbank_equals_beats_preprocess(n, normalisation):
    x = clip_batch(n, seed=10)
    actual = layer_output(frontends.beats_fbank(**normalisation), x)
    references = [beats_preprocess(clip, **{{"mean": "fbank_mean", "std": "fbank_std"}[k]: v
                                             for k, v in normalisation.items()}) for clip in x]
    check_against("BEATs.preprocess (torchaudio)", "beats_fbank", actual, references, normalisation, True)


# ------------------------------------------------------------------------------------------------------------------
# Serialization
# ------------------------------------------------------------------------------------------------------------------

ROUND_TRIP = [
    ("kaldi_fbank", {"window_type": "hamming", "snip_edges": False, "use_energy": True, "htk_compat": True,
                     "sample_frequency": 8000.0, "low_freq": 50.0, "high_freq": -300.0, "num_mel_bins": 30,
                     "subtract_mean": True}),
    ("kaldi_fbank", {"use_log_fbank": False, "use_power": False, "round_to_power_of_two": False,
                     "layout": "features_first"}),
    ("kaldi_mfcc", {"num_ceps": 20, "num_mel_bins": 30, "cepstral_lifter": 0.0, "use_energy": True,
                    "raw_energy": False, "energy_floor": 0.0, "window_type": "blackman", "blackman_coeff": 0.5}),
    ("ast_fbank", {"target_length": 50}),
    ("beats_fbank", {"mean": 10.0, "std": 3.0}),
]


@pytest.mark.parametrize("builder, options", ROUND_TRIP, ids=lambda v: str(v))
def test_keras_round_trip_safe_mode(builder, options, tmp_path):
    n = NOT_HOP_MULTIPLE
    layer = getattr(frontends, builder)(**options)
    model = keras.Sequential([keras.Input((n,)), layer])
    x = clip_batch(n, sample_rate=int(options.get("sample_frequency", 16000)), seed=12)
    before = to_numpy(model(x))
    loaded = save_and_load(model, tmp_path)
    after = to_numpy(loaded(x))
    np.testing.assert_array_equal(after, before)
    predicted = loaded.predict(x, verbose=0, batch_size=4)  # the compiled path of the loaded model
    np.testing.assert_allclose(predicted, before, rtol=0, atol=1e-4)
    assert loaded.layers[-1].get_config() == layer.get_config()
    # and it is still the reference
    references = [reference_of(builder, options, clip) for clip in x]
    if options.get("layout") == "features_first":
        after = np.swapaxes(after, 1, 2)
    check_against("reference", f"{builder} (reloaded)", after.astype(np.float64), references, options,
                  builder != "kaldi_fbank")


# ------------------------------------------------------------------------------------------------------------------
# Invalid options and inputs
# ------------------------------------------------------------------------------------------------------------------

INVALID = [
    ("kaldi_fbank", {"window_type": "foo"}, "window_type"),
    ("kaldi_fbank", {"low_freq": 5000.0, "high_freq": 4000.0}, "low_freq|high_freq"),
    ("kaldi_fbank", {"low_freq": 4000.0, "high_freq": -4500.0}, "low_freq|high_freq"),  # -4500 -> 3500 Hz
    ("kaldi_fbank", {"high_freq": 9000.0}, "high_freq"),  # above Nyquist
    ("kaldi_fbank", {"low_freq": -10.0}, "low_freq"),
    ("kaldi_fbank", {"low_freq": 8000.0}, "low_freq"),  # at Nyquist
    ("kaldi_fbank", {"frame_length": 0.05}, "frame_length"),  # int(16000 * 0.05 ms) = 0 samples
    ("kaldi_fbank", {"frame_shift": 0.05}, "frame_shift"),
    # 401 samples, an odd FFT size: torchaudio and kaldi-native-fbank ("n should be even") both refuse it
    ("kaldi_fbank", {"frame_length": 25.0625, "round_to_power_of_two": False}, "frame_length|round_to_power_of_two"),
    ("kaldi_fbank", {"num_mel_bins": 2}, "num_mel_bins"),  # Kaldi: at least 3 (torchaudio: more than 3)
    ("kaldi_fbank", {"preemphasis_coefficient": 1.5}, "preemphasis_coefficient"),
    ("kaldi_fbank", {"sample_frequency": 0.0}, "sample_frequency"),
    ("kaldi_fbank", {"layout": "time_major"}, "layout"),
    ("kaldi_mfcc", {"num_ceps": 30}, "num_ceps"),
    ("kaldi_mfcc", {"window_type": "hann"}, "window_type"),
    ("ast_fbank", {"target_length": 0}, "target_length"),
    ("beats_fbank", {"layout": "foo"}, "layout"),
]


@pytest.mark.parametrize("builder, options, argument", INVALID, ids=lambda v: str(v))
def test_invalid_options_raise_value_error_naming_the_argument(builder, options, argument):
    with pytest.raises(ValueError, match=argument):
        layer = getattr(frontends, builder)(**options)
        layer(speech(16000, seed=13)[None])  # where a check can only happen on the input


@pytest.mark.parametrize(
    "builder, options, n",
    [("kaldi_fbank", {}, 399), ("kaldi_mfcc", {"frame_length": 32.0}, 511), ("beats_fbank", {}, 100),
     ("ast_fbank", {}, 399), ("kaldi_fbank", {"sample_frequency": 8000.0}, 199)],
    ids=lambda v: str(v),
)
def test_too_short_input_raises_value_error(builder, options, n):
    layer = getattr(frontends, builder)(**options)
    with pytest.raises(ValueError):
        layer(speech(n, seed=14)[None])
