"""Builds the SDK's ``Info`` and ``Exchange`` without a network call, plus the metadata.

The only module that imports the SDK (about half a second, mostly ``eth_account``); the
adapter imports it inside ``connect()``. Both SDK classes get :func:`raise_for_status` as
their HTTP error hook so every failure reaches :mod:`venues.hyperliquid.errors` typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hyperliquid.api import API
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.types import Cloid

from venues.base import Instrument
from venues.hyperliquid import precision
from venues.hyperliquid.errors import raise_for_status

HIP3_FIRST_ASSET = 110_000  # builder dexes' asset ids: 110000 + 10000 * (position - 1)
HIP3_ASSET_STRIDE = 10_000


class _API(API):
    def _handle_exception(self, response: Any) -> None:
        raise_for_status(response)


class _Info(Info):
    def _handle_exception(self, response: Any) -> None:
        raise_for_status(response)


class _Exchange(Exchange):
    def _handle_exception(self, response: Any) -> None:
        raise_for_status(response)


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
            secret_key: str | None, account_address: str | None, vault_address: str | None) -> Clients:
    """Fetch meta (and spotMeta, perpDexs, each dex's meta) and build the SDK clients on it."""
    api = _API(base_url, timeout)
    meta = api.post("/info", {"type": "meta"})
    spot_meta = api.post("/info", {"type": "spotMeta"}) if spot else {"tokens": [], "universe": []}
    info = _Info(base_url, skip_ws=True, meta=meta, spot_meta=spot_meta, timeout=timeout)
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
