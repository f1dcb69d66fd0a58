"""The variants a parity session runs: every shipped sample and an imbalance scalper (#11 asks
for both). Shared by the parity test and `bench/parity_bench.py`."""

SAMPLES = ("MR_v13.yaml", "MMTV_v3.yaml", "funding-arb_v1.yaml", "Kalshi-sum_v1.yaml", "imbalance-scalper_v1.yaml")
IMBALANCE = """\
name: IS
version: 1
kind: imbalance_scalper
venue: sim
mode: paper
instruments: [ETH-USD]
params: {threshold: 0.5, exit_threshold: 0.1, dollar_cap: 1000, max_hold: 5m}
risk: {max_order_notional: 5000, max_position_notional: 10000, max_daily_loss: 1000}
"""
