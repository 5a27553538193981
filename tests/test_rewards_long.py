"""The accuracy reward on the answers real models write: long worked solutions inside `<answer>`.

- The rows of issue 24's table score as expected.
- Differential: on generated worked solutions (prose, `$…$`, `\\(…\\)`, display math, numbered steps, tables) whose
  answer is boxed once, twice, in two notations, not boxed, or stated in a final sentence, our verdict equals
  math-verify's own `parse` + `verify` on the same text.
- Hacks stay closed: a right value in the working followed by a wrong final answer, "x or y", enumerations and boxes
  that differ score 0, whichever candidate the gold is.
"""
import random
import sys

import pytest
from conftest import ROOT

from r1_budget.rewards import MAX_ANSWER_CHARS, accuracy_reward, is_prose

sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from long_answers import ENDINGS, GOLDS, HACKS, long_answer, working  # noqa: E402

PAD = working(random.Random(0), 10)   # about 1,000 characters of working


def reward(gold: str, answer: str) -> float:
    return accuracy_reward([f"<think>w</think><answer>{answer}</answer>"], solution=[gold])[0]


@pytest.mark.parametrize("gold,answer,expected", [
    ("42", PAD + " Therefore the answer is $\\boxed{42}$.", 1.0),
    ("42", PAD + " Midway we get $\\boxed{42}$. " + PAD + " So the answer is $\\boxed{42}$.", 1.0),
    ("\\frac12", PAD + " So $\\boxed{\\frac12}$, i.e. $\\boxed{0.5}$.", 1.0),
    ("42", PAD + " The final answer is 42.", 1.0),
    ("(7,6)", PAD + " The solution of the system is $(7, 6)$.", 1.0),
    ("14916", PAD + " The final answer is $14{,}916$.", 1.0),
], ids=["boxed at the end", "boxed twice", "two notations", "final sentence", "a tuple", "grouped digits"])
def test_the_issues_table(gold, answer, expected):
    assert len(answer) > 500 and is_prose(answer)
    assert reward(gold, answer) == expected


def _math_verify(gold: str, text: str) -> bool:
    from math_verify import parse, verify
    return bool(verify(parse(f"${gold}$", parsing_timeout=None), parse(text, parsing_timeout=None), timeout_seconds=None))


CASES = [(gold, other, ending, seed) for seed in range(3) for gold, other in GOLDS for ending in ENDINGS
         if ending != "two notations" or other]


@pytest.mark.parametrize("gold,other,ending,seed", CASES, ids=[f"{g}|{e}|{s}" for g, _, e, s in CASES])
def test_long_answers_agree_with_math_verify(gold, other, ending, seed):
    answer = long_answer(random.Random(seed), gold, other, ending)
    assert reward(gold, answer) == float(_math_verify(gold, answer)), answer[-200:]
    # and right: math-verify reads a final sentence's plain numbers and simple LaTeX, not `3\sqrt{2}` or a tuple there
    if ending != "final sentence" or gold in ("42", "14916", "-5", "12", "\\frac{1}{2}", "\\frac{3}{4}"):
        assert reward(gold, answer) == 1.0, answer[-200:]


@pytest.mark.parametrize("gold,other", GOLDS)
def test_a_wrong_final_answer_is_wrong_for_both(gold, other):
    answer = long_answer(random.Random(1), "987654", None, "final sentence")
    assert reward(gold, answer) == 0.0 and not _math_verify(gold, answer)


@pytest.mark.parametrize("hack", HACKS)
@pytest.mark.parametrize("gold", ["42", "-5", "\\frac{3}{4}"])
def test_hacks_score_zero_whichever_candidate_is_right(hack, gold):
    for seed in range(3):
        answer = long_answer(random.Random(seed), gold, None, hack)
        assert reward(gold, answer) == 0.0, answer[-160:]


def test_a_list_gold_is_not_a_hedge():
    assert reward("-2, 1", PAD + " The roots are $\\boxed{-2}$ and $\\boxed{1}$.") == 1.0
    assert reward("-2, 1", PAD + " The roots are $-2$ and $1$.") == 1.0


def test_answers_over_the_cap_are_compared_as_text_only():
    huge = PAD * (MAX_ANSWER_CHARS // len(PAD) + 1) + " The final answer is 42."
    assert len(huge) > MAX_ANSWER_CHARS and reward("42", huge) == 0.0
    assert reward("42", huge[-5_000:]) == 1.0
