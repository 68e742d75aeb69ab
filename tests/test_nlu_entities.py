"""Unit tests for the parser's parts: Slack text cleanup, vocabulary matching, time ranges and ages."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.nlu import INTENT_EXAMPLES, Intent, TimeRange, Vocabulary, parse_question
from bot.nlu.durations import find_older_than
from bot.nlu.entities import Entities, extract
from bot.nlu.text import normalize
from bot.nlu.timeranges import find_time_range
from bot.nlu.vocab import index_for

NOW = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)  # a Thursday; 16:00 in Berlin
BERLIN = ZoneInfo("Europe/Berlin")
VOCABULARY = Vocabulary(
    positions=("Backend Engineer", "Frontend Engineer", "Product Designer", "Data Analyst"),
    skills=("Python", "SQL", "React", "Go", "Kubernetes", "PostgreSQL", "TypeScript", "C++", "Node.js"),
    locations=("Berlin", "London", "München", "New York"),
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def entities(text: str, vocabulary: Vocabulary = VOCABULARY) -> Entities:
    return extract(normalize(text), index_for(vocabulary), now=NOW, zone=BERLIN)


def time_range(text: str, *, now: datetime = NOW, tz: str = "Europe/Berlin") -> TimeRange | None:
    found = find_time_range(normalize(text).lower, now=now, zone=ZoneInfo(tz))
    return found.range if found else None


# --- Slack text ---------------------------------------------------------------------------------------------------


def test_mentions_are_collected_and_the_bots_own_is_dropped() -> None:
    message = normalize("<@UBOT> stale for <@U123ABC> and <@W0ENT|ent.user>", bot_user_id="UBOT")
    assert message.mentions == ("U123ABC", "W0ENT")
    assert message.clean == "stale for and"


def test_links_and_mailto_are_unwrapped_to_what_a_human_reads() -> None:
    message = normalize("status of <mailto:jane@x.io|jane@x.io> see <https://x.io/c/1|her profile> <https://x.io>")
    assert message.clean == "status of jane@x.io see her profile https://x.io"
    assert message.emails == ("jane@x.io",)


def test_emoji_markup_and_escapes_are_ignored() -> None:
    message = normalize(":wave: *stale* 🙈👍🏽 in _Interview_ ~now~ &amp; :+1::skin-tone-2: `then`")
    assert message.clean == "stale in Interview now & then"


def test_channel_and_broadcast_references_do_not_become_words() -> None:
    assert normalize("<!here> stale in <#C123|recruiting>").clean == "stale in #recruiting"


def test_tokens_keep_names_and_skills_whole() -> None:
    words = [t.text for t in normalize("find Anne-Marie O'Neil with C++ and node.js").tokens]
    assert words == ["find", "Anne-Marie", "O'Neil", "with", "C++", "and", "node.js"]


# --- stages -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("who is in interview", "Interview"),
        ("INTERVIEWS", "Interview"),
        ("intervew", "Interview"),
        ("interviewing", "Interview"),
        ("phone-screen", "Phone Screen"),
        ("phonescreen", "Phone Screen"),
        ("phone screens", "Phone Screen"),
        ("screening", "Phone Screen"),
        ("accepted offers", "Offer Accepted"),
        ("offer accepted", "Offer Accepted"),
        ("offers", "Offer"),
        ("backround check", "Background Check"),
        ("onboarding", "Onboarding Prep"),
        ("day 1 complete", "Day 1 Complete"),
        ("rejected", "Rejected"),
    ],
)
def test_default_stages_are_found_case_plural_and_typo_tolerantly(text: str, stage: str) -> None:
    assert entities(text).stage == stage


def test_stages_come_from_the_workspace_and_aliases_only_apply_to_configured_ones() -> None:
    custom = Vocabulary(stages=("Applied", "Tech Screen", "Onsite Loop", "Hired"))
    assert entities("who is in tech screen", custom).stage == "Tech Screen"
    assert entities("onsite loops", custom).stage == "Onsite Loop"
    # This workspace has no Phone Screen or Background Check, so neither the names nor their aliases match.
    assert entities("who is in phone screen", custom).stage is None
    assert entities("stale in background check", custom).stage is None


def test_short_words_are_not_stretched_into_stages() -> None:
    assert entities("what's the weather like").stage is None
    assert entities("deploy to production").position is None
    assert entities("who's ready?").skills == ()


# --- positions ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("the backend role", "Backend Engineer"),
        ("backend", "Backend Engineer"),
        ("back-end", "Backend Engineer"),
        ("Frontend Engineers", "Frontend Engineer"),
        ("designer role", "Product Designer"),
        ("pipeline for designers", "Product Designer"),
        ("data analyst", "Data Analyst"),
    ],
)
def test_positions_match_on_their_distinctive_words(text: str, position: str) -> None:
    assert entities(text).position == position


def test_shared_or_generic_title_words_do_not_pick_a_position() -> None:
    assert entities("senior engineers").position is None  # Backend or Frontend? neither is meant
    assert entities("designers with React").position is None  # a skill search, not the Product Designer req


# --- skills and locations -----------------------------------------------------------------------------------------


def test_skills_in_order_of_mention_with_known_aliases() -> None:
    assert entities("postgres, python and k8s").skills == ("PostgreSQL", "Python", "Kubernetes")
    assert entities("C++ or node.js or nodejs").skills == ("C++", "Node.js")
    assert entities("pyhton").skills == ("Python",)


def test_an_alias_is_only_used_when_its_skill_is_known() -> None:
    assert entities("postgres people", Vocabulary(skills=("Python",))).skills == ()


def test_the_go_skill_needs_its_capital_but_golang_does_not() -> None:
    assert entities("Go engineers").skills == ("Go",)
    assert entities("anything go stale?").skills == ()
    assert entities("golang folks").skills == ("Go",)


def test_known_locations_fold_accents_and_unknown_ones_need_a_capital() -> None:
    assert entities("candidates in munchen or new york").locations == ("München", "New York")
    assert entities("devs in São Paulo").locations == ("São Paulo",)
    assert entities("devs from Google").locations == ()
    assert entities("devs in lisbon").locations == ()
    assert entities("hires in October").locations == ()


def test_seniority_words_that_are_also_ordinary_words_need_a_role_after_them() -> None:
    assert entities("staff engineers").seniority == "staff"
    assert entities("our staff").seniority is None
    assert entities("any leads?").seniority is None
    assert entities("Sr. designers").seniority == "senior"
    assert entities("entry level analysts").seniority == "junior"


def test_sourced_from_is_a_source_not_the_sourced_stage() -> None:
    found = entities("candidates sourced from LinkedIn")
    assert (found.source, found.stage) == ("sourced", None)
    assert entities("who is in sourced").stage == "Sourced"


# --- time ranges (Berlin, Thursday 19 November 2026 16:00 CET) ---------------------------------------------------

MONDAY = utc("2026-11-15 23:00")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("this week", MONDAY, NOW),
        ("last week", utc("2026-11-08 23:00"), MONDAY),
        ("past week", utc("2026-11-12 15:00"), NOW),
        ("in the last week", utc("2026-11-12 15:00"), NOW),
        ("last 2 weeks", utc("2026-11-05 15:00"), NOW),
        ("past 10 days", utc("2026-11-09 15:00"), NOW),
        ("last 90 days", utc("2026-08-21 15:00"), NOW),
        ("the last couple of days", utc("2026-11-17 15:00"), NOW),
        ("since Monday", MONDAY, NOW),
        ("since Thursday", utc("2026-11-11 23:00"), NOW),  # today is Thursday: the one a week ago
        ("in October", utc("2026-09-30 22:00"), utc("2026-10-31 23:00")),  # CEST until 25 October
        ("in December", utc("2025-11-30 23:00"), utc("2025-12-31 23:00")),  # not in the future
        ("in November", utc("2026-10-31 23:00"), NOW),  # the current month stops at now
        ("this month", utc("2026-10-31 23:00"), NOW),
        ("last month", utc("2026-09-30 22:00"), utc("2026-10-31 23:00")),
        ("this quarter", utc("2026-09-30 22:00"), NOW),
        ("last quarter", utc("2026-06-30 22:00"), utc("2026-09-30 22:00")),
        ("Q1", utc("2025-12-31 23:00"), utc("2026-03-31 22:00")),
        ("Q4 2025", utc("2025-09-30 22:00"), utc("2025-12-31 23:00")),
        ("this year", utc("2025-12-31 23:00"), NOW),
        ("ytd", utc("2025-12-31 23:00"), NOW),
        ("in 2025", utc("2024-12-31 23:00"), utc("2025-12-31 23:00")),
        ("today", utc("2026-11-18 23:00"), NOW),
        ("yesterday", utc("2026-11-17 23:00"), utc("2026-11-18 23:00")),
        ("since yesterday", utc("2026-11-17 23:00"), NOW),
        ("since 2 weeks", utc("2026-11-05 15:00"), NOW),
        ("last 3 months", utc("2026-08-19 14:00"), NOW),
        ("since 3 November", utc("2026-11-02 23:00"), NOW),
        ("since Nov 3rd", utc("2026-11-02 23:00"), NOW),
        ("since 2026-10-01", utc("2026-09-30 22:00"), NOW),
        ("since 3 Nov 10:30", utc("2026-11-03 09:30"), NOW),  # an explicit time of day is kept
        ("between Oct 1 and Oct 15", utc("2026-09-30 22:00"), utc("2026-10-15 22:00")),
        ("from September to October", utc("2026-08-31 22:00"), utc("2026-10-31 23:00")),
    ],
)
def test_english_time_phrases(text: str, start: datetime, end: datetime) -> None:
    assert time_range(text) == TimeRange(start, end)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("seit Montag", MONDAY, NOW),
        ("depuis lundi", MONDAY, NOW),
        ("desde el lunes", MONDAY, NOW),
        ("diese Woche", MONDAY, NOW),
        ("cette semaine", MONDAY, NOW),
        ("esta semana", MONDAY, NOW),
        ("letzte Woche", utc("2026-11-08 23:00"), MONDAY),
        ("la semaine dernière", utc("2026-11-08 23:00"), MONDAY),
        ("la semana pasada", utc("2026-11-08 23:00"), MONDAY),
        ("in den letzten 10 Tagen", utc("2026-11-09 15:00"), NOW),
        ("les 10 derniers jours", utc("2026-11-09 15:00"), NOW),
        ("los últimos 10 días", utc("2026-11-09 15:00"), NOW),
        ("im Oktober", utc("2026-09-30 22:00"), utc("2026-10-31 23:00")),
        ("en octobre", utc("2026-09-30 22:00"), utc("2026-10-31 23:00")),
        ("en octubre", utc("2026-09-30 22:00"), utc("2026-10-31 23:00")),
        ("seit dem 3. November", utc("2026-11-02 23:00"), NOW),
        ("depuis le 3 novembre", utc("2026-11-02 23:00"), NOW),
        ("desde el 3 de noviembre", utc("2026-11-02 23:00"), NOW),
        ("heute", utc("2026-11-18 23:00"), NOW),
        ("gestern", utc("2026-11-17 23:00"), utc("2026-11-18 23:00")),
        ("aujourd'hui", utc("2026-11-18 23:00"), NOW),
        ("ayer", utc("2026-11-17 23:00"), utc("2026-11-18 23:00")),
    ],
)
def test_german_french_and_spanish_time_phrases(text: str, start: datetime, end: datetime) -> None:
    assert time_range(text) == TimeRange(start, end)


def test_ranges_follow_the_askers_time_zone() -> None:
    # 15:00 UTC Thursday is 07:00 Thursday in Los Angeles (PST, UTC-8) and 00:00 Friday in Tokyo.
    assert time_range("today", tz="America/Los_Angeles") == TimeRange(utc("2026-11-19 08:00"), NOW)
    assert time_range("today", tz="Asia/Tokyo") == TimeRange(utc("2026-11-19 15:00"), NOW)
    assert time_range("this week", tz="Asia/Tokyo") == TimeRange(utc("2026-11-15 15:00"), NOW)


def test_calendar_periods_across_a_dst_change_start_at_local_midnight() -> None:
    # Tuesday 27 October 2026, two days after Berlin went from CEST to CET: Monday's midnight was 23:00 UTC,
    # the 1st of the month's (still CEST) 22:00 UTC.
    now = utc("2026-10-27 12:00")
    assert time_range("this week", now=now) == TimeRange(utc("2026-10-25 23:00"), now)
    assert time_range("this month", now=now) == TimeRange(utc("2026-09-30 22:00"), now)


def test_results_are_aware_utc() -> None:
    found = time_range("last 2 weeks")
    assert found is not None and found.start.tzinfo == UTC and found.end.tzinfo == UTC


def test_no_time_phrase_means_no_range() -> None:
    for text in ("stale candidates", "sourced from LinkedIn", "who is in interview for backend", "since we talked"):
        assert time_range(text) is None


def test_future_dates_are_not_ranges() -> None:
    assert time_range("in December 2026") is None
    assert time_range("since 2027-01-01") is None


# --- ages ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("stuck over 2 weeks", 14),
        ("hasn't been touched in 10 days", 10),
        ("for more than a week", 7),
        ("older than 30 days", 30),
        ("> 10 days", 10),
        ("10+ days", 10),
        ("for two weeks", 14),
        ("a couple of weeks or more", 14),
        ("last touched over 3 weeks ago", 21),
        ("for a month", 30),
    ],
)
def test_minimum_ages(text: str, days: int) -> None:
    found = find_older_than(normalize(text).lower)
    assert found is not None and found[0] == timedelta(days=days)


def test_windows_are_not_ages() -> None:
    assert find_older_than("in the last 2 weeks") is None
    assert find_older_than("past 10 days") is None


# --- the public surface -------------------------------------------------------------------------------------------


def test_every_intent_has_examples_and_they_parse_to_it() -> None:
    assert set(INTENT_EXAMPLES) == set(Intent)
    for intent, examples in INTENT_EXAMPLES.items():
        assert 2 <= len(examples) <= 3
        for example in examples:
            parsed = parse_question(example, vocabulary=VOCABULARY, now=NOW, tz="Europe/Berlin")
            assert (parsed.intent, parsed.understood) == (intent, True), example


def test_now_must_be_aware_and_an_unknown_zone_falls_back_to_utc() -> None:
    with pytest.raises(ValueError):
        parse_question("help", vocabulary=VOCABULARY, now=NOW.replace(tzinfo=None), tz="UTC")
    parsed = parse_question("stale today", vocabulary=VOCABULARY, now=NOW, tz="Mars/Olympus_Mons")
    assert parsed.args.time_range == TimeRange(utc("2026-11-19 00:00"), NOW)  # type: ignore[union-attr]


def test_results_are_frozen_and_comparable() -> None:
    first = parse_question("stale in Interview this week", vocabulary=VOCABULARY, now=NOW, tz="Europe/Berlin")
    again = parse_question("stale in Interview this week", vocabulary=VOCABULARY, now=NOW, tz="Europe/Berlin")
    assert first == again and hash(first.args) == hash(again.args)
    with pytest.raises(AttributeError):
        first.intent = Intent.HELP  # type: ignore[misc]


def test_the_vocabulary_index_is_built_once() -> None:
    assert index_for(VOCABULARY) is index_for(Vocabulary(**{f: getattr(VOCABULARY, f) for f in VOCABULARY.__slots__}))


def test_parsing_is_fast_after_warm_up() -> None:
    questions = [example for examples in INTENT_EXAMPLES.values() for example in examples] + [
        "stale candidates seit Montag",
        "referral hires since 3 November",  # goes through dateparser
        "senior Python engineers in Berlin who were referred",
    ]
    for question in questions:
        parse_question(question, vocabulary=VOCABULARY, now=NOW, tz="Europe/Berlin")
    timings = []
    for _ in range(20):
        for question in questions:
            started = time.perf_counter()
            parse_question(question, vocabulary=VOCABULARY, now=NOW, tz="Europe/Berlin")
            timings.append(time.perf_counter() - started)
    assert statistics.mean(timings) < 0.005
