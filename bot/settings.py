"""Process settings: everything read from the environment, validated once at start-up."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_DEFAULT_API_URL = "https://slack.com/api/"


class SettingsError(Exception):
    """Settings that cannot be used; `problems` pairs each environment key with what is wrong."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{key}: {message}" for key, message in problems))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = SLACK_DEFAULT_API_URL
    database_url: str = Field(default_factory=lambda: f"sqlite:///{Path.cwd() / 'talentbot.db'}")
    talentbot_config: Path = Path("talentbot.yaml")
    port: int = 3000
    # Background jobs in the web process; a deployment with several web processes runs
    # `talentbot worker` once and sets this to false everywhere else.
    talentbot_scheduler: bool = True
    # Threads that run Slack listeners after the ack; Slack calls and database writes block.
    talentbot_listener_threads: int = 16
    # Outgoing mail: smtp://user:pass@host:587 (STARTTLS), smtps://…:465 (TLS), or smtp://host:25 (plain,
    # for a local relay). Unset: emails stay queued and `talentbot check` says so.
    smtp_url: str | None = None
    smtp_from: str = "talentbot <talentbot@localhost>"
    # Signs the JSON posted to hr_handoff.webhook_url (header X-Talentbot-Signature: sha256=<hex>).
    hr_webhook_secret: str | None = None
    # Where people reach the bot's own HTTP server (unsubscribe links, tracking); default: http://localhost:PORT.
    talentbot_public_url: str | None = None
    # PEM file of CA certificates trusted for the SMTP server's TLS certificate, instead of the system's
    # (a company CA, or the self-signed certificate of the test suite's SMTP server).
    smtp_ca_file: Path | None = None

    @property
    def public_url(self) -> str:
        return (self.talentbot_public_url or f"http://localhost:{self.port}").rstrip("/")

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_ends_with_slash(cls, value: str) -> str:
        # slack_sdk joins the method name straight onto the base URL.
        return value if value.endswith("/") else value + "/"

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def slack_problems(self) -> list[tuple[str, str]]:
        """What stops the bot from talking to Slack in the chosen mode."""
        problems: list[tuple[str, str]] = []
        if not self.slack_bot_token:
            problems.append(("SLACK_BOT_TOKEN", "is not set (the bot token, xoxb-…)"))
        elif not self.slack_bot_token.startswith("xoxb-"):
            problems.append(("SLACK_BOT_TOKEN", "must be a bot token starting with xoxb-"))
        if self.socket_mode:
            if not str(self.slack_app_token).startswith("xapp-"):
                problems.append(("SLACK_APP_TOKEN", "must be an app-level token starting with xapp-"))
        elif not self.slack_signing_secret:
            problems.append(("SLACK_SIGNING_SECRET", "is not set; HTTP mode always verifies Slack's signature"))
        return problems

    # --- the language model behind questions the offline parser cannot place (issue 4; bot/llm.py) ---
    # Any OpenAI-compatible server; the fallback is on only when all three are set.
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    talentbot_llm_model: str | None = None
    # One question waits at most this long per attempt; a person is waiting in Slack.
    talentbot_llm_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    talentbot_llm_max_retries: int = Field(default=1, ge=0, le=5)

    @property
    def llm_configured(self) -> bool:
        return bool(self.openai_base_url and self.openai_api_key and self.talentbot_llm_model)

    # --- outreach (issue 5): links in emails (unsubscribe, tracking) are HMAC-signed with this secret ---
    # Unset: derived from SLACK_SIGNING_SECRET (or, in Socket Mode, the bot token), so that links keep working
    # across restarts without another secret to manage; set it to rotate links independently of Slack.
    talentbot_link_secret: str | None = None
    # Drafting waits longer than a question: the recruiter gets the draft in a thread, nobody is blocked.
    talentbot_draft_timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    @property
    def link_secret(self) -> bytes:
        if self.talentbot_link_secret:
            return self.talentbot_link_secret.encode()
        seed = self.slack_signing_secret or self.slack_bot_token
        if not seed:
            raise SettingsError([("TALENTBOT_LINK_SECRET", "is not set, and there is no SLACK_SIGNING_SECRET "
                                                            "to derive it from")])
        # A derived key, never the signing secret itself: a leaked link key must not forge Slack requests.
        return hmac.new(seed.encode(), b"talentbot-link-secret-v1", hashlib.sha256).digest()

    # --- nurture sequences (issue 5, part B): replies arrive on POST /e/inbound, signed by the mail system ---
    # HMAC-SHA256 over "{timestamp}.{raw body}", as bot/webhooks.py signs; unset: the endpoint answers 503.
    talentbot_inbound_mail_secret: str | None = None


def load_settings(**overrides: object) -> Settings:
    """Read the environment; raise SettingsError naming the environment key at fault."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(
            [(str(e["loc"][0]).upper() if e["loc"] else "?", e["msg"]) for e in error.errors()]
        ) from error
