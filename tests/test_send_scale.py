"""Bounded memory for big lists, the rate limiter, and many workers on the Maildir transport."""

from __future__ import annotations

import csv
import threading
import tracemalloc
from pathlib import Path

from send_fixtures import ISSUE, build_issue

from issues import outbox
from issues.sender import DeliveryOptions, TokenBucket, send_issue
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


class ThrottlingTransport(Transport):
    """A server that answers the first ``THROTTLED`` messages 451 4.7.1 ("slow down"), then accepts all."""

    THROTTLED = 2
    answers = 0
    lock = threading.Lock()

    def send(self, sender: str, recipients: list[str], message: bytes) -> Reply:
        from newsletter.transports import TransportError

        with self.lock:
            ThrottlingTransport.answers += 1
            throttled = ThrottlingTransport.answers <= self.THROTTLED
        if throttled:
            raise TransportError(451, "Too many messages, slow down", enhanced="4.7.1")
        return Reply(250, "2.0.0 Ok")


class PaceLog(threading.Event):
    """The send's stop flag, noting each pause a send connection takes before a message (not their length)."""

    def __init__(self) -> None:
        super().__init__()
        self.pauses: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        if threading.current_thread() is not threading.main_thread() and timeout:
            self.pauses.append(timeout)
        return super().wait(timeout)


def test_throttling_replies_slow_the_connection_and_successes_speed_it_up_again(workspace: Workspace) -> None:
    from send_fixtures import add_readers

    from issues.outbox import Job
    from issues.pipeline import SendRun
    from newsletter.transports import TransportError

    # What one reply does to the connection's pace: throttle codes raise it, others leave it.
    run = SendRun(workspace, ISSUE, None, DeliveryOptions(retry_delay=1.0), CountingTransport, threading.Event())
    job = Job(1, 1, "r@example.org", None, tries=1)
    pace = run._failed(job, TransportError(451, "Too many messages, slow down", enhanced="4.7.1"), 0.0)
    assert pace > 0
    slower = run._failed(job, TransportError(421, "Service busy, closing", enhanced="4.7.0"), pace)
    assert slower > pace
    assert run._failed(job, TransportError(550, "No such user", enhanced="5.1.1"), slower) == slower
    assert run._failed(job, TransportError(0, "connection refused", temporary=True), slower) == slower

    # A whole send over one connection: two "slow down" replies, then every message accepted.
    build_issue(workspace)
    add_readers(workspace, 8)
    ThrottlingTransport.answers = 0
    log = PaceLog()
    report = send_issue(workspace, ISSUE, transport_factory=ThrottlingTransport, stop=log,
                        options=DeliveryOptions(connections=1, retry_delay=0.2, max_attempts=5))
    assert report.finished and report.counts["sent"] == 8
    peak = log.pauses.index(max(log.pauses))
    assert log.pauses[: peak + 1] == sorted(log.pauses[: peak + 1]) and peak >= 1  # slowed by each throttle
    easing = log.pauses[peak:]
    assert len(easing) >= 3 and easing == sorted(easing, reverse=True) and easing[-1] < log.pauses[peak]
