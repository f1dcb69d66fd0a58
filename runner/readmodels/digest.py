"""The daily digest: one line of at most 160 characters for a phone, plus the details.

``Trade audit 2026-05-14: sim +12.34 (31 fills), okx-paper -0.50 (3 fills). Findings: none.
Guards: none. Anomalies: none.`` PnL is realized net of fees on that UTC day (today's also
counts the open positions at their mark), summed per account in the account's currency.
Read-only; ``send`` hands the line and the details to the alert URLs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from runner.ledger.jsonable import aware
from runner.ledger.models import MAIN_RUN, FindingRow, GuardEvent, GuardState
from runner.ledger.positions import realized_on_day
from runner.ledger.store import T_ERRORS, T_TRANS, Ledger
from runner.ledger.types import iso

LINE_MAX = 160



def digest(ledger: Ledger, day: date, now: datetime | None = None, home: Path | None = None) -> dict[str, Any]:
    """``home``: also list the candidates a sweep or the scheduled tune wrote that day (never deployed)."""
    now = now or datetime.now(UTC)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    accounts = {d.variant: d.venue for d in ledger.deployments() if "@" not in d.variant}
    fills = list(reversed(ledger.fills(MAIN_RUN, limit=None)))  # oldest first, as positions were built
    by_variant: dict[str, list[Any]] = defaultdict(list)
    for f in fills:
        by_variant[f.variant].append(f)
    tracks: dict[str, dict[str, Any]] = {}
    anomalies: list[str] = []
    for v, rows in sorted(by_variant.items()):
        pnl = realized_on_day(((f.instrument, 1 if f.side == "buy" else -1, f.qty, f.price, f.fee, aware(f.ts))
                               for f in rows), day.isoformat())
        today = [f for f in rows if start <= aware(f.ts) < end]
        if day == now.date():
            pnl += sum((p.qty * (p.last_price - p.avg_price) for p in ledger.positions(MAIN_RUN, v)
                        if p.qty and p.last_price is not None), Decimal(0))
        if not today and not pnl:
            continue
        t = tracks.setdefault(accounts.get(v, rows[0].account), {"pnl": Decimal(0), "fills": 0, "fees": Decimal(0),
                                                                  "variants": []})
        t["pnl"] += pnl
        t["fills"] += len(today)
        t["fees"] += sum((f.fee for f in today), Decimal(0))
        t["variants"].append({"variant": v, "pnl": float(pnl), "fills": len(today)})
        flagged = [f for f in today if f.flag and f.flag != "close_dust"]
        if flagged:
            anomalies.append(f"{v}: {len(flagged)} fill(s) flagged {flagged[-1].flag}")
    tf, tg, tgs = FindingRow.__table__, GuardEvent.__table__, GuardState.__table__
    with ledger.engine.connect() as conn:
        findings = [{"check": r["check"], "severity": r["severity"], "variant": r["variant"], "summary": r["summary"],
                     "open": r["closed"] is None}
                    for r in conn.execute(select(tf).where(tf.c.first_seen < end)
                                          .where((tf.c.closed.is_(None)) | (tf.c.closed >= start))).mappings()
                    if r["severity"] != "info"]
        guards = sorted({r["name"] for r in conn.execute(select(tg).where(tg.c.ts >= start, tg.c.ts < end,
                                                                          tg.c.active.is_(True))).mappings()}
                        | ({r["name"] for r in conn.execute(select(tgs).where(tgs.c.active.is_(True))).mappings()}
                           if day == now.date() else set()))
        for r in conn.execute(select(T_TRANS).where(T_TRANS.c.ts >= start, T_TRANS.c.ts < end,
                                                    T_TRANS.c.to_state == "quarantined")).mappings():
            anomalies.append(f"{r['variant']} quarantined ({r['reason']})")
        anomalies += [f"{r['file']} did not deploy" for r in conn.execute(
            select(T_ERRORS).where(T_ERRORS.c.ts >= start, T_ERRORS.c.ts < end)).mappings()]
    from runner.tune.candidate_file import written_on

    candidates = written_on(home, day.isoformat()) if home is not None else []
    line = _line(day, tracks, findings, guards, anomalies)
    if candidates:
        line = _cut(f"{line} Candidates: {', '.join(str(c['candidate']) for c in candidates)}.")
    return {"day": day.isoformat(), "line": line, "candidates": candidates,
            "tracks": [{"venue": k, "pnl": float(t["pnl"]), "fills": t["fills"], "fees": float(t["fees"]),
                        "variants": t["variants"]} for k, t in sorted(tracks.items())],
            "findings": findings, "guards": guards, "anomalies": anomalies, "generated": iso(now),
            "note": "PnL realized net of fees on the UTC day (today: plus open positions at their mark), "
                    "in each account's currency"}


def _line(day: date, tracks: dict[str, dict[str, Any]], findings: list[dict[str, Any]], guards: list[str],
          anomalies: list[str]) -> str:
    pnl = ", ".join(f"{k} {t['pnl']:+.2f} ({t['fills']} fills)" for k, t in sorted(tracks.items())) or "no trades"
    crit = sum(1 for f in findings if f["severity"] == "critical")
    found = f"{len(findings)} ({crit} critical)" if findings else "none"
    line = (f"Trade audit {day.isoformat()}: {pnl}. Findings: {found}. Guards: {', '.join(guards) or 'none'}. "
            f"Anomalies: {len(anomalies) if anomalies else 'none'}.")
    return _cut(line)


def _cut(line: str) -> str:
    return line if len(line) <= LINE_MAX else line[:LINE_MAX - 1] + "…"


def text(doc: dict[str, Any]) -> str:
    """The line, then the details, as sent and printed."""
    out = [doc["line"], ""]
    for t in doc["tracks"]:
        out.append(f"{t['venue']}: {t['pnl']:+.2f}, {t['fills']} fills, fees {t['fees']:.2f}")
        out += [f"  {v['variant']}: {v['pnl']:+.2f} ({v['fills']} fills)" for v in t["variants"]]
    out += [f"finding: {f['severity']} {f['check']} {f['variant'] or ''}: {f['summary']}" for f in doc["findings"]]
    out += [f"guard: {g}" for g in doc["guards"]]
    out += [f"anomaly: {a}" for a in doc["anomalies"]]
    out += [f"candidate: {c['candidate']} from {c['from']} ({', '.join(f'{k}={v}' for k, v in (c['params'] or {}).items())}"
            f"; out-of-sample Sharpe {_num(c['sharpe'])} vs {_num(c['current_sharpe'])}): {c['path']} "
            "(review, then move into strategies.d/)" for c in doc.get("candidates", [])]
    return "\n".join(out)


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def send(ledger: Ledger, urls: list[str], day: date, home: Path | None = None) -> tuple[dict[str, Any], bool]:
    """Build the digest of ``day`` and send it to the alert URLs; (digest, delivered)."""
    from runner.audit.alerts import apprise_notifier

    doc = digest(ledger, day, home=home)
    notify = apprise_notifier(urls)
    return doc, bool(notify and notify(doc["line"], text(doc)))


def send_previous_day(ledger: Ledger, urls: list[str], now: datetime | None = None, home: Path | None = None) -> bool:
    """What the runner's schedule runs: yesterday's (UTC) digest to the alert URLs."""
    day = (now or datetime.now(UTC)).date() - timedelta(days=1)
    return send(ledger, urls, day, home)[1]
