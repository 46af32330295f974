"""Table-driven tests: every recorded platform payload under fixtures/ parses as expected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sessionhub.errors import InvalidInput
from sessionhub.routing.channels import PARSERS, parse_all
from sessionhub.routing.inbound import Challenge, Ignored, InboundMessage
from sessionhub.routing.keys import session_key

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(FIXTURES.glob("*/*.json"))


def _load(path: Path) -> tuple[str, dict[str, Any], dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return path.parent.name, data["payload"], data["expect"]


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_fixture(path: Path) -> None:
    """The payload gives the expected message, ignore, challenge or error, and the expected key."""
    channel, payload, expect = _load(path)
    parser = PARSERS[channel]
    if "error" in expect:
        with pytest.raises(InvalidInput, match=expect["error"].replace("(", r"\(")):
            parser(payload)
        return
    result = parser(payload)
    if "ignored" in expect:
        assert isinstance(result, Ignored), result
        assert expect["ignored"] in result.reason
    elif "challenge" in expect:
        assert isinstance(result, Challenge), result
        assert result.value == expect["challenge"]
    else:
        assert isinstance(result, InboundMessage), result
        actual = result.to_dict()
        for name, value in expect["message"].items():
            assert actual[name] == value, f"{name}: {actual[name]!r} != {value!r}"
        if "key" in expect:
            assert session_key("main", result) == expect["key"]


def test_every_channel_has_fixtures() -> None:
    """Each registered parser has messages, ignored events and malformed payloads recorded."""
    for channel in PARSERS:
        kinds = set()
        for path in FIXTURES.glob(f"{channel}/*.json"):
            expect = _load(path)[2]
            kinds.add(next(k for k in ("message", "ignored", "error", "challenge") if k in expect))
        assert {"message", "error"} <= kinds, channel
        if channel != "webhook":
            assert "ignored" in kinds, channel


def test_registry_names_the_contract_channels() -> None:
    """PARSERS is keyed by the channel names of CONTRACT §2 (all but web)."""
    assert set(PARSERS) == {
        "telegram", "slack", "discord", "whatsapp", "signal", "matrix", "teams", "google_chat", "webhook",
    }  # fmt: skip


@pytest.mark.parametrize("channel", sorted(PARSERS))
@pytest.mark.parametrize("payload", [None, [], "text", 3])
def test_non_object_payload_is_invalid(channel: str, payload: Any) -> None:
    """A payload that is not a JSON object is refused with InvalidInput, never another error."""
    with pytest.raises(InvalidInput):
        PARSERS[channel](payload)


def test_account_and_bot_id_are_applied() -> None:
    """The configured account lands on the message; the bot's own user id is ignored."""
    _, payload, _ = _load(FIXTURES / "telegram" / "private_message.json")
    msg = PARSERS["telegram"](payload, account="support-bot")
    assert isinstance(msg, InboundMessage) and msg.account == "support-bot"
    assert session_key("main", msg) == "main:telegram:support-bot:123456789"
    _, payload, _ = _load(FIXTURES / "matrix" / "room_message.json")
    assert isinstance(PARSERS["matrix"](payload, bot_id="@alice:example.org"), Ignored)


def test_whatsapp_batch_gives_every_message() -> None:
    """A WhatsApp notification with two messages yields both through parse_all."""
    _, payload, _ = _load(FIXTURES / "whatsapp" / "text_message.json")
    value = payload["entry"][0]["changes"][0]["value"]
    second = {**value["messages"][0], "id": "wamid.SECOND", "text": {"body": "and another"}}
    value["messages"].append(second)
    results = parse_all("whatsapp", payload)
    assert [r.text for r in results if isinstance(r, InboundMessage)] == [
        "Does it come in another color?",
        "and another",
    ]


def test_matrix_transaction_gives_every_event() -> None:
    """An application-service transaction is parsed event by event."""
    _, message, _ = _load(FIXTURES / "matrix" / "room_message.json")
    _, join, _ = _load(FIXTURES / "matrix" / "member_join.json")
    results = parse_all("matrix", {"events": [join, message]})
    assert isinstance(results[0], Ignored) and isinstance(results[1], InboundMessage)
    assert PARSERS["matrix"]({"events": [join, message]}) == results[1]


def test_parse_all_unknown_channel() -> None:
    """Asking for a channel without a parser is a clear InvalidInput."""
    with pytest.raises(InvalidInput, match="no webhook parser"):
        parse_all("fax", {})


def test_slack_message_and_app_mention_share_an_event_id() -> None:
    """The same Slack message delivered as message and as app_mention deduplicates to one event."""
    _, payload, _ = _load(FIXTURES / "slack" / "app_mention.json")
    mention = PARSERS["slack"](payload)
    as_message = dict(payload, event={**payload["event"], "type": "message", "channel_type": "channel"})
    plain = PARSERS["slack"](as_message)
    assert isinstance(mention, InboundMessage) and isinstance(plain, InboundMessage)
    assert mention.event_id == plain.event_id


def test_telegram_topic_needs_is_topic_message() -> None:
    """message_thread_id alone (a reply in a group) is not a topic; with is_topic_message it is."""
    _, payload, _ = _load(FIXTURES / "telegram" / "group_reply_without_topics.json")
    reply = PARSERS["telegram"](payload)
    assert isinstance(reply, InboundMessage) and reply.topic is None
    payload["message"]["is_topic_message"] = True
    topic = PARSERS["telegram"](payload)
    assert isinstance(topic, InboundMessage) and topic.topic == "79"
