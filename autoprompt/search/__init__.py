"""Search: the loop, its strategies, racing, the final check, and what a run returns.

Owns: ``optimizer`` (``optimize``, task preparation, the loop), ``refine`` and ``strategy``
(refinement rounds, Optuna's component search), ``space``, ``racing``, ``selection`` (the
final check), ``callbacks`` (progress, early stopping), ``estimate`` (dry runs), ``trial``
(the trial record and its one serializer), ``result`` (``OptimizationResult``).
May import: everything above it: data, prompts, models, evaluate, propose, storage, export,
report. Nothing imports the search but storage's resume and the face.
"""
