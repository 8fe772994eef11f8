"""The label-word search over the model's vocabulary, on next-token lists made by hand."""

from __future__ import annotations

from autoprompt.propose.vocabulary import MIN_ROWS_PER_LABEL, choose_words, words_of


def lists_for(targets: list[str], likely: dict[str, str]) -> list[list[tuple[str, float]]]:
    """Each row's top tokens: its label's telling word first, the other label's word lower, filler."""
    rows = []
    for target in targets:
        other = next(w for label, w in likely.items() if label != target)
        rows.append([(" " + likely[target], -0.5), (" the", -1.0), (" " + other, -2.5), ("\n", -3.0),
                     (" positive", -3.5), (" negative", -3.6)])
    return rows


def test_words_that_separate_the_labels_replace_words_that_do_not() -> None:
    targets = ["positive", "negative"] * MIN_ROWS_PER_LABEL
    lists = lists_for(targets, {"positive": "great", "negative": "awful"})
    for row in lists[1::2]:  # the task's own words say little: "negative" is no likelier on negative rows
        row[-1] = (" negative", -3.7)
    chosen = choose_words(lists, targets, {"positive": "positive", "negative": "negative"}, space=True)
    assert chosen == {"positive": "great", "negative": "awful"}


def test_nothing_is_proposed_when_the_words_already_do_best_or_rows_are_too_few() -> None:
    targets = ["positive", "negative"] * MIN_ROWS_PER_LABEL
    lists = lists_for(targets, {"positive": "great", "negative": "awful"})
    assert choose_words(lists, targets, {"positive": "great", "negative": "awful"}, space=True) is None
    few = targets[: 2 * MIN_ROWS_PER_LABEL - 2]
    assert choose_words(lists[: len(few)], few, {"positive": "x", "negative": "y"}, space=True) is None


def test_only_tokens_that_read_as_words_count() -> None:
    tokens = [(" great", -1.0), ("great", -1.5), (" a", -2.0), (" 42", -2.5), ("\n", -3.0), (" don", -3.1),
              (" This", -3.2)]
    assert words_of(tokens, space=True) == {"great": -1.0, "don": -3.1}
    assert words_of(tokens, space=False) == {"great": -1.5}
