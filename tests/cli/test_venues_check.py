"""`runner venues check`: every account's connectivity and credentials, without leaking secrets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _run(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", "--home", str(home), "venues", "check", *args],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})


def test_sim_passes_missing_credentials_and_unreachable_venues_fail_clearly(tmp_path) -> None:
    port = _closed_port()
    (tmp_path / "venues.yaml").write_text(
        "sim: {adapter: sim, seed: 1}\n"
        "okx-paper:\n  adapter: ccxt\n  exchange: okx\n  sandbox: true\n"
        f"  url: http://127.0.0.1:{port}\n"
        "  credentials: {apiKey: T_OKX_KEY, secret: T_OKX_SECRET, password: T_OKX_PASS}\n"
        "alpaca-paper:\n  adapter: alpaca\n  credentials: {api_key: T_ALPACA_KEY, secret_key: T_ALPACA_SECRET}\n"
    )
    secret = "s3cr3t-value-never-printed"
    res = _run(tmp_path, "--json", env={"T_OKX_KEY": "k", "T_OKX_SECRET": secret, "T_OKX_PASS": "p"})
    assert res.returncode == 1
    accounts = {a["account"]: a for a in json.loads(res.stdout)["accounts"]}
    assert accounts["sim"]["ok"] and accounts["sim"]["instruments"] > 0
    assert not accounts["alpaca-paper"]["ok"] and accounts["alpaca-paper"]["stage"] == "credentials"
    assert "T_ALPACA_KEY" in accounts["alpaca-paper"]["error"]
    okx = accounts["okx-paper"]
    assert not okx["ok"] and okx["stage"] == "venue" and okx["error_class"] == "transient"
    assert secret not in res.stdout + res.stderr
    only_sim = _run(tmp_path, "--account", "sim")
    assert only_sim.returncode == 0 and "sim" in only_sim.stdout
    assert _run(tmp_path, "--account", "nope").returncode == 2
