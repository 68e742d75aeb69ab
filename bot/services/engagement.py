"""Engagement with nurture emails: opens (a pixel), clicks (a redirect) and replies → a score per candidate.

Links in a nurture email point at the bot's own HTTP server (commands/nurture.py serves them):

- `GET /e/o/<send>.<sig>.gif`: the open pixel of one step's email.
- `GET /e/c/<send>-<hash>.<sig>`: a click. It redirects only to a URL that email carried (`NurtureSend.links`),
  found by its hash; the signature (HMAC with the link secret, bot.settings) proves the bot made the link, so
  the endpoint is no open redirect and a guessed token leads nowhere.
- Replies arrive from the mail system (an inbound-mail webhook, signed like the HR webhook) and are matched by
  In-Reply-To/References to the email's Message-ID, else by the sender's address.

Points (workspace `nurture.*_points`) go to the candidate's `CandidateEngagement`: an email's first open, its
first click (which counts as an open too, since images are often blocked), and each reply. A reply stops the
candidate's sequences. Crossing `nurture.hot_score` tells the owner once (a DM through the outbox).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr

from sqlmodel import Session

from bot.contact import InvalidContact, normalize_email
from bot.outbox import queue_slack_call
from bot.settings import Settings
from bot.templates import render
from bot.workspace import WorkspaceConfig
from storage import queries
from storage.models import Candidate, CandidateEngagement, EngagementEvent, NurtureSend

OPEN_PATH = "/e/o/"
CLICK_PATH = "/e/c/"
INBOUND_PATH = "/e/inbound"
SIGNATURE_BYTES = 12
URL_HASH_CHARS = 10
OPEN, CLICK, REPLY = "open", "click", "reply"


def _sign(message: str, settings: Settings) -> str:
    digest = hmac.new(settings.link_secret, f"engagement:{message}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:SIGNATURE_BYTES]).decode().rstrip("=")


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:URL_HASH_CHARS]


def open_token(send_id: int, settings: Settings) -> str:
    return f"{send_id}.{_sign(f'open:{send_id}', settings)}"


def click_token(send_id: int, url: str, settings: Settings) -> str:
    head = f"{send_id}-{url_hash(url)}"
    return f"{head}.{_sign(f'click:{head}', settings)}"


def click_url(send_id: int, url: str, settings: Settings) -> str:
    return f"{settings.public_url}{CLICK_PATH}{click_token(send_id, url, settings)}"


def open_pixel(send_id: int, settings: Settings) -> str:
    src = f"{settings.public_url}{OPEN_PATH}{open_token(send_id, settings)}.gif"
    return f'<img src="{src}" width="1" height="1" alt="" style="display:none">\n'


def read_open_token(token: str, settings: Settings) -> int | None:
    head, _, signature = token.removesuffix(".gif").partition(".")
    if not head.isdigit() or len(head) > 18:
        return None
    return int(head) if hmac.compare_digest(signature, _sign(f"open:{head}", settings)) else None


def read_click_token(token: str, settings: Settings) -> tuple[int, str] | None:
    head, _, signature = token.partition(".")
    send, _, hashed = head.partition("-")
    if not send.isdigit() or len(send) > 18 or len(hashed) != URL_HASH_CHARS:
        return None
    return (int(send), hashed) if hmac.compare_digest(signature, _sign(f"click:{head}", settings)) else None


@dataclass(frozen=True)
class HotLead:
    candidate_id: int
    candidate_name: str
    owner_slack_id: str | None
    sequence: str
    score: int
    opens: int
    clicks: int
    replies: int


@dataclass(frozen=True)
class Engagement:
    candidate_id: int
    counted: bool
    score: int
    hot: HotLead | None = None
    # For a click: where to send the person.
    redirect_to: str | None = None


def _score(session: Session, *, candidate_id: int, send: NurtureSend | None, kind: str, points: int,
           url: str | None, config: WorkspaceConfig, now: datetime) -> Engagement:
    row = queries.candidate_engagement_for_update(session, candidate_id)
    row.score += points
    row.opens += kind == OPEN
    row.clicks += kind == CLICK
    row.replies += kind == REPLY
    row.last_event_at = now
    session.add(EngagementEvent(candidate_id=candidate_id, send_id=send.id if send else None, kind=kind, url=url,
                                points=points, occurred_at=now))
    return Engagement(candidate_id=candidate_id, counted=True, score=row.score,
                      hot=_route_if_hot(session, row, sequence=send.sequence if send else "", config=config, now=now))


def _route_if_hot(session: Session, row: CandidateEngagement, *, sequence: str, config: WorkspaceConfig,
                  now: datetime) -> HotLead | None:
    if row.routed_at is not None or row.score < config.nurture.hot_score:
        return None
    candidate = session.get(Candidate, row.candidate_id)
    assert candidate is not None
    row.routed_at = now
    lead = HotLead(candidate_id=row.candidate_id, candidate_name=candidate.full_name,
                   owner_slack_id=candidate.owner_slack_id, sequence=sequence, score=row.score, opens=row.opens,
                   clicks=row.clicks, replies=row.replies)
    # In the same transaction as the score: the DM is sent once, after the commit (deliver the returned id).
    queue_slack_call(session, method="chat.postMessage", dedupe_key=f"nurture.hot:{row.candidate_id}", now=now,
                     payload={"channel": candidate.owner_slack_id or config.recruiting_channel,
                              "text": render("nurture/owner_hot.md.j2", candidate_name=lead.candidate_name,
                                             sequence=lead.sequence or "nurture", score=lead.score, opens=lead.opens,
                                             clicks=lead.clicks, replies=lead.replies)})
    return lead


def record_open(session: Session, *, send_id: int, config: WorkspaceConfig, now: datetime) -> Engagement | None:
    """The pixel was loaded. Only an email's first open counts (mail clients reload images)."""
    send = session.get(NurtureSend, send_id, with_for_update=True)
    if send is None:
        return None
    if send.opened_at is not None:
        return Engagement(candidate_id=send.candidate_id, counted=False, score=0)
    send.opened_at = now
    return _score(session, candidate_id=send.candidate_id, send=send, kind=OPEN, points=config.nurture.open_points,
                  url=None, config=config, now=now)


def record_click(session: Session, *, send_id: int, hashed_url: str, config: WorkspaceConfig,
                 now: datetime) -> Engagement | None:
    """A tracked link was followed; None when the link is not one this email carried (nothing to redirect to)."""
    send = session.get(NurtureSend, send_id, with_for_update=True)
    if send is None:
        return None
    url = next((link for link in send.links if url_hash(link) == hashed_url), None)
    if url is None:
        return None
    opened = None
    if send.opened_at is None:
        # The images were blocked, but the email was read: the click counts as its open too.
        send.opened_at = now
        opened = _score(session, candidate_id=send.candidate_id, send=send, kind=OPEN,
                        points=config.nurture.open_points, url=None, config=config, now=now)
    first = send.clicked_at is None
    send.clicked_at = send.clicked_at or now
    scored = _score(session, candidate_id=send.candidate_id, send=send, kind=CLICK,
                    points=config.nurture.click_points if first else 0, url=url, config=config, now=now)
    return Engagement(candidate_id=scored.candidate_id, counted=first, score=scored.score,
                      hot=scored.hot or (opened.hot if opened else None), redirect_to=url)


def _candidate_by_address(session: Session, sender: str) -> Candidate | None:
    try:
        _, key = normalize_email(parseaddr(sender)[1])
    except InvalidContact:
        return None
    return queries.candidate_by_email(session, key)


@dataclass(frozen=True)
class InboundReply:
    sender: str
    message_ids: tuple[str, ...]  # In-Reply-To and References, as written (<…@…>)
    subject: str = ""


def record_reply(session: Session, *, reply: InboundReply, config: WorkspaceConfig,
                 now: datetime) -> Engagement | None:
    """A candidate answered. Their sequences stop (a person takes over) and the reply scores; None when the
    reply belongs to no candidate we know."""
    from bot.services.nurture import STOPPED_REPLIED, stop_sequences

    send = queries.nurture_send_for_message_ids(session, list(reply.message_ids))
    candidate: Candidate | None
    if send is not None:
        candidate = session.get(Candidate, send.candidate_id)
    else:
        candidate = _candidate_by_address(session, reply.sender)
    if candidate is None or candidate.id is None:
        return None
    if send is not None:
        send = session.get(NurtureSend, send.id, with_for_update=True)
        assert send is not None
        send.replied_at = send.replied_at or now
        # Answered means read, whether or not the pixel loaded (the rates count it as opened; no open points).
        send.opened_at = send.opened_at or now
    stop_sequences(session, candidate_id=candidate.id, reason=STOPPED_REPLIED, now=now)
    from bot.services.timeline import record_activity

    record_activity(session, actor="system", kind="nurture.replied", now=now, candidate_id=candidate.id,
                    payload={"sequence": send.sequence if send else None, "subject": reply.subject[:200]})
    return _score(session, candidate_id=candidate.id, send=send, kind=REPLY, points=config.nurture.reply_points,
                  url=None, config=config, now=now)


# --- the inbound-mail webhook's signature --------------------------------------------------------------------
# Same scheme as the HR webhook talentbot sends (bot/webhooks.py): HMAC-SHA256 over "{timestamp}.{raw body}".

MAX_SKEW_SECONDS = 300


def inbound_signature_valid(secret: str, *, timestamp: str, signature: str, body: bytes, now: datetime) -> bool:
    from bot.webhooks import sign

    if not timestamp.isdigit() or abs(now.timestamp() - int(timestamp)) > MAX_SKEW_SECONDS:
        return False
    return hmac.compare_digest(signature, sign(secret, int(timestamp), body))


@dataclass(frozen=True)
class SequenceRates:
    sequence: str
    sent: int
    opened: int
    clicked: int
    replied: int

    def rate(self, count: int) -> float | None:
        return count / self.sent if self.sent else None


def sequence_rates(session: Session, *, since: datetime | None = None,
                   before: datetime | None = None) -> list[SequenceRates]:
    """Open, click and reply rates per sequence over the steps emailed in the period."""
    return [SequenceRates(*row) for row in queries.nurture_rates(session, since=since, before=before)]
