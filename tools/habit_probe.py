"""How firmly an SFT model holds its habit: on the tiny recipe's held-out problems, the probability that it starts the
worked trace (the units digit of the first factor) rather than the bare answer (the leading digit), right after
`<think>`, split by whether the prompt asks for the work. Probabilities near 0.5 mean greedy decoding picks the habit
by rounding noise, and another CPU may pick the other one (see the tutorial chapter).

    .venv/bin/python tools/habit_probe.py RUN_DIR        # an SFT run's output_dir, e.g. runs/demo/sft
"""
import sys, torch, statistics as st
from transformers import AutoModelForCausalLM, AutoTokenizer
from r1_budget.config import parse_config, recipe_path, stage_dataset
from r1_budget.tasks import ASK_FOR_WORK
if len(sys.argv) != 2: sys.exit(__doc__)
model_dir = sys.argv[1]
held = stage_dataset(parse_config("sft", ["--output_dir", "/tmp/x"], recipe_path("tiny/sft")).data, "heldout")
tok = AutoTokenizer.from_pretrained(model_dir); model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
res = {True: [], False: []}
for r in held:
    q = r["prompt"][-1]["content"]; a, b = q.removeprefix(ASK_FOR_WORK)[:-2].split("*")
    if a[-1] == a[0]: continue
    text = tok.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True) + "<think>"
    ids = tok(text, return_tensors="pt", add_special_tokens=False).input_ids
    with torch.no_grad(): p = model(ids).logits[0, -1].softmax(-1)
    pw, ps = p[tok.convert_tokens_to_ids(a[-1])].item(), p[tok.convert_tokens_to_ids(a[0])].item()
    res[q.startswith(ASK_FOR_WORK)].append(pw / (pw + ps))
for asked, ps in res.items():
    print(f"asked={asked}: n={len(ps)} median p(worked) {st.median(ps):.2f}, within 0.4-0.6 {sum(0.4 < p < 0.6 for p in ps) / len(ps):.0%}, greedy works {sum(p > 0.5 for p in ps) / len(ps):.0%}")
allp = res[True] + res[False]
print(f"all: within 0.4-0.6 {sum(0.4 < p < 0.6 for p in allp) / len(allp):.0%}")
