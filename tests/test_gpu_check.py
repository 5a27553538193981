"""The GPU check's CPU-only parts: step counts against TRL's own trainers, projections, the whole flow on a CPU with
the small stand-in (`--allow-cpu --model-size tiny`), and its refusals. The GPU figures themselves need a GPU."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from r1_budget.config import load_stage_config
from r1_budget.sagemaker import planned_steps, project_run

sys.path.insert(0, str(ROOT / "benchmarks"))
import gpu_check  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("stage,options", [
    ("grpo", dict(synthetic_n=12, num_generations=2, per_device_train_batch_size=4, gradient_accumulation_steps=2,
                  num_iterations=2, num_train_epochs=1)),
    ("grpo", dict(synthetic_n=13, num_generations=4, per_device_train_batch_size=8, gradient_accumulation_steps=3)),
    ("sft", dict(synthetic_n=37, per_device_train_batch_size=4, gradient_accumulation_steps=3, num_train_epochs=1)),
])
def test_planned_steps_are_the_steps_trl_runs(stage, options, tmp_path):
    "Whole epochs on the tiny model, counted by the trainers themselves; `planned_steps` must agree."
    from r1_budget.grpo import train_grpo
    from r1_budget.sft import train_sft
    given = dict(model_name_or_path="tiny:tiny", synthetic_task="multiply", output_dir=str(tmp_path / "run"),
                 save_strategy="no", disable_tqdm=True, logging_steps=1, **options)
    if stage == "grpo": given.update(max_completion_length=4, log_completions=False)
    out = (train_grpo if stage == "grpo" else train_sft)(load_stage_config(stage, given))
    ran = json.loads((out / "trainer_state.json").read_text())["global_step"]
    recipe = {k: v for k, v in options.items() if k != "synthetic_n"} | ({"rewards": {}} if stage == "grpo" else {})
    assert planned_steps(recipe, n_rows=options["synthetic_n"]) == ran


def test_each_recipe_runs_as_shipped_and_vllm_gets_a_comparison_leg():
    both = gpu_check.plan_runs(["grpo-tuned", "sft-tuned", "grpo"], gpu=True, vllm_installed=True)
    assert both == [("grpo-tuned", "True", "as shipped"), ("grpo-tuned", "False", "comparison: transformers generation"),
                    ("sft-tuned", None, "as shipped"), ("grpo", None, "as shipped")]   # grpo.yaml has no use_vllm
    assert gpu_check.plan_runs(["grpo-tuned"], gpu=True, vllm_installed=False) == [
        ("grpo-tuned", "False", "use_vllm false: vLLM not available here")]


def test_projections_price_only_the_instances_with_the_measured_gpu():
    rows = [dict(recipe="grpo-tuned", seconds_per_step=30.0, use_vllm=True, run="as shipped"),
            dict(recipe="grpo-tuned", seconds_per_step=50.0, use_vllm=False, run="comparison: transformers generation"),
            dict(recipe="sft", seconds_per_step=4.0, use_vllm=False, run="as shipped")]
    [grpo, sft] = gpu_check.projections(rows, "NVIDIA A10G")
    assert grpo["seconds_per_step"] == 30.0 and grpo["use_vllm"] is True and grpo["run"] == "as shipped"
    assert grpo["instances"] == [project_run("qwen2.5-0.5b-instruct/grpo-tuned", 30.0, t)
                                 for t in gpu_check.INSTANCES_BY_GPU["A10G"]]
    assert grpo["hours_one_gpu"] == round(200 * 30 / 3600, 2)
    g5_12 = next(i for i in sft["instances"] if i["instance_type"] == "ml.g5.12xlarge")
    assert g5_12["gpus"] == 4 and g5_12["steps"] == planned_steps("qwen2.5-0.5b-instruct/sft", gpus=4)
    assert gpu_check.instances_for("NVIDIA H200") == () and gpu_check.instances_for("NVIDIA L40S")[0] == "ml.g6e.xlarge"
    assert gpu_check.projections(rows, "NVIDIA H200")[0]["instances"] == []


def run_check(*args, tmp_path):
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), *args, "--out",
                           str(tmp_path / "gc")], capture_output=True, text=True, timeout=900, cwd=ROOT,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""})


def test_the_whole_flow_on_a_cpu_with_the_stand_in(tmp_path):
    r = run_check("--allow-cpu", "--model-size", "tiny", "--steps", "1", "--recipes", "grpo-tuned,sft-tuned",
                  "--completion-tokens", "8", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads((tmp_path / "gc" / "result.json").read_text())
    assert [x["recipe"] for x in result["runs"]] == ["grpo-tuned", "sft-tuned"] and result["skipped"] == []
    for run in result["runs"]:
        assert run["steps"] == 1 and run["seconds_per_step"] > 0 and run["tokens_per_second"] > 0
    assert result["runs"][0]["overridden"]["max_completion_length"] == 8
    for p, run in zip(result["projections"], result["runs"]):
        steps = planned_steps(f"qwen2.5-0.5b-instruct/{p['recipe']}")
        assert p["steps_one_gpu"] == steps and p["hours_one_gpu"] == round(steps * run["seconds_per_step"] / 3600, 2)
        assert p["instances"] == []                       # no GPU, so no instance's price applies
    assert all(r["first_step_seconds"] > 0 for r in result["runs"])
    text = (tmp_path / "gc" / "report.txt").read_text()
    assert "grpo-tuned  transformers" in text and "use_vllm false: vLLM not available here" in text
    assert "transformers generation; 72,441 rows): 200 steps on one GPU" in text
    assert "sft-tuned (as shipped; every row of the dataset; fewer after the length filter): 1,045 steps" in text
    assert "no SageMaker price for this GPU" in text and text.strip() in r.stdout


def test_refusals(tmp_path, monkeypatch):
    import torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="no CUDA GPU visible"): gpu_check.main(["--out", str(tmp_path / "gc")])
    with pytest.raises(SystemExit, match=r"unknown recipe\(s\) \['grpo-huge'\]"):
        gpu_check.main(["--allow-cpu", "--recipes", "grpo-huge", "--out", str(tmp_path / "gc")])


def test_the_shell_wrapper_runs_the_script():
    sh = ROOT / "benchmarks" / "gpu_check.sh"
    assert os.access(sh, os.X_OK) and "benchmarks/gpu_check.py" in sh.read_text()
    assert "benchmarks/gpu_check.sh" in (ROOT / "README.md").read_text()
