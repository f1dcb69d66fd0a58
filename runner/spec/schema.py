"""The JSON Schema of a variant file, for editors (yaml-language-server, VS Code's YAML extension).

Built from the same pydantic models that validate the files, so it cannot drift from them. The
``params`` block is a free mapping in ``VariantSpec``; here each registered kind adds an
``if kind == X then params: <X's Params schema>`` rule, so an editor completes and checks params
per kind.
"""

from __future__ import annotations

from typing import Any

from runner.kinds.registry import get_kind, kind_names
from runner.spec.variant import VariantSpec

SCHEMA_ID = "https://runner.invalid/schema/variant.json"


def variant_schema() -> dict[str, Any]:
    doc = VariantSpec.model_json_schema()
    defs: dict[str, Any] = doc.setdefault("$defs", {})
    rules = []
    names = kind_names()
    for name in names:
        cls = get_kind(name)
        if cls is None:
            continue
        params = cls.Params.model_json_schema(ref_template="#/$defs/{model}")
        for k, v in params.pop("$defs", {}).items():
            defs.setdefault(k, v)
        key = f"{name}_params"
        defs[key] = params
        rules.append({"if": {"properties": {"kind": {"const": name}}, "required": ["kind"]},
                      "then": {"properties": {"params": {"$ref": f"#/$defs/{key}"}}}})
    doc["properties"]["kind"] = {**doc["properties"]["kind"], "enum": names}
    doc["allOf"] = rules
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **doc,
            "title": "runner variant file (strategies.d/<name>_v<version>.yaml)"}
