"""How messages quote what they were given: short, escaped, and with no credentials."""

from autoprompt.errors import excerpt, without_credentials


def test_excerpt_escapes_control_characters_and_cuts_long_values() -> None:
    hostile = "\x1b]0;pwned\x07" + "x" * 10_000 + "\n"
    shown = excerpt(hostile)
    assert "\x1b" not in shown and "\n" not in shown and "\\x1b" in shown
    assert len(shown) < 100 and "10020 characters" in shown  # of the escaped text
    assert excerpt(5) == "5" and excerpt("accuracy") == "'accuracy'"


def test_credentials_are_masked_in_every_url_of_a_text() -> None:
    text = "cannot reach https://me:sk-secret@api.example.com/v1 or postgresql://u:pw@db/x"
    assert without_credentials(text) == "cannot reach https://***@api.example.com/v1 or postgresql://***@db/x"
    assert "sk-secret" not in excerpt({"model": "openai:m@https://me:sk-secret@h/v1"})
