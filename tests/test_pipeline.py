"The main job: `run_demo` end to end on a reduced budget, its report, its CLI, and the tutorial in a real kernel."
import json
import os
import sys
from pathlib import Path

import pytest

from r1_budget import cli, pipeline
from r1_budget.pipeline import parse_seeds, prepare_run_dir, run_demo, run_sweep
from r1_budget.report import TARGETS, demo_checks, stage_table

ROOT = Path(__file__).resolve().parents[1]


SWEEP_COMMAND = "r1-budget demo --quick --seeds 1"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A quick sweep (full SFT, 100 GRPO steps: about three minutes on 2 cores) of seed 1, shared by the tests.

    Seed 0 runs the same schedule in the pipeline chapter (`test_pipeline_notebook_runs_in_a_real_kernel`), which
    asserts the same directions: two seeds in all. The sweep's arithmetic over several seeds is tested in that
    chapter too, on made-up summaries and on a two-seed sweep of one step per stage."""
    base, cwd = tmp_path_factory.mktemp("demo"), os.getcwd()
    os.chdir(base)                          # a relative --out, as people type it
    try: summary = run_sweep("run", seeds="1", quick=True, progress=False, command=SWEEP_COMMAND)
    finally: os.chdir(cwd)
    return base / "run", summary


@pytest.fixture(scope="module")
def demo(sweep):
    "The sweep's run: one demo run directory and its summary."
    out = sweep[0] / "seed-1"
    return out, json.loads((out / "summary.json").read_text())


@pytest.mark.slow
def test_demo_writes_the_run_directory(demo):
    out, _ = demo
    for rel in ["report.md", "summary.json", "demo.json", "plots/comparison.png", "sft/plots/training.png",
                "grpo/plots/training.png", "sft/config.json", "grpo/config.json", "sft/trainer_state.json",
                *(f"eval/{s}/{f}" for s in ("base", "sft", "grpo") for f in ("metrics.json", "samples.jsonl"))]:
        assert (out / rel).exists(), rel
    assert len((out / "eval/grpo/samples.jsonl").read_text().splitlines()) == 200


@pytest.mark.slow
def test_compare_stages_on_the_demos_models(demo):
    "The evaluation chapter's real-run checks (flagged slow there, so the pipeline trains once), on the demo's models."
    import math
    from r1_budget.config import load_stage_config
    from r1_budget.evaluate import compare_stages
    from r1_budget.train import stage_datasets
    out, summary = demo
    heldout = stage_datasets(load_stage_config("sft", "tiny/sft").data)["heldout"]
    models = {"base": out / "tiny-base-multiply-init", "sft": out / "sft", "grpo": out / "grpo"}
    table, markdown = compare_stages(models, heldout, max_new_tokens=40, batch_size=64, progress=False)
    base_, sft_, grpo_ = table.to_dict("records")
    assert sft_["format_rate"] > 0.9 > base_["format_rate"] and sft_["strict_accuracy"] > base_["strict_accuracy"]
    assert sft_["format_rate_significant"] and sft_["strict_accuracy_significant"]
    change = grpo_["strict_accuracy"] - sft_["strict_accuracy"]   # the mark is exactly "beyond two standard errors"
    assert grpo_["strict_accuracy_significant"] == (abs(change) > 2 * math.hypot(grpo_["strict_accuracy_stderr"],
                                                                                   sft_["strict_accuracy_stderr"]))
    assert grpo_["strict_accuracy"] > sft_["strict_accuracy"] and grpo_["mean_completion_tokens"] > sft_["mean_completion_tokens"]
    assert len(heldout) == 200 and markdown.count("| 200 |") == 3


@pytest.mark.slow
def test_summary_structure_and_learning_direction(demo):
    out, summary = demo
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    for stage in ("base", "sft", "grpo"):
        m = summary["stages"][stage]
        for key in ("strict_accuracy", "strict_accuracy_stderr", "format_rate", "shows_work_rate",
                    "strict_accuracy_with_shows_work"):
            if key == "strict_accuracy_with_shows_work" and stage == "base": continue   # no worked completions: nan
            assert 0 <= m[key] <= 1, (stage, key)
        assert m["n"] == 200
    assert {"total", "data", "sft", "grpo", "eval_base", "eval_sft", "eval_grpo", "plots"} <= set(summary["wall_seconds"])
    assert summary["wall_seconds"]["total"] >= summary["wall_seconds"]["sft"] + summary["wall_seconds"]["grpo"]
    assert {"torch", "transformers", "trl", "python", "r1_budget"} <= set(summary["versions"])
    assert summary["command"] == f"{SWEEP_COMMAND}  # seed 1" and summary["quick"] is True
    assert {"cpu_model", "vector_extensions", "torch_cpu_capability", "torch_threads"} <= set(summary["machine"])


@pytest.mark.slow
def test_learning_direction(demo):
    summary = demo[1]
    s, g, b = (summary["stages"][k] for k in ("sft", "grpo", "base"))
    assert s["format_rate"] > 0.9 and s["strict_accuracy"] > b["strict_accuracy"]
    assert g["strict_accuracy"] > s["strict_accuracy"], "GRPO did not improve held-out accuracy"
    assert g["shows_work_rate"] > s["shows_work_rate"]
    assert summary["grpo_gain"]["points"] == pytest.approx(100 * (g["strict_accuracy"] - s["strict_accuracy"]), abs=0.06)


@pytest.mark.slow
def test_sweep_summary_report_and_plot(sweep):
    out, summary = sweep
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert summary["seeds"] == [1] and [r["seed"] for r in summary["rows"]] == [1]
    for key in ("sft", "grpo", "gain", "wall_seconds"):
        sp = summary["spread"][key]
        assert sp["min"] <= sp["mean"] <= sp["max"]
    runs = [json.loads((out / f"seed-{n}" / "summary.json").read_text()) for n in (1,)]
    assert summary["spread"]["grpo"]["max"] == max(r["stages"]["grpo"]["strict_accuracy"] for r in runs)
    assert summary["all_targets_met"] == all(all(r["checks"].values()) for r in runs)
    report = (out / "report.md").read_text()
    assert SWEEP_COMMAND in report and "| mean |" in report and "| 1 |" in report and "torch kernels" in report
    assert (out / "plots" / "seeds.png").stat().st_size > 1000
    with pytest.raises(FileExistsError, match="already holds a demo run"):
        run_sweep(out, seeds=[1], quick=True, progress=False)


@pytest.mark.slow
def test_report_holds_table_checks_times_versions_and_plots(demo):
    out, summary = demo
    report = (out / "report.md").read_text()
    assert SWEEP_COMMAND in report
    assert stage_table({k: {**summary["stages"][k]} for k in ("base", "sft", "grpo")}).splitlines()[0] in report
    assert report.count("| base |") == 1 and "| grpo |" in report
    for name in summary["checks"]: assert name in report
    for rel in summary["plots"].values(): assert f"]({rel})" in report and (out / rel).exists()
    assert f"trl {summary['versions']['trl']}" in report and "| total |" in report


@pytest.mark.slow
def test_an_existing_run_is_never_silently_overwritten(demo):
    out, _ = demo
    before = (out / "report.md").read_text()
    with pytest.raises(FileExistsError, match="already holds a demo run; choose another --out, or pass --overwrite"):
        run_demo(out, quick=True, progress=False)
    assert (out / "report.md").read_text() == before


def test_prepare_run_dir_protects_what_is_not_a_demo_run(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="holds no demo run"):
        prepare_run_dir(tmp_path, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        prepare_run_dir(tmp_path / "file")
    assert prepare_run_dir(tmp_path / "new" / "run").is_dir()
    old = tmp_path / "old"; old.mkdir(); (old / "demo.json").write_text("{}"); (old / "report.md").write_text("x")
    assert list(prepare_run_dir(old, overwrite=True).iterdir()) == []


def _summary(sft_acc, grpo_acc, fmt=1.0, total=200.0, se=0.03):
    stage = lambda acc: dict(strict_accuracy=acc, strict_accuracy_stderr=se, format_rate=fmt)
    return dict(stages=dict(sft=stage(sft_acc), grpo=stage(grpo_acc)), wall_seconds=dict(total=total))


@pytest.mark.parametrize("sft,grpo,fmt,total,failing", [
    (0.35, 0.90, 1.0, 200, []),
    (0.35, 0.50, 1.0, 200, ["grpo at least 20 points above sft, beyond 2 se"]),
    (0.10, 0.90, 1.0, 200, ["sft accuracy between 20% and 80%"]),
    (0.35, 0.90, 0.8, 200, ["sft format rate at least 90%"]),
    (0.35, 0.90, 1.0, 241, ["whole demo within 4 minutes"]),
    (0.85, 0.99, 1.0, 200, ["grpo at least 20 points above sft, beyond 2 se", "sft accuracy between 20% and 80%"]),
    (0.79, 0.99, 1.0, 200, []),
])
def test_demo_checks_match_the_targets(sft, grpo, fmt, total, failing):
    checks = demo_checks(_summary(sft, grpo, fmt, total))
    assert sorted(k for k, ok in checks.items() if not ok) == failing
    assert TARGETS["tiny"]["wall_seconds_max"] == 240


def test_a_20_point_gain_within_noise_fails_the_gain_check():
    assert not demo_checks(_summary(0.30, 0.51, se=0.08))["grpo at least 20 points above sft, beyond 2 se"]
    assert demo_checks(_summary(0.30, 0.50, se=0.03))["grpo at least 20 points above sft, beyond 2 se"]


def test_cli_demo_passes_its_flags_to_run_demo(monkeypatch, tmp_path, capsys):
    seen = {}
    monkeypatch.setattr(pipeline, "run_demo", lambda out, **kw: seen.update(out=out, **kw))
    monkeypatch.setattr(sys, "argv", ["r1-budget", "demo", "--out", str(tmp_path / "d"), "--seed", "3"])
    assert cli.main(["demo", "--out", str(tmp_path / "d"), "--seed", "3", "--task", "countdown", "--quick",
                     "--grpo-arg", "max_steps=5", "--sft-arg", "num_train_epochs=1", "--quiet"]) == 0
    assert seen["out"] == str(tmp_path / "d") and seen["seed"] == 3 and seen["task"] == "countdown"
    assert seen["model"] == "tiny"
    assert seen["quick"] and not seen["progress"] and not seen["overwrite"]
    assert seen["grpo_overrides"] == {"max_steps": "5"} and seen["sft_overrides"] == {"num_train_epochs": "1"}
    assert seen["command"].startswith("r1-budget demo --out")


def test_cli_demo_model_picks_the_real_model(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(pipeline, "run_demo", lambda out, **kw: seen.update(out=out, **kw))
    assert cli.main(["demo", "--model", "smollm2-135m-instruct", "--out", str(tmp_path / "d"), "--quiet"]) == 0
    assert seen["model"] == "smollm2-135m-instruct" and seen["task"] is None   # the model's own task: shop


def test_cli_demo_seeds_runs_a_sweep(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(pipeline, "run_sweep", lambda out, **kw: seen.update(out=out, **kw))
    assert cli.main(["demo", "--out", str(tmp_path / "s"), "--seeds", "0-4", "--quick", "--quiet"]) == 0
    assert seen["seeds"] == "0-4" and seen["quick"] and not seen["progress"] and "seed" not in seen
    assert parse_seeds(seen["seeds"]) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("argv,message", [
    (["demo", "--task", "sudoku"], "invalid choice: 'sudoku'"),
    (["demo", "--model", "gpt2"], "invalid choice: 'gpt2'"),
    (["demo", "--task", "shop"], "unknown demo task 'shop' for model tiny; valid: ['multiply', 'countdown']"),
    (["demo", "--task", "shop", "--seeds", "0-1"], "unknown demo task 'shop' for model tiny"),
    (["demo", "--model", "smollm2-135m-instruct", "--task", "countdown"], "valid: ['shop']"),
    (["demo", "--grpo-arg", "max_steps"], "--grpo-arg 'max_steps': expected OPTION=VALUE"),
    (["demo", "--seeds", "4-0"], "expected seeds and ranges like '0-4'"),
    (["demo", "--seeds", "0-1", "--seed", "3"], "not allowed with argument"),
])
def test_cli_demo_bad_flags(argv, message, capsys, tmp_path):
    try: status = cli.main([*argv, "--out", str(tmp_path / "x")])
    except SystemExit as e: status = e.code
    assert status in (1, 2) and message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_unknown_demo_task_fails_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="unknown demo task 'sudoku'"):
        pipeline.plan_demo(tmp_path / "d", task="sudoku")
    assert not (tmp_path / "d").exists()


@pytest.mark.slow
def test_pipeline_notebook_runs_in_a_real_kernel(tmp_path):
    "JupyterLab's way: a real kernel runs the tutorial top to bottom (nbdev-test uses a plain IPython shell)."
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(ROOT / "nbs" / "10_pipeline.ipynb", as_version=4)
    saved = {k: os.environ.get(k) for k in ("IN_TEST", "MPLBACKEND")}
    os.environ["IN_TEST"] = "1"            # the kernel inherits it: the tutorial's shorter schedule
    os.environ.pop("MPLBACKEND", None)     # and draws inline, as in JupyterLab (the tests' Agg would draw nothing)
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "nbs")}}).execute()
    finally:
        for k, v in saved.items():
            if v is None: os.environ.pop(k, None)
            else: os.environ[k] = v
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "| grpo |" in text and "GRPO took" in text
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 2, "the training curves and the comparison are drawn"
    assert not list((ROOT / "nbs").glob("runs")), "the tutorial writes its runs to a temporary folder"


def test_countdown_demo_is_planned_with_its_own_recipes_and_reward(tmp_path):
    from r1_budget.config import load_stage_config
    plan = pipeline.plan_demo(tmp_path / "cd", task="countdown", seed=2)
    grpo = load_stage_config("grpo", plan.grpo_recipe, {**plan.grpo_overrides, "model_name_or_path": plan.base_model})
    assert plan.sft.data.synthetic_task == grpo.data.synthetic_task == "countdown"
    assert set(grpo.rewards.rewards) == {"countdown", "format"}
    assert plan.sft.training.seed == grpo.training.seed == 2
    assert len(plan.heldout) == 200 and {"numbers", "target"} <= set(plan.heldout.column_names)
    assert Path(plan.base_model).name == "tiny-base-countdown-init"
