"""Reward throughput: r1_budget's rewards against TRL's `accuracy_reward` on the same batch.

Scores 2,048 GSM8K-style completions (right, wrong and malformed; 100-600 tokens) with
  - r1_budget's accuracy reward,
  - the original project's five weighted rewards (r1_budget), and
  - TRL's `trl.rewards.accuracy_reward` (math-verify on every completion),
and prints completions per second side by side with the ratios. Targets: our accuracy reward at least 10x TRL's,
and the whole five-reward set faster than TRL's accuracy reward alone. Then times the slowest single completion
of an adversarial set.
Then the same comparison on a LaTeX-heavy batch (fractions of pi, roots, intervals, sets, matrices, complex numbers),
and on a batch of long worked solutions (1,000-3,000 characters of prose and LaTeX inside `<answer>`, the answer
boxed once or twice, in two notations, or stated in a final sentence; tests/fixtures/long_answers.py): half right.

    .venv/bin/python benchmarks/rewards.py [--n 2048] [--seed 0] [--n-long 256]
"""
import argparse
import logging
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fixtures"))
from long_answers import ENDINGS, GOLDS, long_answer  # noqa: E402

WORDS = ("so we add the two amounts then multiply by the number of days which gives the total "
         "she had left after paying for each item and the rest was shared equally").split()


def make_batch(n, seed):
    rng = random.Random(seed)
    completions, solutions = [], []
    for i in range(n):
        gold = rng.randint(1, 5000)
        reasoning = " ".join(rng.choice(WORDS) for _ in range(rng.randint(75, 450)))   # ~100-600 tokens
        kind = i % 5
        if kind in (0, 1):   answer = f"<answer>\n$\\boxed{{{gold:,}}}$\n</answer>"                 # right
        elif kind in (2, 3): answer = f"<answer>\n$\\boxed{{{gold + rng.randint(1, 9)}}}$\n</answer>"  # wrong
        else:                answer = rng.choice(["I am not sure.", f"<answer>{gold}", "<answer></answer>"])  # malformed
        completions.append([{"role": "assistant", "content": f"<think>\n{reasoning}\n</think>\n{answer}"}])
        solutions.append(str(gold))
    return completions, solutions


LATEX_FORMS = [  # (gold, the same value written another way)
    ("\\frac{{{a}\\pi}}{{{b}}}", "{a}\\pi/{b}"), ("{a}\\sqrt{{{c}}}", "\\sqrt{{{a2c}}}"), ("[{a}, {b})", "\\left[{a},{b}\\right)"),
    ("\\{{{a}, {b}\\}}", "\\{{{b}, {a}\\}}"), ("x = {a}", "{a}"), ("x \\geq {a}", "x \\ge {a}"), ("({a}, {b})", "({a},{b})"),
    ("\\begin{{pmatrix}} {a} & {b} \\\\ {c} & 1 \\end{{pmatrix}}", "\\begin{{bmatrix}} {a} & {b} \\\\ {c} & 1 \\end{{bmatrix}}"),
    ("{a} + {b}i", "{b}i + {a}"), ("e^{{{a}}}", "\\exp({a})"),
]


def as_batch(rows):
    "(completions, solutions) from (answer, gold) rows: each answer in `<answer>` after a short `<think>`."
    return ([[{"role": "assistant", "content": f"<think>\nworking\n</think>\n<answer>\n{answer}\n</answer>"}]
             for answer, _ in rows], [gold for _, gold in rows])


def make_latex_batch(n, seed):
    "Completions whose gold and answer are LaTeX (fractions of pi, roots, intervals, sets, matrices...): half right."
    rng, rows = random.Random(seed), []
    for i in range(n):
        gold_t, same_t = LATEX_FORMS[i % len(LATEX_FORMS)]
        a, b, c = rng.randint(2, 99), rng.randint(100, 199), rng.choice([2, 3, 5, 6, 7])
        gold = gold_t.format(a=a, b=b, c=c, a2c=a * a * c)
        answer = same_t.format(a=a, b=b, c=c, a2c=a * a * c) if i % 2 == 0 else same_t.format(a=a + 1, b=b, c=c, a2c=(a + 1) ** 2 * c)
        rows.append((f"${answer}$", gold))
    return as_batch(rows)


def make_long_batch(n, seed):
    "Long worked solutions (1,000-3,000 characters) ending in the answer given one of several ways: half right."
    rng, rows = random.Random(seed), []
    for i in range(n):
        gold, other = GOLDS[i % len(GOLDS)]
        plain = gold.lstrip("-").isdigit()   # LaTeX in a final sentence goes inside $…$, as models write it
        endings = [e for e in ENDINGS if (e != "two notations" or other) and (e != "final sentence" or plain)]
        said = gold if i % 2 == 0 else str(rng.randint(100, 999))   # half give a wrong number
        rows.append((long_answer(rng, said, other if i % 2 == 0 else None, endings[(i // 2) % len(endings)],
                                 sentences=rng.randint(8, 25)), gold))
    return as_batch(rows)


def rate(fn, completions, solutions, repeat=1):
    start = time.perf_counter()
    for _ in range(repeat):
        out = fn(completions, solution=solutions)
    return len(completions) * repeat / (time.perf_counter() - start), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--n-latex", type=int, default=256)
    ap.add_argument("--n-long", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    from trl.rewards import accuracy_reward as trl_accuracy
    from r1_budget.reasoning_on_a_budget import ORIGINAL_REWARD_WEIGHTS, combine_rewards
    from r1_budget.rewards import accuracy_reward, REWARD_FUNCS, _warm_up, timeout_count

    completions, solutions = make_batch(args.n, args.seed)
    _warm_up(); trl_accuracy(completions[:2], solutions[:2])      # imports and sympy caches, for both sides
    original_five = combine_rewards(ORIGINAL_REWARD_WEIGHTS)

    ours, ours_out = rate(accuracy_reward, completions, solutions, repeat=3)
    five, _ = rate(original_five, completions, solutions, repeat=3)
    trl, trl_out = rate(trl_accuracy, completions, solutions)
    agree = sum((a == 1.0) == (t == 1.0) for a, t in zip(ours_out, trl_out)) / len(ours_out)

    print(f"batch: {args.n} completions, {sum(ours_out):.0f} right by our accuracy reward, {sum(t or 0 for t in trl_out):.0f} by TRL's")
    print(f"{'':34}{'completions/s':>15}{'vs TRL accuracy':>18}")
    print(f"{'TRL accuracy_reward':34}{trl:15,.0f}{1.0:17.1f}x")
    print(f"{'r1_budget accuracy':34}{ours:15,.0f}{ours / trl:17.1f}x   (target >= 10x)")
    print(f"{'the original five, combined':34}{five:15,.0f}{five / trl:17.1f}x   (target > 1x)")
    print(f"verdicts agreeing with TRL's: {agree:.1%}")

    for title, (batch, golds) in (("LaTeX-heavy batch", make_latex_batch(args.n_latex, args.seed)),
                                  ("Long worked solutions", make_long_batch(args.n_long, args.seed))):
        chars = sorted(len(c[0]["content"]) for c in batch)
        ours_b, ours_b_out = rate(accuracy_reward, batch, golds)
        trl_b, trl_b_out = rate(trl_accuracy, batch, golds)
        print(f"\n{title}: {len(batch)} completions of {chars[0]:,}-{chars[-1]:,} characters (half right), "
              f"{sum(ours_b_out):.0f} right by ours, {sum(t or 0 for t in trl_b_out):.0f} by TRL's")
        print(f"{'TRL accuracy_reward':34}{trl_b:15,.0f}{1.0:17.1f}x")
        print(f"{'r1_budget accuracy':34}{ours_b:15,.0f}{ours_b / trl_b:17.1f}x   (no target: both run math-verify)")
    print(f"math-verify bounds that fired: {timeout_count()}")

    adversarial = ["x" * 1_000_000, "\\boxed{" * 100_000, "<answer>9^{9^{9^{9}}}</answer>", "<answer>(10^{6})!</answer>",
                   "<answer>1e999999</answer>", "<answer>" + "9" * 5000 + "</answer>", "<think>" * 100_000,
                   "<answer>\\frac{" * 500 + "</answer>", "<answer>\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}</answer>",
                   "<answer>x^2+2x+1=(x+1)^2</answer>", "<answer>\\sqrt{\\sqrt{\\sqrt{2}}}</answer>"]
    worst, worst_case = 0.0, None
    for c in adversarial:
        for name, f in REWARD_FUNCS.items():
            start = time.perf_counter()
            f([c], solution=["\\frac{7}{3}"], numbers=[[1, 2]], target=[3])
            took = time.perf_counter() - start
            if took > worst: worst, worst_case = took, (name, c[:40])
    print(f"slowest single completion of {len(adversarial)} adversarial ones, any reward: {worst * 1000:.1f} ms "
          f"({worst_case[0]} on {worst_case[1]!r}) "
          "(screened answers take milliseconds; the bound for the rest is ANSWER_BUDGET_S of CPU time)")


if __name__ == "__main__":
    main()
