"""Reading and resampling audio files for the ``kapre`` command (soundfile and soxr, both optional).

Install them with ``pip install "kapre[cli]"``. Both are imported only when a function here needs them, so
``import kapre`` works without them.

Example:
    >>> from kapre.audio import load_audio  # doctest: +SKIP
    >>> audio, sr = load_audio('speech.flac', sample_rate=16000, mono=True)  # doctest: +SKIP
    >>> audio.shape  # (time, channels), float32  # doctest: +SKIP
    (48000, 1)
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator

import numpy as np

__all__ = [
    "AudioError",
    "MissingDependencyError",
    "audio_extensions",
    "find_audio_files",
    "audio_info",
    "audio_warnings",
    "read_audio",
    "resample",
    "load_audio",
]


class AudioError(ValueError):
    """A file that cannot be used as audio: unreadable, empty, or holding NaN or infinite samples."""


class MissingDependencyError(ImportError):
    """An optional package needed by the ``kapre`` command is not installed."""


def _require(module: str, purpose: str):
    try:
        return __import__(module)
    except ImportError as err:
        raise MissingDependencyError(
            f"{purpose} needs the optional package {module!r}, which is not installed. "
            f'Install it with: pip install "kapre[cli]"  (or: pip install {module})'
        ) from err


def _soundfile():
    return _require("soundfile", "Reading audio files")


def audio_extensions() -> frozenset[str]:
    """Lower-case file extensions (without dot) that the installed soundfile/libsndfile can read."""
    sf = _soundfile()
    names = {name.lower() for name in sf.available_formats()}
    names |= {"aif", "aifc", "wave"}  # other spellings of formats libsndfile lists under one name
    if "ogg" in names:
        names |= {"oga", "opus"}
    return frozenset(names)


def find_audio_files(directory: str, extensions: Iterable[str] | None = None) -> list[str]:
    """All audio files below ``directory`` (recursively, sorted, hidden files and folders skipped).

    Args:
        directory: the folder to search.
        extensions: extensions to accept (lower case, no dot); defaults to :func:`audio_extensions`.
    """
    accepted = frozenset(extensions) if extensions is not None else audio_extensions()
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1][1:].lower() in accepted:
                found.append(os.path.join(root, name))
    return found


def audio_info(path: str) -> tuple[int, int, int]:
    """``(sample_rate, frames, channels)`` from the file's header, without reading the samples.

    Raises:
        AudioError: if the file cannot be opened as audio.
    """
    sf = _soundfile()
    try:
        info = sf.info(path)
    except Exception as err:  # soundfile raises RuntimeError/LibsndfileError/TypeError for non-audio files
        raise AudioError(_read_error_message(path, err)) from err
    return int(info.samplerate), int(info.frames), int(info.channels)


def _read_error_message(path: str, err: Exception) -> str:
    if isinstance(err, FileNotFoundError) or not os.path.exists(path):
        return "no such file"
    if os.path.isdir(path):
        return "is a directory"
    text = str(err).strip() or type(err).__name__
    if os.path.getsize(path) == 0:
        return "empty file (0 bytes), not readable as audio"
    # libsndfile's own words for a cut file mislead ("flac decoder lost sync", "File does not exist ..."): the
    # headers tell whether the file was cut.
    note = _header_note(path)
    return f"cannot read as audio: {text}" + (f" ({note})" if note else "")


def read_audio(path: str) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 ``(time, channels)`` in [-1, 1] (for integer formats) and its sample rate.

    Raises:
        AudioError: unreadable file, no samples, or NaN/infinite samples. For an unreadable or empty file, the
            message adds what the headers say is wrong (``"the file looks truncated: ..."``, see
            :func:`audio_warnings`).
        MissingDependencyError: soundfile is not installed.
    """
    sf = _soundfile()
    try:
        audio, sample_rate = sf.read(path, dtype="float32", always_2d=True)
    except Exception as err:
        raise AudioError(_read_error_message(path, err)) from err
    if audio.shape[0] == 0:
        note = _header_note(path)  # e.g. a recording whose data size was never set
        raise AudioError("empty audio (0 samples" + (f"; {note})" if note else ")"))
    if not np.all(np.isfinite(audio)):
        bad = int(np.count_nonzero(~np.isfinite(audio)))
        raise AudioError(f"holds {bad} NaN or infinite sample value(s)")
    return audio, int(sample_rate)


def _header_note(path: str) -> str | None:
    """What the headers of ``path`` say is wrong, for an error message: ``"the file looks truncated: ..."`` first."""
    found = _Findings()
    try:
        _check_headers(path, found)
    except Exception:  # a note for an error message must not replace the error
        pass
    cut = [message for message in found.messages if message.startswith("truncated:")]
    if cut:
        return f"the file looks {cut[0]}"
    return found.messages[0] if found.messages else None


def audio_warnings(path: str, frames_read: int | None = None) -> list[str]:
    """Human-readable problems of a file that can still be read: a cut (truncated) file, a header that disagrees
    with the file. ``[]`` for a good file.

    Only headers are parsed (with :mod:`struct`, never the samples; FLAC adds one seek to its last sample), well under
    a millisecond for most files. It never raises: trouble while parsing keeps what was found so far, and a file that
    cannot be opened gives ``[]`` (:func:`read_audio` reports it).

    Args:
        path: the audio file.
        frames_read: how many frames a full read returned (``read_audio(path)[0].shape[0]``, before resampling);
            when given, it is compared with the frame count soundfile takes from the header.

    Returns:
        Messages such as ``"truncated: the header declares 5.68 s of audio, the file holds 0.68 s"``,
        ``"inconsistent header: the RIFF size says 123456 bytes, the file has 2345"`` or
        ``"truncated: the header declares 32000 frames, 31000 could be read"`` (``"inconsistent: ..."`` when more
        could be read). A cut file's message starts with ``"truncated:"``; one problem is reported once. Seconds
        have two decimals; ``"about"`` marks an estimate.

    What libsndfile 1.2 does with a cut file, and what is detected here:

    - WAV (RIFF, RIFX, RF64/BW64, WAVE_FORMAT_EXTENSIBLE): ``sf.info`` and ``sf.read`` silently shorten it to the
      whole frames present (no error, no zeros). Detected from the chunk headers: a ``data`` chunk longer than the
      rest of the file (seconds from the ``fmt`` chunk's block align and sample rate), a file that ends inside its
      header or another chunk or before its ``data`` chunk, no ``data`` chunk, a RIFF size that disagrees with the
      file size beyond a pad byte, bytes after the last chunk that are not a chunk, the placeholder sizes of a file
      that was never finalized.
    - AIFF/AIFC: as WAV, silently shortened. Detected from an SSND chunk longer than the rest of the file or holding
      fewer frames than COMM declares, a file that ends inside its header or another chunk, and the FORM size.
    - FLAC: ``sf.info`` gives the full length from STREAMINFO while ``sf.read`` raises ("flac decoder lost sync",
      "Internal psf_fseek() failed"); :func:`read_audio`'s :class:`AudioError` then says the file looks truncated.
      Detected from a file that ends inside its metadata, and by seeking to the last sample and decoding it (a few
      frames, not a full read); for a cut file, bisection over such seeks estimates what libsndfile can decode
      (``about``, up to a block short; about a second for a cut 10-minute file).
    - Ogg (Vorbis, Opus): no header holds the length; libsndfile takes it from the last complete page, so a cut file
      reads shorter without error, reads 0 samples, or (cut inside its first pages) cannot be opened ("file is
      malformed"). Detected from a last page that is cut or lacks the end-of-stream flag (the seconds are the last
      complete page's granule position), and bytes after the last page that are not a page.
    - MP3: ``sf.info`` gives the length of the Xing/Info (or VBRI) header, while ``sf.read`` returns fewer frames
      without error (libmpg123 warns on stderr); cut inside its first frame it cannot be opened ("File does not exist
      or is not a regular file"). Detected from the header's byte count against the file size (seconds left are
      estimated in proportion, ``about``), a file that ends inside its ID3v2 tag or first frame, and ``frames_read``.
      A cut MP3 without such a header (plain constant bitrate) declares no length: not detectable.
    - Every format: ``frames_read`` that differs from ``sf.info(path).frames`` (not for an MP3 without a Xing/VBRI
      frame count, whose length libmpg123 only estimates from the file size).
    """
    found = _Findings()
    try:
        _check_headers(path, found)
    except Exception:  # an unforeseen layout: keep what was found so far
        pass
    cut = any(message.startswith("truncated:") for message in found.messages)
    if frames_read is not None and found.length_declared and not cut:  # a cut already reported is not reported again
        declared = _declared_frames(path)
        if declared is not None and declared != int(frames_read):
            kind = "truncated" if int(frames_read) < declared else "inconsistent"
            found.messages.append(f"{kind}: the header declares {declared} frames, {int(frames_read)} could be read")
    return found.messages


class _Findings:
    """What the header checks found, and whether the header declares the length (a plain MP3's is estimated)."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.length_declared = True


# A count of chunks or pages to stop at: a damaged file must not keep a check looping over tiny chunks.
_MAX_CHUNKS = 100_000


def _declared_frames(path: str) -> int | None:
    try:
        frames = int(_soundfile().info(path).frames)
    except Exception:  # soundfile missing, or a file it cannot open (read_audio reports that)
        return None
    return frames if 0 <= frames < 2**62 else None  # libsndfile's SF_COUNT_MAX means "unknown"


def _check_headers(path: str, found: _Findings) -> None:
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(12)
        magic = head[:4]
        if magic in _RIFF_ENDIAN:
            _check_riff(f, size, head, found)
        elif magic == b"FORM":
            _check_aiff(f, size, head, found)
        elif magic == b"OggS":
            _check_ogg(f, size, found)
        else:
            start = 0
            if head[:3] == b"ID3":  # an ID3v2 tag may precede FLAC and MP3 data
                if len(head) < 10:
                    found.messages.append(f"truncated: the file ends inside its ID3 tag ({size} bytes)")
                    return
                start = 10 + _syncsafe(head[6:10]) + (10 if head[5] & 0x10 else 0)  # + footer
                if start > size:
                    found.messages.append(f"truncated: the file ends inside its ID3 tag ({size} of {start} bytes)")
                    return
                f.seek(start)
                magic = f.read(4)
            if magic == b"fLaC":
                _check_flac(f, path, size, start, found)
            elif _mpeg_frame(magic) is not None:
                _check_mp3(f, size, start, found)


def _syncsafe(raw: bytes) -> int:
    return (raw[0] & 0x7F) << 21 | (raw[1] & 0x7F) << 14 | (raw[2] & 0x7F) << 7 | (raw[3] & 0x7F)


def _is_chunk_id(raw: bytes) -> bool:
    return len(raw) == 4 and all(0x20 <= byte <= 0x7E for byte in raw)


def _truncated_seconds(declared_s: float, held_s: float, about: bool = False, missing_bytes: int = 0) -> str:
    held = f"{'about ' if about else ''}{held_s:.2f} s"
    if f"{held_s:.2f}" == f"{declared_s:.2f}" and missing_bytes > 0:  # a few bytes short: the seconds look equal
        held += f" ({missing_bytes} byte{'s' if missing_bytes > 1 else ''} missing)"
    return f"truncated: the header declares {declared_s:.2f} s of audio, the file holds {held}"


# RIFF/WAVE. RF64 and BW64 take their 64-bit sizes from a ds64 chunk.
_RIFF_ENDIAN = {b"RIFF": "<", b"RIFX": ">", b"RF64": "<", b"BW64": "<"}
_WAVE_ONE_BLOCK_PER_FRAME = {1, 3, 6, 7}  # PCM, IEEE float, A-law, mu-law; compressed formats pack many per block


def _wav_seconds(fmt: tuple[int, int, int, int] | None, nbytes: int) -> float | None:
    """Seconds in ``nbytes`` of samples (whole frames) for ``fmt = (format tag, rate, byte rate, block align)``."""
    if fmt is None:
        return None
    tag, rate, byte_rate, block_align = fmt
    if tag in _WAVE_ONE_BLOCK_PER_FRAME and block_align and rate:
        return nbytes // block_align / rate
    return nbytes / byte_rate if byte_rate else None


def _check_riff(f, size: int, head: bytes, found: _Findings) -> None:
    form, endian = head[:4].decode("ascii"), _RIFF_ENDIAN[head[:4]]
    messages = found.messages
    if len(head) < 12:
        messages.append(f"truncated: the file ends inside its header ({size} bytes)")
        return
    if head[8:12] != b"WAVE":
        return  # another RIFF form (AVI, ...)
    riff_field = struct.unpack(endian + "I", head[4:8])[0]
    riff_end = 8 + riff_field  # the size field does not count the 8-byte chunk header; the file size does
    if form in ("RF64", "BW64") and riff_field == 0xFFFFFFFF:
        riff_end = None  # until the ds64 chunk gives it
    ds64_data = None
    fmt = None
    data_start, data_size = None, 0
    pos = 12
    for _ in range(_MAX_CHUNKS):
        if pos + 8 > size:
            break
        f.seek(pos)
        chunk_id, chunk_size = struct.unpack(endian + "4sI", f.read(8))
        if not _is_chunk_id(chunk_id):
            if data_start is not None and pos == data_start and not data_size:  # a size its writer never set
                messages.append(f"inconsistent header: the data chunk declares 0 bytes, {size - pos} bytes follow it")
            else:
                messages.append(f"inconsistent: {size - pos} bytes after the last chunk are not a chunk")
            return
        body = pos + 8
        if chunk_id == b"ds64":
            raw = f.read(16)
            if len(raw) == 16:
                riff64, ds64_data = struct.unpack("<QQ", raw)
                riff_end = 8 + riff64
        elif chunk_id == b"fmt ":
            raw = f.read(min(chunk_size, 26))
            if len(raw) >= 14:
                tag, _channels, rate, byte_rate, block_align = struct.unpack(endian + "HHIIH", raw[:14])
                if tag == 0xFFFE and len(raw) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the format is the sub-format GUID's
                    tag = struct.unpack(endian + "H", raw[24:26])[0]
                fmt = (tag, rate, byte_rate, block_align)
        elif chunk_id == b"data":
            if chunk_size == 0xFFFFFFFF:
                if ds64_data is not None:
                    chunk_size = ds64_data
                else:  # a writer that could not seek back (a pipe) leaves the placeholder
                    held = _wav_seconds(fmt, size - body)
                    held_text = f"{held:.2f} s" if held is not None else f"{size - body} bytes"
                    messages.append(
                        f"inconsistent header: the data chunk's size is the placeholder 0xFFFFFFFF, "
                        f"the file holds {held_text}"
                    )
                    return
            data_start, data_size = body, chunk_size
        end = body + chunk_size
        if end > size:
            declared, held = _wav_seconds(fmt, chunk_size), _wav_seconds(fmt, size - body)
            name = chunk_id.decode("ascii")
            if chunk_id != b"data":
                before = "" if data_start is not None else ", before its data chunk"
                messages.append(f"truncated: the file ends inside its {name!r} chunk{before}")
            elif declared is not None and held is not None:
                messages.append(_truncated_seconds(declared, held, missing_bytes=end - size))
            else:
                messages.append(f"truncated: the data chunk declares {chunk_size} bytes, the file holds {size - body}")
            return
        pos = end + (chunk_size & 1)  # chunks are padded to an even size
    if data_start is None:
        if riff_end is None:  # an RF64 file cut before its ds64 chunk, the first
            messages.append(f"truncated: the file ends before its data chunk ({size} bytes)")
        elif riff_end > size:
            messages.append(f"truncated: the file ends before its data chunk ({size} of {riff_end} bytes)")
        else:
            messages.append("inconsistent header: no data chunk")
    elif riff_end is not None and riff_end > size and pos < size:
        messages.append("truncated: the file ends inside a chunk's header")
    elif riff_end is not None and abs(riff_end - size) > 1:  # a missing final pad byte is common and harmless
        messages.append(f"inconsistent header: the {form} size says {riff_end} bytes, the file has {size}")


# AIFF/AIFC: big-endian; the bytes per sample of an AIFC compression type (None: from COMM's sample size).
_AIFC_SAMPLE_BYTES = {
    b"NONE": None, b"twos": None, b"sowt": None, b"raw ": None, b"in24": 3, b"in32": 4,
    b"fl32": 4, b"FL32": 4, b"fl64": 8, b"FL64": 8, b"ulaw": 1, b"ULAW": 1, b"alaw": 1, b"ALAW": 1,
}  # fmt: skip


def _ieee_extended(raw: bytes) -> float:
    """The 80-bit IEEE 754 extended float of AIFF's sample rate."""
    exponent, mantissa = struct.unpack(">HQ", raw)
    sign = -1.0 if exponent & 0x8000 else 1.0
    return sign * mantissa * 2.0 ** ((exponent & 0x7FFF) - 16383 - 63) if mantissa else 0.0


def _check_aiff(f, size: int, head: bytes, found: _Findings) -> None:
    messages = found.messages
    if len(head) < 12:
        messages.append(f"truncated: the file ends inside its header ({size} bytes)")
        return
    if head[8:12] not in (b"AIFF", b"AIFC"):
        return  # another IFF form
    form_end = 8 + struct.unpack(">I", head[4:8])[0]
    frames = rate = frame_bytes = None
    ssnd = None  # (first sample byte, declared sample bytes, whether the chunk is all in the file)
    pos = 12
    for _ in range(_MAX_CHUNKS):
        if pos + 8 > size:
            break
        f.seek(pos)
        chunk_id, chunk_size = struct.unpack(">4sI", f.read(8))
        if not _is_chunk_id(chunk_id):
            messages.append(f"inconsistent: {size - pos} bytes after the last chunk are not a chunk")
            return
        body, end = pos + 8, pos + 8 + chunk_size
        if chunk_id == b"COMM":
            raw = f.read(min(chunk_size, 22))
            if len(raw) >= 18:
                channels, frames, bits = struct.unpack(">hIh", raw[:8])
                rate = _ieee_extended(raw[8:18])
                compression = raw[18:22] if head[8:12] == b"AIFC" and len(raw) >= 22 else b"NONE"
                sample_bytes = _AIFC_SAMPLE_BYTES.get(compression, 0)  # 0: compressed
                sample_bytes = (bits + 7) // 8 if sample_bytes is None else sample_bytes
                frame_bytes = channels * sample_bytes or None  # None: a compressed format, no seconds from bytes
        elif chunk_id == b"SSND":
            raw = f.read(4)
            offset = struct.unpack(">I", raw)[0] if len(raw) == 4 else 0
            ssnd = (body + 8 + offset, chunk_size - 8 - offset, end <= size)
        if end > size:
            if chunk_id != b"SSND":
                before = "" if ssnd is not None else ", before its SSND chunk"
                messages.append(f"truncated: the file ends inside its {chunk_id.decode('ascii')!r} chunk{before}")
                return
            break
        pos = end + (chunk_size & 1)
    if ssnd is not None:
        data_start, data_bytes, whole = ssnd
        held_bytes = max(0, size - data_start)
        if not whole:
            if frames is not None and rate and frame_bytes:
                held_s = held_bytes // frame_bytes / rate
                messages.append(_truncated_seconds(frames / rate, held_s, missing_bytes=data_bytes - held_bytes))
            else:
                messages.append(f"truncated: the SSND chunk declares {data_bytes} bytes, the file holds {held_bytes}")
            return
        if frames is not None and frame_bytes and data_bytes // frame_bytes < frames:
            messages.append(
                f"inconsistent header: COMM declares {frames} frames, the SSND chunk holds {data_bytes // frame_bytes}"
            )
    elif frames is None or frames > 0:  # SSND may be left out only when there are no frames
        if form_end > size:
            messages.append(f"truncated: the file ends before its SSND chunk ({size} of {form_end} bytes)")
        else:
            messages.append("inconsistent header: no SSND chunk")
    if not messages and form_end > size and pos < size:
        messages.append("truncated: the file ends inside a chunk's header")
    elif not messages and abs(form_end - size) > 1:
        messages.append(f"inconsistent header: the FORM size says {form_end} bytes, the file has {size}")


def _check_flac(f, path: str, size: int, start: int, found: _Findings) -> None:
    rate = total = 0
    pos = start + 4
    cut = False
    for _ in range(_MAX_CHUNKS):
        f.seek(pos)
        block = f.read(4)
        if len(block) < 4:
            cut = True
            break
        if block[0] & 0x7F == 0:  # STREAMINFO: 20 bits rate, 3 channels, 5 bits per sample, 36 total samples
            raw = f.read(18)
            if len(raw) == 18:
                packed = int.from_bytes(raw[10:18], "big")
                rate, total = packed >> 44, packed & (2**36 - 1)
        pos += 4 + int.from_bytes(block[1:4], "big")
        if pos > size:
            cut = True
            break
        if block[0] & 0x80:  # the last metadata block
            break
    if cut:
        if rate and total:
            found.messages.append(_truncated_seconds(total / rate, 0.0))
        else:
            found.messages.append(f"truncated: the file ends inside its header ({size} bytes)")
        return
    if not (rate and total):
        found.length_declared = total > 0  # 0 total samples: unknown (a stream)
        return
    held = _flac_decodable_frames(path, total, rate) if pos < size else 0
    if held is None or held >= total:
        return
    if held == 0 and pos < size:  # libsndfile gives up on a few frames left after the metadata
        declared = f"the header declares {total / rate:.2f} s of audio"
        found.messages.append(f"truncated: {declared}, the {size - pos} bytes of it left do not decode")
    else:
        found.messages.append(_truncated_seconds(total / rate, held / rate, about=held > 0))


def _flac_decodable_frames(path: str, total: int, rate: int) -> int | None:
    """How many of the ``total`` frames decode: libsndfile fails to seek past a cut (by bisection)."""
    try:
        sf = _soundfile()
    except MissingDependencyError:
        return None

    def decodes(frame: int) -> bool:
        try:
            with sf.SoundFile(path) as sound:
                sound.seek(frame)
                return sound.read(1, dtype="int16").shape[0] == 1
        except Exception:
            return False

    if decodes(total - 1):
        return total
    low, high = -1, total - 1  # decodes at ``low`` (-1: nowhere yet), not at ``high``
    while high - low > max(1, rate // 100):  # to 10 ms: the message has two decimals
        middle = (low + high) // 2
        low, high = (middle, high) if decodes(middle) else (low, middle)
    return low + 1


# Ogg: pages of at most 65307 bytes, each with a CRC-32 (polynomial 0x04C11DB7, not reflected, unlike zlib's).
_OGG_MAX_PAGE = 27 + 255 + 255 * 255


def _ogg_crc_table() -> list[int]:
    table = []
    for index in range(256):
        crc = index << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
        table.append(crc)
    return table


_OGG_CRC = _ogg_crc_table()


def _ogg_crc_ok(page: bytes) -> bool:
    crc = 0
    for byte in page[:22] + b"\0\0\0\0" + page[26:]:  # computed with the CRC field zeroed
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_CRC[(crc >> 24) ^ byte]
    return crc == struct.unpack("<I", page[22:26])[0]


def _ogg_page(buf: bytes, pos: int) -> tuple[int, int, int] | None:
    """``(header flags, granule position, end)`` of the Ogg page at ``pos``; None if its header is cut short."""
    if len(buf) < pos + 27:
        return None
    count = buf[pos + 26]
    lacing = buf[pos + 27 : pos + 27 + count]
    if len(lacing) < count:
        return None
    return buf[pos + 5], struct.unpack_from("<q", buf, pos + 6)[0], pos + 27 + count + sum(lacing)


def _check_ogg(f, size: int, found: _Findings) -> None:
    messages = found.messages
    f.seek(0)
    first = f.read(_OGG_MAX_PAGE)
    page = _ogg_page(first, 0)
    if page is None or page[2] > size:
        messages.append("truncated: the file ends inside its first Ogg page")
        return
    # The granule position counts samples at the rate of the first packet's codec (Opus: 48 kHz, after a pre-skip).
    packet = first[27 + first[26] :]
    rate, pre_skip = 0, 0
    if packet.startswith(b"\x01vorbis") and len(packet) >= 16:
        rate = struct.unpack_from("<I", packet, 12)[0]
    elif packet.startswith(b"OpusHead") and len(packet) >= 12:
        rate, pre_skip = 48000, struct.unpack_from("<H", packet, 10)[0]
    # The last pages are in the last two maximal pages' bytes; walk them from one whose CRC holds (a page's
    # payload may contain "OggS").
    tail_start = max(0, size - 2 * _OGG_MAX_PAGE)
    f.seek(tail_start)
    tail = f.read()
    pos = tail.find(b"OggS")
    while pos >= 0:
        page = _ogg_page(tail, pos)
        if page is not None and page[2] <= len(tail) and _ogg_crc_ok(tail[pos : page[2]]):
            break
        pos = tail.find(b"OggS", pos + 1)
    if pos < 0:
        return
    flags, granule, cut = 0, None, False
    for _ in range(_MAX_CHUNKS):
        if pos >= len(tail):
            break
        if tail[pos : pos + 4] != b"OggS"[: len(tail) - pos]:  # (a prefix of "OggS" at the end: a cut header)
            messages.append(f"inconsistent: {len(tail) - pos} bytes after the last Ogg page are not a page")
            break
        page = _ogg_page(tail, pos)
        if page is None or page[2] > len(tail):
            cut = True
            break
        flags, page_granule, pos = page
        if page_granule >= 0:  # -1: no packet ends on this page
            granule = page_granule
    if cut or not flags & 0x04:  # 0x04: the end-of-stream page
        stops = f" after {max(0, granule - pre_skip) / rate:.2f} s" if rate and granule is not None else ""
        messages.append(f"truncated: the Ogg stream stops{stops} without its end-of-stream page")


# MPEG audio: kbit/s by (MPEG-1, layer), sample rates by version bits, as in ISO 11172-3 / 13818-3.
_MPEG2_LOW_BITRATES = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_MPEG_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): _MPEG2_LOW_BITRATES,
    (False, 3): _MPEG2_LOW_BITRATES,
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame(head: bytes) -> tuple[int, int, int, int] | None:
    """``(sample rate, samples per frame, frame bytes, Xing tag offset)`` of an MPEG audio frame header, or None."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    version, layer = (head[1] >> 3) & 3, 4 - ((head[1] >> 1) & 3)
    bitrate_index, rate_index, padding = head[2] >> 4, (head[2] >> 2) & 3, (head[2] >> 1) & 1
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None  # reserved values, or a free-format bitrate whose frame length is not in the header
    mpeg1 = version == 3
    rate = _MPEG_RATES[version][rate_index]
    bits_per_s = _MPEG_BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    if layer == 1:
        per_frame, length = 384, (12 * bits_per_s // rate + padding) * 4
    else:
        per_frame = 1152 if mpeg1 or layer == 2 else 576
        length = per_frame // 8 * bits_per_s // rate + padding
    mono = head[3] >> 6 == 3
    side_info = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    return rate, per_frame, length, 4 + side_info


def _check_mp3(f, size: int, start: int, found: _Findings) -> None:
    found.length_declared = False  # until a Xing/VBRI header gives the frame count
    f.seek(start)
    head = f.read(200)  # the first frame's header, side information, Xing or VBRI header and LAME tag
    frame = _mpeg_frame(head)
    if frame is None:
        return
    rate, per_frame, length, xing = frame
    if start + length > size:
        found.messages.append(f"truncated: the file ends inside its first MPEG frame ({size - start} of {length})")
        return
    head = head[:length]
    frames = stream_bytes = None
    skipped = 0  # encoder delay and padding (LAME tag), which decoders drop
    if head[xing : xing + 4] in (b"Xing", b"Info") and len(head) >= xing + 8:
        flags = struct.unpack_from(">I", head, xing + 4)[0]
        at = xing + 8
        if flags & 1 and len(head) >= at + 4:
            frames = struct.unpack_from(">I", head, at)[0]
            at += 4
        if flags & 2 and len(head) >= at + 4:
            stream_bytes = struct.unpack_from(">I", head, at)[0]
            at += 4
        at += (100 if flags & 4 else 0) + (4 if flags & 8 else 0)  # seek table, quality
        if head[at : at + 4] in (b"LAME", b"Lavc", b"Lavf") and len(head) >= at + 24:
            delay_padding = int.from_bytes(head[at + 21 : at + 24], "big")
            skipped = (delay_padding >> 12) + (delay_padding & 0xFFF)
    elif head[36:40] == b"VBRI" and len(head) >= 54:
        stream_bytes, frames = struct.unpack_from(">II", head, 46)
    if frames is not None:
        found.length_declared = True
    # Compared with the whole file: encoders differ on whether the count includes an ID3v2 tag.
    if stream_bytes and stream_bytes > size:
        if frames:
            declared_s = max(0, frames * per_frame - skipped) / rate
            held_s = declared_s * (size - start) / stream_bytes
            missing = stream_bytes - (size - start)
            found.messages.append(_truncated_seconds(declared_s, held_s, about=True, missing_bytes=missing))
        else:
            found.messages.append(
                f"truncated: the header declares {stream_bytes} bytes of MPEG audio, the file holds {size - start}"
            )


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample ``(time, channels)`` float32 audio from ``orig_sr`` to ``target_sr`` Hz with soxr (``'HQ'``).

    Returns ``audio`` itself when the rates are equal.

    Raises:
        MissingDependencyError: soxr is not installed.
    """
    if int(orig_sr) == int(target_sr):
        return audio
    soxr = _require("soxr", f"Resampling from {orig_sr} Hz to {target_sr} Hz")
    out = soxr.resample(np.ascontiguousarray(audio, dtype=np.float32), int(orig_sr), int(target_sr), quality="HQ")
    return np.asarray(out, dtype=np.float32).reshape(-1, audio.shape[1])


def load_audio(path: str, sample_rate: int | None = None, mono: bool = False) -> tuple[np.ndarray, int]:
    """Read, optionally downmix (mean of the channels) and resample a file; returns ``((time, channels), rate)``.

    The downmix comes before resampling. ``sample_rate=None`` keeps the file's rate.
    """
    audio, orig_sr = read_audio(path)
    if mono and audio.shape[1] > 1:
        audio = audio.mean(axis=1, keepdims=True, dtype=np.float32)
    if sample_rate is None:
        return audio, orig_sr
    return resample(audio, orig_sr, sample_rate), int(sample_rate)


def iter_chunks(items: list, size: int) -> Iterator[list]:
    """Consecutive slices of ``items`` of at most ``size`` elements."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
