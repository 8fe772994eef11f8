"""Propose: operator families that read a trial and its mistakes and return candidates.

Owns: ``operator`` (the ``Operator`` protocol, ``RefineContext``, rejections), ``families``
(their names, which the run specification offers), ``registry`` (the families by name), ``space``
(the choices a candidate can make), ``tpe`` (Optuna's sampler, shared with the component search),
``move``, ``demos``, ``edit``, ``explore``, ``words`` and ``vocabulary`` (label words read from the
model's next-token lists), ``rewrite`` (the optimizer model), ``feedback`` (reviewers' notes as
clarifiers and rewrites).
May import: errors, data, prompts, models, evaluate, records, storage (feedback files).
"""
