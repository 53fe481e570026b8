"""DKIM on every mail: a new workspace has its key, and confirmations, welcomes and issues verify (dkimpy)."""

from __future__ import annotations

import mailbox
import re
import stat
import tomllib

import dkim
import pytest
from send_fixtures import ISSUE, build_issue

import subscribers
from newsletter.mail import public_record
from newsletter.mail.dkim import relaxed_body
from newsletter.workspace import Workspace


def raw_mail(ws: Workspace) -> list[bytes]:
    box = mailbox.Maildir(ws.path(ws.settings.delivery.maildir), create=True)
    return [box.get_bytes(key) for key in box.keys()]


def dns_of(ws: Workspace):
    settings = ws.settings.dkim
    record = public_record(ws.path(settings.key_file).read_bytes()).encode()
    expected = f"{settings.selector}._domainkey.example.com.".encode()
    return lambda name, timeout=5: record if name == expected else b""


def signed_headers(message: bytes) -> list[str]:
    head = message.split(b"\r\n\r\n", 1)[0].decode()
    signature = re.search(r"DKIM-Signature:(.*?)(?=\r\n\S)", head, re.S).group(1)
    tags = re.search(r"h=([^;]*);", signature.replace("\r\n", "")).group(1)
    return [h.strip() for h in tags.split(":")]


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_workspace_has_a_private_dkim_key_and_database(workspace: Workspace) -> None:
    written = tomllib.loads((workspace.root / "newsletter.toml").read_text())["dkim"]
    key = workspace.root / written["key_file"]
    assert written["selector"] and mode(key) == 0o600
    assert b"PRIVATE KEY" in key.read_bytes()
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    assert load_pem_private_key(key.read_bytes(), None).key_size == 2048
    assert mode(workspace.database_path) == 0o600
    assert workspace.secret_key and mode(workspace.root / ".secret_key") == 0o600
    assert "*.pem" in (workspace.root / ".gitignore").read_text()


def test_confirmation_and_welcome_mails_are_signed_and_cover_list_unsubscribe(workspace: Workspace) -> None:
    subscribers.subscribe(workspace, "jane@example.org", name="Jane")
    [confirmation] = raw_mail(workspace)
    dns = dns_of(workspace)
    assert dkim.verify(confirmation, dnsfunc=dns)
    assert signed_headers(confirmation).count("from") == 2 and signed_headers(confirmation).count("subject") == 2
    token = re.search(rb"/confirm/([A-Za-z0-9_.=-]+)", confirmation.replace(b"=\r\n", b"")).group(1).decode()
    subscribers.confirm(workspace, token)
    [welcome] = [m for m in raw_mail(workspace) if b"Subject: Welcome" in m]
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in welcome
    assert dkim.verify(welcome, dnsfunc=dns)
    names = signed_headers(welcome)
    for header in ("from", "subject", "list-unsubscribe", "list-unsubscribe-post"):
        assert names.count(header) == 2, header  # signed and over-signed
    # Changing the unsubscribe link, or adding a second one, breaks the signature.
    assert not dkim.verify(welcome.replace(b"List-Unsubscribe: <https://", b"List-Unsubscribe: <http://", 1),
                           dnsfunc=dns)
    head, body = welcome.split(b"\r\n\r\n", 1)
    added = head + b"\r\nList-Unsubscribe: <https://evil.example/>\r\n\r\n" + body
    assert not dkim.verify(added, dnsfunc=dns)
    added_from = head + b"\r\nFrom: someone@evil.example\r\n\r\n" + body
    assert not dkim.verify(added_from, dnsfunc=dns)


def test_test_sends_and_issues_are_signed(workspace: Workspace, cli) -> None:
    build_issue(workspace)
    assert cli("send", ISSUE, "--to", "editor@example.org").exit_code == 0
    [trial] = raw_mail(workspace)
    assert b"X-Newsletter-Test: yes" in trial and dkim.verify(trial, dnsfunc=dns_of(workspace))


def test_without_a_key_file_mail_goes_out_unsigned(workspace: Workspace, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_DKIM_KEY_FILE", "")
    ws = Workspace(workspace.root)
    subscribers.subscribe(ws, "jane@example.org")
    [confirmation] = raw_mail(ws)
    assert b"DKIM-Signature" not in confirmation
    ws.close()


@pytest.mark.parametrize("body", [b"", b"\r\n\r\n", b"a  b\t c \r\n\r\n", b"line\r\n  indented  \r\nlast"])
def test_relaxed_body_form(body: bytes) -> None:
    expected = {b"": b"", b"\r\n\r\n": b"", b"a  b\t c \r\n\r\n": b"a b c\r\n",
                b"line\r\n  indented  \r\nlast": b"line\r\n indented\r\nlast\r\n"}
    assert relaxed_body(body) == expected[body]
