"""The documentation website: nbdev's processing passes on every notebook, MkDocs builds the site, Chromium reads it.

The site is built once, from a clean copy of the notebooks in a temporary folder (never inside a folder starting
with '.', where nbdev's proc_nbs silently skips notebooks), with the same command `make docs` runs.
"""
import functools
import http.server
import importlib
import inspect
import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

pytestmark = pytest.mark.slow
CHAPTERS = sorted(p.stem for p in (ROOT / "nbs").glob("*.ipynb"))
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
SCREENSHOT = ROOT / "_artifacts" / "docs-tutorial.png"


def _exports(stem: str) -> list[str]:
    "The functions and classes the chapter's module exports (none for index); constants get no API entry."
    m = re.search(r"#\|\s*default_exp\s+([\w.]+)", (ROOT / "nbs" / f"{stem}.ipynb").read_text())
    if not m: return []
    mod = importlib.import_module(f"r1_budget.{m.group(1)}")
    return [n for n in mod.__all__ if inspect.isfunction(getattr(mod, n)) or inspect.isclass(getattr(mod, n))]


def _nav_titles() -> dict[str, str]:
    "Page stem -> its title in mkdocs.yml's navigation, in navigation order (parts flattened)."
    sys.path.insert(0, str(ROOT / "tools"))
    from build_docs import nav_pages
    return {Path(page).stem: title for title, page in nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"])}


def _image_outputs(stem: str) -> int:
    nb = json.loads((ROOT / "nbs" / f"{stem}.ipynb").read_text())
    return sum(any(k.startswith("image/") for k in o.get("data", {})) for c in nb["cells"] for o in c.get("outputs", []))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    "(project root of the copy, the build's output): `tools/build_docs.py` run on a copy of what the site needs."
    root = tmp_path_factory.mktemp("docs-build")
    assert not any(p.startswith(".") for p in root.parts), f"{root}: proc_nbs would skip every notebook here"
    skip = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    for name in ("nbs", "assets", "tools"): shutil.copytree(ROOT / name, root / name, ignore=skip)
    for name in ("pyproject.toml", "mkdocs.yml"): shutil.copy2(ROOT / name, root / name)
    run = subprocess.run([sys.executable, str(root / "tools" / "build_docs.py"), "--root", str(root)],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return root, run.stdout + run.stderr


def test_nbdev_processes_every_notebook(built):
    "nbdev's own docs step (proc_nbs) processed every chapter, without its mixed-imports warning."
    root, output = built
    assert sorted(p.stem for p in (root / "_proc").glob("*.ipynb")) == CHAPTERS
    assert "Found cells containing imports" not in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]


def test_pages_hold_the_api_and_no_directives(built):
    "Every chapter is a page with an API entry for each export, no hidden code and no `#|` directive lines."
    root, _ = built
    for stem in CHAPTERS:
        page = (root / "_site_src" / f"{stem}.md").read_text()
        assert not re.search(r"^\s*#\|", page, re.M), f"{stem}: a directive line is left in the page"
        assert "nbdev_export" not in page, f"{stem}: a hidden cell is shown"
        missing = [n for n in _exports(stem) if not re.search(rf"^#+ {re.escape(n)}$", page, re.M)]
        assert not missing, f"{stem}: no API entry for {missing}"
        assert (root / "_docs" / ("" if stem == "index" else stem) / "index.html").exists(), stem
    assert _exports("05_sft") and "### train_sft" in (root / "_site_src" / "05_sft.md").read_text()   # the check bites
    index = json.loads((root / "_docs" / "search" / "search_index.json").read_text())
    assert {d["location"].split("#")[0] for d in index["docs"]} >= {"", *(f"{s}/" for s in CHAPTERS if s != "index")}


def test_nav_is_the_book(built):
    "Every chapter once: the home page, the tour, the teaching part in the order one learns, then the reference part."
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    assert sorted(_nav_titles()) == CHAPTERS
    assert [next(iter(e)) for e in nav[:2]] == ["Home", "A tour: R1-style training on a laptop"]
    learn, reference = (next(iter(e.values())) for e in nav[2:])
    assert [next(iter(e)) for e in nav[2:]] == ["Learn: the recipe, stage by stage", "Reference: the machinery"]
    order = [Path(next(iter(e.values()))).stem for e in learn]
    assert order.index("01_data") < order.index("02_rewards") < order.index("05_sft") < order.index("06_grpo") \
        < order.index("07_evaluate") < order.index("10c_real_model") < order.index("09_sagemaker")
    assert {"04_config", "04b_train", "11_cli", "08_plots"} <= {Path(next(iter(e.values()))).stem for e in reference}


@pytest.fixture(scope="module")
def site(built):
    "The built site served on 127.0.0.1; yields its base URL."
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built[0] / "_docs"))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (`apt-get install chromium`; .ci/run does it)")
def test_site_in_a_browser(site):
    "What a reader sees in Chromium: the title, loaded images, no directives, the chapter's API entries; search works."
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency (make install)")
    titles = _nav_titles()
    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"]   # nothing reaches for the network
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=flags)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for stem in CHAPTERS:
            page.goto(site + ("" if stem == "index" else f"{stem}/"), wait_until="load")
            title = page.title()
            assert title.startswith("r1_budget" if stem == "index" else titles[stem]), (stem, title)
            images = page.eval_on_selector_all("article img", "els => els.map(e => [e.src, e.complete ? e.naturalWidth : 0])")
            assert all(w > 0 for _, w in images), (stem, images)
            assert len(images) >= _image_outputs(stem), (stem, images)
            text = page.inner_text("article")
            assert not re.search(r"^\s*#\|", text, re.M), f"{stem}: a directive is visible"
            headings = {h.strip().rstrip("¶").strip() for h in page.eval_on_selector_all(
                "article h2, article h3, article h4", "els => els.map(e => e.innerText)")}
            assert set(_exports(stem)) <= headings, (stem, set(_exports(stem)) - headings)
            if stem == "10_pipeline":
                SCREENSHOT.parent.mkdir(exist_ok=True)
                page.screenshot(path=str(SCREENSHOT), full_page=False)
        page.goto(site, wait_until="load")
        page.keyboard.press("/")            # Material's search shortcut
        page.keyboard.type("GRPOTrainer")
        page.wait_for_selector(".md-search-result__item", timeout=15_000)
        assert page.locator(".md-search-result__item").count() > 0
        browser.close()
    assert SCREENSHOT.stat().st_size > 10_000


def test_readme_links_chapters_to_their_pages():
    "Each chapter's row in the README links the notebook, relative, so it works on GitHub and on the site."
    readme = (ROOT / "README.md").read_text()
    for stem in CHAPTERS:
        if stem != "index": assert f"[{stem}](nbs/{stem}.ipynb)" in readme, stem
