"""Models: every way to ask a model, and the layer every call goes through.

Owns: ``backend`` (the ``Backend`` protocol and its optional capabilities, the fake backend),
``registry`` (``get_backend``: a model spec or an instance), ``local`` (llama.cpp) and
``local_batch`` (its batched decoding), ``hosted`` (the base of the hosted backends: limits, key handling, error
mapping), ``openai_backend``, ``anthropic_backend``, ``litellm_backend`` (the long tail, through LiteLLM),
``dspy_backend``; ``client`` (cache,
budget, rate limits, failures in a row), ``cache``, ``budget``, ``ratelimit``, ``retry``,
``usage`` (tokens and prices).
May import: records and the shared modules (errors, files, wire, answers: reading answers). Knows
nothing of the search, the proposers, storage, exports or reports.
"""
