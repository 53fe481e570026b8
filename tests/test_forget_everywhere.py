"""Forgetting reaches every store, from a fresh interpreter that imports only ``subscribers``.

The reader signs up (name, IP, user agent), is sent an issue into the Maildir, bounces,
and writes a mail that is kept aside. Then a new Python process, which has imported
nothing of ``issues``, forgets them. Afterwards no byte of the workspace (database, its
WAL, the delivered Maildir, the kept-aside mail) holds their address, name, IP, user agent,
list-unsubscribe address or VERP bounce address; only the suppression hash is left.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from send_fixtures import build_issue

import subscribers
from issues.inbound import process_message
from issues.send import send_issue
from newsletter.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
ADDRESS = "Fred.Runner@Example.org"
NAME = "Fredericka Quimby"
IP = "198.51.100.77"
AGENT = "QuimbyBrowser/9.1"

FORGET_ALONE = textwrap.dedent(
    """
    import sys
    import subscribers
    from newsletter.workspace import Workspace

    loaded = sorted(m for m in sys.modules if m == "issues" or m.startswith("issues."))
    assert not loaded, loaded
    ws = Workspace(sys.argv[1])
    print(subscribers.forget(ws, sys.argv[2], source="script"))
    ws.close()
    """
)


def _bounce(verp_address: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.org\r\nTo: {verp}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn.77@mx.example.org>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\n<{addr}>: host mx.example.org said: 550 5.1.1 <{addr}>: "
        "Recipient address rejected: User unknown\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
        "Final-Recipient: rfc822; {addr}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <{addr}>: Recipient address rejected: User unknown\r\n"
        "--b--\r\n"
    ).format(verp=verp_address, addr=ADDRESS.lower()).encode()


def _everything(root: Path) -> bytes:
    """Every byte under the workspace, lower-cased (database file, WAL, Maildirs, built issues)."""
    return b"\n".join(p.read_bytes().lower() for p in sorted(root.rglob("*")) if p.is_file())


def test_forget_from_a_fresh_interpreter_leaves_only_the_suppression_hash(workspace):
    ws = workspace
    build_issue(ws)
    subscribers.subscribe(ws, ADDRESS, name=NAME, ip=IP, user_agent=AGENT)
    reader = subscribers.get_subscriber(ws, ADDRESS)
    subscribers.confirm(ws, subscribers.make_token(ws, "confirm", reader.id), ip=IP, user_agent=AGENT)
    report = send_issue(ws, "2026-W47")
    assert report.counts["sent"] >= 1
    number = 1
    verp = subscribers.bounce_sender(ws, reader.id, number)
    mailto = subscribers.unsubscribe_mailto(ws, reader.id)
    assert process_message(ws, _bounce(verp)).outcome == "done"
    assert subscribers.get_subscriber(ws, reader.id).status == "bounced"
    stray = f"From: {NAME} <{ADDRESS}>\r\nTo: news@example.com\r\nSubject: about my address\r\n" \
            "Message-ID: <stray.77@example.org>\r\n\r\nPlease keep writing.\r\n"
    assert process_message(ws, stray.encode()).outcome == "rejected"  # kept aside, names her

    traces = [ADDRESS, NAME, IP, AGENT, verp, mailto]
    before = _everything(ws.root)
    assert all(t.lower().encode() in before for t in traces), [t for t in traces if t.lower().encode() not in before]
    ws.close()

    done = subprocess.run([sys.executable, "-c", FORGET_ALONE, str(ws.root), ADDRESS],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(reader.id)

    after = _everything(ws.root)
    left = [t for t in traces if t.lower().encode() in after]
    assert not left, f"still in the workspace after forget: {left}"
    again = Workspace(ws.root)
    try:
        assert subscribers.register(again, ADDRESS).action == "suppressed"  # the hash is what stays
        row = again.db.execute("SELECT email, name, forgotten_at FROM subscribers WHERE id = ?", [reader.id]).fetchone()
        assert row[:2] == (None, None) and row[2]
    finally:
        again.close()


def test_forget_in_a_running_process_leaves_nothing_in_the_log(workspace):
    """A server forgets while its connections stay open: the write-ahead log is emptied too."""
    subscribers.subscribe(workspace, ADDRESS, name=NAME, ip=IP, user_agent=AGENT)
    assert IP.encode() in _everything(workspace.root)
    subscribers.forget(workspace, ADDRESS)
    after = _everything(workspace.root)
    assert [t for t in (ADDRESS, NAME, IP, AGENT) if t.lower().encode() in after] == []


def test_forget_masks_the_reader_in_the_welcome_series_rows(workspace):
    from issues.routine.welcome_store import welcome_db

    subscribers.subscribe(workspace, ADDRESS, name=NAME)
    reader = subscribers.get_subscriber(workspace, ADDRESS)
    welcome_db(workspace).execute(
        "INSERT INTO welcome_mails (subscriber_id, step, due_at, status, code, detail, updated_at) "
        "VALUES (?, 1, '2026-11-20T10:00:00+00:00', 'failed', 550, ?, '2026-11-20T10:00:00+00:00')",
        [reader.id, f"550 5.1.1 <{ADDRESS.upper()}>: mailbox unavailable"],
    )
    subscribers.forget(workspace, reader.id)
    [detail] = welcome_db(workspace).execute("SELECT detail FROM welcome_mails").fetchone()
    assert detail == "550 5.1.1 <…>: mailbox unavailable"
