"""One tiny SFT -> GRPO experiment, scored on the recipe's 200 held-out problems (groundwork for tuning the demo).

    .venv/bin/python tools/tiny_sweep.py NAME SFT_SAMPLES SFT_EPOCHS GRPO_STEPS GRPO_LR DIFFICULTY N [extra GRPO flags]

Runs `train_sft` and `train_grpo` with the tiny recipes and these overrides into /tmp/tiny-sweep/NAME, then prints
held-out strict accuracy after each stage (and how many greedy completions show their work), the sampled training
accuracy GRPO logged, and the fraction of groups with zero reward spread. SWEEP_SHORTCUT_RATE overrides the recipes'
synthetic_shortcut_rate. Example: `tools/tiny_sweep.py d3 100000 4 300 1e-4 3 7200` (about 3 minutes on 2 cores).
"""
import contextlib
import io
import json
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore")
import datasets, transformers  # noqa: E402
datasets.disable_progress_bars(); transformers.utils.logging.disable_progress_bar()
from r1_budget.config import load_stage_config  # noqa: E402
from r1_budget.evaluate import evaluate  # noqa: E402
from r1_budget.grpo import train_grpo  # noqa: E402
from r1_budget.sft import train_sft  # noqa: E402
from r1_budget.tasks import shows_work  # noqa: E402
from r1_budget.train import stage_datasets  # noqa: E402


def score(model, held, out):
    "Greedy held-out metrics, with how often the completions show their work."
    m = evaluate(model, held, max_new_tokens=48, batch_size=100, progress=False, out_dir=out,
                 traits={"shows_work": shows_work})
    return {**m, "shows_work": m["shows_work_rate"]}


def main(name, sft_samples, sft_epochs, grpo_steps, lr, difficulty, n, *extra):
    d = f"/tmp/tiny-sweep/{name}"
    data = dict(synthetic_difficulty=difficulty, synthetic_n=n)   # values as text: each option's type converts them
    if "SWEEP_SHORTCUT_RATE" in os.environ: data["synthetic_shortcut_rate"] = os.environ["SWEEP_SHORTCUT_RATE"]
    common = dict(data, disable_tqdm=True, save_strategy="no")
    held = stage_datasets(load_stage_config("sft", "tiny/sft", data).data)["heldout"]
    start = time.time()
    with contextlib.redirect_stdout(io.StringIO()):
        sft = train_sft(load_stage_config("sft", "tiny/sft", dict(common, output_dir=f"{d}/sft", max_samples=sft_samples,
                                                                   num_train_epochs=sft_epochs)))
    m = score(sft, held, f"{d}/sft-eval")
    print(f"{name} SFT  {time.time() - start:5.0f} s  held-out {m['strict_accuracy']:.3f}  format {m['format_rate']:.3f}"
          f"  shows work {m['shows_work']:.3f}", flush=True)
    start = time.time()
    with contextlib.redirect_stdout(io.StringIO()):
        extras = dict(zip((k.removeprefix("--") for k in extra[::2]), extra[1::2]))   # --name value pairs
        grpo = train_grpo(load_stage_config("grpo", "tiny/grpo", dict(
            common, output_dir=f"{d}/grpo", model_name_or_path=str(sft), max_steps=grpo_steps, learning_rate=lr,
            log_completions=False, logging_steps=25, **extras)))
    m = score(grpo, held, f"{d}/grpo-eval")
    log = json.loads((grpo / "trainer_state.json").read_text())["log_history"]
    acc = [round(r["rewards/accuracy/mean"], 2) for r in log if "rewards/accuracy/mean" in r]
    zero = [round(r["frac_reward_zero_std"], 2) for r in log if "frac_reward_zero_std" in r]
    print(f"{name} GRPO {time.time() - start:5.0f} s  held-out {m['strict_accuracy']:.3f}  format {m['format_rate']:.3f}"
          f"  shows work {m['shows_work']:.3f}\n"
          f"  sampled training accuracy {acc}\n  zero-spread groups {zero}")


if __name__ == "__main__":
    if len(sys.argv) < 8: sys.exit(__doc__)
    main(*sys.argv[1:])
