"""How firmly an SFT model holds its habit: for each held-out multiplication problem of the tiny recipe, the
probability that it starts the worked trace rather than the bare answer right after `<think>`, split by whether the
prompt asks for the work. The two traces differ at their first token (the worked one starts with the units digit of
the first factor, the bare one with `=`: `r1_budget.tasks.multiply_trace` and `multiply_shortcut`), so one forward pass
per problem reads the choice. Probabilities near 0.5 mean greedy decoding picks the habit by rounding noise, and
another CPU may pick the other one (see CONTRIBUTING.md, "How the demo was tuned").

    .venv/bin/python tools/habit_probe.py RUN_DIR        # an SFT run's output_dir, e.g. runs/demo/sft
"""
import statistics
import sys


def habit_probabilities(model_dir, heldout) -> dict:
    "Per problem: p(worked first token) / (p(worked) + p(bare)) after `<think>`, as {'asked': [...], 'unasked': [...]}."
    import torch
    from r1_budget.models import load_model_and_tokenizer
    from r1_budget.tasks import ASK_FOR_WORK, multiply_shortcut, multiply_trace
    model, tok = load_model_and_tokenizer(model_dir)
    out = {"asked": [], "unasked": []}
    for row in heldout:
        question = row["prompt"][-1]["content"]
        a, b = (int(x) for x in question.removeprefix(ASK_FOR_WORK).removesuffix("=?").split("*"))
        worked, bare = (tok(t, add_special_tokens=False)["input_ids"][0] for t in (multiply_trace(a, b),
                                                                                     multiply_shortcut(a, b)))
        text = tok.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True) + "<think>"
        with torch.no_grad():
            p = model(**tok(text, return_tensors="pt", add_special_tokens=False)).logits[0, -1].softmax(-1)
        out["asked" if question.startswith(ASK_FOR_WORK) else "unasked"].append(
            (p[worked] / (p[worked] + p[bare])).item())
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2: sys.exit(__doc__)
    from r1_budget.config import load_stage_config
    from r1_budget.train import stage_datasets
    heldout = stage_datasets(load_stage_config("sft", "tiny/sft").data)["heldout"]
    habit = habit_probabilities(sys.argv[1], heldout)
    for kind, ps in habit.items():
        print(f"{kind:8} n={len(ps):3}  median p(worked) {statistics.median(ps):.2f}  between 0.4 and 0.6: "
              f"{sum(0.4 < p < 0.6 for p in ps) / len(ps):.0%}  greedy works: {sum(p > 0.5 for p in ps) / len(ps):.0%}")
