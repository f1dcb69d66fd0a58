"""Readers for the recorded formats of the spec, detected by header.

bars CSV ``timestamp,open,high,low,close,volume``; quotes CSV ``timestamp,bid,bid_size,ask,
ask_size``; order books JSON Lines ``{"ts", "bids", "asks"}``; funding CSV ``timestamp,rate``;
binary-market books JSON Lines ``{"ts", "market", "yes_bids", "no_bids"}``. Common aliases seen
in exported data (``open_time``, ``date``, ``bid_px``, ``fundingRate``...) are accepted. A bad
row raises :class:`BadInputError` naming the file and line.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from runner.errors import BadInputError
from runner.kinds.base import NO_EXTRA, MarketEvent
from runner.marketdata.timestamps import epoch_seconds, parse_any, parser_for, to_iso

TS_NAMES = ("timestamp", "ts", "time", "date", "datetime", "open_time", "time_ms", "local_ts_ns")
ALIASES = {
    "bid": ("bid", "bid_px", "bid_price", "best_bid"),
    "ask": ("ask", "ask_px", "ask_price", "best_ask"),
    "bid_size": ("bid_size", "bid_sz", "bid_qty"),
    "ask_size": ("ask_size", "ask_sz", "ask_qty"),
    "close": ("close",),
    "open": ("open",),
    "volume": ("volume",),
    "rate": ("rate", "funding_rate", "fundingrate", "fundingRate"),
}


def _open(path: Path, newline: str | None = None):  # type: ignore[no-untyped-def]
    """A data file as text; ``.gz`` (a closed recording) is read as is. Only a regular file is
    opened: a FIFO would block the backtest forever and /dev/zero would never end."""
    mode = os.stat(path).st_mode  # follows a symlink: a link to /dev/zero is a device
    if not stat.S_ISREG(mode):
        what = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a directory" if stat.S_ISDIR(mode) else "not a regular file")
        raise BadInputError(f"{path}: {what}: only regular files are read as data")
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline=newline)
    return path.open(encoding="utf-8", newline=newline)


def _out_of_order(ts: float, prev: float) -> ValueError:
    if ts == prev:
        return ValueError(f"duplicated timestamp {to_iso(ts)} (the row before has it too)")
    return ValueError(f"rows out of time order: {to_iso(ts)} comes after {to_iso(prev)}")


def _col(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for n in names:
        if n.lower() in lowered:
            return lowered.index(n.lower())
    return None


def sniff(path: Path) -> str:
    """bars | quotes | funding | books | binary_books"""
    try:
        with _open(path) as fh:
            first = fh.readline().strip()
    except FileNotFoundError:
        raise BadInputError(f"{path}: data file not found") from None
    except (OSError, UnicodeDecodeError, EOFError) as exc:
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


def read_events(path: Path, instrument: str, timeframe_s: float | None = None) -> Iterator[MarketEvent]:
    kind = sniff(path)
    if kind == "bars":
        return read_bars(path, instrument, timeframe_s)
    if kind == "quotes":
        return read_quotes(path, instrument)
    if kind == "books":
        return read_books(path, instrument)
    if kind == "funding":
        return read_funding(path, instrument)
    return read_binary_books(path)


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str], list[str]]]:
    with _open(path, "") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        for lineno, row in enumerate(reader, start=2):
            if row:
                yield lineno, header, row


def read_bars(path: Path, instrument: str, timeframe_s: float | None = None) -> Iterator[MarketEvent]:
    """Each bar becomes one event at its close (``timestamp`` is the bar's open: the bar is
    known ``timeframe_s`` later), carrying its open for the fill of orders decided on the bar
    before; bid = ask = close. A recording's optional ``bids``/``asks`` columns hold the book
    sampled at the close (``price:size`` levels), which the bar carries as a live one does (an
    OBI gate reads it); without them a bar has no book (no OBI gate). Without ``timeframe_s`` the spacing of
    the first two rows is the timeframe. Rows closer together than the timeframe, out of
    order or duplicated are refused with their line.

    Lines are split on commas directly (twice as fast as the csv module); a line with a quote
    character goes through the csv module.
    """
    with _open(path, "") as fh:
        header = next(csv.reader([fh.readline()]), [])
        its = _col(header, TS_NAMES)
        ic = _col(header, ALIASES["close"])
        iv = _col(header, ALIASES["volume"])
        io = _col(header, ALIASES["open"])
        ifr = _col(header, ("funding_rate",))  # optional: the perp's current funding rate (recordings)
        ifi = _col(header, ("funding_interval_s",))  # optional: the interval the venue states (recordings)
        iob = _col(header, ("fill_bid",))  # optional: the touch an order sent at its open met (recordings)
        ioa = _col(header, ("fill_ask",))
        iot = _col(header, ("fill_ts",))  # optional: when that order met it (recordings)
        ibk, iak = _col(header, ("bids",)), _col(header, ("asks",))  # optional: the book at the close (recordings)
        book = ibk is not None and iak is not None
        assert its is not None and ic is not None
        need = max(its, ic, iv if iv is not None else 0, io if io is not None else 0) + 1
        parse_ts = None
        epoch = False  # epoch seconds are parsed inline; ms/us/ns and ISO go through parse_ts
        lineno = 1
        tf = timeframe_s
        prev = -1e300
        exact = timeframe_s is None
        pending: tuple[float, float, float, float] | None = None  # (open ts, open, close, volume): tf unknown yet
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
                opn = float(row[io]) if io is not None and row[io] else close
                if not close > 0:
                    raise ValueError(f"close must be positive, got {row[ic]!r}")
                if epoch:
                    ts = float(row[its])
                    if ts > 1e11:
                        ts = epoch_seconds(row[its])
                else:
                    ts = parse_ts(row[its])
                if ts - prev <= (tf or 0.0):
                    if ts <= prev:
                        raise _out_of_order(ts, prev)
                    if ts - prev < tf:  # type: ignore[operator]
                        raise ValueError(f"bars {ts - prev:g} s apart, closer than the variant's timeframe of "
                                         f"{tf:g} s (declare data: {{bars: ...}} to match the file)")
                    exact = True  # at least two bars one timeframe apart: the file is of this timeframe
                if tf is None:
                    if pending is None:
                        pending = (ts, opn, close, vol)
                        prev = ts
                        continue
                    tf = ts - pending[0]
                    yield MarketEvent(pending[0] + tf, instrument, pending[2], pending[2], (), (), pending[3],
                                      NO_EXTRA, pending[1])
                prev = ts
                extra = NO_EXTRA if ifr is None or len(row) <= ifr or not row[ifr] else {"funding_rate": float(row[ifr])}
                if ifi is not None and len(row) > ifi and row[ifi]:
                    extra = {**extra, "funding_interval_s": float(row[ifi])}
                if iob is not None and ioa is not None and len(row) > max(iob, ioa) and row[iob] and row[ioa]:
                    extra = {**extra, "fill_bid": float(row[iob]), "fill_ask": float(row[ioa])}
                    if iot is not None and len(row) > iot and row[iot]:
                        extra["fill_ts"] = float(row[iot])
                if book and len(row) > max(ibk, iak) and (row[ibk] or row[iak]):  # type: ignore[call-overload]
                    bp, bs = _levels(row[ibk])  # type: ignore[index]
                    ap, asz = _levels(row[iak])  # type: ignore[index]
                    yield MarketEvent(ts + tf, instrument, close, close, bs, asz, vol, extra, opn, bp, ap)
                    continue
                yield MarketEvent(ts + tf, instrument, close, close, (), (), vol, extra, opn)
        except ValueError as exc:
            raise BadInputError(f"{path}:{lineno}: bad bar row: {exc}") from None
        if pending is not None and tf is None:  # a single bar: its timeframe cannot be told
            raise BadInputError(f"{path}:2: one bar only: its timeframe cannot be told (declare data: {{bars: ...}})")
        if not exact and prev > -1e300 and lineno > 2:
            raise BadInputError(f"{path}:3: no two bars are {tf:g} s apart: the file's bars are of a longer "
                                "timeframe than the variant consumes (declare data: {bars: ...} to match the file)")


def _levels(text: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``price:size price:size`` (a recorded bar's book side) -> (prices, sizes)."""
    pairs = [lv.split(":") for lv in text.split()]
    if any(len(p) != 2 for p in pairs):
        raise ValueError(f"book levels must be price:size separated by spaces, got {text!r}")
    return tuple(float(p) for p, _ in pairs), tuple(float(s) for _, s in pairs)


def read_quotes(path: Path, instrument: str) -> Iterator[MarketEvent]:
    parse_ts = None
    prev = -1e300
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
            ts = parse_ts(row[its])
            if ts <= prev:
                raise _out_of_order(ts, prev)
            prev = ts
            yield MarketEvent(ts, instrument, bid, ask, (float(row[ibs]),), (float(row[ias]),), 0.0, NO_EXTRA)
        except (ValueError, IndexError) as exc:
            raise BadInputError(f"{path}:{lineno}: bad quote row: {exc}") from None


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:  # type: ignore[type-arg]
    with _open(path) as fh:
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
    """One event per book row, every level kept (prices and sizes): a backtest fills level by level."""
    prev: dict[str, float] = {}
    for lineno, row in _jsonl(path):
        try:
            bids, asks = row["bids"], row["asks"]
            if not bids or not asks:
                raise ValueError("empty side")
            bid, ask = float(bids[0][0]), float(asks[0][0])
            if bid > ask:
                raise ValueError(f"crossed book: bid {bid} > ask {ask}")
            ts = parse_any(row["ts"])
            inst = str(row.get("instrument", instrument))
            if ts <= prev.get(inst, -1e300):
                raise _out_of_order(ts, prev[inst])
            prev[inst] = ts
            yield MarketEvent(
                ts, inst, bid, ask, tuple(float(s) for _, s in bids), tuple(float(s) for _, s in asks),
                float(row.get("volume", 0.0)), NO_EXTRA, 0.0,
                tuple(float(p) for p, _ in bids), tuple(float(p) for p, _ in asks),
            )
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise BadInputError(f"{path}:{lineno}: bad book row: {exc!s}") from None


def read_funding(path: Path, instrument: str) -> Iterator[MarketEvent]:
    """Funding rows become events carrying ``extra['funding_rate']`` (no prices)."""
    parse_ts = None
    prev = -1e300
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
            if ts <= prev:
                raise _out_of_order(ts, prev)
            prev = ts
            # each row is a settled interval: the engine books the variant's funding from it
            yield MarketEvent(ts, instrument, 0.0, 0.0, extra={"funding_rate": rate, "funding_settled_id": ts,
                                                               "funding_settled_rate": rate, "funding_settled_ts": ts})
        except (ValueError, IndexError) as exc:
            raise BadInputError(f"{path}:{lineno}: bad funding row: {exc}") from None


def read_binary_books(path: Path) -> Iterator[MarketEvent]:
    """Binary-market books: YES bid/ask in cents as bid/ask; NO book in ``extra``.

    Asks are implied: yes_ask = 100 - best no_bid, no_ask = 100 - best yes_bid. Rows are in
    time order per market; a settlement row may share its book's timestamp. A market's last
    settlement stays on its later rows, as a venue's book keeps naming it (the kind counts its
    rounds by it; the engine books each settlement once, by its id).
    """
    prev: dict[str, float] = {}
    settled: dict[str, dict[str, float]] = {}  # market -> its last settlement's facts
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
                settled[str(row["market"])] = {
                    "settled_id": float(row.get("round", ts)), "settled_ts": parse_any(row.get("settled_ts", ts)),
                    "settled_yes": 100.0 if row["result"] == "yes" else 0.0}
            ts, market = parse_any(row["ts"]), str(row["market"])
            if market in settled:
                extra.update(settled[market])
            last = prev.get(market, -1e300)
            if ts < last or (ts == last and "result" not in row):
                raise _out_of_order(ts, last)
            prev[market] = ts
            yield MarketEvent(
                ts, market, yes_bid, extra["yes_ask"],
                tuple(float(s) for _, s in yes), tuple(float(s) for _, s in no), extra=extra,
                bid_prices=tuple(float(p) for p, _ in yes), ask_prices=tuple(100.0 - float(p) for p, _ in no),
            )
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise BadInputError(f"{path}:{lineno}: bad binary book row: {exc!s}") from None
