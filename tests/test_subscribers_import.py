"""CSV import and export: file shapes, bad rows, duplicates, statuses that must not come back."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email

import subscribers
from newsletter.errors import InvalidInput, SourceError
from subscribers.addresses import _validate_slow, validate_address
from subscribers.export import export_csv
from subscribers.importer import import_csv
from subscribers.schema import database


def write(tmp_path: Path, text: str | bytes, name: str = "list.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def readers(ws) -> dict[str, tuple[str | None, str]]:
    rows = database(ws).execute("SELECT email, name, status FROM subscribers WHERE email IS NOT NULL").fetchall()
    return {email: (name, status) for email, name, status in rows}


def test_header_in_any_order_bom_semicolons_quotes(workspace, tmp_path):
    text = (
        "\ufeffName;E-Mail;Joined\n"
        '"Doe; Jane";jane@example.com;2020\n'
        '"Smith, ""Bob""";bob@example.com;2021\n'
    )
    report = import_csv(workspace, write(tmp_path, text), confirmed=True, consent="old provider export")
    assert (report.added, report.bad_row_count) == (2, 0)
    assert readers(workspace) == {
        "jane@example.com": ("Doe; Jane", "confirmed"),
        "bob@example.com": ('Smith, "Bob"', "confirmed"),
    }


def test_names_with_line_breaks_are_bad_rows(workspace, tmp_path):
    text = 'email,name\nok@example.com,Ok\nbad@example.com,"two\nlines"\n'
    report = import_csv(workspace, write(tmp_path, text))
    assert report.added == 1
    assert [line for line, _ in report.bad_rows] == [3]  # where the record starts
    assert "bad@example.com" not in readers(workspace)


def test_email_first_and_name_address_cells_without_header(workspace, tmp_path):
    text = (
        "Jane Doe <jane@example.com>\n"
        '"Doe, John" <john@example.com>\n'
        "plain@example.com\n"
    )
    report = import_csv(workspace, write(tmp_path, text))
    assert report.added == 3
    assert readers(workspace) == {
        "jane@example.com": ("Jane Doe", "pending"),
        "john@example.com": ("Doe, John", "pending"),
        "plain@example.com": (None, "pending"),
    }


def test_headerless_two_columns(workspace, tmp_path):
    report = import_csv(workspace, write(tmp_path, "Ann,ann@example.com\nBen,ben@example.com\n"))
    assert report.added == 2
    assert readers(workspace)["ann@example.com"] == ("Ann", "pending")


def test_first_and_last_name_columns_and_tabs(workspace, tmp_path):
    text = ("First Name\tLast Name\tEmail Address\nAnn\tLee\tann@example.com\n \tLee\tlee@example.com\n"
            "Bo\t \tbo@example.com\n\t\tnone@example.com\n")
    report = import_csv(workspace, write(tmp_path, text))
    assert report.added == 4
    names = {email: name for email, (name, _) in readers(workspace).items()}
    assert names == {"ann@example.com": "Ann Lee", "lee@example.com": "Lee", "bo@example.com": "Bo",
                     "none@example.com": None}
    short = "email,first name,last name\nshort@example.com,Cy\n"  # a row that stops early
    assert import_csv(workspace, write(tmp_path, short, "short.csv")).added == 1
    assert readers(workspace)["short@example.com"][0] == "Cy"


def test_file_of_bad_rows(workspace, tmp_path):
    good_then_bad = (
        "email,name\n"              # 1
        "good@example.com,Good\n"   # 2
        "not-an-address,Nope\n"     # 3
        ",No address\n"             # 4
        "\n"                        # 5 (blank: ignored)
        "x@localhost,Local\n"       # 6
        "ok@example.com,\"Evil\rname\"\n"  # 7 and 8 (CR inside quotes)
        "two@@example.com,Two\n"    # 9
        "last@example.com,Last\n"   # 10
    )
    report = import_csv(workspace, write(tmp_path, good_then_bad))
    assert (report.added, report.rows) == (2, 7)
    assert [line for line, _ in report.bad_rows] == [3, 4, 6, 7, 9]
    assert report.bad_row_count == 5
    assert all(reason for _, reason in report.bad_rows)
    assert set(readers(workspace)) == {"good@example.com", "last@example.com"}
    # No half-written reader: every reader has exactly its one "imported" event.
    db = database(workspace)
    assert db.execute(
        "SELECT COUNT(*) FROM subscribers s WHERE (SELECT COUNT(*) FROM subscriber_events e "
        "WHERE e.subscriber_id = s.id AND e.kind = 'imported') != 1"
    ).fetchone()[0] == 0


def test_undecodable_bytes_are_bad_rows(workspace, tmp_path):
    raw = b"email,name\nok@example.com,Ok\n" + b"latin@example.com,Jos\xe9\n"
    report = import_csv(workspace, write(tmp_path, raw))
    assert report.added == 1 and [line for line, _ in report.bad_rows] == [3]
    report = import_csv(workspace, write(tmp_path, raw, "latin.csv"), encoding="cp1252")
    assert readers(workspace)["latin@example.com"] == ("José", "pending")


def test_duplicates_inside_the_file(workspace, tmp_path):
    text = "email\nsam@example.com\nSAM@Example.com\nother@example.com\nsam@example.com\n"
    report = import_csv(workspace, write(tmp_path, text), batch_rows=2)  # duplicates across batches too
    assert report.added == 2
    assert report.skipped["duplicate in file"] == 2


def test_confirmed_needs_consent(workspace, tmp_path):
    with pytest.raises(InvalidInput, match="--consent"):
        import_csv(workspace, write(tmp_path, "email\na@example.com\n"), confirmed=True)
    assert readers(workspace) == {}


def test_consent_is_recorded_per_reader(workspace, tmp_path):
    import_csv(workspace, write(tmp_path, "email\na@example.com\n"), confirmed=True, consent="paper form, 2025 fair")
    reader = subscribers.get_subscriber(workspace, "a@example.com")
    [event] = subscribers.store.events_of(workspace, reader.id)
    assert (event.kind, event.status, event.consent_text, event.source) == (
        "imported", "confirmed", "paper form, 2025 fair", "import:list.csv"
    )


def test_each_new_reader_and_event_holds_its_own_row(workspace, tmp_path):
    """The set-based write keeps every field per reader: address, name, status, times, nonce, the event's line."""
    text = ('email,name,status\n"Zoë Ødegaard" <zoe@example.com>,,\nann@example.com,Ann "A" Lee,unsubscribed\n'
            "bo@example.com,,pending\nkøde@example.no,Kø,\n")
    report = import_csv(workspace, write(tmp_path, text), confirmed=True, consent="fair, 2025")
    assert report.added == 4
    db = database(workspace)
    rows = db.execute("SELECT id, email, name, status, source, created_at, updated_at, confirmed_at, confirm_nonce "
                      "FROM subscribers ORDER BY email").fetchall()
    by_email = {row[1]: row for row in rows}
    assert {email: row[2:4] for email, row in by_email.items()} == {
        "ann@example.com": ('Ann "A" Lee', "unsubscribed"), "bo@example.com": (None, "pending"),
        "køde@example.no": ("Kø", "confirmed"), "zoe@example.com": ("Zoë Ødegaard", "confirmed"),
    }
    for _, email, _, status, source, created, updated, confirmed_at, nonce in rows:
        assert source == "import:list.csv" and created == updated and created.endswith("+00:00")
        assert confirmed_at == (created if status == "confirmed" else None), email
        assert len(nonce) == 8 and int(nonce, 16) >= 0
    assert len({row[8] for row in rows}) == 4  # a nonce of its own each
    events = db.execute("SELECT subscriber_id, kind, status, at, source, consent_text, detail FROM subscriber_events"
                        ).fetchall()
    lines = {"zoe@example.com": 2, "ann@example.com": 3, "bo@example.com": 4, "køde@example.no": 5}
    assert sorted(events) == sorted(
        (row[0], "imported", row[3], row[5], "import:list.csv", "fair, 2025", f"line {lines[row[1]]}") for row in rows
    )


def test_never_reactivates_readers_who_left(workspace, tmp_path):
    for address in ("unsub@example.com", "bounce@example.com", "spam@example.com", "pend@example.com",
                    "conf@example.com"):
        subscribers.subscribe(workspace, address, source="cli", confirmed=address != "pend@example.com",
                              consent_text="x" if address != "pend@example.com" else None)
    ids = {a: subscribers.get_subscriber(workspace, a).id for a in ("unsub@example.com", "bounce@example.com", "spam@example.com")}
    subscribers.unsubscribe(workspace, ids["unsub@example.com"], source="link")
    subscribers.mark_bounced(workspace, ids["bounce@example.com"], source="inbound", detail="550")
    subscribers.mark_complained(workspace, ids["spam@example.com"], source="inbound", detail="arf")
    subscribers.subscribe(workspace, "forgot@example.com")
    subscribers.forget(workspace, "forgot@example.com")
    text = "email,name\nunsub@example.com,U\nbounce@example.com,B\nspam@example.com,S\nforgot@example.com,F\n" \
           "pend@example.com,P\nconf@example.com,C\n"
    report = import_csv(workspace, write(tmp_path, text), confirmed=True, consent="old list")
    assert report.added == 0 and report.updated == 2  # pend confirmed, conf got a name
    assert dict(report.skipped) == {
        "unsubscribed (never re-activated)": 1, "bounced (never re-activated)": 1,
        "complained (never re-activated)": 1, "forgotten (on the suppression list)": 1,
    }
    state = readers(workspace)
    assert state["unsub@example.com"][1] == "unsubscribed"
    assert state["bounce@example.com"][1] == "bounced"
    assert state["spam@example.com"][1] == "complained"
    assert state["pend@example.com"] == ("P", "confirmed")
    assert state["conf@example.com"] == ("C", "confirmed")
    assert "forgot@example.com" not in state


def test_status_column_keeps_opt_outs_of_a_migrated_list(workspace, tmp_path):
    text = "email,status\nstay@example.com,subscribed\nleft@example.com,unsubscribed\n"
    import_csv(workspace, write(tmp_path, text), confirmed=True, consent="migrated")
    assert readers(workspace) == {"stay@example.com": (None, "confirmed"), "left@example.com": (None, "unsubscribed")}


def test_export_round_trip(workspace, tmp_path):
    from newsletter.init import init_workspace

    text = (
        "email,name\nann@example.com,Ann\nbob@example.com,\"Bob, Jr.\"\nformula@example.com,=HYPERLINK(\"x\")\n"
        "ünï@bücher.de,Ünï\n"
    )
    import_csv(workspace, write(tmp_path, text), confirmed=True, consent="fair")
    subscribers.subscribe(workspace, "pending@example.com")
    out = io.StringIO()
    assert export_csv(workspace, out, status="confirmed") == 4
    exported = out.getvalue()
    assert exported.splitlines()[0] == "email,name,status,source,created_at,confirmed_at,updated_at"
    assert "'=HYPERLINK" in exported and "pending@example.com" not in exported
    other = init_workspace(tmp_path / "other")
    report = import_csv(other, write(tmp_path, exported, "export.csv"), confirmed=True, consent="moved workspace")
    assert report.added == 4 and report.bad_row_count == 0
    assert readers(other) == {email: value for email, value in readers(workspace).items() if value[1] == "confirmed"}
    other.close()


def test_forget_then_reimport_is_refused(workspace, tmp_path):
    path = write(tmp_path, "email,name\nfay@example.com,Fay\n")
    import_csv(workspace, path, confirmed=True, consent="fair")
    subscribers.forget(workspace, "fay@example.com")
    report = import_csv(workspace, path, confirmed=True, consent="fair")
    assert report.added == 0 and report.skipped["forgotten (on the suppression list)"] == 1
    assert readers(workspace) == {}


def test_no_address_column_is_a_clear_error(workspace, tmp_path):
    with pytest.raises(SourceError, match="line 1"):
        import_csv(workspace, write(tmp_path, "who,when\nAnn,today\n"))


SAMPLES = [
    "Jane.Doe@Example.COM", "a+tag@sub.example.co.uk", "o'brien@example.ie", "x@xn--bcher-kva.de",
    "weird!#$%&'*+/=?^_`{|}~-@example.com", "a..b@example.com", ".a@example.com", "a.@example.com",
    "a@example", "a@-example.com", "a@example-.com", "a@123.com", "a@example.123", "a@localhost.localdomain",
    "a@example.test", "a@example.invalid", "a@sub.local", "user@[127.0.0.1]", '"quoted"@example.com',
    "a@" + "x" * 64 + ".com", "a" * 64 + "@example.com", "a" * 240 + "@example.com", "jöhn@bücher.de",
    "a@exa_mple.com", "a@EXAMPLE.COM", "a b@example.com", "a@b.c", "a@b.co",
]


@pytest.mark.parametrize("address", SAMPLES)
def test_fast_path_agrees_with_email_validator(address):
    """The importer's quick path accepts and normalises exactly what email-validator would."""
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        with pytest.raises(InvalidInput):
            validate_address(address)
        return
    assert validate_address(address) == _validate_slow(address, False)


def test_import_as_pending_can_send_confirmations(workspace, tmp_path):
    from test_subscribers_helpers import sent_mail

    subscribers.subscribe(workspace, "already@example.com")  # pending, mailed a moment ago
    text = "email\nnew1@example.com\nnew2@example.com\nalready@example.com\n"
    report = import_csv(workspace, write(tmp_path, text), send_confirmations=True)
    assert report.added == 2 and dict(report.confirmations) == {"sent": 2}
    recipients = sorted(m["To"] for m in sent_mail(workspace))
    assert recipients == ["already@example.com", "new1@example.com", "new2@example.com"]
    quiet = import_csv(workspace, write(tmp_path, "email\nnew3@example.com\n", "quiet.csv"))
    assert quiet.added == 1 and not quiet.confirmations and len(sent_mail(workspace)) == 3


def test_progress_is_reported_in_bytes(workspace, tmp_path):
    path = write(tmp_path, "email\n" + "".join(f"r{i}@example.com\n" for i in range(250)))
    seen: list[int] = []
    import_csv(workspace, path, batch_rows=100, progress=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] <= path.stat().st_size


def test_a_failing_batch_stops_the_import_and_leaves_whole_readers(workspace, tmp_path, monkeypatch):
    import sqlite3

    from subscribers import importer

    path = write(tmp_path, "email\n" + "".join(f"r{i}@example.com\n" for i in range(10)))
    original = importer._Batcher._insert
    calls = []

    def disk_full_on_second_batch(self, new):
        calls.append(len(new))
        original(self, new)
        if len(calls) == 2:
            raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(importer._Batcher, "_insert", disk_full_on_second_batch)
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        import_csv(workspace, path, batch_rows=3)
    # The first batch is in, the second was rolled back as a whole (readers and events together).
    assert sorted(readers(workspace)) == ["r0@example.com", "r1@example.com", "r2@example.com"]
    db = database(workspace)
    assert db.execute("SELECT COUNT(*) FROM subscriber_events").fetchone()[0] == 3


def test_a_parse_error_is_reported_not_masked(workspace, tmp_path):
    with pytest.raises(SourceError, match="no 'email' column"):
        import_csv(workspace, write(tmp_path, "nothing,here\n"))
