"The installed `r1-budget` command, run as a user would."
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import r1_budget
from r1_budget.data import prepare_dataset
from conftest import read_jsonl

EXE = shutil.which("r1-budget", path=str(Path(sys.executable).parent)) or shutil.which("r1-budget")


def run(*args, cwd=None):
    assert EXE, "the r1-budget console script is not installed (pip install -e .)"
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})


def test_help_lists_the_subcommands():
    r = run("--help")
    assert r.returncode == 0
    assert "usage: r1-budget" in r.stdout and "data" in r.stdout
    assert run().returncode == 0          # no subcommand: the help, not a traceback


def test_version():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"r1-budget {r1_budget.__version__}"


def test_data_converts_a_fixture_file_and_the_output_loads_back(fixtures, tmp_path):
    out = tmp_path / "gsm8k.jsonl"
    r = run("data", fixtures / "gsm8k.jsonl", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "wrote 5 rows" in r.stdout and "schema 'gsm8k' detected" in r.stdout
    rows = read_jsonl(out)
    assert [row["solution"] for row in rows] == ["72", "4500", "-3", "6", "2.5"]
    again = prepare_dataset(out, verbose=False)            # prepared files are valid prompt/completion input
    assert again.to_list() == prepare_dataset(fixtures / "gsm8k.jsonl", verbose=False).to_list()


def test_data_synthetic_to_parquet(tmp_path):
    out = tmp_path / "sub" / "countdown.parquet"
    r = run("data", "--task", "countdown", "--n", "20", "--seed", "3", "--difficulty", "1", "--out", out)
    assert r.returncode == 0, r.stderr
    ds = prepare_dataset(out, verbose=False)
    assert len(ds) == 20


def test_data_renamed_fields_and_no_system_prompt(fixtures, tmp_path):
    out = tmp_path / "prompts.jsonl"
    r = run("data", fixtures / "prompt_only.jsonl", "--field", "prompt_field=query", "--no-system-prompt", "--out", out)
    assert r.returncode == 0, r.stderr
    assert read_jsonl(out)[0]["prompt"] == [{"role": "user", "content": "What is 1+1?"}]


def test_data_bad_row_fails_with_the_row_named_and_lenient_skips_it(fixtures, tmp_path):
    r = run("data", fixtures / "gsm8k_bad.jsonl", "--out", tmp_path / "x.jsonl")
    assert r.returncode == 1
    assert "r1-budget data: error: row 1 of gsm8k_bad.jsonl: 'answer' has no value" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "x.jsonl").exists()
    r = run("data", fixtures / "gsm8k_bad.jsonl", "--lenient", "--out", tmp_path / "x.jsonl")
    assert r.returncode == 0 and "skipped 5 of 6 rows" in r.stderr and "wrote 1 rows" in r.stdout


@pytest.mark.parametrize("args,message", [
    (["--task", "multiply", "--out", "x.csv"], "use a .jsonl, .json or .parquet file"),
    (["--out", "x.jsonl"], "give a SOURCE (Hub id or local file) or --task"),
    (["nope.jsonl", "--out", "x.jsonl"], "no such file"),
    (["--task", "multiply", "--difficulty", "7", "--out", "x.jsonl"], "difficulty 7 is not a level"),
    (["g.jsonl", "--field", "question", "--out", "x.jsonl"], "expected ROLE_field=COLUMN"),
])
def test_data_errors_exit_1_with_a_message(tmp_path, args, message):
    r = run("data", *args, cwd=tmp_path)
    assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr


def test_data_never_overwrites_silently(tmp_path):
    out = tmp_path / "m.jsonl"
    assert run("data", "--task", "multiply", "--n", "3", "--out", out).returncode == 0
    before = out.read_text()
    r = run("data", "--task", "multiply", "--n", "4", "--out", out)
    assert r.returncode == 1 and "exists; pass --overwrite" in r.stderr and out.read_text() == before
    assert run("data", "--task", "multiply", "--n", "4", "--out", out, "--overwrite").returncode == 0
    assert len(read_jsonl(out)) == 4


def test_malformed_command_line_exits_2():
    r = run("data", "--n", "many", "--out", "x.jsonl")
    assert r.returncode == 2 and "invalid int value" in r.stderr


def test_data_readme_command_on_a_csv_of_your_own(tmp_path):
    "The README's `--field prompt_field=question --field solution_field=answer` on a CSV with those columns."
    src = tmp_path / "my_problems.csv"
    src.write_text("question,answer\nWhat is 6 times 7?,42\nWhat is 10 minus 3?,7\n")
    out = tmp_path / "mine.jsonl"
    r = run("data", src, "--field", "prompt_field=question", "--field", "solution_field=answer", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "schema 'prompt_completion' detected" in r.stdout
    assert [row["solution"] for row in read_jsonl(out)] == ["42", "7"]
