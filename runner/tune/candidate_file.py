"""A sweep's winner as the next version's file, written to ``candidates/`` (never ``strategies.d/``).

The new file is the old one edited line by line: ``version`` bumped and each swept param's value
replaced where it stands, so comments and layout are kept; a param the file did not set is added
under ``params:`` with its siblings' indentation. If the file's layout defeats that (flow-style
params, a multi-line value), the file is rewritten from its data instead (comments lost, said so
in the header). Either way the result is validated before it is written, and a person reviews it
and moves it into ``strategies.d/``: nothing here deploys.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from runner.errors import SpecError
from runner.spec.deployment_config import VenuesConfig
from runner.spec.load import LoadedVariant, parse_variant
from runner.spec.yamlload import parse_yaml

CANDIDATES = "candidates"
_STEM = re.compile(r"^(?P<name>.+)_v(?P<version>\d+)$")


def next_version(home: Path, name: str, at_least: int, taken: Iterable[int] = ()) -> int:
    """One above every version of ``name`` in strategies.d/ and candidates/, above ``at_least`` and
    the versions ``taken`` (those the ledger has deployed: a deployed version is immutable)."""
    top = max([at_least, *taken])
    for folder in (home / "strategies.d", home / CANDIDATES):
        if not folder.is_dir():
            continue
        for f in folder.glob("*.yaml"):
            m = _STEM.match(f.stem)
            if m and m["name"] == name:
                top = max(top, int(m["version"]))
    return top + 1


def _scalar(v: Any) -> str:
    """A value as a one-line YAML scalar that reads back as ``v``."""
    text = yaml.safe_dump(v, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("...").strip()


def _set_value(lines: list[str], idx: int, key: str, value: Any) -> bool:
    m = re.match(rf"^(\s*{re.escape(key)}\s*:[ \t]*)([^#\n]*?)([ \t]*#.*)?$", lines[idx])
    if not m or not m[2].strip() or m[2].strip()[0] in "{[|>&*":
        return False
    lines[idx] = f"{m[1]}{_scalar(value)}{m[3] or ''}"
    return True


def edit_text(text: str, file: str, version: int, cell: Mapping[str, Any]) -> str | None:
    """The file's text with ``version`` and the params of ``cell`` changed in place; None if its
    layout does not allow a line edit."""
    doc = parse_yaml(text, file)
    lines = text.splitlines()
    v_line = doc.lines.get(("version",))
    if v_line is None or not _set_value(lines, v_line - 1, "version", version):
        return None
    p_line = doc.lines.get(("params",))
    if p_line is None:
        return None
    children = [doc.lines[("params", k)] for k in doc.data.get("params", {}) if ("params", k) in doc.lines]
    if any(n == p_line for n in children):  # flow style: params: {window: 60, ...}
        return None
    inserts: list[str] = []
    for key, value in cell.items():
        n = doc.lines.get(("params", key))
        if n is not None:
            if not _set_value(lines, n - 1, key, value):
                return None
        else:
            inserts.append(f"{key}: {_scalar(value)}")
    if inserts:
        if not children:
            return None
        indent = re.match(r"^\s*", lines[min(children) - 1])[0]  # type: ignore[index]
        at = max(children)  # after the last param's line (a one-line value each, checked above)
        lines[at:at] = [indent + s for s in inserts]
    return "\n".join(lines) + "\n"


def dump_text(data: Mapping[str, Any], version: int, cell: Mapping[str, Any]) -> str:
    doc = dict(data)
    doc["version"] = version
    doc["params"] = {**doc.get("params", {}), **cell}
    return "# rewritten from its data: the original's comments could not be kept\n" + yaml.safe_dump(
        doc, sort_keys=False, default_flow_style=False)


def candidate_text(loaded: LoadedVariant, path: Path, version: int, cell: Mapping[str, Any], header: str,
                   venues: VenuesConfig | None = None) -> str:
    """The candidate's text, validated: the line edit if it reads back as intended, else the dump."""
    head = "".join(f"# {line}\n" for line in header.splitlines())
    want = {**loaded.spec.params, **cell}
    text = edit_text(loaded.yaml_text, str(loaded.path), version, cell)
    if text is not None:
        try:
            got = parse_variant(head + text, path, venues)
            if got.spec.params == want and got.spec.version == version:
                return head + text
        except SpecError:
            pass
    text = head + dump_text(parse_yaml(loaded.yaml_text, str(loaded.path)).data, version, cell)
    parse_variant(text, path, venues)  # raises SpecError: nothing is written
    return text


def deployed_versions(url: str | None, name: str) -> list[int]:
    """Versions of ``name`` the ledger at ``url`` has deployed (none if there is no ledger yet)."""
    from runner.errors import BadInputError
    from runner.ledger.store import Ledger

    if not url:
        return []
    try:
        led = Ledger(url, create=False)
    except BadInputError:
        return []
    try:
        return [d.version for d in led.deployments() if d.name == name and "@" not in d.variant]
    finally:
        led.close()


def write_candidate(home: Path, loaded: LoadedVariant, cell: Mapping[str, Any], report: Mapping[str, Any],
                    venues: VenuesConfig | None = None, header: str = "", ledger_url: str | None = None) -> Path:
    """Write ``<name>_v<next>.yaml`` (and its sweep report beside it) into ``candidates/``; the text is
    validated first (a SpecError means nothing was written)."""
    version = next_version(home, loaded.spec.name, loaded.spec.version,
                           deployed_versions(ledger_url, loaded.spec.name))
    folder = home / CANDIDATES
    path = folder / f"{loaded.spec.name}_v{version}.yaml"
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = (f"candidate written by runner sweep from {loaded.id} at {stamp}: "
            + ", ".join(f"{k} {getattr(loaded.params, k, None)} -> {v}" for k, v in cell.items())
            + (f"\n{header}" if header else "")
            + "\nreview it, then move it into strategies.d/ to deploy (nothing deploys it by itself)")
    text = candidate_text(loaded, path, version, cell, head, venues)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{path.name}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    side = folder / f"{path.stem}.sweep.json"
    side.write_text(json.dumps({"candidate": path.stem, "from": loaded.id, "written": stamp, "params": dict(cell),
                                **report}, default=str, indent=1), encoding="utf-8")
    return path


def written_on(home: Path, day: str) -> list[dict[str, Any]]:
    """Candidates written on the UTC ``day`` (YYYY-MM-DD), from their sweep reports: for the digest."""
    folder = home / CANDIDATES
    out = []
    for side in sorted(folder.glob("*.sweep.json")) if folder.is_dir() else []:
        try:
            doc = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict) or not str(doc.get("written", "")).startswith(day):
            continue
        sweep = doc.get("sweep") or {}
        won, base = sweep.get("winner_out_of_sample") or {}, sweep.get("base_out_of_sample") or {}
        out.append({"candidate": doc.get("candidate"), "from": doc.get("from"), "params": doc.get("params"),
                    "scheduled": bool(doc.get("scheduled")), "path": str(folder / f"{doc.get('candidate')}.yaml"),
                    "sharpe": won.get("sharpe"), "current_sharpe": base.get("sharpe"),
                    "exists": (folder / f"{doc.get('candidate')}.yaml").exists()})
    return [c for c in out if c["exists"]]
