"""A bad, half-written or hostile file in strategies.d never touches a running variant.

Through the real runtime, ledger and sim: each file is written over (or next to) a deployed
variant's file, the runtime rescans, and the variant must still be `active` and still trade.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.engine.deploy import read_variants
from runner.engine.runtime import Runtime
from runner.lifecycle import State
from runner.spec.safe_read import MAX_CONFIG_BYTES
from tests.kit.deployment import variant_yaml
from tests.kit.desk import Desk

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))

HOSTILE_TEXT = {
    "empty": "",
    "syntax error": "name: [MR\n",
    "wrong type": variant_yaml("MR_v1").replace("version: 1", "version: one"),
    "NUL byte": variant_yaml("MR_v1") + "\x00",
    "control byte": variant_yaml("MR_v1").replace("mode: paper", "mode: pa\x07per"),
    "deep nesting": "a: " + "[" * 500 + "]" * 500 + "\n",
    "recursive alias": "a: &x [*x]\n",
    "alias bomb": ALIAS_BOMB,
    "list as key": "? [a, b]\n: 1\n",
    "infinite number": variant_yaml("MR_v1").replace("order_notional: 1000", "order_notional: .inf"),
    "huge number": variant_yaml("MR_v1").replace("order_notional: 1000", "order_notional: 1e999"),
    "not UTF-8": "name: \xff\n",
    "too large": "notes: '" + "x" * (MAX_CONFIG_BYTES + 10) + "'\n",
}


@pytest.fixture
def desk(tmp_path: Path):  # type: ignore[no-untyped-def]
    d = Desk.create(tmp_path)
    yield d
    d.close()


def _rescan(desk: Desk, steps: int = 2) -> None:
    desk.rt.rescan = True
    desk.step(steps)


def _still_trading(desk: Desk, vid: str = "MR_v1") -> None:
    assert desk.ledger.state(vid).state == State.ACTIVE  # type: ignore[union-attr]
    before = desk.position(vid)
    desk.trade(vid, "buy", "0.01")
    assert desk.position(vid) > before, "an entry placed after the bad file filled"


def _write(path: Path, body: str) -> None:
    if "\xff" in body:
        path.write_bytes(body.encode("latin-1"))
    else:
        path.write_text(body, encoding="utf-8")


@pytest.mark.parametrize("name", sorted(HOSTILE_TEXT))
def test_a_bad_edit_of_a_deployed_file_keeps_the_deployed_version_trading(desk: Desk, name: str) -> None:
    path = desk.home / "strategies.d" / "MR_v1.yaml"
    _write(path, HOSTILE_TEXT[name])
    _rescan(desk)
    errors = {e.file: e.message for e in desk.ledger.spec_errors()}
    assert str(path) in errors, f"{name}: the error is reported"
    assert f"{path}:" in errors[str(path)] or str(path) in errors[str(path)]
    _still_trading(desk)
    assert all(t.to_state != "retiring" for t in desk.ledger.transitions("MR_v1"))


def test_a_hostile_file_next_to_it_is_reported_and_the_variant_keeps_trading(desk: Desk) -> None:
    for i, body in enumerate(HOSTILE_TEXT.values()):
        _write(desk.home / "strategies.d" / f"X{i}_v1.yaml", body)
    _rescan(desk)
    assert len(desk.ledger.spec_errors()) == len(HOSTILE_TEXT)
    _still_trading(desk)


@pytest.mark.parametrize("identical", [True, False], ids=["identical", "changed"])
def test_an_in_place_rewrite_truncate_then_write_keeps_it_running(desk: Desk, identical: bool) -> None:
    path = desk.home / "strategies.d" / "MR_v1.yaml"
    text = path.read_text()
    new = text if identical else text.replace("entry_z: 1.25", "entry_z: 1.5")
    with open(path, "r+") as fh:  # what editors and cp do: truncate, (the runner looks), then write
        fh.truncate(0)
        fh.flush()
        _rescan(desk)
        fh.write(new)
    _rescan(desk)
    _still_trading(desk)
    errors = [e.message for e in desk.ledger.spec_errors()]
    if identical:
        assert errors == []  # the momentary empty file's error is cleared
    else:
        assert len(errors) == 1 and "Bump `version:`" in errors[0]


def test_a_fifo_and_a_symlink_to_dev_zero_are_refused_without_blocking(desk: Desk) -> None:
    sd = desk.home / "strategies.d"
    os.mkfifo(sd / "Fifo_v1.yaml")
    (sd / "Zero_v1.yaml").symlink_to("/dev/zero")
    (sd / "Dir_v1.yaml").mkdir()
    files = read_variants(sd, desk.venues)  # returns: a FIFO open would block forever
    messages = {p.name: str(r) for p, r in files.items() if p.name != "MR_v1.yaml"}
    assert "FIFO" in messages["Fifo_v1.yaml"]
    assert "character device" in messages["Zero_v1.yaml"]
    assert "directory" in messages["Dir_v1.yaml"]
    _rescan(desk)
    _still_trading(desk)


def test_only_removal_or_a_valid_retired_file_retires(desk: Desk) -> None:
    path = desk.home / "strategies.d" / "MR_v1.yaml"
    path.write_text(variant_yaml("MR_v1").replace("mode: paper", "mode: paper\nretired: maybe"))
    _rescan(desk)
    assert desk.ledger.state("MR_v1").state == State.ACTIVE  # type: ignore[union-attr]
    path.write_text(variant_yaml("MR_v1") + "retired: true\n")
    _rescan(desk, 1)
    assert desk.ledger.state("MR_v1").state in (State.RETIRING, State.RETIRED)  # type: ignore[union-attr]


def test_removing_the_file_retires(desk: Desk) -> None:
    (desk.home / "strategies.d" / "MR_v1.yaml").unlink()
    _rescan(desk, 1)
    assert desk.ledger.state("MR_v1").state in (State.RETIRING, State.RETIRED)  # type: ignore[union-attr]


def test_two_runners_sharing_strategies_d_both_survive_a_dropped_file(tmp_path: Path) -> None:
    from runner.ledger.store import Ledger, default_url
    from runner.spec.deployment_config import load_runner_config, load_venues
    from tests.kit.home import drive

    desk = Desk.create(tmp_path)
    other = Runtime(desk.home, Ledger(default_url(desk.home)), load_venues(desk.home), load_runner_config(desk.home))
    other.start()
    (desk.home / "strategies.d" / "MR_v2.yaml").write_text(variant_yaml("MR_v2"))
    files = read_variants(desk.home / "strategies.d", desk.venues)
    desk.rt.offer_files(files)  # both read the drop at the same moment, then apply it
    other.offer_files(files)
    desk.step(1)
    drive(other, 1)
    assert desk.ledger.state("MR_v2") is not None
    assert ("MR_v2" in desk.rt.engines) != ("MR_v2" in other.engines)  # exactly one trades it
    other.stop()
    desk.close()
