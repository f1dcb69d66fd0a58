"""Warm-up progress (``warming n/W``) for `runner status`, read by another process.

The runtime counts, per warming variant, the events of its stream its strategy has seen (the
bars pre-seeded from the venue's history, then live ones) against the events it needs
(``history_needed``), and writes them to ``state/warming.json`` when they change. `status`
shows them for a variant whose recorded state is ``warming``; a variant that needs no history
(W = 0) has no line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from runner.privacy import private_dir

FILE = "warming.json"


class WarmingBoard:
    def __init__(self, home: Path) -> None:
        self.path = home / "state" / FILE
        self._written: dict[str, tuple[int, int]] | None = None

    def write(self, progress: dict[str, tuple[int, int]]) -> None:
        """``progress``: each warming variant's (events seen, events needed). Written on a change."""
        doc = {vid: (min(have, need), need) for vid, (have, need) in progress.items() if need > 0}
        if doc == self._written:
            return
        private_dir(self.path.parent)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({vid: {"have": have, "need": need} for vid, (have, need) in doc.items()}))
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)
        self._written = doc


def read(home: Path) -> dict[str, dict[str, Any]]:
    """The latest progress the runner wrote ({} when there is none or it is unreadable)."""
    try:
        doc = json.loads((home / "state" / FILE).read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}
