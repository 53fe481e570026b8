"""The sign-up answer does the same work for every address: mail goes out after it, from a durable queue."""

from __future__ import annotations

import json
import threading

from sql_trace import statements_during
from web_helpers import messages_to

from issues.web import create_app
from newsletter.transports import open_transport
from newsletter.transports.base import Reply, Transport
from newsletter.workspace import Workspace
from subscribers import forget, get_subscriber, make_token, subscribe
from subscribers.mailqueue import MailWorker, queued
from subscribers.web import WORKER_KEY, mail_worker


class RecordingTransport(Transport):
    """The workspace transport, noting which thread sent each message and to whom."""

    def __init__(self, ws: Workspace, log: list[tuple[str, str]]) -> None:
        self.inner = open_transport(ws)
        self.log = log

    def send(self, sender: str, recipients: list[str], message: bytes) -> Reply:
        self.log.append((threading.current_thread().name, recipients[0]))
        return self.inner.send(sender, recipients, message)

    def close(self) -> None:
        self.inner.close()



def _shape(statement: str) -> str:
    """A statement without its values, cut after the table it writes."""
    return " ".join(statement.split("(")[0].split()[:3])


def test_no_mail_is_built_or_sent_inside_the_request_whatever_the_address(workspace: Workspace) -> None:
    subscribe(workspace, "member@example.com", confirmed=True, consent_text="signed up at the desk")
    subscribe(workspace, "waiting@example.com")
    subscribe(workspace, "gone@example.com")
    forget(workspace, get_subscriber(workspace, "gone@example.com").id, source="cli")
    app = create_app(workspace)
    mail_worker(app).stop()
    sends: list[tuple[str, str]] = []
    worker = app.extensions[WORKER_KEY] = MailWorker(workspace, transport_factory=lambda ws: RecordingTransport(ws, sends))
    client = app.test_client()
    before = len(messages_to(workspace, "waiting@example.com"))

    client.get("/subscribe")  # once per connection: checkpoints are left to the worker
    answers, work = {}, {}
    for address in ("new@example.com", "waiting@example.com", "member@example.com", "gone@example.com"):
        work[address] = statements_during(workspace, lambda a=address: answers.setdefault(
            a, client.post("/subscribe", json={"email": a}).get_json()))
    assert len({json.dumps(answer) for answer in answers.values()}) == 1
    # The same statements for every address (only the values differ): nothing to time apart.
    shapes = {address: [_shape(statement) for statement in statements] for address, statements in work.items()}
    assert len({json.dumps(shape) for shape in shapes.values()}) == 1, shapes
    assert shapes["new@example.com"] == ["PRAGMA synchronous =", "BEGIN IMMEDIATE", "INSERT INTO signup_intake",
                                        "COMMIT", "PRAGMA synchronous ="]

    assert worker.flush()
    assert sends == [("subscribers-mail", "new@example.com")]  # sent by the worker, never by the request
    assert len(messages_to(workspace, "new@example.com")) == 1 and queued(workspace) == 0
    assert len(messages_to(workspace, "waiting@example.com")) == before  # throttled: nothing new

    reader = get_subscriber(workspace, "new@example.com")
    client.post(f"/confirm/{make_token(workspace, 'confirm', reader.id)}")
    assert get_subscriber(workspace, reader.id).status == "confirmed"
    assert worker.flush()
    assert sends[-1] == ("subscribers-mail", "new@example.com")  # the welcome mail, after the answer too
    subjects = sorted(m["Subject"].split()[0] for m in messages_to(workspace, "new@example.com"))
    assert subjects == ["Please", "Welcome"]
    worker.stop()


def test_a_mail_queued_before_a_crash_goes_out_at_the_next_start(workspace: Workspace) -> None:
    crashed = create_app(Workspace(workspace.root))
    mail_worker(crashed).stop()  # the process dies after the commit, before its worker sends
    assert crashed.test_client().post("/subscribe", data={"email": "kept@example.com"}).status_code == 200
    taken_in = workspace.db.execute("SELECT COUNT(*) FROM signup_intake").fetchone()[0]
    assert taken_in == 1 and messages_to(workspace, "kept@example.com") == []

    restarted = create_app(Workspace(workspace.root))  # drains the queue as it starts
    assert mail_worker(restarted).flush()
    [mail] = messages_to(workspace, "kept@example.com")
    assert "/confirm/" in mail.get_body(preferencelist=("plain",)).get_content()
    assert queued(workspace) == 0
    mail_worker(restarted).stop()


def test_send_mail_command_drains_what_a_stopped_server_left(workspace: Workspace, cli) -> None:
    stopped = create_app(Workspace(workspace.root))
    mail_worker(stopped).stop()
    stopped.test_client().post("/subscribe", data={"email": "later@example.com"})
    result = cli("subscribers", "send-mail", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"sent": 1, "failed": 0, "still_queued": 0}
    assert len(messages_to(workspace, "later@example.com")) == 1
    assert json.loads(cli("subscribers", "send-mail", "--json").output)["sent"] == 0  # never twice
