"""The app manifest asks for exactly the scopes and events the code uses, at the URL the code serves."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from adapters.slack import app as slack_app
from bot.settings import Settings

MANIFEST = Path(slack_app.__file__).with_name("manifest.yaml")
SOURCE = Path(slack_app.__file__).read_text(encoding="utf-8")

# Web API methods → the bot scope each needs (Slack's method reference). views.* need none.
METHOD_SCOPES = {
    "chat_postMessage": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_update": "chat:write",
    "views_publish": None,
    "views_open": None,
}
# Events API subscriptions → the scope each needs, and the bolt listener that handles it.
EVENT_SCOPES = {"message.im": "im:history", "app_mention": "app_mentions:read", "app_home_opened": None}
EVENT_LISTENERS = {
    "message.im": '"message"',
    "app_mention": '"app_mention"',
    "app_home_opened": '"app_home_opened"',
}


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return data


def test_scopes_are_exactly_those_used() -> None:
    methods = set(re.findall(r"self\.client\.(\w+)\(", SOURCE))
    assert methods == set(METHOD_SCOPES), (
        "a new Web API call: add it (and its scope) here and to the manifest"
    )
    events = manifest()["settings"]["event_subscriptions"]["bot_events"]
    needed = {METHOD_SCOPES[m] for m in methods} | {EVENT_SCOPES[e] for e in events} | {"commands"}
    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == needed - {None}


def test_events_are_exactly_those_handled() -> None:
    events = manifest()["settings"]["event_subscriptions"]["bot_events"]
    assert set(events) == set(EVENT_SCOPES)
    for event in events:
        assert f"bolt.event({EVENT_LISTENERS[event]})" in SOURCE


def test_every_url_is_the_events_path_and_the_command_is_the_default() -> None:
    data = manifest()
    urls = [
        data["settings"]["event_subscriptions"]["request_url"],
        data["settings"]["interactivity"]["request_url"],
        *(c["url"] for c in data["features"]["slash_commands"]),
    ]
    assert all(url == f"https://YOUR-HOST{slack_app.EVENTS_PATH}" for url in urls)
    assert [c["command"] for c in data["features"]["slash_commands"]] == [
        Settings.model_fields["slack_slash_command"].default
    ]
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert data["features"]["app_home"]["messages_tab_enabled"] is True
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert 174 <= len(data["display_information"]["long_description"]) <= 4000
