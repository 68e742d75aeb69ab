"""Time phrases → a TimeRange in UTC, resolved against `now` in the asker's time zone.

Explicit rules cover what recruiters type most ("this week", "last 2 weeks", "since Monday", "in October") because
they are exact and fast; dateparser only sees what is left after "since …" / "between … and …" (dates such as
"3 November" or "le 1er octobre"), as it costs about a millisecond per call and guesses ranges poorly.

Conventions: calendar periods start at local midnight (weeks on Monday); a period that includes today ends at
`now`; "last week" is the previous calendar week while "past week" / "in the last week" are the last 7 days.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser  # type: ignore[import-untyped]  # ships no type information

from bot.nlu.calendar_words import AMBIGUOUS_MONTHS, MONTH, MONTHS, WEEKDAY, WEEKDAYS
from bot.nlu.durations import NUMBER, UNIT, Amount, parse_amount, unit_name
from bot.nlu.model import TimeRange

_DATEPARSER_LANGUAGES = ["en", "de", "fr", "es"]


@dataclass(frozen=True, slots=True)
class FoundTime:
    range: TimeRange
    span: tuple[int, int]
    # Set for windows that end now ("last 2 weeks"): "not touched in the last 2 weeks" reads it as a minimum age.
    rolling: timedelta | None = None


@dataclass(frozen=True, slots=True)
class _Clock:
    now: datetime  # UTC
    local: datetime  # now in the asker's zone
    zone: ZoneInfo

    @property
    def today(self) -> date:
        return self.local.date()

    def midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.zone).astimezone(UTC)

    def days(self, first: date, after_last: date) -> TimeRange | None:
        """Whole local days [first, after_last), cut at now; None if it has not started yet."""
        start = self.midnight(first)
        if start > self.now:
            return None
        return TimeRange(start, min(self.midnight(after_last), self.now))

    def back(self, amount: Amount) -> TimeRange:
        """The window of `amount` ending now; months and longer step back on the local calendar."""
        if amount.unit in ("day", "week", "fortnight"):
            return TimeRange(self.now - amount.approximate(), self.now)
        months = amount.count * {"month": 1, "quarter": 3, "year": 12}[amount.unit]
        shifted = _shift_months(self.local.replace(tzinfo=None), -months)
        return TimeRange(shifted.replace(tzinfo=self.zone).astimezone(UTC), self.now)


def _shift_months(moment: datetime, months: int) -> datetime:
    years, month_index = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + years, month_index + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def _period_start(day: date, unit: str) -> date:
    if unit in ("week", "fortnight"):
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if unit == "year":
        return date(day.year, 1, 1)
    return day


def _add_periods(start: date, unit: str, count: int) -> date:
    if unit in ("day", "week", "fortnight"):
        return start + timedelta(days=count * {"day": 1, "week": 7, "fortnight": 14}[unit])
    months = count * {"month": 1, "quarter": 3, "year": 12}[unit]
    return _shift_months(datetime.combine(start, time()), months).date()


def _month_range(clock: _Clock, month: int, year: int | None) -> TimeRange | None:
    # Without a year, the most recent such month that has begun: "in December" asked in November is last December.
    if year is None:
        year = clock.today.year if month <= clock.today.month else clock.today.year - 1
    first = date(year, month, 1)
    return clock.days(first, _add_periods(first, "month", 1))


# --- resolvers: each gets the regex match and the clock, returns a range or None to let later rules try -----------


def _since_amount(match: re.Match[str], clock: _Clock) -> FoundTime | None:
    amount = parse_amount(match.group())
    return FoundTime(clock.back(amount), match.span(), amount.approximate()) if amount else None


def _since_weekday(match: re.Match[str], clock: _Clock) -> FoundTime | None:
    # The most recent such day before today: "since Monday" asked on a Monday means a week ago, as dateparser reads it.
    days_back = (clock.today.weekday() - WEEKDAYS[match.group(1)]) % 7 or 7
    found = clock.days(clock.today - timedelta(days=days_back), clock.today + timedelta(days=1))
    return FoundTime(found, match.span()) if found else None


def _since_month(match: re.Match[str], clock: _Clock) -> FoundTime | None:
    year = int(match.group(2)) if match.group(2) else None
    month = _month_range(clock, MONTHS[match.group(1)], year)
    return FoundTime(TimeRange(month.start, clock.now), match.span()) if month else None


def _since_date(match: re.Match[str], clock: _Clock) -> FoundTime | None:
    words = match.group(1).split()
    phrase = []
    for word in words[:5]:
        if word in _DATE_PHRASE_STOPS:
            break
        phrase.append(word)
    text = " ".join(phrase)
    start = _parse_date(text, clock)
    if start is None:
        return None
    consumed_end = match.start(1) + len(text)
    return FoundTime(TimeRange(start, clock.now), (match.start(), consumed_end))


def _between(match: re.Match[str], clock: _Clock) -> FoundTime | None:
    start = _parse_date(match.group(1), clock)
    last = _parse_date(match.group(2), clock, end_of_month=True)
    if start is None or last is None or last < start:
        return None
    # The second date names the last day included: "between 1 and 15 October" includes the 15th.
    last_day = last.astimezone(clock.zone).date()
    return FoundTime(TimeRange(start, min(clock.midnight(last_day + timedelta(days=1)), clock.now)), match.span())


def _rolling(match: re.Match[str], clock: _Clock) -> FoundTime | None:
    # "last 2 weeks" carries its amount; "the past week" is one unit.
    amount = parse_amount(match.group()) or Amount(1, unit_name(match.groupdict().get("unit") or "") or "day")
    return FoundTime(clock.back(amount), match.span(), amount.approximate())


def _previous_period(match: re.Match[str], clock: _Clock) -> FoundTime | None:
    unit = unit_name(match.group("unit"))
    if unit is None:
        return None
    current = _period_start(clock.today, unit)
    found = clock.days(_add_periods(current, unit, -1), current)
    return FoundTime(found, match.span()) if found else None


def _this_period(match: re.Match[str], clock: _Clock) -> FoundTime | None:
    word = match.group("unit") or match.group("short")
    unit = {"wtd": "week", "mtd": "month", "qtd": "quarter", "ytd": "year"}.get(word) or unit_name(word)
    if unit is None:
        return None
    return FoundTime(TimeRange(clock.midnight(_period_start(clock.today, unit)), clock.now), match.span())


def _today(match: re.Match[str], clock: _Clock) -> FoundTime | None:
    return FoundTime(TimeRange(clock.midnight(clock.today), clock.now), match.span())


def _yesterday(match: re.Match[str], clock: _Clock) -> FoundTime | None:
    yesterday = clock.today - timedelta(days=1)
    return FoundTime(TimeRange(clock.midnight(yesterday), clock.midnight(clock.today)), match.span())


def _quarter(match: re.Match[str], clock: _Clock) -> FoundTime | None:
    quarter = int(match.group(1) or match.group(2))
    year = int(match.group(3)) if match.group(3) else None
    first_month = 3 * quarter - 2
    if year is None:
        year = clock.today.year if first_month <= clock.today.month else clock.today.year - 1
    first = date(year, first_month, 1)
    found = clock.days(first, _add_periods(first, "quarter", 1))
    return FoundTime(found, match.span()) if found else None


def _year(match: re.Match[str], clock: _Clock) -> FoundTime | None:
    first = date(int(match.group(1)), 1, 1)
    found = clock.days(first, _add_periods(first, "year", 1))
    return FoundTime(found, match.span()) if found else None


def _month(match: re.Match[str], clock: _Clock) -> FoundTime | None:
    preposition, word, year = match.group(1), match.group(2), match.group(3)
    if word in AMBIGUOUS_MONTHS and not preposition and not year:
        return None
    found = _month_range(clock, MONTHS[word], int(year) if year else None)
    return FoundTime(found, match.span()) if found else None


# --- dateparser for the long tail ---------------------------------------------------------------------------------

# Where the date after "since" ends: "since 3 November for the backend role".
_DATE_PHRASE_STOPS = frozenset({
    "for", "in", "who", "which", "that", "with", "and", "or", "at", "on", "stuck", "stale", "candidates", "people",
    "anyone", "für", "pour", "para", "por", "bei", "im", "dans", "avec", "con",
})  # fmt: skip
_HAS_TIME_OF_DAY = re.compile(r"\d{1,2}[:h]\d{2}|\d\s*(?:am|pm)\b|\buhr\b")
# Only these are worth a dateparser call; "since we talked" or "from LinkedIn" are not dates.
_DATEISH = re.compile(
    rf"\d|\b(?:{MONTH}|{WEEKDAY}|yesterday|today|ago|gestern|heute|vorgestern|hier|aujourd|ayer|hoy|hace|vor)\b"
)


def _parse_date(text: str, clock: _Clock, *, end_of_month: bool = False) -> datetime | None:
    text = text.strip(" .")
    if not text or not _DATEISH.search(text):
        return None
    bare_month = re.fullmatch(rf"({MONTH})(?:\s+(\d{{4}}))?", text)
    if bare_month:
        # dateparser would pick today's day of that month; a bare month means its first (or last) day.
        month = _month_range(clock, MONTHS[bare_month.group(1)], int(bare_month.group(2) or 0) or None)
        if month is None:
            return None
        return month.end - timedelta(microseconds=1) if end_of_month else month.start
    settings = {
        "RELATIVE_BASE": clock.local.replace(tzinfo=None),
        "TIMEZONE": str(clock.zone),
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "past",
    }
    parsed: datetime | None = dateparser.parse(text, languages=_DATEPARSER_LANGUAGES, settings=settings)
    if parsed is None:
        return None
    local = parsed.astimezone(clock.zone)
    if not _HAS_TIME_OF_DAY.search(text):
        local = datetime.combine(local.date(), time(), tzinfo=clock.zone)
    result = local.astimezone(UTC)
    return result if result <= clock.now else None


# --- the rules, in order: the first that resolves wins ------------------------------------------------------------

_SINCE = r"(?:since|seit|depuis|desde|ab)"
_LAST_N = r"(?:last|past|previous|prior|recent|letzten|vergangenen|[úu]ltim[oa]s)"
_FR_LAST = r"(?:derniers|derni[èe]res|pass[ée]e?s)"
_Resolver = Callable[[re.Match[str], _Clock], FoundTime | None]
_RULES: tuple[tuple[re.Pattern[str], _Resolver], ...] = (
    (re.compile(r"\b(?:between|zwischen|entre)\s+(.{3,30}?)\s+(?:and|und|et|y)\s+(.{3,30}?)"
                r"(?=\s+(?:for|in|who|with)\b|$)"), _between),
    (re.compile(r"\bfrom\s+(.{3,30}?)\s+(?:to|until|till|through)\s+(.{3,30}?)(?=\s+(?:for|in|who|with)\b|$)"),
     _between),
    (re.compile(rf"\b{_SINCE}\s+{NUMBER}\s*{UNIT}\b(?:\s+ago)?"), _since_amount),
    (re.compile(rf"\b(?:{_SINCE}|from)\s+(?:(?:last|el|le|dem|den|this)\s+)?({WEEKDAY})\b"), _since_weekday),
    (re.compile(rf"\b{_SINCE}\s+(?:(?:early|the start of|the beginning of|anfang|d[ée]but)\s+)?({MONTH})\b"
                rf"(?:\s+((?:19|20)\d{{2}}))?(?!\s*\d)"), _since_month),
    (re.compile(rf"\b(?:{_SINCE}|after|starting|from)\s+(?:(?:the|le|el|dem|den|del)\s+)?(.+)"), _since_date),
    (re.compile(rf"\b(?:(?:in|over|during|within|for|dans|sur|en)\s+)?(?:(?:the|den|les|los|las)\s+)?"
                rf"{_LAST_N}\s+{NUMBER}\s*{UNIT}\b"), _rolling),
    (re.compile(rf"\b(?:(?:dans|sur|pendant)\s+)?(?:les\s+)?"
                rf"(?:{NUMBER}\s+{_FR_LAST}\s+{UNIT}|{_FR_LAST}\s+{NUMBER}\s+{UNIT})\b"), _rolling),
    (re.compile(rf"\b{NUMBER}\s+{UNIT}\s+(?:pasad[oa]s|pass[ée]e?s)\b"), _rolling),
    (re.compile(rf"\b(?:(?:in|over|during|within)\s+the\s+(?:last|past)|(?:the\s+)?past)\s+(?P<unit>{UNIT})\b"),
     _rolling),
    (re.compile(rf"\b(?:last|previous|prior|letzte[nrsm]?|vorige[nrsm]?|vergangene[nrsm]?)\s+(?P<unit>{UNIT})\b"),
     _previous_period),
    (re.compile(rf"\b(?:(?:la|le|l'|el)\s*)?(?P<unit>{UNIT})\s+(?:derni[eè]re?|pass[ée]e?|pasad[oa]|anterior)\b"),
     _previous_period),
    (re.compile(rf"\b(?:this|current|the current|diese[rsmn]?|cette|ce|cet|esta|este)\s+(?P<unit>{UNIT})\b"),
     _this_period),
    (re.compile(rf"\b(?P<unit>{UNIT})\s+(?:to date|so far|en cours|en curso)\b|\b(?P<short>wtd|mtd|qtd|ytd)\b"),
     _this_period),
    (re.compile(r"\b(?:today|heute|aujourd'hui|aujourd hui|hoy)\b"), _today),
    (re.compile(r"\b(?:yesterday|gestern|hier|ayer)\b"), _yesterday),
    (re.compile(r"\b(?:q([1-4])|([1-4])(?:st|nd|rd|th)\s+quarter)(?:\s+(?:of\s+)?((?:19|20)\d{2}))?\b"), _quarter),
    (re.compile(r"\b(?:in|during|for|throughout|im|en|durante)\s+((?:19|20)\d{2})\b"), _year),
    (re.compile(rf"\b(?:(in|during|for|throughout|over|im|en|durante|of)\s+)?(?:the month of\s+)?({MONTH})\b"
                rf"(?:\s+((?:19|20)\d{{2}}))?(?!\s*\d)"), _month),
)  # fmt: skip


def find_time_range(lower: str, *, now: datetime, zone: ZoneInfo) -> FoundTime | None:
    """The first time phrase in `lower` (lowercased message text) that resolves, with its character span."""
    clock = _Clock(now.astimezone(UTC), now.astimezone(zone), zone)
    for pattern, resolve in _RULES:
        for match in pattern.finditer(lower):
            found = resolve(match, clock)
            if found is not None:
                return found
    return None
