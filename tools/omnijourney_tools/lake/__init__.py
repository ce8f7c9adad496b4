"""The local analytics lake: the facts Firehose delivered (newline-delimited JSON records), written as Parquet the way
Firehose's record format conversion writes them on AWS, under DIR/facts/kind=<kind>/day=<YYYY-MM-DD>/.

The Arrow schema is derived from the layer's column definitions (omnijourney.analytics.columns), the same the Glue
table is made from. Rows are sorted, so the same facts give the same files."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from omnijourney.analytics.columns import COLUMNS

SIMPLE_TYPES = {"string": pa.string(), "bigint": pa.int64(), "boolean": pa.bool_(), "timestamp": pa.timestamp("ms")}


def arrow_type(glue_type: str) -> pa.DataType:
    """The Arrow type Parquet files of a Glue column type hold (timestamps in UTC, without a zone, as Athena's)."""
    if glue_type in SIMPLE_TYPES:
        return SIMPLE_TYPES[glue_type]
    if decimal := re.fullmatch(r"decimal\((\d+),(\d+)\)", glue_type):
        return pa.decimal128(int(decimal[1]), int(decimal[2]))
    if array := re.fullmatch(r"array<(.+)>", glue_type):
        return pa.list_(arrow_type(array[1]))
    raise ValueError(f"no Arrow type for the Glue type {glue_type!r}")


SCHEMA = pa.schema([pa.field(name, arrow_type(glue_type)) for name, glue_type in COLUMNS.items()])


def records_in(objects: Iterable[bytes]) -> list[dict[str, Any]]:
    """Every record of the delivered objects (one JSON object a line), amounts read exactly."""
    return [
        json.loads(line, parse_float=Decimal) for body in objects for line in body.decode().splitlines() if line.strip()
    ]


def write(directory: Path, records: Iterable[dict[str, Any]]) -> list[Path]:
    """One Parquet file per kind and day, rows sorted by time, fact id and content; the files written."""
    partitions: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        partitions[record["kind"], record["day"]].append(record)
    written = []
    for (kind, day), rows in sorted(partitions.items()):
        rows.sort(key=lambda row: (row["occurred_at"], row["fact_id"], json.dumps(row, sort_keys=True, default=str)))
        table = pa.Table.from_pylist([{name: row.get(name) for name in COLUMNS} for row in rows], schema=SCHEMA)
        folder = directory / "facts" / f"kind={kind}" / f"day={day}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "part-0.parquet"
        pq.write_table(table, path)
        written.append(path)
    return written
