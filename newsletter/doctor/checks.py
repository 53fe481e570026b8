"""What a doctor check reports: one :class:`Check` per item, gathered in a :class:`Report`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

OK, WARNING, ERROR = "ok", "warning", "error"
_RANK = {OK: 0, WARNING: 1, ERROR: 2}


@dataclass(frozen=True)
class Check:
    """One verdict: its area (settings, files, dkim, dns, smtp, web), what was checked, and what to do.

    ``record`` is a DNS record ready to paste into the zone, when the check is about one.
    """

    area: str
    name: str
    status: str
    message: str
    fix: str = ""
    record: str = ""

    def line(self) -> str:
        text = f"{self.status.upper():<7} {self.area:<8} {self.name}: {self.message}"
        if self.fix and self.status != OK:
            text += f"\n{'':<17}-> {self.fix}"
        if self.record:
            text += f"\n{'':<17}   {self.record}"
        return text


@dataclass
class Report:
    """Every check of one run, in order; the worst status decides the exit code."""

    checks: list[Check] = field(default_factory=list)

    def add(self, area: str, name: str, status: str, message: str, fix: str = "", record: str = "") -> Check:
        check = Check(area, name, status, message, fix, record)
        self.checks.append(check)
        return check

    @property
    def worst(self) -> str:
        return max((c.status for c in self.checks), key=_RANK.__getitem__, default=OK)

    @property
    def errors(self) -> list[Check]:
        return [c for c in self.checks if c.status == ERROR]

    def counts(self) -> dict[str, int]:
        return {status: sum(c.status == status for c in self.checks) for status in (OK, WARNING, ERROR)}

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.worst, "counts": self.counts(), "checks": [asdict(c) for c in self.checks]}
