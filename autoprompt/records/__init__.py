"""Records: frozen dataclasses that the other parts pass between them.

Owns: the feedback record (``feedback``). The trial, candidate, prediction, grade and usage
records still live beside the code that makes them (``search.trial``, ``prompts.compose``,
``evaluate.evaluator``, ``evaluate.metric``, ``models.usage``) and move here next.
May import: nothing of the project (an import contract in ``make lint`` holds it).
"""
