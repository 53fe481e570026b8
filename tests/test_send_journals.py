"""The journals a send's processes write their deliveries to: folded by whoever comes next, never lost, never twice."""

from __future__ import annotations

import json
import signal

from send_fixtures import ISSUE, add_readers, build_issue, smtp_workspace
from smtp_sink import SmtpSink
from test_send_crash import email_ids, many_readers, start_send, wait_for

from issues.send import outbox, send_issue
from issues.send.journals import JournalWriter, journal_path, journals_of
from issues.send.pipeline import DeliveryOptions
from newsletter.workspace import Workspace


def journaled(ws: Workspace) -> set[int]:
    """Outbox ids of every delivery in the issue's journals (the last field of each line)."""
    ids = set()
    for path in journals_of(ws, ISSUE):
        ids |= {json.loads(line)[-1] for line in path.read_bytes().splitlines() if line.endswith(b"]")}
    return ids


def raw_status(ws: Workspace) -> dict[int, str]:
    """Each outbox row's status as stored, read without folding anything."""
    return dict(ws.db.execute("SELECT id, status FROM outbox WHERE issue_id = ?", [ISSUE]).fetchall())


def delivered_line(job: outbox.Job) -> list:
    return [1, 250, "2.0.0 Ok", f"<{job.outbox_id}@test>", "2026-11-20T10:00:00+00:00", "readers.example.org",
            job.outbox_id]


def claimed_with_journal(ws: Workspace, readers: int, claimed: int, delivered: int) -> list[outbox.Job]:
    """A send's state as a killed process leaves it: ``claimed`` rows sending, the first ``delivered`` journaled."""
    build_issue(ws)
    add_readers(ws, readers)
    outbox.start_send(ws, ISSUE)
    jobs = outbox.claim(ws, ISSUE, 0, claimed)
    writer = JournalWriter(journal_path(ws, ISSUE, 0))
    writer.append([delivered_line(job) for job in jobs[:delivered]])
    writer.close()  # the writer's lock goes with it, as when its process is killed
    return jobs


def test_a_killed_two_process_send_leaves_journals_that_issue_status_folds_and_the_next_send_honours(
        workspace: Workspace, cli) -> None:
    build_issue(workspace)
    many_readers(workspace, 3000)
    connections, kills, unfolded = 4, 0, set()
    with SmtpSink() as sink:
        while not unfolded and kills < 3:  # the parent folds every second: kill between two folds
            before = len(sink.messages)
            proc = start_send(workspace, sink, connections=connections, processes=2)
            wait_for(sink, before + 300, proc)
            assert proc.poll() is None, "the send finished before the kill"
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            assert sink.wait_closed(), "the killed send's connections stayed open"
            stored = raw_status(workspace)
            unfolded = {oid for oid in journaled(workspace) if stored[oid] == "sending"}
        assert unfolded, "every kill came just after a fold"
        status = cli("issue", "status", ISSUE, "--json")
        assert status.exit_code == 0, status.output
        assert journals_of(workspace, ISSUE) == []
        stored = raw_status(workspace)
        assert all(stored[oid] == "sent" for oid in unfolded)
        assert json.loads(status.output)["counts"]["sent"] == sum(s == "sent" for s in stored.values())
        by_email = email_ids(workspace)
        outbox_ids = dict(workspace.db.execute("SELECT subscriber_id, id FROM outbox WHERE issue_id = ?", [ISSUE]))
        received = {outbox_ids[by_email[a]] for a in sink.counts()}
        assert len({oid for oid in received if stored[oid] == "sending"}) <= connections * kills  # in flight
        final = start_send(workspace, sink, connections=connections, processes=2)
        out, err = final.communicate(timeout=300)
        assert final.returncode == 0, err.decode()
    copies = sink.counts()
    assert len({by_email[a] for a in copies}) == 3000
    assert sum(n - 1 for n in copies.values()) <= connections * kills
    assert outbox.counts(workspace, ISSUE)["sent"] == 3000 and journals_of(workspace, ISSUE) == []


def test_the_next_send_folds_a_left_journal_first_and_mails_only_readers_not_in_it(workspace: Workspace) -> None:
    jobs = claimed_with_journal(workspace, readers=20, claimed=10, delivered=6)
    with SmtpSink() as sink:
        ws = smtp_workspace(workspace.root, sink, resolve_mx="false")
        report = send_issue(ws, ISSUE, options=DeliveryOptions(connections=2, resolve_mx=False))
        ws.close()
    assert report.finished and report.this_run["sent"] == 14 and report.recovered == 4
    mailed = {a.lower() for a in sink.counts()}
    assert not mailed & {job.email.lower() for job in jobs[:6]}  # in the journal: sent, not sent again
    assert len(mailed) == 14 and set(sink.counts().values()) == {1}
    assert outbox.counts(workspace, ISSUE)["sent"] == 20 and journals_of(workspace, ISSUE) == []
    stored = {r["id"]: r for r in outbox.rows_of(workspace, ISSUE)}
    assert stored[jobs[0].outbox_id]["message_id"] == f"<{jobs[0].outbox_id}@test>"


def test_a_journal_its_writer_still_holds_is_left_alone_until_the_writer_is_gone(workspace: Workspace, cli) -> None:
    build_issue(workspace)
    add_readers(workspace, 5)
    outbox.start_send(workspace, ISSUE)
    jobs = outbox.claim(workspace, ISSUE, 0, 5)
    writer = JournalWriter(journal_path(workspace, ISSUE, 1))
    writer.append([delivered_line(job) for job in jobs[:3]])
    assert json.loads(cli("issue", "status", ISSUE, "--json").output)["counts"]["sending"] == 5
    assert len(journals_of(workspace, ISSUE)) == 1  # a live send's: not folded, not removed
    writer.close()
    counts = json.loads(cli("issue", "status", ISSUE, "--json").output)["counts"]
    assert counts["sent"] == 3 and counts["sending"] == 2 and journals_of(workspace, ISSUE) == []


def test_folding_a_journal_twice_changes_nothing(workspace: Workspace) -> None:
    jobs = claimed_with_journal(workspace, readers=4, claimed=4, delivered=2)
    assert outbox.fold_journals(workspace, ISSUE) == 2
    first = outbox.rows_of(workspace, ISSUE)
    again = JournalWriter(journal_path(workspace, ISSUE, 0))  # the same lines met again (a fold cut short)
    again.append([delivered_line(job) for job in jobs[:2]])
    again.close()
    assert outbox.fold_journals(workspace, ISSUE) == 2
    assert outbox.rows_of(workspace, ISSUE) == first  # attempts not counted twice, times unchanged
    assert [r["status"] for r in first] == ["sent", "sent", "sending", "sending"]


def test_a_line_cut_short_is_left_for_the_row_to_be_sent_again(workspace: Workspace) -> None:
    jobs = claimed_with_journal(workspace, readers=3, claimed=3, delivered=1)
    path = journals_of(workspace, ISSUE)[0]
    with path.open("ab") as fh:  # a power cut in the middle of the next line
        fh.write(json.dumps(delivered_line(jobs[1])).encode()[:20])
    assert outbox.fold_journals(workspace, ISSUE) == 1
    assert [r["status"] for r in outbox.rows_of(workspace, ISSUE)] == ["sent", "sending", "sending"]
    assert outbox.recover_in_flight(workspace, ISSUE) == 2


def test_a_journal_is_folded_a_block_at_a_time_with_lines_across_the_blocks(workspace: Workspace,
                                                                          monkeypatch) -> None:
    from issues.send import journals

    monkeypatch.setattr(journals, "BLOCK", 50)  # shorter than a line: every line spans blocks
    claimed_with_journal(workspace, readers=6, claimed=6, delivered=5)
    assert outbox.fold_journals(workspace, ISSUE) == 5
    assert [r["status"] for r in outbox.rows_of(workspace, ISSUE)] == ["sent"] * 5 + ["sending"]


def test_a_writer_moves_on_to_new_segments_and_a_running_fold_removes_the_closed_ones(workspace: Workspace) -> None:
    """Journal disk stays bounded on a long send: a segment its writer has closed is folded and removed
    by the fold that runs beside the send, the one still written is left; every delivery lands once."""
    from issues.send.journals import JournalFolder

    build_issue(workspace)
    add_readers(workspace, 40)
    outbox.start_send(workspace, ISSUE)
    jobs = outbox.claim(workspace, ISSUE, 0, 40)
    writer = JournalWriter(journal_path(workspace, ISSUE, 0), segment=400)  # a few lines per file
    folded: list[list] = []
    folder = JournalFolder(workspace, ISSUE, folded.extend)
    for start in range(0, 30, 3):
        writer.append([delivered_line(job) for job in jobs[start : start + 3]])
        folder.step()
        assert len(journals_of(workspace, ISSUE)) <= 1  # only the segment being written
    assert writer.segments > 3
    assert sorted(row[-1] for row in folded) == sorted(job.outbox_id for job in jobs[:30])  # each once
    writer.close()
    folder.finish()
    assert journals_of(workspace, ISSUE) == []
