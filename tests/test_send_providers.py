"""Sending the way real providers answer: per-provider queues, greylisting, throttles, a server that goes down."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from send_fixtures import ISSUE, add_readers, build_issue, smtp_workspace
from smtp_sink import SmtpSink

from issues.send import ProviderMap, limits_for, outbox, provider_settings, send_issue
from newsletter.errors import ConfigError
from newsletter.workspace import Workspace


class StubResolver:
    """MX answers from a table, counting the lookups (no DNS here)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: Counter[str] = Counter()

    def __call__(self, domain: str) -> list[str]:
        self.asked[domain] += 1
        return self.table.get(domain, [])


def test_domains_are_grouped_by_provider_and_each_looked_up_once() -> None:
    resolver = StubResolver({
        "studio.example.com.au": ["aspmx.l.google.com", "alt1.aspmx.l.google.com"],
        "firm.de": ["firm-de.mail.protection.outlook.com"],
        "club.nl": ["mx1.hosting.co.uk", "mx2.hosting.co.uk"],
        "smallshop.fr": ["mail.smallshop.fr"],
    })
    providers = ProviderMap({"hosting": {"domains": ["partner.org"], "mx": ["hosting.co.uk"]}}, resolver=resolver)
    providers.resolve(["studio.example.com.au", "firm.de", "club.nl", "smallshop.fr", "gmail.com", "nomx.io"])
    assert providers.provider_of("gmail.com") == providers.provider_of("GoogleMail.com") == "google"
    assert providers.provider_of("studio.example.com.au") == "google"  # Google Workspace by its MX
    assert providers.provider_of("hotmail.co.uk") == providers.provider_of("firm.de") == "microsoft"
    assert providers.provider_of("aol.com") == providers.provider_of("yahoo.com") == "yahoo"
    assert providers.provider_of("club.nl") == providers.provider_of("partner.org") == "hosting"  # from settings
    assert providers.provider_of("smallshop.fr") == "smallshop.fr"  # its own MX: its own provider
    assert providers.provider_of("nomx.io") == "nomx.io"
    assert providers.provider_of("readers.example.org") == "readers.example.org"  # reserved: never looked up
    for domain in ("studio.example.com.au", "firm.de", "club.nl", "smallshop.fr", "nomx.io"):
        providers.provider_of(domain)
    assert set(resolver.asked.values()) == {1}
    assert "gmail.com" not in resolver.asked and "readers.example.org" not in resolver.asked


def test_provider_settings_are_checked_and_fill_in_defaults() -> None:
    tables = provider_settings({"providers": {"google": {"connections": 2, "rate": 10}, "yahoo": {}}})
    google = limits_for("google", tables, connections=8, retry_delay=1.0)
    assert (google.connections, google.rate, google.retry_delay) == (2, 10.0, 1.0)
    other = limits_for("smallshop.fr", tables, connections=8, retry_delay=1.0)
    assert (other.connections, other.rate) == (8, 0.0)
    with pytest.raises(ConfigError, match=r"\[delivery.providers.google\]: unknown key 'speed'"):
        provider_settings({"providers": {"google": {"speed": 3}}})
    with pytest.raises(ConfigError, match=r"\[delivery.providers.yahoo\] rate = -1"):
        provider_settings({"providers": {"yahoo": {"rate": -1}}})


def test_provider_tables_come_from_the_settings_file(workspace: Workspace) -> None:
    from issues.send import DeliveryOptions

    settings = workspace.root / "newsletter.toml"
    settings.write_text(settings.read_text() + "\n[delivery.providers.microsoft]\nconnections = 1\nrate = 5\n")
    options = DeliveryOptions.from_settings(Workspace(workspace.root))
    assert dict(options.providers)["microsoft"]["connections"] == 1


@pytest.fixture
def issue_ws(workspace: Workspace) -> Workspace:
    build_issue(workspace)
    return workspace


def three_providers(ws: Workspace, each: int) -> dict[str, list[int]]:
    return {domain: add_readers(ws, each, start=i * 1000, domain=domain)
            for i, domain in enumerate(("gmail.com", "outlook.com", "yahoo.com"))}


def attempts_by_provider(ws: Workspace) -> dict[str, Counter[int]]:
    out: dict[str, Counter[int]] = {}
    for row in outbox.rows_of(ws, ISSUE):
        out.setdefault(row["provider"], Counter())[row["attempts"]] += 1
    return out


def test_greylisting_defers_only_the_reader_and_everyone_gets_one_copy_in_one_run(issue_ws: Workspace) -> None:
    ids = add_readers(issue_ws, 100)
    greylisted = [f"reader{n}@readers.example.org" for n in range(0, 100, 10)]
    with SmtpSink() as sink:
        for address in greylisted:
            sink.answer(address, "451 4.7.1 Greylisted, please try again later")
        report = send_issue(smtp_workspace(issue_ws.root, sink, connections=2), ISSUE)
    assert report.finished and report.this_run["sent"] == 100 and report.this_run["deferred"] == 10
    assert set(sink.counts().values()) == {1} and len(sink.counts()) == len(ids)
    rows = {r["subscriber_id"]: r for r in outbox.rows_of(issue_ws, ISSUE)}
    tries = Counter(r["attempts"] for r in rows.values())
    assert tries == Counter({1: 90, 2: 10})  # nobody else was held up or retried
    assert all(r["next_try_at"] is None and r["provider"] == "readers.example.org" for r in rows.values())


def test_a_throttling_provider_is_slowed_alone(issue_ws: Workspace) -> None:
    readers = three_providers(issue_ws, 30)
    with SmtpSink() as sink:
        for n in range(30):
            sink.answer(f"reader{2000 + n}@yahoo.com", "421 4.7.0 Too many connections from your IP, slow down")
        report = send_issue(smtp_workspace(issue_ws.root, sink, connections=3), ISSUE)
    assert report.finished and len(sink.counts()) == 90 and set(sink.counts().values()) == {1}
    tries = attempts_by_provider(issue_ws)
    assert tries["google"] == Counter({1: 30}) and tries["microsoft"] == Counter({1: 30})
    assert tries["yahoo"] == Counter({2: 30})
    assert sum(len(v) for v in readers.values()) == 90


def test_a_provider_refusing_everything_pauses_alone_and_resumes_next_time(issue_ws: Workspace) -> None:
    three_providers(issue_ws, 20)
    with SmtpSink() as sink:
        for n in range(20):
            sink.always(f"reader{2000 + n}@yahoo.com", "451 4.7.0 Temporarily deferred due to user complaints")
        ws = smtp_workspace(issue_ws.root, sink, connections=2, pause_after_failures=4)
        report = send_issue(ws, ISSUE)
        assert not report.finished and report.paused and "from yahoo" in report.paused
        assert report.this_run["sent"] == 40 and len(sink.messages) == 40
        assert report.counts["pending"] == 20 and report.counts["sending"] == 0
        assert outbox.send_record(issue_ws, ISSUE).paused == report.paused  # type: ignore[union-attr]
        for n in range(20):
            sink.clear(f"reader{2000 + n}@yahoo.com")
        resumed = send_issue(ws, ISSUE)
    assert resumed.finished and resumed.paused is None and len(sink.counts()) == 60
    assert set(sink.counts().values()) == {1}


def test_a_server_that_stops_answering_pauses_the_send_quickly_and_it_resumes(issue_ws: Workspace) -> None:
    add_readers(issue_ws, 60)
    with SmtpSink() as sink:
        sink.hang_from(11)
        ws = smtp_workspace(issue_ws.root, sink, connections=2, smtp_timeout=0.5)
        report = send_issue(ws, ISSUE)
        assert report.paused and "the server is down" in report.paused and "no answer within 0.5s" in report.paused
        assert report.counts["sending"] == 0 and report.counts["sent"] == len(sink.messages) == 10
        sink.hang_from(None)
        resumed = send_issue(ws, ISSUE)
    assert resumed.finished and len(sink.counts()) == 60 and max(sink.counts().values()) == 1


def test_a_server_that_goes_away_mid_send_pauses_it(issue_ws: Workspace) -> None:
    add_readers(issue_ws, 300)
    sink = SmtpSink().__enter__()

    def stop_after_20() -> None:
        while len(sink.messages) < 20:
            time.sleep(0.001)
        sink.controller.stop()  # closes every connection; new ones are refused

    stopper = threading.Thread(target=stop_after_20)
    stopper.start()
    report = send_issue(smtp_workspace(issue_ws.root, sink, connections=2), ISSUE)
    stopper.join()
    assert report.paused and "the server is down" in report.paused and "cannot connect" in report.paused
    assert report.counts["sending"] == 0 and report.counts["sent"] == len(sink.messages) < 300
    assert report.counts["pending"] == 300 - len(sink.messages)
