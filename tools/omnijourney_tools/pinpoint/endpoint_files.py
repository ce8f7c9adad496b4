"""Reading an endpoint export job's output as a stream of lines: a file or every object under `s3://bucket/prefix`
(in key order), each gzipped or not (the gzip magic decides, not the name). Nothing is read whole: a line at a time,
each at most MAX_LINE_BYTES, so memory stays flat however big the export."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from omnijourney.edge.ingest import SQS_MAX_BYTES
from omnijourney_tools.pinpoint.exports import ImportRefused

GZIP_MAGIC = b"\x1f\x8b"
# A record bigger than a queue message could never be sent; reading stops there instead of holding a runaway line.
MAX_LINE_BYTES = SQS_MAX_BYTES
S3_SCHEME = "s3://"


@dataclass(frozen=True)
class Line:
    """One line of one export object (numbered from 1), or why it could not be read (`unreadable`)."""

    number: int
    text: bytes = b""
    unreadable: str | None = None


@dataclass(frozen=True)
class ExportObject:
    """One file of the export: `name` as reports show it (a path, or s3://bucket/key)."""

    name: str
    _open: Any

    @contextmanager
    def lines(self) -> Iterator[Iterator[Line]]:
        with self._open() as raw:
            yield _lines(_decompressed(io.BufferedReader(raw) if not hasattr(raw, "peek") else raw))


def export_objects(source: str) -> list[ExportObject]:
    """The objects of an export, in the order they are imported (a file alone; S3's objects by key)."""
    if source.startswith(S3_SCHEME):
        return _s3_objects(source)
    path = Path(source)
    if not path.is_file():
        raise ImportRefused(source, "no such file (give the export's file, or s3://bucket/prefix)")
    return [ExportObject(str(path), lambda: path.open("rb"))]


def _s3_objects(source: str) -> list[ExportObject]:
    from omnijourney.platform.aws import client  # lazy: boto3 only for an S3 source

    bucket, _, prefix = source[len(S3_SCHEME) :].partition("/")
    if not bucket:
        raise ImportRefused(source, "names no bucket: give s3://bucket/prefix")
    s3 = client("s3")
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if not item["Key"].endswith("/")  # a console "folder"
    ]
    if not keys:
        raise ImportRefused(source, "holds no object: check the export job's output location")
    return [
        ExportObject(f"{S3_SCHEME}{bucket}/{key}", lambda key=key: _S3Body(s3.get_object(Bucket=bucket, Key=key)))
        for key in sorted(keys)
    ]


class _S3Body(io.RawIOBase):
    """An S3 object's body as a raw stream, so it can be buffered (and peeked at for the gzip magic)."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self._body = answer["Body"]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._body.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        self._body.close()
        super().close()


def _decompressed(stream: IO[bytes]) -> IO[bytes] | gzip.GzipFile:
    if stream.peek(len(GZIP_MAGIC))[: len(GZIP_MAGIC)] == GZIP_MAGIC:  # type: ignore[attr-defined]
        return gzip.GzipFile(fileobj=stream, mode="rb")
    return stream


def _lines(stream: IO[bytes] | gzip.GzipFile) -> Iterator[Line]:
    number = 0
    while True:
        number += 1
        try:
            text = stream.readline(MAX_LINE_BYTES + 1)
            if len(text) > MAX_LINE_BYTES and not text.endswith(b"\n"):
                _skip_rest_of_line(stream)
                yield Line(number, unreadable=f"the line is longer than {MAX_LINE_BYTES} bytes, a queue message's most")
                continue
        except (EOFError, gzip.BadGzipFile, zlib.error):
            yield Line(number, unreadable="the gzip data ends or breaks here: the file is truncated or damaged")
            return
        if not text:
            return
        if text.strip():
            yield Line(number, text.rstrip(b"\r\n"))


def _skip_rest_of_line(stream: IO[bytes] | gzip.GzipFile) -> None:
    while (chunk := stream.readline(MAX_LINE_BYTES)) and not chunk.endswith(b"\n"):
        pass
