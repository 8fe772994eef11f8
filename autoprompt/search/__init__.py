"""Search: the loop, its strategies, racing, the final check, and what a run returns.

Owns: ``optimizer`` (``optimize``, the one-call face), ``assembly`` (a ``RunSpec`` into an
``Optimizer``, run in its run directory), ``task`` (task preparation and every input check,
shared by the real and the dry run), ``starts`` (the starting prompts), ``loop`` (the
``Optimizer``: ask, race, tell, callbacks; then the final check), ``parts`` (the records an
``Optimizer`` is given), ``testset`` (start and winner scored once on the test set), ``refine`` and
``strategy`` (refinement rounds, Optuna's component search), ``racing``, ``selection`` (the
final check), ``callbacks`` (progress, early stopping), ``estimate`` (dry runs), ``result``
(``OptimizationResult``, its tables, and the winner, answers and reports it writes into its
folder), ``run_folder`` (a ``RunSpec`` into ``run.json`` and back), ``run_report`` (a finished run
folder read into the report's records, and its reports written), ``mlflow_log`` (a finished run
logged to MLflow), ``resume`` (a run continued from its directory), ``exported`` (``autoprompt
eval``: an exported prompt scored on a data file), ``shared_strategy`` and ``worker`` (a run shared
through a database, its budget and rate limits, and the processes that join it), ``farm`` (a shared
refinement run's model requests answered by its workers).
May import: every part but the face: records, data, prompts, models, evaluate, propose, storage,
export, report, and the run specification (``spec``). Nothing imports the search but the face.
"""
