"""The ``articles`` table: its migrations, upsert by canonical URL, and the read API."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..clock import now_iso, week_bounds
from ..db import Database, has_table, write_transaction
from ..errors import InvalidInput, NotFound
from .model import SOURCE_RANK, Article, canonical_url

if TYPE_CHECKING:
    from ..workspace import Workspace

COMPONENT = "articles"
COLUMNS = (
    "id", "url", "slug", "title", "published_at", "summary", "body_html", "body_text", "tags", "image",
    "image_alt", "author", "source", "content_hash", "imported_at", "updated_at", "source_words",
)


def _create_articles(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            url TEXT UNIQUE,
            slug TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            published_at TEXT NOT NULL,
            summary TEXT,
            body_html TEXT NOT NULL DEFAULT '',
            body_text TEXT NOT NULL DEFAULT '',
            tags TEXT NOT NULL DEFAULT '[]',
            image TEXT,
            image_alt TEXT,
            author TEXT,
            source TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            imported_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX articles_published_at ON articles (published_at)")


def _optional_url(db: Database) -> None:
    """A saved page imported without a URL is stored without one (``url`` NULL, still unique
    when set), and the size of the page an article was extracted from is kept."""
    db.execute("ALTER TABLE articles RENAME TO articles_old")
    db.execute("DROP INDEX IF EXISTS articles_published_at")
    _create_articles(db)
    db.execute("ALTER TABLE articles ADD COLUMN source_words INTEGER")
    db.execute("CREATE INDEX articles_source ON articles (source)")
    names = ", ".join(COLUMNS[:-1])
    db.execute(f"INSERT INTO articles ({names}) SELECT {names} FROM articles_old")
    db.execute("DROP TABLE articles_old")


MIGRATIONS = [_create_articles, _optional_url]


def articles_db(ws: Workspace) -> Database:
    """The workspace database with the ``articles`` table in place."""
    return ws.require_schema(COMPONENT, MIGRATIONS)


def row_to_article(row: dict[str, Any]) -> Article:
    data = dict(row)
    data["tags"] = json.loads(data["tags"] or "[]")
    data["url"] = data["url"] or ""
    published = datetime.fromisoformat(data["published_at"])
    data["published_at"] = published if published.tzinfo else published.replace(tzinfo=UTC)
    return Article(**{key: data[key] for key in COLUMNS})


def _select(db: Database, where: str = "", params: Sequence[Any] = ()) -> list[Article]:
    sql = f"SELECT {', '.join(COLUMNS)} FROM articles {where}"
    cursor = db.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [row_to_article(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


def get_article(ws: Workspace, key: int | str) -> Article:
    """An article by id, URL or slug; :class:`NotFound` says which key failed."""
    db = articles_db(ws)
    text = str(key).strip()
    if isinstance(key, int) or text.isdigit():
        found = _select(db, "WHERE id = ?", [int(text)])
    elif text.startswith(("http://", "https://")):
        found = _select(db, "WHERE url = ? OR url = ?", [text, canonical_url(text)])
    else:
        found = _select(db, "WHERE slug = ?", [text])
    if not found:
        raise NotFound(f"no article with id, URL or slug {text!r}; see 'newsletter articles list'")
    return found[0]


def get_articles(ws: Workspace, ids: Sequence[int]) -> list[Article]:
    """The articles with these ids, in the order given (missing ids are left out)."""
    if not ids:
        return []
    db = articles_db(ws)
    by_id: dict[int, Article] = {}
    unique = list(dict.fromkeys(int(i) for i in ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start:start + 500]
        for article in _select(db, f"WHERE id IN ({', '.join('?' * len(chunk))})", chunk):
            by_id[article.id] = article  # type: ignore[index]
    return [by_id[i] for i in unique if i in by_id]


def all_articles(ws: Workspace) -> list[Article]:
    """Every stored article, oldest first."""
    return _select(articles_db(ws), "ORDER BY published_at, id")


def articles_without_url(ws: Workspace) -> set[int]:
    """Ids of articles still without a public URL (never linked until an editor gives them one)."""
    return {row[0] for row in articles_db(ws).execute("SELECT id FROM articles WHERE url IS NULL")}


def articles_in_week(ws: Workspace, week: str) -> list[Article]:
    """The articles published in ISO week ``week`` (``2026-W47``) in the site's time zone, oldest first."""
    start, end = week_bounds(week, ws.settings.site.timezone)
    return _select(
        articles_db(ws),
        "WHERE published_at >= ? AND published_at < ? ORDER BY published_at, id",
        [start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")],
    )


def _free_slug(db: Database, wanted: str) -> str:
    slug, n = wanted, 1
    while db.execute("SELECT 1 FROM articles WHERE slug = ?", [slug]).fetchone():
        n += 1
        slug = f"{wanted}-{n}"
    return slug


def source_kind(source: str) -> str:
    """The kind prefix of a stored ``source`` (``"markdown:articles/x.md"`` → ``"markdown"``)."""
    return source.split(":", 1)[0]


def same_source(stored: str, new: str) -> bool:
    """The same file, also when it was stored under a relative path (before sources were absolute)."""
    if stored == new:
        return True
    kind, _, old_path = stored.partition(":")
    new_kind, _, new_path = new.partition(":")
    if kind != new_kind or "://" in old_path or not old_path:
        return False
    try:
        return Path(old_path).resolve() == Path(new_path).resolve()
    except OSError:
        return False


def _row(db: Database, where: str, params: list[Any]) -> tuple | None:
    return db.execute(f"SELECT {ROW} FROM articles WHERE {where} ORDER BY id LIMIT 1", params).fetchone()


ROW = "id, content_hash, source, url, slug"


def source_row(db: Database, source: str) -> tuple | None:
    """``(id, content_hash, source, url, slug)`` of the article stored from ``source``: the same
    string, or a relative path to the same file (how sources were stored before they were absolute)."""
    row = _row(db, "source = ?", [source])
    kind, _, path = source.partition(":")
    name = Path(path).name
    if row is not None or not name or "://" in path:
        return row
    pattern = "%" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    for found in db.execute(f"SELECT {ROW} FROM articles WHERE source LIKE ? ESCAPE '\\' ORDER BY id",
                            [f"{kind}:{pattern}"]):
        if same_source(found[2], source):
            return found
    return None


def upsert(db: Database, fields: dict[str, Any], *, url_from_source: bool = True,
           site_url: str = "") -> tuple[str, int | None, str]:
    """Store one article; returns ``(status, id, message)``.  Call inside a transaction.

    An article is the same one when it comes from the same source (file, page) or, for a
    URL the source itself states, the same canonical URL; then ``status`` is ``updated``,
    ``unchanged`` or ``skipped`` (a lower-ranked source does not overwrite a better one).
    A URL made up for the source (``url_from_source`` false) that another source's article
    already holds is ``failed``, naming both, and nothing changes.  A new article is ``added``.
    A page without a URL keeps the URL its article was given earlier, except the address an
    earlier version made up from its title (``site_url``/slug): that is dropped, and said.
    """
    url = fields["url"] or None
    source = fields["source"]
    stamp = now_iso()
    values = dict(fields, url=url, tags=json.dumps(fields["tags"], ensure_ascii=False))
    row = _row(db, "url = ?", [url]) if url else None
    if row is not None and not same_source(row[2], source) and not url_from_source:
        return "failed", None, (f"its URL {url} is made from its name, and article {row[0]} from {row[2]} already "
                                "has it; nothing was changed: give one of them its own URL ('url:' / --url)")
    message = ""
    if row is None and source_kind(source) != "feed":
        row = source_row(db, source)  # the same file again: its URL may be new
        if row is not None and url is None:
            values["url"] = row[3]  # a URL given earlier (--url, 'articles edit') stays
            if row[2] != source and row[3] and site_url and row[3] == canonical_url(f"{site_url}/{row[4]}"):
                values["url"] = None
                message = (f"its old address {row[3]} was made up from the page's title by an earlier version "
                           f"(the page states none) and is dropped; give its real address with 'newsletter "
                           f"articles edit {row[0]} --url URL' or import it again with --url")
    if row is None:
        values["slug"] = _free_slug(db, fields["slug"])
        values.update(imported_at=stamp, updated_at=stamp)
        db["articles"].insert(values)
        new_id = db.execute("SELECT last_insert_rowid()").fetchone()[0]
        return "added", new_id, ""
    article_id, old_hash, old_source, old_url = row[:4]
    old_kind, new_kind = source_kind(old_source), source_kind(source)
    if not same_source(old_source, source) and SOURCE_RANK.get(new_kind, 0) < SOURCE_RANK.get(old_kind, 0):
        return "skipped", article_id, f"kept the version imported from {old_source}"
    if old_hash == fields["content_hash"] and old_url == values["url"]:
        if old_source != source:  # stored under a relative path: keep the absolute one from now on
            db.execute("UPDATE articles SET source = ? WHERE id = ?", [source, article_id])
        return "unchanged", article_id, ""
    values.pop("slug", None)  # a stored article keeps its slug, so links to it stay stable
    values["updated_at"] = stamp
    db["articles"].update(article_id, values)
    return "updated", article_id, message


def set_url(ws: Workspace, key: int | str, url: str) -> Article:
    """Give an article its public URL (``newsletter articles edit ARTICLE --url``)."""
    article = get_article(ws, key)
    if urlsplit(url.strip()).scheme not in ("http", "https") or not urlsplit(url.strip()).netloc:
        raise InvalidInput(f"--url {url!r} is not an http(s) address; give the article's public address")
    wanted = canonical_url(url)
    db = articles_db(ws)
    with write_transaction(db):
        held = _row(db, "url = ? AND id != ?", [wanted, article.id])
        if held is not None:
            raise InvalidInput(f"{wanted} is already the URL of article {held[0]} (from {held[2]}); "
                               f"article {article.id} ({article.source}) cannot have it too")
        db.execute("UPDATE articles SET url = ?, updated_at = ? WHERE id = ?", [wanted, now_iso(), article.id])
    return get_article(ws, article.id)


# What the related index reads of an article, in this order (see newsletter/related/index.py).
INDEX_COLUMNS = "id, title, body_text, tags, published_at"
_IN_CHUNK = 500  # ids per IN (...) list


def _has_articles(db: Database) -> bool:
    return has_table(db, "articles")


def article_count(db: Database) -> int:
    """How many articles the archive holds (0 before the first import)."""
    return db.execute("SELECT count(*) FROM articles").fetchone()[0] if _has_articles(db) else 0


def existing_ids(db: Database, ids: Iterable[int] | None = None) -> set[int]:
    """The ids of every article, or of those of ``ids`` that exist."""
    if not _has_articles(db):
        return set()
    if ids is None:
        return {row[0] for row in db.execute("SELECT id FROM articles")}
    wanted, found = sorted({int(i) for i in ids}), set()
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        found.update(r[0] for r in db.execute(f"SELECT id FROM articles WHERE id IN ({','.join('?' * len(chunk))})",
                                             chunk))
    return found


def index_rows(db: Database, ids: Sequence[int] | None = None) -> Iterator[tuple]:
    """(:data:`INDEX_COLUMNS`) rows of these articles, or of all in id order, streamed (bounded memory)."""
    if not _has_articles(db):
        return
    if ids is None:
        yield from db.execute(f"SELECT {INDEX_COLUMNS} FROM articles ORDER BY id")
        return
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = list(ids[start : start + _IN_CHUNK])
        yield from db.execute(f"SELECT {INDEX_COLUMNS} FROM articles WHERE id IN ({','.join('?' * len(chunk))})",
                              chunk)


def article_texts(db: Database, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """{id: (title, body text)} of these articles (missing ones left out)."""
    return {row[0]: (row[1] or "", row[2] or "") for row in index_rows(db, ids)}
