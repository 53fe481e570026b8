"""The ``run``, ``approve`` and ``schedule`` commands: a thin skin over :mod:`issues.routine`."""

from __future__ import annotations

import sys
import threading

import click

from newsletter.console import emit_json, json_option, pass_workspace, say
from newsletter.errors import NewsletterError
from newsletter.workspace import Workspace


class RunFailed(NewsletterError):
    """One or more steps of a run failed (each is retried by the next run)."""


def _step_line(step: dict) -> str:
    return f"{step['step']:<10} {step['status']:<8} {step['summary']}"


@click.command("run")
@click.option("--dry-run", is_flag=True, help="Do nothing; say what a run would do now.")
@json_option
@pass_workspace
def run_command(ws: Workspace, dry_run: bool, as_json: bool) -> None:
    """Do whatever the schedule says is due now: import, build, test copy, send, welcome series.

    Safe to call every few minutes (cron, a systemd timer): each call does what is
    due and nothing twice, one at a time per workspace.  A step that fails is
    reported and tried again by the next call.  Set it up with 'newsletter schedule install'.

    \b
    Example:
        newsletter run --dry-run
        newsletter run --json
    """
    from issues.routine import run_routine
    from issues.send import stop_on_signals

    stop = threading.Event()
    with stop_on_signals(stop, lambda: click.echo(
            "\nStopping after the messages in flight (Ctrl-C again to quit at once)...", err=True)):
        report = run_routine(ws, dry_run=dry_run, stop=stop)
    if as_json:
        emit_json(report.as_dict())
    elif report.busy:
        say(f"Another 'newsletter run' is working in {ws.root}; this one did nothing.")
    else:
        say(f"{'Dry run at' if dry_run else 'Run at'} {report.started_at}; this cycle: issue {report.cycle['week']}, "
            f"draft {report.cycle['draft_at']}, send {report.cycle['send_at']}")
        for step in report.steps:
            say(_step_line(step.as_dict()))
    if report.failed:
        names = ", ".join(s.step for s in report.failed)
        raise RunFailed(f"{len(report.failed)} step(s) failed ({names}); see above. The next run tries them again")
    if any(step.status == "failures" for step in report.steps):
        from issues.send import EXIT_FAILURES

        sys.exit(EXIT_FAILURES)  # as `newsletter send`: every reader answered, some could not be delivered


@click.command()
@click.argument("issue_key", metavar="ISSUE")
@click.option("--revoke", is_flag=True, help="Take the approval back; the scheduled send waits again.")
@json_option
@pass_workspace
def approve(ws: Workspace, issue_key: str, revoke: bool, as_json: bool) -> None:
    """Approve ISSUE's draft for its scheduled send (approve mode), or --revoke it.

    An edit to one of its articles or templates afterwards withdraws the approval;
    the next run says so and sends the editors a new test copy.

    \b
    Example:
        newsletter approve 2026-W47
        newsletter approve latest --revoke
    """
    from issues.routine import approve_issue, revoke_approval

    state = revoke_approval(ws, issue_key) if revoke else approve_issue(ws, issue_key)
    if as_json:
        emit_json(state.as_dict())
    elif revoke:
        say(f"Approval of {state.issue_id} revoked; its scheduled send waits for a new one.")
    else:
        say(f"Approved {state.issue_id}; 'newsletter run' sends it at its scheduled time "
            "('newsletter schedule status' says when).")


@click.group()
def schedule() -> None:
    """Run the weekly routine by itself: install the timer, see what is due.

    \b
    Example:
        newsletter schedule install            # prints the crontab line
        newsletter schedule install --systemd --write
        newsletter schedule status
    """


@schedule.command()
@click.option("--cron", "kind", flag_value="cron", default=True, help="A crontab line (the default).")
@click.option("--systemd", "kind", flag_value="systemd", help="A systemd service and timer (user units).")
@click.option("--every", type=int, default=5, show_default=True, metavar="MINUTES", help="How often to run.")
@click.option("--write", is_flag=True, help="Install it: into your crontab, or ~/.config/systemd/user/.")
@pass_workspace
def install(ws: Workspace, kind: str, every: int, write: bool) -> None:
    """Print (or with --write, install) what calls 'newsletter run' every few minutes.

    \b
    Example:
        newsletter schedule install >> my-crontab
        newsletter schedule install --systemd --write
    """
    from issues.routine import install as inst

    every = inst.every_minutes(every)
    if kind == "cron":
        line = inst.cron_line(ws, every)
        if not write:
            click.echo(line)
            return
        inst.install_cron(ws, line)
        say(f"Installed in your crontab:\n{line}")
        return
    units = inst.systemd_units(ws, every)
    if not write:
        click.echo(f"# {units.name}.service\n{units.service}\n# {units.name}.timer\n{units.timer}", nl=False)
        return
    paths = inst.write_units(ws, units)
    say("Wrote " + " and ".join(str(p) for p in paths))
    say(f"Start it: systemctl --user daemon-reload && systemctl --user enable --now {units.name}.timer")
    say("On a server, also 'loginctl enable-linger' so it runs while you are logged out.")


@schedule.command()
@json_option
@pass_workspace
def status(ws: Workspace, as_json: bool) -> None:
    """Show the schedule, what a run would do now, the next cycle and the last run's results.

    \b
    Example:
        newsletter schedule status --json
    """
    from issues.routine import schedule_status

    data = schedule_status(ws)
    if as_json:
        emit_json(data)
        return
    s = data["schedule"]
    click.echo(f"Mode {s['mode']}: each week's issue goes out {s['send_day']} {s['send_time']} ({s['timezone']}), "
               f"draft and test copy {s['draft_hours']}h before; editors: {', '.join(s['editors']) or 'none'}")
    current, upcoming = data["current"], data["next"]
    click.echo(f"This cycle: {current['week']} (draft {current['draft_at']}, send {current['send_at']})")
    if current.get("approval"):
        a = current["approval"]
        click.echo(f"  approval: {'approved ' + str(a['approved_at']) if a['approved'] else a['withdrawn_reason'] or 'not approved'}")
    click.echo(f"Next cycle: {upcoming['week']} (draft {upcoming['draft_at']}, send {upcoming['send_at']})")
    click.echo("Due now:")
    for step in data["due_now"]:
        click.echo("  " + _step_line(step))
    last = data["last_run"]
    if last is None:
        click.echo("Last run: never")
        return
    click.echo(f"Last run: {last['started_at']} ({last['failed']} failed)")
    for step in last["steps"]:
        click.echo("  " + _step_line(step))
