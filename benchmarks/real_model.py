"""The real model on a CPU: SmolLM2-135M-Instruct, each stage as the demo runs it beside TRL's trainers as shipped.

Per stage (SFT, GRPO) and variant, a fresh process trains a few steps and reports seconds per optimizer step (median
after the first), tokens per second (prompt and completion tokens the trainer counted) and the process's peak memory.

- **ours**: `build_sft_trainer` / `build_grpo_trainer` on the `smollm2/sft` and `smollm2/grpo` recipes.
- **TRL as shipped**: `SFTTrainer` / `GRPOTrainer` with their default configuration (gradient checkpointing on, one
  micro-batch per step, no system message: SmolLM2's chat template then adds its own), given only what the
  workload needs to be the same one: the model, the rows, LoRA r16 on all linear layers, the learning rate, the batch
  (prompts, completions per prompt, maximum lengths) and the rewards.

Both GRPO variants start from the same model (`--grpo-model`, default the converted base model, whose completions
run to the length cap: the slowest case; give a demo's `sft/` folder for the demo's case). The share of a GRPO step spent
generating comes from timing `generate`; the profiles that follow (separate runs of two steps, as the profiler costs
time and memory) list the operators that take the time in the second step of each stage and variant.

    make smollm2 && .venv/bin/python benchmarks/real_model.py [--steps 4] [--grpo-model runs/smollm2/sft]
"""
import argparse
import contextlib
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

NAME = "smollm2-135m-instruct"


def _rows(stage_cfg, n, keep_system):
    from r1_budget.train import stage_datasets
    rows = stage_datasets(stage_cfg.data)["train"].select(range(n))
    if keep_system: return rows
    return rows.map(lambda r: {"prompt": [m for m in r["prompt"] if m["role"] != "system"]})


def _trainer(stage, variant, model, out, steps):
    "A trainer for `steps` optimizer steps of `stage`, built our way or TRL's way, on the same rows and batch."
    from r1_budget.config import load_stage_config
    cfg = load_stage_config(stage, f"smollm2/{stage}", dict(model_name_or_path=model, output_dir=out, max_steps=steps,
                                                              logging_steps=1, disable_tqdm=True, log_completions=False)
                            if stage == "grpo" else
                            dict(model_name_or_path=model, output_dir=out, max_steps=steps, logging_steps=1,
                                 disable_tqdm=True))
    t = cfg.training
    n = steps * t.per_device_train_batch_size * t.gradient_accumulation_steps
    if variant == "ours":
        from r1_budget.grpo import build_grpo_trainer
        from r1_budget.sft import build_sft_trainer
        return (build_sft_trainer if stage == "sft" else build_grpo_trainer)(cfg, _rows(cfg, n, True))[0]
    from peft import LoraConfig
    from trl import GRPOConfig, GRPOTrainer, SFTConfig, SFTTrainer
    lora = LoraConfig(r=cfg.model.lora_r, lora_alpha=cfg.model.lora_alpha, target_modules="all-linear",
                      task_type="CAUSAL_LM")
    common = dict(output_dir=out, max_steps=steps, logging_steps=1, learning_rate=t.learning_rate, use_cpu=True,
                  bf16=False, report_to="none", save_strategy="no", disable_tqdm=True)
    if stage == "sft":
        args = SFTConfig(per_device_train_batch_size=t.per_device_train_batch_size * t.gradient_accumulation_steps,
                         max_length=t.max_length, **common)
        return SFTTrainer(model=model, args=args, train_dataset=_rows(cfg, n, False), peft_config=lora)
    from r1_budget.rewards import accuracy_reward, format_reward
    prompts = t.per_device_train_batch_size * t.gradient_accumulation_steps // t.num_generations
    args = GRPOConfig(per_device_train_batch_size=prompts * t.num_generations, num_generations=t.num_generations,
                      max_completion_length=t.max_completion_length, reward_weights=[1.0, 0.1], **common)
    return GRPOTrainer(model=model, reward_funcs=[accuracy_reward, format_reward], args=args,
                       train_dataset=_rows(cfg, steps * prompts, False), peft_config=lora)


def one(stage, variant, model, steps, profile):
    "Train; print one JSON line: s/step, tokens/s, peak memory (and the profile, when asked)."
    import torch
    import transformers
    from transformers import TrainerCallback
    from r1_budget.report import peak_memory_gib
    ticks, generating = [], [0.0]
    generate = transformers.GenerationMixin.generate
    def timed_generate(self, *args, **kwargs):
        start = time.perf_counter()
        try: return generate(self, *args, **kwargs)
        finally: generating[0] += time.perf_counter() - start
    transformers.GenerationMixin.generate = timed_generate
    prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) if profile else None
    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            if prof and state.global_step == 1: prof.__enter__()
        def on_step_end(self, args, state, control, **kw):
            ticks.append((time.perf_counter(), generating[0]))
            if prof and state.global_step == 2: prof.__exit__(None, None, None)
    with tempfile.TemporaryDirectory() as d:
        trainer = _trainer(stage, variant, model, d, steps)
        trainer.add_callback(Clock())
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()): trainer.train()
    logs = [e for e in trainer.state.log_history if "num_tokens" in e]
    steps_s = [b[0] - a[0] for a, b in zip(ticks, ticks[1:])]
    gen_s = [b[1] - a[1] for a, b in zip(ticks, ticks[1:])]
    result = dict(stage=stage, variant=variant, s_per_step=statistics.median(steps_s),
                  tokens_per_s=(logs[-1]["num_tokens"] - logs[0]["num_tokens"]) / (ticks[-1][0] - ticks[0][0]),
                  generation_share=sum(gen_s) / sum(steps_s), first_step_s=ticks[0][0] - start,
                  peak_memory_gib=peak_memory_gib(), threads=torch.get_num_threads())
    if prof: result["profile"] = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=8)
    print(json.dumps(result))


def _run(stage, variant, model, steps, profile=False):
    "`one` in a fresh process (its peak memory is the stage's own); its figures."
    cmd = [sys.executable, __file__, "--steps", str(steps), "--one", stage, variant, model] + ["--profile"] * profile
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode: sys.exit(f"{stage} {variant} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=4, help="optimizer steps per run (the first is not counted)")
    ap.add_argument("--grpo-model", help="model GRPO starts from (default: the converted base model)")
    ap.add_argument("--one", nargs=3, metavar=("STAGE", "VARIANT", "MODEL"), help=argparse.SUPPRESS)
    ap.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import datasets, transformers
    datasets.disable_progress_bars(); transformers.utils.logging.disable_progress_bar()
    if args.one: return one(*args.one[:2], args.one[2], args.steps, args.profile)
    from r1_budget.models import packaged_model
    from r1_budget.report import machine_line, machine_record
    print(machine_line(machine_record()))
    base = str(packaged_model(NAME))
    models = {"sft": base, "grpo": args.grpo_model or base}
    print(f"{'':6} {'variant':16} {'s/step':>7} {'tokens/s':>9} {'generating':>11} {'peak memory':>12}")
    results = {}
    for stage in ("sft", "grpo"):
        for variant in ("trl", "ours"):
            r = results[stage, variant] = _run(stage, variant, models[stage], args.steps)
            r["profile"] = _run(stage, variant, models[stage], 2, profile=True)["profile"]   # apart: it costs time
            label = "TRL as shipped" if variant == "trl" else "ours"
            print(f"{stage:6} {label:16} {r['s_per_step']:7.1f} {r['tokens_per_s']:9.0f} "
                  f"{100 * r['generation_share']:10.0f}% {r['peak_memory_gib']:8.1f} GiB", flush=True)
        trl, ours = results[stage, "trl"], results[stage, "ours"]
        print(f"{stage:6} {'TRL / ours':16} {trl['s_per_step'] / ours['s_per_step']:6.2f}x "
              f"{ours['tokens_per_s'] / trl['tokens_per_s']:8.2f}x {'':11} "
              f"{trl['peak_memory_gib'] / ours['peak_memory_gib']:8.2f}x", flush=True)
    print(f"\nmedians over {args.steps - 1} steps after the first; {results['sft', 'ours']['threads']} torch threads; "
          f"GRPO from {models['grpo']}")
    for (stage, variant), r in results.items():
        label = "TRL as shipped" if variant == "trl" else "ours"
        print(f"\nwhere the second {stage} step, {label}, spends its time (torch profiler, self CPU time):")
        print(r["profile"])


if __name__ == "__main__":
    sys.exit(main())
