"""FLAC for the mock's speech: 24 kHz 16-bit mono samples in verbatim frames, and back.

The format (RFC 9639) in its plainest form: a STREAMINFO block (with the samples' MD5), then
one frame per block of samples, each a header (variable-blocksize stream: it names its first
sample; CRC-8), one VERBATIM subframe (the samples, big-endian) and a CRC-16. Nothing is
compressed, so it costs no more than WAV to make; every FLAC decoder plays it. The mock's speech
is a few distinct tones repeated, so each tone's subframe and its CRC are made once: a frame's
CRC-16 is the header's, carried through the subframe's length, xor the subframe's own.
"""

from __future__ import annotations

import array
import functools
import struct
from collections.abc import Iterable, Iterator
from typing import IO

__all__ = ["MAGIC", "flac_frames", "flac_head", "read_flac"]

MAGIC = b"fLaC"
#: The frame header's fixed bytes: sync code with the variable-blocksize bit; block size in 16
#: bits at the header's end, 24 kHz; mono, 16 bits a sample.
_HEADER = b"\xff\xf9\x77\x08"
_VERBATIM = b"\x02"


def _table(poly: int, width: int) -> tuple[int, ...]:
    top, mask = 1 << (width - 1), (1 << width) - 1
    table = []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly if crc & top else crc << 1) & mask
        table.append(crc)
    return tuple(table)


_CRC8 = _table(0x07, 8)
_CRC16 = _table(0x8005, 16)


def crc8(data: bytes) -> int:
    """FLAC's frame header CRC (x^8 + x^2 + x + 1, from 0)."""
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def crc16(data: bytes, crc: int = 0) -> int:
    """FLAC's frame CRC (x^16 + x^15 + x^2 + 1), from `crc`."""
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


@functools.lru_cache(maxsize=16)
def _zeros(length: int) -> tuple[int, ...]:
    """Where each bit of a CRC-16 state goes through `length` zero bytes (the CRC is linear)."""
    return tuple(crc16(bytes(length), 1 << bit) for bit in range(16))


def _carried(crc: int, length: int) -> int:
    moved = 0
    for bit, image in enumerate(_zeros(length)):
        if crc >> bit & 1:
            moved ^= image
    return moved


@functools.lru_cache(maxsize=256)
def _subframe(samples: bytes) -> tuple[bytes, int]:
    """The VERBATIM subframe of little-endian samples, and its CRC-16 from 0."""
    swapped = array.array("h", samples)
    swapped.byteswap()
    subframe = _VERBATIM + swapped.tobytes()
    return subframe, crc16(subframe)


def _coded(number: int) -> bytes:
    """A frame's first sample number, coded as FLAC codes it (like UTF-8, up to 36 bits)."""
    if number < 0x80:
        return bytes((number,))
    sizes = ((2, 11), (3, 16), (4, 21), (5, 26), (6, 31), (7, 36))
    length = next(n for n, bits in sizes if number < 1 << bits)
    tail = []
    for _ in range(length - 1):
        tail.append(0x80 | (number & 0x3F))
        number >>= 6
    return bytes(((0xFF << (8 - length)) & 0xFF | number, *reversed(tail)))


def flac_head(total_samples: int, block_sizes: tuple[int, int], md5: bytes, rate: int) -> bytes:
    """The `fLaC` marker and the STREAMINFO block (the last metadata block)."""
    smallest, largest = block_sizes
    packed = rate << 44 | 0 << 41 | 15 << 36 | total_samples  # mono, 16 bits a sample
    info = struct.pack(">HH", smallest, largest) + bytes(6) + packed.to_bytes(8, "big") + md5
    return MAGIC + b"\x80" + len(info).to_bytes(3, "big") + info


def flac_frames(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """One frame per block of little-endian 16-bit samples (16 to 65,536 samples each)."""
    first = 0
    for block in blocks:
        count = len(block) // 2
        header = _HEADER + _coded(first) + struct.pack(">H", count - 1)
        header += bytes((crc8(header),))
        subframe, subframe_crc = _subframe(block)
        crc = _carried(crc16(header), len(subframe)) ^ subframe_crc
        yield header + subframe + struct.pack(">H", crc)
        first += count


def read_flac(audio: IO[bytes], size: int) -> tuple[tuple[int, int, int, int], bytes | None] | None:
    """A FLAC file's (rate, channels, bits, total samples) and, when every frame is a mono
    16-bit VERBATIM one (as the mock writes them), its samples as little-endian PCM; None when
    it is not FLAC."""
    audio.seek(0)
    data = audio.read(size)
    if data[:4] != MAGIC or len(data) < 42 or data[4] & 0x7F != 0:
        return None
    (packed,) = struct.unpack(">Q", data[18:26])
    info = (packed >> 44, (packed >> 41 & 7) + 1, (packed >> 36 & 31) + 1, packed & (1 << 36) - 1)
    at = 4
    while True:  # the metadata blocks, up to the last one
        if at + 4 > len(data):
            return None
        last, length = data[at] & 0x80, int.from_bytes(data[at + 1 : at + 4], "big")
        at += 4 + length
        if last:
            break
    pcm = bytearray()
    while at < len(data):
        # The mock's frames only; the samples' tones, not the CRC-16, say they are whole.
        if data[at : at + 4] != _HEADER or at + 5 > len(data):
            return info, None
        coded = _coded_length(data[at + 4])
        end = at + 4 + coded + 2  # then the CRC-8, the subframe type, the samples
        if coded == 0 or end + 2 > len(data) or data[end] != crc8(data[at:end]):
            return info, None
        count = int.from_bytes(data[end - 2 : end], "big") + 1
        frame_end = end + 2 + 2 * count + 2
        if data[end + 1 : end + 2] != _VERBATIM or frame_end > len(data):
            return info, None
        samples = array.array("h", data[end + 2 : frame_end - 2])
        samples.byteswap()
        pcm += samples.tobytes()
        at = frame_end
    return info, bytes(pcm)


def _coded_length(first: int) -> int:
    """How many bytes a coded number takes, from its first byte (0: not a first byte)."""
    ones = 0
    while ones < 8 and first & (0x80 >> ones):
        ones += 1
    return {0: 1, 1: 0, 8: 0}.get(ones, ones)
