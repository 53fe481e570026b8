"""The SMTP transport against a real aiosmtpd server on loopback: replies, pipelining, drops, TLS, AUTH."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from smtp_sink import ScriptedHandler, SmtpSink, free_port

from newsletter.errors import ConfigError
from newsletter.transports import TransportError, open_transport
from newsletter.transports.smtp import SMTPTransport, prepare_data

MESSAGE = (
    b"From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\n"
    b".starts with a dot\r\nmiddle\r\n.\r\nlast line"
)


def transport(sink: SmtpSink, **kw) -> SMTPTransport:
    return SMTPTransport(sink.host, sink.port, security="none", timeout=5, **kw)


@pytest.mark.parametrize("pipelining", [True, False])
def test_delivers_over_one_connection_with_dot_stuffing(pipelining: bool) -> None:
    with SmtpSink(pipelining=pipelining) as sink, transport(sink) as t:
        for i in range(3):
            reply = t.send("bounces@example.com", [f"r{i}@example.org"], MESSAGE)
            assert reply.ok and reply.code == 250
        assert ("pipelining" in t.extensions) is pipelining
        assert t.messages_on_connection == 3
    got = sink.messages
    assert [m.rcpt_tos for m in got] == [("r0@example.org",), ("r1@example.org",), ("r2@example.org",)]
    assert got[0].mail_from == "bounces@example.com"
    body = got[0].data.split(b"\r\n\r\n", 1)[1]
    assert body.startswith(b".starts with a dot\r\nmiddle\r\n.\r\nlast line")


@pytest.mark.parametrize("pipelining", [True, False])
def test_refusals_become_transport_errors_and_the_connection_goes_on(pipelining: bool) -> None:
    with SmtpSink(pipelining=pipelining) as sink, transport(sink) as t:
        sink.always("gone@example.org", "550 5.1.1 No such user here")
        sink.answer("busy@example.org", "451 4.7.1 Greylisted, try later")
        with pytest.raises(TransportError) as gone:
            t.send("b@example.com", ["gone@example.org"], MESSAGE)
        assert (gone.value.code, gone.value.enhanced) == (550, "5.1.1")
        assert gone.value.recipient_level and not gone.value.temporary
        with pytest.raises(TransportError) as busy:
            t.send("b@example.com", ["busy@example.org"], MESSAGE)
        assert busy.value.temporary and busy.value.code == 451 and not busy.value.recipient_level
        assert t.send("b@example.com", ["busy@example.org"], MESSAGE).ok  # RSET kept the session clean
        assert t.send("b@example.com", ["ok@example.org"], MESSAGE).ok
    assert sink.counts() == {"busy@example.org": 1, "ok@example.org": 1}


def test_dropped_connection_is_reported_then_reopened() -> None:
    with SmtpSink() as sink, transport(sink) as t:
        sink.drop_at(2)
        assert t.send("b@example.com", ["one@example.org"], MESSAGE).ok
        with pytest.raises(TransportError) as lost:
            t.send("b@example.com", ["two@example.org"], MESSAGE)
        assert lost.value.connection_lost and lost.value.temporary and lost.value.code == 0
        assert not t.connected
        assert t.send("b@example.com", ["two@example.org"], MESSAGE).ok
    assert sink.counts() == {"one@example.org": 1, "two@example.org": 1}


def test_421_closes_the_connection_and_is_temporary() -> None:
    with SmtpSink() as sink, transport(sink) as t:
        sink.answer("x@example.org", "421 4.7.0 Too many messages, slow down")
        with pytest.raises(TransportError) as err:
            t.send("b@example.com", ["x@example.org"], MESSAGE)
        assert err.value.code == 421 and err.value.temporary and err.value.connection_lost
        assert t.send("b@example.com", ["x@example.org"], MESSAGE).ok


def test_server_gone_is_a_temporary_error() -> None:
    t = SMTPTransport("127.0.0.1", free_port(), security="none", timeout=2)
    with pytest.raises(TransportError) as err:
        t.send("b@example.com", ["x@example.org"], MESSAGE)
    assert err.value.temporary and err.value.code == 0


def test_header_injection_in_an_address_is_refused() -> None:
    with SmtpSink() as sink, transport(sink) as t:
        with pytest.raises(TransportError) as err:
            t.send("b@example.com", ["x@example.org>\r\nRCPT TO:<y@example.org"], MESSAGE)
        assert not err.value.temporary
    assert sink.messages == []


def test_prepare_data_normalises_line_ends_and_terminates() -> None:
    assert prepare_data(b"a\nb\r\n.c") == b"a\r\nb\r\n..c\r\n.\r\n"
    assert prepare_data(b".x\r\n") == b"..x\r\n.\r\n"


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


class _Auth:
    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"editor" and auth_data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_modes_and_login(tmp_path: Path, security: str) -> None:
    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    handler, port = ScriptedHandler(), free_port()
    kwargs = {"tls_context": server_ctx, "require_starttls": True} if security == "starttls" else {
        "ssl_context": server_ctx}
    controller = Controller(handler, hostname="127.0.0.1", port=port, authenticator=_Auth(),
                            auth_require_tls=security == "starttls",  # aiosmtpd cannot tell implicit TLS
                            ready_timeout=10, **kwargs)
    controller.start()
    try:
        client_ctx = ssl.create_default_context(cafile=str(cert))
        good = SMTPTransport("127.0.0.1", port, security=security, username="editor", password="s3cret",
                             timeout=5, ssl_context=client_ctx)
        with good:
            assert good.send("b@example.com", ["x@example.org"], MESSAGE).ok
        bad = SMTPTransport("127.0.0.1", port, security=security, username="editor", password="wrong",
                            timeout=5, ssl_context=client_ctx)
        with pytest.raises(ConfigError, match="refused the login"):
            bad.send("b@example.com", ["x@example.org"], MESSAGE)
        untrusted = SMTPTransport("127.0.0.1", port, security=security, timeout=5)
        with pytest.raises(ConfigError, match="TLS"):
            untrusted.send("b@example.com", ["x@example.org"], MESSAGE)
    finally:
        controller.stop()
    assert [m.rcpt_tos for m in handler.messages] == [("x@example.org",)]


def test_starttls_required_but_not_offered() -> None:
    with SmtpSink() as sink:
        t = SMTPTransport(sink.host, sink.port, security="starttls", timeout=5)
        with pytest.raises(ConfigError, match="STARTTLS"):
            t.send("b@example.com", ["x@example.org"], MESSAGE)


def test_open_transport_reads_the_smtp_settings(workspace, monkeypatch) -> None:
    from newsletter.workspace import Workspace

    monkeypatch.setenv("NEWSLETTER_DELIVERY_TRANSPORT", "smtp")
    monkeypatch.setenv("NEWSLETTER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NEWSLETTER_SMTP_PORT", "2525")
    monkeypatch.setenv("NEWSLETTER_SMTP_SECURITY", "tls")
    monkeypatch.setenv("NEWSLETTER_SMTP_PASSWORD", "pw")
    t = open_transport(Workspace(workspace.root))
    assert isinstance(t, SMTPTransport)
    assert (t.host, t.port, t.security, t.password) == ("127.0.0.1", 2525, "tls", "pw")


def test_a_server_that_never_answers_times_out() -> None:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        t = SMTPTransport("127.0.0.1", listener.getsockname()[1], security="none", timeout=0.3)
        with pytest.raises(TransportError) as err:
            t.send("b@example.com", ["x@example.org"], MESSAGE)
    assert err.value.temporary and err.value.connection_lost and "no answer within 0.3s" in str(err.value)


def test_a_server_that_stops_answering_a_body_times_out_and_the_next_send_reconnects() -> None:
    with SmtpSink() as sink:
        t = SMTPTransport(sink.host, sink.port, security="none", timeout=0.3)
        assert t.send("b@example.com", ["x@example.org"], MESSAGE).code == 250
        sink.hang_from(2)
        with pytest.raises(TransportError) as err:
            t.send("b@example.com", ["y@example.org"], MESSAGE)
        assert err.value.unreachable and err.value.connection_lost and "no answer within 0.3s" in str(err.value)
        assert not t.connected
        sink.hang_from(None)
        assert t.send("b@example.com", ["z@example.org"], MESSAGE).code == 250  # a new connection
        t.close()
    assert sink.count("z@example.org") == 1


@pytest.mark.parametrize("pipelining", [True, False])
def test_send_many_reports_each_message_in_order_through_refusals_and_drops(pipelining: bool) -> None:
    with SmtpSink(pipelining=pipelining) as sink, transport(sink) as t:
        sink.always("gone@example.org", "550 5.1.1 No such user here")
        sink.answer("busy@example.org", "451 4.7.1 Greylisted")
        sink.answer("slow@example.org", "421 4.7.0 Too many messages")
        sink.drop_at(4)  # the 4th DATA: the connection is cut after the body
        names = ["a", "gone", "b", "busy", "c", "slow", "d", "bad>", "e", "f", "g"]
        pulled: list[str] = []

        def messages():
            for name in names:
                pulled.append(name)
                yield name, "b@example.com", [f"{name}@example.org"], MESSAGE

        outcomes = {}
        for tag, outcome in t.send_many(messages()):
            assert len(pulled) <= names.index(tag) + 3  # read lazily, at most two items ahead
            outcomes[tag] = outcome
    assert list(outcomes) == names
    codes = {tag: (o.code if isinstance(o, TransportError) else "ok") for tag, o in outcomes.items()}
    # The refused ones never reach DATA, so the 4th DATA (cut off) is "d".
    assert codes == {"a": "ok", "gone": 550, "b": "ok", "busy": 451, "c": "ok", "slow": 421, "d": 0,
                     "bad>": 553, "e": "ok", "f": "ok", "g": "ok"}
    assert outcomes["d"].connection_lost and outcomes["gone"].recipient_level
    assert sink.counts() == {f"{n}@example.org": 1 for n in ("a", "b", "c", "e", "f", "g")}


UTF8_MESSAGE = "From: a@example.com\r\nTo: José <josé@example.org>\r\nSubject: hi\r\n\r\nHola.\r\n".encode()


def test_an_internationalised_address_goes_with_smtputf8() -> None:
    with SmtpSink(smtputf8=True) as sink, transport(sink) as t:
        assert t.send("bounces@example.com", ["josé@example.org"], UTF8_MESSAGE).ok
    [got] = sink.messages
    assert got.rcpt_tos == ("josé@example.org",) and "SMTPUTF8" in got.mail_options
    assert "josé@example.org" in got.parse()["To"]


def test_an_internationalised_address_is_refused_by_us_when_the_server_lacks_smtputf8() -> None:
    """Not the reader's fault (5.6.7, not 5.1.x), and the session goes on for the next reader."""
    with SmtpSink() as sink, transport(sink) as t:
        with pytest.raises(TransportError) as refused:
            t.send("bounces@example.com", ["josé@example.org"], UTF8_MESSAGE)
        assert (refused.value.code, refused.value.enhanced) == (553, "5.6.7")
        assert "SMTPUTF8" in str(refused.value) and not refused.value.recipient_level
        assert t.send("bounces@example.com", ["jose@example.org"], MESSAGE).ok
    assert sink.counts() == {"jose@example.org": 1}
