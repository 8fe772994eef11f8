"""Export: the winner for production, in every format, loaded back with jinja2 alone.

Owns: ``manifest`` (``winner.jinja`` + ``winner.json``, ``load_prompt``, the folder rules),
``formats`` (jinja, openai, anthropic, dspy, promptfoo), ``dspy_program`` (the winner as a
``dspy.Predict`` and its template adapter).
May import: records, prompts and the shared modules. Never data, models, evaluation, the search or storage
(an import contract in ``make lint`` holds it); ``manifest`` needs jinja2 and the standard
library only.
"""
