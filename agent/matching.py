"""Which variants a free question is about, and which runbook sections it names.

Operators type a variant as its id, its name without the version ("MR"), spoken ("mr v13")
or by what it is ("the funding pair", "the YES/NO pair"); a name or kind that is not
deployed here is said, never answered about another variant (a question about the
funding-arb pair was once answered about the Kalshi one).
"""

from __future__ import annotations

import re

from agent.context import AgentContext
from runner.cli.views import status_view

# How operators name a strategy kind ("the funding pair", "the Kalshi arb", "the market maker").
KIND_WORDS: dict[str, str] = {
    "funding_arb": r"funding", "kalshi_sum": r"kalshi|yes/no|yes\+no|binary",
    "market_making": r"mmtv|market[- ]?mak", "imbalance_scalper": r"imbalance|scalp",
    "mean_reversion": r"mean[- ]reversion",
}


def asked_kinds(question: str) -> list[str]:
    q = question.lower()
    return [k for k, pat in KIND_WORDS.items() if re.search(rf"(?<![\w-])(?:{pat})", q)]


def not_here(ctx: AgentContext, question: str) -> str | None:
    """What the question names that is not deployed here (a variant id, or a kind no deployed
    variant has), said plainly rather than answered about another variant."""
    ids = ctx.variant_ids()
    lower = {v.lower() for v in ids}
    ghosts = [m for m in re.findall(r"(?<![\w-])([a-z][\w-]*_v\d+)(?![\w-])", question, flags=re.I)
              if m.lower() not in lower]
    if ghosts:
        return f"{', '.join(dict.fromkeys(ghosts))} {'is' if len(set(ghosts)) == 1 else 'are'} not deployed here"
    if match_variants(ctx, question):
        return None
    kinds = {r["id"]: r.get("kind") for r in status_view(ctx.ledger)["variants"]}
    missing = [k for k in asked_kinds(question) if k not in kinds.values()]
    if missing:
        return f"No {' or '.join(missing)} variant is deployed here"
    return None


def match_variants(ctx: AgentContext, question: str) -> list[str]:
    """Variants the question names: the id, or the name without its version (the newest live
    one), or else the kind it is of ("the funding pair")."""
    ids = ctx.variant_ids()
    q = question.lower()
    exact = [v for v in ids if re.search(rf"(?<![\w-]){re.escape(v.lower())}(?![\w-])", q)
             or re.search(rf"(?<![\w-]){_spoken(v)}(?!\d)", q)]
    if exact:
        return exact
    by_name: dict[str, list[str]] = {}
    for v in ids:
        name = v.rpartition("_v")[0].lower()
        by_name.setdefault(name, []).append(v)
        head = name.split("-")[0]
        if head != name and len(head) >= 4:
            by_name.setdefault(head, []).append(v)
    states = {r["id"]: r["state"] for r in status_view(ctx.ledger)["variants"]}
    out: list[str] = []
    for name, vs in by_name.items():
        if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w])", q):
            live = [v for v in vs if states.get(v) != "retired"] or vs
            pick = max(live, key=lambda v: int(v.rpartition("_v")[2] or 0))
            if pick not in out:
                out.append(pick)
    if not out and (kinds := asked_kinds(question)):
        rows = status_view(ctx.ledger)["variants"]
        out = [r["id"] for r in rows if r.get("kind") in kinds and r["state"] != "retired"]
    return out


def _spoken(vid: str) -> str:
    """``MR_v13`` as an operator may type it: "mr v13", "mr version 13", "mr-v13"."""
    name, _, version = vid.lower().rpartition("_v")
    return rf"{re.escape(name)}[\s_-]*v(?:ersion)?\s*{re.escape(version)}"


def topic_sections(ctx: AgentContext, question: str) -> list[str]:
    """Runbook sections whose id or title names a word of the question ("dust", "funding"):
    a generic question ("what is wrong?", "is everything ok?") cites nothing extra."""
    words = {w for w in re.findall(r"[a-z]{4,}", question.lower())} - _GENERIC
    out = []
    for hit in ctx.runbook.search(question, limit=3):
        head = set(re.findall(r"[a-z]{4,}", f"{hit['id']} {ctx.runbook.title(str(hit['id']))}".lower()))
        if words & head or any(w[:5] == h[:5] for w in words for h in head if len(w) >= 5 and len(h) >= 5):
            out.append(str(hit["id"]))
    return out[:2]


_GENERIC = frozenset({"what", "wrong", "everything", "anything", "okay", "fine", "should", "now", "doing", "trading",
                      "with", "there", "going", "happening", "working", "right", "good", "healthy", "status",
                      "check", "this", "that", "today", "help"})
