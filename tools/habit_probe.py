"""How firmly an SFT model holds its habit: on the tiny recipe's held-out problems, the probability that it starts the
worked trace rather than the bare answer right after `<think>` (`r1_budget.pipeline.habit_probabilities`), split by
whether the prompt asks for the work. Probabilities near 0.5 mean greedy decoding picks the habit by rounding noise, and
another CPU may pick the other one (see the pipeline chapter).

    .venv/bin/python tools/habit_probe.py RUN_DIR        # an SFT run's output_dir, e.g. runs/demo/sft
"""
import statistics
import sys

if __name__ == "__main__":
    if len(sys.argv) != 2: sys.exit(__doc__)
    from r1_budget.config import parse_config, recipe_path, stage_dataset
    from r1_budget.pipeline import habit_probabilities
    heldout = stage_dataset(parse_config("sft", ["--output_dir", sys.argv[1]], recipe_path("tiny/sft")).data, "heldout")
    habit = habit_probabilities(sys.argv[1], heldout)
    for kind, ps in habit.items():
        print(f"{kind:8} n={len(ps):3}  median p(worked) {statistics.median(ps):.2f}  between 0.4 and 0.6: "
              f"{sum(0.4 < p < 0.6 for p in ps) / len(ps):.0%}  greedy works: {sum(p > 0.5 for p in ps) / len(ps):.0%}")
