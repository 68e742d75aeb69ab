"""Words for people: every message and prompt is a Jinja2 template under prompts/.

One Environment for the whole process. StrictUndefined turns a missing variable into an error in tests
instead of a blank in someone's DM; HTML templates are autoescaped, Slack mrkdwn ones get `mrkdwn`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

import prompts

PROMPTS_DIR = Path(prompts.__file__).resolve().parent


def escape_mrkdwn(value: object) -> str:
    """Slack's three control characters; user text must not become mentions or links."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(PROMPTS_DIR)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["mrkdwn"] = escape_mrkdwn
    # Tasks may be assigned to a channel (a team's); Slack mentions those as <#C…>, people as <@U…>.
    env.filters["user"] = lambda slack_id: f"<#{slack_id}>" if str(slack_id).startswith(("C", "G")) \
        else f"<@{slack_id}>"
    env.filters["date"] = lambda moment: moment.strftime("%-d %b %Y")
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context).strip()
