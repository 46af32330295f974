"""The chat command parser: prefixes, @bot suffixes, quoting, sub-commands and usage errors."""

from __future__ import annotations

import pytest

from sessionhub.routing.commands import HELP_TEXT, Command, parse_command


@pytest.mark.parametrize(
    ("text", "name", "sub", "args"),
    [
        ("/new", "new", None, ()),
        ("/new coder gpt-4o", "new", None, ("coder", "gpt-4o")),
        ("!reset", "reset", None, ()),
        ("/RESET@MyBot", "reset", None, ()),
        ("/session", "session", None, ()),
        ("/session list", "session", "list", ()),
        ("/session scope Peer", "session", "scope", ("peer",)),
        ("/session reset-time 4:05", "session", "reset-time", ("04:05",)),
        ("/session reset-time off", "session", "reset-time", ("off",)),
        ("/session idle-reset 90", "session", "idle-reset", ("90",)),
        ('/checkpoint save "before refactor"', "checkpoint", "save", ("before refactor",)),
        ("/checkpoint save before refactor", "checkpoint", "save", ("before refactor",)),
        ('/checkpoint save "unbalanced quote', "checkpoint", "save", ("unbalanced quote",)),
        ("/checkpoint save “phone quotes”", "checkpoint", "save", ("phone quotes",)),
        ("/checkpoint restore chk_abc", "checkpoint", "restore", ("chk_abc",)),
        ("/checkpoint delete chk_abc", "checkpoint", "delete", ("chk_abc",)),
        ("/checkpoint list", "checkpoint", "list", ()),
        ("/history", "history", None, ()),
        ("/history 20", "history", None, ("20",)),
        ("/history export", "history", "export", ("markdown",)),
        ("/history export JSON", "history", "export", ("json",)),
        ("/history clear", "history", "clear", ()),
        ('/rename "My trip plans"', "rename", None, ("My trip plans",)),
        ("/rename it's a title", "rename", None, ("it's a title",)),
        ("/stop", "stop", None, ()),
        ("/compact", "compact", None, ()),
        ("/help", "help", None, ()),
        ("  /help  ", "help", None, ()),
    ],
)
def test_valid_commands(text: str, name: str, sub: str | None, args: tuple[str, ...]) -> None:
    """Well-formed commands parse to their canonical name, sub-command and normalised args."""
    cmd = parse_command(text, bot_username="mybot")
    assert cmd is not None
    assert (cmd.name, cmd.sub, cmd.args, cmd.error) == (name, sub, args, None)


@pytest.mark.parametrize(
    "text",
    [
        "/session scope everyone",
        "/session reset-time 25:00",
        "/session idle-reset 0",
        "/session idle-reset soon",
        "/session frobnicate",
        "/checkpoint save",
        "/checkpoint restore",
        "/checkpoint",
        "/history 0",
        "/history export pdf",
        "/rename",
        "/reset now",
        "/new a b c",
    ],
)
def test_usage_errors(text: str) -> None:
    """Wrong arguments give the command with a usage error to answer, not an exception."""
    cmd = parse_command(text)
    assert cmd is not None and cmd.error is not None and cmd.error.startswith("usage:")


@pytest.mark.parametrize("text", ["hello", "", "/", "! not a command", "/etc/passwd is a file", "//x", "5/3"])
def test_ordinary_text_is_not_a_command(text: str) -> None:
    """Text that does not start with a command word is an ordinary message."""
    assert parse_command(text) is None


def test_other_bots_commands_are_not_ours() -> None:
    """/cmd@otherbot is ignored when we know our name, and accepted when we do not."""
    assert parse_command("/reset@otherbot", bot_username="@mybot") is None
    assert parse_command("/reset@MYBOT", bot_username="@mybot") == Command("reset", invoked="reset")
    assert parse_command("/reset@otherbot") is not None


def test_unknown_command_keeps_what_was_typed() -> None:
    """An unknown command is reported as 'unknown' with the typed word and arguments."""
    assert parse_command("/Frob a 'b c'") == Command("unknown", args=("a", "b c"), invoked="Frob")


def test_help_text_lists_every_command() -> None:
    """HELP_TEXT mentions each command of CONTRACT §5."""
    for word in (
        "/new",
        "/reset",
        "/session",
        "/checkpoint",
        "/history",
        "/rename",
        "/stop",
        "/compact",
        "/help",
    ):
        assert word in HELP_TEXT
