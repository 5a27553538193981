"""The accuracy reward's verdicts: the same as math-verify's, the same under load, and not for sale.

- Differential: for generated and hand-collected (gold, answer) pairs, `accuracy_reward` agrees with math-verify's own
  `parse` + `verify` (default settings, no time bound) wherever math-verify decides within a second.
- Same completion, same verdict: a LaTeX-heavy batch, long worked solutions included, scores identically in a fresh
  process on an idle machine and in a fresh process with both cores saturated.
- Hacking: completions that try to score without solving score 0; the correct forms of the same answers score 1.
- One regression test per defect class of issue 13.
"""
import json
import multiprocessing as mp
import os
import re
import subprocess
import sys
import time
from fractions import Fraction

import random

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings, strategies as st

from r1_budget import rewards as R
from r1_budget.rewards import accuracy_reward, answers_match, final_answer, normalize_constants, parse_number

sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from long_answers import GOLDS, long_answer  # noqa: E402


def math_verify_verdict(gold: str, answer: str):
    """math-verify alone: `parse` + `verify`, default settings, no time bound; `None` when it takes over a CPU second
    (CPU time of this process, so a busy machine does not change which pairs are decided).

    Strings go to `parse` inside `$…$` unless they already mark their math (`$`, `\\boxed`), as its docs ask."""
    from math_verify import parse, verify
    wrap = lambda s: s if re.search(r"(?<!\\)\$|\\boxed", s) else f"${s}$"
    start = time.process_time()
    g, a = parse(wrap(gold), parsing_timeout=None), parse(wrap(answer), parsing_timeout=None)
    verdict = bool(verify(g, a, timeout_seconds=None))
    return verdict if time.process_time() - start < 1.0 else None


def ours(gold: str, answer: str) -> bool:
    return accuracy_reward([f"<think>work</think><answer>{answer}</answer>"], solution=[gold]) == [1.0]


def assert_agrees(gold, answer):
    expected = math_verify_verdict(gold, answer)
    if expected is not None:
        assert ours(gold, answer) == expected, (gold, answer, expected)


# ---- generated pairs: numbers and LaTeX ------------------------------------------------------------------------------

def number_forms(value: Fraction):
    "Ways a person or a model writes `value`."
    forms = []
    if value.denominator == 1:
        n = value.numerator
        forms += [str(n), f"{n:,}", f"{n}.0", f"${n}$", f"\\boxed{{{n}}}", f"{n}.00"]
    else:
        p, q = abs(value.numerator), value.denominator
        sign = "-" if value < 0 else ""
        forms += [f"{sign}{p}/{q}", f"{sign}\\frac{{{p}}}{{{q}}}", f"{sign}\\dfrac{{{p}}}{{{q}}}"]
        if 10**6 % q == 0 or q in (2, 4, 5, 8, 10, 20, 25, 50, 100):
            forms.append(f"{float(value):.6f}".rstrip("0"))
    return forms


fractions = st.builds(Fraction, st.integers(-5000, 5000), st.sampled_from([1, 1, 2, 3, 4, 5, 7, 8, 10, 12, 25, 100]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fractions, fractions, st.data())
def test_numbers_agree_with_math_verify(x, y, data):
    gold = data.draw(st.sampled_from(number_forms(x)))
    answer = data.draw(st.sampled_from(number_forms(x) + number_forms(y)))
    assert_agrees(gold, answer)


LATEX_TEMPLATES = [
    "\\sqrt{{{a}}}", "{b}\\sqrt{{{a}}}", "\\frac{{{b}}}{{\\sqrt{{{a}}}}}", "\\frac{{{b}\\pi}}{{{a}}}", "{b}\\pi",
    "\\pi/{a}", "[{b}, {c})", "({b}, {c}]", "\\{{{b}, {c}\\}}", "({b}, {c})", "x = {b}", "x \\geq {b}", "x < {c}",
    "\\begin{{pmatrix}} {a} & {b} \\\\ {c} & 1 \\end{{pmatrix}}", "{b}^{{{a}}}", "\\log_{{{a}}} {c}", "{a}e",
    "e^{{{b}}}", "{b} + {a}i", "\\frac{{{b}}}{{{a}}}", "x^2 - {a}", "y = {b}x + {c}",
]


def latex(template, a, b, c):
    return template.format(a=a, b=b, c=c)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(LATEX_TEMPLATES), st.sampled_from(LATEX_TEMPLATES), st.integers(2, 9), st.integers(1, 9),
       st.integers(10, 20), st.booleans())
def test_latex_agrees_with_math_verify(t1, t2, a, b, c, same):
    gold = latex(t1, a, b, c)
    answer = latex(t1 if same else t2, a, b if same else b + 1, c)
    assert_agrees(gold, answer)


# ---- hand-collected pairs: forms that trip up answer checkers ---------------------------------------------------------

COLLECTED = [
    ("\\frac{\\pi}{2}", "\\pi/2"), ("\\frac{\\pi}{2}", "\\frac{1}{2}\\pi"), ("\\frac{\\pi}{2}", "1.5707963"),
    ("2\\sqrt{3}", "\\sqrt{12}"), ("\\sqrt{2}/2", "\\frac{1}{\\sqrt{2}}"), ("3\\sqrt{2}", "3"),
    ("\\left[ 2, 5 \\right)", "[2,5)"), ("(-\\infty, 3]", "x \\leq 3"), ("(1, 2)", "(2, 1)"),
    ("\\{1, 2, 3\\}", "\\{3, 2, 1\\}"), ("\\{1, 2\\}", "\\{1, 2, 3\\}"), ("(3, -1)", "(3,-1)"), ("(3, -1)", "(-1, 3)"),
    ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}"),
    ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix} 1 & 2 \\\\ 4 & 3 \\end{pmatrix}"),
    ("x = 2", "2"), ("y = 2x + 1", "y = 1 + 2x"), ("x^2 + 2x + 1", "(x+1)^2"), ("x \\geq 5", "Therefore $x \\geq 5$."),
    ("5", "Therefore $x = 5$."), ("-2, 1", "\\boxed{-2} \\text{ and } \\boxed{1}"), ("1, -2", "x = 1, x = -2"),
    ("\\frac{3}{4}", "0.75"), ("0.75", "75\\%"), ("1,000", "1000"), ("\\$18.50", "18.5"), ("18", "18 \\text{ cm}"),
    ("2^{10}", "1024"), ("10^{6}", "1000000"), ("e^{2}", "\\exp(2)"), ("1 - \\frac{1}{\\mathrm{e}}", "1 - e^{-1}"),
    ("\\frac{1}{3}", "0.3333"), ("\\frac{1}{3}", "0.333333"), ("3 + 2i", "2i + 3"), ("\\log_2 8", "3"),
    ("\\text{(B)}", "B"), ("12", "twelve"), ("45^\\circ", "45"), ("\\dfrac{7}{2}", "3.5"),
]


@pytest.mark.parametrize("gold,answer", COLLECTED, ids=range(len(COLLECTED)))
def test_collected_pairs_agree_with_math_verify(gold, answer):
    # Golds with upright constants are compared as math-verify reads them once normalised (see test_constants_...).
    expected = math_verify_verdict(normalize_constants(gold), normalize_constants(answer))
    if expected is None:
        pytest.skip("math-verify takes over a second on this pair")
    assert ours(gold, answer) == expected


def test_most_collected_pairs_are_decided():
    decided = [p for p in COLLECTED if math_verify_verdict(*p) is not None]
    assert len(decided) == len(COLLECTED)
    assert 10 < sum(math_verify_verdict(*p) for p in decided) < len(decided) - 5   # both verdicts well represented


# ---- same completion, same verdict ------------------------------------------------------------------------------------

LATEX_BATCH = [(g, a) for g, a in COLLECTED if "\\" in g + a] + [
    ("\\frac{\\pi}{2}", "\\pi/2"), ("\\begin{pmatrix} 2 & 0 \\\\ 0 & 2 \\end{pmatrix}", "2\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}"),
    ("\\sqrt{8}+\\sqrt{18}", "5\\sqrt{2}"), ("\\frac{x^2-1}{x-1}", "x+1"), ("\\sin^2 x + \\cos^2 x", "1"),
] + [   # long worked solutions, as real models write them (tests/fixtures/long_answers.py)
    (g, long_answer(random.Random(i), g, o, e, sentences=30)) for i, ((g, o), e) in enumerate(
        zip(GOLDS, ["boxed twice", "final sentence", "two notations", "final math", "final math", "boxed once",
                    "two notations", "final sentence", "final math", "x or y"]))
]
SCORE = """
import json, sys, time
from r1_budget.rewards import accuracy_reward, timeout_count
pairs, out, slowest = json.loads(sys.stdin.read()), [], 0.0
for g, a in pairs:
    start = time.perf_counter()
    out += accuracy_reward([f"<answer>{a}</answer>"], solution=[g])
    slowest = max(slowest, time.perf_counter() - start)
print(json.dumps({"rewards": out, "timeouts": timeout_count(), "slowest_s": slowest}))
"""


def score_in_fresh_process():
    "Score LATEX_BATCH in a new interpreter: cold math-verify, sympy and reward caches."
    r = subprocess.run([sys.executable, "-c", SCORE], input=json.dumps(LATEX_BATCH), capture_output=True, text=True,
                       timeout=600, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def _burn(stop):
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def test_same_verdicts_idle_and_with_both_cores_saturated():
    idle = score_in_fresh_process()
    stop = mp.Event()
    burners = [mp.Process(target=_burn, args=(stop,)) for _ in range(2 * (os.cpu_count() or 2))]
    for p in burners: p.start()
    try:
        loaded = score_in_fresh_process()
    finally:
        stop.set()
        for p in burners: p.join(10)
    assert idle["rewards"] == loaded["rewards"]
    assert idle["timeouts"] == loaded["timeouts"] == 0
    assert sum(idle["rewards"]) > 5
    assert idle["rewards"][-10:] == [1.0] * 9 + [0.0]   # the long solutions: right, but the last one hedges
    # Its slowest comparisons take over 50 ms here (the regime where a wall-time bound broke the first version); not
    # asserted, since a faster CPU is no defect. The budget is CPU time, which other processes do not consume.


# ---- reward hacking -----------------------------------------------------------------------------------------------------

SYMBOLIC_GOLDS = {  # gold: (the correct answer in another form, attempts that must score 0)
    "1 - \\frac{1}{\\mathrm{e}}": ("1 - e^{-1}", ["1", "0", "e", "1 - \\frac{1}{e^{2}}"]),
    "2\\mathrm{e}": ("2e", ["2", "e", "2\\pi"]),
    "\\mathrm{e}^{2}": ("e^2", ["2", "e"]),
    "3 + 2\\mathrm{i}": ("3 + 2i", ["3", "2", "3 - 2i"]),
    "3\\sqrt{2}": ("\\sqrt{18}", ["3", "2", "18"]),
    "\\frac{\\pi}{2}": ("\\pi/2", ["2", "\\pi", "1.57"]),
    "4": ("\\frac{8}{2}", ["1, 2, 3, 4, 5", "3 or 4", "4 or 5", "\\{3, 4\\}", "x = 3, x = 4", "3, 4", "[3, 5]"]),
    "-2, 1": ("\\boxed{-2} \\text{ and } \\boxed{1}", ["-2", "1", "-2, 1, 3"]),
}


@pytest.mark.parametrize("gold", SYMBOLIC_GOLDS)
def test_attempts_to_score_without_solving_score_zero(gold):
    right, attempts = SYMBOLIC_GOLDS[gold]
    assert ours(gold, right), (gold, right)
    for attempt in attempts:
        assert not ours(gold, attempt), (gold, attempt)


@pytest.mark.parametrize("completion", [
    "<think>it is 3 or 4</think><answer>\\boxed{3} \\boxed{4}</answer>",       # several boxes inside the answer
    "I will guess: \\boxed{3}, \\boxed{4}",                                     # several boxes, no answer tags
    "<answer>3</answer><answer>4</answer> <answer>3, 4</answer>",             # the last answer is an enumeration
    "<think></think><answer></answer>",                                        # empty reasoning, empty answer
    "<think></think><answer> </answer>", "<think>4</think>",                   # empty answer; answer only in thought
    "<answer>\\text{4 is one of } 1, 2, 3, 4</answer>",
])
def test_hedging_and_empty_completions_score_zero(completion):
    assert accuracy_reward([completion], solution=["4"]) == [0.0]
    assert R.format_reward(["<think></think><answer>4</answer>"]) == [0.0]   # empty reasoning earns no format reward


# ---- one regression test per defect class ----------------------------------------------------------------------------

def test_a_fired_bound_passes_through_math_verify_and_is_not_cached(monkeypatch):
    from math_verify import parse
    from r1_budget.answers import parse_math
    R._warm_up()
    parse_math.cache_clear()
    calls = []

    def interrupted_parse(s, **kw):
        calls.append(s)
        if len(calls) == 1:
            raise R.BudgetExceeded()     # what the timer raises inside math-verify's `except Exception` blocks
        return parse(s, **kw)
    monkeypatch.setattr("math_verify.parse", interrupted_parse)
    with pytest.raises(R.BudgetExceeded):
        parse_math("\\frac{\\pi}{2}")
    assert len(parse_math("\\frac{\\pi}{2}")) == 2     # parsed afresh, not the interrupted result
    parse_math.cache_clear()


def test_math_verify_internals_do_not_swallow_the_bound():
    # The exception must derive from BaseException only: math-verify wraps its work in `except Exception`.
    assert not issubclass(R.BudgetExceeded, Exception)
    from math_verify.errors import TimeoutException
    assert not issubclass(R.BudgetExceeded, TimeoutException)  # math-verify also catches its own timeout


def test_golds_are_parsed_with_their_own_generous_budget(monkeypatch):
    seen = []
    real = R.cpu_bounded
    monkeypatch.setattr(R, "cpu_bounded", lambda fn, budget, *a: (seen.append((fn.__name__, budget)), real(fn, budget, *a))[1])
    R.parse_math.cache_clear()
    assert answers_match("\\pi/2", "\\frac{\\pi}{2}")
    assert ("parse_math", R.GOLD_BUDGET_S) in seen and ("_verify", R.ANSWER_BUDGET_S) in seen
    assert R.GOLD_BUDGET_S >= 10 * R.ANSWER_BUDGET_S >= 10 * 1.0


def test_timeouts_are_logged_as_a_metric(endless_comparison):
    logged = {}
    out = accuracy_reward(["<answer>x^{2}+1</answer>", "<answer>7</answer>"], solution=["1+x^2", "7"],
                          log_metric=logged.__setitem__)
    assert out == [0.0, 1.0]     # the number needs no math-verify
    assert logged == {"rewards/accuracy/timeouts": 1.0}
    logged.clear()
    R.cosine_scaled_reward(["<answer>x^{2}+1</answer>"], solution=["1+x^2"], log_metric=logged.__setitem__)
    assert logged == {"rewards/accuracy_cosine_scaled/timeouts": 1.0}


def test_several_boxes_are_one_answer():
    assert final_answer("<answer>\\boxed{-2} \\text{ and } \\boxed{1}</answer>") == "-2, 1"   # differ: a list
    assert final_answer("<answer>\\boxed{2\\sqrt{2}} so \\boxed{\\sqrt{8}}</answer>") == "\\sqrt{8}"   # agree: one
    assert ours("-2, 1", "\\boxed{-2} \\text{ and } \\boxed{1}")
    assert not ours("1", "\\boxed{-2} \\text{ and } \\boxed{1}")
    assert accuracy_reward(["first \\boxed{5}, then \\boxed{1}"], solution=["1"]) == [0.0]
    assert accuracy_reward(["so \\boxed{1}"], solution=["1"]) == [1.0]


def test_prose_with_inline_math_is_not_wrapped_again():
    assert ours("x \\geq 5", "Therefore $x \\geq 5$.")
    assert not ours("x \\geq 6", "Therefore $x \\geq 5$.")


def test_constants_written_upright_are_normalised():
    assert normalize_constants("\\frac{1}{\\mathrm{e}} + \\text{i}") == "\\frac{1}{e} + i"
    assert not ours("1 - \\frac{1}{\\mathrm{e}}", "1")
    assert not ours("2\\mathrm{e}", "2")
    assert ours("2\\mathrm{e}", "2e")
    assert parse_number("2 e") is None and parse_number("2 m") == 2   # a lone e is a constant, not a unit


@pytest.mark.parametrize("text", ["0,111", "00,123", "0,5", "01,000"])
def test_thousands_groups_need_a_nonzero_lead(text):
    assert parse_number(text) is None
    assert parse_number("1,000") == 1000 and parse_number("10,111") == 10111
