"""The backtest report: equity, drawdown, trades on the price, exit and skip reasons, metrics.

One document (``report_doc``) rendered two ways from the same template: a self-contained HTML
file (``runner backtest --report FILE.html``: inline CSS and SVG, no network) and the body of
the dashboard's run page. Built after the run from the run's fills in the ledger and, when the
data files are at hand, their prices: nothing is added to the backtest's per-event path.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.readmodels.prices import thin

NOT_EXITS = {"entry", "quote", "funding", ""}


def _epoch(ts: str) -> float:
    d = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return (d if d.tzinfo else d.replace(tzinfo=UTC)).timestamp()


def data_prices(loaded: Any, data: list[tuple[str, Path]]) -> tuple[dict[str, list[tuple[float, float]]], set[str]]:
    """Each instrument's mid over the run, read again from the data files (thinned), and the
    binary legs among them: a binary market's book quotes ``M:yes`` and ``M:no`` in cents, as
    the replay venue lists them (asks implied by the opposite bids)."""
    from runner.engine.backtest import merged
    from runner.kinds.registry import get_kind
    from runner.marketdata.binding import open_streams

    kind = get_kind(loaded.spec.kind)
    cols: dict[str, tuple[array, array]] = {}  # type: ignore[type-arg]
    legs: set[str] = set()

    def add(sym: str, ts: float, bid: float, ask: float) -> None:
        if bid > 0 and ask > 0:
            t, y = cols.setdefault(sym, (array("d"), array("d")))
            t.append(ts)
            y.append((bid + ask) / 2)

    for ev in merged(open_streams(loaded, kind, data)):  # type: ignore[arg-type]
        x = ev.extra
        if "yes_ask" in x:
            legs.update((f"{ev.instrument}:yes", f"{ev.instrument}:no"))
            add(f"{ev.instrument}:yes", ev.ts, x.get("yes_bid", 0.0), x["yes_ask"])
            add(f"{ev.instrument}:no", ev.ts, x.get("no_bid", 0.0), x["no_ask"])
        else:
            add(ev.instrument, ev.ts, ev.bid, ev.ask)
    return {sym: thin(t, y) for sym, (t, y) in cols.items()}, legs


def equity_curve(fills: Sequence[Mapping[str, Any]], prices: Mapping[str, Sequence[tuple[float, float]]],
                 capital: float, scale: Mapping[str, float]) -> list[tuple[float, float]]:
    """Cash plus open quantities marked at the latest price, at every price point and fill.

    Without prices the fills' own prices mark the position (a curve that moves at fills only)."""
    events: list[tuple[float, int, Any]] = [(t, 1, (sym, p)) for sym, pts in prices.items() for t, p in pts]
    events += [(_epoch(f["ts"]), 0, f) for f in fills]
    events.sort(key=lambda e: (e[0], e[1]))
    cash, qty, mark = capital, {}, {}  # type: ignore[var-annotated]
    out: list[tuple[float, float]] = []
    for ts, is_price, item in events:
        if is_price:
            mark[item[0]] = item[1]
        else:
            sym, k = item["instrument"], scale.get(item["instrument"], 1.0)
            signed = item["qty"] * (1 if item["side"] == "buy" else -1)
            qty[sym] = qty.get(sym, 0.0) + signed
            cash -= (signed * item["price"] + item["fee"]) * k
            if item["qty"]:
                mark.setdefault(sym, item["price"])
                if sym not in prices:
                    mark[sym] = item["price"]
        eq = cash + sum(q * mark.get(s, 0.0) * scale.get(s, 1.0) for s, q in qty.items() if q)
        out.append((ts, eq))
    return thin([t for t, _ in out], [e for _, e in out])


def exit_reasons(fills: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Fills of every order that was not an entry, by the order's purpose."""
    return dict(Counter(f["purpose"] for f in fills if f.get("purpose") not in NOT_EXITS))


def report_doc(run: Mapping[str, Any], prices: Mapping[str, Sequence[tuple[float, float]]] | None,
               scale: Mapping[str, float], trades: Sequence[Mapping[str, Any]] = (), note: str = "") -> dict[str, Any]:
    """``run`` as ``runner.readmodels.backtests.backtest_run`` returns it."""
    m = run.get("metrics") or {}
    fills = run.get("fills_rows") or []
    capital = float(m.get("capital") or 0.0)
    return {"run_id": run["run_id"], "variant": run.get("variant"), "started": run.get("started"),
            "metrics": m, "skips": dict(run.get("skips") or {}), "exit_reasons": exit_reasons(fills),
            "equity": equity_curve(fills, prices or {}, capital, scale), "prices": dict(prices or {}),
            "fills": fills, "fills_truncated": run.get("fills_truncated", False), "trades": list(trades)[-200:],
            "currency": m.get("currency", ""), "events": run.get("events"),
            "note": note or ("Prices: the mids of the data files" if prices else
                             "No data files at hand: positions marked at their fill prices")}


def charts(doc: Mapping[str, Any]) -> dict[str, str]:
    from runner.viz import charts as c

    ccy = doc["currency"] or "account currency"
    return {"equity": c.equity_svg(doc["equity"], f"equity ({ccy})", width=12.0),
            "price": c.price_fills_svg(doc["prices"], doc["fills"][-2000:], width=12.0),
            "exits": c.bars_svg(doc["exit_reasons"], "fills"), "skips": c.bars_svg(doc["skips"], "events")}


def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["num"] = num
    env.filters["pct"] = lambda x: "-" if x is None else f"{x:.2%}"
    return env


def num(x: Any, places: int = 2) -> str:
    if x is None or x == "":
        return "-"
    if isinstance(x, int | float):
        return f"{x:,.{places}f}"
    return str(x)


def render(doc: Mapping[str, Any], standalone: bool = True) -> str:
    """The whole page (standalone: CSS inline) or the body the dashboard embeds."""
    env = _env()
    body = env.get_template("report_body.html").render(doc=doc, charts=charts(doc))
    if not standalone:
        return body
    css = (Path(__file__).parent / "templates" / "report.css").read_text()
    return env.get_template("report_page.html").render(doc=doc, body=body, css=css)


def write_report(path: Path, doc: Mapping[str, Any]) -> None:
    from runner.errors import BadInputError

    try:
        path.write_text(render(doc), encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"--report {path}: cannot write: {exc.strerror or exc}") from None


def check_report_path(path: Path) -> None:
    """Refuse a report path that cannot be written before the run starts, not after."""
    from runner.errors import BadInputError

    if not path.parent.is_dir() or path.is_dir():
        raise BadInputError(f"--report {path}: {'is a directory' if path.is_dir() else 'no such directory'}")


def backtest_report(path: Path, loaded: Any, data: list[tuple[str, Path]], ledger: Any, venues: Any,
                    result: Any) -> None:
    """What ``runner backtest --report`` writes, from the finished run and its data files."""
    from runner.engine.backtest import backtest_instruments
    from runner.money import CENTS_QUOTE, unit_scale
    from runner.readmodels.backtests import backtest_run

    run = backtest_run(ledger, result.run_id)
    assert run is not None, "the run was just stored"
    prices, legs = data_prices(loaded, data)
    scale = {s: float(unit_scale(i.quote)) for s, i in backtest_instruments(loaded, venues).items()}
    scale.update({leg: float(unit_scale(CENTS_QUOTE)) for leg in legs})
    write_report(path, report_doc(run, prices, scale, result.trades))


MAX_DATA_BYTES = 64 * 1024 * 1024
_stored: dict[str, tuple[dict[str, list[tuple[float, float]]], set[str]]] = {}


def stored_run_prices(ledger: Any, run: Mapping[str, Any], home: Path
                      ) -> tuple[dict[str, list[tuple[float, float]]], set[str]] | None:
    """The data a stored run replayed, read again when it is still there: one regular file (the
    run's start names it, relative paths taken from the home; with several, which instrument each
    fed is not recorded) of at most
    64 MiB, with the variant as it was then. Cached per run (a run never changes); None otherwise."""
    from runner.readmodels.backtests import runs_ledger

    rid = run["run_id"]
    if rid in _stored:
        return _stored[rid]
    led = runs_ledger(ledger, home)
    key = f"{run['variant']}@{rid}"
    dep = led.deployment(key)
    start = next((t for t in led.transitions(key, limit=None) if t.reason == "backtest_start"), None)
    if dep is None or start is None or not start.detail.startswith("data: ") or ", " in start.detail:
        return None
    path = Path(start.detail.removeprefix("data: "))
    path = path if path.is_absolute() else home / path  # as given to `runner backtest`, usually from the home
    if not path.is_file() or path.stat().st_size > MAX_DATA_BYTES:
        return None
    try:
        from runner.engine.backtest import bind_streams
        from runner.spec.deployment_config import load_venues
        from runner.spec.load import parse_variant

        loaded = parse_variant(dep.yaml_text, Path(dep.path), load_venues(home))
        got = data_prices(loaded, bind_streams(loaded, [str(path)]))
    except Exception:  # noqa: BLE001 - a file changed or gone since: the report falls back to fill prices
        return None
    _stored[rid] = got
    return got
