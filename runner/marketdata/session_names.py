"""Recorded sessions by name, with no imports, so that `runner status` names the current one cheaply."""

from __future__ import annotations

from pathlib import Path


def latest(root: Path) -> str | None:
    """The newest recorded session's name (the current one while a runner runs)."""
    if not root.is_dir():
        return None
    names = sorted(d.name for d in root.iterdir() if (d / "session.json").exists())
    return names[-1] if names else None
