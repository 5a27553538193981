"Rewards: fuzzing, adversarial inputs, regression cases from R1 reproductions, agreement with math-verify."
import math
import threading
import time

import pytest
from hypothesis import given, settings, strategies as st

from r1_budget import rewards as R
from r1_budget.reasoning_on_a_budget import ORIGINAL_REWARD_WEIGHTS, combine_rewards
from r1_budget.rewards import (REWARD_FUNCS, accuracy_reward, answers_match,
                               cosine_scaled_reward, format_reward, get_reward_funcs, parse_number, tag_count_reward)

RANGES = {"accuracy": (0, 1), "accuracy_cosine_scaled": (0, 1), "format": (0, 1), "tag_count": (0, 1),
          "reasoning": (0, 1), "conciseness": (0, 1), "repetition_penalty": (0, 1), "countdown": (0, 1)}


def score_all(completions, gold="42"):
    n = len(completions)
    cols = dict(solution=[gold] * n, numbers=[[2, 3, 4]] * n, target=[14] * n)
    return {name: f(completions, **cols) for name, f in REWARD_FUNCS.items()}


def assert_in_range(scores):
    for name, values in scores.items():
        lo, hi = RANGES[name]
        for v in values:
            assert isinstance(v, float) and math.isfinite(v) and lo <= v <= hi, (name, v)


# ---- nothing a model writes can break a reward ----------------------------------------------------------------------

ADVERSARIAL = [
    None, "", " ", 5, 3.5, [], {}, [{"role": "assistant", "content": None}], [{"role": "assistant", "content": 7}],
    [{"role": "assistant", "content": [{"type": "text", "text": "<answer>42</answer>"}]}],
    "x" * 1_000_000, "<think>" * 100_000, "</answer>" * 100_000, "\\boxed{" * 100_000, "{" * 200_000,
    "<answer>" + "9" * 5000 + "</answer>", "<answer>1e999999</answer>", "<answer>9**9**9**9</answer>",
    "<answer>9^{9^{9^{9}}}</answer>", "<answer>10^{10^{10}}</answer>", "<answer>(10^{6})!</answer>",
    "<answer>\\frac{" * 500 + "</answer>", "<answer>__import__('os').system('echo pwned')</answer>",
    "<answer>\\sum_{n=1}^{\\infty} n</answer>", "<answer>" + "(" * 1000 + "1" + ")" * 1000 + "</answer>",
    "<think>ünïcödé ∑ 😀</think><answer>４２</answer>", "<answer>\x00\x01\x02</answer>", "<answer>NaN</answer>",
    "<answer>inf</answer>", "<answer>-0</answer>", "\\boxed{\\boxed{\\boxed{42}}}", "<think><think></think></think>",
]


@pytest.mark.parametrize("completion", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_completion_scores_in_range_and_in_bounded_time(completion):
    start = time.process_time()   # CPU time, not wall time: a busy machine does not fail this
    assert_in_range(score_all([completion]))
    assert time.process_time() - start < 5     # a hang or a quadratic scan would blow far past this


def test_model_output_is_never_executed(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.chdir(tmp_path)
    score_all([f"<answer>__import__('pathlib').Path('{marker}').touch()</answer>",
               f"<answer>open('{marker}', 'w')</answer>"])
    assert not marker.exists()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(), st.text(alphabet="<>/thinkanswer{}\\boxed0123456789.,-$% \n\r")), min_size=1, max_size=4),
       st.text(max_size=20))
def test_fuzzed_completions_and_golds(completions, gold):
    assert_in_range(score_all(completions, gold or "1"))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=50), st.text(max_size=50))
def test_answers_match_never_raises(answer, gold):
    assert answers_match(answer, gold) in (True, False)


def test_rewards_work_off_the_main_thread():
    out = {}
    t = threading.Thread(target=lambda: out.update(r=accuracy_reward(["<answer>\\frac{1}{2}</answer>", "<answer>x^2</answer>"],
                                                                     solution=["0.5", "x^{2}"])))
    t.start(); t.join(60)
    assert out["r"] == [1.0, 1.0]

# ---- regression cases from R1 reproductions' issue trackers -------------------------------------------------------------

@pytest.mark.parametrize("completion,fmt,acc", [
    ("<think>x</think><answer>42</answer>", 1.0, 1.0),
    ("<think>x</think><answer>42</answer> I hope this helps!", 0.0, 1.0),          # trailing text after </answer>
    ("<think>x</think><answer>41</answer><answer>42</answer>", 0.0, 1.0),          # multiple answer blocks: the last counts
    ("<answer>42</answer><think>x</think>", 0.0, 1.0),                             # answer before think
    ("<think>x</think><answer></answer>", 0.0, 0.0),                               # empty answer
    ("<think>\r\nx\r\n</think>\r\n<answer>\r\n42\r\n</answer>\r\n", 1.0, 1.0),     # CRLF newlines
    ("<think>\nline one\nline two\n</think>\n<answer>\n42\n</answer>", 1.0, 1.0),  # multi-line (regex without DOTALL fails)
    ("<think>x</think><answer>$\\boxed{42}$</answer>", 1.0, 1.0),                  # boxed inside the answer
    ("<think>x</think><answer>42.0</answer>", 1.0, 1.0),                           # "18" vs "18.0" is not a LaTeX matter
        ("<think>x</think><answer>41 or 42</answer>", 1.0, 0.0),                       # hedging earns nothing
])
def test_regressions(completion, fmt, acc):
    assert format_reward([completion]) == [fmt]
    assert accuracy_reward([completion], solution=["42"]) == [acc]


def test_prefilled_think():
    c = "the model starts inside the thinking</think><answer>42</answer>"
    assert format_reward([c]) == [0.0] and format_reward([c], think_prefilled=True) == [1.0]
    assert tag_count_reward([c]) == [0.75] and tag_count_reward([c], think_prefilled=True) == [1.0]
    funcs, _ = get_reward_funcs({"format": 1.0, "reasoning": 1.0}, {"format": {"think_prefilled": True},
                                                                    "reasoning": {"think_prefilled": True}})
    assert funcs[0]([c]) == [1.0] and funcs[1]([c]) == [pytest.approx(1 / 3)]


def test_unparseable_gold_scores_zero_for_everyone_and_is_logged_once(caplog):
    gold = "@@ not math @@"
    with caplog.at_level("WARNING", logger="r1_budget.rewards"):
        r = accuracy_reward([f"<answer>{gold}</answer>", "<answer>1</answer>", "<answer>@@</answer>"], solution=[gold] * 3)
    assert r == [0.0, 0.0, 0.0]
    assert sum("cannot be parsed" in m for m in caplog.messages) == 1


def test_missing_columns_are_configuration_errors():
    with pytest.raises(ValueError, match="needs a 'solution' column"):
        cosine_scaled_reward(["<answer>1</answer>"])
    with pytest.raises(ValueError, match="got 2 completions but 1 'solution' values"):
        accuracy_reward(["a", "b"], solution=["1"])
    with pytest.raises(ValueError, match="needs a 'numbers' column"):
        REWARD_FUNCS["countdown"](["a"], target=[1])

# ---- the fast path agrees with math-verify ---------------------------------------------------------------------------------

AGREEMENT = [(a, g) for g in ["42", "-3", "0.5", "1234", "\\frac{1}{3}", "2.50", "100"]
             for a in ["42", "42.0", "-3", "\u22123", "0.5", ".5", "1/2", "\\frac{1}{2}", "\\dfrac{1}{2}", "1,234", "1234",
                       "0.333333", "0.3333", "1/3", "2.5", "5/2", "100", "100%", "1e2", "$42$", "\\$42", "42 apples",
                       "0.50", "-\\frac{6}{2}"]]


def test_answers_match_agrees_with_math_verify_wherever_it_parses_both():
    from math_verify import parse, verify
    checked = 0
    for answer, gold in AGREEMENT:
        g, a = parse(f"${gold}$", parsing_timeout=None), parse(f"${answer}$", parsing_timeout=None)
        if len(g) < 2 or len(a) < 2:
            continue
        checked += 1
        assert answers_match(answer, gold) == verify(g, a, timeout_seconds=None), (answer, gold)
    assert checked > 0.8 * len(AGREEMENT)


@given(st.integers(-10**9, 10**9), st.integers(1, 1000))
def test_parse_number_is_exact(num, den):
    from fractions import Fraction
    assert parse_number(str(num)) == num
    assert parse_number(f"{num:,}") == num
    assert parse_number(f"\\frac{{{abs(num)}}}{{{den}}}") == Fraction(abs(num), den)

# ---- registry, weights, the original project's combine_rewards ------------------------------------------------------------

def test_reward_names_are_the_original_projects_config_names():
    assert set(ORIGINAL_REWARD_WEIGHTS) <= set(REWARD_FUNCS)
    assert ORIGINAL_REWARD_WEIGHTS == {"accuracy_cosine_scaled": 0.5, "format": 0.1, "reasoning": 0.15,
                                       "conciseness": 0.05, "repetition_penalty": 0.2}


@pytest.mark.parametrize("weights,message", [
    ({}, "non-empty mapping"), ({"formatt": 1}, r"unknown reward 'formatt' \(did you mean \['format'\]"),
    ({"format": float("nan")}, "finite number >= 0"), ({"format": True}, "finite number >= 0"),
    ({"format": "1"}, "finite number >= 0"), ({"format": 0}, "all zero"),
])
def test_bad_weights(weights, message):
    with pytest.raises(ValueError, match=message):
        get_reward_funcs(weights)


def test_params_for_a_reward_not_weighted_is_an_error():
    with pytest.raises(ValueError, match=r"parameters given for reward\(s\) \['reasoning'\]"):
        get_reward_funcs({"format": 1}, {"reasoning": {"min_steps": 2}})


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet="<>/thinkanswer42 \n"), min_size=1, max_size=5),
       st.dictionaries(st.sampled_from(list(ORIGINAL_REWARD_WEIGHTS)), st.floats(0.01, 5), min_size=1))
def test_combine_rewards_is_the_weighted_average(completions, weights):
    kw = dict(solution=["42"] * len(completions))
    funcs, ws = get_reward_funcs(weights)
    parts = [f(completions, **kw) for f in funcs]
    combined = combine_rewards(weights)(completions, **kw)
    for i, c in enumerate(combined):
        assert c == pytest.approx(sum(w * p[i] for w, p in zip(ws, parts)) / sum(ws))


def test_bound_reward_functions_work_with_grpo_trainer_naming():
    funcs, _ = get_reward_funcs({"accuracy": 1.0, "format": 0.5})
    assert [f.__name__ for f in funcs] == ["accuracy", "format"]


def test_math_verify_budget_bounds_a_slow_comparison(endless_comparison):
    # On the main thread a comparison that outlives the budget is cut off, counted, and falls back to comparing text.
    before = R.timeout_count()
    assert answers_match("x^2", "x^{3}") is False       # the endless comparison returned: the bound fired
    assert answers_match("x^{3}", "x^{3}") is True      # identical text still matches
    assert R.timeout_count() - before == 2
