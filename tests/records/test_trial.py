"""Trials: one serializer, and a shared run's record rebuilds the trial another process scored."""

from __future__ import annotations

import json

from autoprompt.records.candidate import Candidate
from autoprompt.records.prediction import Prediction
from autoprompt.records.trial import Trial, TrialState, trial_from_record, trial_record


def test_a_record_with_answers_rebuilds_the_trial() -> None:
    trial = Trial(4, Candidate(task="qa", n_demos=2), TrialState.PRUNED, 0.5,
                  (Prediction("e1", "yes", 1.0, False), Prediction("e2", "", 0.0, True)), calls=2, seconds=1.25,
                  prompt_chars=80, prompt_tokens=21, rung_scores=((2, 0.5),), operator="tpe")
    record = json.loads(json.dumps(trial_record(trial, answers=True)))
    assert trial_from_record(record, number=4, candidate=trial.candidate, operator="tpe") == trial
    assert "predictions" not in trial_record(trial)  # trials.jsonl keeps scores, not answers
    damaged = {**record, "state": "running"}
    assert trial_from_record(damaged, number=4, candidate=trial.candidate, operator="tpe").state is \
        TrialState.INTERRUPTED
