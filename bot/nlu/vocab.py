"""Phrase indexes for a Vocabulary, built once and cached: the vocabulary changes rarely, questions often."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from bot.nlu.model import Vocabulary
from bot.nlu.phrases import PhraseMatcher
from bot.nlu.text import fold

# Other names recruiters use for the default stages; used only when the workspace has a stage of that name.
_STAGE_ALIASES: dict[str, str] = {
    "screen": "Phone Screen",
    "screening": "Phone Screen",
    "phone interview": "Phone Screen",
    "onsite": "Interview",
    "on site": "Interview",
    "bg check": "Background Check",
    "day 1": "Day 1 Complete",
    "day one": "Day 1 Complete",
    "withdrew": "Withdrawn",
    "dropped out": "Withdrawn",
}

# Spellings of one skill; whichever the workspace uses, the others lead to it ("postgres" → "PostgreSQL").
_SKILL_SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("postgresql", "postgres", "psql"),
    ("kubernetes", "k8s", "kube"),
    ("go", "golang"),
    ("javascript", "js"),
    ("typescript", "ts"),
    ("react", "reactjs", "react.js"),
    ("node.js", "nodejs", "node"),
    ("python", "py"),
    ("machine learning", "ml"),
)


@dataclass(frozen=True, slots=True)
class VocabIndex:
    stages: PhraseMatcher
    positions: PhraseMatcher
    skills: PhraseMatcher
    locations: PhraseMatcher
    pools: PhraseMatcher


def _configured(names: tuple[str, ...]) -> dict[str, str]:
    return {fold(name): name for name in names}


def _stage_aliases(stages: tuple[str, ...]) -> dict[str, str]:
    configured = _configured(stages)
    return {alias: configured[fold(target)] for alias, target in _STAGE_ALIASES.items() if fold(target) in configured}


def _skill_aliases(skills: tuple[str, ...]) -> dict[str, str]:
    configured = _configured(skills)
    aliases: dict[str, str] = {}
    for group in _SKILL_SYNONYMS:
        known = next((configured[spelling] for spelling in group if spelling in configured), None)
        if known:
            aliases.update({spelling: known for spelling in group if spelling not in configured})
    return aliases


@lru_cache(maxsize=16)
def index_for(vocabulary: Vocabulary) -> VocabIndex:
    return VocabIndex(
        stages=PhraseMatcher(vocabulary.stages, aliases=_stage_aliases(vocabulary.stages), head_words=True),
        positions=PhraseMatcher(vocabulary.positions, head_words=True, title_words=True),
        # "ready" is one edit from "react": skills need six letters before a typo is forgiven.
        skills=PhraseMatcher(
            vocabulary.skills, aliases=_skill_aliases(vocabulary.skills), min_fuzzy_length=6, case_sensitive_below=3
        ),
        locations=PhraseMatcher(vocabulary.locations, min_fuzzy_length=6),
        pools=PhraseMatcher(vocabulary.pools, head_words=True),
    )
