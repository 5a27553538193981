"""Store a demo sweep's results (or one demo run's) beside the chapters, for the chapter that shows them.

    .venv/bin/python tools/store_results.py runs/smollm2-seeds assets/smollm2-seeds
    .venv/bin/python tools/store_results.py runs/tour-0 assets/demo-tour --samples 20    # one run: the tour chapter

A sweep (`r1-budget demo --seeds ...`) writes checkpoints and logs of several gigabytes; a chapter needs its figures.
This copies the sweep's `summary.json` and seed plot, each seed's `summary.json`, the first seed's plots, and the
first seed's completions of each stage on the held-out problems (`samples.json`), a few hundred kilobytes in all. For one
run (`r1-budget demo --seed 0`), its summary, plots and samples, and GRPO's logged groups at a few steps
(`grpo-groups.json`: every completion with its rewards and the advantage TRL gave it). Then re-run the chapter (`jupyter nbconvert --to notebook --execute --inplace nbs/10c_real_model.ipynb`, then
`nbdev-clean`) so its stored outputs show the new results.
"""
import argparse
import json
import shutil
import sys
from pathlib import Path

STAGES = ("base", "sft", "grpo")


def _samples(seed_dir: Path, n: int | None) -> list[dict]:
    "The first `n` held-out problems (all: None), each with its gold answer and every stage's completion and verdict."
    by_stage = {s: [json.loads(line) for line in (seed_dir / "eval" / s / "samples.jsonl").read_text().splitlines()[:n]]
                for s in STAGES}
    return [dict(problem=rows[0]["prompt"][-1]["content"], gold=rows[0]["gold"],
                 **{s: dict(completion=by_stage[s][i]["completion"], strict=by_stage[s][i]["strict"],
                            lenient=by_stage[s][i]["lenient"]) for s in STAGES})
            for i, rows in enumerate(zip(*by_stage.values()))]


GROUP_STEPS = (10, 50, 100, 180)   # GRPO steps whose logged groups a single run's store keeps


def store_run(run: Path, dest: Path, n_samples: int | None = None) -> list[Path]:
    "One demo run: summary, plots, held-out samples, and GRPO's logged groups at GROUP_STEPS."
    import pandas as pd
    dest.mkdir(parents=True, exist_ok=True)
    copies = {run / "summary.json": "summary.json", run / "plots" / "comparison.png": "comparison.png",
              run / "sft" / "plots" / "training.png": "sft-training.png",
              run / "grpo" / "plots" / "training.png": "grpo-training.png",
              run / "grpo" / "trainer_state.json": "grpo-trainer_state.json",
              run / "sft" / "trainer_state.json": "sft-trainer_state.json"}
    written = []
    for src, name in copies.items():
        shutil.copyfile(src, dest / name); written.append(dest / name)
    (dest / "samples.json").write_text(json.dumps(_samples(run, n_samples), indent=1, ensure_ascii=False))
    groups = []
    for step in GROUP_STEPS:
        f = run / "grpo" / "completions" / f"completions_{step:05d}.parquet"
        if f.exists():
            df = pd.read_parquet(f)
            groups += json.loads(df.to_json(orient="records", force_ascii=False))
    (dest / "grpo-groups.json").write_text(json.dumps(groups, indent=0, ensure_ascii=False))
    return written + [dest / "samples.json", dest / "grpo-groups.json"]


def store(run: Path, dest: Path, n_samples: int | None = None) -> list[Path]:
    sweep = json.loads((run / "summary.json").read_text())
    if "rows" not in sweep: return store_run(run, dest, n_samples)
    dest.mkdir(parents=True, exist_ok=True)
    first = run / f"seed-{sweep['seeds'][0]}"
    copies = {run / "summary.json": "summary.json", run / "plots" / "seeds.png": "seeds.png",
              first / "plots" / "comparison.png": "comparison.png",
              first / "sft" / "plots" / "training.png": "sft-training.png",
              first / "grpo" / "plots" / "training.png": "grpo-training.png",
              **{run / f"seed-{s}" / "summary.json": f"seed-{s}.json" for s in sweep["seeds"]}}
    written = []
    for src, name in copies.items():
        shutil.copyfile(src, dest / name); written.append(dest / name)
    (dest / "samples.json").write_text(json.dumps(_samples(first, n_samples), indent=1, ensure_ascii=False))
    return written + [dest / "samples.json"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a sweep's or a run's directory (r1-budget demo [--seeds ...] --out RUN)")
    ap.add_argument("dest", type=Path, help="where the chapter reads them, e.g. assets/smollm2-seeds")
    ap.add_argument("--samples", type=int, default=None, help="held-out problems whose completions are kept (all)")
    args = ap.parse_args()
    for p in store(args.run, args.dest, args.samples): print(f"{p} ({p.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    sys.exit(main())
