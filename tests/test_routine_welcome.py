"""The welcome series on a fake clock: mails on the configured days, central articles, nothing after leaving."""

from __future__ import annotations

import json
from datetime import timedelta

from issue_fixtures import import_folder, write_article
from routine_helpers import install_fake_clock, mail_to, routine_workspace, text_of

from issues.build import get_issue
from issues.routine import approve_issue, run_routine
from issues.routine import welcome as welcome_module
from issues.routine.welcome_store import rows_of
from newsletter.related import related_articles
from subscribers import get_subscriber, register, unsubscribe

CONSENT = "Yes, send me the weekly newsletter (welcome series test)."
ALICE, BOB, OLD = "alice@readers.example.org", "bob@readers.example.org", "old@readers.example.org"


def welcome_mails(ws, address: str) -> list:
    return [m for m in mail_to(ws, address, test=False) if "from the archive" in str(m["Subject"])]


def test_series_arrives_on_its_days_and_stops_when_the_reader_leaves(tmp_path, monkeypatch, cli) -> None:
    fake = install_fake_clock(monkeypatch, "2026-11-23 07:00")  # Monday of 2026-W48
    ws = routine_workspace(tmp_path, monkeypatch, sources=str(tmp_path / "news" / "articles"))
    topic_archive(ws)
    import_folder(ws, ws.articles_dir)
    register(ws, OLD, source="import", consent_text=CONSENT, confirmed=True)  # a reader from before
    assert not run_routine(ws).failed  # the series is switched on now: earlier readers do not get it
    renders: list[tuple[int, tuple[int, ...]]] = []
    real_render = welcome_module.render_mail

    def counting_render(ws_, welcome, step, articles):
        renders.append((step, articles))
        return real_render(ws_, welcome, step, articles)

    monkeypatch.setattr(welcome_module, "render_mail", counting_render)
    fake.set("2026-11-23 10:00")
    alice = register(ws, ALICE, name="Alice", source="form", consent_text=CONSENT, confirmed=True).subscriber_id
    bob = register(ws, BOB, source="form", consent_text=CONSENT, confirmed=True).subscriber_id
    arrivals: dict[str, list[str]] = {ALICE: [], BOB: []}
    end = fake.now + timedelta(days=21)  # three weeks, a run every three hours
    while fake.now < end:
        report = run_routine(ws)
        assert not report.failed, [s.as_dict() for s in report.failed]
        for address, seen in arrivals.items():
            if len(welcome_mails(ws, address)) > len(seen):
                seen.append(fake.now.strftime("%a %d"))
        if arrivals[BOB] and get_subscriber(ws, bob).status == "confirmed":  # Bob leaves after his first mail
            unsubscribe(ws, bob, source="link")
        if get_issue_or_none(ws, "2026-W47") == "draft":
            approve_issue(ws, "2026-W47")  # so Alice gets an issue (Tuesday) between her welcome mails
        fake.advance(hours=3)

    assert arrivals[ALICE] == ["Mon 23", "Thu 26", "Mon 30"]  # days 0, 3 and 7 after confirming
    assert arrivals[BOB] == ["Mon 23"]
    assert not mail_to(ws, OLD, test=False) or not welcome_mails(ws, OLD)
    assert [r["status"] for r in rows_of(ws, bob)] == ["sent", "skipped", "skipped"]
    assert [(step, len(set(arts))) for step, arts in renders] == [(1, 3), (2, 3), (3, 3)]  # one render for both

    shown = [a for r in rows_of(ws, alice) for a in json.loads(r["articles"])]
    assert len(shown) == len(set(shown)) == 9  # three mails of three, none twice
    for article_id in shown:  # never two on one topic
        near = {link.article_id for link in related_articles(ws, article_id)}
        assert not near & (set(shown) - {article_id})
    in_issue = {item.article_id for item in get_issue(ws, "2026-W47").items}
    assert get_subscriber(ws, alice).status == "confirmed" and len(mail_to(ws, ALICE, test=False)) == 4
    later = [a for r in rows_of(ws, alice) if r["step"] > 1 for a in json.loads(r["articles"])]
    assert not set(later) & in_issue  # never an article she got in an issue

    cli.ws = ws
    shown_cli = cli("subscribers", "show", ALICE)
    assert shown_cli.exit_code == 0 and shown_cli.output.count("welcome_series_sent") == 3
    assert "mail 3 of 3:" in shown_cli.output
    first = welcome_mails(ws, ALICE)[0]
    assert "Hi Alice," in text_of(first) and first["List-Unsubscribe"]


TOPICS = {
    "sleep": "sleep bedtime nap melatonin dream night pillow", "hydration": "water sweat electrolyte thirst sodium bottle",
    "cycling": "bike saddle pedal cadence gear wheel chain", "swimming": "pool stroke lap goggles kick lane",
    "yoga": "pose mat balance flow hold breath", "shoes": "shoe sole heel cushion lace fit",
    "heat": "heat sun humidity shade sunscreen summer", "cold": "cold winter layers gloves frost ice",
    "altitude": "altitude mountain oxygen elevation summit thin", "strength": "squat deadlift barbell kettlebell lunge",
    "trails": "trail rocks roots descent footing mud", "rowing": "rowing oar catch stroke erg drive",
    "posture": "posture desk chair screen shoulders slouch", "commute": "commute backpack route traffic office bag",
}


def topic_archive(ws) -> None:
    """Two articles on each of fourteen topics; one of each of the first three in 2026-W47, the rest before."""
    for n, (topic, words) in enumerate(TOPICS.items()):
        vocabulary = words.split()
        for k in range(2):
            body = " ".join(f"The {w} matters: {vocabulary[(i + k) % len(vocabulary)]} and {w} again."
                            for i, w in enumerate(vocabulary * 3))
            day = f"2026-11-{17 + n:02d}" if k == 0 and n < 3 else f"2026-10-{1 + n * 2 + k:02d}"
            write_article(ws.articles_dir, f"{topic}-{k}", f"{topic.title()} {'basics' if k == 0 else 'revisited'}",
                          f"{day}T08:00:00-05:00", tags=[topic], body=body)


def get_issue_or_none(ws, week: str) -> str | None:
    from newsletter.errors import NotFound

    try:
        return get_issue(ws, week).status
    except NotFound:
        return None
