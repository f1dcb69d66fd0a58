"""Builds the SDK's ``Info`` and ``Exchange`` without a network call, plus the metadata.

The only module that imports the SDK (about half a second, mostly ``eth_account``); the
adapter imports it inside ``connect()``. Both SDK classes get :func:`raise_for_status` as
their HTTP error hook so every failure reaches :mod:`venues.hyperliquid.errors` typed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hyperliquid.api import API
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.types import Cloid

from venues.base import Instrument
from venues.hyperliquid import precision
from venues.hyperliquid.errors import raise_for_status, retry_after_of
from venues.ratelimit import Priority, RequestBudget

HIP3_FIRST_ASSET = 110_000  # builder dexes' asset ids: 110000 + 10000 * (position - 1)
HIP3_ASSET_STRIDE = 10_000


# Published request weights: /info by type (l2Book 2, most others 20), /exchange 1 + 1 per 40
# orders or cancels batched. Reads that also charge per item returned are counted at base.
INFO_WEIGHT = {"l2Book": 2, "allMids": 2, "clearinghouseState": 2, "orderStatus": 2,
               "spotClearinghouseState": 2, "exchangeStatus": 2, "userRole": 60}
FILL_READ_WEIGHT = 20  # userFillsByTime (the default weight of an info read), before its items
# reads that also weigh 1 per this many items returned
PER_ITEMS = {**dict.fromkeys(("recentTrades", "historicalOrders", "userFills", "userFillsByTime", "fundingHistory",
                              "userFunding", "nonUserFundingUpdates", "twapHistory", "userTwapSliceFills",
                              "userTwapSliceFillsByTime"), 20), "candleSnapshot": 60}


_AS: ContextVar[Priority | None] = ContextVar("hyperliquid_priority", default=None)


@contextmanager
def spent_as(priority: Priority) -> Iterator[None]:
    """Requests made inside spend the budget at ``priority``: the lookup that finishes a cancel
    is part of the cancel, and must not be refused where the cancel itself was not."""
    token = _AS.set(priority)
    try:
        yield
    finally:
        _AS.reset(token)


def request_weight(url_path: str, payload: Any) -> tuple[float, Priority]:
    if url_path == "/exchange":
        action = (payload or {}).get("action") or {}
        batch = action.get("orders") or action.get("cancels") or []
        cancelling = str(action.get("type", "")).startswith("cancel")
        return 1 + len(batch) // 40, Priority.CANCEL if cancelling else Priority.ORDER
    kind = (payload or {}).get("type", "") if isinstance(payload, dict) else ""
    return INFO_WEIGHT.get(kind, 20), Priority.READ


def item_weight(payload: Any, answer: Any) -> int:
    """The weight a read adds for what it returned (userFillsByTime: 1 per 20 fills)."""
    kind = payload.get("type", "") if isinstance(payload, dict) else ""
    per = PER_ITEMS.get(kind)
    return len(answer) // per if per and isinstance(answer, list) else 0


def _budgeted_post(post: Any, budget: RequestBudget | None, url_path: str, payload: Any,
                   rate_limit_retry_s: float) -> Any:
    """Every HTTP call of the account spends its budget first (and what it returned, after);
    a 429 closes the budget's gate."""
    if budget is None:
        return post(url_path, payload)
    weight, priority = request_weight(url_path, payload)
    raised = _AS.get()  # not `or`: CANCEL is 0
    budget.spend(weight, priority=priority if raised is None else min(priority, raised))
    try:
        out = post(url_path, payload)
    except Exception as exc:
        hint = retry_after_of(exc, rate_limit_retry_s)
        if hint is not None:
            budget.penalize(hint)
        raise
    budget.answered()
    budget.charge(item_weight(payload, out))
    return out


_C = TypeVar("_C", bound=API)


def _budgeted(sdk_class: type[_C]) -> type[_C]:
    """``sdk_class`` (the SDK's API, Info or Exchange) whose every request spends the account's
    budget first and whose HTTP errors reach :mod:`venues.hyperliquid.errors` typed."""

    class Budgeted(sdk_class):  # type: ignore[valid-type,misc]
        budget: RequestBudget | None = None
        rate_limit_retry_s = 1.0

        def _handle_exception(self, response: Any) -> None:
            raise_for_status(response)

        def post(self, url_path: str, payload: Any = None) -> Any:
            return _budgeted_post(super().post, self.budget, url_path, payload, self.rate_limit_retry_s)

    Budgeted.__name__ = Budgeted.__qualname__ = f"_{sdk_class.__name__}"
    return Budgeted  # type: ignore[return-value]


_API, _Info, _Exchange = _budgeted(API), _budgeted(Info), _budgeted(Exchange)


@dataclass
class Clients:
    info: Info
    exchange: Exchange | None
    address: str | None
    instruments: dict[str, Instrument] = field(default_factory=dict)
    isolated: set[str] = field(default_factory=set)  # coins that only trade isolated margin


def cloid(client_order_id: str) -> Cloid:
    return Cloid(precision.to_cloid(client_order_id))


def connect(base_url: str, *, timeout: float, dexes: tuple[str, ...], spot: bool,
            secret_key: str | None, account_address: str | None, vault_address: str | None,
            budget: RequestBudget | None = None, rate_limit_retry_s: float = 1.0) -> Clients:
    """Fetch meta (and spotMeta, perpDexs, each dex's meta) and build the SDK clients on it.
    Every client spends ``budget`` (the account's) before each request."""
    api = _API(base_url, timeout)
    api.budget, api.rate_limit_retry_s = budget, rate_limit_retry_s
    meta = api.post("/info", {"type": "meta"})
    spot_meta = api.post("/info", {"type": "spotMeta"}) if spot else {"tokens": [], "universe": []}
    info = _Info(base_url, skip_ws=True, meta=meta, spot_meta=spot_meta, timeout=timeout)
    info.budget, info.rate_limit_retry_s = budget, rate_limit_retry_s
    out = Clients(info=info, exchange=None, address=account_address)
    _add_perps(out, meta, spot_meta)
    if dexes:
        listed = api.post("/info", {"type": "perpDexs"})
        offsets = {d["name"]: HIP3_FIRST_ASSET + i * HIP3_ASSET_STRIDE
                   for i, d in enumerate(listed[1:]) if isinstance(d, dict)}
        for dex in dexes:
            if dex not in offsets:
                from runner.errors import BadInputError

                raise BadInputError(f"hyperliquid: dex {dex!r} is not listed by perpDexs")
            dex_meta = api.post("/info", {"type": "meta", "dex": dex})
            info.set_perp_meta(dex_meta, offsets[dex])
            _add_perps(out, dex_meta, spot_meta, isolated=True)
    if spot:
        for inst in precision.spot_instruments(spot_meta):
            out.instruments[inst.symbol] = inst
    if secret_key:
        import eth_account

        wallet = eth_account.Account.from_key(secret_key)
        exchange = _Exchange(wallet, base_url, meta=meta, spot_meta=spot_meta, timeout=timeout,
                             account_address=account_address, vault_address=vault_address)
        exchange.info = info  # one Info, which knows the builder dexes' assets too
        exchange.budget, exchange.rate_limit_retry_s = budget, rate_limit_retry_s
        out.exchange = exchange
        out.address = account_address or vault_address or wallet.address
    return out


def _add_perps(out: Clients, meta: dict[str, Any], spot_meta: dict[str, Any], isolated: bool = False) -> None:
    tokens = {t["index"]: t["name"] for t in spot_meta.get("tokens", [])}
    collateral = tokens.get(meta.get("collateralToken", 0), "USDC")
    for asset in meta.get("universe", []):
        if asset.get("isDelisted"):
            continue
        inst = precision.perp_instrument(asset, collateral)
        out.instruments[inst.symbol] = inst
        if isolated or asset.get("onlyIsolated") or asset.get("marginMode") in ("strictIsolated", "noCross"):
            out.isolated.add(inst.symbol)
