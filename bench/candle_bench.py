"""Native bars: candle messages per second through the stream, and bar latency from the candle's
close to the strategy's decision, on a local WebSocket stand-in of Hyperliquid (not a test).

Throughput: the stand-in sends ``--messages`` ``candle`` messages back to back (the candle in
progress updated in place, a new minute every ``--per-bar`` messages); the account's real stream
(``venues.streams``: socket, JSON, the Hyperliquid protocol, the candle closer) takes them in its
own thread. Timed from the first send to the last update in the closer.

Latency (``--latency``): per bar, the new minute's ``l2Book``, then its first candle (which
closes the minute before) and a few updates of it, ``--interval-ms`` apart. An account thread of the runtime
(``runner.engine.account_workers``, woken by the stream as ``runner run`` wakes it) reads the
book, asks ``closed_bars`` and hands the bar through the runner's feed
(``runner.marketdata.feed``: the native bar source, with its book fallback) to the MR_v13
sample's mean-reversion strategy. Timed from just before the closing message's send to the
moment the decision returns. ``--no-nudge``: without the wake a close gives the thread (the
bar then waits for the next book or the loop tick). Both ends are in this process: one
``perf_counter`` clock serves both.

    PYTHONPATH=. python bench/candle_bench.py [--messages 20000] [--per-bar 10]
    PYTHONPATH=. python bench/candle_bench.py --latency [--bars 200] [--interval-ms 20] [--no-nudge]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from bench.stream_bench import serving

T0 = 1_700_000_040  # a minute boundary, venue time


def candle(i: int, k: int) -> str:
    """Minute ``i``'s candle after its ``k``-th trade, as the ``candle`` channel states it."""
    t = (T0 + 60 * i) * 1000
    close = 1900.0 + (i % 50) + 0.01 * k
    return json.dumps({"channel": "candle", "data": {"t": t, "T": t + 59_999, "s": "ETH", "i": "1m",
                                                     "o": "1900.0", "c": f"{close:.2f}", "h": f"{close + 1:.2f}",
                                                     "l": "1899.0", "v": f"{k + 1}.0", "n": k + 1}})


def l2(at_s: float, i: int) -> str:
    mid = 1900.0 + (i % 50)
    levels = [[{"px": f"{mid - 0.1 * (n + 1):.1f}", "sz": "1.5", "n": 2} for n in range(20)],
              [{"px": f"{mid + 0.1 * (n + 1):.1f}", "sz": "1.2", "n": 3} for n in range(20)]]
    return json.dumps({"channel": "l2Book", "data": {"coin": "ETH", "time": int(at_s * 1000), "levels": levels}})


class StandIn:
    """Acks subscriptions; once the candle channel is subscribed, runs ``script(ws)``."""

    def __init__(self, script: Any) -> None:  # noqa: ANN401
        self.script = script
        self.port = 0
        self.ready = threading.Event()
        self.done = threading.Event()

    async def handler(self, ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):  # the bench's end closes the socket
            async for raw in ws:
                msg = json.loads(raw)
                if msg.get("method") == "ping":
                    await ws.send(json.dumps({"channel": "pong"}))
                    continue
                sub = msg.get("subscription", {})
                await ws.send(json.dumps({"channel": "subscriptionResponse", "data": msg}))
                if sub.get("type") == "candle":
                    asyncio.ensure_future(self._run(ws))

    async def _run(self, ws: ServerConnection) -> None:
        await self.script(ws)
        self.done.set()

    async def main(self, stop: asyncio.Event) -> None:
        async with serve(self.handler, "127.0.0.1", 0) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self.ready.set()
            await stop.wait()


def throughput(messages: int, per_bar: int) -> dict[str, Any]:
    payloads = [candle(n // per_bar, n % per_bar) for n in range(messages)]
    start = [0.0]

    async def script(ws: ServerConnection) -> None:
        start[0] = time.perf_counter()
        for p in payloads:
            await ws.send(p)

    stand_in = StandIn(script)
    feed, shut = serving(stand_in)
    got = [0, 0.0]
    update = feed.candles.update

    def counting(*args: Any, **kw: Any) -> None:  # noqa: ANN401
        update(*args, **kw)
        got[0] += 1
        got[1] = time.perf_counter()

    feed.candles.update = counting  # type: ignore[method-assign]
    feed.start().want_candles("ETH", 60)
    stand_in.done.wait(300)
    deadline = time.monotonic() + 30
    while got[0] < messages and time.monotonic() < deadline:
        time.sleep(0.01)
    bars = feed.closed_bars("ETH", 60, T0 + 60 * (messages // per_bar), None, None) or []
    shut()
    took = got[1] - start[0]
    return {"messages": messages, "taken": got[0], "bars_closed": len(bars), "seconds": took,
            "per_s": got[0] / took if took > 0 else 0.0}


def latency(bars: int, interval_s: float, loop_s: float, nudge: bool) -> dict[str, Any]:
    from runner.engine.account_workers import AccountWorker, Wake
    from runner.kinds.registry import get_kind
    from runner.marketdata.feed import Feed, snapshot_event
    from runner.spec.load import parse_variant

    text = (Path(__file__).resolve().parents[1] / "strategies.d" / "MR_v13.yaml").read_text()
    loaded = parse_variant(text, Path("MR_v13.yaml"))
    kind = get_kind(loaded.spec.kind)
    assert kind is not None
    strategy = kind(loaded.params, ["ETH"])
    closed_at: dict[float, float] = {}  # bar end (venue s) -> perf_counter just before the closing send

    async def script(ws: ServerConnection) -> None:
        for i in range(bars + 1):
            await ws.send(l2(T0 + 60 * i + 1, i))  # the new minute's book first: it wakes no bar
            await asyncio.sleep(interval_s)
            if i:
                closed_at[T0 + 60 * i] = time.perf_counter()
            await ws.send(candle(i, 0))  # minute i began: minute i - 1 closed
            for k in range(1, 4):
                await asyncio.sleep(interval_s)
                await ws.send(candle(i, k))
            await asyncio.sleep(interval_s)

    stand_in = StandIn(script)
    feed, shut = serving(stand_in)
    if not nudge:
        feed.candles._on_close = None  # the bar waits for the next book or the loop tick
    md, key = Feed(), ("bars", 60)
    decided: dict[float, float] = {}

    def native(sym: str, tf: int, now: float, after: float | None) -> Any:  # noqa: ANN401
        return feed.closed_bars(sym, tf, now, after, None)

    def step(_account: str) -> None:
        try:
            book = feed.book("ETH", 20, lambda: (_ for _ in ()).throw(TimeoutError("no streamed book yet")))
        except Exception:  # noqa: BLE001 - before the first streamed book
            return
        ev = snapshot_event(book)
        fetched = md.fetch_native("bench", ev, [key], native, feed.candle_state)
        md.update("bench", ev, [key], fetched=fetched)
        for bar in md.events("bench", "ETH", key):
            strategy.on_event(bar, {})
            decided[bar.ts] = time.perf_counter()

    cache = feed.cache
    waker = Wake(lambda: cache.version, lambda seen, t: cache.wait(lambda: cache.version != seen, t))
    worker = AccountWorker("bench", step, loop_s, print, wake=lambda _a: waker)
    feed.start().want_candles("ETH", 60)
    worker.start()
    stand_in.done.wait(600)
    time.sleep(loop_s * 2)
    worker.stop(clean=False)
    worker.join(5)
    shut()
    lat = sorted((decided[end] - sent) * 1e6 for end, sent in closed_at.items() if end in decided)
    return {"bars": bars, "decided": len(lat), "p50_us": statistics.median(lat),
            "p99_us": lat[max(0, int(len(lat) * 0.99) - 1)], "max_us": lat[-1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--per-bar", type=int, default=10, help="candle messages per minute (updates in place)")
    ap.add_argument("--latency", action="store_true", help="candle close -> strategy decision on an account thread")
    ap.add_argument("--bars", type=int, default=200)
    ap.add_argument("--interval-ms", type=float, default=20.0, help="between the stand-in's messages (latency)")
    ap.add_argument("--loop-s", type=float, default=0.2, help="the account loop's interval (runner.yaml loop_interval_s)")
    ap.add_argument("--no-nudge", action="store_true", help="a close does not wake the account thread")
    args = ap.parse_args()
    if args.latency:
        d = latency(args.bars, args.interval_ms / 1000, args.loop_s, not args.no_nudge)
        how = "no wake on close" if args.no_nudge else "woken by the close"
        print(f"candle close -> MR decision on an account thread ({how}, loop {args.loop_s}s): "
              f"{d['decided']}/{d['bars']} bars, p50 {d['p50_us']:.0f} us, p99 {d['p99_us']:.0f} us, "
              f"max {d['max_us']:.0f} us")
        return
    out = throughput(args.messages, args.per_bar)
    print(f"candle messages -> candle closer: {out['taken']}/{out['messages']} in {out['seconds']:.2f} s = "
          f"{out['per_s']:,.0f} messages/s; {out['bars_closed']} bars closed")


if __name__ == "__main__":
    main()
