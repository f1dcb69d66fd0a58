"""The HTTP layer: one ``httpx.Client`` per account, JSON in and out, errors translated.

Statuses a caller wants to handle itself (404 on a lookup, 409 on a duplicate client order
id) are passed through via ``allow``; every other failure leaves as a runner error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from venues.kalshi.errors import from_status, from_transport
from venues.ratelimit import Priority, RequestBudget


class KalshiHttp:
    def __init__(self, base_url: str, *, venue: str, timeout: float, auth: httpx.Auth | None,
                 rate_limit_retry_s: float, page_limit: int, max_pages: int,
                 budget: RequestBudget | None = None) -> None:
        self.venue = venue
        self.budget = budget  # reads spend "read", orders and cancels "write" (Kalshi's two limits)
        self.client = httpx.Client(base_url=base_url, timeout=timeout, auth=auth,
                                   headers={"Accept": "application/json"})
        self._retry_s = rate_limit_retry_s
        self._limit = page_limit
        self._max_pages = max_pages

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, client_order_id: str | None = None,
                allow: tuple[int, ...] = ()) -> httpx.Response:
        """One call, spending the account's budget first; a 429 closes the budget to reads."""
        def send() -> httpx.Response:
            return self._send(method, path, params=params, json=json, client_order_id=client_order_id, allow=allow)

        if self.budget is None:
            return send()
        writing = method != "GET"
        return self.budget.call(send, bucket="write" if writing else "read",
                                priority=Priority.CANCEL if method == "DELETE" else
                                Priority.ORDER if writing else Priority.READ)

    def _send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              json: Any = None, client_order_id: str | None = None,
              allow: tuple[int, ...] = ()) -> httpx.Response:
        mutating = method != "GET"
        try:
            resp = self.client.request(method, path, params=params, json=json)
        except httpx.HTTPError as exc:
            raise from_transport(exc, venue=self.venue, mutating=mutating,
                                 client_order_id=client_order_id) from exc
        if resp.status_code >= 400 and resp.status_code not in allow:
            raise from_status(resp, venue=self.venue, rate_limit_retry_s=self._retry_s,
                              placing=method == "POST", client_order_id=client_order_id)
        return resp

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        resp = self.request("GET", path, params={k: v for k, v in params.items() if v is not None})
        return resp.json()

    def pages(self, path: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a cursor-paged list (``{key: [...], "cursor": "..."}``)."""
        cursor = None
        for _ in range(self._max_pages):
            body = self.get(path, limit=self._limit, cursor=cursor, **params)
            yield from body.get(key) or []
            cursor = body.get("cursor")
            if not cursor:
                return
