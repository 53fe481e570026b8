"""Every article's related links at once (``articles related --all``), in worker processes on big archives.

The whole index is read into memory once (:meth:`.archive.Archive.load_all`) and
the articles are scored in blocks (:func:`.ranking.scored_blocks`, one sparse
product per block) with the very rules of :func:`.links.rank_links`, so the lists
equal the one-at-a-time answers.  With workers, this process reads the index once
and saves it as arrays the workers map read-only (one copy in memory, shared);
results come back in article id order.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from .. import db as dbmod
from ..settings import Section
from ..workspace import Workspace
from .archive import Archive
from .index import refresh_embeddings, sync_index
from .links import RelatedLink, rank_many
from .schema import related_db

PARALLEL_FROM = 5_000  # articles; below this, starting workers costs more than it saves
_RUN = 1000  # article ids per task

Lists = list[tuple[int, list[RelatedLink]]]


def all_related(ws: Workspace, *, limit: int | None = None, workers: int | None = None,
                explain: bool = True) -> Iterator[tuple[int, list[RelatedLink]]]:
    """Every indexed article's related links, in article id order (for export and evaluation).

    ``explain=False``: the same links without their reasons (much faster: no article text is read).

    ``workers``: processes to rank in (default: the CPU count on an archive of
    ``PARALLEL_FROM`` articles or more).  Embeddings are brought up to date first,
    here; ranking only reads the stored vectors, so no worker loads a model.
    """
    sync_index(ws)
    db = related_db(ws)
    settings = ws.settings.related
    refresh_embeddings(ws)
    ids = [r[0] for r in db.execute("SELECT article_id FROM related_docs ORDER BY article_id")]
    if workers is None:
        workers = (os.cpu_count() or 1) if len(ids) >= PARALLEL_FROM else 0
    if workers < 2:
        yield from _rank_run(db, settings, ids, limit, explain)
        return
    yield from _in_workers(db, ws.database_path, dict(settings), ids, limit, workers, explain)


def _rank_run(db: Any, settings: Section, ids: list[int], limit: int | None, explain: bool,
              archive: Archive | None = None) -> Iterator[tuple[int, list[RelatedLink]]]:
    archive = Archive(db).load_all() if archive is None else archive  # the archive does not change meanwhile
    yield from rank_many(archive, ids, settings, limit=limit, explain=explain)


_worker_archive: dict[str, Archive] = {}  # per mapped folder, for the life of one worker process (one export)


def _worker_ready() -> None:
    """The first task of each worker: the ranking's modules imported while the parent reads the index."""
    from . import evidence, links, ranking  # noqa: F401


def _worker_run(folder: str, database: str, settings: dict[str, Any], ids: list[int], limit: int | None,
                explain: bool) -> Lists:
    """One task in a worker process: the archive the parent saved, mapped; its own connection for the text."""
    if folder not in _worker_archive:
        _worker_archive[folder] = Archive.mapped(Path(folder), dbmod.connect(database))
    return list(_rank_run(None, Section("related", settings), ids, limit, explain, _worker_archive[folder]))


def _in_workers(db: Any, database: Path, settings: dict[str, Any], ids: list[int], limit: int | None,
                workers: int, explain: bool) -> Iterator[tuple[int, list[RelatedLink]]]:
    """Runs of ids ranked in ``workers`` processes, yielded in order; a few runs in flight at most.

    The index is read once, here, and saved as arrays that every worker maps read-only.
    """
    context = multiprocessing.get_context("spawn")  # never fork a process holding a database connection
    runs = (ids[start : start + _RUN] for start in range(0, len(ids), _RUN))
    with tempfile.TemporaryDirectory(prefix="newsletter-related-") as folder:  # removed once the workers stop
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        try:
            for _ in range(workers):  # start them now: they import while this process reads
                pool.submit(_worker_ready)
            Archive(db).load_all().save(Path(folder))
            pending: deque[Future] = deque()
            for run in runs:
                pending.append(pool.submit(_worker_run, folder, str(database), settings, run, limit, explain))
                if len(pending) > 2 * workers:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:  # a reader that stops early (or Ctrl-C) does not wait for runs nobody will read
            pool.shutdown(wait=True, cancel_futures=True)
