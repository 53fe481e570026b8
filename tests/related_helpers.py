"""Articles for the related-articles tests: our own short texts on a few distinct topics."""

from __future__ import annotations

import json

from newsletter.articles import articles_db
from newsletter.clock import now_iso
from newsletter.related import on_articles_changed
from newsletter.workspace import Workspace

ARTICLES = {
    "sourdough-starter": ("Keeping a sourdough starter alive",
                          "Feed the sourdough starter flour and water every day. A lively starter doubles "
                          "in a few hours and smells sour. Keep the starter jar warm and discard half before "
                          "each feeding.", ["baking", "sourdough"]),
    "sourdough-loaf": ("Your first sourdough loaf",
                       "Mix the active starter with flour, water and salt. Fold the dough, let it rise "
                       "overnight, shape the loaf and bake it in a hot dutch oven until the crust is dark.",
                       ["baking", "sourdough"]),
    "rye-bread": ("Dense rye bread with a sour starter",
                  "Rye flour holds water like a sponge. A sour starter helps the rye dough rise; bake the "
                  "bread in a tin and wait a day before slicing the loaf.", ["baking"]),
    "tomato-seedlings": ("Growing tomato seedlings indoors",
                         "Sow tomato seeds in small pots under a bright lamp. Water the seedlings from "
                         "below and move them to bigger pots when the true leaves appear.", ["garden"]),
    "tomato-pruning": ("Pruning tomato plants for bigger fruit",
                       "Pinch the side shoots of tomato plants every week. Pruned tomato plants put "
                       "their energy into fewer, bigger fruit; tie the stems to a stake.", ["garden"]),
    "compost": ("Hot compost in six weeks",
                "Mix green garden waste with brown leaves, keep the compost heap moist and turn it every "
                "week. A hot heap breaks down in six weeks and feeds the garden beds.", ["garden"]),
    "interval-running": ("Interval running for beginners",
                         "Run hard for one minute, walk for two, and repeat the intervals six times. "
                         "Interval running builds speed; rest a day between running sessions.",
                         ["running"]),
    "long-run": ("Pacing the weekly long run",
                 "Run the long run slowly enough to talk. Add ten minutes of running each week and walk "
                 "the hills; the long run builds endurance for race day.", ["running"]),
}


def add_article(ws: Workspace, slug: str, title: str, body: str, tags: list[str], published: str,
                *, notify: bool = True) -> int:
    """Store one article the way the importer does (contract columns) and tell the index."""
    db = articles_db(ws)
    stamp = now_iso()
    cur = db.conn.execute(
        "INSERT INTO articles (url, slug, title, published_at, body_text, tags, source, content_hash, "
        "imported_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'test', ?, ?, ?)",
        [f"https://blog.example.com/{slug}", slug, title, published, body, json.dumps(tags),
         f"hash-{slug}", stamp, stamp],
    )
    if notify:
        on_articles_changed(ws, [cur.lastrowid])
    return cur.lastrowid


def add_samples(ws: Workspace, *, notify: bool = True) -> dict[str, int]:
    """The eight articles above, one day apart in the order listed; slug -> id."""
    ids = {}
    for day, (slug, (title, body, tags)) in enumerate(ARTICLES.items(), start=1):
        ids[slug] = add_article(ws, slug, title, body, tags, f"2026-10-{day:02d}T08:00:00+00:00", notify=notify)
    return ids


def add_weekend_trio(ws: Workspace, day: int = 1) -> tuple[int, int, int]:
    """A query and two candidates sharing only the common words "weekend notes": (query, bread, garden).

    Words alone give no evidence of a link; only meaning (bread, not garden) can."""
    def stamp(offset: int) -> str:
        return f"2026-10-{day + offset:02d}T08:00:00+00:00"

    query = add_article(ws, "q", "Weekend notes", "Notes from the weekend: sourdough loaf and a crust.", [], stamp(0))
    bread = add_article(ws, "b", "More weekend notes", "Notes: the oven, flour and dough.", [], stamp(1))
    garden = add_article(ws, "g", "Other weekend notes", "Notes: tomato seedlings and compost.", [], stamp(2))
    return query, bread, garden


def with_settings(ws: Workspace, **related: object) -> Workspace:
    """The same workspace with ``[related]`` settings overridden through the environment."""
    env = {f"NEWSLETTER_RELATED_{key.upper()}": str(value).lower() if isinstance(value, bool) else str(value)
           for key, value in related.items()}
    return Workspace(ws.root, environ=env)
