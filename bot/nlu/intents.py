"""Which intent a question has: weighted cue phrases plus the entities it mentions, highest total wins.

Weights are hand-set: 4–5 for phrases that leave no doubt ("my referrals", "time to offer"), 2–3 for strong cues
("stale", "status", "find"), 1–2 for hints ("tasks", "late"). Entities only nudge, because a stage name is as
likely in a stale question as in a pipeline question; they decide alone only when no cue matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.nlu.entities import Entities
from bot.nlu.model import Intent, Metric

_I = Intent
_CUES: tuple[tuple[Intent, float, re.Pattern[str]], ...] = tuple(
    (intent, weight, re.compile(pattern))
    for intent, weight, pattern in (
        (_I.STALE, 3, r"\bstale\b|\bstuck\b|\bthrough the cracks\b"),
        (_I.STALE, 3, r"\b(?:go|goes|gone|going|went|getting|gotten|got|fallen|fell)\s+"
                      r"(?:stale|quiet|cold|silent|dark)\b"),
        (_I.STALE, 3, r"(?:\bnot|n'?t)\s+(?:been\s+|yet\s+)?"
                      r"(?:touched|updated|moved|contacted|progressed|heard|responded)\b"),
        (_I.STALE, 3, r"\bno\s+(?:activity|movement|updates?|progress|contact|response|touch ?points?)\b"),
        (_I.STALE, 2.5, r"\b(?:untouched|idle|inactive|dormant|neglected|languishing|forgotten|abandoned|ignored)\b"),
        (_I.STALE, 2.5, r"\b(?:the\s+)?longest\b|\bneeds?\s+(?:a\s+)?(?:nudge|chasing|attention)\b"),
        (_I.STALE, 1.5, r"\b(?:quiet|cold|sitting|waiting|lingering|too long)\b"),
        (_I.PIPELINE, 2.5, r"\bpipeline\b|\bfunnel\b|\bbreakdown\b|\b(?:by|per) stage\b"),
        (_I.PIPELINE, 2, r"\bwho(?:'s| is| are|s)\s+(?:currently\s+|still\s+|now\s+)?(?:in|at)\b"),
        (_I.PIPELINE, 2, r"\bhow many\b|\b(?:count|number|total)\s+of\b|\bcount\b"),
        (_I.PIPELINE, 1.5, r"\bwho\s+(?:do|have)\s+we\s+(?:have|got)\b|\blist\s+(?:all|every(?:one|body))\b"),
        (_I.SEARCH, 2.5, r"\b(?:find|search|searching|lookup|look up|look for|looking for)\b"),
        (_I.SEARCH, 2, r"\b(?:candidates?|people|any(?:one|body)|some(?:one|body)|folks|engineers?|devs?|developers?|"
                       r"designers?|profiles?)\s+(?:with|who know|who knows|knowing|skilled in|experienced in)\b"),
        (_I.SEARCH, 2, r"\bwho\s+(?:knows?|speaks?|can code|has experience)\b|\b(?:named|called)\b"),
        (_I.SEARCH, 1.5, r"\bexperience\s+(?:in|with)\b|\bexperienced\b|\bskills?\b"),
        (_I.SEARCH, 1.5, r"\bdo\s+we\s+have\s+(?:any(?:one|body)?|some(?:one|body)|people|candidates)\b"),
        (_I.STATUS, 3, r"\bstatus\b|\b(?:what|which)\s+stage\s+is\b"),
        (_I.STATUS, 2.5, r"\bstate of\b"),
        (_I.STATUS, 3, r"\bhow(?:'s| is|s)\s+\S+(?:\s+\S+)?\s+(?:doing|going|getting on)\b"),
        (_I.STATUS, 2.5, r"\bwhere(?:'s| is|s| are we with| are we on| do we stand| does)\b"),
        (_I.STATUS, 2.5, r"\b(?:update|updates|news|latest|progress)\s+(?:on|for|about|with)\b"
                         r"|\b(?:happening|going on|up) with\b|\bcheck(?:ing)?\s+(?:in\s+)?on\b"),
        (_I.MY_TASKS, 4, r"\b(?:my|mine)\s*(?:open\s+|pending\s+|own\s+)?"
                         r"(?:tasks?|to ?dos?|follow ?ups?|reminders?|action items?)\b"),
        (_I.MY_TASKS, 4, r"\bon my plate\b|\bmy (?:agenda|queue)\b"),
        (_I.MY_TASKS, 3.5, r"\bwhat\s+(?:do|should|must)\s+i\s+(?:need\s+to\s+|have\s+to\s+)?"
                           r"(?:do|work on|focus on|tackle)\b"),
        (_I.MY_TASKS, 3, r"\bi\s+(?:need|have)\s+to\s+do\b|\bfor me to do\b"),
        (_I.MY_TASKS, 1.5, r"\b(?:tasks?|to ?dos?|follow ?ups?|reminders?|action items?)\b"),
        (_I.OVERDUE, 4, r"\boverdue\b|\bpast due\b"),
        (_I.OVERDUE, 2, r"\blate\b|\bbehind\b|\bmissed\b"),
        (_I.MY_REFERRALS, 5, r"\bmy\s+(?:\w+\s+)?(?:referr?als?|referred|referees)\b"),
        (_I.MY_REFERRALS, 5, r"\bi(?:'ve| have)?\s+referred\b|\bdid\s+i\s+refer\b"
                             r"|\breferrals?\s+(?:that\s+)?i(?:'ve)?\s+(?:made|sent|submitted|gave|did)\b"),
        (_I.DRAFT, 6, r"\b(?:draft|write|compose|prepare|pen)\b(?:\s+(?:me|us|up))?\s+(?:an?\s+|the\s+|some\s+)?"
                      r"(?:\w+\s+){0,2}?(?:e-?mail|mail|message|note|intro(?:duction)?|follow[ -]?up|outreach)s?\b"),
        (_I.HELP, 5, r"^\s*(?:help|halp|hilfe|aide|ayuda|commands?|usage|examples?|menu)\W*$"),
        (_I.HELP, 5, r"\bwhat\s+(?:can|do)\s+(?:you|this bot|the bot|talentbot)\s+(?:do|know|understand|support)\b|"
                     r"\bhow\s+do\s+(?:i|you)\s+use\b|"
                     r"\bwhat\s+can\s+i\s+ask\b|\bhow\s+does\s+this\s+work\b"),
        (_I.HELP, 3, r"\bhelp\b"),
        (_I.HELP, 3, r"^\s*(?:hi|hello|hey|yo|hallo|moin|bonjour|hola|good (?:morning|afternoon))"
                     r"(?:\s+(?:there|bot|all))?\W*$"),
    )
)  # fmt: skip

_METRICS: tuple[tuple[Metric, re.Pattern[str]], ...] = (
    (Metric.REFERRAL_HIRES, re.compile(
        r"\breferral\s+hires?\b|\bhires?\s+(?:\w+\s+){0,2}?(?:from|via|through|by)\s+referrals?\b|\breferred\s+hires\b|"
        r"\bhired\s+(?:from|via|through)\s+referrals?\b|\breferrals?\s+(?:that|who)\s+(?:got\s+)?hired\b")),
    (Metric.TIME_TO_OFFER, re.compile(
        r"\btime\s+to\s+offer\b|\bdays\s+to\s+(?:an\s+)?offer\b|\bhow\s+long\b.*\b(?:to|until)\s+(?:an?\s+|the\s+)?offers?\b")),
    (Metric.OFFER_ACCEPTANCE_RATE, re.compile(
        r"\baccept(?:ance|ed)?\s+(?:(?:rate|ratio|percentage)\b|%)|(?:%|\bpercent(?:age)?|\bshare)\s+of\s+offers\s+accepted\b|"
        r"\bhow\s+many\s+offers\s+(?:get|got|were|are)\s+accepted\b")),
    (Metric.NURTURE_RATES, re.compile(
        r"\b(?:nurture|sequences?|drip|campaigns?)\b.*\b(?:rates?|opens?|opened|clicks?|clicked|repl(?:y|ies|ied)|"
        r"engagement|stats|statistics|performance|perform(?:ing|s)?|numbers)\b|"
        r"\b(?:open|click|reply|response|click-through)\s+rates?\b|\bemail\s+engagement\b")),
)  # fmt: skip
_METRIC_WEIGHT = 5.0

# Ties go to the more specific intent.
_PRIORITY = (
    _I.DRAFT, _I.MY_REFERRALS, _I.METRIC, _I.MY_TASKS, _I.OVERDUE, _I.STATUS, _I.STALE, _I.SEARCH, _I.PIPELINE, _I.HELP,
)  # fmt: skip
_UNDERSTOOD_AT = 1.5
_COUNT = re.compile(r"\bhow many\b|\b(?:count|number|total)\s+of\b|\bcount\b")
_CANDIDATE_NOUNS = re.compile(r"\b(?:candidates?|people|any(?:one|body)|folks|profiles?|talent)\b")


@dataclass(frozen=True, slots=True)
class Classification:
    intent: Intent
    metric: Metric | None
    understood: bool
    confidence: float
    count_only: bool


def classify(lower: str, entities: Entities) -> Classification:
    cues = dict.fromkeys(Intent, 0.0)
    for intent, weight, pattern in _CUES:
        if pattern.search(lower):
            cues[intent] += weight
    metric = next((m for m, pattern in _METRICS if pattern.search(lower)), None)
    if metric:
        cues[_I.METRIC] += _METRIC_WEIGHT
    totals = {intent: score + _entity_nudge(intent, entities) for intent, score in cues.items()}
    ranked = sorted(Intent, key=lambda i: (-totals[i], _PRIORITY.index(i)))
    best, runner_up = ranked[0], ranked[1]
    understood = cues[best] >= _UNDERSTOOD_AT or _entities_suffice(best, entities, lower)
    if not understood or totals[best] <= 0:
        return Classification(_I.HELP, None, understood=False, confidence=0.0, count_only=False)
    top, second = totals[best], max(totals[runner_up], 0.0)
    # Strong cues and a clear lead both raise confidence; entity-only guesses stay below 0.5.
    confidence = 0.5 * min(1.0, top / 4) + 0.5 * (top - second) / top
    if cues[best] < _UNDERSTOOD_AT:
        confidence = min(confidence, 0.45)
    count_only = bool(_COUNT.search(lower))
    return Classification(best, metric if best is _I.METRIC else None, True, round(confidence, 2), count_only)


def _entity_nudge(intent: Intent, e: Entities) -> float:
    if intent is _I.PIPELINE:
        return min(1.5, (e.stage is not None) * 1.0 + (e.position is not None) * 1.0)
    if intent is _I.SEARCH:
        return (2.5 * bool(e.skills) + 1.5 * (e.seniority is not None) + 1.0 * (e.source is not None)
                + 2.0 * (e.pool is not None) + 1.0 * bool(e.locations))  # fmt: skip
    if intent is _I.STATUS:
        return 3.0 * (e.email is not None)
    if intent is _I.STALE:
        return 2.0 * (e.older_than is not None)
    return 0.0


def _entities_suffice(intent: Intent, e: Entities, lower: str) -> bool:
    """Without any cue, a bare "Interview" or "python berlin" is still clear; "weather in Berlin" is not."""
    if intent is _I.PIPELINE:
        return e.stage is not None or e.position is not None
    if intent is _I.SEARCH:
        named_something = bool(e.skills or e.seniority or e.pool or e.source)
        return named_something or bool(e.locations and _CANDIDATE_NOUNS.search(lower))
    if intent is _I.STATUS:
        return e.email is not None
    return intent is _I.STALE and e.older_than is not None
