"""Attacks on the public pages: header injection in the address, cross-site posts, Host headers."""

from __future__ import annotations

import http.client
import logging

import pytest
from web_helpers import draft_issue, messages_to

from issues.preview import PreviewServer
from issues.web import create_app
from newsletter.workspace import Workspace
from subscribers import get_subscriber
from subscribers.web import mail_worker

INJECTED = "a@example.org\r\nBcc: x@evil.example"


@pytest.fixture
def client(workspace: Workspace):
    return create_app(workspace).test_client()


def _nobody_signed_up(ws: Workspace, client, address: str) -> None:
    mail_worker(client.application).flush()
    with pytest.raises(Exception, match="no reader"):
        get_subscriber(ws, address)
    assert messages_to(ws, address) == []


def test_a_line_break_in_the_address_is_a_form_error_and_nothing_personal_is_logged(
        client, workspace: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    response = client.post("/subscribe", data={"email": INJECTED})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "does not look like an email address" in html and 'id="signup-email"' in html
    as_json = client.post("/subscribe", json={"email": INJECTED})
    assert as_json.status_code == 400 and as_json.get_json()["ok"] is False
    assert "evil.example" not in caplog.text and "a@example.org" not in caplog.text
    _nobody_signed_up(workspace, client, "a@example.org")


def test_a_crash_logs_where_it_happened_but_not_what_was_typed(
        client, workspace: Workspace, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    import subscribers.web

    def explode(*args, **kwargs):
        raise RuntimeError(f"could not store {args[1]!r}")

    monkeypatch.setattr(subscribers.web, "take_in", explode)
    response = client.post("/subscribe", data={"email": "private.person@example.org"})
    assert response.status_code == 500
    assert "unhandled RuntimeError on POST /subscribe" in caplog.text and "explode" in caplog.text
    assert "private.person" not in caplog.text


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Referer": "https://evil.example/page-with-a-hidden-form"},
    {"Origin": "https://blog.example.com.evil.example"},
    {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
])
def test_a_form_posted_from_another_site_is_refused(client, workspace: Workspace, headers: dict) -> None:
    response = client.post("/subscribe", data={"email": "victim@example.org"}, headers=headers)
    assert response.status_code == 403
    assert "may not post it" in response.get_data(as_text=True)
    assert "Access-Control-Allow-Origin" not in response.headers
    _nobody_signed_up(workspace, client, "victim@example.org")


@pytest.mark.parametrize("headers", [
    {"Origin": "https://blog.example.com"},  # [site] url
    {"Origin": "https://news.example.com"},  # [site] public_url
    {"Origin": "http://localhost"},  # the server's own origin (the test client's Host)
    {"Referer": "https://blog.example.com/posts/hill-repeats"},
    {},  # no browser at all: curl, a script on the blog's server
    {"Origin": "null", "Sec-Fetch-Site": "same-origin"},  # our own page under its no-referrer policy
])
def test_allowed_and_own_origins_may_post(client, workspace: Workspace, headers: dict) -> None:
    assert client.post("/subscribe", data={"email": "reader@example.org"}, headers=headers).status_code == 200
    assert mail_worker(client.application).flush()
    assert get_subscriber(workspace, "reader@example.org").status == "pending"


def test_allowed_origins_setting_adds_sites_and_answers_their_preflight(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSLETTER_WEB_ALLOWED_ORIGINS", "https://shop.example.com, https://Partner.example.net")
    client = create_app(Workspace(workspace.root)).test_client()
    for origin in ("https://shop.example.com", "https://partner.example.net", "https://blog.example.com"):
        preflight = client.options("/subscribe", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == origin
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        assert preflight.headers["Access-Control-Allow-Headers"].lower() == "content-type"
    answer = client.post("/subscribe", json={"email": "shopper@example.org"},
                         headers={"Origin": "https://shop.example.com"})
    assert answer.status_code == 202 and answer.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    refused = client.options("/subscribe", headers={"Origin": "https://evil.example",
                                                     "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert client.post("/subscribe", json={"email": "x@example.org"},
                       headers={"Origin": "https://evil.example"}).status_code == 403


def _get(port: int, host: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/report.json", headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_the_preview_answers_only_to_local_host_names(workspace: Workspace) -> None:
    draft_issue(workspace)
    with PreviewServer(workspace, watch_files=False) as server:
        port = server.server.port
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
            assert _get(port, host)[0] == 200, host
        for host in (f"rebind.evil.example:{port}", "evil.example", "127.0.0.1.evil.example", f"10.0.0.5:{port}"):
            status, body = _get(port, host)
            assert status == 403 and b"2026-W47" not in body, host
