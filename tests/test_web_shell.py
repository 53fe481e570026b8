"""The app shell: security headers, size limits, friendly errors, safe redirects, the rate limiter."""

from __future__ import annotations

import http.client
import socket
from email.parser import BytesHeaderParser

import pytest
from flask import Flask

from issues.web import create_app
from newsletter.web import BackgroundServer, RateLimiter, create_shell, safe_next
from newsletter.workspace import Workspace


@pytest.fixture
def client(workspace: Workspace):
    return create_app(workspace).test_client()


def test_pages_carry_security_headers(client) -> None:
    response = client.get("/subscribe")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'",
                      "form-action 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # the form page names our origin to ourselves (its posts are origin-checked); others send no referrer
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert client.get("/unsubscribe/").headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html and 'name="viewport"' in html
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: no HSTS promise
    secure = client.get("/subscribe", base_url="https://news.example.com")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_unknown_page_is_a_friendly_404(client) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html and "Traceback" not in html
    assert response.headers["Content-Security-Policy"]


def test_wrong_method_is_a_friendly_405(client) -> None:
    response = client.delete("/subscribe")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "That does not work here" in response.get_data(as_text=True)


def test_errors_answer_json_to_json_clients(client) -> None:
    response = client.get("/nothing", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["ok"] is False


def test_a_crash_never_shows_a_traceback(workspace: Workspace) -> None:
    app: Flask = create_shell(workspace)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals /etc/passwd")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong on our side" in html
    assert "secret internals" not in html and "Traceback" not in html and "RuntimeError" not in html


def test_a_huge_form_is_refused_with_a_friendly_413(client) -> None:
    body = "email=a%40example.com&name=" + "x" * 200_000
    response = client.post("/subscribe", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "That was too much" in response.get_data(as_text=True)


def _post_raw(port: int, size: int) -> tuple[int, bytes, http.client.HTTPMessage]:
    """POST ``size`` bytes; the server may answer and hang up before the body is all sent."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", "/subscribe")
    conn.putheader("Content-Type", "application/x-www-form-urlencoded")
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    try:
        for start in range(0, size, 65536):
            conn.send(b"a" * min(65536, size - start))
    except (BrokenPipeError, ConnectionResetError):
        pass
    response = conn.getresponse()
    try:
        return response.status, response.read(), response.headers
    finally:
        conn.close()


def test_a_huge_body_over_real_http_is_refused(workspace: Workspace) -> None:
    from newsletter.web import waitress_options

    with BackgroundServer(create_app(workspace), **waitress_options(workspace)) as server:
        status, body, _ = _post_raw(server.port, 100_000)  # over the app's limit: our own page
        assert status == 413 and b"That was too much" in body
        status, body, headers = _post_raw(server.port, 20_000_000)  # far over: waitress stops reading
        assert status == 413 and b"Traceback" not in body
        assert_security_headers(headers)  # waitress's own answer carries them too


def assert_security_headers(headers) -> None:
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_a_malformed_request_gets_waitress_400_with_security_headers(workspace: Workspace) -> None:
    with BackgroundServer(create_app(workspace)) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /subscribe HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    status_line, _, header_block = raw.split(b"\r\n\r\n", 1)[0].partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 400")
    assert_security_headers(BytesHeaderParser().parsebytes(header_block))


def test_serve_on_a_port_in_use_is_one_line(workspace: Workspace, cli) -> None:
    with BackgroundServer(create_app(workspace)) as server:
        result = cli("serve", "--port", str(server.port))
    assert result.exit_code == 1
    message = str(result.exception)
    assert f"cannot listen on 127.0.0.1:{server.port}" in message and "--port" in message
    assert "Serving" not in result.output


def test_static_files_come_from_the_override_folder_first(workspace: Workspace, tmp_path, monkeypatch) -> None:
    override = tmp_path / "mine"
    (override / "static").mkdir(parents=True)
    (override / "static" / "site.css").write_text("body { color: red }")
    assert create_app(workspace).test_client().get("/static/site.css").get_data(as_text=True) != "body { color: red }"
    monkeypatch.setenv("NEWSLETTER_PATHS_TEMPLATES", str(override))
    client = create_app(Workspace(workspace.root)).test_client()
    assert client.get("/static/site.css").get_data(as_text=True) == "body { color: red }"
    assert client.get("/static/../newsletter.toml").status_code == 404


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/issues/", "/issues/"),
        ("https://blog.example.com/thanks", "https://blog.example.com/thanks"),
        ("https://news.example.com/issues/", "https://news.example.com/issues/"),
        ("HTTPS://BLOG.EXAMPLE.COM/x", "HTTPS://BLOG.EXAMPLE.COM/x"),
        ("//evil.example/", None),
        ("/\\evil.example/", None),
        ("https://evil.example/", None),
        ("https://blog.example.com.evil.example/", None),
        ("https://blog.example.com@evil.example/", None),
        ("https://user:pw@blog.example.com/", None),
        ("http://blog.example.com/", None),  # another scheme is another origin
        ("javascript:alert(1)", None),
        ("https://blog.example.com/\r\nSet-Cookie: x", None),
        ("", None),
        (None, None),
    ],
)
def test_next_only_goes_to_the_configured_sites(workspace: Workspace, target, expected) -> None:
    assert safe_next(target, workspace) == expected


def test_rate_limiter_counts_per_key_in_a_sliding_window() -> None:
    limiter = RateLimiter(2, window=60)
    assert limiter.hit("a", now=0) == 0 and limiter.hit("a", now=1) == 0
    assert limiter.hit("a", now=2) == pytest.approx(58)
    assert limiter.hit("b", now=2) == 0
    assert limiter.hit("a", now=60.5) == 0  # the first hit has left the window


def test_rate_limiter_is_bounded_and_can_be_off() -> None:
    limiter = RateLimiter(1, window=60, max_keys=100)
    for i in range(1000):
        limiter.hit(f"key{i}", now=0)
    assert len(limiter._hits) <= 100
    unlimited = RateLimiter(0)
    assert all(unlimited.hit("x") == 0 for _ in range(1000))


def test_app_factory_finds_the_workspace_from_the_environment(workspace: Workspace, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_HOME", str(workspace.root))
    app = create_app()
    assert app.test_client().get("/healthz").get_data() == b"ok\n"
