import json
import os
from pathlib import Path

# Hermetic: the tests never reach the Hugging Face Hub (set before any HF library is imported).
for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def fixtures():
    return FIXTURES


@pytest.fixture
def endless_comparison(monkeypatch):
    "math-verify comparisons that never end, under a 0.05 s CPU budget: the bound fires whatever the machine's speed."
    from r1_budget import rewards
    def endless(gold, answer, *rest):
        while True:
            pass
    rewards._warm_up()
    monkeypatch.setattr(rewards, "_verify", endless)
    monkeypatch.setattr(rewards, "ANSWER_BUDGET_S", 0.05)
    monkeypatch.setattr(rewards, "_SLOW", {})
    return rewards


def read_jsonl(path):
    return [json.loads(l) for l in Path(path).read_text(encoding="utf-8").splitlines() if l.strip()]
