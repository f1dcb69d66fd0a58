"""The standing fuzz test: no input file makes a traceback; every refusal is located.

Hypothesis writes variant files, runner.yaml, venues.yaml and market-data files: random text,
valid files with a slice replaced, and valid shapes with hostile values (non-finite and huge
numbers, markup, control characters, deep and aliased structures). Each must load, or be
refused with an error that starts with the file's name (and its line where there is one).
"""

from __future__ import annotations

import string
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.errors import BadInputError, SpecError
from runner.marketdata.readers import read_events
from runner.spec.deployment_config import load_runner_config, load_venues
from runner.spec.load import load_variant

REPO = Path(__file__).resolve().parents[2]
VARIANT = (REPO / "strategies.d" / "MR_v13.yaml").read_text()
RUNNER = "loop_interval_s: 0.2\nlease_ttl_s: 10\nbackoff: {base_s: 1, cap_s: 60, max_attempts: 5}\n"
VENUES = "sim:\n  adapter: sim\n  seed: 7\n  live: false\n"
BARS = "timestamp,open,high,low,close,volume\n2026-01-01T00:00:00Z,1,2,0.5,1.5,10\n2026-01-01T00:01:00Z,1.5,2,1,1.2,5\n"
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                              HealthCheck.too_slow])

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([".inf", "-.inf", ".nan", "1e999", "-0", "0x1F", "1_000", "NaN", "[/]", "[bold]x", "*a", "&a"]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
)
VALUES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
                      max_leaves=20)
HOSTILE_CHARS = string.printable + "\x00\x01\x07\x1b\x7f\u0085\u2028\ufeff\ud7ff\ue000[]{}&*!|>'\"%@`"


def _text(valid: str) -> st.SearchStrategy[str]:
    """Random text; the valid file with a slice replaced; the valid keys with hostile values."""
    def splice(args: tuple[int, int, str]) -> str:
        i, j, junk = args
        i, j = sorted((i % (len(valid) + 1), j % (len(valid) + 1)))
        return valid[:i] + junk + valid[j:]

    def revalue(args: tuple[dict, str, object]) -> str:  # type: ignore[type-arg]
        doc, key, value = args
        return yaml.safe_dump({**doc, key: value}, allow_unicode=True)

    doc = yaml.safe_load(valid)
    keys = list(doc) if isinstance(doc, dict) else ["x"]
    return st.one_of(
        st.text(alphabet=HOSTILE_CHARS, max_size=200),
        st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.text(alphabet=HOSTILE_CHARS, max_size=40)).map(splice),
        st.tuples(st.just(doc if isinstance(doc, dict) else {}), st.sampled_from(keys), VALUES).map(revalue),
    )


def _located(exc: Exception, path: Path) -> None:
    assert str(exc).startswith(str(path)), f"error not located: {exc}"
    if isinstance(exc, SpecError):
        assert exc.issues and all(i.file == str(path) for i in exc.issues)


def _write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8", "surrogatepass"))


@SETTINGS
@given(_text(VARIANT))
def test_a_variant_file_loads_or_is_refused_with_its_location(tmp_path_factory, text: str) -> None:
    path = tmp_path_factory.mktemp("v") / "MR_v13.yaml"
    _write(path, text)
    try:
        load_variant(path, load_venues(path.parent))
    except SpecError as exc:
        _located(exc, path)


@SETTINGS
@given(_text(RUNNER))
def test_runner_yaml_loads_or_is_refused_with_its_location(tmp_path_factory, text: str) -> None:
    home = tmp_path_factory.mktemp("r")
    _write(home / "runner.yaml", text)
    try:
        load_runner_config(home)
    except SpecError as exc:
        _located(exc, home / "runner.yaml")


@SETTINGS
@given(_text(VENUES))
def test_venues_yaml_loads_or_is_refused_with_its_location(tmp_path_factory, text: str) -> None:
    home = tmp_path_factory.mktemp("u")
    _write(home / "venues.yaml", text)
    try:
        load_venues(home)
    except SpecError as exc:
        _located(exc, home / "venues.yaml")


@SETTINGS
@given(st.one_of(
    st.text(alphabet=HOSTILE_CHARS, max_size=200),
    st.tuples(st.integers(0, 400), st.text(alphabet=string.printable + "\x00", max_size=30))
    .map(lambda a: BARS[: a[0] % len(BARS)] + a[1] + BARS[a[0] % len(BARS):]),
))
def test_a_data_file_reads_or_is_refused_with_its_location(tmp_path_factory, text: str) -> None:
    path = tmp_path_factory.mktemp("d") / "bars.csv"
    _write(path, text)
    try:
        for _ in read_events(path, "BTC-USD"):
            pass
    except BadInputError as exc:
        _located(exc, path)
