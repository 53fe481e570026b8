"""``inbound fetch`` against a real IMAP server on loopback (pymap, in-memory), over TLS.

pymap offers STARTTLS; implicit TLS (IMAP4_SSL, port 993 style) is tested through a
small TLS front end on its own port that forwards to the same server.
"""

from __future__ import annotations

import imaplib
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from inbound_helpers import crlf, inbound_workspace, sample
from smtp_sink import free_port

from newsletter.errors import NewsletterError
from subscribers import get_subscriber

USER, PASSWORD = "bounces", "imap-test-password"
TLS_FILES = Path(__file__).parent / "data" / "inbound" / "tls"
FILES = ["postfix-hard-bounce.eml", "mailto-unsubscribe.eml", "out-of-office.eml", "garbage.eml"]


def _wait_for(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pymap exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("pymap did not start listening")


@pytest.fixture(scope="module")
def certificate() -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 shipped for these tests (the test's private CA)."""
    return TLS_FILES / "cert.pem", TLS_FILES / "key.pem"


@pytest.fixture
def imap_server(certificate):
    """A pymap server (dict backend) with STARTTLS; yields its port."""
    cert, key = certificate
    port = free_port()
    pymap = Path(sys.executable).parent / "pymap"
    proc = subprocess.Popen(
        [str(pymap), "--host", "127.0.0.1", "--port", str(port), "--cert", str(cert), "--key", str(key),
         "dict", "--demo-user", USER, "--demo-password", PASSWORD],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        _wait_for(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class TLSFrontEnd:
    """Implicit TLS on its own port, forwarding the plain bytes to the IMAP server."""

    def __init__(self, cert: Path, key: Path, backend_port: int) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.backend_port = backend_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            try:
                client = self.context.wrap_socket(raw, server_side=True)
            except (OSError, ssl.SSLError):
                raw.close()
                continue
            backend = socket.create_connection(("127.0.0.1", self.backend_port))
            for src, dst in ((client, backend), (backend, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


def _client(port: int, cert: Path) -> imaplib.IMAP4:
    conn = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    conn.starttls(ssl_context=ssl.create_default_context(cafile=str(cert)))
    conn.login(USER, PASSWORD)
    return conn


def _deliver(ws, port: int, cert: Path, names: list[str]) -> None:
    conn = _client(port, cert)
    for name in names:
        typ, _ = conn.append("INBOX", None, None, crlf(sample(ws, name)))
        assert typ == "OK"
    conn.logout()


def _search(port: int, cert: Path, folder: str, criteria: str) -> list[bytes]:
    conn = _client(port, cert)
    conn.select(f'"{folder}"')
    found = conn.uid("SEARCH", None, criteria)[1][0].split()
    conn.logout()
    return found


@pytest.fixture
def ws(workspace, monkeypatch, certificate):
    monkeypatch.setenv("NEWSLETTER_INBOUND_IMAP_HOST", "127.0.0.1")
    monkeypatch.setenv("NEWSLETTER_INBOUND_IMAP_USERNAME", USER)
    monkeypatch.setenv("NEWSLETTER_INBOUND_IMAP_PASSWORD", PASSWORD)
    monkeypatch.setenv("NEWSLETTER_INBOUND_IMAP_CAFILE", str(certificate[0]))
    return inbound_workspace(workspace.root)


def test_fetch_over_starttls_processes_and_flags_seen(ws, imap_server, certificate, cli, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_INBOUND_IMAP_PORT", str(imap_server))
    monkeypatch.setenv("NEWSLETTER_INBOUND_IMAP_SECURITY", "starttls")
    _deliver(ws, imap_server, certificate[0], FILES)
    result = cli("inbound", "fetch", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["counts"] == {"done": 2, "ignored": 1, "rejected": 1}
    assert get_subscriber(ws, "alice@example.org").status == "bounced"
    assert get_subscriber(ws, "frank@example.org").status == "unsubscribed"
    assert _search(imap_server, certificate[0], "INBOX", "UNSEEN") == []
    assert len(_search(imap_server, certificate[0], "INBOX", "SEEN")) == len(FILES)
    again = cli("inbound", "fetch", "--json")
    assert json.loads(again.output)["counts"] == {}


def test_fetch_over_implicit_tls_moves_processed_mail(ws, imap_server, certificate, cli, monkeypatch):
    front = TLSFrontEnd(*certificate, imap_server)
    try:
        monkeypatch.setenv("NEWSLETTER_INBOUND_IMAP_PORT", str(front.port))
        monkeypatch.setenv("NEWSLETTER_INBOUND_IMAP_SECURITY", "tls")
        monkeypatch.setenv("NEWSLETTER_INBOUND_IMAP_PROCESSED_FOLDER", "Processed")
        _deliver(ws, imap_server, certificate[0], FILES[:2])
        result = cli("inbound", "fetch")
        assert result.exit_code == 0, result.output
        assert "2 message(s): 2 done" in result.output
    finally:
        front.close()
    assert _search(imap_server, certificate[0], "INBOX", "ALL") == []
    assert len(_search(imap_server, certificate[0], "Processed", "ALL")) == 2


def test_a_wrong_password_is_one_line_naming_the_setting(ws, imap_server, cli, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_INBOUND_IMAP_PORT", str(imap_server))
    monkeypatch.setenv("NEWSLETTER_INBOUND_IMAP_SECURITY", "starttls")
    monkeypatch.setenv("NEWSLETTER_INBOUND_IMAP_PASSWORD", "wrong")
    result = cli("inbound", "fetch")
    assert isinstance(result.exception, NewsletterError)  # the CLI prints it as one line, exit 1
    assert "NEWSLETTER_INBOUND_IMAP_PASSWORD" in str(result.exception)
    assert "\n" not in str(result.exception)


def test_an_untrusted_certificate_is_refused(ws, imap_server, cli, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_INBOUND_IMAP_PORT", str(imap_server))
    monkeypatch.setenv("NEWSLETTER_INBOUND_IMAP_SECURITY", "starttls")
    monkeypatch.delenv("NEWSLETTER_INBOUND_IMAP_CAFILE")
    result = cli("inbound", "fetch")
    assert isinstance(result.exception, NewsletterError)
    assert "certificate" in str(result.exception).lower()
