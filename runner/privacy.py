"""Secrets stay secret: masked in every output, redacted in any encoding, private files on disk.

One owner for how a database URL is shown (password masked), how known secret values are
removed from text (raw, JSON-escaped, ``repr``-escaped: a secret with non-ASCII characters,
``"`` or ``\\`` is found in each form), and how the deployment's ``state/`` is kept private
(directory 0700, files 0600).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

MASK = "***"
REDACTED = "[redacted]"

# scheme://user:password@host  and  ...?password=...  (libpq keyword form too: password=...)
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s'\"]*:)(?P<pw>[^@\s'\"]*)(?P<at>@)")
_KEYWORD_PASSWORD = re.compile(r"(?i)(?P<head>\b(?:password|passwd|pwd)\s*=\s*)(?P<pw>[^&\s'\"]+)")


def mask_url(url: str) -> str:
    """A database URL fit to print: the password (if any) replaced by ``***``."""
    return mask_text(url)


def mask_text(text: str) -> str:
    """Every URL password and ``password=`` value in ``text`` masked."""
    if "@" not in text and "=" not in text:
        return text
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['at']}" if m["pw"] else m[0], text)
    return _KEYWORD_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", text)


def _forms(secret: str) -> set[str]:
    """The ways a secret appears in text we produce: as is, JSON-escaped (ASCII or not), repr'd."""
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1], repr(secret)[1:-1]}
    return {f for f in forms if f}


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret (in any of its encoded forms) redacted.
    Longest first, so a secret containing another is removed whole."""
    forms = sorted({f for s in secrets if s and len(s) >= 4 for f in _forms(s)}, key=len, reverse=True)
    for f in forms:
        text = text.replace(f, REDACTED)
    return mask_text(text)


def private_dir(path: Path) -> Path:
    """Create (or tighten) a directory readable by its owner only (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Create an empty file 0600 if absent (SQLite gives its -wal/-shm files the same mode), or
    tighten an existing one."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
    else:
        os.close(fd)
    return path
