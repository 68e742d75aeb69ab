"""Typo-tolerant cue words: "stael", "staus", "piepline", "overdeu" still say what the recruiter meant.

Only the words that decide an intent are corrected, and only for intent detection; entities have their own fuzzy
matching (phrases.py). Real words one edit away from a cue ("state", "stage", "talks") are left alone.
"""

from __future__ import annotations

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.nlu.phrases import allowed_typos
from bot.nlu.text import Message

_CUES = (
    "stale", "stuck", "status", "pipeline", "overdue", "referral", "referrals", "referred", "tasks", "search",
    "acceptance",
)  # fmt: skip
_REAL_WORDS = frozenset({
    "stage", "stages", "state", "states", "stall", "stole", "stile", "scale", "stake", "stalk", "stare", "shale",
    "stock", "stick", "stack", "struck", "stuff", "stats", "statue", "talks", "tanks", "masks", "tacks", "starch",
    "acceptable", "referee", "referees",
})  # fmt: skip


def correct_cue_words(message: Message) -> tuple[str, frozenset[int]]:
    """message.lower with misspelled cue words replaced by the cue, and the corrected tokens' indexes.

    Spans shift in the returned text: it is for cue matching only."""
    parts: list[str] = []
    corrected: set[int] = set()
    last = 0
    for i, token in enumerate(message.tokens):
        word = token.lower
        if len(word) < 5 or word in _CUES or word in _REAL_WORDS or not word.isalpha():
            continue
        best = process.extractOne(word, _CUES, scorer=OSA.distance, score_cutoff=allowed_typos(word))
        if best is not None:
            parts += [message.lower[last : token.start], best[0]]
            corrected.add(i)
            last = token.end
    if not parts:
        return message.lower, frozenset()
    return "".join([*parts, message.lower[last:]]), frozenset(corrected)
