"""GRPO step time: `r1-budget grpo` against a bare TRL `GRPOTrainer` script, same model, data and settings.

Both run the tiny recipe's settings on the embedded tiny model (size "base") for the same number of steps, each in
its own process, alternating, and report the trainer's own train_runtime per step (model loading and saving
excluded) and the whole process's wall time. Target: r1_budget's overhead under 5% per step.

    .venv/bin/python benchmarks/grpo_step.py [--steps 30] [--repeats 3]
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE = r'''
import json, sys, time
from trl import GRPOConfig, GRPOTrainer
from transformers import AutoModelForCausalLM, AutoTokenizer
from r1_budget.tasks import make_synthetic_dataset
from r1_budget.data import train_test_split
from r1_budget.rewards import accuracy_reward, format_reward
model_dir, out, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
ds = train_test_split(make_synthetic_dataset("multiply", 720, 0, 2, system_prompt=None), test_size=200, seed=0)["train"]
args = GRPOConfig(output_dir=out, num_generations=8, per_device_train_batch_size=64, max_completion_length=40,
                  temperature=1.0, beta=0.0, learning_rate=1e-4, max_steps=steps, logging_steps=10, save_strategy="no",
                  report_to="none", gradient_checkpointing=False, bf16=False, use_cpu=True, seed=0, reward_weights=[1.0, 0.1])
trainer = GRPOTrainer(model=AutoModelForCausalLM.from_pretrained(model_dir, dtype="float32"),
                      reward_funcs=[accuracy_reward, format_reward], args=args, train_dataset=ds,
                      processing_class=AutoTokenizer.from_pretrained(model_dir))
trainer.train()
trainer.save_model(out + "/final")
print("RUNTIME", trainer.state.log_history[-1]["train_runtime"])
'''


def run(cmd):
    start = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr[-3000:]}")
    return wall, r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from r1_budget.models import build_tiny_model
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        model = build_tiny_model(d / "tiny-base-multiply-init", size="base")     # what tiny:base resolves to
        ours, bare = [], []
        for i in range(args.repeats):
            out = d / f"ours{i}"
            wall, _ = run([str(bin_dir / "r1-budget"), "grpo", "--recipe", "tiny/grpo", "--model_name_or_path", str(model),
                           "--output_dir", str(out), "--max_steps", str(args.steps), "--save_strategy", "no",
                           "--log_completions", "False"])
            state = json.loads((out / "trainer_state.json").read_text())
            ours.append((state["log_history"][-1]["train_runtime"] / args.steps, wall))
            wall, stdout = run([sys.executable, "-c", BARE, str(model), str(d / f"bare{i}"), str(args.steps)])
            runtime = float(stdout.split("RUNTIME")[-1])
            bare.append((runtime / args.steps, wall))
    o_step, b_step = statistics.median(s for s, _ in ours), statistics.median(s for s, _ in bare)
    o_wall, b_wall = statistics.median(w for _, w in ours), statistics.median(w for _, w in bare)
    print(f"GRPO, tiny 'base' model, {args.steps} steps x {args.repeats} runs each (median)")
    print(f"{'':28}{'s per step':>12}{'process wall s':>16}")
    print(f"{'bare TRL GRPOTrainer':28}{b_step:12.3f}{b_wall:16.1f}")
    print(f"{'r1-budget grpo':28}{o_step:12.3f}{o_wall:16.1f}")
    print(f"overhead per step: {100 * (o_step / b_step - 1):+.1f}% (target < 5%); whole process: {100 * (o_wall / b_wall - 1):+.1f}%")


if __name__ == "__main__":
    main()
