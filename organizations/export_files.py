"""Writing an export's ZIP: per table a JSON file (an array of objects, nested values
kept) and a CSV file (one column per field; nested values as JSON text), plus
manifest.json saying what the ZIP holds. Rows are streamed, never all held in memory."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import Storage
from django.core.serializers.json import DjangoJSONEncoder

from kernel.exports import Row


def _json(value: object) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return _json(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _write_table(
    archive: zipfile.ZipFile, name: str, fields: Sequence[str], rows: Iterable[Row]
) -> int:
    """`<name>.json` and `<name>.csv` in one pass over the rows; returns their count."""
    count = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        writer = csv.writer(spool)
        writer.writerow(fields)
        with archive.open(f"{name}.json", "w") as raw_json:
            text = io.TextIOWrapper(raw_json, encoding="utf-8")
            text.write("[")
            for row in rows:
                values = {key: row.get(key) for key in fields}
                text.write(("," if count else "") + "\n  " + _json(values))
                writer.writerow([_cell(values[key]) for key in fields])
                count += 1
            text.write("\n]\n" if count else "]\n")
            text.flush()
            text.detach()
        spool.seek(0)
        _copy(spool, archive, f"{name}.csv")  # the zip takes one open entry at a time
    return count


def _copy(source: IO[str], archive: zipfile.ZipFile, name: str) -> None:
    with archive.open(name, "w") as target:
        for chunk in iter(lambda: source.read(64 * 1024), ""):
            target.write(chunk.encode("utf-8"))


def write_export(
    storage: Storage,
    name: str,
    tables: Iterable[tuple[str, Sequence[str], Iterable[Row]]],
    manifest: Mapping[str, Any],
) -> tuple[str, int, dict[str, int]]:
    """Write the ZIP to `storage` as `name`: (the stored name, its size, rows per table)."""
    counts: dict[str, int] = {}
    files: list[dict[str, Any]] = []
    with tempfile.TemporaryFile() as buffer:
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for table, fields, rows in tables:
                if table in counts:
                    raise ValueError(f"Two export tables are named {table!r}.")
                counts[table] = _write_table(archive, table, fields, rows)
                files.append(
                    {
                        "table": table,
                        "files": [f"{table}.json", f"{table}.csv"],
                        "fields": list(fields),
                        "rows": counts[table],
                    }
                )
            archive.writestr("manifest.json", _json({**manifest, "files": files}) + "\n")
        size = buffer.tell()
        buffer.seek(0)
        stored = storage.save(name, File(buffer, name=name))
    return stored, size, counts
