"""The message each reader gets: MIME structure, headers, encodings, unsubscribe routes, DKIM, VERP."""

from __future__ import annotations

import re
import subprocess
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.utils import parseaddr
from pathlib import Path

import pytest
from send_fixtures import ISSUE, add_readers, build_issue, smtp_workspace, status_of
from smtp_sink import SmtpSink

from issues.send import IssueMessage, Recipient, send_issue
from issues.send.pipeline import ReaderMessages
from newsletter.errors import InvalidInput
from newsletter.personalise import PLACEHOLDERS
from newsletter.transports import CanonicalMessage
from newsletter.transports.smtp import prepare_data
from newsletter.workspace import Workspace
from subscribers import read_token, unsubscribe, unsubscribe_url
from subscribers.tokens import _serializer
from subscribers.verp import (
    bounce_sender,
    parse_bounce_address,
    parse_unsubscribe_address,
    unsubscribe_mailto,
)

HTML = (
    "<html><body><p>Hi [[nl:name]],</p><p>" + "word " * 60 + "</p>"
    "<p><a href=\"[[nl:unsubscribe_url]]\">Unsubscribe</a> [[nl:email]][[nl:name]]</p>"
    "<p>=== equals and a trailing space </p>\n.\n.leading dot</body></html>"
)
TEXT = "Hi [[nl:name]],\n\nUnsubscribe: [[nl:unsubscribe_url]]\nSent to [[nl:email]]\n"


def parse(data: bytes):
    return message_from_bytes(data, policy=policy.default)


def parts(message) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.get_payload()
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert plain["Content-Transfer-Encoding"] == html["Content-Transfer-Encoding"] == "quoted-printable"
    return plain.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def build(ws: Workspace, *, name: str | None, url: str, email: str = "zoe@example.org", **kw) -> bytes:
    template = IssueMessage(ws, kw.pop("subject", "Issue #1: strength"), HTML, TEXT, **kw)
    return template.build(Recipient(email, name, url, "unsubscribe+abc@example.com", "<x.1@example.com>"))


def test_sent_messages_parse_with_every_header_and_their_links_unsubscribe_only_their_reader(
    workspace: Workspace,
) -> None:
    build_issue(workspace)
    ids = add_readers(workspace, 12)
    with SmtpSink() as sink:
        send_issue(smtp_workspace(workspace.root, sink), ISSUE)
    assert len(sink.messages) == 12
    message_ids = set()
    for received in sink.messages:
        message = received.parse()
        for header in ("From", "To", "Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe",
                       "List-Unsubscribe-Post", "MIME-Version"):
            assert message[header], header
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert parseaddr(message["To"])[1] == received.rcpt_tos[0]
        assert message["Message-ID"].endswith("@example.com>")
        message_ids.add(message["Message-ID"])
        links = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
        https, mailto = links
        assert https.startswith("https://news.example.com/unsubscribe/") and mailto.startswith("mailto:unsubscribe+")
        text, html = parts(message)
        assert https in text and https in html  # the reader's own link in the body, too
        assert not any(token in text or token in html for token in PLACEHOLDERS.values())
        # Following the link against the store unsubscribes this reader and nobody else.
        reader = read_token(workspace, https.rsplit("/", 1)[1], "unsubscribe")
        assert parse_unsubscribe_address(workspace, mailto.removeprefix("mailto:")) == reader
        before = {sid: status_of(workspace, sid) for sid in ids}
        unsubscribe(workspace, reader, source="link")
        after = {sid: status_of(workspace, sid) for sid in ids}
        assert {sid for sid in ids if before[sid] != after[sid]} == {reader}
        assert after[reader] == "unsubscribed"
        email = workspace.db.execute("SELECT email FROM subscribers WHERE id = ?", [reader]).fetchone()[0]
        assert email == received.rcpt_tos[0]
    assert len(message_ids) == 12
    assert all(status_of(workspace, sid) == "unsubscribed" for sid in ids)


def test_long_values_keep_lines_short_and_the_encoding_valid(workspace: Workspace) -> None:
    name = "Zoë-Ångström " * 14 + "<b>&\"O'Brien\"</b>"
    url = "https://news.example.com/unsubscribe/" + "A1b2-C3_d4." * 40
    data = build(workspace, name=name, url=url)
    head, body = data.split(b"\r\n\r\n", 1)
    assert all(len(line) <= 78 for line in body.split(b"\r\n")), "a body line is longer than 78 octets"
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))  # a URL in <> is never folded
    assert b"\n" not in data.replace(b"\r\n", b"")
    # The promise of CanonicalMessage: the SMTP transport may send it without dot-stuffing.
    assert isinstance(data, CanonicalMessage) and not data.startswith(b".") and b"\r\n." not in data
    assert prepare_data(data) == prepare_data(bytes(data))
    message = parse(data)
    text, html = parts(message)
    assert f"Hi {name}," in text and url in text
    escaped = "Zoë-Ångström " * 14 + "&lt;b&gt;&amp;&quot;O&#x27;Brien&quot;&lt;/b&gt;"
    assert f"Hi {escaped}," in html and f'href="{url}"' in html
    assert "=== equals and a trailing space </p>" in html and "\n.\n.leading dot" in html
    # RFC 2047: whitespace between adjacent encoded-words is dropped (the legacy decoder does so;
    # the modern header parser leaves a space where a word was split, a stdlib quirk).
    raw_to = head.split(b"\r\nTo: ")[1].split(b"\r\nMessage-ID")[0]
    assert str(make_header(decode_header(raw_to.decode()))) == f"{name.strip()} <zoe@example.org>"


def test_subject_and_names_in_other_scripts_are_rfc2047_encoded(workspace: Workspace) -> None:
    data = build(workspace, name="Сергей Иванов", url="https://x.example/u/1", subject="Ausgabe Nr. 3: Übungen für Läufer")
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and b"=?utf-8?" in head
    message = parse(data)
    assert message["Subject"] == "Ausgabe Nr. 3: Übungen für Läufer"
    assert message["To"].addresses[0].display_name == "Сергей Иванов"


def test_a_test_message_is_marked(workspace: Workspace) -> None:
    message = parse(build(workspace, name=None, url="https://x.example/u", test=True))
    assert message["Subject"].startswith("[TEST] ") and message["X-Newsletter-Test"] == "yes"
    assert "Hi there," in parts(message)[0]  # no name: the fallback


def test_line_breaks_cannot_reach_the_headers(workspace: Workspace) -> None:
    with pytest.raises(InvalidInput):
        build(workspace, name=None, url="https://x.example/u", subject="Hello\r\nBcc: victim@example.org")
    with pytest.raises(InvalidInput):
        build(workspace, name=None, url="https://x.example/u\r\nBcc: victim@example.org")
    data = build(workspace, name="Eve\r\nBcc: victim@example.org", url="https://x.example/u")
    assert b"\r\nBcc:" not in data.split(b"\r\n\r\n", 1)[0]
    assert parse(data)["Bcc"] is None


@pytest.mark.parametrize(("key", "value", "named"), [
    ("SITE_NAME", "Evil\r\nBcc: victim@example.org", "[site] name"),
    ("SITE_FROM", "News <news@example.com>\nBcc: victim@example.org", "[site] from"),
    ("SITE_REPLY_TO", "a@example.com\rBcc: victim@example.org", "[site] reply_to"),
])
def test_a_line_break_in_a_setting_is_refused_naming_the_setting(workspace: Workspace,
                                                                   key: str, value: str, named: str) -> None:
    ws = Workspace(workspace.root, environ={f"NEWSLETTER_{key}": value})
    with pytest.raises(InvalidInput, match=re.escape(named)):
        build(ws, name=None, url="https://x.example/u")


def test_a_from_setting_without_an_address_is_refused(workspace: Workspace) -> None:
    from newsletter.errors import ConfigError

    ws = Workspace(workspace.root, environ={"NEWSLETTER_SITE_FROM": "Weekly Training Notes"})
    with pytest.raises(ConfigError, match=r"\[site\] from = 'Weekly Training Notes' has no address"):
        build(ws, name=None, url="https://x.example/u")


def test_personalising_never_renders(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader's message is joined from the pieces made once: no template, MJML or body encoding per reader."""
    import binascii

    import jinja2
    import mjml

    template = IssueMessage(workspace, "S", HTML, TEXT)

    def refuse(*args, **kwargs):
        raise AssertionError("rendered per reader")

    monkeypatch.setattr(jinja2.Template, "render", refuse)
    monkeypatch.setattr(jinja2.Template, "generate", refuse)
    monkeypatch.setattr(mjml, "mjml2html", refuse)
    with pytest.raises(AssertionError, match="rendered per reader"):  # the traps catch any rendering
        jinja2.Template("{{ x }}").render(x=1)
    with pytest.raises(AssertionError, match="rendered per reader"):
        mjml.mjml2html("<mjml></mjml>")
    encoded: list[int] = []
    real_qp = binascii.b2a_qp
    monkeypatch.setattr(binascii, "b2a_qp", lambda data, *a, **k: encoded.append(len(data)) or real_qp(data, *a, **k))

    for n in range(3):
        reader = Recipient(f"r{n}@example.org", f"R {n}", f"https://x.example/u/{n}", "u@example.com",
                           f"<{n}@example.com>")
        message = parse(template.build(reader))
        plain, html = parts(message)
        assert f"https://x.example/u/{n}" in plain and f"r{n}@example.org" in html
    # Only the readers' own values were encoded, never the literal body (it is far longer than any of them).
    assert max(encoded, default=0) < len("word " * 60)
    assert sum(encoded) < 3 * len(TEXT + "r0@example.org" * 4 + "https://x.example/u/0" * 4)


def test_verp_addresses_round_trip_and_refuse_forgeries(workspace: Workspace) -> None:
    address = bounce_sender(workspace, 4321, 17)
    assert re.fullmatch(r"bounces\+[a-z0-9]{1,40}@example\.com", address)
    target = parse_bounce_address(workspace, address)
    assert (target.subscriber_id, target.issue_number) == (4321, 17)
    assert parse_bounce_address(workspace, f"<{address.upper()}>") == target  # case and brackets
    local, domain = address.split("@")
    forged = local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + domain
    assert parse_bounce_address(workspace, forged) is None
    assert parse_bounce_address(workspace, local + "@elsewhere.example") is None
    assert parse_bounce_address(workspace, "someone@example.com") is None
    mailto = unsubscribe_mailto(workspace, 99)
    assert parse_unsubscribe_address(workspace, mailto) == 99
    assert parse_bounce_address(workspace, mailto) is None  # a token for one purpose is not another's


def test_a_sends_reader_fields_are_the_ones_made_one_at_a_time(workspace: Workspace) -> None:
    """A send looks its mailboxes and link base up once: the addresses and link are still the same."""
    workspace = Workspace(workspace.root, environ={"NEWSLETTER_DELIVERY_BOUNCE_ADDRESS": "returns@lists.example.net"})
    template = IssueMessage(workspace, "Issue #1: strength", HTML, TEXT)
    messages = ReaderMessages(workspace, template, "2026-W47", 17)
    for sid in (1, 4321, 10**9 + 7):
        sender, rcpt, data, message_id = messages.compose(sid, f"r{sid}@example.org", "Sam")
        assert sender == bounce_sender(workspace, sid, 17) and sender.startswith("returns+")
        assert rcpt == f"r{sid}@example.org" and message_id.encode() in data
        assert f"<mailto:{unsubscribe_mailto(workspace, sid)}>".encode() in data
        base = unsubscribe_url(workspace, sid).rsplit("/", 1)[0] + "/"
        links = set(re.findall(rb"List-Unsubscribe: <([^>]+)>", data))
        assert len(links) == 1 and (link := links.pop().decode()).startswith(base)
        assert _serializer(workspace, "unsubscribe").loads(link[len(base):]) == sid  # itsdangerous reads it


def test_dkim_signature_verifies(tmp_path: Path, workspace: Workspace, monkeypatch) -> None:
    import dkim

    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
                            check=True, capture_output=True).stdout
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    monkeypatch.setenv("NEWSLETTER_DKIM_KEY_FILE", str(key))
    monkeypatch.setenv("NEWSLETTER_DKIM_SELECTOR", "news2026")
    ws = Workspace(workspace.root)
    data = build(ws, name="Zoë", url="https://news.example.com/unsubscribe/t")
    assert data.startswith(b"DKIM-Signature:")

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return record if name == b"news2026._domainkey.example.com." else b""

    assert dkim.verify(data, dnsfunc=dns)
    assert not dkim.verify(data.replace(b"Zo", b"Jo", 1), dnsfunc=dns)


@pytest.mark.parametrize("value", [b"", b"ann@example.com", b".starts-with-dot", b"a=b", b"with space", b"trailing ",
                                   b"x" * 76, b"x" * 77, "caf\u00e9".encode(), b"tab\there", b"https://news.example.com/u/" + b"a" * 80])
def test_a_plain_value_is_its_own_quoted_printable(value):
    from newsletter.mail.encoding import quoted_printable, quoted_printable_value

    assert quoted_printable_value(value) == quoted_printable(value)
