"""Standard benchmarks: each Hub schema read from local files, pass@1 over samples checked by hand, the command line as
a user types it (the issue's own commands), sampling settings reaching both generators, and flags that do not apply
refused rather than ignored."""
import json
import math
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from r1_budget import benchmarks as B
from r1_budget import evaluate as E
from r1_budget.models import build_tiny_model

BIN = Path(sys.executable).parent
ROWS = {   # two rows of each benchmark, in the schema the Hub stores
    "gsm8k": [{"question": "Tom has 3 boxes of 4 pens. How many pens?", "answer": "3*4=<<3*4=12>>12\n#### 12"},
              {"question": "Ann reads 1,000 pages a year. How many in 2 years?", "answer": "#### 2,000"}],
    "math500": [{"problem": "What is $\\frac{1}{2} + \\frac{1}{4}$?", "solution": "We add. $\\boxed{\\frac{3}{4}}$",
                 "answer": "\\frac{3}{4}", "subject": "Prealgebra", "level": 1, "unique_id": "test/prealgebra/1.json"},
                {"problem": "Find the point $(x, y)$ with $x = 1$, $y = 2$.", "solution": "...",
                 "answer": "(1, 2)", "subject": "Algebra", "level": 2, "unique_id": "test/algebra/9.json"}],
    "aime24": [{"id": 60, "problem": "Find the remainder when 2024 is divided by 1000.", "solution": "...",
                "answer": "24", "url": "https://artofproblemsolving.com/", "year": 2024},
               {"id": 61, "problem": "What is 7 times 11?", "solution": "...", "answer": 77, "url": "", "year": 2024}],
}
GOLD = {"gsm8k": ["12", "2000"], "math500": ["\\frac{3}{4}", "(1, 2)"], "aime24": ["24", "77"]}


def write(tmp_path, name, rows=None):
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (rows or ROWS[name])))
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("m") / "tiny", task="all", size="tiny")


@pytest.mark.parametrize("name", sorted(ROWS))
def test_each_schema_reads_into_canonical_rows(name, tmp_path):
    rows = B.benchmark_rows(name, write(tmp_path, name))
    assert rows["solution"] == GOLD[name]
    assert rows[0]["prompt"][0]["role"] == "system" and rows[0]["prompt"][-1]["content"] == (
        ROWS[name][0]["question" if name == "gsm8k" else "problem"])
    native = B.benchmark_rows(name, write(tmp_path, name), prompt="native")
    assert [m["role"] for m in native[0]["prompt"]] == ["user"]
    assert native[0]["prompt"][0]["content"].endswith("\n" + B.NATIVE_INSTRUCTION)


@pytest.mark.parametrize("name,row,message", [
    ("gsm8k", {"question": "1+1?", "answer": "two"}, "row 0 of gsm8k.jsonl: 'answer' has no '#### <number>' line"),
    ("gsm8k", {"question": "", "answer": "#### 2"}, "row 0 of gsm8k.jsonl: 'question' must be a non-empty string"),
    ("math500", {"problem": "1+1?", "solution": "2"}, "row 0 of math500.jsonl: 'answer' must be a non-empty string"),
    ("aime24", {"question": "1+1?", "answer": "2"}, "row 0 of aime24.jsonl: 'problem' must be a non-empty string"),
])
def test_a_bad_row_is_named_with_its_field(name, row, message, tmp_path):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        B.benchmark_rows(name, write(tmp_path, name, [row]))


def test_pass_at_1_over_samples_equals_the_hand_computation(tmp_path, monkeypatch):
    "Replies fixed by hand: 3 problems x 4 samples; pass@1, its standard error over problems, and greedy."
    rows = [{"question": f"q{i}", "answer": f"#### {i}"} for i in range(3)]
    right = lambda i: f"<think>so</think><answer>{i}</answer>"
    native_right = lambda i: f"It is {i}, so the result is {i}."       # lenient only: no tags
    plan = {0: [right(0)] * 4, 1: [right(1), "no idea", native_right(1), "no idea"], 2: ["no idea"] * 4}

    def fake_generate(model, tokenizer, prompts, batch_size, progress, num_samples=1, do_sample=False, top_p=1.0,
                      **kw):
        assert (do_sample, top_p) == ((True, 0.95) if num_samples > 1 else (False, 1.0))
        out = []
        for p in prompts:
            i = int(p[-1]["content"][1:])
            texts = plan[i] if num_samples > 1 else plan[i][:1]
            out.append([dict(text=t, tokens=3, truncated=False) for t in texts])
        return out
    monkeypatch.setattr(E, "generate_completions", fake_generate)
    result = B.evaluate_benchmark(object(), "gsm8k", write(tmp_path, "g", rows), samples=4, tokenizer=object(),
                                  backend="transformers", out_dir=tmp_path / "out", progress=False)
    shares = [1.0, 0.25, 0.0]
    mean = sum(shares) / 3
    se = math.sqrt(sum((s - mean) ** 2 for s in shares) / 2 / 3)
    s = result["sampled"]
    assert s["pass@1"] == pytest.approx(mean) and s["pass@1_stderr"] == pytest.approx(se)
    lenient = [1.0, 0.5, 0.0]
    assert s["lenient_pass@1"] == pytest.approx(sum(lenient) / 3)
    assert result["greedy"]["strict_accuracy"] == pytest.approx(2 / 3)
    assert (s["temperature"], s["top_p"], s["samples"]) == (0.6, 0.95, 12)
    assert json.loads((tmp_path / "out" / "benchmark.json").read_text()) == result
    assert len((tmp_path / "out" / "sampled" / "samples.jsonl").read_text().splitlines()) == 12
    assert "pass@1 (4 samples, T 0.6, top-p 0.95)  strict 41.7% ± 30.0   lenient 50.0% ± 28.9" in B.benchmark_report(
        result)


def test_top_p_reaches_transformers_generation(tiny):
    "Sampling settings reach `model.generate` as given; greedy decoding gets none."
    from r1_budget.models import load_model_and_tokenizer
    model, tok = load_model_and_tokenizer(tiny)
    seen = []
    real = model.generate
    model.generate = lambda **kw: (seen.append(kw), real(**kw))[1]
    prompts = [[{"role": "user", "content": "2*3=?"}]]
    E.generate_completions(model, tok, prompts, max_new_tokens=2, do_sample=True, temperature=0.6, top_p=0.95,
                           num_samples=2, progress=False)
    E.generate_completions(model, tok, prompts, max_new_tokens=2, progress=False)
    assert (seen[0]["temperature"], seen[0]["top_p"], seen[0]["num_return_sequences"]) == (0.6, 0.95, 2)
    assert (seen[1]["temperature"], seen[1]["top_p"], seen[1]["do_sample"]) == (None, None, False)


def test_top_p_reaches_vllm(tiny, tmp_path, monkeypatch):
    "The vLLM path (a stand-in module: no GPU here) gets the same prompts, budget and sampling settings."
    calls = []

    class LLM:
        made = 0
        def __init__(self, model, seed): LLM.made += 1
        def generate(self, texts, params):
            calls.append((texts, params))
            out = types.SimpleNamespace(text="<think>x</think><answer>12</answer>", token_ids=[1, 2], finish_reason="stop")
            return [types.SimpleNamespace(outputs=[out] * params["n"]) for _ in texts]
    fake = types.ModuleType("vllm")
    fake.LLM, fake.SamplingParams = LLM, lambda **kw: kw
    monkeypatch.setitem(sys.modules, "vllm", fake)
    monkeypatch.setattr(E, "vllm_available", lambda: True)
    result = B.evaluate_benchmark(tiny, "gsm8k", write(tmp_path, "gsm8k"), samples=3, max_new_tokens=64, progress=False)
    assert result["backend"] == "vllm" and LLM.made == 1    # one engine for the greedy and the sampled pass
    (greedy_texts, greedy), (sampled_texts, sampled) = calls
    assert greedy_texts == sampled_texts and len(greedy_texts) == 2
    assert (greedy["temperature"], greedy["top_p"], greedy["max_tokens"], greedy["n"]) == (0.0, 1.0, 64, 1)
    assert (sampled["temperature"], sampled["top_p"], sampled["max_tokens"], sampled["n"]) == (0.6, 0.95, 64, 3)
    assert result["sampled"]["pass@1"] == 0.5     # "12" is right for the first problem only


def r1_budget(*args, cwd=None):
    "The installed console script, in its own process, as a user runs it."
    return subprocess.run([str(BIN / "r1-budget"), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}, timeout=600)


def r1_budget_here(capsys, *args):
    "The same command line through the same `main`, in this process (no interpreter start-up): (code, stdout, stderr)."
    from r1_budget.cli import main
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return types.SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)


@pytest.mark.parametrize("name", ["gsm8k", "math500"])
def test_eval_benchmark_cli_as_the_issue_types_it(name, tiny, tmp_path, capsys):
    args = ("eval", "--model", tiny, "--benchmark", name, "--dataset", write(tmp_path, name), "--samples", 4,
            "--temperature", 0.6, "--top-p", 0.95, "--max-new-tokens", 8, "--out", tmp_path / "e")
    r = r1_budget(*args) if name == "gsm8k" else r1_budget_here(capsys, *args)   # one through the console script
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    assert any(l.startswith(f"{name}: 2 problems from ") and "prompt 'r1'" in l for l in lines), r.stdout
    greedy = next(l for l in lines if l.startswith("greedy"))
    sampled = next(l for l in lines if l.startswith("pass@1 (4 samples, T 0.6, top-p 0.95)"))
    for line in (greedy, sampled):
        rates = re.findall(r"(strict|lenient) \d+\.\d% (± \d|\(95% Wilson \d)", line)   # ± se, or at 0/100% an interval
        assert [r[0] for r in rates] == ["strict", "lenient"], line
    saved = json.loads((tmp_path / "e" / "benchmark.json").read_text())
    assert saved["sampled"]["samples"] == 8 and saved["greedy"]["n"] == 2 and saved["max_new_tokens"] == 8


def test_eval_benchmark_native_prompt_and_whole_set_by_default(tiny, tmp_path, capsys):
    r = r1_budget_here(capsys, "eval", "--model", tiny, "--benchmark", "aime24", "--dataset", write(tmp_path, "aime24"),
                       "--prompt", "native", "--max-new-tokens", 4, "--out", tmp_path / "e")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "aime24: 2 problems" in r.stdout and "prompt 'native'" in r.stdout and "pass@1" not in r.stdout
    sample = json.loads((tmp_path / "e" / "greedy" / "samples.jsonl").read_text().splitlines()[0])
    assert sample["prompt"][-1]["content"].endswith(B.NATIVE_INSTRUCTION) and len(sample["prompt"]) == 1


@pytest.mark.parametrize("args,message", [
    (["--benchmark", "gsm8k", "--mode", "sampled"], "--mode: not with --benchmark"),
    (["--benchmark", "gsm8k", "--task", "multiply"], "--task: not with --benchmark"),
    (["--benchmark", "gsm8k", "--temperature", "0.6"], "--temperature: sampling settings apply to --samples N"),
    (["--task", "multiply", "--samples", "4"], "--samples: these go with --benchmark"),
    (["--task", "multiply", "--top-p", "0.9"], "--top-p: sampling settings apply to --mode sampled"),
    ([], "give the problems: --benchmark NAME"),
    (["--benchmark", "gsm8k", "--samples", "4", "--top-p", "1.5"], "--top-p 1.5: must be in (0, 1]"),
    (["--benchmark", "gsm8k", "--samples", "-1"], "--samples -1: must be >= 0"),
    (["--task", "multiply", "--mode", "sampled", "--k", "0"], "--k 0: must be >= 1"),
    (["--task", "multiply", "--max-new-tokens", "0"], "--max-new-tokens 0: must be >= 1"),
    (["--benchmark", "gsm8k", "--dataset", "openai/gsm8k"], "a benchmark reads a local copy from a file"),
])
def test_eval_flags_that_do_not_apply_are_refused(args, message, tmp_path, capsys):
    r = r1_budget_here(capsys, "eval", "--model", "unused", *args, "--out", tmp_path / "e")
    assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "e").exists()


def test_data_length_budgets_report_the_share_kept(tiny, tmp_path, capsys):
    "`r1-budget data --tokenizer ... --max-completion-tokens` is how a user sees the tuned SFT recipe's share first."
    sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
    from long_rows import write_rows
    src = write_rows("bespoke_stratos", tmp_path / "stratos.jsonl")
    out = tmp_path / "kept.jsonl"
    r = r1_budget("data", src, "--out", out, "--tokenizer", tiny, "--max-prompt-tokens", 512,
                  "--max-completion-tokens", 4096)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "kept 36 of 48 rows (75.0%)" in r.stdout and "wrote 36 rows" in r.stdout
    assert len(out.read_text().splitlines()) == 36
    r = r1_budget_here(capsys, "data", src, "--out", tmp_path / "x.jsonl", "--max-completion-tokens", 4096)
    assert r.returncode == 1 and "--tokenizer and --max-prompt-tokens/--max-completion-tokens go together" in r.stderr
    r = r1_budget_here(capsys, "data", src, "--out", tmp_path / "x.jsonl", "--tokenizer", tiny,
                       "--max-completion-tokens", 0)
    assert r.returncode == 1 and "--max-completion-tokens 0: must be >= 1" in r.stderr
    assert not (tmp_path / "x.jsonl").exists()
