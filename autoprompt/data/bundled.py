"""The bundled tasks: ``BUNDLED`` (each task's file, default columns, description, label definitions and
JSON schema), ``bundled_path(name)`` and ``bundled_schema(name)``, read from the installed package.

Imports nothing of the project.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class BundledTask:
    """A task shipped with autoprompt, with its default columns."""

    name: str
    filename: str
    inputs: tuple[str, ...]
    target: str
    description: str
    definitions: Mapping[str, str] = field(default_factory=dict)
    json_schema: str = ""  # a file beside the data: the schema every answer follows (a JSON task)


BUNDLED: dict[str, BundledTask] = {
    "sentiment": BundledTask(
        "sentiment", "sentiment.csv", ("text",), "label",
        "Sentences from reviews (MultiEmo English); is the opinion positive or negative?",
        {
            "positive": "the writer is satisfied, praises or recommends",
            "negative": "the writer complains, criticises or warns",
        },
    ),
    "intent": BundledTask(
        "intent", "intent.csv", ("utterance",), "intent",
        "Voice-assistant utterances; which of 7 intents does the user have?",
        {
            "add_to_playlist": "put a song or artist on a playlist",
            "book_restaurant": "reserve a table at a restaurant",
            "get_weather": "ask about the weather forecast",
            "play_music": "play a song, album, artist or station",
            "rate_book": "give a rating to a book or novel",
            "search_creative_work": "find a show, song, book, game or picture",
            "search_screening_event": "find movie times or cinemas",
        },
    ),
    "past_tense": BundledTask(
        "past_tense", "past_tense.csv", ("verb",), "past",
        "English verbs; write the simple past tense.",
    ),
    "restaurant": BundledTask(
        "restaurant", "restaurant.csv", ("text",), "fields",
        "Restaurant descriptions (E2E NLG); extract the restaurant's attributes as JSON.",
        json_schema="restaurant.schema.json",
    ),
}


def bundled_path(name: str) -> Path:
    """The file of a bundled task, inside the installed package."""
    task = BUNDLED[name]
    return Path(str(resources.files("autoprompt.datasets").joinpath(task.filename)))


def bundled_schema(name: str) -> str:
    """The JSON schema text a bundled JSON task ships beside its data."""
    return resources.files("autoprompt.datasets").joinpath(BUNDLED[name].json_schema).read_text(encoding="utf-8")
