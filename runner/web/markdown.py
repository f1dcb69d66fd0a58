"""Runbook markdown to HTML, safely: raw HTML in the source is shown as text, never rendered,
and links may only be http(s), mailto or relative (markdown-it refuses ``javascript:``)."""

from __future__ import annotations

from typing import Any

_md: Any = None


def render_markdown(text: str) -> str:
    global _md
    if _md is None:
        from markdown_it import MarkdownIt

        _md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    return str(_md.render(text))
