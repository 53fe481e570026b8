"""The approve link over real HTTP (GET shows, POST approves, once), 'approve --revoke', and the schedule's units."""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest
from routine_helpers import EDITOR, install_fake_clock, mail_to, publish, routine_workspace, text_of

from issues.routine import install, run_routine
from issues.routine.store import issue_state
from issues.web import create_app
from newsletter.web import BackgroundServer, waitress_options


def _request(port: int, method: str, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers={"Content-Length": "0"} if method == "POST" else {})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8")
    finally:
        conn.close()


def test_the_link_in_the_test_copy_approves_on_post_only_and_once(tmp_path, monkeypatch) -> None:
    install_fake_clock(monkeypatch, "2026-11-23 10:00")
    ws = routine_workspace(tmp_path, monkeypatch)
    publish(ws, "hill-repeats", "Hill repeats without the dread", "2026-11-17 08:00")
    assert not run_routine(ws).failed
    link = re.search(r"https?://\S+/approve/\S+", text_of(mail_to(ws, EDITOR, test=True)[0])).group(0)
    path = urlsplit(link).path
    with BackgroundServer(create_app(ws), **waitress_options(ws)) as server:
        for _ in range(3):  # a mail scanner fetching the link approves nothing
            status, body = _request(server.port, "GET", path)
            assert status == 200 and "Approve issue #1 (2026-W47)?" in body and "Hill repeats" in body
        assert not issue_state(ws, "2026-W47").approved
        status, body = _request(server.port, "POST", path)
        assert status == 200 and "2026-W47 is approved" in body
        assert issue_state(ws, "2026-W47").approved
        status, body = _request(server.port, "POST", path)  # single use
        assert status == 410 and "Nothing was approved" in body and "approved already" in body
        status, body = _request(server.port, "POST", path[:-3] + "xyz")
        assert status == 410 and "damaged" in body


def test_approve_and_revoke_on_the_command_line(tmp_path, monkeypatch, cli) -> None:
    install_fake_clock(monkeypatch, "2026-11-23 10:00")
    ws = routine_workspace(tmp_path, monkeypatch)
    publish(ws, "hill-repeats", "Hill repeats without the dread", "2026-11-17 08:00")
    cli.ws = ws
    assert cli("run").exit_code == 0
    result = cli("approve", "2026-W47")
    assert result.exit_code == 0 and "Approved 2026-W47" in result.output
    assert "is approved; it goes out" in cli("run").output
    result = cli("approve", "2026-W47", "--revoke")
    assert result.exit_code == 0 and "revoked" in result.output
    assert "waits for approval (approval revoked (cli))" in cli("run").output
    result = cli("approve", "2026-W47", "--revoke")
    assert result.exit_code == 1 and "not approved" in str(result.exception)
    status = cli("schedule", "status")
    assert status.exit_code == 0 and "This cycle: 2026-W47" in status.output and "Last run:" in status.output


def test_schedule_install_prints_a_cron_line_and_valid_systemd_units(tmp_path, monkeypatch, cli) -> None:
    ws = routine_workspace(tmp_path, monkeypatch)
    cli.ws = ws
    line = cli("schedule", "install", "--every", "10").output.strip()
    assert line.startswith("*/10 * * * * ") and f"--workspace {ws.root}" in line and line.endswith(f"run: {ws.root}")
    assert " --quiet run " in line
    assert cli("schedule", "install", "--every", "99").exit_code == 1
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    result = cli("schedule", "install", "--systemd", "--write")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "config" / "systemd" / "user"
    service = next(folder.glob("newsletter-run-news-*.service"))
    timer = service.with_suffix(".timer")
    assert "Type=oneshot" in service.read_text() and "OnCalendar=*:0/5" in timer.read_text()
    assert f'"{install.executable()}" "--workspace" "{ws.root}" "run"' in service.read_text()
    if shutil.which("systemd-analyze") is None:  # .ci/run installs it; the content is checked above anyway
        pytest.fail("systemd-analyze is needed to verify the units: apt-get install systemd")
    checked = subprocess.run(["systemd-analyze", "verify", str(service), str(timer)], capture_output=True,
                             text=True, check=False)
    problems = [line for line in checked.stderr.splitlines() if service.stem in line or "timer" in line.lower()]
    assert checked.returncode == 0 and not problems, checked.stderr


@pytest.mark.parametrize("editor", ["editor@mail.local", "editor@@example.com", "ed itor@example.com"])
def test_a_bad_editor_address_stops_status_dry_run_and_run(tmp_path, monkeypatch, cli, editor) -> None:
    """The editors are checked by every command that reads the schedule, also when the shape check leaves
    the address to email-validator (a special-use domain)."""
    ws = routine_workspace(tmp_path, monkeypatch, editors=f"{EDITOR}, {editor}")
    cli.ws = ws
    for command in (["schedule", "status"], ["run", "--dry-run"], ["run"]):
        result = cli(*command)
        assert result.exit_code == 1, command
        assert "[schedule] editors" in str(result.exception) and editor.split("@")[0] in str(result.exception)
