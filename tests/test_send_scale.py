"""Bounded memory for big lists, the rate limiter, and many workers on the Maildir transport."""

from __future__ import annotations

import csv
import threading
import tracemalloc
from pathlib import Path

from send_fixtures import ISSUE, build_issue

from issues.send import DeliveryOptions, TokenBucket, outbox, send_issue
from newsletter.transports import Reply, Transport
from newsletter.transports.maildir import MaildirTransport
from newsletter.workspace import Workspace
from subscribers.importer import import_csv


class CountingTransport(Transport):
    """A test double at the transport line: accepts everything, keeps only a count."""

    sent = 0
    lock = threading.Lock()

    def send(self, sender: str, recipients: list[str], message: bytes) -> Reply:
        with self.lock:
            CountingTransport.sent += 1
        return Reply(250, "2.0.0 counted")


def add_many(ws: Workspace, folder: Path, start: int, count: int) -> None:
    listing = folder / f"readers-{start}.csv"
    with listing.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["email", "name"])
        out.writerows([f"many{n}@readers.example.org", f"Reader {n}"] for n in range(start, start + count))
    import_csv(ws, listing, confirmed=True, consent="Made-up readers for the memory test.")


def peak_memory_of_send(root: Path, issue: str) -> int:
    ws = Workspace(root)
    tracemalloc.start()
    try:
        report = send_issue(ws, issue, transport_factory=CountingTransport,
                            options=DeliveryOptions(connections=4, batch_size=200))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        ws.close()
    assert report.finished
    return peak


def test_memory_stays_flat_as_the_list_grows(workspace: Workspace, tmp_path: Path) -> None:
    from issues.build import build_issue as build

    build_issue(workspace)
    add_many(workspace, tmp_path, 0, 1_500)
    small = peak_memory_of_send(workspace.root, ISSUE)
    # The week before as a second issue, to six times the readers: no more memory may be needed.
    build(workspace, "2026-W46")
    add_many(workspace, tmp_path, 1_500, 7_500)
    large = peak_memory_of_send(workspace.root, "2026-W46")
    assert outbox.counts(workspace, "2026-W46")["sent"] == 9_000
    print(f"peak traced memory: {small / 1e6:.2f} MB for 1,500 readers, {large / 1e6:.2f} MB for 9,000")
    assert large < small * 1.5 + 512 * 1024, (small, large)


def test_token_bucket_spaces_acquisitions_after_the_burst() -> None:
    bucket = TokenBucket(rate=20)  # a burst of one second's worth (20), then one every 50 ms
    waits = [bucket.wait_time() for _ in range(25)]
    assert all(w < 0.01 for w in waits[:20])
    assert all(later > earlier for earlier, later in zip(waits[20:], waits[21:], strict=False))
    assert 0.15 < waits[24] < 0.35


def test_maildir_transport_from_many_threads_keeps_every_message(tmp_path: Path) -> None:
    transport_per_thread = [MaildirTransport(tmp_path / "box") for _ in range(8)]

    def write(t: MaildirTransport, n: int) -> None:
        for i in range(150):
            t.send("b@example.com", [f"r{n}-{i}@example.org"], b"Subject: x\r\n\r\nbody\r\n")

    threads = [threading.Thread(target=write, args=(t, n)) for n, t in enumerate(transport_per_thread)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list((tmp_path / "box" / "new").iterdir())) == 8 * 150
    assert not [p for p in tmp_path.iterdir() if p.name != "box"]  # no staging folder left behind


def test_a_reader_never_sees_a_half_made_maildir(tmp_path: Path) -> None:
    """A mail client polling the folder while the first message creates it finds a whole Maildir."""
    import mailbox

    for attempt in range(30):
        box = tmp_path / f"box{attempt}"
        writer = threading.Thread(
            target=MaildirTransport(box).send, args=("b@example.com", ["r@example.org"], b"Subject: x\r\n\r\nhi\r\n"))
        writer.start()
        while writer.is_alive():
            if box.exists():
                mailbox.Maildir(box, create=False).keys()  # FileNotFoundError on a folder without cur/
        writer.join()
        assert len(mailbox.Maildir(box, create=False).keys()) == 1
