"Synthetic tasks: correct answers, solvable countdowns, distinct and reproducible problems, a safe evaluator."
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from conftest import ROOT

from r1_budget.data import extract_answer, problem_key, train_test_split
from r1_budget.tasks import (ASK_FOR_WORK, COUNTDOWN_LEVELS, MULTIPLY_LEVELS, SHOP_LEVELS, check_countdown,
                             evaluate_expression, make_synthetic_dataset, multiply_trace, shows_work)


@pytest.mark.parametrize("level", sorted(MULTIPLY_LEVELS))
def test_multiply_answers_and_traces_are_right(level):
    ds = make_synthetic_dataset("multiply", n=50, seed=level, difficulty=level)
    da, db = MULTIPLY_LEVELS[level]
    for r in ds:
        a, b = map(int, r["prompt"][-1]["content"].removesuffix("=?").split("*"))
        assert (len(str(a)), len(str(b))) == (da, db)
        assert r["solution"] == str(a * b) == extract_answer(r["completion"])
        trace = r["completion"][0]["content"].split("<think>")[1].split("</think>")[0]
        if b >= 10: assert sum(int(x) for x in trace.split("=")[-1].split("+")) == a * b   # the partial products add up
        else: assert read_long_product(trace) == a * b                                     # the digits spell the product


@pytest.mark.parametrize("level", sorted(COUNTDOWN_LEVELS))
def test_countdown_problems_are_solvable_by_their_reference(level):
    k, hi = COUNTDOWN_LEVELS[level]
    ds = make_synthetic_dataset("countdown", n=100, seed=level, difficulty=level)
    for r in ds:
        assert len(r["numbers"]) == k and all(1 <= x <= hi for x in r["numbers"])
        assert r["solution"] == str(r["target"]) and r["target"] > 0
        assert extract_answer(r["completion"]) == r["expression"]
        assert check_countdown(r["expression"], r["numbers"], r["target"])
        assert r["prompt"][-1]["content"].endswith(f"make {r['target']}.")


@pytest.mark.parametrize("level", sorted(SHOP_LEVELS))
def test_shop_answers_and_traces_are_right(level):
    import re
    most_k, most_n = SHOP_LEVELS[level]
    ds = make_synthetic_dataset("shop", n=200, seed=level, difficulty=level)
    for r in ds:
        k, n, sold = map(int, re.findall(r"\d+", r["prompt"][-1]["content"]))
        assert 2 <= k <= most_k and 2 <= n <= most_n and 1 <= sold < k * n
        assert r["solution"] == str(k * n - sold) == extract_answer(r["completion"])
        trace = r["completion"][0]["content"].split("<think>")[1].split("</think>")[0]
        assert trace in (f"{k}*{n}={k * n},{k * n}-{sold}={k * n - sold}", f"={k * n - sold}")   # worked, or the shortcut
        assert shows_work(r["completion"][0]["content"]) == ("*" in trace)


@pytest.mark.parametrize("task", ["multiply", "countdown", "shop"])
def test_problems_are_distinct_and_reproducible(task):
    a = make_synthetic_dataset(task, n=300, seed=7)
    assert len(set(map(problem_key, a))) == 300
    assert a.to_list() == make_synthetic_dataset(task, n=300, seed=7).to_list()
    assert a["prompt"] != make_synthetic_dataset(task, n=300, seed=8)["prompt"]


def test_whole_problem_space_and_a_disjoint_held_out_set():
    ds = make_synthetic_dataset("multiply", n=720, seed=0, difficulty=2)     # every 2-digit x 1-digit problem
    s = train_test_split(ds, test_size=200, seed=0)
    assert not set(map(problem_key, s["train"])) & set(map(problem_key, s["test"]))


@pytest.mark.parametrize("kwargs,message", [
    (dict(task="division"), r"unknown task 'division'; valid: \['multiply', 'countdown', 'shop'\]"),
    (dict(task="multiply", difficulty=9), r"difficulty 9 is not a level of 'multiply'; valid: \[1, 2, 3, 4, 5\]"),
    (dict(task="multiply", n=0), "n must be a positive integer"),
    (dict(task="multiply", n=65, difficulty=1), "has only 64 distinct problems, asked for 65"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_synthetic_dataset(**kwargs)


def test_repeats_allowed_when_asked():
    assert len(make_synthetic_dataset("multiply", n=100, difficulty=1, unique=False)) == 100


def test_no_system_prompt_gives_short_prompts():
    r = make_synthetic_dataset("multiply", n=1, system_prompt=None)[0]
    assert r["prompt"] == [{"role": "user", "content": r["prompt"][0]["content"]}]


def read_long_product(trace):
    "The product a long-multiplication trace spells: the last result, then earlier units digits, last to first."
    results = [step.split("=")[1] for step in trace.split(",")]
    return int(results[-1] + "".join(r[-1] for r in reversed(results[:-1])))


def test_multiply_trace_examples():
    assert multiply_trace(47, 6) == "7*6=42,4*6+4=28"
    assert multiply_trace(305, 7) == "5*7=35,0*7+3=3,3*7=21"
    assert multiply_trace(123, 45) == "123*45=123*40+123*5=4920+615"


@given(st.integers(1, 10**6), st.integers(1, 9))
def test_long_multiplication_steps_are_small_and_spell_the_product(a, b):
    trace = multiply_trace(a, b)
    assert read_long_product(trace) == a * b
    for step in trace.split(","):
        lhs, rhs = step.split("=")
        digit, rest = lhs.split("*")
        assert len(digit) == 1 and int(rhs) < 90                  # a times-table fact plus a carry below 9


@pytest.mark.parametrize("task,difficulty", [("multiply", 3), ("countdown", 2), ("shop", 1)])
def test_shortcut_traces_keep_problems_and_answers(task, difficulty):
    full = make_synthetic_dataset(task, n=400, seed=1, difficulty=difficulty)
    mixed = make_synthetic_dataset(task, n=400, seed=1, difficulty=difficulty, shortcut_rate=0.5)
    assert mixed["prompt"] == full["prompt"] and mixed["solution"] == full["solution"]
    skipped = [not shows_work(r["completion"]) for r in mixed]
    assert 0.4 < sum(skipped) / 400 < 0.6
    assert all(shows_work(r["completion"]) for r in full)
    for r, s in zip(mixed, skipped):
        assert extract_answer(r["completion"]) == extract_answer(full[mixed["prompt"].index(r["prompt"])]["completion"])
    all_skipped = make_synthetic_dataset(task, n=50, seed=1, difficulty=difficulty, shortcut_rate=1.0)
    assert not any(shows_work(r["completion"]) for r in all_skipped)


@pytest.mark.parametrize("rate", [-0.1, 1.01, float("nan")])
def test_shortcut_rate_out_of_range(rate):
    with pytest.raises(ValueError, match="shortcut_rate must be between 0 and 1"):
        make_synthetic_dataset(n=5, shortcut_rate=rate)

# ---- the evaluator never runs anything but arithmetic ------------------------------------------------------------------

@pytest.mark.parametrize("expr", ["__import__('os').system('echo hi')", "open('x')", "2**10", "9**9**9", "1//2", "x+1",
                                  "[1,2]", "lambda: 1", "1 if 1 else 2", "1.5+1", "(" * 500 + "1" + ")" * 500, "1;2", ""])
def test_evaluator_refuses_everything_but_arithmetic(expr):
    with pytest.raises(ValueError):
        evaluate_expression(expr)
    assert not check_countdown(expr, [1, 2], 3)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789+-*/() .x_", max_size=60))
def test_evaluator_raises_only_value_errors(expr):
    try:
        value, used = evaluate_expression(expr)
    except ValueError:
        return
    assert isinstance(value, Fraction) and all(isinstance(u, int) for u in used)


exprs = st.recursive(st.integers(0, 50).map(lambda n: (str(n), Fraction(n))),
                     lambda inner: st.tuples(inner, st.sampled_from("+-*"), inner).map(
                         lambda t: (f"({t[0][0]}){t[1]}({t[2][0]})",
                                    {"+": t[0][1] + t[2][1], "-": t[0][1] - t[2][1], "*": t[0][1] * t[2][1]}[t[1]])),
                     max_leaves=8)


@given(exprs)
def test_evaluator_computes_exactly(pair):
    text, expected = pair
    assert evaluate_expression(text)[0] == expected


def test_check_countdown_needs_every_number_once_and_the_target():
    assert check_countdown("(8-2)*4", [2, 4, 8], 24)
    assert check_countdown("8/2*(4+2)", [2, 2, 4, 8], 24)
    assert check_countdown("24 × 1", [1, 24], 24)                 # the multiplication sign models write
    assert not check_countdown("8*4-2*4", [2, 4, 8], 24)         # 4 used twice
    assert not check_countdown("8*2+4", [2, 4, 8], 24)           # wrong value
    assert not check_countdown("8/0+2+4", [0, 2, 4, 8], 24)      # division by zero


def test_habit_probe_reads_the_first_token_of_either_trace(tmp_path):
    "tools/habit_probe.py: one probability per problem, in (0, 1), split by whether the prompt asks for the work."
    import sys
    from r1_budget.models import build_tiny_model
    sys.path.insert(0, str(ROOT / "tools"))
    from habit_probe import habit_probabilities
    rows = make_synthetic_dataset("multiply", n=40, seed=3, difficulty=3, system_prompt=None, shortcut_rate=0.8,
                                  shortcut_on="unasked")
    habit = habit_probabilities(build_tiny_model(tmp_path / "m", size="tiny"), rows)
    asked = sum(r["prompt"][-1]["content"].startswith(ASK_FOR_WORK) for r in rows)
    assert (len(habit["asked"]), len(habit["unasked"])) == (asked, len(rows) - asked) and 0 < asked < len(rows)
    assert all(0 < p < 1 for ps in habit.values() for p in ps)
