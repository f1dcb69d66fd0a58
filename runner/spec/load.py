"""Load a variant file in two stages: structure (pydantic), then small named rules."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from runner.errors import SpecError, SpecIssue
from runner.kinds.base import KindParams
from runner.kinds.registry import get_kind, kind_names
from runner.spec.data import Stream, effective_data
from runner.spec.deployment_config import VenuesConfig
from runner.spec.variant import VariantSpec
from runner.spec.yamlload import LocatedYaml, issues_from_validation, parse_yaml, read_text


@dataclass(frozen=True)
class LoadedVariant:
    spec: VariantSpec
    params: KindParams
    content_hash: str
    yaml_text: str
    path: Path

    @property
    def id(self) -> str:
        return self.spec.variant_id

    @property
    def stream(self) -> Stream:
        """The market-data stream it consumes, the kind's defaults applied (same in every mode)."""
        kind = get_kind(self.spec.kind)
        assert kind is not None
        return effective_data(self.spec.data, kind.default_stream, kind.default_book_depth)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


Rule = Callable[[VariantSpec, LocatedYaml, Path, "VenuesConfig | None"], SpecIssue | None]


def _stem_is_id(spec: VariantSpec, doc: LocatedYaml, path: Path, _v: VenuesConfig | None) -> SpecIssue | None:
    if path.stem != spec.variant_id:
        return SpecIssue(
            doc.file, doc.line_of(("name",)), "name",
            f"file name must be {spec.variant_id}.yaml (stem = <name>_v<version>), got {path.name}",
        )
    return None


def _kind_registered(spec: VariantSpec, doc: LocatedYaml, _p: Path, _v: VenuesConfig | None) -> SpecIssue | None:
    if get_kind(spec.kind) is None:
        return SpecIssue(
            doc.file, doc.line_of(("kind",)), "kind",
            f"unknown kind {spec.kind!r}; registered kinds: {', '.join(kind_names())}",
        )
    return None


def _venue_known(spec: VariantSpec, doc: LocatedYaml, _p: Path, venues: VenuesConfig | None) -> SpecIssue | None:
    if venues is not None and spec.venue not in venues.accounts:
        return SpecIssue(
            doc.file, doc.line_of(("venue",)), "venue",
            f"unknown account {spec.venue!r}; venues.yaml defines: {', '.join(sorted(venues.accounts))}",
        )
    return None


def _instruments_unique(spec: VariantSpec, doc: LocatedYaml, _p: Path, _v: VenuesConfig | None) -> SpecIssue | None:
    if len(set(spec.instruments)) != len(spec.instruments):
        return SpecIssue(doc.file, doc.line_of(("instruments",)), "instruments", "instruments must be unique")
    return None


def _stream_usable(spec: VariantSpec, doc: LocatedYaml, _p: Path, _v: VenuesConfig | None) -> SpecIssue | None:
    kind = get_kind(spec.kind)
    chosen = spec.data.stream if spec.data is not None else None
    if kind is None or chosen is None or chosen in kind.streams:
        return None
    return SpecIssue(
        doc.file, doc.line_of(("data", chosen)), f"data.{chosen}",
        f"kind {spec.kind} cannot use the {chosen} stream; it can use: {', '.join(kind.streams)} "
        f"(default: {kind.default_stream.replace(':', ' ')})",
    )


RULES: tuple[Rule, ...] = (_stem_is_id, _kind_registered, _venue_known, _instruments_unique, _stream_usable)


def parse_variant(text: str, path: Path, venues: VenuesConfig | None = None) -> LoadedVariant:
    doc = parse_yaml(text, str(path))
    if not isinstance(doc.data, dict):
        raise SpecError([SpecIssue(doc.file, 1, "", "expected a mapping of keys (name, version, kind, ...)")])
    try:
        spec = VariantSpec.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError(issues_from_validation(exc, doc)) from None
    issues = [i for rule in RULES if (i := rule(spec, doc, path, venues)) is not None]
    if issues:
        raise SpecError(issues)
    kind = get_kind(spec.kind)
    assert kind is not None
    try:
        params = kind.Params.model_validate(spec.params)
    except ValidationError as exc:
        raise SpecError(issues_from_validation(exc, doc, prefix=("params",))) from None
    return LoadedVariant(spec, params, content_hash(text), text, path)


def load_variant(path: Path, venues: VenuesConfig | None = None) -> LoadedVariant:
    return parse_variant(read_text(path), path, venues)
