"""The names of the built-in operator families, in proposal order: the one list the registry builds from and
the run specification offers (``--operators``). Imports nothing, so the specification can read it cheaply."""

FAMILIES = ("feedback", "move", "demos", "explore", "words", "edit", "rewrite")
