"""`runner validate` checks a variant against its account (issue 13): instrument names against
the account's list when reachable and by shape when not, and the kind's needs against the
adapter's declared capabilities. Real CLI in a subprocess; errors name file:line; exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VENUES = """\
sim:
  adapter: sim
  seed: 7
  clock: manual
kalshi-off:
  adapter: kalshi
  url: http://127.0.0.1:9
hl-off:
  adapter: hyperliquid
  url: http://127.0.0.1:9
alpaca-off:
  adapter: alpaca
  url: http://127.0.0.1:9
okx-off:
  adapter: ccxt
  url: http://127.0.0.1:9
"""


def variant(tmp: Path, vid: str, kind: str, venue: str, instruments: list[str], params: str = "") -> Path:
    name, _, version = vid.rpartition("_v")
    p = tmp / "strategies.d" / f"{vid}.yaml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(f"name: {name}\nversion: {version}\nkind: {kind}\nvenue: {venue}\nmode: paper\n"
                 f"instruments: [{', '.join(instruments)}]\nparams: {{{params}}}\n"
                 "risk: {max_order_notional: 5000, max_position_notional: 10000, max_daily_loss: 5000}\n")
    return p


def validate(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp / "venues.yaml").write_text(VENUES)
    return subprocess.run([sys.executable, "-m", "runner", "--home", str(tmp), "validate", *args],
                          capture_output=True, text=True, timeout=120)


def test_an_instrument_the_sim_does_not_list_is_refused_with_file_and_line(tmp_path: Path) -> None:
    good = variant(tmp_path, "MR_v1", "mean_reversion", "sim", ["BTC-USD"])
    bad = variant(tmp_path, "MR_v2", "mean_reversion", "sim", ["BTC-USD", "DOGE-USD"])
    ok = validate(tmp_path, str(good))
    assert ok.returncode == 0 and "checked against the sim's list" in ok.stdout, ok.stderr
    res = validate(tmp_path, str(bad))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"{bad}:6: instruments: 'DOGE-USD': not an instrument of account sim" in res.stderr


def test_the_kinds_needs_are_checked_against_the_adapters_capabilities(tmp_path: Path) -> None:
    on_hl = variant(tmp_path, "KS_v1", "kalshi_sum", "hl-off", ["BTC"])
    arb_on_kalshi = variant(tmp_path, "FA_v1", "funding_arb", "kalshi-off", ["KX-A", "KX-B"])
    shorting_mr = variant(tmp_path, "MR_v3", "mean_reversion", "alpaca-off", ["BTC/USD"], "long_only: false")
    long_mr = variant(tmp_path, "MR_v4", "mean_reversion", "alpaca-off", ["BTC/USD"])
    res = validate(tmp_path, "--offline", str(on_hl), str(arb_on_kalshi), str(shorting_mr), str(long_mr))
    assert res.returncode == 2
    assert f"{on_hl}:3: kind: kalshi_sum needs binary-markets" in res.stderr
    assert f"{arb_on_kalshi}:3: kind: funding_arb needs shorting" in res.stderr
    assert f"{shorting_mr}:3: kind: mean_reversion needs shorting (long_only: false sells short)" in res.stderr
    assert f"{long_mr}: ok" in res.stdout and "shape only (--offline)" in res.stdout


def test_unreachable_accounts_check_the_shape_of_each_name(tmp_path: Path) -> None:
    legs = variant(tmp_path, "KS_v2", "kalshi_sum", "kalshi-off", ["KX-A:yes", "KX-B"])
    caps = variant(tmp_path, "KS_v3", "market_making", "kalshi-off", ["KX-A:YES"])
    okx = variant(tmp_path, "MR_v5", "mean_reversion", "okx-off", ["BTCUSDT", "BTC/USDT:USDT"])
    res = validate(tmp_path, str(legs), str(caps), str(okx))  # nothing listens on port 9
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"{legs}:6: instruments: 'KX-A:yes': kalshi_sum watches markets; write 'KX-A'" in res.stderr
    assert "'KX-B'" not in res.stderr  # a market ticker has the right shape
    assert f"{caps}:6: instruments: 'KX-A:YES'" in res.stderr and "legs are spelled KX-A:yes" in res.stderr
    assert f"{okx}:6: instruments: 'BTCUSDT': not a ccxt unified symbol" in res.stderr
    assert "'BTC/USDT:USDT'" not in res.stderr
