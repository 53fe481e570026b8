"""Two (or more) processes subscribing the same addresses at the same moment, on a real database file."""

from __future__ import annotations

import multiprocessing
import traceback

from subscribers.schema import database

ADDRESSES = [f"racer{i}@example.com" for i in range(6)]
PROCESSES = 4


def _subscribe_all(root: str, barrier, results) -> None:
    """Worker (a separate process): wait for the others, then subscribe every address."""
    try:
        import subscribers
        from newsletter.workspace import Workspace

        ws = Workspace(root)
        barrier.wait(timeout=60)
        answers = {subscribers.subscribe(ws, address.upper(), name="Racer") for address in ADDRESSES}
        ws.close()
        results.put(("ok", len(answers)))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def test_simultaneous_subscribes_make_one_reader_each(workspace):
    assert workspace.secret_key  # the key file exists before the race (made once, by init or first use)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(target=_subscribe_all, args=(str(workspace.root), barrier, results))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert outcomes == [("ok", 1)] * PROCESSES, outcomes

    db = database(workspace)
    rows = db.execute("SELECT email_normalized, status FROM subscribers ORDER BY email_normalized").fetchall()
    assert rows == [(address, "pending") for address in sorted(ADDRESSES)]
    per_reader = db.execute(
        "SELECT subscriber_id, SUM(kind = 'subscribed'), SUM(kind = 'confirmation_sent') "
        "FROM subscriber_events GROUP BY subscriber_id"
    ).fetchall()
    # One sign-up event and (thanks to the rate limit, claimed inside the write lock) one mail each.
    assert [(count, mails) for _, count, mails in per_reader] == [(1, 1)] * len(ADDRESSES)
