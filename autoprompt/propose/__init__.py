"""Propose: operator families that read a trial and its mistakes and return candidates.

Owns: ``operator`` (the ``Operator`` protocol, ``RefineContext``, rejections, the family
registry), ``move``, ``demos``, ``edit``, ``explore``, ``words``, ``rewrite`` (the optimizer
model), ``feedback`` (reviewers' notes as clarifiers and rewrites).
May import: errors, data, prompts, models, evaluate, records, storage (feedback files).
"""
