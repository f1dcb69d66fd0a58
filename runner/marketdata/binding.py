"""Recorded files bound to a variant: refused, with ``FILE:LINE``, when the variant cannot use them.

A backtest must mean what the same YAML means live, so a file whose stream is not the one the
variant consumes (``data:`` or its kind's default), a bar file of another timeframe, or a file
with none of the variant's instruments stops the run (exit 2) instead of running silently.
Side streams a kind declares (``funding``) ride along with the primary one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from runner.errors import BadInputError
from runner.kinds.base import MarketEvent, Strategy
from runner.marketdata.readers import read_events, sniff
from runner.spec.load import LoadedVariant


def stream_of_file(fmt: str) -> str:
    """The stream a recorded format carries (binary-market books are the books of binary kinds)."""
    return "books" if fmt == "binary_books" else fmt


def check_file(loaded: LoadedVariant, kind: type[Strategy], path: Path) -> str:
    """The file's format, once it is known the variant can consume it; else BadInputError at line 1."""
    fmt = sniff(path)
    stream = stream_of_file(fmt)
    want = loaded.stream
    if stream in kind.side_streams:
        return fmt
    if stream not in kind.streams:
        side = f", side streams: {', '.join(kind.side_streams)}" if kind.side_streams else ""
        raise BadInputError(f"{path}:1: {fmt.replace('_', ' ')} data, a stream kind {loaded.spec.kind} cannot use "
                            f"(it uses: {', '.join(kind.streams)}{side})")
    if (fmt == "binary_books") != kind.binary:
        what = "binary-market books" if fmt == "binary_books" else "order books of a non-binary market"
        raise BadInputError(f"{path}:1: {what}: kind {loaded.spec.kind} cannot use them")
    if stream != want.kind:
        raise BadInputError(
            f"{path}:1: {fmt.replace('_', ' ')} data, but {loaded.id} consumes {want.label.split(',')[0]} "
            f"(data: in its file, or its kind's default); give {want.kind} data or declare "
            f"data: {{{stream}: {'1m' if stream == 'bars' else 'true'}}}"
        )
    return fmt


def _for_variant(events: Iterator[MarketEvent], path: Path, instruments: list[str]) -> Iterator[MarketEvent]:
    """Only the variant's instruments; a file with none of them is refused."""
    wanted = set(instruments)
    seen: set[str] = set()
    used = False
    for ev in events:
        if ev.instrument in wanted:
            used = True
            yield ev
        elif len(seen) < 10:
            seen.add(ev.instrument)
    if not used:
        raise BadInputError(f"{path}:1: none of the rows is for {', '.join(instruments)} "
                            f"(the file has {', '.join(sorted(seen)) or 'no rows'})")


def open_streams(loaded: LoadedVariant, kind: type[Strategy], data: list[tuple[str, Path]]
                 ) -> list[Iterator[MarketEvent]]:
    """One event iterator per bound file; the bad ones are refused before anything runs."""
    tf = loaded.stream.timeframe_s
    out = []
    for inst, path in data:
        fmt = check_file(loaded, kind, path)
        events = read_events(path, inst, tf)
        if fmt in ("books", "binary_books"):  # rows name their instrument: keep the variant's
            events = _for_variant(events, path, loaded.spec.instruments)
        out.append(events)
    return out

