"""Settings: defaults, the TOML file, environment overrides, secrets kept out of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.errors import ConfigError
from newsletter.settings import load_settings


def write(ws: Path, text: str) -> Path:
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "newsletter.toml").write_text(text)
    return ws


def test_defaults_without_a_file(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={})
    assert s.delivery.transport == "maildir"
    assert s.smtp.port == 587
    assert s.site.public_url.startswith("https://")


def test_file_overrides_defaults_and_env_overrides_file(tmp_path: Path) -> None:
    ws = write(tmp_path / "ws", '[smtp]\nhost = "mail.example.org"\nport = 2525\n[site]\nname = "Run Club"\n')
    s = load_settings(ws, environ={"NEWSLETTER_SMTP_PORT": "25", "NEWSLETTER_SITE_PUBLIC_URL": "http://x.test"})
    assert s.smtp.host == "mail.example.org"
    assert s.smtp.port == 25
    assert s.site.name == "Run Club"
    assert s.site.public_url == "http://x.test"


def test_env_values_are_typed(tmp_path: Path) -> None:
    env = {"NEWSLETTER_DELIVERY_RATE": "12.5", "NEWSLETTER_SUBSCRIBERS_WELCOME": "no"}
    s = load_settings(tmp_path, environ=env)
    assert s.delivery.rate == 12.5
    assert s.subscribers.welcome is False


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="NEWSLETTER_SMTP_PORT"):
        load_settings(tmp_path, environ={"NEWSLETTER_SMTP_PORT": "lots"})


def test_password_in_the_file_is_refused(tmp_path: Path) -> None:
    ws = write(tmp_path / "ws", '[smtp]\npassword = "hunter2"\n')
    with pytest.raises(ConfigError, match="NEWSLETTER_SMTP_PASSWORD"):
        load_settings(ws, environ={})


def test_password_from_environment_is_hidden_when_shown(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={"NEWSLETTER_SMTP_PASSWORD": "s3cret"})
    assert s.smtp.password == "s3cret"
    assert s.as_dict()["smtp"]["password"] == "********"


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    ws = write(tmp_path / "ws", "[site\nname = 1\n")
    with pytest.raises(ConfigError, match="newsletter.toml"):
        load_settings(ws, environ={})


def test_wrong_type_in_file_is_refused(tmp_path: Path) -> None:
    ws = write(tmp_path / "ws", '[delivery]\nconnections = "four"\n')
    with pytest.raises(ConfigError, match=r"\[delivery\] connections"):
        load_settings(ws, environ={})


def test_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        load_settings(tmp_path, environ={"NEWSLETTER_SITE_TIMEZONE": "Mars/Olympus"})
