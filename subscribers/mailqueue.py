"""The durable queue of confirmation and welcome mails: written with the sign-up, sent after the answer.

A sign-up or confirmation writes a ``mail_queue`` row in the same transaction as the
reader's change, so a crash between the commit and the send loses nothing: the row
is sent when any drainer next runs (the web app's :class:`MailWorker`, the CLI, or
the caller itself for "send now").  Rows hold only a reader id and a kind; the
address is read at send time, so a forgotten reader is never mailed.  A row is
claimed with a lease before sending, so two drainers never send it twice at once.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from newsletter import clock
from newsletter.db import write_transaction
from newsletter.errors import NewsletterError
from newsletter.transports import Transport, TransportError, open_transport
from newsletter.workspace import Workspace

from . import mailer
from .schema import database
from .store import record_event

log = logging.getLogger(__name__)

# A claimed row is someone's for this long; after a crash mid-send it becomes due again.
LEASE = timedelta(minutes=2)
# A temporary refusal (4xx, connection down) is retried after these delays, then given up.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1), timedelta(hours=6))
BATCH = 50
POLL_SECONDS = 30.0
# The web app's worker looks this often (requests never wake it: its work must not follow one answer).
WEB_POLL_SECONDS = 0.25
# While the web app answers requests its worker waits up to this long before each row
# (so at least ~20 rows a second still go out under a sign-up flood).
GIVE_WAY_SECONDS = 0.05


def enqueue(db: Any, reader_id: int, kind: str, *, hold: bool = False) -> int:
    """Inside the caller's write transaction: queue ``kind`` mail for the reader; returns the row id.

    ``hold=True`` means the caller sends it itself right after committing (:func:`send_held`):
    the row starts leased to the caller, so a queue worker never takes it from under them.
    """
    now = clock.now_iso()
    cursor = db.execute(
        "INSERT INTO mail_queue (subscriber_id, kind, queued_at, due_at, claimed_until) VALUES (?, ?, ?, ?, ?)",
        [reader_id, kind, now, now, _iso(LEASE) if hold else None],
    )
    return cursor.lastrowid


def _iso(delta: timedelta) -> str:
    return (clock.utcnow() + delta).isoformat(timespec="seconds")


def _claim(db: Any, only: list[int] | None) -> list[tuple[int, int, str, int]]:
    """Take the lease on up to :data:`BATCH` due rows (or the ``only`` ones, if due)."""
    now = clock.now_iso()
    where = "due_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)"
    args: list[Any] = [now, now]
    if only is not None:
        where += f" AND id IN ({', '.join('?' * len(only))})"
        args += only
    if db.execute(f"SELECT 1 FROM mail_queue WHERE {where} LIMIT 1", args).fetchone() is None:
        return []  # a read, so an idle poll never takes the write lock
    with write_transaction(db):
        rows = db.execute(
            f"SELECT id, subscriber_id, kind, attempts FROM mail_queue WHERE {where} ORDER BY id LIMIT {BATCH}",
            args,
        ).fetchall()
        if rows:
            db.execute(
                f"UPDATE mail_queue SET claimed_until = ? WHERE id IN ({', '.join('?' * len(rows))})",
                [_iso(LEASE), *(row[0] for row in rows)],
            )
    return [tuple(row) for row in rows]


def _recipient(db: Any, reader_id: int, kind: str) -> str | None:
    """The address to mail, or None when the mail is no longer due (confirmed, left, forgotten)."""
    row = db.execute("SELECT email, status FROM subscribers WHERE id = ?", [reader_id]).fetchone()
    wanted = "pending" if kind == "confirmation" else "confirmed"
    return row[0] if row and row[0] and row[1] == wanted else None


def _send_one(ws: Workspace, transport: Transport, reader_id: int, kind: str, email: str) -> None:
    if kind == "confirmation":
        mailer.send_confirmation(ws, reader_id, email, transport)
    else:
        mailer.send_welcome(ws, reader_id, email, transport)


def _fail(db: Any, row_id: int, reader_id: int, kind: str, attempts: int, exc: Exception) -> None:
    """Record the failure; retry a temporary one later, drop a permanent one."""
    log.warning("could not send the %s mail to reader %s: %s", kind, reader_id, exc)
    retry = isinstance(exc, TransportError) and exc.temporary and attempts < len(RETRY_DELAYS)
    with write_transaction(db):
        record_event(db, reader_id, f"{kind}_failed", source="mailer", detail=str(exc)[:500])
        if retry:
            db.execute(
                "UPDATE mail_queue SET attempts = ?, due_at = ?, claimed_until = NULL, last_error = ? WHERE id = ?",
                [attempts + 1, _iso(RETRY_DELAYS[attempts]), str(exc)[:500], row_id],
            )
        else:
            db.execute("DELETE FROM mail_queue WHERE id = ?", [row_id])


@contextmanager
def _transport(ws: Workspace, given: Transport | None) -> Iterator[Transport]:
    """The caller's transport, or a new one closed afterwards."""
    if given is not None:
        yield given
        return
    with open_transport(ws) as made:
        yield made


def _send_rows(
    ws: Workspace, db: Any, transport: Transport, rows: list[tuple[int, int, str, int]], outcome: dict,
    pause: Callable[[], Any] | None = None,
) -> None:
    """Send claimed rows one by one (calling ``pause`` before each); delete each sent row, record each failure."""
    for row_id, reader_id, kind, attempts in rows:
        if pause is not None:
            pause()
        email = _recipient(db, reader_id, kind)
        try:
            if email:
                _send_one(ws, transport, reader_id, kind, email)
        except (TransportError, NewsletterError, OSError) as exc:
            _fail(db, row_id, reader_id, kind, attempts, exc)
            outcome[row_id] = str(exc)
            continue
        with write_transaction(db):
            db.execute("DELETE FROM mail_queue WHERE id = ?", [row_id])
        outcome[row_id] = None


def send_queued(
    ws: Workspace, only: Iterable[int] | None = None, transport: Transport | None = None,
    pause: Callable[[], Any] | None = None,
) -> dict[int, str | None]:
    """Claim and send the due rows (all of them, or just ``only``) through one transport.

    Returns ``{row id: None when sent or no longer due, else the error}`` for the rows
    this call claimed.  A failure is recorded as a ``<kind>_failed`` event, never raised.
    """
    db = database(ws)
    wanted = None if only is None else list(only)
    outcome: dict[int, str | None] = {}
    with _transport(ws, transport) as live:
        while rows := _claim(db, wanted):
            _send_rows(ws, db, live, rows, outcome, pause)
            if wanted is not None:
                break
    return outcome


def send_held(ws: Workspace, row_ids: Iterable[int], transport: Transport | None = None) -> dict[int, str | None]:
    """Send rows this caller queued with ``hold=True`` (already leased to it); same result as :func:`send_queued`."""
    db = database(ws)
    ids = list(row_ids)
    rows = db.execute(
        f"SELECT id, subscriber_id, kind, attempts FROM mail_queue WHERE id IN ({', '.join('?' * len(ids))}) "
        "ORDER BY id",
        ids,
    ).fetchall()
    outcome: dict[int, str | None] = {}
    with _transport(ws, transport) as live:
        _send_rows(ws, db, live, [tuple(row) for row in rows], outcome)
    return outcome


def drain(ws: Workspace, transport: Transport | None = None, pause: Callable[[], Any] | None = None) -> Counter:
    """Send every due row; counts of ``sent`` and ``failed`` (for the CLI and the worker)."""
    outcome = send_queued(ws, transport=transport, pause=pause)
    return Counter("failed" if error else "sent" for error in outcome.values())


def queued(ws: Workspace) -> int:
    """How many mails wait in the queue (due now or later)."""
    return database(ws).execute("SELECT COUNT(*) FROM mail_queue").fetchone()[0]


def quiet_checkpoints(ws: Workspace) -> None:
    """Turn off automatic WAL checkpoints on this thread's connection (once per connection).

    SQLite runs a checkpoint inside the commit that grows the WAL past its limit, and
    retries it on every writing commit while a reader holds an old snapshot: a sign-up
    that writes (a new address) would pay for it and a known one would not.  The web
    app's :class:`MailWorker` checkpoints instead, off the request path.
    """
    db = database(ws)
    if not getattr(db, "_nl_quiet_checkpoints", False):
        db.execute("PRAGMA wal_autocheckpoint = 0")
        db._nl_quiet_checkpoints = True  # type: ignore[attr-defined]


class Traffic:
    """How many requests the web app is answering, so its worker can give way to them (CPU and write lock)."""

    def __init__(self) -> None:
        self._quiet = threading.Condition()
        self._in_flight = 0

    def started(self) -> None:
        with self._quiet:
            self._in_flight += 1

    def finished(self) -> None:
        with self._quiet:
            self._in_flight -= 1
            if not self._in_flight:
                self._quiet.notify_all()

    def give_way(self, limit: float = GIVE_WAY_SECONDS) -> None:
        """Wait until no request is being answered, ``limit`` seconds at most."""
        with self._quiet:
            self._quiet.wait_for(lambda: not self._in_flight, limit)


class MailWorker:
    """A background thread in the web process that drains the queue through one reused transport.

    It drains once at start, so rows left by a stopped or crashed process go out, then
    every ``poll`` seconds (retries, rows other processes queued).  :meth:`wake` starts
    it (again after a fork) and asks for a drain now; the web app only polls, so no
    drain is timed by a particular answer.
    """

    def __init__(
        self, ws: Workspace, poll: float = POLL_SECONDS,
        transport_factory: Callable[[Workspace], Transport] = open_transport,
    ) -> None:
        self.ws = ws
        self.poll = poll
        self.transport_factory = transport_factory
        self._wake = threading.Event()
        self._done = threading.Condition()
        self._asked = self._finished = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._start_lock = threading.Lock()
        self.traffic = Traffic()  # the web app counts its requests here; the worker gives way to them

    def wake(self) -> None:
        """Ask for a drain now; starts the thread if this process has none (unless stopped)."""
        if not self.ensure_running():
            return
        with self._done:
            self._asked += 1
        self._wake.set()

    def ensure_running(self) -> bool:
        """Start the thread if this process has none (a fork leaves it behind); False once stopped."""
        if self._stopping:
            return False
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            with self._start_lock:
                if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                    self._pid = os.getpid()
                    self._thread = threading.Thread(target=self._run, name="subscribers-mail", daemon=True)
                    self._thread.start()
        return True

    def flush(self, timeout: float = 30.0) -> bool:
        """Wake the worker and wait until it has finished a drain that began after this call."""
        with self._done:
            target = self._asked + 1
        self.wake()
        with self._done:
            return self._done.wait_for(lambda: self._finished >= target, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread after its current batch for good; queued rows stay for the next start."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        transport: Transport | None = None
        try:
            while not self._stopping:
                self._wake.clear()
                with self._done:
                    asked = self._asked
                try:
                    from .intake import register_taken_in  # registering queues the mails drained below

                    register_taken_in(self.ws, pause=self.traffic.give_way)
                    transport = transport or self.transport_factory(self.ws)
                    if not drain(self.ws, transport, pause=self.traffic.give_way):
                        transport.close()  # idle: do not hold an SMTP connection open
                    # The web requests leave WAL checkpoints to this thread (see quiet_checkpoints).
                    database(self.ws).execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except Exception:  # the worker must outlive any one bad row or database hiccup
                    log.exception("the mail queue worker failed; it will try again")
                with self._done:
                    self._finished = max(self._finished, asked)
                    self._done.notify_all()
                self._wake.wait(self.poll)
        finally:
            if transport is not None:
                transport.close()
            self.ws.close()
