"""The GPU check: the Qwen recipes at Qwen2.5-0.5B-Instruct's real shape for a few steps on one GPU, in minutes.

Prepared for the day a GPU is lent: nothing comes from the Hub (the architecture is built with random weights, the
data is generated in each recipe's schema by tests/fixtures/long_rows.py), every run is its own process (so its
peak memory is its own), and the check starts no run once `--budget-minutes` (default 8) is spent and stops a
running one two minutes after it.
For each recipe as shipped it measures seconds per optimizer step (the median after the first, which also pays
for warm-up), tokens per second and peak GPU memory — the tuned GRPO recipe with vLLM colocated where vLLM is
installed (`make install EXTRAS=vllm`), and again with transformers generation for comparison — then
projects each shipped Qwen recipe's full run: steps (`r1_budget.sagemaker.planned_steps`), hours at the measured
pace, and on-demand dollars on the SageMaker instances that carry this kind of GPU (only those: a pace measured on
one GPU says nothing about another kind's).

Random weights never end a completion, so every GRPO completion runs to max_completion_length: the GRPO figures
are an upper bound on a real model's, which stops early. The tokenizer is the embedded byte-level one (the real
Qwen tokenizer needs the Hub).

    benchmarks/gpu_check.sh [--steps 2] [--recipes grpo-tuned,sft-tuned,grpo,sft] [--out runs/gpu-check]

`--allow-cpu --model-size tiny` runs the same flow on a CPU with the small stand-in model (the tests do).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
RECIPES = ("grpo-tuned", "sft-tuned", "grpo", "sft")   # most informative first: the budget may end the list early
GRACE_S = 120   # a run started inside the budget may finish this long after it; then it is stopped
# SageMaker instances by the GPU they carry (the device name torch reports contains the key)
INSTANCES_BY_GPU = {"A10G": ("ml.g5.xlarge", "ml.g5.2xlarge", "ml.g5.12xlarge", "ml.g5.48xlarge"),
                    "L40S": ("ml.g6e.xlarge", "ml.g6e.12xlarge", "ml.g6e.48xlarge"),
                    "L4": ("ml.g6.xlarge", "ml.g6.12xlarge", "ml.g6.48xlarge"),
                    "A100": ("ml.p4d.24xlarge",), "H100": ("ml.p5.48xlarge",)}


def instances_for(gpu_name: str) -> tuple:
    "The SageMaker instance types that carry the GPU called `gpu_name` (none for a GPU no priced instance has)."
    return next((types for key, types in INSTANCES_BY_GPU.items() if key in gpu_name), ())


def plan_runs(recipes: list, gpu: bool, vllm_installed: bool) -> list:
    "(recipe, --vllm value for real_shape.py, what the run is): each recipe as shipped, plus vLLM's comparison leg."
    from r1_budget.config import read_recipe
    runs = []
    for recipe in recipes:
        shipped_vllm = bool(read_recipe(f"qwen2.5-0.5b-instruct/{recipe}").get("use_vllm"))
        if recipe.startswith("sft") or not shipped_vllm: runs.append((recipe, None, "as shipped"))
        elif gpu and vllm_installed:
            runs += [(recipe, "True", "as shipped"), (recipe, "False", "comparison: transformers generation")]
        else: runs.append((recipe, "False", "use_vllm false: vLLM not available here"))
    return runs


def projections(rows: list, gpu_name: str) -> list:
    "For each recipe's first run (as shipped, or its stand-in): steps, hours, and dollars on the instances with this GPU."
    from r1_budget.sagemaker import HUB_ROWS, instance_gpus, planned_steps, project_run
    out = []
    for recipe in dict.fromkeys(r["recipe"] for r in rows):
        run = next(r for r in rows if r["recipe"] == recipe)
        name = f"qwen2.5-0.5b-instruct/{recipe}"
        entry = dict(recipe=recipe, seconds_per_step=run["seconds_per_step"], use_vllm=run["use_vllm"],
                     run=run.get("run", "as shipped"), steps_one_gpu=planned_steps(name),
                     hours_one_gpu=round(planned_steps(name) * run["seconds_per_step"] / 3600, 2),
                     instances=[project_run(name, run["seconds_per_step"], t) for t in instances_for(gpu_name)],
                     note="every row of the dataset; fewer after the length filter" if recipe == "sft-tuned" else
                          f"{HUB_ROWS[read_dataset(name)]:,} rows" if read_dataset(name) in HUB_ROWS else "")
        assert all(i["gpus"] == instance_gpus(i["instance_type"]) for i in entry["instances"])
        out.append(entry)
    return out


def read_dataset(name: str) -> str:
    from r1_budget.config import read_recipe
    return read_recipe(name).get("dataset", "")


def report(result: dict) -> str:
    "The check's figures as text: one line per run, then the projections."
    lines = [f"GPU check on {result['machine']}; vLLM: {result['vllm'] or 'not installed'}; "
             f"{result['steps']} step(s) per run; model: {result['model']}", "",
             f"{'recipe':<11} {'generation':<13} {'s/step':>8} {'1st step':>9} {'tokens/s':>9} {'peak GiB':>9} "
             f"{'GiB in use at end':>18}   run"]
    for r in result["runs"]:
        gen = "-" if r["recipe"].startswith("sft") else ("vLLM colocate" if r["use_vllm"] else "transformers")
        dev = f"{r['device_used_gib']:.1f}" if r.get("device_used_gib") is not None else "-"
        first = f"{r['first_step_seconds']:.1f}" if r.get("first_step_seconds") is not None else "-"
        lines.append(f"{r['recipe']:<11} {gen:<13} {r['seconds_per_step']:>8.1f} {first:>9} {r['tokens_per_second']:>9.0f} "
                     f"{r['peak_gib']:>9.1f} {dev:>18}   {r.get('run', 'as shipped')}")
    for s in result["skipped"]: lines.append(f"skipped: {s}")
    lines += ["", "Projected full runs at the measured pace (s/step after the first step; upper bounds for GRPO: random",
              "weights never stop early):"]
    for p in result["projections"]:
        gen = "" if p["recipe"].startswith("sft") else f", {'vLLM' if p['use_vllm'] else 'transformers'} generation"
        lines.append(f"  {p['recipe']} ({p['run']}{gen}; {p['note']}): {p['steps_one_gpu']:,} steps on one GPU, "
                     f"{p['hours_one_gpu']} h"
                     + "".join(f"; {i['instance_type']} ({i['gpus']} GPU): {i['steps']:,} steps, {i['hours']} h, "
                               f"${i['usd']}" for i in p["instances"]))
    if not any(p["instances"] for p in result["projections"]):
        lines.append("  no SageMaker price for this GPU: dollars need a run on the instance's own kind of GPU")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2, help="optimizer steps per run (default 2)")
    ap.add_argument("--recipes", default=",".join(RECIPES), help="Qwen recipes, in order (default: %(default)s)")
    ap.add_argument("--budget-minutes", type=float, default=8.0, help="start no run after this long (default 8)")
    ap.add_argument("--out", default="runs/gpu-check", help="folder for result.json and report.txt")
    ap.add_argument("--completion-tokens", type=int, help="GRPO: override max_completion_length (printed)")
    ap.add_argument("--allow-cpu", action="store_true", help="run without a GPU (tests; CPU figures, no projections "
                                                             "in dollars)")
    ap.add_argument("--model-size", choices=("real", "tiny"), default="real",
                    help="real: Qwen2.5-0.5B's shape; tiny: the small stand-in (tests)")
    args = ap.parse_args(argv)
    import torch
    unknown = [r for r in args.recipes.split(",") if r not in RECIPES]
    if unknown: sys.exit(f"unknown recipe(s) {unknown}; valid: {', '.join(RECIPES)}")
    gpu = torch.cuda.is_available()
    if not gpu and not args.allow_cpu:
        sys.exit("no CUDA GPU visible: this check measures GPU figures (--allow-cpu runs the flow on a CPU)")
    import importlib.util
    vllm = None
    if gpu and importlib.util.find_spec("vllm"):
        from importlib.metadata import version
        vllm = version("vllm")
    from real_shape import build_model, machine
    start, out = time.monotonic(), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs, skipped = [], []
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        if args.model_size == "real": model = build_model(work / "qwen2.5-0.5b-shape")
        else:
            from r1_budget.models import build_tiny_model
            model = build_tiny_model(work / "stand-in", task="all", size="tiny")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        for recipe, use_vllm, what in plan_runs(args.recipes.split(","), gpu, bool(vllm)):
            label = f"{recipe}{' with vLLM' if use_vllm == 'True' else ''} ({what})"
            left = 60 * args.budget_minutes - (time.monotonic() - start)
            if left <= 0:
                skipped.append(f"{label}: the budget of {args.budget_minutes:g} minutes was spent")
                continue
            cmd = [sys.executable, str(ROOT / "benchmarks" / "real_shape.py"), "--one", recipe, "--model",
                   str(model), "--work", str(work), "--steps", str(args.steps)]
            cmd += (["--vllm", use_vllm] if use_vllm else []) + \
                   (["--completion-tokens", str(args.completion_tokens)] if args.completion_tokens else [])
            print(f"running {label} ...", file=sys.stderr, flush=True)
            log = out / f"{recipe}-{'vllm' if use_vllm == 'True' else 'shipped' if use_vllm is None else 'hf'}.log"
            try: done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=left + GRACE_S)
            except subprocess.TimeoutExpired as e:
                log.write_text((e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else
                               (e.stderr or ""))
                skipped.append(f"{label}: stopped after the budget (+{GRACE_S} s); its log: {log}")
                continue
            line = next((l for l in done.stdout.splitlines() if l.startswith("FIGURES ")), None)
            if done.returncode or line is None:
                log.write_text(done.stderr)
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                skipped.append(f"{label} failed: {last} (whole log: {log})")
                continue
            runs.append({**json.loads(line[len("FIGURES "):]), "run": what})
            print(f"  {label}: {runs[-1]['seconds_per_step']:.1f} s/step", file=sys.stderr, flush=True)
    gpu_name = torch.cuda.get_device_name(0) if gpu else "no GPU"
    result = dict(machine=machine(), gpu=gpu_name, vllm=vllm, steps=args.steps, model=args.model_size, runs=runs,
                  skipped=skipped, projections=projections(runs, gpu_name) if runs else [],
                  wall_seconds=round(time.monotonic() - start, 1))
    (out / "result.json").write_text(json.dumps(result, indent=2))
    text = report(result)
    (out / "report.txt").write_text(text + "\n")
    print(text)
    return 0 if runs else 1


if __name__ == "__main__":
    sys.exit(main())
