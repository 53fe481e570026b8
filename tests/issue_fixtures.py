"""Helpers for the issue tests: Markdown articles written into a workspace and imported for real."""

from __future__ import annotations

import json
from pathlib import Path

from newsletter.workspace import Workspace

PARAGRAPH = (
    "Most of the benefit comes from turning up every week rather than from any single session. "
    "Keep the easy days easy, so the hard days can be hard. "
    "When something aches for more than a few days, look at what changed: shoes, surface, volume or sleep."
)


def write_article(
    folder: Path,
    slug: str,
    title: str,
    date: str,
    *,
    tags: list[str] | None = None,
    summary: str | None = None,
    image: str | None = None,
    image_alt: str | None = None,
    url: str | None = None,
    body: str | None = None,
) -> Path:
    """One Markdown article with YAML front matter; ``date`` like ``2026-11-17T09:00:00-05:00``."""
    front = {"title": title, "date": date, "url": url or f"https://blog.example.com/posts/{slug}",
             "tags": tags or ["training"], "author": "Dana Whitfield"}
    if summary:
        front["summary"] = summary
    if image:
        front["image"] = image
    if image_alt:
        front["image_alt"] = image_alt
    head = "\n".join(f"{key}: {json.dumps(value)}" for key, value in front.items())
    path = folder / f"{slug}.md"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{head}\n---\n\n{body or PARAGRAPH}\n", encoding="utf-8")
    return path


def import_folder(ws: Workspace, folder: Path) -> None:
    from newsletter.articles import import_sources

    import_sources(ws, [folder])


TOPIC_TAGS = ["running", "cramps", "recovery", "nutrition", "stretching"]


def ten_article_week(ws: Workspace, *, older: int = 6) -> Path:
    """Ten articles in 2026-W47 (Mon 16 - Sun 22 Nov, New York) plus ``older`` (<= 14) in W45 and W46."""
    folder = ws.articles_dir
    for i in range(10):
        tag = TOPIC_TAGS[i % 5]
        write_article(
            folder, f"w47-{i}", f"Week 47 article {i}: {tag} notes & tips", f"2026-11-{16 + i % 7}T{9 + i // 7:02d}:00:00-05:00",
            tags=[tag, "weekly"], image=f"/images/w47-{i}.jpg" if i % 2 == 0 else None,
            url=f"https://blog.example.com/posts/w47-{i}?series=legs" if i == 3 else None,
        )
    for i in range(older):
        tag = TOPIC_TAGS[i % 5]
        write_article(folder, f"old-{i}", f"Older piece {i} on {tag}", f"2026-11-{2 + (i * 5) % 14:02d}T10:00:00-05:00",
                      tags=[tag, "weekly"])
    import_folder(ws, folder)
    return folder
