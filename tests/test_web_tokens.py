"""Confirm and unsubscribe links: GETs never change anything, POSTs do; forged, expired and replayed links."""

from __future__ import annotations

from datetime import timedelta

import pytest
from web_helpers import link_in, messages_to, path_of

from issues.web import create_app
from newsletter import clock
from newsletter.workspace import Workspace
from subscribers import get_subscriber, make_token, subscribe
from subscribers.store import events_of
from subscribers.web import mail_worker


@pytest.fixture
def client(workspace: Workspace):
    return create_app(workspace).test_client()


def _pending(ws: Workspace, address: str = "reader@example.com") -> int:
    subscribe(ws, address, name="Reader")
    return get_subscriber(ws, address).id


def _confirmed(ws: Workspace, client, address: str = "reader@example.com") -> int:
    reader_id = _pending(ws, address)
    client.post(f"/confirm/{make_token(ws, 'confirm', reader_id)}")
    assert get_subscriber(ws, reader_id).status == "confirmed"
    return reader_id


def test_the_emailed_link_confirms_only_on_post(client, workspace: Workspace) -> None:
    reader_id = _pending(workspace)
    path = path_of(link_in(messages_to(workspace, "reader@example.com")[0], "confirm"))
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'action="{path}"' in html and 'method="post"' in html and "<script" not in html
    assert page.headers["Cache-Control"] == "no-store"
    assert get_subscriber(workspace, reader_id).status == "pending"  # a scanner's GET confirms nobody
    done = client.post(path)
    assert done.status_code == 200 and "You're in" in done.get_data(as_text=True)
    assert get_subscriber(workspace, reader_id).status == "confirmed"


def test_a_replayed_confirmation_says_already_confirmed(client, workspace: Workspace) -> None:
    reader_id = _pending(workspace)
    token = make_token(workspace, "confirm", reader_id)
    client.post(f"/confirm/{token}")
    events = len(events_of(workspace, reader_id))
    again = client.get(f"/confirm/{token}")
    assert again.status_code == 200 and "Already confirmed" in again.get_data(as_text=True)
    posted = client.post(f"/confirm/{token}")
    assert "Already confirmed" in posted.get_data(as_text=True)
    assert len(events_of(workspace, reader_id)) == events  # no second confirmation event


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_forged_confirmation_link_offers_a_new_one(client, workspace: Workspace, method: str) -> None:
    reader_id = _pending(workspace)
    token = make_token(workspace, "confirm", reader_id)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = getattr(client, method)(f"/confirm/{forged}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "does not work" in html and "Ask for a new confirmation email" in html
    assert 'action="/subscribe"' in html and 'name="email"' in html
    assert get_subscriber(workspace, reader_id).status == "pending"


def test_an_expired_confirmation_link_offers_a_new_one(client, workspace: Workspace, monkeypatch) -> None:
    reader_id = _pending(workspace)
    token = make_token(workspace, "confirm", reader_id)
    later = clock.utcnow() + timedelta(days=workspace.settings.subscribers.confirm_expiry_days + 1)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    response = client.post(f"/confirm/{token}")
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert "has expired" in html and "Ask for a new confirmation email" in html
    assert get_subscriber(workspace, reader_id).status == "pending"


def test_an_unsubscribe_token_does_not_confirm(client, workspace: Workspace) -> None:
    reader_id = _pending(workspace)
    response = client.post(f"/confirm/{make_token(workspace, 'unsubscribe', reader_id)}")
    assert response.status_code == 400 and "not a confirmation link" in response.get_data(as_text=True)
    assert get_subscriber(workspace, reader_id).status == "pending"


def test_get_on_an_unsubscribe_link_never_unsubscribes(client, workspace: Workspace) -> None:
    reader_id = _confirmed(workspace, client)
    path = f"/unsubscribe/{make_token(workspace, 'unsubscribe', reader_id)}"
    for _ in range(3):
        page = client.get(path)
        assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'<form method="post" action="{path}">' in html and "reader@example.com" in html
    assert html.count("<button") == 1
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert client.head(path).status_code == 200
    assert get_subscriber(workspace, reader_id).status == "confirmed"


def test_the_button_unsubscribes(client, workspace: Workspace) -> None:
    reader_id = _confirmed(workspace, client)
    path = f"/unsubscribe/{make_token(workspace, 'unsubscribe', reader_id)}"
    response = client.post(path, data={"confirm": "yes"})
    assert response.status_code == 200 and "You're unsubscribed" in response.get_data(as_text=True)
    assert get_subscriber(workspace, reader_id).status == "unsubscribed"
    assert events_of(workspace, reader_id)[-1].source == "web"
    again = client.post(path, data={"confirm": "yes"})
    assert "already unsubscribed" in again.get_data(as_text=True)
    assert "already unsubscribed" in client.get(path).get_data(as_text=True)


def test_rfc8058_one_click_post(client, workspace: Workspace) -> None:
    reader_id = _confirmed(workspace, client)
    path = f"/unsubscribe/{make_token(workspace, 'unsubscribe', reader_id)}"
    response = client.post(path, data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded", headers={"Accept": "*/*"},
                           environ_base={"REMOTE_ADDR": "209.85.220.41"})
    assert response.status_code == 200
    assert get_subscriber(workspace, reader_id).status == "unsubscribed"
    last = events_of(workspace, reader_id)[-1]
    assert last.kind == "unsubscribed" and last.source == "one-click" and last.ip == "209.85.220.41"
    # A mail provider retrying the POST is harmless.
    assert client.post(path, data="List-Unsubscribe=One-Click",
                       content_type="application/x-www-form-urlencoded").status_code == 200


def test_the_emailed_unsubscribe_link_works(client, workspace: Workspace) -> None:
    reader_id = _confirmed(workspace, client)
    assert mail_worker(client.application).flush()  # the welcome mail goes out after the answer
    [welcome] = [m for m in messages_to(workspace, "reader@example.com") if "/unsubscribe/" in m.as_string()]
    path = path_of(link_in(welcome, "unsubscribe"))
    client.post(path, data={"confirm": "yes"})
    assert get_subscriber(workspace, reader_id).status == "unsubscribed"


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_forged_unsubscribe_link_is_refused_kindly(client, workspace: Workspace, method: str) -> None:
    reader_id = _confirmed(workspace, client)
    token = make_token(workspace, "unsubscribe", reader_id)
    response = getattr(client, method)(f"/unsubscribe/{token[:-3]}xyz", data="List-Unsubscribe=One-Click",
                                       content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "Unsubscribe button your mail app shows" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store" and "frame-ancestors" in response.headers["Content-Security-Policy"]
    wrong = getattr(client, method)(f"/unsubscribe/{make_token(workspace, 'confirm', reader_id)}")
    assert wrong.status_code == 400
    assert get_subscriber(workspace, reader_id).status == "confirmed"


def test_the_archive_unsubscribe_link_explains_itself(client) -> None:
    response = client.get("/unsubscribe/")
    assert response.status_code == 200 and "How to unsubscribe" in response.get_data(as_text=True)
