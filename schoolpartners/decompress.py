"""Bounded decompression for every compressed input (issue 18, row 4: a 45 KB .xz that unpacks to 300 MB drove the
job worker past 12 GB).

`read(path)` returns a file's bytes, decompressing `.xz` (LZMA, concatenated streams too) and `.gz` (gzip,
concatenated members too) in 64 KB input steps with a bounded output per step, and stops with
`DecompressionLimit` as soon as the output so far passes either cap:

- size: more than DECOMPRESS_MAX_BYTES bytes in all (default 256 MB; the largest national file unpacks to ~6 MB);
- ratio: more than DECOMPRESS_MAX_RATIO times the compressed bytes read so far (default 100; the national files
  are compressed 3-11 times), once past DECOMPRESS_RATIO_FLOOR bytes (1 MB: tiny files may compress a lot).

So a bomb is refused after a few megabytes of output, however large it claims to be. The LZMA decoder is also
given a memory limit (DECOMPRESS_XZ_MEMLIMIT, 128 MB), so a header asking for a giant dictionary is refused.

Zip archives (XLSX uploads) are checked by `check_zip` from the archive's directory: the members' declared sizes
against the same caps. Python's zipfile never inflates a member past its declared size (it truncates the
stream there and the CRC check then fails), so the declared sizes bound what any later reader (openpyxl) can
unpack, while it streams.

A refusal is bad input, never a passing fault: `DecompressionLimit` is a `ValueError`, and background jobs fail
on it at once instead of retrying (schoolpartners.jobs).
"""

from __future__ import annotations

import lzma
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from django.conf import settings

STEP = 64 * 1024  # compressed bytes read per step
COMPRESSED_SUFFIXES = (".xz", ".gz")


class DecompressionLimit(ValueError):
    """A compressed input unpacks past a cap; nothing of it is used."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"{name}: {message}")


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    @property
    def needs_input(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _Gzip:
    """zlib's gzip decoding with LZMADecompressor's interface (needs_input, max_length)."""

    def __init__(self) -> None:
        self._z = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self.eof = False
        self.unused_data = b""

    @property
    def needs_input(self) -> bool:
        return not self._z.unconsumed_tail and not self.eof

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        out = self._z.decompress(self._z.unconsumed_tail + data, max(0, max_length))
        self.eof = self._z.eof
        self.unused_data = self._z.unused_data
        return out


def _caps() -> tuple[int, int, int]:
    return (
        int(getattr(settings, "DECOMPRESS_MAX_BYTES", 256 * 1024**2)),
        int(getattr(settings, "DECOMPRESS_MAX_RATIO", 100)),
        int(getattr(settings, "DECOMPRESS_RATIO_FLOOR", 1024**2)),
    )


def _factory(suffix: str) -> Callable[[], _Decompressor]:
    if suffix == ".xz":
        memlimit = int(getattr(settings, "DECOMPRESS_XZ_MEMLIMIT", 128 * 1024**2))
        return lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=memlimit)
    return _Gzip


def decompress_stream(
    read: Callable[[int], bytes], name: str, suffix: str, max_bytes: int | None = None
) -> bytes:
    """Decompress what `read(n)` yields (`suffix` ".xz" or ".gz") within the caps; DecompressionLimit beyond them;
    ValueError (lzma.LZMAError, zlib.error, EOFError wrapped) for a damaged stream."""
    size_cap, ratio_cap, floor = _caps()
    if max_bytes is not None:
        size_cap = min(size_cap, max_bytes)
    make = _factory(suffix)
    out = bytearray()
    fed = 0  # compressed bytes read so far
    buf = b""  # compressed bytes read but not yet given to a decompressor
    dec = make()
    try:
        while True:
            if dec.eof:  # a concatenated stream (xz) or member (gzip) may follow; NUL bytes are padding
                buf = dec.unused_data + buf
                while not buf.strip(b"\0"):
                    more = read(STEP)
                    fed += len(more)
                    if not more:
                        return bytes(out)
                    buf += more
                dec = make()
            final = False
            if dec.needs_input and not buf:
                buf = read(STEP)
                fed += len(buf)
                final = not buf
            data, buf = (buf, b"") if dec.needs_input else (b"", buf)
            chunk = dec.decompress(data, STEP * 16)
            if final and not chunk and not dec.eof:
                raise ValueError(f"{name}: the compressed data ends early (a truncated {suffix} file)")
            out += chunk
            if len(out) > size_cap:
                raise DecompressionLimit(
                    name, f"refused: it unpacks to more than {size_cap:,} bytes (the limit); nothing was read"
                )
            if len(out) > floor and len(out) > ratio_cap * max(fed, 1):
                raise DecompressionLimit(
                    name,
                    f"refused as a possible decompression bomb: {fed:,} compressed bytes unpack to more than "
                    f"{len(out):,} (over {ratio_cap} times); nothing was read",
                )
    except (lzma.LZMAError, zlib.error, EOFError) as exc:
        raise ValueError(f"{name}: not a valid {suffix} file ({exc})") from exc


def is_compressed(name: str) -> bool:
    return name.lower().endswith(COMPRESSED_SUFFIXES)


def plain_name(name: str) -> str:
    """`name` without a trailing .xz or .gz."""
    for suffix in COMPRESSED_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def read(path: Path, max_bytes: int | None = None) -> bytes:
    """The bytes of `path`, decompressed within the caps when it ends .xz or .gz (read as is otherwise)."""
    suffix = path.suffix.lower()
    if suffix not in COMPRESSED_SUFFIXES:
        return path.read_bytes()
    with path.open("rb") as fh:
        return decompress_stream(fh.read, path.name, suffix, max_bytes=max_bytes)


def check_zip(path: Path, name: str, max_bytes: int | None = None, max_ratio: int | None = None) -> None:
    """Refuse a zip archive whose members declare more than `max_bytes` in all or a member (over 1 MB) compressed
    more than `max_ratio` times (defaults: the DECOMPRESS_* caps). zipfile.BadZipFile for a damaged archive."""
    size_cap, ratio_cap, floor = _caps()
    size_cap = size_cap if max_bytes is None else max_bytes
    ratio_cap = ratio_cap if max_ratio is None else max_ratio
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    total = sum(i.file_size for i in infos)
    if total > size_cap:
        raise DecompressionLimit(
            name,
            f"refused as a possible zip bomb: it unpacks to {total:,} bytes (at most {size_cap:,}); nothing was read",
        )
    for i in infos:
        if i.file_size > floor and i.file_size > ratio_cap * max(i.compress_size, 1):
            raise DecompressionLimit(
                name,
                f"refused as a possible zip bomb: {i.filename} is compressed "
                f"{i.file_size // max(i.compress_size, 1):,} times (at most {ratio_cap}); nothing was read",
            )
