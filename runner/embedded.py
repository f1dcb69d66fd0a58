"""The embedded default deployment: the sample variants and the runbook shipped with runner.

In a wheel they live under ``runner/_embedded``; in a source checkout, at the repo root.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from runner.privacy import private_dir

_PKG = Path(__file__).resolve().parent


def embedded_dir(name: str) -> Path | None:
    for base in (_PKG / "_embedded", _PKG.parent):
        if (base / name).is_dir():
            return base / name
    return None


def init_deployment(home: Path) -> list[str]:
    """Give an empty deployment the samples and the runbook; returns what was created."""
    created = []
    for name in ("strategies.d", "runbook"):
        target = home / name
        src = embedded_dir(name)
        if target.exists() or src is None or src.resolve() == target.resolve():
            continue
        shutil.copytree(src, target)
        created.append(name)
    private_dir(home / "state")  # 0700: the ledger and the sim account live here
    return created
