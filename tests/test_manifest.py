"""manifest.yaml against Slack's published manifest schema, and against what the code registers."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT.parent / "shared" / "slack-spec" / "manifest"
REMOTE = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"


def _validator() -> jsonschema.Draft7Validator:
    top = json.loads((SCHEMAS / "manifest.schema.json").read_text())
    resources = [(REMOTE + path.name, Resource.from_contents(json.loads(path.read_text())))
                 for path in (SCHEMAS / "schemas").glob("*.json")]
    return jsonschema.Draft7Validator(top, registry=Registry().with_resources(resources))


def _manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yaml").read_text())


def _errors(manifest: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(manifest)]


def test_manifest_is_valid_for_socket_mode() -> None:
    assert _errors(_manifest()) == []


def test_manifest_is_valid_for_http_mode() -> None:
    manifest = copy.deepcopy(_manifest())
    manifest["settings"]["socket_mode_enabled"] = False
    assert _errors(manifest) == []


def test_schema_catches_a_broken_manifest() -> None:
    manifest = copy.deepcopy(_manifest())
    manifest["features"]["slash_commands"][0]["command"] = "refer without slash"
    manifest["oauth_config"]["scopes"]["bot"].append(42)
    assert _errors(manifest), "the validator must refuse a malformed manifest, or the test above proves nothing"


def test_every_registered_slash_command_is_in_the_manifest() -> None:
    from bot.access import RoleDirectory
    from bot.workspace import RolesConfig
    from commands import register_all

    registered: set[str] = set()

    class Recorder:
        def __getattr__(self, name: str) -> Any:
            if name == "inbox":
                return self  # the inbox's job handlers are not Slack listeners; record nothing for them

            def decorator_factory(*args: Any, **kwargs: Any) -> Any:
                if name == "command":
                    registered.add(str(args[0]))
                return lambda function: function
            return decorator_factory

    deps: Any = type("D", (), {"roles": RoleDirectory(RolesConfig(), lambda _: [])})()
    register_all(Recorder(), deps)  # type: ignore[arg-type]
    declared = {c["command"] for c in _manifest()["features"]["slash_commands"]}
    assert registered, "no slash commands were registered"
    assert registered <= declared


@pytest.mark.parametrize("scope", ["commands", "chat:write", "im:write", "usergroups:read", "users:read"])
def test_manifest_requests_the_scopes_the_bot_uses(scope: str) -> None:
    assert scope in _manifest()["oauth_config"]["scopes"]["bot"]
