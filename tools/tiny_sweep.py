"""One tiny SFT -> GRPO experiment, scored on the recipe's 200 held-out problems (groundwork for tuning the demo).

    .venv/bin/python tools/tiny_sweep.py NAME SFT_SAMPLES SFT_EPOCHS GRPO_STEPS GRPO_LR DIFFICULTY N [extra GRPO flags]

Runs `train_sft` and `train_grpo` with the tiny recipes and these overrides into /tmp/tiny-sweep/NAME, then prints
held-out strict accuracy after each stage, the sampled training accuracy GRPO logged, and the fraction of groups
with zero reward spread. Example: `tools/tiny_sweep.py e4 100000 16 300 1e-4 2 720` (about 2 minutes on 2 cores).
"""
import contextlib
import io
import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")
import datasets, transformers  # noqa: E402
datasets.disable_progress_bars(); transformers.utils.logging.disable_progress_bar()
from r1_budget.config import parse_config, recipe_path, stage_dataset  # noqa: E402
from r1_budget.evaluate import evaluate  # noqa: E402
from r1_budget.grpo import train_grpo  # noqa: E402
from r1_budget.sft import train_sft  # noqa: E402


def main(name, sft_samples, sft_epochs, grpo_steps, lr, difficulty, n, *extra):
    d = f"/tmp/tiny-sweep/{name}"
    common = ["--synthetic_difficulty", difficulty, "--synthetic_n", n, "--disable_tqdm", "True", "--save_strategy", "no"]
    held = stage_dataset(parse_config("sft", common[:4], recipe_path("tiny/sft")).data, "heldout")
    start = time.time()
    with contextlib.redirect_stdout(io.StringIO()):
        sft = train_sft(argv=["--output_dir", f"{d}/sft", "--max_samples", sft_samples, "--num_train_epochs", sft_epochs,
                              *common], recipe=recipe_path("tiny/sft"))
    m = evaluate(sft, held, max_new_tokens=48, batch_size=100, progress=False)
    print(f"{name} SFT  {time.time() - start:5.0f} s  held-out {m['strict_accuracy']:.3f}  format {m['format_rate']:.3f}", flush=True)
    start = time.time()
    with contextlib.redirect_stdout(io.StringIO()):
        grpo = train_grpo(argv=["--output_dir", f"{d}/grpo", "--model_name_or_path", str(sft), "--max_steps", grpo_steps,
                                "--learning_rate", lr, "--log_completions", "False", "--logging_steps", "25", *common, *extra],
                          recipe=recipe_path("tiny/grpo"))
    m = evaluate(grpo, held, max_new_tokens=48, batch_size=100, progress=False)
    log = json.loads((grpo / "trainer_state.json").read_text())["log_history"]
    acc = [round(r["rewards/accuracy/mean"], 2) for r in log if "rewards/accuracy/mean" in r]
    zero = [round(r["frac_reward_zero_std"], 2) for r in log if "frac_reward_zero_std" in r]
    print(f"{name} GRPO {time.time() - start:5.0f} s  held-out {m['strict_accuracy']:.3f}  format {m['format_rate']:.3f}\n"
          f"  sampled training accuracy {acc}\n  zero-spread groups {zero}")


if __name__ == "__main__":
    if len(sys.argv) < 8: sys.exit(__doc__)
    main(*sys.argv[1:])
