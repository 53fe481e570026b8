"""A send spread over worker processes: limits divided without exceeding them, everyone mailed once."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from send_fixtures import ISSUE, add_readers, build_issue
from smtp_sink import SmtpSink

from issues.send import outbox
from issues.send.pipeline import DeliveryOptions, Share
from issues.send.processes import process_count
from issues.send.providers import ProviderLimits
from newsletter.workspace import Workspace
from subscribers import unsubscribe

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_the_processes_parts_add_up_to_each_limit_and_never_exceed_it(count: int) -> None:
    for total in range(0, 10):
        for key in ("", "google", "microsoft", "readers.example.org"):
            parts = [Share(i, count).of(total, key) for i in range(count)]
            assert sum(parts) == total and max(parts) - min(parts) <= 1, (total, key, parts)
    whole = ProviderLimits("google", 3, 30.0, 1.0)
    mine = [Share(i, count).limits(whole) for i in range(count)]
    assert sum(m.connections for m in mine) == 3
    assert sum(m.rate for m in mine) == pytest.approx(30.0)
    assert all(m.rate == 0 for m in mine if m.connections == 0)  # a process without connections sends nothing


def test_a_one_connection_provider_is_served_by_one_process_only_and_not_always_the_first() -> None:
    firsts = set()
    for name in ("google", "microsoft", "yahoo", "apple", "gmx", "proton", "fastmail"):
        parts = [Share(i, 2).limits(ProviderLimits(name, 1, 5.0, 1.0)) for i in range(2)]
        assert sorted(p.connections for p in parts) == [0, 1]
        assert [p.rate for p in parts if p.connections] == [5.0]
        firsts.add(parts[0].connections)
    assert firsts == {0, 1}  # the remainders rotate with the provider's name


def test_process_count_follows_the_setting_the_cores_and_the_list_length() -> None:
    assert process_count(DeliveryOptions(connections=4, processes=3), 50) == 3
    assert process_count(DeliveryOptions(connections=2, processes=8), 10**6) == 2  # at most one per connection
    assert process_count(DeliveryOptions(connections=4, processes=0), 10) == 1  # a short list: one process
    cores = len(os.sched_getaffinity(0))
    assert process_count(DeliveryOptions(connections=64, processes=0), 10**6) == cores


def test_two_processes_mail_everyone_once_honour_an_unsubscribe_and_a_one_connection_provider(
        workspace: Workspace) -> None:
    build_issue(workspace)
    ids = add_readers(workspace, 700)
    ids += add_readers(workspace, 700, start=700, domain="club.example.net")
    leaving = ids[-10:]
    with (workspace.root / "newsletter.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[delivery.providers.\"club.example.net\"]\nconnections = 1\n")
    seen = threading.Event()
    with SmtpSink() as sink:
        def on_message(_received: object) -> None:
            if len(sink.handler.messages) == 40 and not seen.is_set():
                other = Workspace(workspace.root)
                for sid in leaving:
                    unsubscribe(other, sid, source="link")
                other.close()
                seen.set()

        sink.handler.on_message = on_message
        env = {**os.environ, **sink.settings_env(), "NEWSLETTER_DELIVERY_PROCESSES": "2",
               "NEWSLETTER_DELIVERY_CONNECTIONS": "4", "NEWSLETTER_DELIVERY_RESOLVE_MX": "false"}
        done = subprocess.run([sys.executable, str(REPO / "cli.py"), "--workspace", str(workspace.root), "send",
                               ISSUE, "--yes"], cwd=REPO, env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    assert seen.is_set()
    copies = sink.counts()
    by_email = {e.lower(): sid for sid, e in workspace.db.execute("SELECT id, email FROM subscribers").fetchall()}
    assert {by_email[a] for a in copies} == set(ids) - set(leaving)
    assert set(copies.values()) == {1}
    rows = {r["subscriber_id"]: r for r in outbox.rows_of(workspace, ISSUE)}
    assert all(rows[sid]["status"] == "skipped" for sid in leaving)
    providers = collections.Counter(r["provider"] for r in rows.values() if r["status"] == "sent")
    assert providers == {"readers.example.org": 700, "club.example.net": 690}


LOOKUP_SEND = """
import json, sys, threading
from issues.send.pipeline import DeliveryOptions
from issues.send.processes import can_fork
from issues.send.providers import ProviderMap
from issues.send.sender import send_issue
from newsletter.workspace import Workspace

asked, lock = [], threading.Lock()

def resolver(domain):
    with lock:
        asked.append(domain)
    return [f"mx{len(domain) % 2}.clubhost.net"]

assert can_fork()
report = send_issue(Workspace(sys.argv[1]), sys.argv[2], options=DeliveryOptions(connections=4, processes=2),
                    providers=ProviderMap(resolver=resolver))
print(json.dumps({"asked": asked, "sent": report.this_run["sent"], "finished": report.finished}))
"""


def test_each_new_domain_is_looked_up_once_per_send_for_all_processes(workspace: Workspace) -> None:
    """In a process of its own (this one may run other tests' threads, and forking needs none)."""
    import json

    build_issue(workspace)
    domains = [f"club{n}.sport.net" for n in range(12)]
    for n, domain in enumerate(domains):
        add_readers(workspace, 100, start=n * 100, domain=domain)
    done = subprocess.run([sys.executable, "-c", LOOKUP_SEND, str(workspace.root), ISSUE], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["finished"] and result["sent"] == 1200
    assert sorted(result["asked"]) == sorted(domains)  # asked by the two processes, looked up once by the parent
    providers = {r["provider"] for r in outbox.rows_of(workspace, ISSUE)}
    assert providers == {"clubhost.net"}


def test_two_processes_hold_a_provider_greylisting_every_new_sender_and_deliver_everyone_once(
        workspace: Workspace) -> None:
    """Each process serves part of a provider that refuses every reader's first try once: neither
    pauses it, and the one command delivers everybody, each once (retries after the window)."""
    build_issue(workspace)
    add_readers(workspace, 300, domain="gmail.com")
    add_readers(workspace, 300, start=1000, domain="club.example.net")
    with SmtpSink() as sink:
        sink.greylist_domain("gmail.com")
        env = {**os.environ, **sink.settings_env(), "NEWSLETTER_DELIVERY_PROCESSES": "2",
               "NEWSLETTER_DELIVERY_CONNECTIONS": "4", "NEWSLETTER_DELIVERY_RESOLVE_MX": "false",
               "NEWSLETTER_DELIVERY_PAUSE_AFTER_FAILURES": "10", "NEWSLETTER_DELIVERY_DEFER_DELAY": "0.2",
               "NEWSLETTER_DELIVERY_RETRY_DELAY": "0.05"}
        done = subprocess.run([sys.executable, str(REPO / "cli.py"), "--workspace", str(workspace.root), "send",
                               ISSUE, "--yes"], cwd=REPO, env=env, capture_output=True, timeout=300)
        copies = sink.counts()
    assert done.returncode == 0, done.stderr.decode()
    assert len(copies) == 600 and set(copies.values()) == {1}
    attempts = collections.Counter((r["provider"], r["attempts"]) for r in outbox.rows_of(workspace, ISSUE))
    assert attempts == {("google", 2): 300, ("club.example.net", 1): 300}
