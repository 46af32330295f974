"""The chat command parser (CONTRACT §5); executing commands is done elsewhere.

``parse_command(text, bot_username)`` gives ``None`` for ordinary text, else a
``Command``. Accepted: a ``/`` or ``!`` prefix, a ``@botname`` suffix (a command addressed
to another bot is not ours: ``None``), any letter case, shell-like quoting (``"…"``,
``'…'`` and typographic quotes; an unbalanced quote is closed at the end of the text).
Arguments are checked here: a wrong one gives ``Command.error``, a short usage line for
the executor to answer. Unknown commands give ``Command(name="unknown", invoked=…)``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ..errors import InvalidInput
from .overrides import OVERRIDE_SCOPES, parse_hhmm

COMMANDS: tuple[str, ...] = (
    "new", "reset", "session", "checkpoint", "history", "rename", "stop", "compact", "help",
)  # fmt: skip

HELP_TEXT = """\
Commands:
/new [agent] [model] - start a new session
/reset - start over in a new session
/session - show this session; /session list - recent sessions
/session scope main|channel|peer - share one session everywhere, per chat, or per person
/session reset-time HH:MM|off - daily fresh start at that time
/session idle-reset MINUTES|off - fresh start after a quiet pause
/checkpoint save "name" | list | restore <id> | delete <id>
/history [N] | export [markdown|json] | clear
/rename <title> - rename this session
/stop - stop the current reply
/compact - summarise older messages
/help - this list"""

USAGE: dict[str, str] = {
    "new": "usage: /new [agent] [model]",
    "reset": "usage: /reset",
    "session": (
        "usage: /session [list | scope main|channel|peer | reset-time HH:MM|off | idle-reset MINUTES|off]"
    ),
    "checkpoint": 'usage: /checkpoint save "name" | list | restore <id> | delete <id>',
    "history": "usage: /history [N] | export [markdown|json] | clear",
    "rename": "usage: /rename <title>",
    "stop": "usage: /stop",
    "compact": "usage: /compact",
    "help": "usage: /help",
}

_HEAD = re.compile(r"^\s*[/!]([A-Za-z][A-Za-z0-9_-]*)(?:@([A-Za-z0-9_.-]+))?(?=\s|$)")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
_MAX_HISTORY = 10_000


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed chat command: ``name`` (canonical), ``sub`` (sub-command), ``args``.

    ``error`` is a short usage message when the arguments are wrong; ``invoked`` the
    command word as typed (without prefix and ``@bot``), e.g. for unknown commands.
    """

    name: str
    sub: str | None = None
    args: tuple[str, ...] = ()
    error: str | None = None
    invoked: str = ""


def parse_command(text: str, bot_username: str | None = None) -> Command | None:
    """The command in ``text``, or ``None`` if it is an ordinary message."""
    if not isinstance(text, str):
        return None
    head = _HEAD.match(text)
    if head is None:
        return None
    invoked, addressee = head.group(1), head.group(2)
    if addressee and bot_username and addressee.casefold() != bot_username.lstrip("@").casefold():
        return None
    rest = text[head.end() :].strip()
    name = invoked.lower()
    if name not in COMMANDS:
        return Command("unknown", args=tuple(split_args(rest)), invoked=invoked)
    if name == "rename":
        title = _unquote(rest)
        return Command(
            "rename",
            args=(title,) if title else (),
            error=None if title else USAGE["rename"],
            invoked=invoked,
        )
    return _check(name, split_args(rest), invoked)


def split_args(text: str) -> list[str]:
    """Shell-like split; an unbalanced quote is closed at the end instead of failing."""
    text = text.translate(_QUOTES)
    for closing in ("", '"', "'"):
        try:
            return shlex.split(text + closing)
        except ValueError:
            continue
    return text.split()


def _unquote(text: str) -> str:
    text = text.translate(_QUOTES).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


@dataclass(frozen=True, slots=True)
class _Builder:
    name: str
    invoked: str

    def ok(self, sub: str | None = None, values: tuple[str, ...] = ()) -> Command:
        return Command(self.name, sub, values, None, self.invoked)

    def bad(self, sub: str | None = None, values: tuple[str, ...] = (), usage: str | None = None) -> Command:
        return Command(self.name, sub, values, usage or USAGE[self.name], self.invoked)


def _check(name: str, args: list[str], invoked: str) -> Command:
    b = _Builder(name, invoked)
    if name in ("reset", "stop", "compact"):
        return b.ok() if not args else b.bad(values=tuple(args))
    if name == "help":
        return b.ok(values=tuple(args[:1]))
    if name == "new":
        return b.ok(values=tuple(args)) if len(args) <= 2 else b.bad(values=tuple(args))
    sub = args[0].lower() if args else None
    values = tuple(args[1:])
    if name == "session":
        return _session(b, sub, values)
    if name == "checkpoint":
        return _checkpoint(b, sub, values)
    return _history(b, sub, values)


def _session(b: _Builder, sub: str | None, values: tuple[str, ...]) -> Command:
    one = values[0].lower() if len(values) == 1 else None
    if sub is None:
        return b.ok()
    if sub == "list":
        return b.ok(sub) if not values else b.bad(sub, values)
    if sub == "scope":
        if one in OVERRIDE_SCOPES:
            return b.ok(sub, (one,))
        return b.bad(sub, values, "usage: /session scope main|channel|peer")
    if sub == "reset-time":
        if one == "off":
            return b.ok(sub, ("off",))
        try:
            hour, minute = parse_hhmm(values[0]) if one else (-1, -1)
        except InvalidInput:
            hour, minute = -1, -1
        if hour >= 0:
            return b.ok(sub, (f"{hour:02d}:{minute:02d}",))
        return b.bad(sub, values, "usage: /session reset-time HH:MM|off")
    if sub == "idle-reset":
        if one == "off":
            return b.ok(sub, ("off",))
        if one is not None and one.isdigit() and 0 < int(one) <= 10**7:
            return b.ok(sub, (str(int(one)),))
        return b.bad(sub, values, "usage: /session idle-reset MINUTES|off")
    return b.bad(sub, values)


def _checkpoint(b: _Builder, sub: str | None, values: tuple[str, ...]) -> Command:
    if sub == "save":
        label = " ".join(values).strip()
        return b.ok(sub, (label,)) if label else b.bad(sub, usage='usage: /checkpoint save "name"')
    if sub == "list":
        return b.ok(sub) if not values else b.bad(sub, values)
    if sub in ("restore", "delete"):
        return b.ok(sub, values) if len(values) == 1 else b.bad(sub, values, f"usage: /checkpoint {sub} <id>")
    return b.bad(sub, values)


def _history(b: _Builder, sub: str | None, values: tuple[str, ...]) -> Command:
    if sub is None:
        return b.ok()
    if sub.isdigit() and not values:
        if 1 <= int(sub) <= _MAX_HISTORY:
            return b.ok(None, (str(int(sub)),))
        return b.bad(None, (sub,), f"usage: /history [N] with N from 1 to {_MAX_HISTORY}")
    if sub == "export":
        fmt = values[0].lower() if values else "markdown"
        return b.ok(sub, (fmt,)) if fmt in ("markdown", "json") and len(values) <= 1 else b.bad(sub, values)
    if sub == "clear":
        return b.ok(sub) if not values else b.bad(sub, values)
    return b.bad(sub, values)


__all__ = ["COMMANDS", "HELP_TEXT", "USAGE", "Command", "parse_command", "split_args"]
