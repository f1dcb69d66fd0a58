"""Parity: a recorded session backtested, its decisions compared event by event with the live ones.

For each variant of the session the recorded streams go through ``run_backtest`` (the same
engine, strategy and risk code), started from the same warm-up history; every decision (the
intents' instrument, side, purpose and quantity, or the skip reason) is compared with the one
the variant took live at the same event. What differs is listed with its time and both sides.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from runner.engine.backtest import run_backtest
from runner.errors import BadInputError
from runner.kinds.base import MarketEvent
from runner.ledger.store import Ledger
from runner.marketdata.recorder import decision_json, position_json, resolve
from runner.marketdata.timestamps import to_iso
from runner.spec.deployment_config import VenuesConfig
from runner.spec.load import LoadedVariant, load_variant, parse_variant


def find_session(home: Path, session: str) -> Path:
    for cand in (Path(session), home / "state" / "recordings" / session):
        if (cand / "session.json").exists():
            return cand
    raise BadInputError(f"{session}: no recorded session there (see state/recordings/)")


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        return [json.loads(line) for line in fh if line.strip()]


def compare(live: list[dict[str, Any]], backtest: list[tuple[float, Any, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """(identical, divergences) over the live decisions, matched to the backtest's by event time.

    A divergence taken on different positions is ``cause: fills`` (the venue filled what the
    recording could not reproduce, or the other way round: by nature, not a logic difference);
    on the same positions it is ``cause: decision`` (the variant itself decided otherwise);
    an event the backtest never saw is ``cause: missing``."""
    by_ts: dict[float, deque[tuple[Any, Any]]] = defaultdict(deque)
    for ts, d, pos in backtest:
        by_ts[ts].append((d, pos))
    same, diverged = 0, []
    for row in live:
        queue = by_ts.get(row["ts"])
        seen = bool(queue)  # an event the backtest had (one decision per event it saw)
        got, pos = queue.popleft() if queue else (None, None)
        if got == row["decision"]:
            same += 1
            continue
        live_pos = row.get("position", {})
        cause = "missing" if not seen else ("fills" if pos != live_pos else "decision")
        diverged.append({"ts": to_iso(row["ts"]), "live": row["decision"], "backtest": got, "cause": cause,
                         "live_position": live_pos, "backtest_position": pos})
    return same, diverged


def venue_defers(venues: VenuesConfig | None, account: str) -> bool:
    """Whether the account held taking orders for the next step as the backtest does (the sim
    with ``fill_latency: next_step``). Elsewhere the venue matched on its own book, at submit,
    with queues and latency no recording holds: a ``fills`` divergence there is by nature."""
    acc = venues.accounts.get(account) if venues is not None else None
    if acc is None or acc.adapter != "sim":
        return False
    return acc.settings.get("fill_latency", "none") == "next_step"


BY_NATURE = ("the venue matched these orders on its own book (at submit, with its queues), which no "
             "recording holds: the positions differ by nature, not by the variant")


def _as_handed(live_from: dict[str, float] | None, warm_until: float | None
               ) -> Callable[[Iterator[MarketEvent]], Iterator[MarketEvent]] | None:
    """Only the events the variant was handed live: a stream file it shares with other variants
    holds rows from before its first live event of that instrument (another variant's warm-up
    history, a bar that closed before it started) that it never saw; its own warm-up rows stay
    (they seed it). Recordings without ``live_from`` (older ones) replay every row."""
    if live_from is None:
        return None

    def clip(events: Iterator[MarketEvent]) -> Iterator[MarketEvent]:
        for ev in events:
            start = live_from.get(ev.instrument, float("inf"))
            if ev.ts >= start or (warm_until is not None and ev.ts <= warm_until):
                yield ev

    return clip


def parity(session_dir: Path, venues: VenuesConfig | None, variant: str | None = None,
           replacement: LoadedVariant | None = None) -> dict[str, Any]:
    meta = json.loads((session_dir / "session.json").read_text())
    wanted = variant or (replacement.id if replacement else None)
    if wanted and wanted not in meta["variants"]:
        raise BadInputError(f"{wanted}: not a variant of session {meta['session']} "
                            f"(it has {', '.join(sorted(meta['variants'])) or 'none'})")
    out = []
    for vid, v in sorted(meta["variants"].items()):
        if wanted and vid != wanted:
            continue
        loaded = replacement if replacement is not None else parse_variant(v["yaml"], Path(f"{vid}.yaml"), venues)
        data = [(sym, resolve(session_dir, name)) for sym, name in v["files"].items()]
        data = [(sym, p) for sym, p in data if p.exists()]
        live = _lines(resolve(session_dir, f"decisions/{vid}.jsonl"))
        got: list[tuple[float, Any, Any]] = []
        if data and live:
            with tempfile.TemporaryDirectory() as tmp:
                ledger = Ledger(f"sqlite:///{tmp}/parity.db")
                try:
                    run_backtest(loaded, data, ledger, venues, seed_until=v.get("warm_until"),
                                 clip=_as_handed(v.get("live_from"), v.get("warm_until")),
                                 on_decision=lambda ev, d, views, got=got: got.append(
                                     (ev.ts, decision_json(d), position_json(views))))  # type: ignore[misc]
                finally:
                    ledger.close()
        same, diverged = compare(live, got)
        causes: dict[str, int] = {}
        natural = not venue_defers(venues, v.get("account", ""))
        for d in diverged:
            causes[d["cause"]] = causes.get(d["cause"], 0) + 1
            d["by_nature"] = natural and d["cause"] == "fills"
        out.append({"id": vid, "events": len(live), "identical": same,
                    "share": same / len(live) if live else 1.0, "causes": causes, "divergences": diverged,
                    "fills_by_nature": BY_NATURE if natural else None})
    return {"session": meta["session"], "variants": out}


def load_replacement(path: Path | None, venues: VenuesConfig | None) -> LoadedVariant | None:
    return load_variant(path, venues) if path is not None else None
