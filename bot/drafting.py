"""Outreach drafts: from the email templates, or from a language model that never sees personal data.

The model gets the system prompt (prompts/outreach/system.md.j2) and the request (user.md.j2) rendered with the
CRM's values and then redacted as a whole by bot.privacy, so that names, emails, phones, profile URLs and
employers become stable placeholders (<CANDIDATE_FIRST_NAME>, <PERSON_1>, <EMAIL_1>); its reply is filled back in
here. A reply that uses a placeholder the request never had, or drops the candidate's name, is flagged for the
approver. What was sent, the model and its raw reply travel with the draft into the audit trail.

Without a model (OPENAI_BASE_URL / OPENAI_API_KEY / TALENTBOT_LLM_MODEL unset), without the candidate's
ai_processing consent, or when the model fails, the draft comes from prompts/outreach/emails/<purpose>.* and says
so. Nothing here sends anything: every draft waits for a person's approval (bot.services.outreach).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import openai

from bot.llm import openai_client
from bot.mail import RenderedEmail
from bot.privacy import KnownPII, redact, restore
from bot.privacy.placeholders import CANDIDATE_FIRST_NAME, CANDIDATE_NAME, find_placeholders, wrap
from bot.settings import Settings
from bot.templates import PROMPTS_DIR, environment, render

logger = logging.getLogger(__name__)

PURPOSES = ("intro", "follow_up")
MAX_WORDS = 180
MAX_NOTES = 5
MAX_NOTE_CHARS = 1500
MAX_OUTPUT_TOKENS = 700
SUBJECT_LINE = re.compile(r"^\s*\**\s*subject\s*\**\s*:\s*(?P<subject>.+?)\s*$", re.IGNORECASE)

# Why a draft came from the templates.
AI_OFF = "ai_off"
NO_AI_CONSENT = "no_ai_consent"
MODEL_ERROR = "model_error"

# Flags for the approver.
INVENTED_PLACEHOLDER = "invented_placeholder"
LOST_CANDIDATE_NAME = "lost_candidate_name"
NO_SUBJECT = "no_subject"
EMPTY_OUTPUT = "empty_output"


@dataclass(frozen=True)
class DraftContext:
    """What the email is about, with real values; only its redacted rendering ever leaves the process."""

    purpose: str
    candidate_name: str
    company: str
    role: str | None = None
    referrer: str | None = None
    event: str | None = None
    recruiter: str | None = None
    skills: tuple[str, ...] = ()
    seniority: str | None = None
    location: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def first_name(self) -> str:
        return self.candidate_name.split()[0] if self.candidate_name.split() else self.candidate_name


@dataclass(frozen=True)
class DraftText:
    subject: str
    body: str
    html: str | None
    source: str  # "ai" or "template"
    source_note: str | None = None  # for a template draft: AI_OFF, NO_AI_CONSENT or MODEL_ERROR
    flags: tuple[str, ...] = ()
    model: str | None = None
    prompt_sent: list[dict[str, Any]] = field(default_factory=list)
    model_output: str | None = None
    model_error: str | None = None


def _render(template: str, context: dict[str, Any]) -> str:
    # Not bot.templates.render: its first parameter is called `name`, which is one of the email tokens.
    return environment().get_template(template).render(**context).strip()


def render_outreach_email(purpose: str, **tokens: Any) -> RenderedEmail:
    """prompts/outreach/emails/<purpose>.subject.j2, .txt.j2, .html.j2 with the tokens name (the candidate's
    first name), role, referrer, company, event and sender."""
    base = f"outreach/emails/{purpose}"
    subject = " ".join(_render(f"{base}.subject.j2", tokens).split())
    has_html = (PROMPTS_DIR / f"{base}.html.j2").is_file()
    return RenderedEmail(subject=subject, text=_render(f"{base}.txt.j2", tokens) + "\n",
                         html=_render(f"{base}.html.j2", tokens) + "\n" if has_html else None)


def template_draft(context: DraftContext, *, note: str, model: str | None = None,
                   prompt_sent: list[dict[str, Any]] | None = None, model_error: str | None = None) -> DraftText:
    sender = context.recruiter or render("outreach/default_sender.md.j2", company=context.company)
    rendered = render_outreach_email(context.purpose, name=context.first_name, role=context.role,
                            referrer=context.referrer, company=context.company, event=context.event, sender=sender)
    return DraftText(subject=rendered.subject, body=rendered.text.strip(), html=rendered.html, source="template",
                     source_note=note, model=model, prompt_sent=list(prompt_sent or []), model_error=model_error)


def body_html(text: str) -> str:
    """The HTML part for a plain-text body (an AI or edited draft): paragraphs and line breaks, escaped."""
    paragraphs = [block.splitlines() for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]
    return render("outreach/emails/body.html.j2", paragraphs=paragraphs) + "\n"


def known_pii(context: DraftContext, *, emails: Sequence[str] = (), phones: Sequence[str] = (),
              urls: Sequence[str] = (), employers: Sequence[str] = (), phone_region: str | None = None) -> KnownPII:
    others = [name for name in (context.referrer, context.recruiter) if name]
    return KnownPII(candidate_names=[context.candidate_name], other_people_names=others, emails=list(emails),
                    phones=list(phones), urls=list(urls), employers=list(employers), phone_region=phone_region or "US")


def build_messages(context: DraftContext, known: KnownPII) -> tuple[list[dict[str, Any]], Any]:
    """The chat messages exactly as the model will get them, and the redaction to fill its reply back in."""
    notes = [note[:MAX_NOTE_CHARS] for note in context.notes[:MAX_NOTES]]
    request = _render("outreach/user.md.j2", {
        "purpose": context.purpose, "name": context.candidate_name, "first_name": context.first_name,
        "role": context.role, "company": context.company, "referrer": context.referrer, "event": context.event,
        "recruiter": context.recruiter, "skills": list(context.skills), "seniority": context.seniority,
        "location": context.location, "notes": notes})
    redaction = redact(request, known)
    system = render("outreach/system.md.j2", company=context.company, max_words=MAX_WORDS)
    return [{"role": "system", "content": system}, {"role": "user", "content": redaction.text}], redaction


def split_subject(output: str) -> tuple[str | None, str]:
    lines = output.strip().splitlines()
    for index, line in enumerate(lines[:3]):
        match = SUBJECT_LINE.match(line)
        if match:
            return match["subject"].strip().strip("*").strip(), "\n".join(lines[index + 1:]).strip()
    return None, output.strip()


class Drafter:
    """Drafts through an OpenAI-compatible server; timeouts and retries from the settings."""

    def __init__(self, *, base_url: str, api_key: str, model: str, timeout_seconds: float, max_retries: int):
        self.model = model
        self._client = openai_client(base_url=base_url, api_key=api_key, timeout_seconds=timeout_seconds,
                                     max_retries=max_retries)

    @classmethod
    def from_settings(cls, settings: Settings) -> Drafter | None:
        """None unless OPENAI_BASE_URL, OPENAI_API_KEY and TALENTBOT_LLM_MODEL are all set (the same model as the
        questions' fallback, bot/llm.py, with a longer timeout: nobody's Slack request waits for a draft)."""
        if not settings.llm_configured:
            return None
        return cls(base_url=str(settings.openai_base_url), api_key=str(settings.openai_api_key),
                   model=str(settings.talentbot_llm_model), timeout_seconds=settings.talentbot_draft_timeout_seconds,
                   max_retries=settings.talentbot_llm_max_retries)

    def draft(self, context: DraftContext, known: KnownPII) -> DraftText:
        messages, redaction = build_messages(context, known)
        try:
            completion = self._client.chat.completions.create(
                model=self.model, messages=messages,  # type: ignore[arg-type]
                temperature=0.7, max_tokens=MAX_OUTPUT_TOKENS)
            output = (completion.choices[0].message.content or "") if completion.choices else ""
        except openai.OpenAIError as error:
            logger.warning("drafting: the language model could not be asked: %s", error)
            return template_draft(context, note=MODEL_ERROR, model=self.model, prompt_sent=messages,
                                  model_error=_describe(error))
        return self._filled(context, output, redaction, messages)

    def _filled(self, context: DraftContext, output: str, redaction: Any,
                messages: list[dict[str, Any]]) -> DraftText:
        if not output.strip():
            fallback = template_draft(context, note=MODEL_ERROR, model=self.model, prompt_sent=messages,
                                      model_error="the model returned no text")
            return DraftText(**{**fallback.__dict__, "model_output": output, "flags": (EMPTY_OUTPUT,)})
        subject, body = split_subject(output)
        restored_subject = restore(subject or "", redaction)
        restored_body = restore(body, redaction)
        flags: list[str] = []
        if restored_subject.unknown_placeholders or restored_body.unknown_placeholders:
            flags.append(INVENTED_PLACEHOLDER)
        names = {wrap(CANDIDATE_FIRST_NAME), wrap(CANDIDATE_NAME)}
        used = {match.placeholder for match in find_placeholders(output)}
        if names & redaction.placeholders and not names & used:
            flags.append(LOST_CANDIDATE_NAME)
        final_subject = " ".join(restored_subject.text.split())
        if not final_subject:
            flags.append(NO_SUBJECT)
            final_subject = template_draft(context, note=AI_OFF).subject
        return DraftText(subject=final_subject[:300], body=restored_body.text.strip(),
                         html=body_html(restored_body.text), source="ai", flags=tuple(flags), model=self.model,
                         prompt_sent=messages, model_output=output)


def _describe(error: openai.OpenAIError) -> str:
    if isinstance(error, openai.APITimeoutError):
        return "the model did not answer in time"
    if isinstance(error, openai.APIConnectionError):
        return "the model's server could not be reached"
    if isinstance(error, openai.APIStatusError):
        return f"the model's server answered {error.status_code}"
    return type(error).__name__
