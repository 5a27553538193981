"""The book as a reader meets it: a learning path (the tour first, teaching chapters, then reference), results stored
on the teaching pages, markdown cells short enough to read, and one word per concept ("seed" is a random seed)."""
import json
import re
import sys
from pathlib import Path

import yaml
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
from build_docs import nav_pages  # noqa: E402

NAV = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
NOTEBOOKS = sorted((ROOT / "nbs").glob("*.ipynb"))


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _teaching() -> list[str]:
    "The tour and the chapters of the navigation's teaching part."
    learn = next(v for e in NAV for k, v in e.items() if k.startswith("Learn"))
    return ["00_tour", *(Path(p).stem for _, p in nav_pages(learn))]


def test_every_teaching_chapter_stores_its_results():
    "A reader on GitHub or the website sees what the code did: each teaching chapter keeps outputs that carry it."
    for stem in _teaching():
        outputs = [o for c in _cells(ROOT / "nbs" / f"{stem}.ipynb") if c["cell_type"] == "code"
                   for o in c.get("outputs", [])]
        shown = [o for o in outputs if o.get("output_type") in ("display_data", "execute_result")
                 or (o.get("output_type") == "stream" and o.get("name") == "stdout")]
        assert len(shown) >= 2, f"{stem}: {len(shown)} stored results; run `make book`"
        for o in outputs:
            text = "".join(o.get("text", ""))
            assert not re.search(r"\d+%\|[█▏▎▍▌▋▊▉# ]*\||(?:examples|it|ba)/s\]", text), f"{stem}: a progress bar is stored"
            assert o.get("output_type") != "error", f"{stem}: an error is stored"


def test_the_tour_shows_each_stage():
    cells = _cells(ROOT / "nbs" / "00_tour.ipynb")
    images = sum("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))
    tables = sum("text/html" in o.get("data", {}) or "text/markdown" in o.get("data", {})
                 for c in cells for o in c.get("outputs", []))
    assert images >= 3 and tables >= 3, (images, tables)   # two curves and the comparison; the group, signal and stages
    text = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    for stage in ("## Before training", "## SFT", "## GRPO: one group, by hand", "## The result"):
        assert stage in text


def test_no_markdown_cell_is_a_wall_of_text():
    for path in NOTEBOOKS:
        for i, c in enumerate(_cells(path)):
            if c["cell_type"] == "markdown":
                words = len("".join(c["source"]).split())
                assert words <= 400, f"{path.name} cell {i}: {words} words; split it"


def test_seed_is_a_random_seed_only():
    "'The original project' names the Reasoning on a Budget project; 'seed' never does."
    project = re.compile(r"\bthe seed(?! (?:of|for|is|was|used|\d)|s\b)(?:'s)?\s+(?:project|repo|repository|README|code|"
                         r"recipe|pipeline|run)|\bseed (?:project|repo|repository)\b", re.I)
    for path in [*NOTEBOOKS, ROOT / "README.md", ROOT / "CONTRIBUTING.md"]:
        text = path.read_text()
        assert not project.search(text), (path.name, project.search(text).group())
    index = "".join("".join(c["source"]) for c in _cells(ROOT / "nbs" / "index.ipynb"))
    assert "https://github.com/EsmaeilNarimissa/aws-sft-grpo-budget-llm-finetune" in index
    assert '"the original project"' in index or "“the original project”" in index


def test_grpo_chapter_teaches_the_update():
    text = " ".join("".join(c["source"]) for c in _cells(ROOT / "nbs" / "06_grpo.ipynb"))
    for needed in ("arxiv.org/abs/2402.03300", "arxiv.org/abs/2501.12948", "arxiv.org/abs/2503.14476",
                   "arxiv.org/abs/2503.20783", "huggingface.co/docs/trl/grpo_trainer", "epsilon_high", "beta",
                   "loss_type", "scale_rewards", "num_generations"):
        assert needed in text, needed


def test_percentages_in_teaching_prose_come_from_the_chapter():
    "Every percentage a teaching chapter's prose states appears in its code or stored outputs (as N%, N or N/100)."
    for stem in _teaching():
        cells = _cells(ROOT / "nbs" / f"{stem}.ipynb")
        prose = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        rest = " ".join("".join(c["source"]) + json.dumps(c.get("outputs", []), ensure_ascii=False)
                        for c in cells if c["cell_type"] == "code")
        for figure in set(re.findall(r"(?<![\w.])\d+(?:\.\d+)?%", prose)):
            number = figure.rstrip("%")
            fraction = f"{float(number) / 100:g}"
            assert any(form in rest for form in (figure, number, fraction)), f"{stem}: '{figure}' in prose, nowhere else"
