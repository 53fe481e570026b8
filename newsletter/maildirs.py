"""Deleting messages from a local Maildir by what they say, so erasure reaches the copies kept on disk."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

HEAD_CHUNK = 8192
MAX_HEAD = 1 << 20  # a header block longer than this is read no further


def _head(path: str) -> bytes:
    """The message's header block (up to the first empty line), read in chunks."""
    data = b""
    with open(path, "rb") as handle:
        while len(data) < MAX_HEAD:
            chunk = handle.read(HEAD_CHUNK)
            if not chunk:
                break
            data += chunk
            end = min((i for i in (data.find(b"\n\n"), data.find(b"\r\n\r\n")) if i >= 0), default=-1)
            if end >= 0:
                return data[:end]
    return data


def discard_where(folder: Path, matches: Callable[[bytes], bool], *, headers_only: bool = False) -> list[str]:
    """Delete every message in the Maildir ``folder`` for which ``matches`` holds; their keys.

    ``matches`` sees the whole message, or only its header block with ``headers_only`` (much
    less to read in a large Maildir). A key is the file name without its ``:2,`` flags, as
    :class:`mailbox.Maildir` names it. A missing folder holds nothing.
    """
    removed = []
    for sub in ("new", "cur"):
        try:
            entries = list(os.scandir(folder / sub))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            try:
                data = _head(entry.path) if headers_only else Path(entry.path).read_bytes()
            except (FileNotFoundError, IsADirectoryError):  # removed meanwhile, or not a message
                continue
            if matches(data):
                try:
                    os.unlink(entry.path)
                except FileNotFoundError:
                    continue
                removed.append(entry.name.split(":")[0])
    return removed
