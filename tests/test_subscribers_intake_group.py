"""Sign-ups arriving together share one durable commit; the mail worker gives way to requests in flight."""

from __future__ import annotations

import threading
import time

import subscribers.intake as intake
from issues.web import create_app
from newsletter.db import _process_write_lock
from newsletter.workspace import Workspace
from subscribers.intake import register_taken_in, take_in
from subscribers.schema import database
from subscribers.web import mail_worker


def _take_in(ws: Workspace, n: int, errors: list) -> None:
    try:
        take_in(ws, f"reader{n}@example.com", name=None, source="form", ip="127.0.0.1", user_agent=None,
                consent_text=None)
    except Exception as exc:  # noqa: BLE001 - the test reports it
        errors.append(exc)


def test_sign_ups_waiting_for_the_write_lock_share_one_commit(workspace: Workspace, monkeypatch) -> None:
    commits: list[int] = []
    real = intake.write_transaction

    def counting(db):
        commits.append(1)
        return real(db)

    monkeypatch.setattr(intake, "write_transaction", counting)
    db = database(workspace)
    lock = _process_write_lock(db)
    errors: list = []
    threads = [threading.Thread(target=_take_in, args=(Workspace(workspace.root), n, errors)) for n in range(20)]
    with lock:  # another writer holds the database: the sign-ups queue up meanwhile
        for thread in threads:
            thread.start()
        group = intake._GROUPS[str(workspace.root)]
        deadline = time.monotonic() + 30
        while len(group.waiting) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(group.waiting) == 20 and group.writing  # the first waits for the lock, the rest for it
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(commits) == 1  # all that came while the first waited for the lock
    assert db.execute("SELECT COUNT(DISTINCT email) FROM signup_intake").fetchone()[0] == 20
    assert not group.writing and not group.waiting


def test_a_failed_commit_fails_every_sign_up_of_its_group(workspace: Workspace, monkeypatch) -> None:
    class Broken:
        def __enter__(self):
            raise OSError("disk full")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(intake, "write_transaction", lambda db: Broken())
    errors: list = []
    _take_in(workspace, 1, errors)
    assert [str(e) for e in errors] == ["disk full"]
    monkeypatch.undo()
    _take_in(workspace, 2, errors)  # the next group is written as usual
    assert len(errors) == 1


def test_registering_pauses_before_each_sign_up(workspace: Workspace) -> None:
    for n in range(3):
        _take_in(workspace, n, [])
    pauses: list[int] = []
    assert register_taken_in(workspace, pause=lambda: pauses.append(1)) == 3
    assert len(pauses) == 3


def test_the_app_counts_requests_in_flight_for_its_mail_worker(workspace: Workspace) -> None:
    app = create_app(workspace)
    traffic = mail_worker(app).traffic
    seen: list[int] = []
    app.add_url_rule("/probe", "probe", lambda: (seen.append(traffic._in_flight), "ok")[1])
    client = app.test_client()
    assert client.get("/probe").status_code == 200
    assert client.get("/no-such-page").status_code == 404
    assert client.post("/subscribe", data={"email": "a@example.com"}).status_code == 200
    assert seen == [1] and traffic._in_flight == 0
    mail_worker(app).stop()
