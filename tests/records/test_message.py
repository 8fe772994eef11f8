"""Requests: plain text or a conversation, as chat APIs, raw-text models and cache keys see them."""

from __future__ import annotations

from autoprompt.records.message import Message, anthropic_messages, as_dicts, as_text, split_system, wire

CHAT = (Message("system", "Be brief."), Message("user", "Q: 1+1\nA:"), Message("assistant", "2"),
        Message("user", "Q: 2+2\nA:"))


def test_plain_text_is_one_user_turn_and_keeps_its_cache_key() -> None:
    assert as_dicts("hi") == [{"role": "user", "content": "hi"}]
    assert as_text("hi") == "hi" and wire("hi") == "hi"


def test_a_conversation_reads_as_text_the_way_a_prompt_shows_demonstrations() -> None:
    assert as_text(CHAT) == "Be brief.\n\nQ: 1+1\nA: 2\n\nQ: 2+2\nA:"
    assert wire(CHAT) == [["system", "Be brief."], ["user", "Q: 1+1\nA:"], ["assistant", "2"], ["user", "Q: 2+2\nA:"]]


def test_anthropic_gets_the_system_message_apart() -> None:
    system, messages = split_system(CHAT)
    assert system == "Be brief." and [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert split_system("hi") == ("", [{"role": "user", "content": "hi"}])


def test_anthropic_caches_what_every_example_shares_without_changing_the_text() -> None:
    request = anthropic_messages(CHAT)
    assert request["system"] == "Be brief."
    assert request["messages"][1] == {"role": "assistant", "content": [
        {"type": "text", "text": "2", "cache_control": {"type": "ephemeral"}}]}
    assert request["messages"][-1] == {"role": "user", "content": "Q: 2+2\nA:"}
    only_system = anthropic_messages((Message("system", "Be brief."), Message("user", "Q")))
    assert only_system["system"] == [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    assert anthropic_messages("Q") == {"messages": [{"role": "user", "content": "Q"}]}  # nothing shared apart
