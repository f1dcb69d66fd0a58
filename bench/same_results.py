"""Same results: the full output of a few backtests, compared byte for byte across two code trees.

A speed-up of the replay must not change one fill. This runs a set of backtests (every shipped
sample on generated data, plus MR variants that short, quote as maker and stop out) once with
the working tree and once with a base revision (``git archive REV``, default ``main``), each
in a subprocess, and compares everything they wrote: the result (metrics, skips, trades, kind
extras), and every ledger row of the run (orders, order events, fills, positions, skips,
transitions, the run's summary), with the run id and the wall-clock columns masked.

    .venv/bin/python bench/same_results.py [--base main] [--n 20000] [--keep DIR]

Exit 0 when identical, 1 with the first differing lines of each case otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from tests.kit.parity_samples import IMBALANCE  # noqa: E402

# Variants beyond the shipped samples, to reach the paths those do not (shorts, maker quotes,
# stop-loss and time-stop exits, risk refusals).
EXTRA_VARIANTS = {
    "MRS_v1.yaml": """\
name: MRS
version: 1
kind: mean_reversion
venue: sim
mode: paper
instruments: [BTC-USD]
params: {window: 30, entry_z: 1.0, exit_z: 0.25, long_only: false, stop_loss_pct: 0.002, max_hold: 15m,
         order_notional: 2500, urgent_z: 2.5}
execution: {style: maker}
risk: {max_order_notional: 3000, max_position_notional: 3000, max_daily_loss: 200}
""",
    "IS_v1.yaml": IMBALANCE,  # the parity session's imbalance scalper (one definition)
}

# (variant file, data bindings relative to the data directory; "{ou}" is the OU bars file)
CASES = [
    ("strategies.d/MR_v13.yaml", ["{ou}"]),
    ("strategies.d/MR_v13.yaml", ["btc_bars.csv"]),
    ("MRS_v1.yaml", ["{ou}"]),
    ("strategies.d/MMTV_v3.yaml", ["eth_books.jsonl"]),
    ("IS_v1.yaml", ["eth_books.jsonl"]),
    ("strategies.d/funding-arb_v1.yaml", ["BTC-USD=btc_spot_1m.csv", "BTC-PERP=btc_perp_1m.csv",
                                          "BTC-PERP=btc_funding.csv"]),
    ("strategies.d/Kalshi-sum_v1.yaml", ["kalshi_books.jsonl"]),
]

# columns written from the wall clock, not the data (a fill's ts is the data's, and is compared)
WALL_CLOCK = {"transitions": ("ts",), "runs": ("started", "ended"), "skips": ("last_ts",),
              "deployments": ("deployed_at",), "order_events": ("ts",), "orders": ("created",),
              "positions": ("updated",), "variant_state": ("since",)}

DUMP = r"""
import json, sqlite3, sys
from pathlib import Path
from runner.engine.backtest import bind_streams, run_backtest
from runner.ledger.store import Ledger
from runner.spec.deployment_config import load_venues
from runner.spec.load import load_variant
variant, db, repo, masks = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
data = sys.argv[5:]
lv = load_variant(Path(variant))
led = Ledger("sqlite:///" + db)
r = run_backtest(lv, bind_streams(lv, data), led, load_venues(Path(repo)))
led.close()
out = {"result": r.as_json()}
con = sqlite3.connect(db)
tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
for t in tables:
    if t in ("schema_version",):
        continue
    cur = con.execute(f"SELECT * FROM {t} ORDER BY rowid")
    cols = [d[0] for d in cur.description]
    keep = [i for i, c in enumerate(cols) if c not in masks.get(t, ())]
    out[t] = [[cols[i] for i in keep]] + [[row[i] for i in keep] for row in cur]
    if len(out[t]) == 1:
        del out[t]
text = json.dumps(out, indent=0, sort_keys=True, default=str).replace(r.run_id, "RUN")
sys.stdout.write(text)
"""


def export_tree(rev: str, dest: Path) -> Path:
    """The tree of ``rev`` (a commit, branch or tag) extracted under ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def dump(tree: Path, variant: Path, data: list[str], work: Path) -> str:
    db = work / "ledger.db"
    db.unlink(missing_ok=True)
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0"}
    out = subprocess.run([sys.executable, "-c", DUMP, str(variant), str(db), str(tree), json.dumps(WALL_CLOCK), *data],
                         capture_output=True, text=True, env=env, cwd=work)
    if out.returncode != 0:
        raise SystemExit(f"backtest failed in {tree}:\n{out.stderr[-3000:]}")
    return out.stdout


def first_difference(before: str, after: str) -> None:
    """The first differing lines with a little context (difflib is quadratic on these sizes)."""
    b, w = before.splitlines(), after.splitlines()
    i = next((i for i, (x, y) in enumerate(zip(b, w, strict=False)) if x != y), min(len(b), len(w)))
    print(f"    first difference at line {i + 1} ({len(b)} lines in base, {len(w)} in work):")
    for line in b[max(0, i - 6): i]:
        print("     ", line)
    print("    - base:", " | ".join(b[i: i + 4]))
    print("    + work:", " | ".join(w[i: i + 4]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="main", help="the revision to compare against (default main)")
    ap.add_argument("--n", type=int, default=20_000, help="bars/books per generated file")
    ap.add_argument("--keep", type=Path, help="write each case's dumps here")
    a = ap.parse_args()
    from bench import gen_data
    from bench.ou_bars import write_bars

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        data = t / "data"
        gen_data.main(["all", str(data), "--n", str(a.n), "--rounds", "12"])
        ou = write_bars(data / "ou.csv", a.n * 5)
        for name, text in EXTRA_VARIANTS.items():
            (data / name).write_text(text)
        base = export_tree(a.base, t / "base")
        failed = 0
        for i, (variant, binds) in enumerate(CASES):
            vpath = (REPO / variant) if variant.startswith("strategies.d/") else data / variant
            args = [b.replace("{ou}", str(ou)) if "{ou}" in b else
                    (f"{b.split('=')[0]}={data / b.split('=')[1]}" if "=" in b else str(data / b)) for b in binds]
            work = t / f"case{i}"
            work.mkdir()
            before = dump(base, vpath, args, work)
            after = dump(REPO, vpath, args, work)
            label = f"{Path(variant).name} on {', '.join(Path(b.split('=')[-1]).name for b in binds)}"
            res = json.loads(after)["result"]
            digest = hashlib.sha256(after.encode()).hexdigest()[:12]
            if a.keep:
                a.keep.mkdir(parents=True, exist_ok=True)
                (a.keep / f"case{i}-base.json").write_text(before)
                (a.keep / f"case{i}-work.json").write_text(after)
            if before == after:
                print(f"same   {label}: {res['bars']:,} events, {res['fills']:,} fills, "
                      f"{res['metrics'].get('trades')} trades, {len(after):,} bytes ({digest})")
            else:
                failed += 1
                print(f"DIFFER {label}:")
                first_difference(before, after)
        print("identical" if not failed else f"{failed} case(s) differ")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
