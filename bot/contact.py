"""Contact details as people type them, checked and brought to one canonical form."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit, urlunsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class InvalidContact(ValueError):
    """The message is shown to the person under the field, so it says how to fix the input."""


def name_key(name: str) -> str:
    """Case-, accent- and spacing-insensitive form of a name, for recognising the same person."""
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(letters.casefold().replace("-", " ").replace(".", " ").split())


def normalize_email(raw: str) -> tuple[str, str]:
    """Return (email as typed but tidied, key for matching). No DNS lookup: the bot runs offline too."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidContact(f"That doesn't look like an email address: {error}") from error
    return result.normalized, result.normalized.casefold()


def normalize_phone(raw: str, *, default_region: str | None) -> str:
    """E.164 (+4930123456). Numbers without a country code are read in the workspace's region."""
    try:
        number = phonenumbers.parse(raw.strip(), default_region)
    except phonenumbers.NumberParseException as error:
        raise InvalidContact("Enter a phone number with its country code, e.g. +49 30 1234567.") from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact("That phone number isn't valid; check the digits and the country code.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_profile_url(raw: str) -> tuple[str, str]:
    """Return (URL as given, key for matching: scheme-less, lower-case host, no query or trailing /)."""
    url = raw.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname or "." not in parts.hostname:
        raise InvalidContact("Enter a web address starting with https:// (or http://).")
    host = parts.hostname.lower().removeprefix("www.")
    key = urlunsplit(("", host, parts.path.rstrip("/").lower(), "", "")).lstrip("/")
    return url, key
