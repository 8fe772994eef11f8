"""The message record: one turn of a chat request, and a request as backends receive it.

A ``Request`` is either plain text (one user turn, as every prompt was before prompts had a
system message) or a ``Conversation``: a tuple of ``Message``s, a system message first when
there is one, then user and assistant turns, ending with the user turn being answered.
Chat APIs get the messages as they are; a model addressed as raw text gets ``as_text``.
Imports nothing of the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias


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


def anthropic_messages(request: str | Conversation) -> dict[str, Any]:
    """The request as Anthropic's ``system`` and ``messages``, with a prompt-cache breakpoint
    (``cache_control``) at the end of what every example shares: the last demonstration turn, or
    else the system message. Each marked message stays one text block, so the text is unchanged;
    a plain-text request (the shared part inside the one user turn) gets none."""
    system, messages = split_system(request)
    marked: list[dict[str, Any]] = [dict(m) for m in messages]
    ephemeral = {"type": "ephemeral"}
    if len(marked) > 1:  # demonstration turns before the example's turn
        last = marked[-2]
        last["content"] = [{"type": "text", "text": last["content"], "cache_control": ephemeral}]
        return {**({"system": system} if system else {}), "messages": marked}
    if system:
        return {"system": [{"type": "text", "text": system, "cache_control": ephemeral}], "messages": marked}
    return {"messages": marked}


def wire(request: str | Conversation) -> str | list[list[str]]:
    """The request in a cache key: plain text as it is (so keys of one-turn prompts never change),
    a conversation as its (role, content) pairs."""
    return request if isinstance(request, str) else [[m.role, m.content] for m in request]
