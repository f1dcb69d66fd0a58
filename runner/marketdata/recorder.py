"""Recordings of paper and live sessions, in the very formats `runner backtest` reads.

``state/recordings/<session>/`` holds one file per stream a variant consumed (bars CSV, quotes
CSV, books JSON Lines, binary-market books JSON Lines), written once per event however many
variants share it, and one decision log per variant (``decisions/<variant>.jsonl``: the time
of each event and what the variant decided, intents or the reason it did not act). Warm-up
bars taken from the venue's history are written too, and ``session.json`` says up to when
each variant was only warming, so a backtest of the session starts from the same state.
Files are gzip-compressed when the session closes; older sessions are pruned by age.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from runner.kinds.base import Decision, MarketEvent, PositionView
from runner.marketdata.session_names import latest  # noqa: F401 - re-exported

StreamKey = tuple[str, int]


def session_name(now: float | None = None) -> str:
    t = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    return t.strftime("%Y%m%dT%H%M%SZ")


def stream_file(account: str, sym: str, key: StreamKey, binary: bool, book_depth: int = 0) -> str:
    """A stream's file; bars sampled with ``book_depth`` levels of the book have a file per depth
    (each variant gates on exactly the levels recorded)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", sym)
    kind, n = key
    if kind == "bars":
        return f"{account}__{safe}__bars-{n}s{f'-book{book_depth}' if book_depth else ''}.csv"
    if kind == "quotes":
        return f"{account}__{safe}__quotes.csv"
    return f"{account}__{safe}__{'binary-books' if binary else 'books'}-{n}.jsonl"


def position_json(views: Mapping[str, PositionView]) -> dict[str, float]:
    """The positions a decision was taken on (what the strategy saw: dust hidden)."""
    return {sym: float(f"{v.qty:.10g}") for sym, v in sorted(views.items()) if v.qty}


def decision_json(decision: Decision) -> Any:
    if isinstance(decision, str):
        return decision
    return [{"instrument": i.instrument, "side": i.side, "purpose": i.purpose,
             "qty": None if i.qty is None else float(f"{i.qty:.10g}")} for i in decision]


def levels(prices: Sequence[float], sizes: Sequence[float]) -> str:
    """A side of the book sampled at a bar's close, for its CSV row: ``price:size`` best first,
    space-separated (no comma: one column)."""
    return " ".join(f"{p!r}:{s!r}" for p, s in zip(prices, sizes, strict=False))


class Recorder:
    def __init__(self, root: Path, session: str | None = None) -> None:
        self.session = session or session_name()
        root.mkdir(parents=True, exist_ok=True)
        if session is None:  # two runners of one home started in the same second: one directory each
            n = 1
            while True:
                try:
                    (root / self.session).mkdir()
                    break
                except FileExistsError:
                    n += 1
                    self.session = f"{session_name()}-{n}"
        self.dir = root / self.session
        (self.dir / "decisions").mkdir(parents=True, exist_ok=True)
        self._files: dict[str, IO[str]] = {}
        self._last: dict[str, float] = {}
        self._settled: dict[tuple[str, str], float] = {}  # (file, market) -> settlement id written
        self.meta: dict[str, Any] = {"session": self.session, "started": time.time(), "variants": {}}
        self._write_meta()

    def _write_meta(self) -> None:
        (self.dir / "session.json").write_text(json.dumps(self.meta, indent=1))

    def variant(self, vid: str, yaml_text: str, account: str, files: dict[str, str],
                warm_until: float | None) -> None:
        """A variant joined the session: its file, and the recorded file of each instrument."""
        self.meta["variants"][vid] = {"yaml": yaml_text, "account": account, "files": files,
                                      "warm_until": warm_until}
        self._write_meta()

    def live_from(self, vid: str, instrument: str, ts: float) -> None:
        """The first live event ``vid`` was handed of ``instrument``: a stream file shared with
        other variants holds earlier rows (another variant's warm-up history, a bar closed before
        this one started) that this variant never saw, and its replay must not see them either."""
        self.meta["variants"][vid].setdefault("live_from", {})[instrument] = ts
        self._write_meta()

    def _open(self, name: str, header: str | None) -> IO[str]:
        fh = self._files.get(name)
        if fh is None:
            path = self.dir / name
            new = not path.exists()
            fh = self._files[name] = path.open("a", encoding="utf-8")
            if new and header:
                fh.write(header)
        return fh

    def event(self, name: str, key: StreamKey, ev: MarketEvent, binary: bool,
              bar: tuple[float, ...] | None = None) -> None:
        """Write ``ev`` to its stream file once (the variants of one stream share it); a bar with
        the high and low its builder saw (else its open and close bound it), the touch and time an
        order decided at its open met, and the book at its close (``bar``: high, low[, fill bid,
        fill ask, fill time])."""
        if ev.ts <= self._last.get(name, -1.0):
            return
        self._last[name] = ev.ts
        kind, n = key
        if kind == "bars":
            fh = self._open(name, "timestamp,open,high,low,close,volume,funding_rate,funding_interval_s,"
                                  "fill_bid,fill_ask,fill_ts,bids,asks\n")
            x = ev.extra or {}
            rate, every = x.get("funding_rate"), x.get("funding_interval_s")
            high, low = bar[:2] if bar else (max(ev.open, ev.bid), min(ev.open, ev.bid))
            touch = f"{bar[2]!r},{bar[3]!r},{bar[4]!r}" if bar and len(bar) == 5 else ",,"
            fh.write(f"{ev.ts - n!r},{ev.open!r},{high!r},{low!r},{ev.bid!r},{ev.volume!r},"
                     f"{'' if rate is None else repr(float(rate))},{'' if every is None else repr(float(every))},"
                     f"{touch},{levels(ev.bid_prices, ev.bid_sizes)},{levels(ev.ask_prices, ev.ask_sizes)}\n")
        elif kind == "quotes":
            fh = self._open(name, "timestamp,bid,bid_size,ask,ask_size\n")
            b = ev.bid_sizes[0] if ev.bid_sizes else 0.0
            a = ev.ask_sizes[0] if ev.ask_sizes else 0.0
            fh.write(f"{ev.ts!r},{ev.bid!r},{b!r},{ev.ask!r},{a!r}\n")
        elif binary:  # every sampled level: YES bids, and NO bids (100 - each YES ask)
            x = ev.extra
            if ev.bid_prices or ev.ask_prices:
                yes = [[p, s] for p, s in zip(ev.bid_prices, ev.bid_sizes, strict=False) if p > 0][:n]
                no = [[100.0 - p, s] for p, s in zip(ev.ask_prices, ev.ask_sizes, strict=False) if p < 100][:n]
            else:
                yes = [[x.get("yes_bid", 0.0), x.get("yes_bid_size", 0.0)]] if x.get("yes_bid") else []
                no = [[x.get("no_bid", 0.0), x.get("no_bid_size", 0.0)]] if x.get("no_bid") else []
            row = {"ts": ev.ts, "market": ev.instrument, "yes_bids": yes, "no_bids": no}
            sid = x.get("settled_id")
            if sid is not None and self._settled.get((name, ev.instrument)) != sid:  # once per settlement
                self._settled[(name, ev.instrument)] = sid
                row.update(result="yes" if x.get("settled_yes", 0.0) >= 50.0 else "no", round=sid,
                           settled_ts=x.get("settled_ts", ev.ts))
            self._open(name, None).write(json.dumps(row) + "\n")
        else:
            row = {"ts": ev.ts, "instrument": ev.instrument, "volume": ev.volume,
                   "bids": [list(p) for p in zip(ev.bid_prices or (ev.bid,), ev.bid_sizes, strict=False)],
                   "asks": [list(p) for p in zip(ev.ask_prices or (ev.ask,), ev.ask_sizes, strict=False)]}
            self._open(name, None).write(json.dumps(row) + "\n")

    def decision(self, vid: str, ev: MarketEvent, decision: Decision, views: Mapping[str, PositionView]) -> None:
        fh = self._open(f"decisions/{vid}.jsonl", None)
        fh.write(json.dumps({"ts": ev.ts, "decision": decision_json(decision), "position": position_json(views)})
                 + "\n")

    def flush(self) -> None:
        for fh in self._files.values():
            fh.flush()

    def close(self) -> None:
        """Close every file and compress it (``runner backtest`` reads ``.gz`` as is)."""
        names = list(self._files)
        for fh in self._files.values():
            fh.close()
        self._files.clear()
        for name in names:
            path = self.dir / name
            with path.open("rb") as src, gzip.open(f"{path}.gz", "wb") as dst:
                shutil.copyfileobj(src, dst)
            path.unlink()
        self.meta["files_compressed"] = True
        self._write_meta()


def prune(root: Path, keep_days: float, now: float | None = None) -> list[str]:
    """Remove sessions older than ``keep_days``; returns their names."""
    if not root.is_dir():
        return []
    cutoff = (now if now is not None else time.time()) - keep_days * 86400
    gone = []
    for d in sorted(root.iterdir()):
        if d.is_dir() and d.stat().st_mtime < cutoff:
            shutil.rmtree(d, ignore_errors=True)
            gone.append(d.name)
    return gone


def resolve(path: Path, name: str) -> Path:
    """A recorded file by its name, compressed or not."""
    plain = path / name
    return plain if plain.exists() else path / f"{name}.gz"
