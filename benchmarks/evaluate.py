"""Evaluation throughput: batched greedy generation (r1_budget.evaluate) against a one-by-one `generate` loop.

The original project evaluated by calling `model.generate` on one prompt at a time. This scores the same 200 synthetic problems
both ways with the embedded tiny model (size "base", fixed length: 40 new tokens each), checks both produce the same
completions, and prints completions per second side by side with the ratio.

    .venv/bin/python benchmarks/evaluate.py [--n 200] [--batch-size 64]
"""
import argparse
import tempfile
import time
from pathlib import Path

import torch


def one_by_one(model, tokenizer, prompts, max_new_tokens):
    out = []
    with torch.no_grad():
        for p in prompts:
            text = tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
            enc = tokenizer(text, return_tensors="pt", add_special_tokens=False)
            ids = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
            out.append(tokenizer.decode(ids[0, enc["input_ids"].shape[1]:], skip_special_tokens=True))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-new-tokens", type=int, default=40)
    args = ap.parse_args()
    import transformers
    transformers.utils.logging.disable_progress_bar()
    from r1_budget.evaluate import generate_completions
    from r1_budget.models import build_tiny_model, load_model_and_tokenizer
    from r1_budget.tasks import make_synthetic_dataset
    prompts = make_synthetic_dataset("multiply", n=args.n, seed=1, system_prompt=None)["prompt"]
    with tempfile.TemporaryDirectory() as d:
        model, tok = load_model_and_tokenizer(build_tiny_model(Path(d) / "m", size="base"), dtype=torch.float32)
    generate_completions(model, tok, prompts[:4], batch_size=4, max_new_tokens=4, progress=False)   # warm-up
    start = time.perf_counter()
    batched = generate_completions(model, tok, prompts, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens,
                                   progress=False)
    t_batched = time.perf_counter() - start
    start = time.perf_counter()
    single = one_by_one(model, tok, prompts, args.max_new_tokens)
    t_single = time.perf_counter() - start
    same = sum(b[0]["text"] == s for b, s in zip(batched, single)) / len(prompts)
    print(f"{args.n} problems, tiny 'base' model, greedy, {args.max_new_tokens} new tokens, {torch.get_num_threads()} threads")
    print(f"{'':32}{'completions/s':>15}")
    print(f"{'one-by-one generate (seed)':32}{args.n / t_single:15.1f}")
    print(f"{f'batched, batch size {args.batch_size}':32}{args.n / t_batched:15.1f}")
    print(f"speed-up: {t_single / t_batched:.1f}x; identical completions: {same:.0%}")


if __name__ == "__main__":
    main()
