"""Reading subscriber CSV files: encoding, delimiter and header detection, ``Name <addr>`` cells.

Rows are streamed (the csv module over a file object), so memory stays bounded
however long the file is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from newsletter.errors import SourceError

SAMPLE_BYTES = 65536
DELIMITERS = ",;\t|"

EMAIL_HEADERS = {"email", "e-mail", "email address", "e-mail address", "email_address", "mail", "address", "emailaddress"}
NAME_HEADERS = {"name", "full name", "full_name", "fullname", "display name", "display_name"}
FIRST_NAME_HEADERS = {"first name", "first_name", "firstname", "given name"}
LAST_NAME_HEADERS = {"last name", "last_name", "lastname", "surname", "family name"}
STATUS_HEADERS = {"status"}


@dataclass(frozen=True)
class Columns:
    """Where the fields are: column indexes (None when absent) and whether row 1 is a header."""

    email: int
    name: int | None = None
    first_name: int | None = None
    last_name: int | None = None
    status: int | None = None
    header: bool = False


class CsvRow(NamedTuple):
    """One data row (a tuple: made a million times per import)."""

    line: int
    email: str
    name: str | None
    status: str | None


def _delimiter(sample: str) -> str:
    """The delimiter of ``sample``: csv.Sniffer, else the most frequent candidate on the first line."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _header_key(cell: str) -> str:
    return " ".join(cell.strip().lower().replace("-", " ").replace("_", " ").split()).replace("e mail", "email")


def detect_columns(first_row: list[str], where: str) -> Columns:
    """Find the email/name/status columns from a header row, or from the data if there is none."""
    keys = [_header_key(cell) for cell in first_row]
    wanted = {_header_key(h) for h in EMAIL_HEADERS}

    def find(names: set[str]) -> int | None:
        names = {_header_key(n) for n in names}
        return next((i for i, k in enumerate(keys) if k in names), None)

    email = find(wanted)
    if email is not None:
        return Columns(
            email=email, name=find(NAME_HEADERS), first_name=find(FIRST_NAME_HEADERS),
            last_name=find(LAST_NAME_HEADERS), status=find(STATUS_HEADERS), header=True,
        )
    at = [i for i, cell in enumerate(first_row) if "@" in cell]
    if not at:
        raise SourceError(
            f"{where} line 1: no 'email' column header and no address in the first row; "
            "add a header row naming the email column"
        )
    others = [i for i, cell in enumerate(first_row) if i != at[0] and cell.strip()]
    return Columns(email=at[0], name=others[0] if len(others) == 1 else None)


def open_text(path: str, encoding: str) -> io.TextIOBase:
    """Open for csv: BOM dropped, undecodable bytes kept as surrogates (their rows are refused)."""
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    try:
        return open(path, encoding=encoding, errors="surrogateescape", newline="")  # noqa: SIM115
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror}") from None
    except LookupError:
        raise SourceError(f"{encoding!r} is not a known text encoding (try utf-8 or cp1252)") from None


def read_rows(handle: io.TextIOBase, where: str, bad: list[tuple[int, str]]) -> Iterator[CsvRow]:
    """Yield the data rows of a CSV file; rows the csv module cannot parse go to ``bad``."""
    sample = handle.read(SAMPLE_BYTES)
    handle.seek(0)
    if sample.startswith("\ufeff"):  # a BOM in a file opened with a non-UTF-8 codec name
        handle.read(1)
    reader = csv.reader(handle, delimiter=_delimiter(sample), quotechar='"', skipinitialspace=True, strict=False)
    pick: Callable[[list[str], int], CsvRow] | None = None
    while True:
        line = reader.line_num + 1  # where this record starts (a quoted field may span lines)
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            bad.append((line, f"unreadable CSV: {exc}"))
            continue
        if not "".join(row).strip():
            continue
        if pick is None:
            columns = detect_columns(row, where)
            pick = _picker(columns)
            if columns.header:
                continue
        yield pick(row, line)


def _picker(columns: Columns) -> Callable[[list[str], int], CsvRow]:
    """A function turning one parsed row into a :class:`CsvRow`, specialised once per file."""
    email_at, name_at, status_at = columns.email, columns.name, columns.status
    split_name = name_at is None and (columns.first_name is not None or columns.last_name is not None)
    first_at, last_at = columns.first_name, columns.last_name

    def cell(row: list[str], index: int | None) -> str | None:
        if index is None or index >= len(row):
            return None
        return row[index].strip() or None

    def pick(row: list[str], line: int) -> CsvRow:
        email = row[email_at].strip() if email_at < len(row) else ""
        if split_name:  # "First" and "Last" joined by a space, either may be missing (written out: a million rows)
            first = row[first_at].strip() if first_at is not None and first_at < len(row) else ""
            last = row[last_at].strip() if last_at is not None and last_at < len(row) else ""
            name = f"{first} {last}" if first and last else (first or last or None)
        else:
            name = cell(row, name_at)
        status = cell(row, status_at) if status_at is not None else None
        return CsvRow(line, email, name, status.lower() if status else None)

    return pick
