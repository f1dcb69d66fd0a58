"""Signal math shared by kinds: rolling z-score and order-book imbalance. O(1) per update."""

from __future__ import annotations

import math
from collections.abc import Sequence


class RollingZ:
    """Rolling mean and sample std (ddof=1) over the last ``window`` values, current included.

    Sums are kept relative to an anchor (the first value) so squares stay small, and are
    recomputed exactly every ``window * 64`` updates so float drift cannot accumulate.
    """

    __slots__ = ("window", "_buf", "_i", "_n", "_s", "_ss", "_anchor", "_since_exact", "_peak")

    def __init__(self, window: int) -> None:
        if window < 2:
            raise ValueError("window must be at least 2")
        self.window = window
        self._buf = [0.0] * window
        self._i = 0
        self._n = 0
        self._s = 0.0
        self._ss = 0.0
        self._anchor: float | None = None
        self._since_exact = 0
        self._peak = 0.0  # largest square added since the last exact recompute

    @property
    def ready(self) -> bool:
        return self._n >= self.window

    def push(self, x: float) -> float | None:
        """Add ``x``; return its z-score against the window, or None until warm (or if flat)."""
        anchor = self._anchor
        if anchor is None:
            anchor = self._anchor = x
        d = x - anchor
        dd = d * d
        if dd > self._peak:
            self._peak = dd
        w = self.window
        buf = self._buf
        i = self._i
        if self._n == w:
            old = buf[i]
            self._s += d - old
            self._ss += dd - old * old
        else:
            self._n += 1
            self._s += d
            self._ss += dd
        buf[i] = d
        i += 1
        self._i = 0 if i == w else i
        self._since_exact += 1
        if self._since_exact >= w * 64:
            self._recompute()
        if self._n < w:
            return None
        s = self._s
        mean = s / w
        m2 = self._ss - s * mean
        if self._peak > 1e6 * m2:
            # a square far larger than the window's spread went through the running sums (the
            # window sits far from the anchor, or a spike passed): their rounding would swamp
            # the variance, so re-anchor at the window's mean and recompute exactly (O(w))
            self._reanchor()
            d = self._buf[(self._i - 1) % w]
            mean = self._s / w
            m2 = self._ss - self._s * mean
        var = m2 / (w - 1)
        level = self._anchor + mean  # type: ignore[operator]
        if var <= 1e-18 + 1e-24 * level * level:  # numerically flat window
            return None
        return (d - mean) / math.sqrt(var)

    def _reanchor(self) -> None:
        shift = math.fsum(self._buf[: self._n]) / self._n
        self._buf = [v - shift for v in self._buf]
        assert self._anchor is not None
        self._anchor += shift
        self._recompute()

    def _recompute(self) -> None:
        self._s = math.fsum(self._buf[: self._n])
        self._ss = math.fsum(v * v for v in self._buf[: self._n])
        self._peak = max((v * v for v in self._buf[: self._n]), default=0.0)
        self._since_exact = 0


def obi(bid_sizes: Sequence[float], ask_sizes: Sequence[float], levels: int) -> float | None:
    """Order-book imbalance rho = (Vb - Va) / (Vb + Va + 1e-8) over the top ``levels``."""
    if not bid_sizes or not ask_sizes:
        return None
    vb = sum(bid_sizes[:levels])
    va = sum(ask_sizes[:levels])
    return (vb - va) / (vb + va + 1e-8)
