"""The main job on several seeds: is the demo's gain real, and does every seed meet every target?

Runs the full demo (`r1-budget demo`) once per seed, one after the other, as `r1-budget demo --seeds 0-9` does, and
prints one row per seed — held-out strict accuracy after SFT and GRPO, the gain with its standard error, SFT's format
rate, wall time, and the targets missed — then the mean, minimum and maximum, side by side with the targets
(`r1_budget.report.TARGETS`), and the CPU facts that make two machines' results differ. Not a test: 2 to 3
minutes a seed on 2 cores.

    .venv/bin/python benchmarks/demo_seeds.py [--seeds 0-9] [--out runs/demo-seeds] [--quick] [--assets]

`--assets` copies the sweep's summary and plot to assets/demo-seeds-summary.json and assets/demo-seeds.png, and its
first run's to assets/demo-summary.json and assets/demo-comparison.png: the README's tables and plots are rendered
from them (after `make readme`).
"""
import argparse
import json
import shutil
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-9", help="seeds and ranges, e.g. 0-9 or 0,2,5 (default 0-9, the README's)")
    ap.add_argument("--out", default=f"runs/demo-seeds-{time.strftime('%Y%m%d-%H%M%S')}", help="the sweep's directory")
    ap.add_argument("--quick", action="store_true", help="the tests' shorter schedule")
    ap.add_argument("--assets", action="store_true", help="copy the summary and plot into assets/ for the README")
    args = ap.parse_args()
    from r1_budget.pipeline import run_sweep
    from r1_budget.report import TARGETS
    TARGETS = TARGETS["tiny"]

    command = f"python benchmarks/demo_seeds.py --seeds {args.seeds}" + (" --quick" if args.quick else "")
    sweep = run_sweep(args.out, seeds=args.seeds, quick=args.quick, command=command)
    lo, hi = TARGETS["sft_accuracy_range"]
    print(f"\n{'seed':>6}{'SFT':>9}{'GRPO':>9}{'gain (pts)':>16}{'SFT format':>12}{'wall':>8}   targets")
    for r in sweep["rows"]:
        print(f"{r['seed']:>6}{100 * r['sft']:8.1f}%{100 * r['grpo']:8.1f}%{100 * r['gain']:+9.1f} ± {100 * r['gain_stderr']:3.1f}"
              f"{100 * r['sft_format']:11.1f}%{r['wall_seconds']:7.0f}s   {'all met' if r['targets_met'] else 'missed: ' + '; '.join(r['missed'])}")
    for stat in ("mean", "min", "max"):
        sp = sweep["spread"]
        print(f"{stat:>6}{100 * sp['sft'][stat]:8.1f}%{100 * sp['grpo'][stat]:8.1f}%{100 * sp['gain'][stat]:+9.1f}      "
              f"{'':12}{sp['wall_seconds'][stat]:7.0f}s")
    print(f"{'target':>6}{f'{lo:.0%}-{hi:.0%}':>9}{'':>9}{'>= +' + format(100 * TARGETS['grpo_gain_min'], '.0f') + ', > 2 se':>16}"
          f"{'>= ' + format(TARGETS['sft_format_min'], '.0%'):>12}{'<= ' + str(TARGETS['wall_seconds_max']) + 's':>8}")
    m = sweep["machine"]
    print(f"\nevery seed met every target: {'yes' if sweep['all_targets_met'] else 'NO'}")
    print(f"machine: {m['cpu_model']}, vector extensions {', '.join(m['vector_extensions'])}, torch kernels "
          f"{m['torch_cpu_capability']}, {m['cpus']} CPUs, {m['torch_threads']} torch threads; "
          + ", ".join(f"{k} {v}" for k, v in sweep["versions"].items()))
    if args.assets:
        (ROOT / "assets").mkdir(exist_ok=True)
        shutil.copy(Path(args.out) / "plots" / "seeds.png", ROOT / "assets" / "demo-seeds.png")
        (ROOT / "assets" / "demo-seeds-summary.json").write_text(json.dumps(sweep, indent=2) + "\n")
        first = Path(args.out) / f"seed-{sweep['seeds'][0]}"      # one of the runs, in full
        shutil.copy(first / "summary.json", ROOT / "assets" / "demo-summary.json")
        shutil.copy(first / "plots" / "comparison.png", ROOT / "assets" / "demo-comparison.png")
        print("copied to assets/ (the sweep's summary and plot, its first run's summary and plot); run `make readme`")


if __name__ == "__main__":
    main()
