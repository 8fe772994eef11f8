"""Bundled tasks (installed as ``autoprompt.datasets``); see README.md for sources and licence."""
