"""kapre.audio.audio_warnings and read_audio on good, truncated and inconsistent files built here with soundfile.

Every expected number comes from how a file was built (frames written, bytes cut, header fields edited), never from
the function under test.
"""

import re
import struct

import numpy as np
import pytest
import soundfile as sf

from kapre.audio import AudioError, audio_warnings, read_audio

HAS_MP3 = "MP3" in sf.available_formats()


def _noise(frames: int, channels: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((frames, channels)) * 0.2).clip(-1, 1).astype(np.float32)


def _write(path, frames: int, channels: int, rate: int, fmt: str, subtype: str, endian: str = "FILE") -> bytes:
    sf.write(path, _noise(frames, channels), rate, format=fmt, subtype=subtype, endian=endian)
    return path.read_bytes()


def _cut(tmp_path, name: str, data: bytes, length: int):
    path = tmp_path / name
    path.write_bytes(data[:length])
    return path


def _read_or_error(path) -> int | None:
    """Frames read_audio returns, or None when it raises an AudioError (any other exception fails the test)."""
    try:
        return read_audio(str(path))[0].shape[0]
    except AudioError:
        return None


def _seconds(message: str) -> tuple[float, float]:
    found = re.fullmatch(
        r"truncated: the header declares ([\d.]+) s of audio, the file holds (?:about )?([\d.]+) s.*", message
    )
    assert found, message
    return float(found[1]), float(found[2])


# (name, soundfile format, subtype, channels, endian, bytes per frame): uncompressed files whose sample data is a
# whole number of frames at the end of the file.
PCM_FILES = [
    ("pcm16.wav", "WAV", "PCM_16", 1, "FILE", 2),
    ("float.wav", "WAV", "FLOAT", 2, "FILE", 8),
    ("rifx.wav", "WAV", "PCM_16", 2, "BIG", 4),
    ("extensible_3ch_24bit.wav", "WAVEX", "PCM_24", 3, "FILE", 9),
    ("rf64.wav", "RF64", "PCM_16", 1, "FILE", 2),
    ("pcm16.aiff", "AIFF", "PCM_16", 2, "FILE", 4),
    ("float.aifc", "AIFF", "FLOAT", 1, "FILE", 4),
]
RATE = 8000
FRAMES = 45440  # 5.68 s at 8000 Hz


@pytest.mark.parametrize("name, fmt, subtype, channels, endian, frame_bytes", PCM_FILES, ids=[f[0] for f in PCM_FILES])
def test_pcm_good_and_cut_in_the_samples(tmp_path, name, fmt, subtype, channels, endian, frame_bytes):
    full = _write(tmp_path / name, FRAMES, channels, RATE, fmt, subtype, endian)
    data_start = len(full) - FRAMES * frame_bytes
    # The construction this test relies on: the samples end the file, right after their chunk's header.
    marker = {"WAV": b"data", "WAVEX": b"data", "RF64": b"data", "AIFF": b"SSND"}[fmt]
    assert full[data_start - (16 if fmt == "AIFF" else 8) :].startswith(marker)
    if fmt == "WAVEX":  # really WAVE_FORMAT_EXTENSIBLE
        fmt_at = full.index(b"fmt ")
        assert struct.unpack("<H", full[fmt_at + 8 : fmt_at + 10])[0] == 0xFFFE
    assert audio_warnings(str(tmp_path / name)) == []
    assert audio_warnings(str(tmp_path / name), frames_read=FRAMES) == []
    assert _read_or_error(tmp_path / name) == FRAMES

    for held_frames, extra_bytes in [
        (5440, 0),
        (0, 1),
        (1, frame_bytes - 1),
        (22720, 0),
        (FRAMES - 1, frame_bytes - 1),
    ]:
        length = data_start + held_frames * frame_bytes + extra_bytes
        path = _cut(tmp_path, f"cut_{length}_{name}", full, length)
        expected = f"truncated: the header declares 5.68 s of audio, the file holds {held_frames / RATE:.2f} s"
        if held_frames == FRAMES - 1:  # one byte short: the seconds look alike, the bytes say it
            expected = "truncated: the header declares 5.68 s of audio, the file holds 5.68 s (1 byte missing)"
        assert audio_warnings(str(path)) == [expected]
        # libsndfile reads the whole frames present without a word; the same problem is reported once.
        frames = _read_or_error(path)
        assert frames == (held_frames or None)  # 0 frames: read_audio's "empty audio"
        assert audio_warnings(str(path), frames_read=frames) == [expected]


@pytest.mark.parametrize("name, fmt, subtype, channels, endian, frame_bytes", PCM_FILES, ids=[f[0] for f in PCM_FILES])
def test_pcm_cut_inside_the_header(tmp_path, name, fmt, subtype, channels, endian, frame_bytes):
    full = _write(tmp_path / name, 800, channels, RATE, fmt, subtype, endian)
    data_start = len(full) - 800 * frame_bytes
    for length in sorted({8, 12, 16, 20, 30, 40, data_start - 9, data_start - 8, data_start - 1, data_start}):
        path = _cut(tmp_path, f"cut_{length}_{name}", full, length)
        warnings = audio_warnings(str(path))
        assert len(warnings) == 1 and warnings[0].startswith("truncated: "), (length, warnings)
        try:
            frames = read_audio(str(path))[0].shape[0]
        except AudioError as err:
            assert "the file looks truncated: " in str(err), (length, str(err))
        else:
            pytest.fail(f"{length} bytes of {name} read as {frames} frames")
    # Shorter than the 12 bytes that say which form it is: not recognised, still a clean AudioError.
    path = _cut(tmp_path, f"cut_3_{name}", full, 3)
    assert audio_warnings(str(path)) == []
    assert _read_or_error(path) is None


def _wav_5_68_s_header_0_68_s_held(tmp_path, name: str, fix_riff_size: bool):
    """A mono 16-bit 8000 Hz WAV holding 5440 frames (0.68 s) whose data chunk declares 45440 frames (5.68 s)."""
    data = bytearray(_write(tmp_path / name, 5440, 1, RATE, "WAV", "PCM_16"))
    assert data[36:40] == b"data" and struct.unpack("<I", data[40:44])[0] == 5440 * 2  # a 44-byte header
    data[40:44] = struct.pack("<I", 45440 * 2)
    if fix_riff_size:  # as written before the file was cut
        data[4:8] = struct.pack("<I", 36 + 45440 * 2)
    (tmp_path / name).write_bytes(bytes(data))
    return tmp_path / name


@pytest.mark.parametrize("fix_riff_size", [True, False])
def test_wav_data_chunk_larger_than_the_file(tmp_path, fix_riff_size):
    path = _wav_5_68_s_header_0_68_s_held(tmp_path, "edited.wav", fix_riff_size)
    expected = ["truncated: the header declares 5.68 s of audio, the file holds 0.68 s"]
    assert audio_warnings(str(path)) == expected
    audio, rate = read_audio(str(path))  # read silently today
    assert (audio.shape, rate) == ((5440, 1), RATE)
    assert audio_warnings(str(path), frames_read=5440) == expected


def _pcm16_wav(tmp_path, name: str = "base.wav") -> bytearray:
    data = bytearray(_write(tmp_path / name, 1000, 1, RATE, "WAV", "PCM_16"))
    assert len(data) == 2044 and data[36:40] == b"data"
    return data


def _put(tmp_path, name: str, data) -> str:
    (tmp_path / name).write_bytes(bytes(data))
    return str(tmp_path / name)


def test_wav_riff_size_and_chunk_layout(tmp_path):
    data = _pcm16_wav(tmp_path)
    bigger = bytearray(data)
    bigger[4:8] = struct.pack("<I", 123456 - 8)  # the size field does not count its 8-byte chunk header
    assert audio_warnings(_put(tmp_path, "riff_big.wav", bigger)) == [
        "inconsistent header: the RIFF size says 123456 bytes, the file has 2044"
    ]
    smaller = bytearray(data)
    smaller[4:8] = struct.pack("<I", 1000)
    assert audio_warnings(_put(tmp_path, "riff_small.wav", smaller)) == [
        "inconsistent header: the RIFF size says 1008 bytes, the file has 2044"
    ]
    pad_byte_off = bytearray(data)
    pad_byte_off[4:8] = struct.pack("<I", 2044 - 8 + 1)
    assert audio_warnings(_put(tmp_path, "riff_pad.wav", pad_byte_off)) == []

    # Normal trailing chunks (LIST, id3 with an odd size and its pad byte) counted in the RIFF size: no warning.
    trailing = (
        b"LIST" + struct.pack("<I", 12) + b"INFOISFT\x00\x00\x00\x00" + b"id3 " + struct.pack("<I", 3) + b"ID3\x00"
    )
    with_chunks = bytearray(data + trailing)
    with_chunks[4:8] = struct.pack("<I", len(with_chunks) - 8)
    path = _put(tmp_path, "trailing_chunks.wav", with_chunks)
    assert audio_warnings(path) == []
    assert audio_warnings(path, frames_read=1000) == []
    # Cut inside the last chunk (3 bytes and a pad byte) or its header: the samples are all there, the file is cut.
    assert audio_warnings(_put(tmp_path, "cut_id3.wav", with_chunks[:-2])) == [
        "truncated: the file ends inside its 'id3 ' chunk"
    ]
    assert audio_warnings(_put(tmp_path, "cut_id3_header.wav", with_chunks[:-10])) == [
        "truncated: the file ends inside a chunk's header"
    ]
    assert audio_warnings(_put(tmp_path, "cut_after_list.wav", with_chunks[:-12])) == [
        f"inconsistent header: the RIFF size says {len(with_chunks)} bytes, the file has {len(with_chunks) - 12}"
    ]

    junk = bytearray(data + bytes(range(1, 101)))
    assert audio_warnings(_put(tmp_path, "junk.wav", junk)) == [
        "inconsistent: 100 bytes after the last chunk are not a chunk"
    ]
    junk[4:8] = struct.pack("<I", len(junk) - 8)  # junk counted in the RIFF size: the same finding
    assert audio_warnings(_put(tmp_path, "junk_inside.wav", junk)) == [
        "inconsistent: 100 bytes after the last chunk are not a chunk"
    ]


def test_wav_never_finalized_and_missing_data(tmp_path):
    data = _pcm16_wav(tmp_path)
    unset = bytearray(data)
    unset[4:8], unset[40:44] = struct.pack("<I", 36), struct.pack("<I", 0)  # as a crashed recorder leaves it
    path = _put(tmp_path, "unset.wav", unset)
    message = "inconsistent header: the data chunk declares 0 bytes, 2000 bytes follow it"
    assert audio_warnings(path) == [message]
    with pytest.raises(AudioError, match=re.escape(f"empty audio (0 samples; {message})")):
        read_audio(path)

    placeholder = bytearray(data)
    placeholder[4:8] = placeholder[40:44] = struct.pack("<I", 0xFFFFFFFF)  # a writer that could not seek back
    assert audio_warnings(_put(tmp_path, "placeholder.wav", placeholder)) == [
        "inconsistent header: the data chunk's size is the placeholder 0xFFFFFFFF, the file holds 0.12 s"
    ]

    no_data = bytearray(data[:36])
    no_data[4:8] = struct.pack("<I", 28)
    path = _put(tmp_path, "no_data.wav", no_data)
    assert audio_warnings(path) == ["inconsistent header: no data chunk"]
    with pytest.raises(AudioError, match=re.escape("(inconsistent header: no data chunk)")):
        read_audio(path)


def test_aiff_comm_declares_more_frames_than_ssnd_holds(tmp_path):
    data = bytearray(_write(tmp_path / "base.aiff", 1000, 1, RATE, "AIFF", "PCM_16"))
    comm = data.index(b"COMM")
    assert struct.unpack(">hI", data[comm + 8 : comm + 14]) == (1, 1000)
    data[comm + 10 : comm + 14] = struct.pack(">I", 1500)
    assert audio_warnings(_put(tmp_path, "comm.aiff", data)) == [
        "inconsistent header: COMM declares 1500 frames, the SSND chunk holds 1000"
    ]


def test_frames_read_against_the_header(tmp_path):
    path = str(tmp_path / "good.wav")
    sf.write(path, _noise(1000, 1), RATE)
    assert audio_warnings(path, frames_read=1000) == []
    assert audio_warnings(path, frames_read=900) == ["truncated: the header declares 1000 frames, 900 could be read"]
    assert audio_warnings(path, frames_read=1100) == [
        "inconsistent: the header declares 1000 frames, 1100 could be read"
    ]


def test_flac(tmp_path):
    full = _write(tmp_path / "good.flac", 32000, 2, 16000, "FLAC", "PCM_16")
    assert audio_warnings(str(tmp_path / "good.flac")) == []
    assert audio_warnings(str(tmp_path / "good.flac"), frames_read=32000) == []
    assert _read_or_error(tmp_path / "good.flac") == 32000
    for length in [12, 30, 60, 200, len(full) // 20, len(full) // 2, len(full) * 9 // 10, len(full) - 1]:
        path = _cut(tmp_path, f"cut_{length}.flac", full, length)
        warnings = audio_warnings(str(path))
        assert len(warnings) == 1 and warnings[0].startswith("truncated: "), (length, warnings)
        if warnings[0].startswith("truncated: the header declares 2.00 s of audio, the file holds"):
            declared, held = _seconds(warnings[0])
            # Noise compresses evenly: at most the share of the bytes present, and one 4096-frame block.
            assert declared == 2.00 and 0 <= held <= 2.00 * length / len(full) + 4096 / 16000, (length, warnings)
        # libsndfile raises on a cut FLAC (lost sync, psf_fseek); read_audio says why.
        with pytest.raises(AudioError, match="the file looks truncated: "):
            read_audio(str(path))
    path = _cut(tmp_path, "cut_half.flac", full, len(full) // 2)
    assert 0.5 <= _seconds(audio_warnings(str(path))[0])[1] <= 1.0 + 4096 / 16000


@pytest.mark.parametrize("subtype, rate", [("VORBIS", 16000), ("OPUS", 48000)])
def test_ogg(tmp_path, subtype, rate):
    name = f"good_{subtype}.ogg"
    full = _write(tmp_path / name, 2 * rate, 1, rate, "OGG", subtype)
    assert audio_warnings(str(tmp_path / name)) == []
    frames = _read_or_error(tmp_path / name)
    assert frames == 2 * rate
    assert audio_warnings(str(tmp_path / name), frames_read=frames) == []
    for length in [12, 30, 60, 200, len(full) // 3, len(full) // 2, len(full) - 100, len(full) - 1]:
        path = _cut(tmp_path, f"cut_{length}_{name}", full, length)
        warnings = audio_warnings(str(path))
        assert len(warnings) == 1, (length, warnings)
        assert warnings[0].startswith("truncated: the") and "Ogg" in warnings[0], (length, warnings)
        frames = _read_or_error(path)
        if frames is None:  # cut inside the header pages, or no page of samples left
            with pytest.raises(AudioError, match="the file looks truncated: "):
                read_audio(str(path))
        else:  # libsndfile reads up to the last complete page without a word: as many seconds as said here
            assert frames < 2 * rate
            stops = f"truncated: the Ogg stream stops after {frames / rate:.2f} s without its end-of-stream page"
            assert audio_warnings(str(path), frames_read=frames) == [stops], length


@pytest.mark.skipif(not HAS_MP3, reason="this libsndfile cannot write MP3")
def test_mp3(tmp_path):
    full = _write(tmp_path / "good.mp3", 32000, 2, 16000, "MP3", "MPEG_LAYER_III")
    assert audio_warnings(str(tmp_path / "good.mp3")) == []
    assert _read_or_error(tmp_path / "good.mp3") == 32000
    assert audio_warnings(str(tmp_path / "good.mp3"), frames_read=32000) == []
    assert audio_warnings(str(tmp_path / "good.mp3"), frames_read=31000) == [
        "truncated: the header declares 32000 frames, 31000 could be read"
    ]
    for length in [11, 100, 1000, len(full) // 2, len(full) - 200, len(full) - 1]:
        path = _cut(tmp_path, f"cut_{length}.mp3", full, length)
        warnings = audio_warnings(str(path))
        assert len(warnings) == 1 and warnings[0].startswith("truncated: "), (length, warnings)
        frames = _read_or_error(path)
        if frames is None:  # libsndfile's words here are "File does not exist or is not a regular file"
            with pytest.raises(AudioError, match="the file looks truncated: "):
                read_audio(str(path))
        else:  # fewer frames without an error; reported once
            assert frames < 32000
            assert audio_warnings(str(path), frames_read=frames) == warnings
    half = audio_warnings(str(_cut(tmp_path, "half.mp3", full, len(full) // 2)))[0]
    declared, held = _seconds(half)
    assert declared == 2.00 and abs(held - 1.00) <= 0.1, half


GOOD_FILES = [
    ("a.wav", "WAV", "PCM_16", 1),
    ("b.wav", "WAV", "FLOAT", 2),
    ("c.wav", "WAVEX", "PCM_24", 3),
    ("d.wav", "RF64", "PCM_16", 2),
    ("e.flac", "FLAC", "PCM_24", 1),
    ("f.ogg", "OGG", "VORBIS", 2),
    ("g.aiff", "AIFF", "PCM_24", 1),
] + ([("h.mp3", "MP3", "MPEG_LAYER_III", 1)] if HAS_MP3 else [])


@pytest.mark.parametrize("name, fmt, subtype, channels", GOOD_FILES, ids=[f[0] for f in GOOD_FILES])
@pytest.mark.parametrize("frames", [1, 3001])
def test_good_files_with_metadata(tmp_path, name, fmt, subtype, channels, frames):
    """Tags (a LIST chunk in WAV, ID3 in MP3, comments in FLAC/Ogg) are no problem."""
    path = str(tmp_path / name)
    with sf.SoundFile(path, "w", 44100, channels, format=fmt, subtype=subtype) as f:
        f.title, f.artist = "a title", "someone"
        f.write(_noise(frames, channels))
    if fmt in ("WAV", "WAVEX"):
        assert b"LIST" in open(path, "rb").read()
    assert audio_warnings(path) == []
    assert audio_warnings(path, frames_read=read_audio(path)[0].shape[0]) == []


@pytest.mark.parametrize("fmt, subtype, ext", [
    ("WAV", "PCM_16", "wav"), ("RF64", "PCM_16", "wav"), ("WAVEX", "FLOAT", "wav"), ("AIFF", "PCM_16", "aiff"),
    ("FLAC", "PCM_16", "flac"), ("OGG", "VORBIS", "ogg"),
] + ([("MP3", "MPEG_LAYER_III", "mp3")] if HAS_MP3 else []))  # fmt: skip
def test_never_raises_on_any_cut_or_damage(tmp_path, fmt, subtype, ext):
    full = _write(tmp_path / f"full.{ext}", 4000, 2, 16000, fmt, subtype)
    lengths = set(range(0, 120)) | set(range(120, len(full), max(1, len(full) // 15))) | {len(full) - 1}
    for length in sorted(lengths):
        path = _cut(tmp_path, f"cut.{ext}", full, length)
        warnings = audio_warnings(str(path))
        assert isinstance(warnings, list) and all(isinstance(w, str) for w in warnings)
        frames = _read_or_error(path)  # any exception but AudioError fails the test
        assert audio_warnings(str(path), frames_read=frames) is not None
    rng = np.random.default_rng(3)
    for trial in range(20):  # random bytes over the header
        damaged = bytearray(full)
        at = int(rng.integers(4, 100))
        damaged[at : at + 8] = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()
        path = _put(tmp_path, f"damaged_{trial}.{ext}", damaged)
        assert isinstance(audio_warnings(path), list)
        _read_or_error(path)


def test_not_audio_and_missing(tmp_path):
    text = tmp_path / "text.wav"
    text.write_text("this is not a wav file\n")
    assert audio_warnings(str(text)) == []
    assert audio_warnings(str(tmp_path / "missing.wav")) == []
    assert audio_warnings(str(tmp_path)) == []
    with pytest.raises(AudioError, match="cannot read as audio"):
        read_audio(str(text))
