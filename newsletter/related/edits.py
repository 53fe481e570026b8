"""An editor's pins and blocks: "always link B from A" / "never link B from A"."""

from __future__ import annotations

from dataclasses import dataclass

from ..articles import existing_ids
from ..clock import now_iso
from ..db import write_transaction
from ..errors import InvalidInput, NotFound
from ..workspace import Workspace
from .schema import related_db


@dataclass(frozen=True)
class Edit:
    """One pin or block of ``other_id`` on ``article_id``'s related list."""

    article_id: int
    other_id: int
    action: str  # "pin" or "block"
    created_at: str

    def as_dict(self) -> dict:
        return {"article_id": self.article_id, "other_id": self.other_id, "action": self.action,
                "created_at": self.created_at}


def _check(ws: Workspace, article_id: int, other_id: int) -> None:
    if article_id == other_id:
        raise InvalidInput(f"article {article_id} cannot be related to itself; name another article")
    found = existing_ids(related_db(ws), [article_id, other_id])
    for key in (article_id, other_id):
        if key not in found:
            raise NotFound(f"no article with id {key}; see 'newsletter articles list'")


def _set(ws: Workspace, article_id: int, other_id: int, action: str) -> Edit:
    _check(ws, article_id, other_id)
    db = related_db(ws)
    stamp = now_iso()
    with write_transaction(db):
        position = db.execute(
            "SELECT coalesce(max(position), 0) + 1 FROM related_edits WHERE article_id = ?", [article_id]
        ).fetchone()[0]
        db.execute(
            "INSERT INTO related_edits (article_id, other_id, action, position, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (article_id, other_id) DO UPDATE SET "
            "action = excluded.action, position = excluded.position, created_at = excluded.created_at",
            [article_id, other_id, action, position, stamp],
        )
    return Edit(article_id, other_id, action, stamp)


def pin_related(ws: Workspace, article_id: int, other_id: int) -> Edit:
    """Always list ``other_id`` among ``article_id``'s related articles (pins come first, in pin order)."""
    return _set(ws, article_id, other_id, "pin")


def block_related(ws: Workspace, article_id: int, other_id: int) -> Edit:
    """Never list ``other_id`` among ``article_id``'s related articles."""
    return _set(ws, article_id, other_id, "block")


def clear_related_edit(ws: Workspace, article_id: int, other_id: int) -> bool:
    """Forget a pin or block; returns whether there was one."""
    db = related_db(ws)
    cur = db.execute("DELETE FROM related_edits WHERE article_id = ? AND other_id = ?", [article_id, other_id])
    return cur.rowcount > 0


def edits_for(ws: Workspace, article_id: int) -> list[Edit]:
    """The pins (in pin order) and blocks of one article."""
    db = related_db(ws)
    rows = db.execute(
        "SELECT article_id, other_id, action, created_at FROM related_edits WHERE article_id = ? "
        "ORDER BY action DESC, position, other_id",
        [article_id],
    ).fetchall()
    return [Edit(*r) for r in rows]
