"""PII redaction for text sent to the model, and restoration of its output."""

from bot.privacy.analyzer import get_analyzer
from bot.privacy.known import KnownPII
from bot.privacy.redactor import Finding, Redaction, Restored, redact, restore

__all__ = ["Finding", "KnownPII", "Redaction", "Restored", "get_analyzer", "redact", "restore"]
