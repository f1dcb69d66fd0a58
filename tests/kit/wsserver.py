"""A local WebSocket server on 127.0.0.1 that a test scripts: the venue end of a stream.

It runs the real ``websockets`` server on its own asyncio loop in a thread. ``reply`` maps
each message a client sends to the messages the server answers (acks, snapshots, pongs);
the test pushes more with :meth:`WsServer.send`, drops every connection with :meth:`drop`,
and goes silent (no replies, no pongs to ping frames) with :meth:`hang`. Waits are bounded
polls (:func:`eventually`), never sleeps that a result depends on.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

Script = Callable[[dict[str, Any]], list[dict[str, Any]]]


@contextmanager
def refusing_port() -> Iterator[int]:
    """A local port that refuses every connection (bound, never listening) until the block ends:
    a venue whose socket does not come up. A ``WsServer(port=...)`` may take it over after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


def eventually(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll until ``predicate()`` is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class WsServer:
    def __init__(self, reply: Script, path: str = "/ws", *, codec: str = "json", greet: list[Any] = (),
                 hang_up: bool = False, port: int = 0) -> None:
        """``codec``: "json" (text frames) or "msgpack" (binary, Alpaca); ``greet``: frames sent
        as soon as a client connects (Alpaca's ``[{"T": "success", "msg": "connected"}]``);
        ``hang_up``: close every connection right after the greeting (a venue refusing service);
        ``port``: a given one (a venue coming up where connections were refused), else any."""
        self.reply = reply
        self.path = path
        self.codec = codec
        self.greet = list(greet)
        self.hang_up = hang_up
        self.received: list[dict[str, Any]] = []
        self.handshakes: list[dict[str, str]] = []  # request headers, one per connection
        self.paths: list[str] = []
        self._conns: list[ServerConnection] = []
        self._muted = False
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.port = port
        self._thread = threading.Thread(target=self._main, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{self.path}"

    def __enter__(self) -> WsServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("websocket server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        def stop() -> None:
            for ws in list(self._conns):
                ws.transport.abort()  # a hung connection would hold the server's close
            self._stop.set()  # type: ignore[union-attr]
        self._loop.call_soon_threadsafe(stop)
        self._thread.join(10)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with serve(self._handler, "127.0.0.1", self.port) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    async def _handler(self, ws: ServerConnection) -> None:
        self.handshakes.append(dict(ws.request.headers))
        self.paths.append(ws.request.path)
        self._conns.append(ws)
        try:
            for out in self.greet:
                await ws.send(self.encode(out))
            if self.hang_up:
                return
            async for raw in ws:
                if raw == "ping":  # OKX's text keepalive
                    if not self._muted:
                        await ws.send("pong")
                    continue
                msg = self.decode(raw)
                self.received.append(msg)
                if self._muted:
                    continue
                for out in self.reply(msg):
                    await ws.send(self.encode(out))
        except Exception:
            pass
        finally:
            if ws in self._conns:
                self._conns.remove(ws)

    def encode(self, msg: Any) -> str | bytes:
        if self.codec == "msgpack":
            import msgpack

            return msgpack.packb(msg, datetime=False)
        return json.dumps(msg)

    def decode(self, raw: str | bytes) -> Any:
        if self.codec == "msgpack":
            import msgpack

            return msgpack.unpackb(raw)
        return json.loads(raw)

    # --- scripting from the test thread ------------------------------------------------
    @property
    def connections(self) -> int:
        return len(self.handshakes)

    async def broadcast(self, msg: Any, where: str = "") -> None:
        """``send`` from the server's own loop (a script that changes state and tells at once)."""
        for ws in list(self._conns):
            if where in ws.request.path:
                await ws.send(self.encode(msg))

    def run(self, coro: Any) -> Any:
        """Run ``coro`` on the server's loop and wait for it (state and sends in one order)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def send(self, msg: Any, where: str = "") -> None:
        """Send ``msg`` to every open connection whose request path holds ``where`` (returns
        once sent): OKX has public and private sockets, a book goes to the public one only."""
        async def go() -> None:
            for ws in list(self._conns):
                if where in ws.request.path:
                    await ws.send(self.encode(msg))
        asyncio.run_coroutine_threadsafe(go(), self._loop).result(10)

    def drop(self) -> None:
        """Cut every open connection without a close handshake (a network drop)."""
        def go() -> None:
            for ws in list(self._conns):
                ws.transport.abort()
        self._loop.call_soon_threadsafe(go)

    def hang(self, muted: bool = True) -> None:
        """Stop answering anything, ping frames included (a venue that hangs); False resumes."""
        def go() -> None:
            self._muted = muted
            for ws in list(self._conns):
                (ws.transport.pause_reading if muted else ws.transport.resume_reading)()
        self._loop.call_soon_threadsafe(go)

    def sent(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Messages the clients sent that match ``predicate``."""
        return [m for m in list(self.received) if predicate(m)]


def streamed(adapter: Any, instrument: str, predicate: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    """Wait until the adapter's stream holds a book of ``instrument`` that satisfies
    ``predicate`` (reading the cache, not ``book()``, so the wait spends no REST budget)."""
    def ready() -> bool:
        hit = adapter.feed.cache.get(instrument)
        return hit is not None and predicate(hit[0])

    return eventually(ready, timeout, what=f"a streamed book of {instrument}")
