"SFT and GRPO on the embedded tiny model: training, the original project's examples as written, bad configs, resume, multi-process."
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from r1_budget.cli import stage_config_from_args
from r1_budget.config import load_stage_config
from r1_budget.grpo import train_grpo
from r1_budget.models import build_tiny_model, load_model_and_tokenizer
from r1_budget.reasoning_on_a_budget import config_from_original
from r1_budget.sft import train_sft

BIN = Path(sys.executable).parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
       "OMP_NUM_THREADS": "1"}
FAST = ["--save_strategy", "no", "--logging_steps", "1", "--report_to", "none"]


def cli(*args, timeout=600, cwd=None):
    r = subprocess.run([str(BIN / "r1-budget"), *map(str, args)], capture_output=True, text=True, env=ENV,
                       timeout=timeout, cwd=cwd)
    return r


def config(stage, *flags, recipe=None):
    "The configuration `r1-budget STAGE [--recipe RECIPE] FLAGS` reads."
    return stage_config_from_args(stage, [*(["--recipe", recipe] if recipe else []), *map(str, flags)])


def weights(path):
    model, _ = load_model_and_tokenizer(path, dtype=torch.float32)
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "sft"
    train_sft(config("sft", "--output_dir", out, "--model_name_or_path", "tiny:tiny", "--max_steps", "6", "--synthetic_n",
                     "200", "--heldout_size", "50", *FAST, recipe="tiny/sft"))
    return out


def test_sft_trains_and_writes_the_run_directory(sft_run):
    files = {p.name for p in sft_run.iterdir()}
    assert {"config.json", "model.safetensors", "metrics.csv", "run_config.json", "trainer_state.json"} <= files
    assert "final" not in files and not any(f.startswith(".") for f in files)
    init = sft_run.parent / "tiny-tiny-multiply-init"
    before, after = weights(init), weights(sft_run)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    state = json.loads((sft_run / "trainer_state.json").read_text())
    assert state["global_step"] == 6 and state["log_history"][0]["loss"] > 0
    config = json.loads((sft_run / "run_config.json").read_text())
    assert config["stage"] == "sft" and config["data"]["heldout_size"] == 50
    assert "loss" in (sft_run / "metrics.csv").read_text().splitlines()[0]


def test_grpo_logs_every_reward_component_and_the_completions(sft_run, tmp_path):
    out = tmp_path / "grpo"
    train_grpo(config("grpo", "--output_dir", out, "--model_name_or_path", sft_run, "--max_steps", "2", "--synthetic_n",
                      "200", "--heldout_size", "50", "--per_device_train_batch_size", "16", "--rewards",
                      '{"accuracy": 1.0, "format": 0.1, "tag_count": 0.1}', *FAST, recipe="tiny/grpo"))
    log = json.loads((out / "trainer_state.json").read_text())["log_history"]
    for name in ("accuracy", "format", "tag_count"):
        assert f"rewards/{name}/mean" in log[0]
    assert len(list((out / "completions").glob("*.parquet"))) == 2
    before, after = weights(sft_run), weights(out)
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_bad_configs_fail_before_any_model_loads(tmp_path, monkeypatch):
    def no_loading(*a, **k):
        raise AssertionError("a model was loaded for a configuration that cannot work")
    monkeypatch.setattr("r1_budget.models.load_model_and_tokenizer", no_loading)
    base = ["--output_dir", tmp_path / "x", "--model_name_or_path", "tiny:tiny"]
    cases = [
        (["--synthetic_task", "countdown", "--rewards", '{"countdown": 1}', "--num_generations", "3"], "divisible by num_generations"),
        (["--synthetic_task", "multiply", "--rewards", '{"acuracy": 1}'], "unknown reward 'acuracy'"),
        (["--synthetic_task", "multiply", "--rewards", '{"format": -1}'], "must be a finite number >= 0"),
        (["--dataset", tmp_path / "missing.jsonl"], "no such file or folder"),
        (["--dataset", Path(__file__).parent / "fixtures" / "gsm8k.jsonl", "--rewards", '{"countdown": 1}'],
         "reward 'countdown' needs column(s) ['numbers', 'target']"),
    ]
    for extra, message in cases:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
            train_grpo(config("grpo", *base, *extra))


def test_sft_without_worked_solutions_is_refused(tmp_path):
    with pytest.raises(ValueError, match="SFT needs worked solutions"):
        train_sft(config("sft", "--output_dir", tmp_path / "x", "--model_name_or_path", "tiny:tiny",
                         "--dataset", Path(__file__).parent / "fixtures" / "prompt_only.jsonl", "--prompt_field", "query"))

# ---- the original project's README, as written (with local paths) -------------------------------------------------------------------

@pytest.fixture(scope="module")
def gpt2_like(tmp_path_factory):
    "A tiny model whose tokenizer has no chat template, like the original project's `gpt2` example."
    path = build_tiny_model(tmp_path_factory.mktemp("m") / "gpt2-like", size="tiny")
    cfg = json.loads((path / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (path / "tokenizer_config.json").write_text(json.dumps(cfg))
    (path / "chat_template.jinja").unlink(missing_ok=True)
    return path


@pytest.fixture(scope="module")
def seed_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    rows = [{"prompt": f"What is {a}*{b}?", "completion": f"<think>{a}*{b}={a * b}</think><answer>{a * b}</answer>"}
            for a, b in [(2, 3), (4, 5), (6, 7), (8, 9)]]
    (d / "your_sft_data.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (d / "your_grpo_prompts.jsonl").write_text("\n".join(json.dumps({"prompt": r["prompt"], "solution": r["completion"][-12:-9].strip(">")})
                                                         for r in rows))
    return d


def test_seed_readme_cli_examples_run_as_written(gpt2_like, seed_data, tmp_path):
    sft = cli("sft", "--model_name_or_path", gpt2_like, "--dataset_path", seed_data / "your_sft_data.jsonl",
              "--output_dir", tmp_path / "results/local_sft_run", "--use_lora", "False", "--training_args",
              '{"num_train_epochs": 1, "per_device_train_batch_size": 2, "logging_steps": 10, "save_steps": 50, "learning_rate": 5e-5}')
    assert sft.returncode == 0, sft.stderr[-3000:]
    assert "note: --dataset_path is now --dataset" in sft.stdout
    assert (tmp_path / "results/local_sft_run/model.safetensors").exists()
    grpo = cli("grpo", "--base_model_path", tmp_path / "results/local_sft_run", "--dataset_path",
               seed_data / "your_grpo_prompts.jsonl", "--output_dir", tmp_path / "results/local_grpo_run",
               "--use_lora", "False", "--reward_weights", '{"accuracy": 0.5, "format": 0.5}',
               "--grpo_config", '{"beta": 0.1, "num_train_epochs": 1, "batch_size": 1, "max_prompt_length": 128, '
                                '"max_completion_length": 16, "learning_rate": 1e-5, "logging_steps": 5}',
               "--dataset_prompt_field", "prompt")
    assert grpo.returncode == 0, grpo.stderr[-3000:]
    assert "per_device_train_batch_size counts completions: 8 (= batch_size × num_generations 8)" in grpo.stdout
    state = json.loads((tmp_path / "results/local_grpo_run/trainer_state.json").read_text())
    assert state["global_step"] == 4        # 4 prompts, one prompt (8 completions) per step, 1 epoch
    assert (tmp_path / "results/local_grpo_run/model.safetensors").exists()


def test_seed_config_dicts(tmp_path, seed_data):
    sft_config = {"model_name": "tiny:tiny", "dataset_name": str(seed_data / "your_sft_data.jsonl"), "max_seq_length": 1024,
                  "s3_output_path": "s3://<your-bucket>/<your-path>/sft_model/", "use_lora": True,
                  "lora_config": {"r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": ["q_proj", "v_proj"]},
                  "training_args": {"output_dir": str(tmp_path / "sft"), "num_train_epochs": 1, "per_device_train_batch_size": 4,
                                    "gradient_accumulation_steps": 4, "learning_rate": 2e-5, "logging_steps": 10, "save_steps": 50}}
    cfg = config_from_original(sft_config)
    assert (cfg.stage, cfg.model.use_peft, cfg.model.lora_r, cfg.model.lora_alpha, cfg.training.max_length) == ("sft", True, 8, 16, 1024)
    assert set(cfg.model.lora_target_modules) == {"q_proj", "v_proj"}
    assert any("s3_output_path" in n for n in cfg.notes)
    out = train_sft(cfg)                                        # LoRA trained, merged into the final model
    assert not (out / "adapter_config.json").exists() and (out / "model.safetensors").exists()
    grpo_config = {"base_model_path": str(out), "dataset_name": str(seed_data / "your_grpo_prompts.jsonl"),
                   "dataset_prompt_field": "prompt", "s3_output_path": "s3://<your-bucket>/<your-path>/grpo_model/",
                   "reward_function_weights": {"accuracy_cosine_scaled": 0.5, "format": 0.1, "reasoning": 0.15,
                                               "conciseness": 0.05, "repetition_penalty": 0.2},
                   "use_lora": True,
                   "training_args": {"output_dir": str(tmp_path / "grpo"), "num_train_epochs": 1, "per_device_train_batch_size": 4,
                                     "gradient_accumulation_steps": 4, "learning_rate": 1e-6, "logging_steps": 10, "save_steps": 50},
                   "grpo_args": {"num_iterations": 3, "num_generations": 2, "beta": 0.1, "max_prompt_length": 512,
                                 "max_completion_length": 512}}
    cfg = config_from_original(grpo_config)
    assert (cfg.stage, cfg.training.num_generations, cfg.training.num_iterations, cfg.training.beta) == ("grpo", 2, 3, 0.1)
    assert cfg.data.max_prompt_tokens == 512 and cfg.rewards.rewards["repetition_penalty"] == 0.2


def test_unknown_seed_key_names_the_closest_valid_one(tmp_path):
    with pytest.raises(ValueError, match=r"unknown option 'num_train_epoch' in the recipe; did you mean \['num_train_epochs'"):
        config_from_original({"model_name": "tiny:tiny", "dataset_name": "x", "training_args": {"num_train_epoch": 1, "output_dir": "o"}})

# ---- resume -------------------------------------------------------------------------------------------------------------

def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    out = tmp_path / "sft"
    args = ["sft", "--recipe", "tiny/sft", "--model_name_or_path", "tiny:base", "--output_dir", out, "--max_steps", "400",
            "--save_strategy", "steps", "--save_steps", "10", "--logging_steps", "10", "--synthetic_n", "300", "--heldout_size", "50"]
    proc = subprocess.Popen([str(BIN / "r1-budget"), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=ENV)
    deadline = time.time() + 300
    while time.time() < deadline and not (out / "checkpoint-20").exists() and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (out / "checkpoint-20").exists() and not (out / "config.json").exists(), "killed before the end: no final model"
    saved = max(int(p.name.split("-")[1]) for p in out.glob("checkpoint-*")
                if (p / "trainer_state.json").exists())
    r = cli(*args[:-6], "--max_steps", "60", "--synthetic_n", "300", "--heldout_size", "50", timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert f"resuming from {out}/checkpoint-{saved}" in r.stdout
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 60 and (out / "model.safetensors").exists()
    steps = [row["step"] for row in state["log_history"] if "loss" in row]
    assert steps == sorted(set(steps)) and steps[-1] == 60     # one continuous history, no step trained twice in the log

# ---- multi-process ----------------------------------------------------------------------------------------------------------

def test_grpo_under_accelerate_launch_with_two_processes(sft_run, tmp_path):
    out = tmp_path / "ddp"
    # `--cpu` with several processes needs MPI in accelerate; the torchrun-based launcher spawns them, and on a machine
    # without a GPU use_cpu (set by load_stage_config) makes them join over gloo.
    cmd = [str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "r1_budget.cli", "grpo", "--recipe", "tiny/grpo",
           "--model_name_or_path", str(sft_run), "--output_dir", str(out), "--max_steps", "2", "--synthetic_n", "200",
           "--heldout_size", "50", "--per_device_train_batch_size", "8", *FAST]
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    assert "[rank 0/2] grpo" in r.stdout and "[rank 1/2] grpo" in r.stdout
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 2
    assert [p.name for p in out.iterdir() if p.name.startswith((".final", "final"))] == []
    assert weights(out).keys() == weights(sft_run).keys()     # rank 0 wrote the whole model, once


@pytest.mark.skipif(torch.cuda.is_available(), reason="on GPUs accelerate does shard")
@pytest.mark.parametrize("var, flag", [("ACCELERATE_USE_FSDP", "--use_fsdp"), ("ACCELERATE_USE_DEEPSPEED", "--use_deepspeed")])
def test_sharding_launch_on_cpus_is_refused_not_ignored(var, flag, monkeypatch, tmp_path):
    "accelerate runs `--use_fsdp` on CPUs as unsharded DDP copies (MULTI_CPU); the stage stops before loading a model."
    monkeypatch.setenv(var, "true")   # what `accelerate launch --use_fsdp` / `--use_deepspeed` set in every process
    with pytest.raises(ValueError, match=f"`accelerate launch {flag}` needs GPUs"):
        load_stage_config("sft", "tiny/sft", {"output_dir": str(tmp_path / "run")})
    monkeypatch.setenv(var, "false")
    assert load_stage_config("sft", "tiny/sft", {"output_dir": str(tmp_path / "run")}).stage == "sft"


def test_health_callback_warns_once_per_problem_and_stops_on_nan():
    import warnings
    from r1_budget.train import TrainingHealthCallback

    class State: global_step = 3

    class Control: should_training_stop = False

    cb = TrainingHealthCallback(patience=3)
    healthy = {"loss": 0.5, "frac_reward_zero_std": 0.2, "completions/clipped_ratio": 0.1, "rewards/format/std": 0.4}
    sick = {"loss": 0.5, "frac_reward_zero_std": 1.0, "completions/clipped_ratio": 0.9, "rewards/format/std": 0.0,
            "rewards/format/mean": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logs in [healthy] * 5 + [sick, sick, healthy, sick, sick]:     # streaks broken by a healthy log
            cb.on_log(None, State, Control, logs)
        assert cb.warnings == []
        for _ in range(4):
            cb.on_log(None, State, Control, sick)
        assert len(cb.warnings) == 3                                          # zero spread, truncation, constant reward
        assert any("hit max_completion_length" in w for w in cb.warnings)
        assert not Control.should_training_stop
        cb.on_log(None, State, Control, {"loss": float("inf")})
    assert Control.should_training_stop and "loss is inf at step 3" in cb.warnings[-1]


def test_sft_loss_is_on_the_completion_only(tmp_path):
    from r1_budget.sft import build_sft_trainer
    cfg = load_stage_config("sft", "tiny/sft", {"output_dir": str(tmp_path / "sft"), "model_name_or_path": "tiny:tiny",
                                                "synthetic_n": 40, "heldout_size": 10})
    trainer, tok, n = build_sft_trainer(cfg)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
    for ids, labels in zip(batch["input_ids"], batch["labels"]):
        trained = tok.decode([t for t, l in zip(ids.tolist(), labels.tolist()) if l != -100])
        assert trained.startswith("<think>") and "<answer>" in trained and trained.rstrip().endswith("<|im_end|>")
        assert "<|im_start|>user" not in trained                      # the prompt is not trained on


# ---- saving the final model -----------------------------------------------------------------------------------------------

class _Accelerator:
    def __init__(self, main): self.is_main_process, self.waits = main, 0
    def wait_for_everyone(self): self.waits += 1


class _Trainer:
    "Records how the final model is saved: `Trainer.save_model` is the path that gathers sharded (FSDP, ZeRO-3) weights."
    def __init__(self, main, model):
        self.accelerator, self.model, self.saved = _Accelerator(main), model, []

    def save_model(self, path):
        self.saved.append(path)
        if self.accelerator.is_main_process: self.model.save_pretrained(path)


def test_final_model_is_saved_through_the_trainer_on_every_rank(tmp_path):
    from r1_budget.models import build_tiny_model, load_model_and_tokenizer
    from r1_budget.train import save_final_model
    model, tok = load_model_and_tokenizer(build_tiny_model(tmp_path / "init", size="tiny"))
    worker = _Trainer(main=False, model=model)
    assert save_final_model(worker, tok, tmp_path / "run") is None          # rank 1: joins the gather, writes nothing
    assert worker.saved == [str(tmp_path / "run" / ".final-staging")] and worker.accelerator.waits == 2
    main = _Trainer(main=True, model=model)
    out = save_final_model(main, tok, tmp_path / "run", card=dict(stage="sft"))
    assert main.saved == [str(tmp_path / "run" / ".final-staging")]
    assert out == tmp_path / "run" and not (out / ".final-staging").exists()
    again, _ = load_model_and_tokenizer(out)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    assert "\n- sft\n" in (out / "README.md").read_text()                      # the card names the stage


# --- the materialized LM head (cpu_lm_head.materialize_lm_head): edge cases beside its chapter's checks ---

@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("head") / "tiny", size="tiny")


def _fused(path, **config):
    from transformers import AutoModelForCausalLM
    from trl.trainer.utils import add_fused_lm_head
    model = AutoModelForCausalLM.from_pretrained(path, **config)
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    return model


def _batch(model, rows=3, length=10, scored=4):
    torch.manual_seed(1)
    ids = torch.randint(0, model.config.vocab_size, (rows, length))
    return ids, ids.masked_fill(torch.arange(length) < length - scored, -100)


def test_materialized_head_hands_large_calls_to_trls_tiles(tiny_dir, monkeypatch):
    import trl.trainer.utils as trl_utils
    from types import SimpleNamespace
    import r1_budget.cpu_lm_head as head
    tiled_calls = []
    real = trl_utils._ChunkedLogProbFunction

    class Spy:
        @staticmethod
        def apply(*args):
            tiled_calls.append(args[0].shape[0])
            return real.apply(*args)
    monkeypatch.setattr(trl_utils, "_ChunkedLogProbFunction", Spy)
    model = _fused(tiny_dir)
    assert head.materialize_lm_head(SimpleNamespace(model=model))
    ids, labels = _batch(model)
    small = model(input_ids=ids, labels=labels, fused_lm_head=True)
    assert tiled_calls == []                                        # 12 scored tokens: whole logits
    monkeypatch.setattr(head, "MATERIALIZED_LOGITS_MAX", 11 * model.config.vocab_size)
    large = model(input_ids=ids, labels=labels, fused_lm_head=True)
    assert tiled_calls == [ids.shape[0] * (ids.shape[1] - 1)]       # over the limit: TRL's tiles, every position
    assert torch.allclose(small.log_probs, large.log_probs, atol=1e-5) and torch.equal(small.is_top1, large.is_top1)


def test_materialized_head_leaves_generation_and_plain_calls_alone(tiny_dir):
    from types import SimpleNamespace
    from r1_budget.cpu_lm_head import materialize_lm_head
    model, reference = _fused(tiny_dir), _fused(tiny_dir)
    assert materialize_lm_head(SimpleNamespace(model=model))
    ids, labels = _batch(model)
    assert torch.equal(model(input_ids=ids).logits, reference(input_ids=ids).logits)
    assert torch.allclose(model(input_ids=ids, labels=labels).loss, reference(input_ids=ids, labels=labels).loss)
    greedy = dict(max_new_tokens=5, do_sample=False, pad_token_id=0)
    assert torch.equal(model.generate(ids[:, :4], **greedy), reference.generate(ids[:, :4], **greedy))


def test_materialized_head_trains_lora_adapters(tiny_dir):
    from types import SimpleNamespace
    from peft import LoraConfig, get_peft_model
    from r1_budget.cpu_lm_head import materialize_lm_head
    from transformers import AutoModelForCausalLM
    from trl.trainer.utils import add_fused_lm_head
    base = AutoModelForCausalLM.from_pretrained(tiny_dir)
    add_fused_lm_head(base, outputs=("log_probs", "entropy"))   # TRL patches the base model before wrapping
    model = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    assert materialize_lm_head(SimpleNamespace(model=model))
    assert model.get_base_model().forward.materialized_lm_head
    ids, labels = _batch(base)
    model(input_ids=ids, labels=labels, fused_lm_head=True).loss.backward()
    grads = [p.grad for n, p in model.named_parameters() if "lora_" in n]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("case", ["not patched by TRL", "soft-capped logits", "not on a CPU"])
def test_materialized_head_is_not_applied_where_it_would_differ(tiny_dir, case):
    from types import SimpleNamespace
    from transformers import AutoModelForCausalLM
    from r1_budget.cpu_lm_head import materialize_lm_head
    if case == "not patched by TRL": model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    else: model = _fused(tiny_dir)
    if case == "soft-capped logits": model.config.final_logit_softcapping = 30.0
    if case == "not on a CPU": model.to("meta")
    before = model.forward
    assert materialize_lm_head(SimpleNamespace(model=model)) is False
    assert model.forward == before
