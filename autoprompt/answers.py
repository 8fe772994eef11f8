"""Reading answers: the normal form of a text, and which label an answer names.

Contract: ``normalize_text`` lowercases, drops punctuation and collapses whitespace (the
form exact-match metrics compare); ``label_form`` also reads ``_`` as a space; ``parse_label(answer,
labels)`` is the index of the label the answer names (tolerant of case, punctuation and extra
words) or None. Standard library only: every part may import it (metrics, hosted backends and exports
share it).
"""

from __future__ import annotations

import string
from collections.abc import Sequence


def normalize_text(text: str) -> str:
    """Lowercase, drop punctuation and collapse whitespace."""
    text = text.lower().translate(str.maketrans("", "", string.punctuation))
    return " ".join(text.split())


def label_form(text: str) -> str:
    return normalize_text(text.replace("_", " "))


def parse_label(answer: str, labels: Sequence[str]) -> int | None:
    """Index of the label the answer names, or None; tolerant of case, punctuation and extra words."""
    text = " " + label_form(answer) + " "
    forms = [label_form(label) for label in labels]
    for i, form in enumerate(forms):
        if form and text.strip().startswith(form) and not any(
            f != form and f.startswith(form) and text.strip().startswith(f) for f in forms
        ):
            return i
    found = [(text.find(f" {form} "), -len(form), i) for i, form in enumerate(forms) if form and f" {form} " in text]
    return min(found)[2] if found else None
