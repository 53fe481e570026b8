"""Errors a user can act on: the CLI prints ``str(error)`` on one line and exits 1."""

from __future__ import annotations


class NewsletterError(Exception):
    """Base of every error the tool expects; the message says what is wrong and what to do."""


class ConfigError(NewsletterError):
    """The settings file, an environment variable or the workspace layout is wrong."""


class WorkspaceNotFound(ConfigError):
    """No newsletter.toml in --workspace, NEWSLETTER_HOME, or the current folder and its parents."""


class SourceError(NewsletterError):
    """An article source (file, feed, page) cannot be read; names the file and line."""


class TemplateError(NewsletterError):
    """A Jinja2 or MJML template failed; names the template and line."""


class NotFound(NewsletterError):
    """A named thing (article, issue, subscriber) does not exist."""


class InvalidInput(NewsletterError):
    """Input a person typed is refused (bad address, CR/LF in a header field, ...)."""


class StorageError(NewsletterError):
    """The workspace's database or a file cannot be read or written (locked, read-only, full, damaged)."""
