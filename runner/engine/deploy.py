"""Deploying variant files: validate, record with their content hash, refuse edits in place.

Pure decisions over (files on disk, ledger deployments); the runtime acts on the result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from runner.errors import SpecError
from runner.ledger.models import Deployment
from runner.ledger.store import Ledger
from runner.lifecycle import State
from runner.spec.deployment_config import VenuesConfig
from runner.spec.load import LoadedVariant, load_variant


@dataclass
class ScanResult:
    new: list[LoadedVariant] = field(default_factory=list)  # deployed now
    running: list[LoadedVariant] = field(default_factory=list)  # deployed before, unchanged
    retire: list[tuple[str, str]] = field(default_factory=list)  # (variant, why)
    errors: dict[str, str] = field(default_factory=dict)  # file -> message
    skipped: list[str] = field(default_factory=list)  # backtest-only files


def variant_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith("."))


def live_gate(loaded: LoadedVariant, venues: VenuesConfig) -> str | None:
    """The three gates of live trading; None when the variant may start."""
    if loaded.spec.mode != "live":
        return None
    missing = []
    acct = venues.accounts.get(loaded.spec.venue)
    if acct is None or not acct.live:
        missing.append(f"`live: true` for account {loaded.spec.venue} in venues.yaml")
    if os.environ.get("RUNNER_LIVE") != "1":
        missing.append("RUNNER_LIVE=1 in the environment")
    if missing:
        return "live trading refused: needs " + " and ".join(missing)
    return None


def scan(directory: Path, ledger: Ledger, venues: VenuesConfig) -> ScanResult:
    """Deploy what is new and valid, report what is not; retire what disappeared."""
    out = ScanResult()
    deployed = {d.variant: d for d in ledger.deployments() if "@" not in d.variant}
    states = ledger.states()
    present: set[str] = set()
    for path in variant_files(directory):
        file = str(path)
        try:
            loaded = load_variant(path, venues)
        except SpecError as exc:
            out.errors[file] = str(exc)
            continue
        vid = loaded.id
        present.add(vid)
        if loaded.spec.mode == "backtest":
            out.skipped.append(vid)
            continue
        gate = live_gate(loaded, venues)
        if gate:
            out.errors[file] = f"{file}: {gate}"
            continue
        old = deployed.get(vid)
        if old is not None and old.content_hash != loaded.content_hash:
            out.errors[file] = (
                f"{file}: {vid} is already deployed with different content (hash {old.content_hash[:12]}); "
                f"the deployed version keeps running. Bump `version:` to deploy a change."
            )
            if loaded.spec.retired and states.get(vid) and states[vid].state != State.RETIRED:
                out.retire.append((vid, "retired: true"))
            continue
        if old is None:
            if loaded.spec.retired:
                out.skipped.append(vid)
                continue
            ledger.record_deployment(
                Deployment(variant=vid, name=loaded.spec.name, version=loaded.spec.version, kind=loaded.spec.kind,
                           venue=loaded.spec.venue, mode=loaded.spec.mode, content_hash=loaded.content_hash,
                           yaml_text=loaded.yaml_text, path=file),
                State.PENDING.value,
            )
            out.new.append(loaded)
        else:
            out.running.append(loaded)
        if loaded.spec.retired:
            out.retire.append((vid, "retired: true in the file"))
    for vid, dep in deployed.items():
        st = states.get(vid)
        if vid not in present and st is not None and st.state not in (State.RETIRING, State.RETIRED):
            out.retire.append((vid, f"file {Path(dep.path).name} removed"))
    for file, message in out.errors.items():
        ledger.set_spec_error(file, message)
    for path in variant_files(directory):
        if str(path) not in out.errors:
            ledger.clear_spec_error(str(path))
    for err in ledger.spec_errors():
        if not Path(err.file).exists():
            ledger.clear_spec_error(err.file)
    return out
