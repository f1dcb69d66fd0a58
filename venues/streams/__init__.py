"""Venue streams: one WebSocket connection per account, kept trustworthy below the adapter.

``connection`` runs the socket (subscribe, heartbeat, staleness watchdog, reconnect with
backoff and jitter, gap -> REST resync); ``book`` holds the latest books; ``feed`` is what an
adapter calls (``book()`` served from the stream while fresh, REST within the budget
otherwise); ``events`` are the records of gaps, resyncs and reconnects the runtime drains.
Each venue's wire protocol lives in ``venues/<name>/stream.py``.
"""
