"Loader, schema and bad-input tests for r1_budget.data, run on the fixture files through the real loading code."
import json
import warnings

import datasets
import pytest
from hypothesis import given, settings, strategies as st

from r1_budget import data as D
from r1_budget.data import (SYSTEM_PROMPT, SkippedRowsWarning, extract_answer, extract_boxed, extract_gsm8k_answer,
                            extract_last_number, filter_by_length, prepare_dataset, problem_key, train_test_split)
from conftest import read_jsonl

# ---- each schema, from its fixture file --------------------------------------------------------------------------

def test_gsm8k_file(fixtures):
    ds = prepare_dataset(fixtures / "gsm8k.jsonl", verbose=False)
    assert ds.column_names == ["prompt", "solution", "completion"]
    assert ds["solution"] == ["72", "4500", "-3", "6", "2.5"]
    first = ds[0]
    assert first["prompt"] == [{"role": "system", "content": SYSTEM_PROMPT},
                               {"role": "user", "content": read_jsonl(fixtures / "gsm8k.jsonl")[0]["question"]}]
    text = first["completion"][0]["content"]
    assert "<<" not in text and ">>" not in text          # calculator annotations removed
    assert "####" not in text
    assert extract_answer(text) == "72" and text.startswith("<think>\nNatalia sold 48/2 = 24 clips")


def test_numina_file(fixtures):
    ds = prepare_dataset(fixtures / "numina_tir.jsonl", verbose=False)
    assert ds.column_names == ["prompt", "solution", "completion"]   # the source's `messages` column is not kept
    assert ds["solution"] == [r"\frac{1}{2}", "2", r"\{1, 2\}", r"2\sqrt{3}"]
    assert extract_answer(ds[0]["completion"]) == r"\frac{1}{2}"


def test_bespoke_stratos_file(fixtures):
    ds = prepare_dataset(fixtures / "bespoke_stratos.jsonl", verbose=False)
    assert ds["solution"][0] == "56" and ds["solution"][2] == "2^{10}"
    assert ds["solution"][1].startswith("```python")            # a code problem: no \boxed{}, the solution text
    for row in ds:
        text = row["completion"][0]["content"]
        assert "<|begin_of_thought|>" not in text and "<|end_of_solution|>" not in text
        assert text.startswith("<think>\n") and "</think>\n<answer>\n" in text and text.endswith("\n</answer>")
        assert row["prompt"][0] == {"role": "system", "content": SYSTEM_PROMPT}  # Stratos' own system prompt replaced
    assert "I know 7*8 = 56" in ds[0]["completion"][0]["content"]


def test_prompt_completion_csv_reads_int_answers_as_text(fixtures):
    ds = prepare_dataset(fixtures / "prompt_completion.csv", verbose=False)
    assert ds["solution"] == ["42", "81"]
    assert ds[0]["completion"] == [{"role": "assistant", "content": "<think>6*7=42</think><answer>42</answer>"}]


def test_prompt_completion_parquet_with_messages(fixtures):
    ds = prepare_dataset(fixtures / "prompt_completion.parquet", verbose=False)
    assert ds[0]["prompt"][0] == {"role": "system", "content": SYSTEM_PROMPT}   # added where no system turn
    assert ds[1]["prompt"][0] == {"role": "system", "content": "Be brief."}    # kept where there is one
    assert ds["solution"] == ["5", "6"]


def test_prompt_field_renamed_like_the_seeds_dataset_prompt_field(fixtures):
    ds = prepare_dataset(fixtures / "prompt_only.jsonl", prompt_field="query", verbose=False)
    assert ds.column_names == ["prompt", "solution"]
    assert ds[1]["prompt"][-1] == {"role": "user", "content": "What is 2*2?"}


def test_solution_read_from_completions_when_no_solution_column(tmp_path, capsys):
    f = tmp_path / "sft.jsonl"
    f.write_text(json.dumps({"prompt": "2+2?", "completion": "<think>2+2</think><answer>4</answer>"}) + "\n")
    ds = prepare_dataset(f)
    assert ds["solution"] == ["4"]
    assert "gold answers are read from the completions" in capsys.readouterr().out


def test_schema_auto_detection_is_announced(fixtures, capsys):
    prepare_dataset(fixtures / "numina_tir.jsonl")
    assert "schema 'numina_tir' detected" in capsys.readouterr().out


def test_no_system_prompt(fixtures):
    ds = prepare_dataset(fixtures / "gsm8k.jsonl", system_prompt=None, verbose=False)
    assert [m["role"] for m in ds[0]["prompt"]] == ["user"]


def test_saved_dataset_folder_and_round_trip(fixtures, tmp_path):
    ds = prepare_dataset(fixtures / "gsm8k.jsonl", verbose=False)
    ds.save_to_disk(str(tmp_path / "saved"))
    again = prepare_dataset(tmp_path / "saved", verbose=False)            # canonical rows read back unchanged
    assert again.to_list() == ds.to_list()
    ds.to_json(str(tmp_path / "canon.jsonl"), lines=True)
    assert prepare_dataset(tmp_path / "canon.jsonl", verbose=False).to_list() == ds.to_list()


def test_split_slices_of_a_local_file(fixtures):
    assert len(prepare_dataset(fixtures / "gsm8k.jsonl", split="train[:2]", verbose=False)) == 2

# ---- the Hub code path ----------------------------------------------------------------------------------------------

def test_hub_ids_go_through_load_dataset_with_the_schemas_subset(monkeypatch, fixtures):
    calls = []
    rows = datasets.Dataset.from_list(read_jsonl(fixtures / "gsm8k.jsonl"))
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: calls.append((a, k)) or rows)
    ds = prepare_dataset("openai/gsm8k", split="test", verbose=False)
    assert calls == [(("openai/gsm8k", "main"), {"split": "test"})]
    assert len(ds) == 5


def test_hub_unreachable_is_a_clear_error():
    # HF_HUB_OFFLINE=1 in the test environment: the real loader fails at once, and the message says what to do.
    with pytest.raises(ValueError, match=r"could not load 'nobody/no-such-dataset' .* pass a local json/jsonl/csv/parquet"):
        prepare_dataset("nobody/no-such-dataset", verbose=False)

# ---- bad input: named source, row, field and what would be valid ------------------------------------------------------

BAD_CASES = [
    ("gsm8k_bad.jsonl", 1, "'answer' has no value (null)"),
    ("gsm8k_bad.jsonl", 2, "'answer' is empty"),
    ("gsm8k_bad.jsonl", 3, "'answer' has no final answer: GSM8K answers end with '#### <number>'"),
    ("gsm8k_bad.jsonl", 4, "'answer' has a final answer math-verify cannot parse: '@@'"),
    ("gsm8k_bad.jsonl", 5, "'question' is empty"),
    ("numina_tir_bad.jsonl", 1, "'solution' has no final answer"),
    ("numina_tir_bad.jsonl", 2, "'solution' has no final answer"),
    ("numina_tir_bad.jsonl", 3, "'solution' has a final answer math-verify cannot parse"),
    ("bespoke_stratos_bad.jsonl", 1, "'conversations' needs a user turn and an assistant turn"),
    ("bespoke_stratos_bad.jsonl", 2, "'conversations' assistant turn lacks <|end_of_solution|>"),
    ("bespoke_stratos_bad.jsonl", 3, "'conversations' turn 0 is not a user/assistant turn"),
    ("prompt_completion_bad.jsonl", 1, "'completion' is not in R1 format"),
    ("prompt_completion_bad.jsonl", 2, "'solution' is empty"),
    ("prompt_completion_bad.jsonl", 3, "'completion' is not in R1 format"),
]


@pytest.mark.parametrize("name,row,message", BAD_CASES)
def test_bad_row_is_named(fixtures, tmp_path, name, row, message):
    rows = read_jsonl(fixtures / name)
    f = tmp_path / name                              # the good first row, then the one bad row under test
    f.write_text("\n".join(json.dumps(r) for r in (rows[0], rows[row])) + "\n")
    with pytest.raises(ValueError) as e:
        prepare_dataset(f, verbose=False)
    assert f"row 1 of {name}: {message}" in str(e.value)
    assert "strict=False" in str(e.value)


@pytest.mark.parametrize("name", ["gsm8k_bad.jsonl", "numina_tir_bad.jsonl", "bespoke_stratos_bad.jsonl",
                                  "prompt_completion_bad.jsonl"])
def test_lenient_skips_bad_rows_and_reports_them(fixtures, name):
    n = len(read_jsonl(fixtures / name))
    with pytest.warns(SkippedRowsWarning, match=rf"skipped {n - 1} of {n} rows of {name}.*first: row 1 of {name}"):
        ds = prepare_dataset(fixtures / name, strict=False, verbose=False)
    assert len(ds) == 1


def test_all_rows_bad_is_an_error(tmp_path):
    f = tmp_path / "empty_answers.jsonl"
    f.write_text(json.dumps({"question": "q", "answer": ""}) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedRowsWarning)
        with pytest.raises(ValueError, match="none of its 1 rows could be converted"):
            prepare_dataset(f, strict=False, verbose=False)


def test_float_answers_are_refused_not_coerced(tmp_path):
    f = tmp_path / "floats.csv"
    f.write_text("prompt,solution\nhalf of 3?,1.50\n")
    with pytest.raises(ValueError, match=r"row 0 of floats.csv: 'solution' must be a string, got float 1.5.*loses digits"):
        prepare_dataset(f, verbose=False)


def test_missing_column_names_the_fields_and_the_argument(fixtures):
    with pytest.raises(ValueError, match=r"row 0 of numina_tir.jsonl: 'question' is missing \(fields: problem, solution, "
                                         r"messages\); pass question_field=\.\.\. to map it"):
        prepare_dataset(fixtures / "numina_tir.jsonl", schema="gsm8k", verbose=False)


def test_renamed_columns_with_field_map(fixtures, tmp_path):
    f = tmp_path / "renamed.jsonl"
    f.write_text("\n".join(json.dumps({"q": r["question"], "a": r["answer"]}) for r in read_jsonl(fixtures / "gsm8k.jsonl")))
    ds = prepare_dataset(f, schema="gsm8k", question_field="q", answer_field="a", verbose=False)
    assert ds["solution"][0] == "72"
    assert prepare_dataset(f, question_field="q", answer_field="a", verbose=False)["solution"] == ds["solution"]


@pytest.mark.parametrize("kwargs,message", [
    (dict(schema="alpaca"), r"unknown schema 'alpaca'; valid: 'auto', 'bespoke_stratos', 'numina_tir', 'gsm8k', 'prompt_completion'"),
    (dict(schema="gsm8k", prompt_field="x"), r"unknown field argument\(s\) \['prompt_field'\] for schema 'gsm8k'"),
    (dict(split="test"), r"single file, so its only split is 'train'"),
])
def test_bad_arguments(fixtures, kwargs, message):
    with pytest.raises(ValueError, match=message):
        prepare_dataset(fixtures / "gsm8k.jsonl", verbose=False, **kwargs)


def test_undetectable_schema(tmp_path):
    f = tmp_path / "text.jsonl"
    f.write_text(json.dumps({"text": "hello"}) + "\n")
    with pytest.raises(ValueError, match=r"cannot tell the schema from the columns \['text'\]; pass schema= one of"):
        prepare_dataset(f, verbose=False)


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        prepare_dataset(tmp_path / "nope.jsonl")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match=r"unsupported file type '.txt'; use one of \['.csv', '.json', '.jsonl', '.parquet'\]"):
        prepare_dataset(tmp_path / "notes.txt")

# ---- extractors: fuzzed -------------------------------------------------------------------------------------------------

EXTRACTORS = [extract_answer, extract_boxed, extract_gsm8k_answer, extract_last_number]
tagged_text = st.lists(st.sampled_from(list("ab 1,.-\n{}\\$#") + ["<answer>", "</answer>", "<think>", "</think>",
                                                                   "\\boxed", "\\boxed{", "\\fbox ", "####"])).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), tagged_text))
def test_extractors_never_raise_and_return_text_or_none(text):
    for f in EXTRACTORS:
        out = f(text)
        assert out is None or (isinstance(out, str) and out == out.strip() and out)


@given(reasoning=st.text(), answer=st.text().filter(lambda a: a.strip() and "<answer>" not in a and "</answer>" not in a))
def test_extract_answer_reads_back_what_was_formatted(reasoning, answer):
    text = f"<think>{reasoning}</think><answer>{answer}</answer>"
    assert extract_answer(text) == answer.strip()
    assert extract_answer(D.format_completion(reasoning, answer)) == answer.strip()


balanced = st.recursive(st.text(alphabet="abx12+-^ ", max_size=5),
                        lambda inner: st.builds(lambda a, b: a + "{" + b + "}", inner, inner), max_leaves=10)


@given(balanced.filter(lambda s: s.strip()), st.text(alphabet="ab {", max_size=10))
def test_extract_boxed_matches_nested_braces(content, noise):
    assert extract_boxed(f"{noise} \\boxed{{{content}}} done") == content.strip()


@given(st.integers(-10**12, 10**12))
def test_numbers_round_trip(n):
    assert extract_gsm8k_answer(f"so\n#### {n:,}") == str(n)
    assert extract_last_number(f"the total is {n:,} apples") == str(n)


def test_extractors_are_fast_on_pathological_input():
    import time
    evil = ["\\boxed{" * 50_000, "<answer>" * 50_000, "1," * 100_000, "-" * 100_000 + "1", "{" * 100_000]
    start = time.process_time()   # this process's CPU time: the same whatever else the machine is doing
    for text in evil:
        for f in EXTRACTORS: f(text)
    assert time.process_time() - start < 10   # ~0.1 s here; a quadratic scan of these would take minutes

# ---- splits and length filtering ------------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=3, max_size=60), st.integers(0, 5), st.floats(0.1, 0.5))
def test_split_is_disjoint_by_problem_and_deterministic(problems, seed, frac):
    ds = datasets.Dataset.from_list([dict(prompt=D.make_conversation(f"{p}+1=?", None), solution=str(p + 1))
                                     for p in problems])
    if len(set(problems)) < 2:
        return
    try:
        s = train_test_split(ds, test_size=frac, seed=seed)
    except ValueError as e:
        assert "at least one row" in str(e) or "nothing is left" in str(e)
        return
    train, test = set(map(problem_key, s["train"])), set(map(problem_key, s["test"]))
    assert not train & test and len(s["train"]) + len(s["test"]) == len(ds)
    assert s["test"]["prompt"] == train_test_split(ds, test_size=frac, seed=seed)["test"]["prompt"]


def test_filter_by_length_counts_with_the_chat_template(capsys):
    from transformers import PreTrainedTokenizerFast
    from tokenizers import Tokenizer, models, pre_tokenizers
    vocab = {c: i for i, c in enumerate(["[UNK]"] + list("<>abcdefghijklmnopqrstuvwxyz0123456789+=?*, \n"))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    t = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    t.chat_template = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}"
    ds = datasets.Dataset.from_list([dict(prompt=D.make_conversation("1" * n, None), solution="1",
                                          completion=D.format_completion("1" * n, "1", compact=True)) for n in (1, 5, 10, 20)])
    # "<user>" (6) + n + "<assistant>" (11) tokens
    out = filter_by_length(ds, t, max_prompt_tokens=6 + 10 + 11)
    assert [len(r["prompt"][0]["content"]) for r in out] == [1, 5, 10]
    assert "kept 3 of 4 rows (75.0%); dropped 1 with prompts over 27 tokens (longest 37)" in capsys.readouterr().out
    out = filter_by_length(ds, t, max_prompt_tokens=100, max_completion_tokens=33 + 10)
    assert [len(r["prompt"][0]["content"]) for r in out] == [1, 5, 10]
    assert "and 1 with completions over 43 tokens" in capsys.readouterr().out
    t.chat_template = None
    with pytest.raises(ValueError, match="no chat template"):
        filter_by_length(ds, t, max_prompt_tokens=10)
