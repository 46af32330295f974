"""What a chat user may change: the rule's agents, each agent's models, scope changes, admins."""

from __future__ import annotations

from typing import Any

import pytest

from sessionhub.config import AgentSettings, CommandSettings, Settings
from sessionhub.errors import ConfigError
from sessionhub.hub.router import build_policy
from sessionhub.routing.inbound import InboundMessage
from sessionhub.routing.permissions import is_admin, new_refusal, scope_refusal
from sessionhub.routing.policy import RoutingPolicy
from sessionhub.routing.settings import DispatchSettings, SessionSettings

SETTINGS = Settings(
    agents=(
        AgentSettings(id="main"),
        AgentSettings(id="support", model="small", models=("medium",)),
        AgentSettings(id="ops"),
    ),
    dispatch={"rules": [{"agent": "support", "agents": ["main", "support"], "when": {"channel": "slack"}}]},
    session={"identity_links": {"alice": ["telegram:7", "slack:UA"]}},
    commands=CommandSettings(admins=("alice", "discord:99")),
)
POLICY = build_policy(SETTINGS)


def msg(channel: str = "slack", sender: str = "u1") -> InboundMessage:
    return InboundMessage(channel=channel, chat="c1", sender=sender, text="/new")


def test_chat_agents_rule_first_then_its_list_else_default() -> None:
    """A matching rule offers its agent then its ``agents`` (no repeats); no rule offers the default agent."""
    assert POLICY.chat_agents(msg("slack")) == ("support", "main")
    assert POLICY.chat_agents(msg("telegram")) == ("main",)


@pytest.mark.parametrize(
    ("channel", "agent", "model", "refusal"),
    [
        ("slack", None, None, None),
        ("slack", "support", "medium", None),
        ("slack", "main", "echo", None),
        ("slack", "ops", None, "Agent 'ops' is not available in this chat (available: support, main)."),
        ("slack", "nobody", None, "Agent 'nobody' is not available in this chat (available: support, main)."),
        ("slack", "support", "large", "Model 'large' is not available for agent support (available: small, medium)."),
        ("telegram", "support", None, "Agent 'support' is not available in this chat (available: main)."),
        ("telegram", None, "gpt-4o", "Model 'gpt-4o' is not available for agent main (available: echo)."),
    ],
)  # fmt: skip
def test_new_refusal(channel: str, agent: str | None, model: str | None, refusal: str | None) -> None:
    """/new may pick only the offered agents and, for each, its own model or one of its ``models``."""
    assert new_refusal(POLICY, SETTINGS, msg(channel), agent, model) == refusal


def test_admins_by_channel_id_raw_id_or_linked_identity() -> None:
    """Admins match ``channel:id``, a raw id on any channel, or any id linked to a listed canonical name."""
    assert is_admin(POLICY, SETTINGS.commands, msg("discord", "99"))
    assert not is_admin(POLICY, SETTINGS.commands, msg("slack", "99"))
    assert is_admin(POLICY, SETTINGS.commands, msg("telegram", "7"))
    assert is_admin(POLICY, SETTINGS.commands, msg("slack", "ua"))
    assert is_admin(POLICY, SETTINGS.commands, msg("matrix", "Alice"))
    assert not is_admin(POLICY, SETTINGS.commands, msg("telegram", "8"))
    admin = msg("telegram", "7")
    assert new_refusal(POLICY, SETTINGS, admin, "ops", "anything") is None


def test_scope_refusal() -> None:
    """/session scope needs allow_scope_change or an admin sender."""
    assert scope_refusal(POLICY, SETTINGS.commands, msg("slack", "u1")) is not None
    assert scope_refusal(POLICY, SETTINGS.commands, msg("slack", "UA")) is None
    assert scope_refusal(POLICY, CommandSettings(allow_scope_change=True), msg("slack", "u1")) is None


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"agent": "main", "agents": "ops"}, "dispatch.rules[0].agents: must be a list of agent ids"),
        ({"agent": "main", "agents": [""]}, "dispatch.rules[0].agents: must be a list of agent ids"),
        ({"agent": "main", "agents": ["ghost"]}, "dispatch.rules[0].agents: unknown agent 'ghost'"),
    ],
)
def test_rule_agents_config_errors(rule: dict[str, Any], message: str) -> None:
    """A wrong ``agents`` list in a dispatch rule stops start-up with a message naming it."""
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        build_policy(Settings(agents=SETTINGS.agents, dispatch={"rules": [rule]}))


def test_rule_agents_parse_from_the_toml_form() -> None:
    """``agents`` parses from the TOML table form into the rule."""
    p = RoutingPolicy.from_settings(
        SessionSettings(),
        DispatchSettings.parse({"rules": [{"agent": "a", "agents": ["b", "c"]}]}, "dispatch"),
    )
    assert p.rules[0].agents == ("b", "c")
