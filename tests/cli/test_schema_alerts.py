"""`runner schema` checks variant files as the loader does; `runner alerts test` reaches each URL."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.kit.home import REPO, mr_yaml
from tests.kit.process import FAST_SIM, cli


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    res = cli(tmp_path_factory.mktemp("nohome") / "x", "schema")  # needs no deployment
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    jsonschema.Draft202012Validator.check_schema(doc)
    return doc


def _errors(schema: dict, doc: dict) -> list[str]:  # type: ignore[type-arg]
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(doc)]


def test_every_shipped_sample_validates(schema: dict) -> None:  # type: ignore[type-arg]
    samples = sorted((REPO / "strategies.d").glob("*.yaml"))
    assert len(samples) >= 4
    for path in samples:
        assert _errors(schema, yaml.safe_load(path.read_text())) == [], path.name


def test_per_kind_params_are_checked(schema: dict) -> None:  # type: ignore[type-arg]
    doc = yaml.safe_load(mr_yaml())
    assert _errors(schema, doc) == []
    bad = {**doc, "params": {**doc["params"], "window": -3}}
    assert _errors(schema, bad)
    typo = {**doc, "params": {**doc["params"], "windw": 20}}
    assert any("windw" in m for m in _errors(schema, typo))
    assert _errors(schema, {**doc, "kind": "no_such_kind"})
    mm = yaml.safe_load((REPO / "strategies.d" / "MMTV_v3.yaml").read_text())
    assert _errors(schema, {**mm, "params": doc["params"]})  # MR's params are not market_making's


class _Sink(BaseHTTPRequestHandler):
    got: list[dict] = []  # type: ignore[type-arg]
    status = 200

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).got.append(json.loads(body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *_a: object) -> None:
        pass


def _server(status: int) -> tuple[HTTPServer, type[_Sink]]:
    handler = type("Sink", (_Sink,), {"got": [], "status": status})
    srv = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, handler


def test_alerts_test_reports_each_url(tmp_path: Path) -> None:
    good, good_h = _server(200)
    bad, _ = _server(500)
    try:
        (tmp_path / "venues.yaml").write_text(FAST_SIM)
        (tmp_path / "runner.yaml").write_text(
            "alerts:\n  urls:\n"
            f"    - json://127.0.0.1:{good.server_port}/hook\n"
            f"    - json://127.0.0.1:{bad.server_port}/hook\n"
            "    - nosuchscheme://x\n")
        res = cli(tmp_path, "alerts", "test", "--json")
        assert res.returncode == 1, res.stderr
        rows = json.loads(res.stdout)["alerts"]
        assert [r["delivered"] for r in rows] == [True, False, False]
        assert "unusable URL" in rows[2]["result"]
        assert len(good_h.got) == 1 and good_h.got[0]["title"] == "runner: test alert"
        assert "alerts test" in good_h.got[0]["message"]
        text = cli(tmp_path, "alerts", "test").stdout.splitlines()
        assert text[0].startswith("ok") and text[1].startswith("FAILED") and len(text) == 3
    finally:
        good.shutdown()
        bad.shutdown()


def test_alerts_test_without_urls_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "venues.yaml").write_text(FAST_SIM)
    res = cli(tmp_path, "alerts", "test")
    assert res.returncode == 2 and "no alert URLs" in res.stderr
