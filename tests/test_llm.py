"""The language-model fallback against a loopback OpenAI-compatible server, with the real openai client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import jsonschema
import pytest
from sqlmodel import select

from bot.access import Actor, Role
from bot.llm import ToolRouter, candidate_names_in, record_llm_call, tool_schemas
from bot.nlu import Intent, Metric, MetricArgs, StaleArgs, StatusArgs, Vocabulary
from bot.settings import Settings
from storage.db import Database
from storage.models import Activity
from tests.harness.fake_openai import FakeOpenAI
from tests.test_questions_service import World

NOW = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
VOCABULARY = Vocabulary(positions=("Backend Engineer", "Product Designer"), skills=("Python",))
ASKER = Actor("URECRUIT1", frozenset({Role.RECRUITER}))
PII = ["Jane Doe", "jane.doe@example.com", "+49 151 23456789", "linkedin.com/in/jane-doe-42"]
QUESTION = ("is Jane Doe (jane.doe@example.com, +49 151 23456789, https://linkedin.com/in/jane-doe-42) "
            "getting anywhere with the backend people?")


@pytest.fixture
def model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def router(fake: FakeOpenAI, *, timeout: float = 5.0, retries: int = 0) -> ToolRouter:
    settings = Settings(openai_base_url=fake.base_url, openai_api_key="test-key", talentbot_llm_model="fake-1",
                        talentbot_llm_timeout_seconds=timeout, talentbot_llm_max_retries=retries)
    made = ToolRouter.from_settings(settings)
    assert made is not None
    return made


def choose(fake: FakeOpenAI, question: str = QUESTION, **kwargs: float):
    return router(fake, **kwargs).choose(question, known_names=["Jane Doe"], vocabulary=VOCABULARY, now=NOW,
                                         tz="Europe/Berlin")


def test_it_is_off_unless_all_three_settings_are_there() -> None:
    assert ToolRouter.from_settings(Settings(openai_base_url="http://x", openai_api_key="k")) is None
    assert ToolRouter.from_settings(Settings(openai_api_key="k", talentbot_llm_model="m")) is None


def test_every_tool_schema_is_valid_json_schema_built_from_the_arguments() -> None:
    tools = tool_schemas(VOCABULARY)
    assert [t["function"]["name"] for t in tools] == [str(intent) for intent in Intent]
    for tool in tools:
        jsonschema.Draft7Validator.check_schema(tool["function"]["parameters"])
        assert tool["function"]["description"]
    stale = next(t["function"]["parameters"] for t in tools if t["function"]["name"] == "stale")
    assert stale["properties"]["stage"]["enum"] == list(VOCABULARY.stages)
    assert stale["properties"]["position"]["enum"] == ["Backend Engineer", "Product Designer"]
    assert stale["additionalProperties"] is False
    metric = next(t["function"]["parameters"] for t in tools if t["function"]["name"] == "metric")
    assert metric["required"] == ["metric"] and set(metric["properties"]["metric"]["enum"]) == set(Metric)


def test_the_model_picks_a_tool_and_only_the_redacted_question_is_sent(model: FakeOpenAI) -> None:
    model.reply_with_tool_call("stale", {"stage": "Interview", "position": "Backend Engineer"})
    choice = choose(model)
    assert choice.parsed is not None and choice.parsed.understood
    assert choice.parsed.args == StaleArgs(stage="Interview", position="Backend Engineer")
    [request] = model.requests
    assert request.body["model"] == "fake-1" and request.headers["authorization"] == "Bearer test-key"
    assert [m["role"] for m in request.body["messages"]] == ["system", "user"]
    sent = request.body["messages"][1]["content"]
    assert sent == choice.question_sent
    assert "getting anywhere with the backend people?" in sent, "the question itself gets through"
    everything = json.dumps(request.body)
    for detail in PII:
        assert detail not in everything
        assert detail.lower() not in everything.lower()
    assert "<PERSON_1>" in sent


def test_placeholders_in_the_models_arguments_are_filled_in_but_logged_as_sent(model: FakeOpenAI) -> None:
    model.reply_with_tool_call("status", {"name": "<PERSON_1>"})
    choice = choose(model)
    assert choice.parsed is not None and choice.parsed.args == StatusArgs(name="Jane Doe")
    assert choice.arguments == {"name": "<PERSON_1>"}


@pytest.mark.parametrize("tool, arguments, error", [
    ("stale", {"stage": "On the moon"}, "invalid_arguments: stage"),
    ("stale", {"stage": "Interview", "salary": 1}, "invalid_arguments: unknown argument"),
    ("metric", {}, "invalid_arguments: metric: required"),
    ("metric", {"metric": "revenue"}, "invalid_arguments: metric"),
    ("search", {"skills": "Python"}, "invalid_arguments: skills"),
    ("delete_everything", {}, "invalid_arguments"),
    ("stale", "{not json", "invalid_arguments: not JSON"),
])
def test_invalid_tool_calls_are_refused(model: FakeOpenAI, tool: str, arguments: object, error: str) -> None:
    model.reply_with_tool_call(tool, arguments)  # type: ignore[arg-type]
    choice = choose(model)
    assert choice.parsed is None and choice.error is not None and choice.error.startswith(error)


def test_valid_metric_call(model: FakeOpenAI) -> None:
    model.reply_with_tool_call("metric", {"metric": "time_to_offer",
                                          "time_range": {"start": "2026-08-21T00:00:00+02:00",
                                                         "end": "2026-11-19T16:00:00+01:00"}})
    choice = choose(model, "how long until people get an offer lately")
    assert choice.parsed is not None and isinstance(choice.parsed.args, MetricArgs)
    assert choice.parsed.args.time_range is not None
    assert choice.parsed.args.time_range.start == datetime(2026, 8, 20, 22, 0, tzinfo=UTC)


def test_a_model_choosing_help_has_not_understood(model: FakeOpenAI) -> None:
    model.reply_with_tool_call("help", {})
    choice = choose(model)
    assert choice.parsed is not None and not choice.parsed.understood


def test_a_model_that_answers_in_words_is_not_believed(model: FakeOpenAI) -> None:
    model.reply_with_text("Jane is doing great, she got the job!")
    assert choose(model).error == "no_tool_call"


def test_a_failing_or_slow_model_costs_only_a_note(model: FakeOpenAI) -> None:
    model.fail_next(status=500, times=2)
    assert choose(model, retries=1).error == "model_unavailable"
    assert len(model.requests) == 2, "max_retries is honoured"
    model.reply_with_tool_call("stale", {}, delay=2.0)
    assert choose(model, timeout=0.3).error == "model_unavailable"


def test_names_of_candidates_in_the_question_are_found_in_the_database(db: Database) -> None:
    with db.transaction() as session:
        world = World(session)
        world.candidate("Jane Doe")
        world.candidate("Marie-Claire de Vries")
        world.candidate("Sean O'Brien")
    with db.read() as session:
        found = candidate_names_in(session, "did jane doe's interview go ok? and Marie-Claire de Vries, sean o’brien?")
    assert sorted(found) == ["Jane Doe", "Marie-Claire de Vries", "Sean O'Brien"]


def test_every_call_is_on_the_audit_trail(db: Database, model: FakeOpenAI) -> None:
    model.reply_with_tool_call("status", {"name": "<PERSON_1>"})
    choice = choose(model)
    with db.transaction() as session:
        record_llm_call(session, actor=ASKER, choice=choice, now=NOW)
    with db.read() as session:
        entry = session.exec(select(Activity).where(Activity.kind == "llm.call")).one()
    assert entry.actor == ASKER.user_id and entry.candidate_id is None
    assert entry.payload == {"question_sent": choice.question_sent, "model": "fake-1", "tool": "status",
                             "arguments": {"name": "<PERSON_1>"}, "error": None}
    assert "Jane Doe" not in json.dumps(entry.payload)
