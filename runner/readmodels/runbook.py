"""The runbook as data: sections by stable id, keyword search, and section reads.

Convention: a level-2 heading ending in ``{#id}`` opens a section, which runs to the next
level-2 heading. Ids are what audit findings and the agent cite, so they are parsed, never
derived from titles.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_HEADING = re.compile(r"^##\s+(?P<title>.+?)\s*\{#(?P<id>[a-z0-9][a-z0-9-]*)\}\s*$")
_WORD = re.compile(r"[a-z0-9_]+")
_STOP = frozenset({"a", "an", "the", "is", "are", "was", "be", "to", "of", "in", "on", "for", "and", "or", "it",
                   "its", "my", "why", "what", "how", "do", "does", "i", "runner"})


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    file: str  # path relative to the runbook directory
    body: str

    def summary(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "file": self.file}


class Runbook:
    def __init__(self, sections: list[Section], root: Path | None = None) -> None:
        self.root = root
        self.sections = {s.id: s for s in sections}

    @classmethod
    def load(cls, directory: Path) -> Runbook:
        sections: list[Section] = []
        if directory.is_dir():
            for path in sorted(directory.glob("*.md")):
                sections += parse(path.read_text(encoding="utf-8"), path.name)
        seen: set[str] = set()
        for s in sections:
            if s.id in seen:
                raise ValueError(f"runbook: section id {s.id!r} appears twice")
            seen.add(s.id)
        return cls(sections, directory)

    def __contains__(self, section_id: str) -> bool:
        return section_id in self.sections

    def ids(self) -> list[str]:
        return sorted(self.sections)

    def get(self, section_id: str) -> Section | None:
        return self.sections.get(section_id)

    def title(self, section_id: str) -> str:
        s = self.sections.get(section_id)
        return s.title if s else section_id

    def search(self, query: str, limit: int = 5) -> list[dict[str, object]]:
        """Sections ranked by query words in the id and title (weighted) and the body."""
        words = [w for w in _WORD.findall(query.lower()) if w not in _STOP]
        if not words:
            return []
        scored = []
        for s in self.sections.values():
            head = Counter(_WORD.findall(f"{s.id.replace('-', ' ')} {s.title}".lower()))
            body = Counter(_WORD.findall(s.body.lower()))
            score = sum(4 * head[w] + min(body[w], 5) + _prefix_hits(w, head, body) for w in words)
            if score:
                scored.append((score, s))
        scored.sort(key=lambda x: (-x[0], x[1].id))
        return [{**s.summary(), "score": score, "snippet": _snippet(s.body, words)} for score, s in scored[:limit]]


def parse(text: str, file: str) -> list[Section]:
    out: list[Section] = []
    cur: tuple[str, str] | None = None
    lines: list[str] = []
    for line in text.splitlines():
        m = _HEADING.match(line)
        if m or line.startswith("## ") or line.startswith("# "):
            if cur:
                out.append(Section(cur[0], cur[1], file, "\n".join(lines).strip()))
            cur = (m["id"], m["title"]) if m else None
            lines = []
            continue
        if cur:
            lines.append(line)
    if cur:
        out.append(Section(cur[0], cur[1], file, "\n".join(lines).strip()))
    return out


def _prefix_hits(word: str, head: Counter[str], body: Counter[str]) -> int:
    """Stems cheaply: "quarantined" finds "quarantine", "exposed" finds "exposure"."""
    if len(word) < 5:
        return 0
    stem = word[:5]
    return 2 * sum(1 for w in head if w.startswith(stem) and w != word) + sum(
        1 for w in body if w.startswith(stem) and w != word
    )


def _snippet(body: str, words: list[str], width: int = 160) -> str:
    low = body.lower()
    pos = min((i for i in (low.find(w) for w in words) if i >= 0), default=0)
    start = max(0, pos - 40)
    return " ".join(body[start:start + width].split())


def load_runbook(home: Path) -> Runbook:
    """The deployment's own runbook, else the one shipped with the runner."""
    from runner.embedded import embedded_dir

    local = home / "runbook"
    if local.is_dir() and any(local.glob("*.md")):
        return Runbook.load(local)
    shipped = embedded_dir("runbook")
    return Runbook.load(shipped) if shipped else Runbook([])
