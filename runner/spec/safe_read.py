"""Reading a configuration file that anyone may have dropped into the deployment.

A FIFO blocks an ordinary ``open``, ``/dev/zero`` never ends, a 50 MB file stalls the parser,
and a NUL byte is not text. Every config file (variant, ``venues.yaml``, ``runner.yaml``,
calendars) is read here: regular files only, opened without blocking, size-capped, UTF-8, no
control characters; anything else is a :class:`SpecError` naming the file (and the line).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from runner.errors import SpecError, SpecIssue

MAX_CONFIG_BYTES = 1 << 20  # a variant file is a few KB; 1 MiB leaves room and parses in well under a second
# What YAML itself accepts (PyYAML Reader.NON_PRINTABLE): everything else is refused here, with a line.
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]")
_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))


def _what(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _fail(path: Path, message: str, line: int | None = None) -> SpecError:
    return SpecError([SpecIssue(str(path), line, "", message)])


def read_config_text(path: Path, limit: int = MAX_CONFIG_BYTES) -> str:
    """The text of a regular file of at most ``limit`` bytes, or a SpecError saying why not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise _fail(path, "file not found") from None
    except OSError as exc:
        raise _fail(path, f"cannot read file: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # checked on the open file: no swap between check and read
            raise _fail(path, f"not a regular file ({_what(st.st_mode)}): only regular files are read")
        if st.st_size > limit:
            raise _fail(path, f"file too large ({st.st_size} bytes; the limit is {limit})")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # grew while we read
            raise _fail(path, f"file too large (over {limit} bytes)")
    except OSError as exc:
        raise _fail(path, f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(path, f"not UTF-8 text (byte {exc.start})", data[: exc.start].count(b"\n") + 1) from None
    check_text(text, str(path))
    return text


def check_text(text: str, file: str) -> None:
    """Refuse NUL, control and other non-printable characters (YAML's own set), naming the line."""
    m = _NON_PRINTABLE.search(text)
    if m is not None:
        line = text.count("\n", 0, m.start()) + 1
        raise SpecError([SpecIssue(file, line, "", f"character {m.group()!r} is not allowed in a config file")])
