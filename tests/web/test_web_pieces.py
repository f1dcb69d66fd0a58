"""Small pieces of the dashboard: safe markdown, the loopback rule, lazy imports, sparklines."""

from __future__ import annotations

import subprocess
import sys

import pytest

from runner.viz.charts import sparkline_svg
from runner.web.auth import is_loopback, token_problem
from runner.web.markdown import render_markdown


def test_runbook_markdown_renders_but_raw_html_and_script_links_do_not() -> None:
    html = render_markdown("## Step\n\n1. `runner pause ID`\n\n<script>alert(1)</script>\n\n"
                           "[x](javascript:alert(1)) [ok](#proc-pause)\n")
    assert "<h2>Step</h2>" in html and "<code>runner pause ID</code>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html and 'href="#proc-pause"' in html


@pytest.mark.parametrize("host, loop", [("127.0.0.1", True), ("::1", True), ("localhost", True), ("127.0.0.2", True),
                                        ("0.0.0.0", False), ("192.168.1.5", False), ("::", False), ("example", False)])
def test_only_loopback_binds_go_without_a_token(host, loop) -> None:
    assert is_loopback(host) is loop
    assert (token_problem(host, None) is None) is loop
    assert token_problem(host, "x" * 32) is None


def test_read_commands_never_import_the_web_stack_or_the_plotting_library() -> None:
    code = ("import sys, runner.cli, runner.cli.views, runner.cli.read, runner.cli.validate_cmd; "
            "bad = [m for m in ('matplotlib', 'starlette', 'uvicorn', 'jinja2', 'runner.web', 'runner.viz.charts') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_a_sparkline_rises_green_and_falls_red() -> None:
    assert "#0f7b3f" in sparkline_svg([0.0, 1.0, 2.0]) and "#b42318" in sparkline_svg([2.0, 1.0, 0.0])
    assert "polyline" not in sparkline_svg([1.0])
