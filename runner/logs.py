"""Log files of a running runner: ``state/logs/runner.log``, rotated, text or JSON lines.

The console is for a person watching; the log file is for the morning after and for log
shippers. Every console line (logger ``runner.console``) and every library warning
(alerts, audits, venues) lands in it, stamped in UTC. Rotation by size keeps a 24/7 runner
from filling the disk: ``max_bytes`` x (``backups`` + 1) at most.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import time
from pathlib import Path

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")


class JsonLines(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601), level, logger, message (and exc if any)."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
               "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def _text() -> logging.Formatter:
    f = logging.Formatter("%(asctime)s.%(msecs)03dZ %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    f.converter = time.gmtime
    return f


def setup_file_logging(home: Path, level: str = "info", fmt: str = "text", max_bytes: int = 10_000_000,
                       backups: int = 5) -> Path:
    """Attach the rotating file handler to the root logger; returns the log file's path."""
    logs = home / "state" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / "runner.log"
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    handler.setFormatter(JsonLines() if fmt == "json" else _text())
    handler.set_name("runner-file")
    root = logging.getLogger()
    for h in list(root.handlers):
        if h.get_name() == "runner-file":  # a second call (tests) replaces, never duplicates
            root.removeHandler(h)
            h.close()
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    return path
