"""Deploying variant files: validate, record with their content hash, refuse edits in place.

Pure decisions over (files on disk, ledger deployments); the runtime acts on the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from runner.engine.live_gates import refusal
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
    return refusal(loaded.spec, venues)


FileRead = LoadedVariant | SpecError  # one file's outcome: loaded, or why not


def read_variants(directory: Path, venues: VenuesConfig) -> dict[Path, FileRead]:
    """Read and validate every variant file; no ledger. Safe to run off the trading loop
    (the watcher's thread does), and never raises for a file's content."""
    out: dict[Path, FileRead] = {}
    for path in variant_files(directory):
        try:
            out[path] = load_variant(path, venues)
        except SpecError as exc:
            out[path] = exc
    return out


def scan(directory: Path, ledger: Ledger, venues: VenuesConfig, files: dict[Path, FileRead] | None = None) -> ScanResult:
    """Deploy what is new and valid, report what is not; retire what disappeared.

    Only a removed file, or a valid one saying ``retired: true``, retires: a file that is
    there but unreadable or invalid (an editor's truncate-then-write, a typo) keeps the
    deployed version running and reports the error."""
    out = ScanResult()
    files = read_variants(directory, venues) if files is None else files
    deployed = {d.variant: d for d in ledger.deployments() if "@" not in d.variant}
    states = ledger.states()
    present: set[str] = set()
    for path, read in files.items():
        file = str(path)
        present.add(path.stem)  # there, even if unreadable: only removal retires
        if isinstance(read, SpecError):
            out.errors[file] = str(read)
            present.update(v for v, d in deployed.items() if d.path == file)
            continue
        loaded = read
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
            try:
                ledger.record_deployment(
                    Deployment(variant=vid, name=loaded.spec.name, version=loaded.spec.version, kind=loaded.spec.kind,
                               venue=loaded.spec.venue, mode=loaded.spec.mode, content_hash=loaded.content_hash,
                               yaml_text=loaded.yaml_text, path=file),
                    State.PENDING.value,
                )
            except IntegrityError:
                continue  # another runner sharing this ledger deployed it first: it is deployed
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
        try:
            ledger.set_spec_error(file, message)
        except IntegrityError:
            pass  # another runner recorded the same error at the same moment
    for path in files:
        if str(path) not in out.errors:
            ledger.clear_spec_error(str(path))
    for err in ledger.spec_errors():
        if not Path(err.file).exists():
            ledger.clear_spec_error(err.file)
    return out
