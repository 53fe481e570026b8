"""Review fixes: mail language and layout, complainers never mailed, clear CLI wording, import advice."""

from __future__ import annotations

from test_subscribers_helpers import error_of, link_token, parts, sent_mail

import subscribers
from newsletter.workspace import Workspace


def test_confirmation_and_welcome_declare_the_site_language(workspace):
    subscribers.subscribe(workspace, "lang@example.com")
    [confirmation] = sent_mail(workspace)
    text, html = parts(confirmation)
    assert '<html lang="en"' in html and 'lang="und"' not in html
    subscribers.confirm(workspace, link_token(text, "confirm"))
    [welcome] = [m for m in sent_mail(workspace) if m["Subject"].startswith("Welcome")]
    assert '<html lang="en"' in parts(welcome)[1]


def test_welcome_without_a_description_has_no_empty_paragraph(workspace):
    settings = workspace.root / "newsletter.toml"
    settings.write_text(settings.read_text().replace("[site]\n", '[site]\ndescription = ""\n', 1))
    ws = Workspace(workspace.root)
    subscribers.subscribe(ws, "plain@example.com")
    subscribers.confirm(ws, link_token(parts(sent_mail(ws)[0])[0], "confirm"))
    text, html = parts(next(m for m in sent_mail(ws) if m["Subject"].startswith("Welcome")))
    assert "\n\n\n" not in text
    assert "Changed your mind?" in html
    ws.close()


def test_a_reader_who_complained_is_never_mailed_again(workspace):
    subscribers.subscribe(workspace, "angry@example.com", source="cli", confirmed=True, consent_text="expo sheet")
    reader = subscribers.get_subscriber(workspace, "angry@example.com")
    subscribers.mark_complained(workspace, reader.id, source="inbound", detail="ARF abuse report")
    before = len(sent_mail(workspace))
    # The public answer is the usual one, but nothing is sent and nothing changes.
    assert subscribers.subscribe(workspace, "Angry@example.com") == subscribers.SubscribeOutcome()
    assert subscribers.register(workspace, "angry@example.com").action == "left"
    assert len(sent_mail(workspace)) == before
    assert subscribers.get_subscriber(workspace, reader.id).status == "complained"


def test_a_reader_who_bounced_may_opt_in_again_through_confirmation(workspace):
    subscribers.subscribe(workspace, "fixed@example.com", source="cli", confirmed=True, consent_text="expo sheet")
    reader = subscribers.get_subscriber(workspace, "fixed@example.com")
    subscribers.mark_bounced(workspace, reader.id, source="inbound", detail="552 mailbox full")
    assert subscribers.register(workspace, "fixed@example.com").action == "reopened"
    assert subscribers.get_subscriber(workspace, reader.id).status == "pending"  # not active until the click


def test_cli_wording_for_complained_and_forgotten_readers(cli, workspace, capsys):
    subscribers.subscribe(workspace, "gone@example.com", source="cli", confirmed=True, consent_text="x")
    gone = subscribers.get_subscriber(workspace, "gone@example.com")
    assert cli("subscribers", "forget", "gone@example.com", "--yes").exit_code == 0
    again = cli("subscribers", "forget", "gone@example.com", "--yes")
    assert "not a reader (or was forgotten before)" in again.output
    removed = cli("subscribers", "remove", str(gone.id))
    assert removed.exit_code == 0 and "None" not in removed.output
    assert f"reader #{gone.id} (forgotten) is unsubscribed" in removed.output

    subscribers.subscribe(workspace, "spam@example.com", source="cli", confirmed=True, consent_text="x")
    subscribers.mark_complained(workspace, subscribers.get_subscriber(workspace, "spam@example.com").id,
                                source="inbound", detail="ARF")
    added = error_of(cli, capsys, "subscribers", "add", "spam@example.com")
    assert "reported our mail as spam" in added and "nothing changed" in added


def test_import_says_which_rows_are_in_the_wrong_encoding(cli, workspace, tmp_path):
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("email,name\nrene@example.com,Ren\u00e9\n\u00e9x@example.com,X\n".encode("cp1252"))
    result = cli("subscribers", "import", str(latin1))
    assert result.exit_code == 0, result.output
    assert "line 2: has bytes that are not in the file's encoding" in result.output
    assert "line 3: has bytes that are not in the file's encoding" in result.output
    assert "--encoding" in result.output
    assert "skipped 0" not in result.output  # no zero-count reasons listed
    fixed = cli("subscribers", "import", str(latin1), "--encoding", "cp1252")
    assert "2 added" in fixed.output
    assert subscribers.get_subscriber(workspace, "rene@example.com").name == "Ren\u00e9"


def test_a_leaver_re_opened_by_the_form_is_not_confirmed_by_an_import_or_add(cli, workspace, tmp_path, capsys):
    """Anyone can type an address into the form; only the reader's click may bring a leaver back."""
    for address in ("left@example.com", "bounced@example.com", "fresh@example.com"):
        subscribers.subscribe(workspace, address, source="cli", confirmed=True, consent_text="expo sheet")
    left = subscribers.get_subscriber(workspace, "left@example.com")
    bounced = subscribers.get_subscriber(workspace, "bounced@example.com")
    subscribers.unsubscribe(workspace, left.id, source="link")
    subscribers.mark_bounced(workspace, bounced.id, source="inbound", detail="550 5.1.1")
    for address in ("left@example.com", "bounced@example.com"):
        subscribers.subscribe(workspace, address, ip="198.51.100.7")  # a stranger re-opens them: pending
    subscribers.subscribe(workspace, "never@example.com")  # pending, never left
    old_list = tmp_path / "old.csv"
    old_list.write_text("email\nleft@example.com\nbounced@example.com\nnever@example.com\n")

    result = cli("subscribers", "import", str(old_list), "--confirmed", "--consent", "old provider export")
    assert result.exit_code == 0, result.output
    assert "skipped 2: pending after leaving (only their own click confirms)" in result.output
    assert subscribers.get_subscriber(workspace, left.id).status == "pending"
    assert subscribers.get_subscriber(workspace, bounced.id).status == "pending"
    assert subscribers.get_subscriber(workspace, "never@example.com").status == "confirmed"

    added = error_of(cli, capsys, "subscribers", "add", "left@example.com", "--confirmed", "--consent", "phone call")
    assert "only the link in their confirmation email" in added
    assert subscribers.get_subscriber(workspace, left.id).status == "pending"


def test_forgetting_an_active_reader_counts_as_a_leaver(workspace):
    from subscribers.stats import subscriber_stats
    from subscribers.store import events_of

    subscribers.subscribe(workspace, "active@example.com", source="cli", confirmed=True, consent_text="x")
    subscribers.subscribe(workspace, "left@example.com", source="cli", confirmed=True, consent_text="x")
    left = subscribers.get_subscriber(workspace, "left@example.com")
    subscribers.unsubscribe(workspace, left.id, source="link")
    active = subscribers.forget(workspace, "active@example.com")
    subscribers.forget(workspace, left.id)
    assert [(e.kind, e.status) for e in events_of(workspace, active)][-2:] == [
        ("unsubscribed", "unsubscribed"), ("forgotten", "unsubscribed")]
    assert [e.kind for e in events_of(workspace, left.id)][-2:] == ["unsubscribed", "forgotten"]  # not twice
    assert sum(week["leavers"] for week in subscriber_stats(workspace)["weeks"]) == 2


def test_rows_the_csv_module_cannot_split_are_counted_as_rows(workspace, tmp_path):
    from subscribers.importer import import_csv

    big = tmp_path / "big.csv"
    big.write_text("email,name\nbig@example.com," + "x" * 200_000 + "\nafter@example.com,ok\n")
    report = import_csv(workspace, big)
    assert (report.rows, report.added, report.bad_row_count) == (2, 1, 1)
    assert report.bad_rows[0][0] == 2 and "field limit" in report.bad_rows[0][1]


def test_export_guards_addresses_a_spreadsheet_would_run_and_import_takes_it_back(workspace, tmp_path):
    import io

    from subscribers.export import export_csv
    from subscribers.importer import import_csv

    subscribers.subscribe(workspace, "=1+2@example.com")  # valid: = and + are allowed in a local part
    subscribers.subscribe(workspace, "-cmd|'x'!A0@example.com")
    out = io.StringIO()
    export_csv(workspace, out)
    lines = out.getvalue().splitlines()[1:]
    assert all(not line.startswith(("=", "+", "-", "@")) for line in lines), lines
    assert lines[0].startswith("'=1+2@example.com,")
    copy = tmp_path / "copy.csv"
    copy.write_text(out.getvalue())
    other = tmp_path / "other"
    from newsletter.init import init_workspace

    second = init_workspace(other)
    report = import_csv(second, copy)
    assert (report.added, report.bad_row_count) == (2, 0)
    assert subscribers.get_subscriber(second, "=1+2@example.com").email == "=1+2@example.com"
    second.close()


def test_a_status_column_keeps_opt_outs_and_unconfirmed_readers_in_the_providers_words(workspace, tmp_path):
    from subscribers.importer import import_csv

    subscribers.subscribe(workspace, "waiting@example.com")  # pending here, still unconfirmed there
    export = tmp_path / "provider.csv"
    export.write_text(
        "Email Address,Status\n"
        "cleaned@example.com,Cleaned\n"
        "spam@example.com,spam\n"
        "optout@example.com,Opted Out\n"
        "new@example.com,Unconfirmed\n"
        "waiting@example.com,pending\n"
        "fine@example.com,subscribed\n"
    )
    report = import_csv(workspace, export, confirmed=True, consent="old provider export")
    assert report.added == 5 and report.bad_row_count == 0
    status = {a: subscribers.get_subscriber(workspace, a).status for a in (
        "cleaned@example.com", "spam@example.com", "optout@example.com", "new@example.com",
        "waiting@example.com", "fine@example.com")}
    assert status == {
        "cleaned@example.com": "bounced", "spam@example.com": "complained", "optout@example.com": "unsubscribed",
        "new@example.com": "pending", "waiting@example.com": "pending", "fine@example.com": "confirmed",
    }
