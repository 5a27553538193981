"""LM head on a CPU: TRL's tiled (fused) head against `cpu_lm_head.materialize_lm_head`'s whole logits, per step.

Both stages of the tiny recipes run a few steps, once with TRL's head and once with the materialized one,
alternating, each in a fresh trainer; the figure is the median wall time of a step after the first few. SFT starts
from the embedded model (size "base"); GRPO from `--grpo-model`, the demo's SFT model (an untrained model's
completions all run to `max_completion_length` and score nothing, so its steps are mostly sampling). The same
comparison for one forward and backward pass of the model on random tokens of a batch of the demo's shape (30
and 36 tokens scored per row) comes first.

    .venv/bin/python benchmarks/lm_head.py [--steps 40] [--repeats 2] [--grpo-model runs/demo/sft]
"""
import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import SimpleNamespace


def head_ms(model_dir, materialize, batch, length, labelled, temperature, repeats=20):
    "Median ms of one forward + backward of the model (through the fused head) on random tokens of that shape."
    import torch
    from transformers import AutoModelForCausalLM
    from trl.trainer.utils import add_fused_lm_head
    from r1_budget.cpu_lm_head import materialize_lm_head
    m = AutoModelForCausalLM.from_pretrained(model_dir)
    add_fused_lm_head(m, temperature=temperature, outputs=("log_probs", "entropy", "is_top1"))
    if materialize: assert materialize_lm_head(SimpleNamespace(model=m, temperature=temperature))
    torch.manual_seed(0)
    ids = torch.randint(0, m.config.vocab_size, (batch, length))
    labels = ids.masked_fill(torch.arange(length) < length - labelled, -100)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        m(input_ids=ids, labels=labels, fused_lm_head=True).loss.backward()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times[3:])


def step_ms(stage, overrides, recipe, materialize, skip=5):
    "Median ms of a training step of `stage` built from `recipe` + `overrides`, with or without the materialized head."
    import r1_budget.grpo as grpo, r1_budget.sft as sft
    from transformers import TrainerCallback
    from r1_budget.config import load_stage_config
    cfg = load_stage_config(stage, recipe, {**overrides, "materialize_lm_head": materialize})
    trainer = (sft.build_sft_trainer if stage == "sft" else grpo.build_grpo_trainer)(cfg)[0]
    ticks = []
    class Clock(TrainerCallback):
        def on_step_end(self, *args, **kwargs): ticks.append(time.perf_counter())
    trainer.add_callback(Clock())
    with contextlib.redirect_stdout(io.StringIO()): trainer.train()
    return statistics.median(1000 * (b - a) for a, b in zip(ticks[skip:], ticks[skip + 1:]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--grpo-model", help="model GRPO starts from, e.g. a demo's sft/ folder (default: the untrained "
                                         "embedded model)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import datasets, torch, transformers
    datasets.disable_progress_bars(); transformers.utils.logging.disable_progress_bar()
    from r1_budget.models import build_tiny_model
    from r1_budget.report import machine_line, machine_record
    print(machine_line(machine_record()))
    with tempfile.TemporaryDirectory() as d:
        model = str(build_tiny_model(Path(d) / "tiny-base-multiply-init", size="base"))
        print(f"{'':34} {'TRL tiled':>10} {'whole logits':>13} {'ratio':>6}")
        for name, shape in (("fwd+bwd, SFT batch 32 x 56", (32, 56, 30, 1.0)),
                            ("fwd+bwd, GRPO batch 64 x 60", (64, 60, 36, 1.0))):
            tiled, whole = head_ms(model, False, *shape), head_ms(model, True, *shape)
            print(f"{name:34} {tiled:8.1f} ms {whole:10.1f} ms {tiled / whole:5.2f}x", flush=True)
        common = dict(max_steps=args.steps, save_strategy="no", logging_steps=args.steps, disable_tqdm=True,
                      report_to="none")
        runs = {"SFT step (tiny/sft)": ("sft", dict(output_dir=f"{d}/sft", **common), "tiny/sft"),
                "GRPO step (tiny/grpo)": ("grpo", dict(output_dir=f"{d}/grpo", model_name_or_path=args.grpo_model or model,
                                                       log_completions=False, **common), "tiny/grpo")}
        for name, (stage, overrides, recipe) in runs.items():
            figures = {False: [], True: []}
            for _ in range(args.repeats):
                for materialize in (False, True):
                    figures[materialize].append(step_ms(stage, overrides, recipe, materialize))
            tiled, whole = (statistics.median(figures[k]) for k in (False, True))
            print(f"{name:34} {tiled:8.1f} ms {whole:10.1f} ms {tiled / whole:5.2f}x  "
                  f"(medians of {args.repeats} runs of {args.steps} steps, torch threads {torch.get_num_threads()})",
                  flush=True)
        print(f"GRPO started from {args.grpo_model or 'the untrained embedded model'}")


if __name__ == "__main__":
    sys.exit(main())
