"""Settings: defaults, the TOML file, environment overrides, secrets kept out of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.errors import ConfigError
from newsletter.settings import REGISTRY, load_settings


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


# --- typos, ranges, secrets anywhere: nothing silent -------------------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    ('[site]\nname = "x"\n\n[delivery]\ntransprt = "smtp"\n',
     r"unknown key `transprt` in \[delivery\], .*newsletter.toml line 5: did you mean `transport`\?"),
    ('[smpt]\nhost = "mail.example.com"\n', r"unknown section \[smpt\] in .*newsletter.toml, line 1: did you mean \[smtp\]\?"),
    ('[deliveryy]\nrate = 2\n', r"unknown section \[deliveryy\] .*line 1: did you mean \[delivery\]\?"),
    ('[site]\nnmae = "Run Club"\n', r"unknown key `nmae` in \[site\], .*line 2: did you mean `name`\?"),
    ('[delivery]\npause_after_failure = 5\n',
     r"unknown key `pause_after_failure` in \[delivery\], .*line 2: did you mean `pause_after_failures`\?"),
    ('[delivery]\nhost = "mail.example.com"\n', r"unknown key `host` in \[delivery\], .*: `host` is a key of \[smtp\]"),
    ('transport = "smtp"\n', r"line 1: `transport` is outside any \[section\]; put it under \[delivery\]"),
])
def test_typos_in_the_file_are_refused_with_the_closest_name(tmp_path: Path, text: str, message: str) -> None:
    ws = write(tmp_path / "ws", text)
    with pytest.raises(ConfigError, match=message):
        load_settings(ws, environ={})


@pytest.mark.parametrize(("text", "advice"), [
    ('[web]\nsecret_key = "abcdefghijklmnopqrstuvwxyz"\n', "NEWSLETTER_SECRET_KEY"),
    ('[inbound]\nimap_password = "x"\n', "NEWSLETTER_INBOUND_IMAP_PASSWORD"),
    ('[dkim]\nprivate_key = "-----BEGIN PRIVATE KEY-----\\nMIIE..."\n', "[dkim] key_file"),
    ('[dkim]\nkey_file = "-----BEGIN RSA PRIVATE KEY-----"\n', "[dkim] key_file"),
    ('[nonsense]\napi_token = "t0k3n"\n', "NEWSLETTER_NONSENSE_API_TOKEN"),
])
def test_secrets_are_refused_wherever_they_appear(tmp_path: Path, text: str, advice: str) -> None:
    ws = write(tmp_path / "ws", text)
    with pytest.raises(ConfigError, match="secrets do not go in the settings file") as refused:
        load_settings(ws, environ={})
    assert advice in str(refused.value) and "line 2" in str(refused.value)


@pytest.mark.parametrize(("environ", "message"), [
    ({"NEWSLETTER_DELIVERY_TRANSPRT": "smtp"},
     "NEWSLETTER_DELIVERY_TRANSPRT matches no setting: did you mean `NEWSLETTER_DELIVERY_TRANSPORT`?"),
    ({"NEWSLETTER_SMPT_HOST": "x"}, "did you mean `NEWSLETTER_SMTP_HOST`?"),
    ({"NEWSLETTER_DELIVERY_PAUSE_AFTER_FAILURES": "-1"},
     "NEWSLETTER_DELIVERY_PAUSE_AFTER_FAILURES = -1 is below the smallest allowed value, 1"),
    ({"NEWSLETTER_SMTP_SECURITY": "startls"}, "did you mean `starttls`?"),
    ({"NEWSLETTER_SMTP_PORT": "70000"}, "above the largest allowed value, 65535"),
])
def test_environment_typos_and_bad_values_are_refused(tmp_path: Path, environ: dict, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path, environ=environ)
    assert message in str(refused.value)


def test_values_out_of_range_in_the_file_name_the_line(tmp_path: Path) -> None:
    ws = write(tmp_path / "ws", '[site]\nname = "x"\n[delivery]\nconnections = 0\n')
    with pytest.raises(ConfigError, match=r"newsletter.toml, line 4: \[delivery\] connections = 0 is below"):
        load_settings(ws, environ={})
    ws = write(tmp_path / "ws", '[delivery]\ntransport = "smpt"\n')
    with pytest.raises(ConfigError, match=r"transport = 'smpt' is not one of 'maildir', 'smtp': did you mean `smtp`"):
        load_settings(ws, environ={})


def test_the_workspace_variables_are_known(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={"NEWSLETTER_HOME": str(tmp_path), "NEWSLETTER_SECRET_KEY": "k" * 40})
    assert s.origin("smtp", "host") == "default"


def test_named_tables_follow_their_declaration(tmp_path: Path) -> None:
    from newsletter.settings_spec import Key, SectionSpec

    provider = SectionSpec("provider", "a test provider", (Key("region", "eu", "where"),
                                                          Key("api_key", "", "key", secret="X_KEY")))
    declared = REGISTRY.sections["delivery"].tables.get("providers")  # the real one, put back after
    REGISTRY.add_table("delivery", "providers", provider)
    try:
        ws = write(tmp_path / "ws", '[delivery.providers.ses]\nregion = "us"\n')
        s = load_settings(ws, environ={"NEWSLETTER_DELIVERY_PROVIDERS_SES_API_KEY": "k",
                                       "NEWSLETTER_DELIVERY_PROVIDERS_POST_MARK_REGION": "ca"})
        assert s.delivery.providers["ses"].region == "us" and s.delivery.providers["ses"].api_key == "k"
        assert s.delivery.providers["post_mark"].region == "ca"
        write(ws, '[delivery.providers.ses]\nregoin = "us"\n')
        with pytest.raises(ConfigError, match=r"unknown key `regoin` in \[delivery.providers.ses\].*`region`"):
            load_settings(ws, environ={})
    finally:
        REGISTRY.sections["delivery"].tables["providers"] = declared


def test_init_writes_every_section_from_the_declaration_and_it_loads_back(tmp_path: Path) -> None:
    import tomllib

    from newsletter.settings import DEFAULTS
    from newsletter.settings_docs import settings_file_text

    text = settings_file_text()
    for spec in REGISTRY.sections.values():
        assert f"[{spec.name}]" in text
        for key in spec.keys:
            assert key.name in text, (spec.name, key.name)
    import re

    setting = re.compile(r"^# (\[\w+\]$|\w+ = )")
    uncommented = "\n".join(line[2:] if setting.match(line) else line for line in text.splitlines())
    data = tomllib.loads(uncommented)  # every key, uncommented, is valid TOML with its default
    for section, values in DEFAULTS.items():
        for key, default in values.items():
            if key in REGISTRY.sections[section].tables:  # named sub-tables: none until an editor adds one
                continue
            if (section, key) not in {("smtp", "password"), ("inbound", "imap_password")}:
                assert data[section][key] == default, (section, key)
    ws = write(tmp_path / "ws", text)
    assert load_settings(ws, environ={}).as_dict() == load_settings(None, environ={}).as_dict()


def test_readme_settings_reference_is_generated_from_the_declaration() -> None:
    from newsletter.settings_docs import readme_reference

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert readme_reference() in readme, (
        "README's settings reference is out of date: run 'python -m newsletter.settings_docs --write-readme README.md'")
