"""The parser against questions as recruiters type them in Slack: intent and arguments must both be right.

Time is frozen at Thursday 2026-11-19 15:00 UTC (16:00 in Berlin, CET); ranges below are UTC.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.nlu import (
    ASKER,
    HelpArgs,
    Intent,
    Metric,
    MetricArgs,
    OverdueArgs,
    ParsedQuestion,
    PipelineArgs,
    ReferralsArgs,
    SearchArgs,
    StaleArgs,
    StatusArgs,
    TasksArgs,
    TimeRange,
    Vocabulary,
    parse_question,
)

NOW = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
TZ = "Europe/Berlin"
BOT = "UBOT0001"
VOCABULARY = Vocabulary(
    positions=("Backend Engineer", "Frontend Engineer", "Product Designer", "Data Analyst"),
    skills=("Python", "SQL", "React", "Go", "Kubernetes", "PostgreSQL", "TypeScript"),
    locations=("Berlin", "London", "Munich", "Remote", "New York"),
    pools=("Silver Medalists", "Future Leaders"),
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def since(start: str) -> TimeRange:
    return TimeRange(utc(start), NOW)


def between(start: str, end: str) -> TimeRange:
    return TimeRange(utc(start), utc(end))


def days(n: int) -> timedelta:
    return timedelta(days=n)


# Local midnights in Berlin, in UTC: CET (+1) from 25 October 2026, CEST (+2) before.
TODAY = since("2026-11-18 23:00")
YESTERDAY = between("2026-11-17 23:00", "2026-11-18 23:00")
THIS_WEEK = since("2026-11-15 23:00")  # Monday 16 November
SINCE_MONDAY = THIS_WEEK
LAST_WEEK = between("2026-11-08 23:00", "2026-11-15 23:00")
PAST_7_DAYS = since("2026-11-12 15:00")
PAST_10_DAYS = since("2026-11-09 15:00")
LAST_2_WEEKS = since("2026-11-05 15:00")
LAST_30_DAYS = since("2026-10-20 15:00")
LAST_90_DAYS = since("2026-08-21 15:00")
LAST_3_MONTHS = since("2026-08-19 14:00")  # 16:00 CEST on 19 August
THIS_MONTH = since("2026-10-31 23:00")
LAST_MONTH = between("2026-09-30 22:00", "2026-10-31 23:00")
OCTOBER = LAST_MONTH
SEPTEMBER = between("2026-08-31 22:00", "2026-09-30 22:00")
DECEMBER_2025 = between("2025-11-30 23:00", "2025-12-31 23:00")
THIS_QUARTER = since("2026-09-30 22:00")
LAST_QUARTER = between("2026-06-30 22:00", "2026-09-30 22:00")
THIS_YEAR = since("2025-12-31 23:00")
SINCE_OCT_3 = since("2026-10-02 22:00")
SINCE_NOV_3 = since("2026-11-02 23:00")
SINCE_OCT_1 = THIS_QUARTER
SINCE_SEP_1 = since("2026-08-31 22:00")

S, P, F, ST = "stale", "pipeline", "search", "status"
T, OD, R, M, H = "my_tasks", "overdue", "my_referrals", "metric", "help"
UNKNOWN = "unknown"  # help, with understood=False

PHRASINGS: list[tuple[str, str, dict[str, Any]]] = [
    # --- stale ---------------------------------------------------------------------------------------------------
    ("stale candidates this week", S, {"time_range": THIS_WEEK}),
    ("who's gone quiet?", S, {}),
    ("stale in Interview for the backend role", S, {"stage": "Interview", "position": "Backend Engineer"}),
    ("anything stuck over 2 weeks?", S, {"older_than": days(14)}),
    ("who hasn't been touched in 10 days", S, {"older_than": days(10)}),
    (f"<@{BOT}> stale candidates", S, {}),
    ("Stale candidates for <@U123ABC>", S, {"owner": "U123ABC"}),
    ("stale candidates for <@U07QX9|maria>", S, {"owner": "U07QX9"}),
    ("any stale candidates in phone-screen?", S, {"stage": "Phone Screen"}),
    ("stale intervews", S, {"stage": "Interview"}),
    ("STALE OFFERS", S, {"stage": "Offer"}),
    ("show me stale candidates since Monday", S, {"time_range": SINCE_MONDAY}),
    ("stale candidates seit Montag", S, {"time_range": SINCE_MONDAY}),
    ("candidats stale depuis lundi", S, {"time_range": SINCE_MONDAY}),
    ("candidatos stale desde el lunes", S, {"time_range": SINCE_MONDAY}),
    ("which candidates are stuck in background check?", S, {"stage": "Background Check"}),
    ("who's been sitting in Offer for more than a week", S, {"stage": "Offer", "older_than": days(7)}),
    ("candidates with no activity for 3 weeks", S, {"older_than": days(21)}),
    ("stale product designer candidates", S, {"position": "Product Designer"}),
    ("who fell through the cracks last week?", S, {"time_range": LAST_WEEK}),
    ("stale :eyes:", S, {}),
    ("🙈 anyone gone cold in the data analyst pipeline?", S, {"position": "Data Analyst"}),
    ("which candidates have been waiting too long?", S, {}),
    ("stale candidates in October", S, {"time_range": OCTOBER}),
    ("stale in the last 2 weeks", S, {"time_range": LAST_2_WEEKS}),
    ("Stale candidates, past 10 days, Frontend", S, {"position": "Frontend Engineer", "time_range": PAST_10_DAYS}),
    ("hey bot, who's stale in sourced?", S, {"stage": "Sourced"}),
    ("stale candidates for the designer role", S, {"position": "Product Designer"}),
    ("idle candidates older than 30 days", S, {"older_than": days(30)}),
    ("who have we not heard from in 2 weeks?", S, {"older_than": days(14)}),
    ("which of my candidates went quiet", S, {"owner": ASKER}),
    ("neglected candidates in onboarding prep", S, {"stage": "Onboarding Prep"}),
    ("anything go stale today?", S, {"time_range": TODAY}),
    ("Stale in Interview, stuck > 10 days", S, {"stage": "Interview", "older_than": days(10)}),
    ("who has been stuck in phone screens since Oct 3?", S, {"stage": "Phone Screen", "time_range": SINCE_OCT_3}),
    ("stale candidates this quarter", S, {"time_range": THIS_QUARTER}),
    ("untouched candidates for two weeks", S, {"older_than": days(14)}),
    ("stale candidates in den letzten 2 Wochen", S, {"time_range": LAST_2_WEEKS}),
    ("anyone stuck in Offer Accepted?", S, {"stage": "Offer Accepted"}),
    ("stale in background-check for backend", S, {"stage": "Background Check", "position": "Backend Engineer"}),
    ("no activity in the past 2 weeks", S, {"older_than": days(14)}),
    ("who's been stuck in screening for 10+ days", S, {"stage": "Phone Screen", "older_than": days(10)}),
    ("stale cands for <@U0SARAH1|sarah> in outreach", S, {"owner": "U0SARAH1", "stage": "Outreach"}),
    ("Who went quiet since 3 November?", S, {"time_range": SINCE_NOV_3}),
    ("any candidates dormant for a month?", S, {"older_than": days(30)}),
    ("STUCK IN INTERVIEW???", S, {"stage": "Interview"}),
    ("stale stuff yesterday", S, {"time_range": YESTERDAY}),
    ("stael candidates in interview", S, {"stage": "Interview"}),
    (f"hey <@{BOT}> :wave: who's stale?", S, {}),
    ("*stale* candidates in _Interview_", S, {"stage": "Interview"}),
    ("stale candidates :thinking_face::skin-tone-3:", S, {}),
    ("STALE CANDIDATES FOR <@U99ZZ|bob> THIS WEEK", S, {"owner": "U99ZZ", "time_range": THIS_WEEK}),
    ("stale candidates seit dem 1. Oktober", S, {"time_range": SINCE_OCT_1}),
    ("stale candidates la semaine dernière", S, {"time_range": LAST_WEEK}),
    ("stale candidates between Oct 1 and Oct 15", S, {"time_range": between("2026-09-30 22:00", "2026-10-15 22:00")}),
    ("show stale in Phone Screen older than 5d", S, {"stage": "Phone Screen", "older_than": days(5)}),
    ("list stale in Interview >2w", S, {"stage": "Interview", "older_than": days(14)}),
    # --- pipeline ------------------------------------------------------------------------------------------------
    ("who is in interview for backend engineer?", P, {"stage": "Interview", "position": "Backend Engineer"}),
    ("pipeline for the designer role", P, {"position": "Product Designer"}),
    ("how many in offer?", P, {"stage": "Offer", "count_only": True}),
    ("Who's in phone screen?", P, {"stage": "Phone Screen"}),
    ("show me the backend pipeline", P, {"position": "Backend Engineer"}),
    ("how many candidates are in Interview for Data Analyst", P,
     {"stage": "Interview", "position": "Data Analyst", "count_only": True}),
    ("list everyone in onboarding", P, {"stage": "Onboarding Prep"}),
    ("who's at offer stage", P, {"stage": "Offer"}),
    ("number of people in background check", P, {"stage": "Background Check", "count_only": True}),
    ("pipeline", P, {}),
    ("how's the frontend pipeline looking?", P, {"position": "Frontend Engineer"}),
    ("who do we have in Interviews for product designer :thinking_face:", P,
     {"stage": "Interview", "position": "Product Designer"}),
    ("count of candidates in sourced", P, {"stage": "Sourced", "count_only": True}),
    ("How many offers are out?", P, {"stage": "Offer", "count_only": True}),
    (f"<@{BOT}> who is in offer accepted", P, {"stage": "Offer Accepted"}),
    ("candidates in Outreach for <@U0ABC12>", P, {"stage": "Outreach", "owner": "U0ABC12"}),
    ("what does the data analyst pipeline look like", P, {"position": "Data Analyst"}),
    ("how many people are we interviewing for backend?", P,
     {"stage": "Interview", "position": "Backend Engineer", "count_only": True}),
    ("who's in the pipeline for frontend engineer", P, {"position": "Frontend Engineer"}),
    ("who is in phonescreen", P, {"stage": "Phone Screen"}),
    ("who is in intervew stage?", P, {"stage": "Interview"}),
    ("How many in Offer this month?", P, {"stage": "Offer", "count_only": True, "time_range": THIS_MONTH}),
    ("who's in rejected for the designer role", P, {"stage": "Rejected", "position": "Product Designer"}),
    ("how many withdrawn candidates this quarter", P,
     {"stage": "Withdrawn", "count_only": True, "time_range": THIS_QUARTER}),
    ("Who's in Interview?", P, {"stage": "Interview"}),
    ("Interview", P, {"stage": "Interview"}),
    ("backend engineer pipeline pls 🙏", P, {"position": "Backend Engineer"}),
    ("funnel for data analyst this year", P, {"position": "Data Analyst", "time_range": THIS_YEAR}),
    ("my pipeline", P, {"owner": ASKER}),
    ("how many candidates do we have in day 1 complete", P, {"stage": "Day 1 Complete", "count_only": True}),
    ("who's currently in outreach?", P, {"stage": "Outreach"}),
    ("breakdown of the frontend pipeline by stage", P, {"position": "Frontend Engineer"}),
    ("how many people in backround check", P, {"stage": "Background Check", "count_only": True}),
    ("piepline for backend", P, {"position": "Backend Engineer"}),
    ("who’s in Interview for the Backend Engineer role?", P, {"stage": "Interview", "position": "Backend Engineer"}),
    ("what's the state of the designer pipeline", P, {"position": "Product Designer"}),
    # --- search --------------------------------------------------------------------------------------------------
    ("candidates with SQL in Berlin", F, {"skills": ("SQL",), "locations": ("Berlin",)}),
    ("senior Python engineers who were referred", F,
     {"skills": ("Python",), "seniority": "senior", "source": "referral"}),
    ("find Jane Doe", F, {"text": "Jane Doe"}),
    ("anyone who knows Kubernetes?", F, {"skills": ("Kubernetes",)}),
    ("search react developers in London", F, {"skills": ("React",), "locations": ("London",)}),
    ("find candidates with postgres and python", F, {"skills": ("PostgreSQL", "Python")}),
    ("Go engineers", F, {"skills": ("Go",)}),
    ("who knows golang?", F, {"skills": ("Go",)}),
    ("remote candidates who know k8s", F, {"skills": ("Kubernetes",), "locations": ("Remote",)}),
    ("candidates from the Silver Medalists pool", F, {"pool": "Silver Medalists"}),
    ("anyone in the future leaders talent pool with React", F, {"pool": "Future Leaders", "skills": ("React",)}),
    ("referred candidates in Berlin", F, {"source": "referral", "locations": ("Berlin",)}),
    ("staff engineers in New York", F, {"seniority": "staff", "locations": ("New York",)}),
    ("python devs in Lisbon", F, {"skills": ("Python",), "locations": ("Lisbon",)}),
    ("find candidates with SQL who are in Interview", F, {"skills": ("SQL",), "stage": "Interview"}),
    ("search for Anne-Marie O'Neil", F, {"text": "Anne-Marie O'Neil"}),
    ("do we have anyone with TypeScript experience?", F, {"skills": ("TypeScript",)}),
    ("Sr. backend engineers with Go", F, {"seniority": "senior", "position": "Backend Engineer", "skills": ("Go",)}),
    ("mid-level product designers, remote", F,
     {"seniority": "mid", "position": "Product Designer", "locations": ("Remote",)}),
    ("candidates with pyhton in berlin", F, {"skills": ("Python",), "locations": ("Berlin",)}),
    ("find José García", F, {"text": "José García"}),
    ("inbound applicants with SQL", F, {"source": "applied", "skills": ("SQL",)}),
    ("Show me senior candidates in Munich :flag-de:", F, {"seniority": "senior", "locations": ("Munich",)}),
    ("any principal engineers?", F, {"seniority": "principal"}),
    ("find me someone with kubernetes in London who was referred", F,
     {"skills": ("Kubernetes",), "locations": ("London",), "source": "referral"}),
    ("candidates with Rust", F, {"text": "Rust"}),
    ("candidates in Berlin", F, {"locations": ("Berlin",)}),
    ("find candidates named Smith", F, {"text": "Smith"}),
    ("python and sql people in berlin or munich", F, {"skills": ("Python", "SQL"), "locations": ("Berlin", "Munich")}),
    ("junior react devs", F, {"seniority": "junior", "skills": ("React",)}),
    ("look up candidates from agencies with Go", F, {"source": "agency", "skills": ("Go",)}),
    ("lead frontend engineers in Amsterdam", F,
     {"seniority": "lead", "position": "Frontend Engineer", "locations": ("Amsterdam",)}),
    ("my candidates with Python", F, {"skills": ("Python",), "owner": ASKER}),
    ("Kubernetes + Go, senior, Berlin", F, {"skills": ("Kubernetes", "Go"), "seniority": "senior",
                                           "locations": ("Berlin",)}),
    ("search the ML pool", F, {"pool": "ML"}),
    ("anyone who speaks SQL and typescript?", F, {"skills": ("SQL", "TypeScript")}),
    ("find  *Priya Patel*", F, {"text": "Priya Patel"}),
    ("reffered candidates with react", F, {"source": "referral", "skills": ("React",)}),
    ("serach for SQL people in London", F, {"skills": ("SQL",), "locations": ("London",)}),
    # --- status --------------------------------------------------------------------------------------------------
    ("what's the status of Jane Doe?", ST, {"name": "Jane Doe"}),
    ("where is jane.doe@example.com at?", ST, {"email": "jane.doe@example.com"}),
    ("status of <mailto:jane.doe@example.com|jane.doe@example.com>", ST, {"email": "jane.doe@example.com"}),
    ("Where's Ada Lovelace in the process?", ST, {"name": "Ada Lovelace"}),
    ("how is John Smith doing?", ST, {"name": "John Smith"}),
    ("any update on Priya Patel", ST, {"name": "Priya Patel"}),
    ("status jane doe", ST, {"name": "jane doe"}),
    ("What is happening with Marie Curie?", ST, {"name": "Marie Curie"}),
    ("where does Bob Stone stand", ST, {"name": "Bob Stone"}),
    ("Jane Doe status?", ST, {"name": "Jane Doe"}),
    ("status update for lee.chen@acme.io please", ST, {"email": "lee.chen@acme.io"}),
    ("where are we with Tom Hanks :pray:", ST, {"name": "Tom Hanks"}),
    ("what stage is Grace Hopper in?", ST, {"name": "Grace Hopper"}),
    (f"<@{BOT}> status of Zoë Müller", ST, {"name": "Zoë Müller"}),
    ("wheres jane doe at", ST, {"name": "jane doe"}),
    ("news on Chidi Anagonye?", ST, {"name": "Chidi Anagonye"}),
    ("what's the latest on Jane Doe", ST, {"name": "Jane Doe"}),
    ("jane.doe@example.com", ST, {"email": "jane.doe@example.com"}),
    ("Status of Jean-Luc Picard's application", ST, {"name": "Jean-Luc Picard"}),
    ("where's <mailto:ana@example.org|ana@example.org> in the pipeline?", ST, {"email": "ana@example.org"}),
    ("how's Ada Lovelace getting on?", ST, {"name": "Ada Lovelace"}),
    ("staus of Jane Doe", ST, {"name": "Jane Doe"}),
    ("status of <https://www.linkedin.com/in/jane-doe|Jane Doe>", ST, {"name": "Jane Doe"}),
    ("what's the state of Jane Doe", ST, {"name": "Jane Doe"}),
    # --- my tasks ------------------------------------------------------------------------------------------------
    ("my tasks", T, {}),
    ("what are my tasks today?", T, {"time_range": TODAY}),
    ("what's on my plate", T, {}),
    ("my to-dos", T, {}),
    ("what do I need to do?", T, {}),
    ("show my follow-ups", T, {}),
    ("my tasks for this week", T, {"time_range": THIS_WEEK}),
    ("My Tasks :memo:", T, {}),
    ("what should I work on today", T, {"time_range": TODAY}),
    ("mytasks", T, {}),
    ("my open follow ups", T, {}),
    # --- overdue -------------------------------------------------------------------------------------------------
    ("what's overdue?", OD, {}),
    ("overdue", OD, {}),
    ("anything overdue?", OD, {}),
    ("overdue tasks for <@U0TEAM1>", OD, {"owner": "U0TEAM1"}),
    ("which follow-ups are late?", OD, {}),
    ("past due tasks", OD, {}),
    ("overdue items :rotating_light:", OD, {}),
    ("what's overdue for me", OD, {"owner": ASKER}),
    ("Overdue???", OD, {}),
    ("am I behind on anything?", OD, {}),
    ("overdeu tasks?", OD, {}),
    # --- my referrals --------------------------------------------------------------------------------------------
    ("my referrals", R, {}),
    ("how are my referrals doing?", R, {}),
    ("who did I refer?", R, {}),
    ("people I referred", R, {}),
    ("status of my referrals", R, {}),
    ("my referred candidates", R, {}),
    ("referrals I made this year", R, {"time_range": THIS_YEAR}),
    ("what happened to the people I referred", R, {}),
    ("My Referrals 🙂", R, {}),
    ("my referals", R, {}),
    ("my refferals", R, {}),
    # --- metrics -------------------------------------------------------------------------------------------------
    ("referral hires this quarter", M, {"metric": Metric.REFERRAL_HIRES, "time_range": THIS_QUARTER}),
    ("time to offer for the last 90 days", M, {"metric": Metric.TIME_TO_OFFER, "time_range": LAST_90_DAYS}),
    ("offer acceptance rate", M, {"metric": Metric.OFFER_ACCEPTANCE_RATE}),
    ("how many referral hires did we make in October?", M,
     {"metric": Metric.REFERRAL_HIRES, "time_range": OCTOBER}),
    ("what's our offer acceptance rate this year", M,
     {"metric": Metric.OFFER_ACCEPTANCE_RATE, "time_range": THIS_YEAR}),
    ("avg time-to-offer last month", M, {"metric": Metric.TIME_TO_OFFER, "time_range": LAST_MONTH}),
    ("time to offer for backend engineers", M, {"metric": Metric.TIME_TO_OFFER, "position": "Backend Engineer"}),
    ("offer accept rate last quarter", M, {"metric": Metric.OFFER_ACCEPTANCE_RATE, "time_range": LAST_QUARTER}),
    ("hires from referrals this year", M, {"metric": Metric.REFERRAL_HIRES, "time_range": THIS_YEAR}),
    ("How long does it take us to get to offer?", M, {"metric": Metric.TIME_TO_OFFER}),
    ("acceptance rate in Q3", M, {"metric": Metric.OFFER_ACCEPTANCE_RATE, "time_range": LAST_QUARTER}),
    ("% of offers accepted this quarter", M, {"metric": Metric.OFFER_ACCEPTANCE_RATE, "time_range": THIS_QUARTER}),
    ("time to offer depuis le 1er octobre", M, {"metric": Metric.TIME_TO_OFFER, "time_range": SINCE_OCT_1}),
    ("referral hires since 1 September", M, {"metric": Metric.REFERRAL_HIRES, "time_range": SINCE_SEP_1}),
    ("time to offer in the past 30 days", M, {"metric": Metric.TIME_TO_OFFER, "time_range": LAST_30_DAYS}),
    ("offer acceptance rate for product designer", M,
     {"metric": Metric.OFFER_ACCEPTANCE_RATE, "position": "Product Designer"}),
    ("referral hires in December", M, {"metric": Metric.REFERRAL_HIRES, "time_range": DECEMBER_2025}),
    ("time to offer, last 3 months", M, {"metric": Metric.TIME_TO_OFFER, "time_range": LAST_3_MONTHS}),
    ("Referral hires im September", M, {"metric": Metric.REFERRAL_HIRES, "time_range": SEPTEMBER}),
    ("offer acceptance rate cette semaine", M, {"metric": Metric.OFFER_ACCEPTANCE_RATE, "time_range": THIS_WEEK}),
    ("time to offer esta semana", M, {"metric": Metric.TIME_TO_OFFER, "time_range": THIS_WEEK}),
    ("referral hires in the past week", M, {"metric": Metric.REFERRAL_HIRES, "time_range": PAST_7_DAYS}),
    ("time to offer seit gestern", M, {"metric": Metric.TIME_TO_OFFER, "time_range": since("2026-11-17 23:00")}),
    ("referral hires desde el 3 de noviembre", M, {"metric": Metric.REFERRAL_HIRES, "time_range": SINCE_NOV_3}),
    ("time to offer les 10 derniers jours", M, {"metric": Metric.TIME_TO_OFFER, "time_range": PAST_10_DAYS}),
    ("referral hires el mes pasado", M, {"metric": Metric.REFERRAL_HIRES, "time_range": LAST_MONTH}),
    ("hires from referrals letzten Monat", M, {"metric": Metric.REFERRAL_HIRES, "time_range": LAST_MONTH}),
    # nurture sequences (issue 5)
    ("nurture open rates", M, {"metric": Metric.NURTURE_RATES}),
    ("how are our sequences performing this quarter?", M,
     {"metric": Metric.NURTURE_RATES, "time_range": THIS_QUARTER}),
    ("reply rate of the nurture emails last month", M, {"metric": Metric.NURTURE_RATES, "time_range": LAST_MONTH}),
    ("click rates", M, {"metric": Metric.NURTURE_RATES}),
    ("time to offer dieses Jahr", M, {"metric": Metric.TIME_TO_OFFER, "time_range": THIS_YEAR}),
    ("referral hires from September to October", M,
     {"metric": Metric.REFERRAL_HIRES, "time_range": between("2026-08-31 22:00", "2026-10-31 23:00")}),
    ("offer acceptance rate yesterday", M, {"metric": Metric.OFFER_ACCEPTANCE_RATE, "time_range": YESTERDAY}),
    ("time to offer hoy", M, {"metric": Metric.TIME_TO_OFFER, "time_range": TODAY}),
    # --- a second batch, written after the parser, to check it generalises ----------------------------------------
    ("who's been in interview the longest?", S, {"stage": "Interview"}),
    ("anyone waiting on feedback for more than 5 days?", S, {"older_than": days(5)}),
    ("which candidates need a nudge?", S, {}),
    ("how many candidates total?", P, {"count_only": True}),
    ("how many people are in the pipeline for data analyst", P, {"position": "Data Analyst", "count_only": True}),
    ("show me everyone at the offer stage for frontend", P, {"stage": "Offer", "position": "Frontend Engineer"}),
    ("do we have any Go developers in Munich?", F, {"skills": ("Go",), "locations": ("Munich",)}),
    ("any React people from agencies?", F, {"skills": ("React",), "source": "agency"}),
    ("find senior data analysts", F, {"seniority": "senior", "position": "Data Analyst"}),
    ("search: kubernetes, berlin", F, {"skills": ("Kubernetes",), "locations": ("Berlin",)}),
    ("who do we know in London with SQL?", F, {"skills": ("SQL",), "locations": ("London",)}),
    ("where is Jane Doe in the pipeline?", ST, {"name": "Jane Doe"}),
    ("what's up with Jane Doe", ST, {"name": "Jane Doe"}),
    ("can you check on Marcus Lee for me", ST, {"name": "Marcus Lee"}),
    ("status check: Priya Patel", ST, {"name": "Priya Patel"}),
    ("todo", T, {}),
    ("anything I should follow up on?", T, {}),
    ("what's late", OD, {}),
    ("any overdue follow-ups for <@U0AAA1>?", OD, {"owner": "U0AAA1"}),
    ("did any of my referrals get hired?", R, {}),
    ("how's my referral doing", R, {}),
    ("what's our time-to-offer?", M, {"metric": Metric.TIME_TO_OFFER}),
    ("offer acceptance % this year", M, {"metric": Metric.OFFER_ACCEPTANCE_RATE, "time_range": THIS_YEAR}),
    ("how many hires came from referrals this quarter?", M,
     {"metric": Metric.REFERRAL_HIRES, "time_range": THIS_QUARTER}),
    ("avg days to offer for backend", M, {"metric": Metric.TIME_TO_OFFER, "position": "Backend Engineer"}),
    ("who got stuck in sourcing", S, {"stage": "Sourced"}),
    ("stale candidates since last Tuesday", S, {"time_range": since("2026-11-16 23:00")}),
    ("stale ones from the past fortnight", S, {"time_range": LAST_2_WEEKS}),
    ("what can this bot do", H, {}),
    ("stale in Interview for Backend Engineer this week for <@U0XYZ1>", S,
     {"stage": "Interview", "position": "Backend Engineer", "time_range": THIS_WEEK, "owner": "U0XYZ1"}),
    ("who's stuck in Offer since 2026-11-01", S, {"stage": "Offer", "time_range": THIS_MONTH}),
    ("pipeline snapshot for product designer", P, {"position": "Product Designer"}),
    ("total number of candidates in Offer Accepted", P, {"stage": "Offer Accepted", "count_only": True}),
    ("find people named García", F, {"text": "García"}),
    ("candidates with 5+ years of Python", F, {"skills": ("Python",)}),
    ("where do we stand with Ana Souza", ST, {"name": "Ana Souza"}),
    # --- help ----------------------------------------------------------------------------------------------------
    ("help", H, {}),
    ("what can you do?", H, {}),
    ("Help!", H, {}),
    (f"<@{BOT}> help", H, {}),
    ("how do I use this", H, {}),
    ("commands", H, {}),
    ("hi :wave:", H, {}),
    ("Hilfe", H, {}),
    ("hey bot, what can I ask you?", H, {}),
    # --- not understood ------------------------------------------------------------------------------------------
    ("asdfgh", UNKNOWN, {}),
    ("what's the weather in Berlin?", UNKNOWN, {}),
    ("order pizza for the team", UNKNOWN, {}),
    ("tell me a joke", UNKNOWN, {}),
    ("", UNKNOWN, {}),
    (":wave:", UNKNOWN, {}),
    ("when is lunch", UNKNOWN, {}),
    ("deploy to production", UNKNOWN, {}),
    ("thanks!", UNKNOWN, {}),
    ("lorem ipsum dolor sit amet", UNKNOWN, {}),
]  # fmt: skip

ARGUMENT_TYPES: dict[str, type] = {
    S: StaleArgs, P: PipelineArgs, F: SearchArgs, ST: StatusArgs, T: TasksArgs, OD: OverdueArgs, R: ReferralsArgs,
    M: MetricArgs, H: HelpArgs, UNKNOWN: HelpArgs,
}  # fmt: skip
MIN_ACCURACY = 0.95


def _parse(text: str) -> ParsedQuestion:
    return parse_question(text, vocabulary=VOCABULARY, now=NOW, tz=TZ, bot_user_id=BOT)


def _mismatch(text: str, intent: str, expected: dict[str, Any]) -> str | None:
    """None if the parse is right; otherwise what went wrong, for the failure report."""
    parsed = _parse(text)
    wanted_intent = Intent.HELP if intent == UNKNOWN else Intent(intent)
    wanted_args = ARGUMENT_TYPES[intent](**expected)
    if parsed.intent != wanted_intent or parsed.understood != (intent != UNKNOWN):
        return f"{text!r}: intent {parsed.intent.value} (understood={parsed.understood}), expected {intent}"
    if parsed.args != wanted_args:
        diffs = {
            f.name: getattr(parsed.args, f.name)
            for f in fields(parsed.args)
            if getattr(parsed.args, f.name) != getattr(wanted_args, f.name)
        }
        return f"{text!r}: {intent} arguments differ: got {diffs}"
    return None


def test_the_table_is_big_and_varied_enough() -> None:
    assert len(PHRASINGS) >= 150
    assert len({text for text, _, _ in PHRASINGS}) == len(PHRASINGS), "duplicate phrasings"
    covered = {intent for _, intent, _ in PHRASINGS}
    assert covered == set(ARGUMENT_TYPES)


def test_accuracy_on_recruiter_phrasings(capsys: pytest.CaptureFixture[str]) -> None:
    failures = [m for text, intent, args in PHRASINGS if (m := _mismatch(text, intent, args))]
    accuracy = 1 - len(failures) / len(PHRASINGS)
    with capsys.disabled():
        print(f"\nNLU accuracy: {accuracy:.1%} on {len(PHRASINGS)} phrasings")
        for failure in failures:
            print(f"  miss: {failure}")
    assert accuracy >= MIN_ACCURACY, "\n".join(failures)


@pytest.mark.parametrize("text", [t for t, intent, _ in PHRASINGS if intent == H])
def test_help_is_understood(text: str) -> None:
    parsed = _parse(text)
    assert parsed.intent is Intent.HELP and parsed.understood


@pytest.mark.parametrize("text", [t for t, intent, _ in PHRASINGS if intent == UNKNOWN])
def test_gibberish_is_not_understood_and_has_no_confidence(text: str) -> None:
    parsed = _parse(text)
    assert (parsed.intent, parsed.understood, parsed.confidence) == (Intent.HELP, False, 0.0)


def test_confidence_is_a_fraction_and_clear_questions_score_high() -> None:
    for text, _, _ in PHRASINGS:
        assert 0.0 <= _parse(text).confidence <= 1.0
    assert _parse("what's the status of Jane Doe?").confidence >= 0.8
