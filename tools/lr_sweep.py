"""SFT learning rates for SmolLM2-135M-Instruct, LoRA against full fine-tuning, scored on the recipe's held-out problems.

Each configuration trains the real-model chapter's SFT stage (`smollm2/sft`, LoRA r16 on all linear layers) with one
learning rate and training seed, then evaluates greedily on its 200 held-out problems exactly as the demo does
(`pipeline.DEMO_EVAL`). Results are appended to `OUT/results.jsonl` as each run finishes, so a long sweep is never
all-or-nothing; a configuration already there is skipped.

    .venv/bin/python tools/lr_sweep.py OUT [--seeds 0,1] [--lora 5e-5,2e-4,8e-4] [--full 2e-5]

About 9 minutes a run on 2 CPU cores (SFT ~8, evaluation ~1).
"""
import argparse
import contextlib
import io
import json
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
import datasets, transformers  # noqa: E402
datasets.disable_progress_bars(); transformers.utils.logging.disable_progress_bar()
from r1_budget.config import load_stage_config  # noqa: E402
from r1_budget.evaluate import evaluate  # noqa: E402
from r1_budget.pipeline import DEMO_EVAL  # noqa: E402
from r1_budget.sft import train_sft  # noqa: E402
from r1_budget.train import stage_datasets  # noqa: E402

MODEL = "smollm2-135m-instruct"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--lora", default="5e-5,2e-4,8e-4", help="LoRA learning rates")
    ap.add_argument("--full", default="2e-5", help="full fine-tuning learning rates")
    args = ap.parse_args()
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    done = {(r["method"], r["learning_rate"], r["seed"]) for r in map(json.loads, results.read_text().splitlines())} \
        if results.exists() else set()
    plan = [("lora", float(lr)) for lr in args.lora.split(",") if lr] + [("full", float(lr)) for lr in args.full.split(",") if lr]
    for seed in map(int, args.seeds.split(",")):
        for method, lr in plan:
            if (method, lr, seed) in done: continue
            name = f"{method}-{lr:g}-seed{seed}"
            cfg = load_stage_config("sft", "smollm2/sft", dict(output_dir=str(out / name), learning_rate=lr, seed=seed,
                                                              use_peft=method == "lora", disable_tqdm=True))
            start = time.time()
            with contextlib.redirect_stdout(io.StringIO()):
                run = train_sft(cfg)
            trained = time.time() - start
            held = stage_datasets(cfg.data)["heldout"]
            m = evaluate(run, held, out_dir=out / name / "eval", progress=False, **DEMO_EVAL[MODEL])
            state = json.loads((run / "trainer_state.json").read_text())
            row = dict(method=method, learning_rate=lr, seed=seed, strict_accuracy=m["strict_accuracy"],
                       strict_accuracy_stderr=m["strict_accuracy_stderr"], lenient_accuracy=m["lenient_accuracy"],
                       format_rate=m["format_rate"], n=m["n"], train_loss=state["log_history"][-1].get("train_loss"),
                       train_seconds=round(trained, 1), eval_seconds=round(time.time() - start - trained, 1))
            with open(results, "a") as f: f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
            for p in (out / name).glob("model*.safetensors"): p.unlink()   # keep the logs and samples, not weights


if __name__ == "__main__":
    main()
