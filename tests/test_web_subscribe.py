"""POST /subscribe: form and JSON, one answer for every address, honeypot, rate limits, escaping."""

from __future__ import annotations

import re

import pytest
from web_helpers import messages_to

from issues.web import create_app
from newsletter.workspace import Workspace
from subscribers import confirm, get_subscriber, make_token
from subscribers.store import events_of
from subscribers.web import mail_worker


def _client(ws: Workspace, monkeypatch=None, **env: str):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return create_app(Workspace(ws.root)).test_client()


@pytest.fixture
def client(workspace: Workspace):
    return create_app(workspace).test_client()


def _page(response) -> str:
    """The page without the parts that differ by design (the echoed address and name)."""
    html = response.get_data(as_text=True)
    return re.sub(r"<strong>[^<]*</strong>|Check your inbox[^<]*<", "", html)


def test_the_form_is_accessible(client) -> None:
    html = client.get("/subscribe").get_data(as_text=True)
    assert '<label for="signup-email">' in html and 'id="signup-email"' in html
    assert '<label for="signup-name">' in html
    assert 'type="email"' in html and 'autocomplete="email"' in html
    assert 'name="website"' in html and 'tabindex="-1"' in html  # the honeypot, out of the tab order
    assert 'class="skip"' in html and '<main id="main"' in html


def test_form_sign_up_sends_a_confirmation_and_records_consent(client, workspace: Workspace) -> None:
    response = client.post("/subscribe", data={"email": "Jo@Example.com", "name": "Jo"},
                           environ_base={"REMOTE_ADDR": "198.51.100.7"}, headers={"User-Agent": "TestBrowser/1"})
    assert response.status_code == 200
    assert "Check your inbox" in response.get_data(as_text=True)
    assert mail_worker(client.application).flush()  # registered and mailed after the answer
    reader = get_subscriber(workspace, "jo@example.com")
    assert reader.status == "pending" and reader.name == "Jo"
    subscribed = [e for e in events_of(workspace, reader.id) if e.kind == "subscribed"][0]
    assert subscribed.ip == "198.51.100.7" and subscribed.user_agent == "TestBrowser/1"
    assert subscribed.consent_text == workspace.settings.subscribers.consent_text
    assert subscribed.source == "form"
    assert mail_worker(client.application).flush()  # the mail goes out after the answer
    [mail] = messages_to(workspace, "jo@example.com")
    assert "/confirm/" in mail.get_body(preferencelist=("plain",)).get_content()


def test_the_answer_is_the_same_for_new_pending_and_confirmed(client, workspace: Workspace) -> None:
    new = client.post("/subscribe", data={"email": "new@example.com"})
    client.post("/subscribe", data={"email": "pending@example.com"})
    pending = client.post("/subscribe", data={"email": "pending@example.com"})
    client.post("/subscribe", data={"email": "member@example.com"})
    assert mail_worker(client.application).flush()
    member = get_subscriber(workspace, "member@example.com")
    confirm(workspace, make_token(workspace, "confirm", member.id))
    confirmed = client.post("/subscribe", data={"email": "member@example.com"})
    assert new.status_code == pending.status_code == confirmed.status_code == 200
    assert _page(new) == _page(pending) == _page(confirmed)
    json_answers = [client.post("/subscribe", json={"email": e}).get_json()
                    for e in ("fresh@example.com", "pending@example.com", "member@example.com")]
    assert json_answers[0] == json_answers[1] == json_answers[2]


def test_json_sign_up(client, workspace: Workspace) -> None:
    response = client.post("/subscribe", json={"email": "api@example.com", "name": "Api"})
    assert response.status_code == 202
    assert response.get_json()["ok"] is True
    assert mail_worker(client.application).flush()
    assert get_subscriber(workspace, "api@example.com").source == "api"
    bad = client.post("/subscribe", json={"email": "not an address"})
    assert bad.status_code == 400 and bad.get_json()["ok"] is False
    broken = client.post("/subscribe", data="{not json", content_type="application/json")
    assert broken.status_code == 400 and broken.get_json()["ok"] is False
    not_an_object = client.post("/subscribe", json=["a@example.com"])
    assert not_an_object.status_code == 400
    assert "send a JSON object like" in not_an_object.get_json()["detail"]  # says what to send instead


def test_a_filled_honeypot_gets_the_same_answer_and_nothing_happens(client, workspace: Workspace) -> None:
    response = client.post("/subscribe", data={"email": "bot@example.com", "website": "http://spam.example"})
    assert response.status_code == 200
    assert "Check your inbox" in response.get_data(as_text=True)
    with pytest.raises(Exception, match="no reader"):
        get_subscriber(workspace, "bot@example.com")
    assert mail_worker(client.application).flush()
    assert messages_to(workspace, "bot@example.com") == []


def test_script_in_a_name_is_shown_back_escaped(client) -> None:
    name = '<script>alert("x")</script>'
    response = client.post("/subscribe", data={"email": "esc@example.com", "name": name})
    html = response.get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    refused = client.post("/subscribe", data={"email": '"><img src=x onerror=alert(1)>', "name": name})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'aria-invalid="true"' in html and 'role="alert"' in html


def test_a_bad_address_keeps_what_was_typed(client) -> None:
    response = client.post("/subscribe", data={"email": "jo@", "name": "Jo"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'value="jo@"' in html and 'value="Jo"' in html
    assert "does not look like an email address" in html
    empty = client.post("/subscribe", data={"email": ""})
    assert "Please enter your email address" in empty.get_data(as_text=True)
    crlf = client.post("/subscribe", data={"email": "ok@example.com", "name": "Jo\r\nBcc: x@example.com"})
    assert crlf.status_code == 400


def test_per_ip_rate_limit(workspace: Workspace, monkeypatch) -> None:
    client = _client(workspace, monkeypatch, NEWSLETTER_WEB_SIGNUPS_PER_IP_PER_HOUR="3")
    ip = {"REMOTE_ADDR": "203.0.113.9"}
    for i in range(3):
        assert client.post("/subscribe", data={"email": f"r{i}@example.com"}, environ_base=ip).status_code == 200
    limited = client.post("/subscribe", data={"email": "r9@example.com"}, environ_base=ip)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "Slow down" in limited.get_data(as_text=True)
    other = client.post("/subscribe", data={"email": "r9@example.com"}, environ_base={"REMOTE_ADDR": "203.0.113.10"})
    assert other.status_code == 200
    assert client.post("/subscribe", json={"email": "x@example.com"}, environ_base=ip).get_json()["ok"] is False


def test_per_address_rate_limit_whatever_the_ip(workspace: Workspace, monkeypatch) -> None:
    client = _client(workspace, monkeypatch, NEWSLETTER_WEB_SIGNUPS_PER_ADDRESS_PER_HOUR="2")
    for i in range(2):
        response = client.post("/subscribe", data={"email": "target@example.com"},
                               environ_base={"REMOTE_ADDR": f"192.0.2.{i}"})
        assert response.status_code == 200
    spelled = client.post("/subscribe", data={"email": "TARGET@example.com"}, environ_base={"REMOTE_ADDR": "192.0.2.99"})
    assert spelled.status_code == 429


def test_trusted_proxy_decides_the_client_ip(workspace: Workspace, monkeypatch) -> None:
    client = _client(workspace, monkeypatch, NEWSLETTER_WEB_TRUSTED_PROXIES="1")
    client.post("/subscribe", data={"email": "proxied@example.com"},
                headers={"X-Forwarded-For": "198.51.100.77"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert mail_worker(client.application).flush()
    reader = get_subscriber(workspace, "proxied@example.com")
    assert events_of(workspace, reader.id)[0].ip == "198.51.100.77"
    plain = create_app(workspace).test_client()
    plain.post("/subscribe", data={"email": "direct@example.com"},
               headers={"X-Forwarded-For": "198.51.100.77"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert mail_worker(plain.application).flush()
    assert events_of(workspace, get_subscriber(workspace, "direct@example.com").id)[0].ip == "127.0.0.1"


def test_next_redirects_only_to_the_blog(client) -> None:
    ok = client.post("/subscribe", data={"email": "n1@example.com", "next": "https://blog.example.com/thanks"})
    assert ok.status_code == 303 and ok.headers["Location"] == "https://blog.example.com/thanks"
    evil = client.post("/subscribe", data={"email": "n2@example.com", "next": "https://evil.example/phish"})
    assert evil.status_code == 200 and "evil.example" not in evil.get_data(as_text=True)
    sneaky = client.post("/subscribe", data={"email": "n3@example.com", "next": "//evil.example"})
    assert sneaky.status_code == 200
    form = client.get("/subscribe?next=https://evil.example/").get_data(as_text=True)
    assert "evil.example" not in form


def test_cors_only_for_the_blog(client) -> None:
    blog = client.post("/subscribe", json={"email": "c1@example.com"}, headers={"Origin": "https://blog.example.com"})
    assert blog.headers["Access-Control-Allow-Origin"] == "https://blog.example.com"
    other = client.post("/subscribe", json={"email": "c2@example.com"}, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options("/subscribe", headers={"Origin": "https://blog.example.com",
                                                      "Access-Control-Request-Method": "POST"})
    assert preflight.headers["Access-Control-Allow-Methods"] == "POST"
