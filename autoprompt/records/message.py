"""The message record: one turn of a chat request, and a request as backends receive it.

A ``Request`` is either plain text (one user turn, as every prompt was before prompts had a
system message) or a ``Conversation``: a tuple of ``Message``s, a system message first when
there is one, then user and assistant turns, ending with the user turn being answered.
Chat APIs get the messages as they are; a model addressed as raw text gets ``as_text``.
Imports nothing of the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True)
class Message:
    """One turn: ``role`` is ``system``, ``user`` or ``assistant``."""

    role: str
    content: str


Conversation: TypeAlias = tuple[Message, ...]
Request: TypeAlias = "str | Conversation"


def as_text(request: str | Conversation) -> str:
    """The request as one text, for a model addressed as raw text: the system message, then each
    user turn followed by its answer after a space, blocks separated by a blank line."""
    if isinstance(request, str):
        return request
    out = ""
    for message in request:
        if message.role == "assistant":
            out += " " + message.content
        else:
            out += ("\n\n" if out else "") + message.content
    return out


def as_dicts(request: str | Conversation) -> list[dict[str, str]]:
    """The request as chat messages (``{"role", "content"}``); plain text is one user turn."""
    if isinstance(request, str):
        return [{"role": "user", "content": request}]
    return [{"role": m.role, "content": m.content} for m in request]


def split_system(request: str | Conversation) -> tuple[str, list[dict[str, str]]]:
    """The system text (empty without one) and the other messages, as Anthropic's API takes them."""
    messages = as_dicts(request)
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    return system, [m for m in messages if m["role"] != "system"]


def wire(request: str | Conversation) -> str | list[list[str]]:
    """The request in a cache key: plain text as it is (so keys of one-turn prompts never change),
    a conversation as its (role, content) pairs."""
    return request if isinstance(request, str) else [[m.role, m.content] for m in request]
