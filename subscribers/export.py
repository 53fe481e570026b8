"""CSV export of readers (address, name, status, dates), streamed in id order.

Names and addresses that a spreadsheet would run as a formula (starting with
= + - @; ``=1+2@example.com`` is a valid address anyone can type into the form)
are written with a leading apostrophe; the importer takes it off again.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

from newsletter.errors import InvalidInput
from newsletter.workspace import Workspace

from .schema import STATUSES, database
from .store import COLUMNS, Subscriber, paged

EXPORT_COLUMNS = ("email", "name", "status", "source", "created_at", "confirmed_at", "updated_at")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def check_status(status: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status {status!r} is not one of {', '.join(STATUSES)}")


def iter_subscribers(ws: Workspace, *, status: str | None = None, limit: int | None = None) -> Iterator[Subscriber]:
    """Readers (not forgotten) in id order, optionally of one status, read a page at a time."""
    check_status(status)
    where = "forgotten_at IS NULL" + (" AND status = ?" if status else "")
    for row in paged(database(ws), COLUMNS, where, [status] if status else [], limit=limit):
        yield Subscriber(*row)


def spreadsheet_safe(value: str | None) -> str:
    """Prefix an apostrophe to text a spreadsheet would evaluate as a formula."""
    if not value:
        return ""
    return "'" + value if value.startswith(FORMULA_START) else value


def export_csv(ws: Workspace, out: TextIO, *, status: str | None = None) -> int:
    """Write readers as CSV (with a header row) to ``out``; returns how many were written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for reader in iter_subscribers(ws, status=status):
        writer.writerow(
            [spreadsheet_safe(reader.email), spreadsheet_safe(reader.name), reader.status, reader.source,
             reader.created_at, reader.confirmed_at or "", reader.updated_at]
        )
        count += 1
    return count
