"Evaluation and plots: metrics against samples.jsonl, reproducibility, estimators, CLI, plots from real and gappy logs."
import json
import math
import os
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import matplotlib.image
import pytest
from hypothesis import given, strategies as st

from r1_budget.evaluate import binomial_stderr, comparison_table, evaluate, pass_at_k, score_completion
from r1_budget.models import build_tiny_model
from r1_budget.plots import load_history, plot_comparison, plot_history, plot_run, save_figure
from r1_budget.tasks import make_synthetic_dataset

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("m") / "tiny", size="tiny")


@pytest.fixture(scope="module")
def problems():
    return make_synthetic_dataset("multiply", n=24, seed=5, system_prompt=None)


def test_metrics_are_in_range_and_agree_with_the_samples(tiny, problems, tmp_path):
    m = evaluate(tiny, problems, max_new_tokens=16, batch_size=7, out_dir=tmp_path, progress=False)
    samples = [json.loads(l) for l in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert json.loads((tmp_path / "metrics.json").read_text()) == m
    assert len(samples) == m["n"] == 24
    for key, name in (("strict", "strict_accuracy"), ("lenient", "lenient_accuracy"), ("format", "format_rate"),
                      ("truncated", "truncation_rate")):
        assert m[name] == pytest.approx(sum(s[key] for s in samples) / 24)
        assert m[f"{name}_stderr"] == pytest.approx(binomial_stderr(m[name], 24))
        assert 0 <= m[name] <= 1
    assert m["mean_completion_tokens"] == pytest.approx(sum(s["tokens"] for s in samples) / 24)
    assert all(s["tokens"] <= 16 for s in samples) and sorted(s["index"] for s in samples) == list(range(24))
    for s in samples:    # each verdict is the scorer's verdict on the stored completion
        row = problems[s["index"]]
        assert {k: s[k] for k in ("answer", "strict", "lenient", "format")} == score_completion(s["completion"], row)


def test_greedy_runs_are_identical_and_batching_does_not_change_results(tiny, problems):
    a = evaluate(tiny, problems, max_new_tokens=12, batch_size=24, progress=False)
    b = evaluate(tiny, problems, max_new_tokens=12, batch_size=5, progress=False)
    assert a == b


def test_sampled_mode_reports_pass_at_k(tiny, problems):
    m = evaluate(tiny, problems, n=6, max_new_tokens=8, mode="sampled", k=3, progress=False)
    assert m["samples"] == 18 and 0 <= m["pass@1"] <= m["pass@3"] <= 1


def test_forced_prefix_mode_counts_the_prefix(tiny, problems, tmp_path):
    evaluate(tiny, problems, n=3, max_new_tokens=8, mode="forced_prefix", out_dir=tmp_path, progress=False)
    assert all(json.loads(l)["completion"].startswith("<think>") for l in (tmp_path / "samples.jsonl").read_text().splitlines())


def test_bad_arguments(tiny, problems):
    with pytest.raises(ValueError, match="unknown mode 'beam'"):
        evaluate(tiny, problems, mode="beam")
    with pytest.raises(ValueError, match="only sampled mode"):
        evaluate(tiny, problems, k=4)


@given(st.integers(1, 8), st.data())
def test_pass_at_k_matches_brute_force(n, data):
    c = data.draw(st.integers(0, n))
    k = data.draw(st.integers(1, n))
    subsets = list(combinations([1] * c + [0] * (n - c), k))
    assert pass_at_k(n, c, k) == pytest.approx(sum(any(s) for s in subsets) / len(subsets))


def test_significance_uses_two_standard_errors_of_the_difference():
    def m(p, n=100):
        return {"n": n, **{k: p for k in ("strict_accuracy", "lenient_accuracy", "format_rate", "truncation_rate")},
                "mean_completion_tokens": 10.0, "mean_completion_tokens_stderr": 0.0,
                **{f"{k}_stderr": binomial_stderr(p, n) for k in ("strict_accuracy", "lenient_accuracy", "format_rate", "truncation_rate")}}
    t = comparison_table({"a": m(0.5), "b": m(0.6), "c": m(0.75)})
    threshold = 2 * math.hypot(binomial_stderr(0.5, 100), binomial_stderr(0.6, 100))   # ~0.139
    assert not t.loc[1, "strict_accuracy_significant"] and 0.1 < threshold
    assert t.loc[2, "strict_accuracy_significant"] == (0.15 > 2 * math.hypot(binomial_stderr(0.6, 100), binomial_stderr(0.75, 100)))


def test_eval_cli(tiny, tmp_path):
    r = subprocess.run([str(BIN / "r1-budget"), "eval", "--model", str(tiny), "--task", "multiply", "--n", "10",
                        "--no-system-prompt", "--max-new-tokens", "8", "--out", str(tmp_path / "e")],
                       capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "strict_accuracy" in r.stdout and json.loads((tmp_path / "e" / "metrics.json").read_text())["n"] == 10


def test_eval_cli_uses_a_single_local_file_whole_and_says_so(tiny, fixtures, tmp_path):
    run = lambda *extra: subprocess.run([str(BIN / "r1-budget"), "eval", "--model", str(tiny), "--dataset",
                                         str(fixtures / "gsm8k.jsonl"), "--schema", "gsm8k", "--max-new-tokens", "4",
                                         "--out", str(tmp_path / "e"), *extra],
                                        capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)
    r = run()
    assert r.returncode == 0, r.stderr[-2000:]
    assert "gsm8k.jsonl is a single file with no splits: evaluating its rows" in r.stdout
    assert json.loads((tmp_path / "e" / "metrics.json").read_text())["n"] == 5
    r = run("--split", "test")                      # asked for a split the file does not have: a clear error
    assert r.returncode == 1 and "its only split is 'train'" in r.stderr

# ---- plots ---------------------------------------------------------------------------------------------------------------

def drawn(png):
    image = matplotlib.image.imread(png)
    return image.ndim == 3 and image[..., :3].std() > 0.01


def data_points(ax):
    return sum(len(l.get_xdata()) for l in ax.lines if l.get_gid() != "epoch")


def test_plots_from_gappy_hand_written_histories(tmp_path):
    grpo = [{"step": 1, "epoch": 0.5, "reward": 0.1, "rewards/format/mean": 0.2},
            {"step": 2, "epoch": 1.0, "reward": None, "loss": 0.0},                          # a reward that logged None
            {"step": 3, "epoch": 1.5, "reward": 0.3, "rewards/format/mean": float("nan"), "kl": 0.01},
            {"step": 3, "train_runtime": 9.0, "train_loss": 0.0}]                            # the summary row is skipped
    fig = plot_history(grpo)
    titles = [a.get_title() for a in fig.axes]
    assert data_points(fig.axes[titles.index("total reward")]) == 2
    assert data_points(fig.axes[titles.index("KL to the starting model")]) == 1
    assert fig.axes[titles.index("entropy")].texts[0].get_text() == "not logged in this run"
    assert drawn(save_figure(fig, tmp_path / "grpo.png"))
    one_step = [{"step": 1, "epoch": 1.0, "loss": 2.0}]
    fig = plot_history(one_step)
    assert data_points(fig.axes[0]) == 1 and drawn(save_figure(fig, tmp_path / "one.png"))


def test_plot_run_and_cli_on_a_real_tiny_run(tmp_path):
    from r1_budget.config import load_stage_config
    from r1_budget.sft import train_sft
    run = train_sft(load_stage_config("sft", "tiny/sft", {"output_dir": str(tmp_path / "sft"), "model_name_or_path": "tiny:tiny",
                                                          "max_steps": 6, "logging_steps": 1, "save_strategy": "no",
                                                          "disable_tqdm": True}))
    [png] = plot_run(run)
    assert png == run / "plots" / "training.png" and drawn(png)
    assert len(load_history(run)) == 6
    r = subprocess.run([str(BIN / "r1-budget"), "plot", str(run), "--out", str(tmp_path / "p")], capture_output=True, text=True)
    assert r.returncode == 0 and drawn(tmp_path / "p" / "training.png")
    r = subprocess.run([str(BIN / "r1-budget"), "plot", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 1 and "no trainer_state.json" in r.stderr


def test_comparison_bars(tmp_path):
    def m(p):
        return {"n": 200, "strict_accuracy": p, "lenient_accuracy": p, "format_rate": 1.0,
                "strict_accuracy_stderr": binomial_stderr(p, 200), "lenient_accuracy_stderr": binomial_stderr(p, 200),
                "format_rate_stderr": 0.0}
    fig = plot_comparison({"sft": m(0.3), "grpo": m(0.45)})
    assert len(fig.axes[0].patches) == 6 and drawn(save_figure(fig, tmp_path / "bars.png"))


def test_vllm_backend_glue(tiny, problems, monkeypatch):
    "The vLLM path with a stand-in `vllm` module (no GPU here): same records, same scoring."
    import types
    from r1_budget import evaluate as E
    calls = {}

    class Out:
        def __init__(self, text, ids, reason): self.text, self.token_ids, self.finish_reason = text, ids, reason

    class LLM:
        def __init__(self, model, seed): calls["model"] = model
        def generate(self, texts, params):
            calls["texts"], calls["params"] = texts, params
            return [types.SimpleNamespace(outputs=[Out("<think>x</think><answer>1</answer>", [1, 2, 3], "stop")]) for _ in texts]

    fake = types.ModuleType("vllm")
    fake.LLM, fake.SamplingParams = LLM, lambda **kw: kw
    monkeypatch.setitem(sys.modules, "vllm", fake)
    monkeypatch.setattr(E, "vllm_available", lambda: True)
    m = evaluate(tiny, problems, n=4, backend="auto", progress=False)
    assert calls["model"] == str(tiny) and len(calls["texts"]) == 4
    assert calls["params"]["temperature"] == 0.0 and calls["params"]["max_tokens"] == 256
    assert m["format_rate"] == 1.0 and m["mean_completion_tokens"] == 3 and m["truncation_rate"] == 0.0
    monkeypatch.setattr(E, "vllm_available", lambda: False)
    with pytest.raises(ValueError, match="backend='vllm' needs vLLM installed, a CUDA GPU"):
        evaluate(tiny, problems, backend="vllm")


@pytest.mark.parametrize("recipe", ["tiny/sft", "tiny/grpo"])
def test_eval_cli_scores_a_recipes_held_out_problems(tiny, tmp_path, recipe):
    "`--recipe` takes the held-out problems of an SFT or a GRPO recipe: the same 200 for the demo's two."
    r = subprocess.run([str(BIN / "r1-budget"), "eval", "--model", str(tiny), "--recipe", recipe, "--n", "8",
                        "--max-new-tokens", "4", "--out", str(tmp_path / "e")],
                       capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    samples = [json.loads(l) for l in (tmp_path / "e" / "samples.jsonl").read_text().splitlines()]
    from r1_budget.config import load_stage_config
    from r1_budget.train import stage_datasets
    heldout = stage_datasets(load_stage_config("sft", "tiny/sft").data)["heldout"]
    assert [s["prompt"] for s in samples] == heldout["prompt"][:8]
