"""``newsletter doctor``: verdicts against a stub DNS server and aiosmtpd on loopback (no internet)."""

from __future__ import annotations

import http.server
import json
import os
import socket
import ssl
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from dnslib import RCODE, RR
from dnslib.server import BaseResolver, DNSLogger, DNSServer
from send_fixtures import ISSUE, add_readers, build_issue
from smtp_sink import ScriptedHandler, SmtpSink, free_port

from newsletter.doctor import Report, dkim_public_record, expected_records, run_doctor, zone_line
from newsletter.doctor.probes import check_public_url, check_smtp
from newsletter.workspace import Workspace


class Zone(BaseResolver):
    """Answers from a list of zone-file lines; NXDOMAIN for anything else."""

    def __init__(self, lines: list[str]) -> None:
        self.records = [rr for line in lines for rr in RR.fromZone(line)]

    def resolve(self, request, handler):
        reply = request.reply()
        for rr in self.records:
            if rr.rname == request.q.qname and rr.rtype == request.q.qtype:
                reply.add_answer(rr)
        if not reply.rr:
            reply.header.rcode = RCODE.NXDOMAIN if not any(r.rname == request.q.qname for r in self.records) \
                else RCODE.NOERROR
        return reply


@contextmanager
def stub_dns(lines: list[str]):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = DNSServer(Zone(lines), port=port, address="127.0.0.1", logger=DNSLogger("-request,-reply,-truncated,"
                                                                                     "-error,-recv,-send,-data"))
    server.start_thread()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


def env_workspace(root: Path, monkeypatch, **env: str) -> Workspace:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Workspace(root)


def by_name(report: Report, area: str) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status, c.message + " " + c.fix + " " + c.record) for c in report.checks if c.area == area}


def right_records(ws: Workspace) -> list[str]:
    return [zone_line(name, kind, value) for _, name, kind, value in expected_records(ws, dkim_public_record(ws))]


def test_dns_records_right_missing_and_wrong(workspace: Workspace) -> None:
    with stub_dns(right_records(workspace)) as nameserver:
        dns = by_name(run_doctor(workspace, nameserver=nameserver), "dns")
    assert {name: status for name, (status, _) in dns.items()} == {"SPF": "ok", "DKIM": "ok", "DMARC": "ok", "MX": "ok"}

    with stub_dns([]) as nameserver:
        dns = by_name(run_doctor(workspace, nameserver=nameserver), "dns")
    assert all(status == "error" for status, _ in dns.values())
    selector = workspace.settings.dkim.selector
    assert f'{selector}._domainkey.example.com. 3600 IN TXT "v=DKIM1; k=rsa; p=' in dns["DKIM"][1]  # ready to paste
    assert 'example.com. 3600 IN TXT "v=spf1 mx ~all"' in dns["SPF"][1]
    assert "_dmarc.example.com. 3600 IN TXT \"v=DMARC1; p=none" in dns["DMARC"][1]
    assert "example.com. 3600 IN MX 10 mail.example.com." in dns["MX"][1]

    from newsletter.mail import generate_key, public_record

    other_key = public_record(generate_key(workspace.root / "other.pem"))
    wrong = [zone_line(f"{selector}._domainkey.example.com", "TXT", other_key),
             'example.com. 3600 IN TXT "v=spf1 mx ~all"', 'example.com. 3600 IN TXT "v=spf1 a ~all"',
             '_dmarc.example.com. 3600 IN TXT "v=DMARC1; rua=mailto:x@example.com"',
             "example.com. 3600 IN MX 10 mail.example.com."]
    with stub_dns(wrong) as nameserver:
        dns = by_name(run_doctor(workspace, nameserver=nameserver), "dns")
    assert dns["DKIM"][0] == "error" and "is not the key in [dkim] key_file" in dns["DKIM"][1]
    assert dns["SPF"][0] == "error" and "2 SPF records" in dns["SPF"][1]
    assert dns["DMARC"][0] == "error" and "no p= policy" in dns["DMARC"][1]
    assert dns["MX"][0] == "ok"

    with stub_dns(['example.com. 3600 IN TXT "v=spf1 +all"']) as nameserver:
        dns = by_name(run_doctor(workspace, nameserver=nameserver), "dns")
    assert dns["SPF"][0] == "warning" and "lets anyone send" in dns["SPF"][1]


def test_a_dns_server_that_does_not_answer_is_a_warning(workspace: Workspace) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # bound, never answers
        silent.bind(("127.0.0.1", 0))
        report = run_doctor(workspace, nameserver=f"127.0.0.1:{silent.getsockname()[1]}")
    dns = by_name(report, "dns")
    assert all(status == "warning" and "could not look up" in text for status, text in dns.values())


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


class _Auth:
    def __call__(self, server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.login == b"editor" and auth_data.password == b"s3cret", handled=False)


@contextmanager
def tls_server(tmp_path: Path, **kwargs):
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port = free_port()
    controller = Controller(ScriptedHandler(), hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=_Auth(), auth_require_tls=True, ready_timeout=10,
                            **kwargs)
    controller.start()
    try:
        yield port, cert
    finally:
        controller.stop()


def smtp_env(port: int, security: str, **more: str) -> dict[str, str]:
    return {"NEWSLETTER_DELIVERY_TRANSPORT": "smtp", "NEWSLETTER_SMTP_HOST": "127.0.0.1",
            "NEWSLETTER_SMTP_PORT": str(port), "NEWSLETTER_SMTP_SECURITY": security, **more}


def smtp_verdicts(ws: Workspace, size: int | None = None) -> dict[str, tuple[str, str]]:
    report = Report()
    check_smtp(ws, report, size)
    return by_name(report, "smtp")


def test_smtp_plain_server_without_auth(workspace: Workspace, monkeypatch) -> None:
    with SmtpSink() as sink:
        ws = env_workspace(workspace.root, monkeypatch, **sink.settings_env())
        verdicts = smtp_verdicts(ws, size=20_000)
    assert verdicts["connect"][0] == "ok"
    assert verdicts["tls"][0] == "warning" and "not encrypted" in verdicts["tls"][1]
    assert verdicts["smtputf8"][0] == "warning"
    assert verdicts["size"][0] == "ok" and "20,000 bytes" in verdicts["size"][1]
    assert sink.messages == []  # nothing was sent
    with SmtpSink(smtputf8=True) as sink:
        ws = env_workspace(workspace.root, monkeypatch, **sink.settings_env())
        assert smtp_verdicts(ws)["smtputf8"][0] == "ok"


def test_smtp_starttls_and_auth(workspace: Workspace, monkeypatch, tmp_path: Path) -> None:
    with tls_server(tmp_path) as (port, cert):
        good = env_workspace(workspace.root, monkeypatch, **smtp_env(
            port, "starttls", NEWSLETTER_SMTP_USERNAME="editor", NEWSLETTER_SMTP_PASSWORD="s3cret",
            NEWSLETTER_SMTP_CAFILE=str(cert)))
        verdicts = smtp_verdicts(good)
        assert verdicts["connect"][0] == verdicts["tls"][0] == verdicts["auth"][0] == "ok"
        assert "encrypted (STARTTLS)" in verdicts["tls"][1]
        monkeypatch.setenv("NEWSLETTER_SMTP_PASSWORD", "wrong")
        verdicts = smtp_verdicts(Workspace(workspace.root))
        assert verdicts["connect"][0] == "error" and "refused the login of 'editor'" in verdicts["connect"][1]
        monkeypatch.delenv("NEWSLETTER_SMTP_CAFILE")  # a self-signed certificate is not trusted
        assert "TLS with 127.0.0.1" in smtp_verdicts(Workspace(workspace.root))["connect"][1]
        # A password over the plain connection is refused before connecting, unless explicitly allowed.
        plain = env_workspace(workspace.root, monkeypatch, **smtp_env(port, "none"))
        verdicts = smtp_verdicts(plain)
        assert verdicts["connect"][0] == "error" and "unencrypted" in verdicts["connect"][1]
        assert "allow_plain_password" in verdicts["connect"][1]
        local = run_doctor(plain, network=False)
        assert by_name(local, "settings")["smtp password"][0] == "error"
        monkeypatch.setenv("NEWSLETTER_SMTP_ALLOW_PLAIN_PASSWORD", "true")
        allowed = Workspace(workspace.root)
        assert by_name(run_doctor(allowed, network=False), "settings")["smtp password"][0] == "warning"


def test_starttls_asked_of_a_server_without_it_and_a_server_that_is_down(workspace, monkeypatch) -> None:
    with SmtpSink() as sink:
        ws = env_workspace(workspace.root, monkeypatch, **smtp_env(sink.port, "starttls"))
        verdicts = smtp_verdicts(ws)
    assert verdicts["connect"][0] == "error" and "does not offer STARTTLS" in verdicts["connect"][1]
    ws = env_workspace(workspace.root, monkeypatch, **smtp_env(free_port(), "none"))
    assert "cannot connect to 127.0.0.1" in smtp_verdicts(ws)["connect"][1]


def test_the_relay_size_limit_against_the_issue(workspace: Workspace, monkeypatch, cli) -> None:
    build_issue(workspace)
    port = free_port()
    controller = Controller(ScriptedHandler(), hostname="127.0.0.1", port=port, data_size_limit=2000,
                            ready_timeout=10)
    controller.start()
    try:
        result = cli("doctor", "--json", "--nameserver", "127.0.0.1:9", env=smtp_env(port, "none"))
    finally:
        controller.stop()
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    size = [c for c in data["checks"] if c["area"] == "smtp" and c["name"] == "size"][0]
    assert size["status"] == "error" and "over 127.0.0.1:" in size["message"] and "limit of 2,000" in size["message"]
    assert {r["what"] for r in data["records"]} == {"SPF", "DKIM", "DMARC", "MX"}


class _Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200 if self.path == "/subscribe" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_public_url_answers_or_not(workspace: Workspace, monkeypatch) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ws = env_workspace(workspace.root, monkeypatch,
                           NEWSLETTER_SITE_PUBLIC_URL=f"http://127.0.0.1:{server.server_address[1]}")
        report = Report()
        check_public_url(ws, report)
        assert by_name(report, "web")["public_url"][0] == "ok"
    finally:
        server.shutdown()
        server.server_close()
    report = Report()
    check_public_url(env_workspace(workspace.root, monkeypatch, NEWSLETTER_DELIVERY_TRANSPORT="smtp",
                                   NEWSLETTER_SITE_PUBLIC_URL=f"http://127.0.0.1:{free_port()}"), report)
    assert by_name(report, "web")["public_url"][0] == "error"


def test_file_modes_and_alignment_and_send_stops_on_an_error(workspace: Workspace, monkeypatch, cli) -> None:
    build_issue(workspace)
    add_readers(workspace, 2)
    files = by_name(run_doctor(workspace, network=False), "files")
    assert {status for status, _ in files.values()} == {"ok"} and "DKIM key" in files
    os.chmod(workspace.database_path, 0o644)
    files = by_name(run_doctor(workspace, network=False), "files")
    assert files["database"][0] == "error" and "chmod 600" in files["database"][1]
    result = cli("send", ISSUE, "--yes")
    assert result.exit_code == 1 and "others on this machine can read it; nothing was sent" in str(result.exception)
    assert not (workspace.root / "outbox").exists()
    os.chmod(workspace.database_path, 0o600)
    misaligned = env_workspace(workspace.root, monkeypatch, NEWSLETTER_DKIM_DOMAIN="mailer.example.net")
    dkim = by_name(run_doctor(misaligned, network=False), "dkim")
    assert dkim["alignment"][0] == "error" and "DMARC alignment fails" in dkim["alignment"][1]
    assert cli("send", ISSUE, "--to", "me@example.org").exit_code == 1
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", "news.example.com")  # a subdomain aligns (relaxed)
    assert by_name(run_doctor(Workspace(workspace.root), network=False), "dkim")["alignment"][0] == "ok"


def test_doctor_reports_a_settings_typo_as_a_check(workspace: Workspace, cli) -> None:
    toml = workspace.root / "newsletter.toml"
    toml.write_text(toml.read_text().replace('transport = "maildir"', 'transprt = "smtp"'))
    result = cli("doctor", "--offline", "--json")
    assert result.exit_code == 1
    [check] = json.loads(result.stdout)["checks"]
    assert check["status"] == "error" and "did you mean `transport`?" in check["message"]


def test_stub_dns_really_answers() -> None:
    import dns.resolver

    from newsletter.doctor import make_resolver

    with stub_dns(['example.org. 60 IN TXT "hello"']) as nameserver:
        found = make_resolver(nameserver).resolve("example.org", "TXT")
        assert [b"".join(r.strings) for r in found] == [b"hello"]
        with pytest.raises(dns.resolver.NXDOMAIN):
            make_resolver(nameserver).resolve("nothing.example.org", "TXT")
