"""``python -m autoprompt``: the command line, as the ``autoprompt`` script runs it."""

from autoprompt.cli import main

raise SystemExit(main())
