"""Every shipped recipe trains two optimizer steps as shipped, on a Qwen2.5-shaped stand-in and data of its own schema.

The stand-in keeps what matters of Qwen2.5-0.5B-Instruct — the Qwen2 architecture with grouped-query attention and
tied embeddings, a byte-level BPE tokenizer with the ChatML chat template — at reduced sizes (`build_tiny_model`).
The data has the shapes of the recipe's Hub dataset: Bespoke-Stratos traces several times longer than `max_length`
(so SFT truncates them), NuminaMath-TIR problems with LaTeX solutions and tool-use blocks. Every option of the recipe
applies, except the GPU-only ones where there is no GPU (bf16, vLLM) and, on a CPU, completions longer than 256
tokens (the random stand-in never ends a completion, so each runs to the cap: 1,024 tokens cost a minute and a half
here); those overrides are printed. A typo in a recipe, or an option TRL removed, fails here.
"""
import json
import sys

import pytest
import torch
import yaml
from conftest import ROOT

from r1_budget.config import RECIPES_DIR, load_stage_config, recipe_path
from r1_budget.grpo import train_grpo
from r1_budget.models import build_tiny_model
from r1_budget.sft import train_sft

sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from long_rows import write_rows  # noqa: E402

pytestmark = pytest.mark.slow
RECIPES = sorted(str(p.relative_to(RECIPES_DIR).with_suffix("")) for p in RECIPES_DIR.rglob("*.yaml"))
GPU_ONLY = ("bf16", "use_vllm")   # recipe options that need a GPU, switched off on a CPU (and printed)
CPU_MAX_COMPLETION = 256          # on a CPU, longer completion budgets are capped to this (and printed)
STEPS = 2


def test_every_recipe_file_is_covered():
    shipped = ROOT / "r1_budget" / "recipes"   # package data: what a wheel carries
    assert RECIPES == sorted(str(p.relative_to(shipped).with_suffix("")) for p in shipped.rglob("*.yaml"))
    assert len(RECIPES) >= 7 and "qwen2.5-0.5b-instruct/grpo-tuned" in RECIPES


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    "A Qwen2.5-shaped model (GQA, tied embeddings, ChatML) whose tokenizer also knows the Hub datasets' text."
    return build_tiny_model(tmp_path_factory.mktemp("stand-in") / "model", task="all", size="tiny")


def _overrides(name: str, stand_in, tmp_path) -> dict:
    "The options a user on this machine would set over the shipped recipe: where the model and data are, two steps."
    recipe = yaml.safe_load(recipe_path(name).read_text())
    given = dict(output_dir=str(tmp_path / "run"), max_steps=STEPS, save_strategy="no", disable_tqdm=True,
                 logging_steps=1)
    if not str(recipe.get("model_name_or_path", "")).startswith("tiny:"):   # a Hub id or a previous stage's output
        given["model_name_or_path"] = str(stand_in)
    if "dataset" in recipe:
        given["dataset"] = str(write_rows(recipe["schema"], tmp_path / f"{recipe['schema']}.jsonl"))
    cpu = [] if torch.cuda.is_available() else [k for k in GPU_ONLY if recipe.get(k)]
    given.update({k: False for k in cpu})
    if not torch.cuda.is_available() and recipe.get("max_completion_length", 0) > CPU_MAX_COMPLETION:
        given["max_completion_length"] = CPU_MAX_COMPLETION
        cpu.append(f"max_completion_length {recipe['max_completion_length']} -> {CPU_MAX_COMPLETION}")
    print(f"{name}: options overridden on this CPU: {cpu or 'none'}")
    return given


def _plain(value):
    "A configuration value as YAML writes it: enums by value, no reporting as 'none'."
    value = getattr(value, "value", value)
    return [] if value in ("none", None) else value


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_trains_two_steps_as_shipped(name, stand_in, tmp_path):
    given = _overrides(name, stand_in, tmp_path)
    stage = "grpo" if "grpo" in name.split("/")[-1] else "sft"
    cfg = load_stage_config(stage, name, given)
    shipped = yaml.safe_load(recipe_path(name).read_text())
    parts = [p for p in (cfg.data, cfg.rewards, cfg.run, cfg.model, cfg.training) if p is not None]
    for key, value in shipped.items():   # every other option reaches the configuration as shipped
        if key in given: continue
        [part] = [p for p in parts if hasattr(p, key)][:1] or [None]
        assert part is not None, f"{name}: option {key!r} reaches no configuration field"
        assert _plain(getattr(part, key)) == _plain(value), (name, key, getattr(part, key), value)
    out = (train_sft if stage == "sft" else train_grpo)(cfg)
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == STEPS, (name, state["global_step"])
    losses = [e for e in state["log_history"] if "loss" in e]
    assert len(losses) == STEPS and all(torch.isfinite(torch.tensor(e["loss"])) for e in losses), losses
    per_step = cfg.training.per_device_train_batch_size * cfg.training.gradient_accumulation_steps
    if stage == "sft" and "dataset" in shipped and cfg.data.max_completion_tokens is None:
        # every trace is longer than max_length: each was cut to it, none dropped
        assert losses[-1]["num_tokens"] == STEPS * per_step * cfg.training.max_length, losses[-1]
    elif stage == "sft" and "dataset" in shipped:   # the length filter's rows are trained whole: shorter than max_length
        assert 0 < losses[-1]["num_tokens"] < STEPS * per_step * cfg.training.max_length, losses[-1]


def test_tuned_sft_recipe_trains_whole_traces(stand_in, tmp_path, capsys):
    "The tuned SFT recipe drops the traces over its budget and keeps the rest whole, answer and end of turn included."
    from r1_budget.sft import build_sft_trainer
    name = "qwen2.5-0.5b-instruct/sft-tuned"
    cfg = load_stage_config("sft", name, _overrides(name, stand_in, tmp_path))
    d = cfg.data
    assert d.max_prompt_tokens + d.max_completion_tokens <= cfg.training.max_length
    trainer, tokenizer, n_rows = build_sft_trainer(cfg)
    assert "filter_by_length: kept 36 of 48 rows (75.0%)" in capsys.readouterr().out   # every 4th fixture trace is long
    assert n_rows == 36
    for row in trainer.train_dataset:
        ids = row["input_ids"]
        assert len(ids) <= cfg.training.max_length
        tail = tokenizer.decode(ids[-40:])
        assert "</answer>" in tail and tail.rstrip().endswith("<|im_end|>"), tail


def test_tuned_recipes_have_a_budget():
    "The tuned GRPO recipe stops after max_steps; the original ones are unchanged (one epoch, as the original ran)."
    tuned = yaml.safe_load(recipe_path("qwen2.5-0.5b-instruct/grpo-tuned").read_text())
    assert 0 < tuned["max_steps"] <= 1000 and "num_train_epochs" not in tuned
    assert tuned["model_name_or_path"] == yaml.safe_load(recipe_path("qwen2.5-0.5b-instruct/sft-tuned").read_text())[
        "output_dir"]
    for name in ("sft", "grpo"):
        original = yaml.safe_load(recipe_path(f"qwen2.5-0.5b-instruct/{name}").read_text())
        assert original["num_train_epochs"] == 1 and "max_steps" not in original
    from r1_budget.sagemaker import planned_steps   # the tuned SFT recipe stops after one epoch of what it keeps
    sft = yaml.safe_load(recipe_path("qwen2.5-0.5b-instruct/sft-tuned").read_text())
    assert sft["num_train_epochs"] == 1 and planned_steps(sft) == 1045 == -(-16710 // 16)
    assert "at most 1,045 steps" in recipe_path("qwen2.5-0.5b-instruct/sft-tuned").read_text()
