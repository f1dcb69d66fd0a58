"""Stream event -> book available -> strategy decision, on a local WebSocket stand-in of
Hyperliquid (not a test).

A ``websockets`` server on 127.0.0.1 sends ``l2Book`` messages (20 levels a side, as the venue
does) at a steady pace; the account's real stream (``venues.streams``: socket, JSON decode,
the Hyperliquid protocol, the book cache) receives them in its own thread. For each message we
take the time from just before the server's send to the moment the book is in the cache, where
``adapter.book()`` returns it without a request. Both ends are in this process, so one
``perf_counter`` clock serves both.

``--decide`` measures one step further, to the strategy's decision: an account thread of the
runtime (``runner.engine.account_workers``, woken by the stream's book cache as ``runner run``
wakes it) reads ``book()`` and hands the event to the MMTV sample's market-making strategy;
the time is taken when the decision returns. ``--no-wake`` runs the same thread on the loop's
clock alone (the loop interval, 0.2 s by default), for comparison.

    PYTHONPATH=. python bench/stream_bench.py [--messages 5000] [--interval-ms 1]
    PYTHONPATH=. python bench/stream_bench.py --decide [--messages 600] [--interval-ms 50] [--no-wake]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from venues.hyperliquid.stream import HyperliquidStream
from venues.ratelimit import RequestBudget, published
from venues.streams.feed import AccountFeed


def l2(seq: int) -> str:
    mid = 1900.0 + (seq % 100) * 0.1
    levels = [[{"px": f"{mid - 0.1 * (i + 1):.1f}", "sz": "1.5", "n": 2} for i in range(20)],
              [{"px": f"{mid + 0.1 * (i + 1):.1f}", "sz": "1.2", "n": 3} for i in range(20)]]
    return json.dumps({"channel": "l2Book", "data": {"coin": "ETH", "time": 1_700_000_000_000 + seq,
                                                     "levels": levels}})


class StandIn:
    def __init__(self, messages: int, interval_s: float) -> None:
        self.messages, self.interval_s = messages, interval_s
        self.sent: dict[int, float] = {}
        self.port = 0
        self.ready = threading.Event()
        self.done = threading.Event()
        self.subscribed = asyncio.Event()

    async def handler(self, ws: ServerConnection) -> None:
        async for raw in ws:
            msg = json.loads(raw)
            if msg.get("method") == "ping":
                await ws.send(json.dumps({"channel": "pong"}))
            elif msg.get("subscription", {}).get("type") == "l2Book":
                await ws.send(json.dumps({"channel": "subscriptionResponse", "data": msg}))
                asyncio.ensure_future(self.pump(ws))

    async def pump(self, ws: ServerConnection) -> None:
        payloads = [l2(i) for i in range(self.messages)]
        for i, payload in enumerate(payloads):
            self.sent[1_700_000_000_000 + i] = time.perf_counter()
            await ws.send(payload)
            await asyncio.sleep(self.interval_s)
        self.done.set()

    async def main(self, stop: asyncio.Event) -> None:
        async with serve(self.handler, "127.0.0.1", 0) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self.ready.set()
            await stop.wait()


def serving(stand_in: Any) -> tuple[AccountFeed, Any]:  # noqa: ANN401
    """Serve ``stand_in`` (its ``main(stop)``, ``ready``, ``port``) on a loop thread of its own and
    connect an account feed to it, as the runner's Hyperliquid stream does; returns the feed and
    the function that closes both."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(stand_in.main(stop)), daemon=True)
    thread.start()
    stand_in.ready.wait(10)
    url = f"ws://127.0.0.1:{stand_in.port}/ws"
    feed = AccountFeed("bench", RequestBudget("bench", published("hyperliquid")),
                       protocol=lambda: HyperliquidStream(url, coin=lambda s: s, symbol=lambda c: c))

    def shut() -> None:
        feed.close()
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)
    return feed, shut


def run(messages: int, interval_ms: float) -> dict[str, Any]:
    stand_in = StandIn(messages, interval_ms / 1000)
    feed, shut = serving(stand_in)
    arrived: dict[int, float] = {}
    put = feed.cache.put

    def recording_put(book: Any) -> None:
        put(book)
        arrived[round(book.ts * 1000)] = time.perf_counter()

    feed.cache.put = recording_put  # type: ignore[method-assign]
    conn = feed.start()
    conn.want("ETH")
    stand_in.done.wait(120)
    deadline = time.monotonic() + 5
    while len(arrived) < messages and time.monotonic() < deadline:
        time.sleep(0.01)
    served = feed.book("ETH", 20, lambda: (_ for _ in ()).throw(AssertionError("REST was called")))
    shut()
    warm = max(1, messages // 20)
    lat = sorted((arrived[k] - stand_in.sent[k]) * 1e6 for k in sorted(stand_in.sent)[warm:] if k in arrived)
    return {"messages": messages, "received": len(arrived), "served_without_request": served.instrument == "ETH",
            "p50_us": statistics.median(lat), "p99_us": lat[int(len(lat) * 0.99) - 1], "max_us": lat[-1]}


def decide(messages: int, interval_ms: float, loop_s: float, wake: bool) -> dict[str, Any]:
    """Send -> the account thread's decision, per message (those the thread saw; a thread on the
    loop clock alone sees only the latest book of each tick)."""
    from pathlib import Path

    from runner.engine.account_workers import AccountWorker, Wake
    from runner.kinds.registry import get_kind
    from runner.marketdata.feed import snapshot_event
    from runner.spec.load import parse_variant

    text = (Path(__file__).resolve().parents[1] / "strategies.d" / "MMTV_v3.yaml").read_text()
    loaded = parse_variant(text.replace("ETH-USD", "ETH"), Path("MMTV_v3.yaml"))
    kind = get_kind(loaded.spec.kind)
    assert kind is not None
    strategy = kind(loaded.params, ["ETH"])
    stand_in = StandIn(messages, interval_ms / 1000)
    feed, shut = serving(stand_in)
    decided: dict[int, float] = {}
    last = [0.0]

    def step(_account: str) -> None:
        try:
            book = feed.book("ETH", 20, lambda: (_ for _ in ()).throw(TimeoutError("no streamed book yet")))
        except Exception:  # noqa: BLE001 - before the first streamed book
            return
        if book.ts == last[0]:
            return
        last[0] = book.ts
        strategy.on_event(snapshot_event(book), {})
        decided[round(book.ts * 1000)] = time.perf_counter()

    cache = feed.cache
    waker = Wake(lambda: cache.version, lambda seen, t: cache.wait(lambda: cache.version != seen, t))
    worker = AccountWorker("bench", step, loop_s, print, wake=(lambda _a: waker) if wake else None)
    feed.start().want("ETH")
    worker.start()
    stand_in.done.wait(600)
    time.sleep(loop_s * 2)
    worker.stop(clean=False)
    worker.join(5)
    shut()
    warm = max(1, messages // 20)
    lat = sorted((decided[k] - stand_in.sent[k]) * 1e6 for k in sorted(stand_in.sent)[warm:] if k in decided)
    return {"messages": messages, "decided": len(decided), "p50_us": statistics.median(lat),
            "p99_us": lat[max(0, int(len(lat) * 0.99) - 1)], "max_us": lat[-1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--interval-ms", type=float, default=1.0)
    ap.add_argument("--decide", action="store_true", help="to the strategy's decision on an account thread")
    ap.add_argument("--loop-s", type=float, default=0.2, help="the account loop's interval (runner.yaml loop_interval_s)")
    ap.add_argument("--no-wake", action="store_true", help="the account thread on the loop clock only")
    args = ap.parse_args()
    if args.decide:
        d = decide(args.messages, args.interval_ms, args.loop_s, not args.no_wake)
        how = "loop clock only" if args.no_wake else "woken by the stream"
        print(f"l2Book -> market-making decision on an account thread ({how}, loop {args.loop_s}s): "
              f"{d['decided']}/{d['messages']} books decided on, p50 {d['p50_us']:.0f} us, "
              f"p99 {d['p99_us']:.0f} us, max {d['max_us']:.0f} us")
        return
    out = run(args.messages, args.interval_ms)
    print(f"l2Book (20 levels a side) -> book available: {out['received']}/{out['messages']} received, "
          f"p50 {out['p50_us']:.0f} us, p99 {out['p99_us']:.0f} us, max {out['max_us']:.0f} us; "
          f"book() served from the stream without a request: {out['served_without_request']}")


if __name__ == "__main__":
    main()
