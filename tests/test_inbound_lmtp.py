"""The LMTP listener over a real loopback socket: an MTA hands us returned mail."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys

import pytest
from conftest import REPO, interruptible
from inbound_helpers import crlf, inbound_workspace, reader_id, sample
from smtp_sink import free_port

from issues.inbound import store
from issues.inbound.lmtp import start_lmtp
from subscribers import get_subscriber, verp


@pytest.fixture
def ws(workspace):
    return inbound_workspace(workspace.root)


@pytest.fixture
def listener(ws):
    controller = start_lmtp(ws, "127.0.0.1", free_port())
    yield controller
    controller.stop()


def _lmtp(listener) -> smtplib.LMTP:
    client = smtplib.LMTP("127.0.0.1", listener.port, timeout=10)
    code, _ = client.ehlo()  # smtplib's LMTP sends LHLO here
    assert code == 250
    return client


def test_a_bounce_handed_over_lmtp_bounces_the_reader(ws, listener):
    alice = reader_id(ws, "alice")
    with _lmtp(listener) as client:
        refused = client.sendmail("", [verp.bounce_sender(ws, alice, 47)], crlf(sample(ws, "postfix-hard-bounce.eml")))
        assert refused == {}
        # The same message again (an MTA retrying after a lost reply) is accepted and changes nothing.
        client.sendmail("", [verp.bounce_sender(ws, alice, 47)], crlf(sample(ws, "postfix-hard-bounce.eml")))
    assert get_subscriber(ws, alice).status == "bounced"
    rows = ws.db.execute("SELECT source, outcome, kind FROM inbound_messages").fetchall()
    assert rows == [("lmtp", "done", "bounce")]


def test_the_envelope_recipient_finds_the_reader_when_headers_do_not(ws, listener):
    frank = reader_id(ws, "frank")
    message = (
        b"From: Frank Ortega <frank@example.org>\r\nTo: undisclosed-recipients:;\r\n"
        b"Subject: unsubscribe\r\nMessage-ID: <lmtp-unsub-1@example.org>\r\n\r\nplease stop\r\n"
    )
    with _lmtp(listener) as client:
        client.sendmail("frank@example.org", [verp.unsubscribe_mailto(ws, frank)], message)
    assert get_subscriber(ws, frank).status == "unsubscribed"


def test_one_reply_per_recipient_after_data(ws, listener):
    """LMTP answers DATA once per accepted recipient (RFC 2033), over a raw socket."""
    heidi = reader_id(ws, "heidi")
    body = crlf(sample(ws, "out-of-office.eml"))
    with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as sock:
        reader = sock.makefile("rb")

        def reply() -> bytes:
            lines = [reader.readline()]
            while lines[-1][3:4] == b"-":
                lines.append(reader.readline())
            return lines[-1]

        assert reply().startswith(b"220")
        for command in (b"LHLO test.example", b"MAIL FROM:<heidi@example.org>",
                        b"RCPT TO:<" + verp.bounce_sender(ws, heidi, 47).encode() + b">",
                        b"RCPT TO:<" + verp.bounce_sender(ws, heidi, 46).encode() + b">", b"DATA"):
            sock.sendall(command + b"\r\n")
            assert reply()[:1] in (b"2", b"3")
        sock.sendall(body + b"\r\n.\r\n")
        first, second = reply(), reply()
        assert first.startswith(b"250") and second.startswith(b"250")
        assert b"autoreply" in first
        sock.sendall(b"QUIT\r\n")
    assert get_subscriber(ws, heidi).status == "confirmed"


def test_oversized_mail_is_refused(ws, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_INBOUND_MAX_MESSAGE_BYTES", "2000")
    from newsletter.workspace import Workspace

    small = Workspace(ws.root)
    controller = start_lmtp(small, "127.0.0.1", free_port())
    try:
        with _lmtp(controller) as client, pytest.raises(smtplib.SMTPResponseException) as refused:
            client.sendmail("", ["bounces@example.com"], crlf(sample(ws, "microsoft-ndr.eml")) * 3)
        assert refused.value.smtp_code == 552  # refused at MAIL FROM (SIZE) before any data is read
    finally:
        controller.stop()
    assert store.database(small).execute("SELECT COUNT(*) FROM inbound_messages").fetchone()[0] == 0


def test_inbound_serve_command_runs_until_interrupted(ws):
    """The real command in its own process: it listens, processes, and stops on Ctrl-C."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "cli.py"), "--workspace", str(ws.root), "inbound", "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)},
        preexec_fn=interruptible,
    )
    try:
        assert b"Listening for LMTP on 127.0.0.1:" in proc.stdout.readline()
        alice = reader_id(ws, "alice")
        with smtplib.LMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("", [verp.bounce_sender(ws, alice, 47)], crlf(sample(ws, "postfix-hard-bounce.eml")))
        assert get_subscriber(ws, alice).status == "bounced"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0 and b"Stopped." in out
