"""Readers for the recorded formats of the spec, detected by header.

bars CSV ``timestamp,open,high,low,close,volume``; quotes CSV ``timestamp,bid,bid_size,ask,
ask_size``; order books JSON Lines ``{"ts", "bids", "asks"}``; funding CSV ``timestamp,rate``;
binary-market books JSON Lines ``{"ts", "market", "yes_bids", "no_bids"}``. Common aliases seen
in exported data (``open_time``, ``date``, ``bid_px``, ``fundingRate``...) are accepted. A bad
row raises :class:`BadInputError` naming the file and line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from runner.errors import BadInputError
from runner.kinds.base import NO_EXTRA, MarketEvent
from runner.marketdata.timestamps import epoch_seconds, parse_any, parser_for

TS_NAMES = ("timestamp", "ts", "time", "date", "datetime", "open_time", "time_ms", "local_ts_ns")
ALIASES = {
    "bid": ("bid", "bid_px", "bid_price", "best_bid"),
    "ask": ("ask", "ask_px", "ask_price", "best_ask"),
    "bid_size": ("bid_size", "bid_sz", "bid_qty"),
    "ask_size": ("ask_size", "ask_sz", "ask_qty"),
    "close": ("close",),
    "volume": ("volume",),
    "rate": ("rate", "funding_rate", "fundingrate", "fundingRate"),
}


def _col(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for n in names:
        if n.lower() in lowered:
            return lowered.index(n.lower())
    return None


def sniff(path: Path) -> str:
    """bars | quotes | funding | books | binary_books"""
    try:
        with path.open(encoding="utf-8") as fh:
            first = fh.readline().strip()
    except FileNotFoundError:
        raise BadInputError(f"{path}: data file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{path}: cannot read: {exc}") from None
    if not first:
        raise BadInputError(f"{path}:1: empty data file")
    if first.startswith("{"):
        try:
            row = json.loads(first)
        except json.JSONDecodeError as exc:
            raise BadInputError(f"{path}:1: invalid JSON: {exc.msg}") from None
        if "yes_bids" in row:
            return "binary_books"
        if "bids" in row:
            return "books"
        raise BadInputError(f"{path}:1: JSON Lines without bids/asks or yes_bids/no_bids")
    header = next(csv.reader([first]))
    if _col(header, TS_NAMES) is None:
        raise BadInputError(f"{path}:1: no timestamp column (expected one of {', '.join(TS_NAMES)})")
    if _col(header, ALIASES["bid"]) is not None:
        return "quotes"
    if _col(header, ALIASES["close"]) is not None:
        return "bars"
    if _col(header, ALIASES["rate"]) is not None:
        return "funding"
    raise BadInputError(f"{path}:1: unknown CSV header {first!r}: expected bars, quotes or funding")


def read_events(path: Path, instrument: str) -> Iterator[MarketEvent]:
    kind = sniff(path)
    if kind == "bars":
        return read_bars(path, instrument)
    if kind == "quotes":
        return read_quotes(path, instrument)
    if kind == "books":
        return read_books(path, instrument)
    if kind == "funding":
        return read_funding(path, instrument)
    return read_binary_books(path)


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str], list[str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        for lineno, row in enumerate(reader, start=2):
            if row:
                yield lineno, header, row


def read_bars(path: Path, instrument: str) -> Iterator[MarketEvent]:
    """Each bar becomes one event at its close; bid = ask = close (no book: no OBI gate).

    Lines are split on commas directly (twice as fast as the csv module); a line with a quote
    character goes through the csv module.
    """
    with path.open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader([fh.readline()]), [])
        its = _col(header, TS_NAMES)
        ic = _col(header, ALIASES["close"])
        iv = _col(header, ALIASES["volume"])
        assert its is not None and ic is not None
        need = max(its, ic, iv if iv is not None else 0) + 1
        parse_ts = None
        epoch = False  # epoch seconds are parsed inline; ms/us/ns and ISO go through parse_ts
        lineno = 1
        try:
            for line in fh:
                lineno += 1
                row = line.rstrip("\r\n").split(",") if '"' not in line else next(csv.reader([line]), [])
                if len(row) < need:
                    if not line.strip():
                        continue
                    raise ValueError(f"expected {need} columns, got {len(row)}")
                if parse_ts is None:
                    parse_ts = parser_for(row[its])
                    epoch = parse_ts is epoch_seconds
                close = float(row[ic])
                vol = float(row[iv]) if iv is not None and row[iv] else 0.0
                if not close > 0:
                    raise ValueError(f"close must be positive, got {row[ic]!r}")
                if epoch:
                    ts = float(row[its])
                    if ts > 1e11:
                        ts = epoch_seconds(row[its])
                else:
                    ts = parse_ts(row[its])
                yield MarketEvent(ts, instrument, close, close, (), (), vol, NO_EXTRA)
        except ValueError as exc:
            raise BadInputError(f"{path}:{lineno}: bad bar row: {exc}") from None


def read_quotes(path: Path, instrument: str) -> Iterator[MarketEvent]:
    parse_ts = None
    idx = None
    for lineno, header, row in _csv_rows(path):
        try:
            if idx is None:
                idx = [_col(header, TS_NAMES)] + [_col(header, ALIASES[k]) for k in ("bid", "bid_size", "ask", "ask_size")]
                if None in idx:
                    raise ValueError("header needs timestamp,bid,bid_size,ask,ask_size")
                parse_ts = parser_for(row[idx[0]])
            its, ib, ibs, ia, ias = idx  # type: ignore[misc]
            bid, ask = float(row[ib]), float(row[ia])
            if not (0 < bid <= ask):
                raise ValueError(f"need 0 < bid <= ask, got bid={bid} ask={ask}")
            assert parse_ts is not None
            yield MarketEvent(parse_ts(row[its]), instrument, bid, ask, (float(row[ibs]),), (float(row[ias]),), 0.0,
                              NO_EXTRA)
        except (ValueError, IndexError) as exc:
            raise BadInputError(f"{path}:{lineno}: bad quote row: {exc}") from None


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:  # type: ignore[type-arg]
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadInputError(f"{path}:{lineno}: invalid JSON: {exc.msg}") from None
            if not isinstance(row, dict):
                raise BadInputError(f"{path}:{lineno}: expected a JSON object")
            yield lineno, row


def read_books(path: Path, instrument: str) -> Iterator[MarketEvent]:
    for lineno, row in _jsonl(path):
        try:
            bids, asks = row["bids"], row["asks"]
            if not bids or not asks:
                raise ValueError("empty side")
            bid, ask = float(bids[0][0]), float(asks[0][0])
            if bid > ask:
                raise ValueError(f"crossed book: bid {bid} > ask {ask}")
            yield MarketEvent(
                parse_any(row["ts"]), row.get("instrument", instrument), bid, ask,
                tuple(float(s) for _, s in bids), tuple(float(s) for _, s in asks),
                float(row.get("volume", 0.0)),
            )
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise BadInputError(f"{path}:{lineno}: bad book row: {exc!s}") from None


def read_funding(path: Path, instrument: str) -> Iterator[MarketEvent]:
    """Funding rows become events carrying ``extra['funding_rate']`` (no prices)."""
    parse_ts = None
    idx = None
    for lineno, header, row in _csv_rows(path):
        try:
            if idx is None:
                idx = (_col(header, TS_NAMES), _col(header, ALIASES["rate"]) or _col(header, ("open",)))
                if None in idx:
                    raise ValueError("header needs timestamp,rate")
                parse_ts = parser_for(row[idx[0]])  # type: ignore[index]
            assert parse_ts is not None
            rate = float(row[idx[1]])  # type: ignore[index]
            ts = parse_ts(row[idx[0]])  # type: ignore[index]
            # each row is a settled interval: the engine books the variant's funding from it
            yield MarketEvent(ts, instrument, 0.0, 0.0, extra={"funding_rate": rate, "funding_settled_id": ts,
                                                               "funding_settled_rate": rate, "funding_settled_ts": ts})
        except (ValueError, IndexError) as exc:
            raise BadInputError(f"{path}:{lineno}: bad funding row: {exc}") from None


def read_binary_books(path: Path) -> Iterator[MarketEvent]:
    """Binary-market books: YES bid/ask in cents as bid/ask; NO book in ``extra``.

    Asks are implied: yes_ask = 100 - best no_bid, no_ask = 100 - best yes_bid.
    """
    for lineno, row in _jsonl(path):
        try:
            yes, no = row.get("yes_bids") or [], row.get("no_bids") or []
            if "result" not in row and ("yes_bids" not in row or "no_bids" not in row):
                raise KeyError("yes_bids/no_bids")
            yes_bid = float(yes[0][0]) if yes else 0.0
            no_bid = float(no[0][0]) if no else 0.0
            extra = {
                "yes_bid": yes_bid, "yes_bid_size": float(yes[0][1]) if yes else 0.0,
                "no_bid": no_bid, "no_bid_size": float(no[0][1]) if no else 0.0,
                "yes_ask": 100.0 - no_bid if no else 100.0, "no_ask": 100.0 - yes_bid if yes else 100.0,
            }
            if "result" in row:  # optional settlement row: {"ts", "market", "result": "yes"|"no"}
                if row["result"] not in ("yes", "no"):
                    raise ValueError(f"result must be 'yes' or 'no', got {row['result']!r}")
                ts = parse_any(row["ts"])
                extra.update(settled_id=float(row.get("round", ts)), settled_ts=ts,
                             settled_yes=100.0 if row["result"] == "yes" else 0.0)
            yield MarketEvent(
                parse_any(row["ts"]), str(row["market"]), yes_bid, extra["yes_ask"],
                tuple(float(s) for _, s in yes), tuple(float(s) for _, s in no), extra=extra,
            )
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise BadInputError(f"{path}:{lineno}: bad binary book row: {exc!s}") from None
