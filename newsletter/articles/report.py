"""What an import did: one entry per article or failed source, and the counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("added", "updated", "unchanged", "skipped", "failed")


@dataclass
class ReportEntry:
    """One article (or one source that failed) and what happened to it."""

    status: str
    origin: str
    message: str = ""
    title: str | None = None
    url: str | None = None
    article_id: int | None = None
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for the terminal: ``added  file.md  "Title"  (note; note)``."""
        what = f'"{self.title}"' if self.title else ""
        extra = "; ".join([*([self.message] if self.message else []), *self.notes])
        parts = [f"{self.status:<9}", self.origin, what, f"({extra})" if extra else ""]
        return "  ".join(p for p in parts if p)


@dataclass
class ImportReport:
    """The outcome of :func:`newsletter.articles.import_sources`."""

    entries: list[ReportEntry] = field(default_factory=list)

    def add(self, entry: ReportEntry) -> ReportEntry:
        self.entries.append(entry)
        return entry

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)

    @property
    def counts(self) -> dict[str, int]:
        return {status: self.count(status) for status in STATUSES}

    @property
    def failed(self) -> list[ReportEntry]:
        return [e for e in self.entries if e.status == "failed"]

    @property
    def changed_ids(self) -> list[int]:
        return [e.article_id for e in self.entries
                if e.status in ("added", "updated") and e.article_id is not None]

    def summary(self) -> str:
        counts = self.counts
        return ", ".join(f"{n} {status}" for status, n in counts.items())

    def as_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "entries": [asdict(e) for e in self.entries]}
