"""From a raw Slack message to clean text and tokens: markup unwrapped, emoji dropped, mentions and emails set aside."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

# <@U123ABC> or <@U123ABC|maria>: a user mention; W… ids are Enterprise Grid users.
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
# <mailto:a@b.c|a@b.c>, <https://x|label>, <#C123|general>, <!here>: keep what a human would read.
_ANGLE = re.compile(r"<([^<>]*)>")
_SHORTCODE_EMOJI = re.compile(r"(?<!\w):[a-z0-9_+'-]+:(?!\w)")
_UNDERSCORE_MARKUP = re.compile(r"(?<!\w)_|_(?!\w)")
_SPACES = re.compile(r"\s+")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "`": " ", "*": " ", "~": " "})

EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# A word, possibly with inner apostrophes/hyphens/dots ("O'Neil", "phone-screen", "node.js") and trailing +/#
# ("C++", "C#"); emails come first so they stay one token.
_TOKEN = re.compile(rf"{EMAIL.pattern}|[^\W_]+(?:['\-.][^\W_]+)*[+#]*")
# Hyphens and most punctuation separate words for the phrase patterns; apostrophes and dots stay (who's, node.js),
# and so do colons inside times of day (10:30).
_PATTERN_SEPARATORS = re.compile(r"[-?!,;()\"/\\\[\]{}|]|:(?!\d)")

# No "-ion": it would make "production" the word "product" (as in "Product Designer").
_SUFFIXES = (("ies", "y"), ("ings", ""), ("ing", ""), ("ed", ""), ("s", ""))


def fold(word: str) -> str:
    """Lowercase without accents, so "München" and "Munchen", "José" and "Jose" compare equal."""
    lowered = word.lower()
    if lowered.isascii():
        return lowered
    return "".join(c for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c))


def stem(word: str) -> str:
    """A deliberately crude stemmer: enough that "interviews", "interviewing" and "interview" share one key.

    Both vocabulary and message go through it, so consistency matters more than linguistic accuracy."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: -len(suffix)] + replacement
    return word


def token_key(word: str) -> str:
    return stem(fold(word).replace("-", "").replace("'", "").replace(".", ""))


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # as typed
    start: int  # span in Message.clean
    end: int
    key: str  # folded and stemmed, for vocabulary matching
    lower: str  # folded, unstemmed, for word lists

    @property
    def is_email(self) -> bool:
        return "@" in self.text


@dataclass(frozen=True, slots=True)
class Message:
    clean: str  # what the human wrote, markup and emoji removed, original casing
    lower: str  # clean, lowercased and with separators blanked; same length as clean so spans line up
    mentions: tuple[str, ...]  # user ids in order of appearance, the bot's own removed
    emails: tuple[str, ...]
    tokens: tuple[Token, ...]

    def tokens_in(self, start: int, end: int) -> list[int]:
        """Indexes of the tokens overlapping the character span [start, end)."""
        return [i for i, t in enumerate(self.tokens) if t.start < end and start < t.end]


def _unwrap(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("!"):  # <!here>, <!subteam^S1|@team>: addressing, not content
        return " "
    if target.startswith("#"):
        return f" #{label or target[1:]} "
    if label:
        return f" {label} "
    return f" {target.removeprefix('mailto:')} "


def _drop_unicode_emoji(text: str) -> str:
    if text.isascii():
        return text
    kept = []
    for char in text:
        code = ord(char)
        # "So" covers pictographs and dingbats; joiners, variation selectors, keycaps and skin tones hold them together.
        if unicodedata.category(char) == "So" or code in (0x200D, 0xFE0F, 0xFE0E, 0x20E3) or 0x1F3FB <= code <= 0x1F3FF:
            kept.append(" ")
        else:
            kept.append(char)
    return "".join(kept)


def _same_length_lower(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    # A few characters ("İ") grow when lowercased; keep them as they are so character spans stay aligned.
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def normalize(text: str, *, bot_user_id: str | None = None) -> Message:
    mentions = [m for m in _USER_MENTION.findall(text) if m != bot_user_id]
    text = _USER_MENTION.sub(" ", text)
    text = _ANGLE.sub(_unwrap, text)
    text = html.unescape(text)  # Slack escapes &, < and > in message text
    text = _SHORTCODE_EMOJI.sub(" ", text)
    text = _drop_unicode_emoji(text)
    text = text.translate(_QUOTES)
    text = _UNDERSCORE_MARKUP.sub(" ", text)
    clean = _SPACES.sub(" ", text).strip()
    tokens = tuple(
        Token(m.group(), m.start(), m.end(), token_key(m.group()), fold(m.group())) for m in _TOKEN.finditer(clean)
    )
    emails = tuple(t.text for t in tokens if t.is_email)
    lower = _PATTERN_SEPARATORS.sub(" ", _same_length_lower(clean))
    # Emails must not feed the phrase patterns ("jane.doe@x.de" is not "doe"), yet spans must stay aligned.
    for token in tokens:
        if token.is_email:
            lower = lower[: token.start] + " " * (token.end - token.start) + lower[token.end :]
    return Message(clean, lower, tuple(mentions), emails, tokens)
