"""Build the documentation website into `_docs/`, offline: nbdev processes the notebooks, mkdocs renders them.

Three steps, each done by a library:
1. `nbdev.serve.proc_nbs` — the step `nbdev-docs` runs before Quarto — writes `_proc/`: hidden and exported cells
   gone, a `show_doc` API entry (signature, docstring, docments table) after every exported definition.
2. nbconvert turns each processed notebook into a markdown page in `_site_src/` (stored outputs kept, plots written
   as image files, `#|` directives removed, links to other notebooks pointed at their pages).
3. mkdocs with the Material theme builds `_docs/` (navigation in book order, search), strict about broken links.

With Quarto installed, `nbdev-docs` builds nbdev's own site from the same `_proc/` instead.
Usage: `python tools/build_docs.py [--root DIR]` (DIR: the project root, default this checkout).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml
from nbconvert import MarkdownExporter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from render_readme import NbdevDirectives  # noqa: E402  (one reading of nbdev's directives for README and site)

_CELL_KEYS = {"cell_type", "id", "metadata", "source", "outputs", "execution_count", "attachments"}
_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")


def process_notebooks(root: Path) -> Path:
    "Run nbdev's processing of every notebook into `root/_proc`; fail, naming the notebook, if any is missing."
    dotted = [p for p in root.resolve().parts if p.startswith(".")]
    if dotted:
        sys.exit(f"build_docs: {root.resolve()} is inside a folder starting with '.' ({dotted[0]}); nbdev's "
                 "proc_nbs silently skips every notebook there. Build from a checkout outside such a folder.")
    from nbdev.config import get_config
    from nbdev.serve import proc_nbs
    cfg = get_config(root)
    proc = proc_nbs(str(cfg.nbs_path), n_workers=2, force=True)
    missing = sorted(p.name for p in cfg.nbs_path.glob("*.ipynb") if not (proc / p.name).exists())
    if missing: sys.exit(f"build_docs: nbdev's proc_nbs produced no page for {', '.join(missing)}")
    return proc


def _front_matter(nb) -> dict:
    "The title and description nbdev moved into the first raw cell (and removes that cell)."
    if nb.cells and nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("---"):
        return yaml.safe_load(nb.cells.pop(0).source.strip().strip("-")) or {}
    return {}


def _relink(text: str, base: Path, root: Path, assets: set) -> str:
    "Point relative links at the site: a notebook becomes its page; a file under assets/ is copied beside the pages."
    def fix(m):
        link = m.group(2)
        if re.match(r"[a-z]+:|/|#", link): return m.group(0)
        path, _, anchor = link.partition("#")
        target = (base / path).resolve()
        if target.suffix == ".ipynb" and target.parent == (root / "nbs").resolve():
            return f"{m.group(1)}{target.stem}.md{'#' + anchor if anchor else ''}{m.group(3)}"
        if target.is_relative_to((root / "assets").resolve()):
            assets.add(target)
            return f"{m.group(1)}assets/{target.name}{m.group(3)}"
        return m.group(0)
    return _LINK.sub(fix, text)


def chapter_page(nb_path: Path, root: Path, assets: set) -> tuple[str, dict]:
    "One processed notebook as a markdown page and its image files ({relative path: bytes})."
    nb = nbformat.read(nb_path, as_version=4)
    fm = _front_matter(nb)
    # index.ipynb renders the README, so its links are relative to the repository root; chapters', to nbs/
    base = root if nb_path.name == "index.ipynb" else root / "nbs"
    for cell in nb.cells:
        for key in set(cell) - _CELL_KEYS: del cell[key]   # nbdev's working marks (has_sd) are not nbformat
        cell.metadata.pop("execution", None)                # nor are its timings
        if cell.cell_type == "markdown": cell.source = _relink(cell.source, base, root, assets)
    head = f"# {fm.get('title', nb_path.stem)}\n\n" + (f"*{fm['description']}*\n\n" if fm.get("description") else "")
    if nb_path.name == "index.ipynb" and nb.cells and nb.cells[0].source.lstrip().startswith("# "):
        head = ""   # the front page keeps the README's own title
    exporter = MarkdownExporter()
    exporter.register_preprocessor(NbdevDirectives(), enabled=True)
    body, res = exporter.from_notebook_node(nb, resources={"unique_key": nb_path.stem,
                                                           "output_files_dir": f"{nb_path.stem}_files"})
    return head + re.sub(r"\n{3,}", "\n\n", body).strip() + "\n", res.get("outputs", {})


def write_pages(proc: Path, root: Path) -> Path:
    "Every processed notebook as a page in `root/_site_src`, with its images and the assets it links to."
    src = root / "_site_src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir()
    assets = set()
    for nb_path in sorted(proc.glob("*.ipynb")):
        text, files = chapter_page(nb_path, root, assets)
        (src / f"{nb_path.stem}.md").write_text(text)
        for rel, data in files.items():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_bytes(data)
    for a in assets:
        (src / "assets").mkdir(exist_ok=True)
        shutil.copy2(a, src / "assets" / a.name)
    return src


def nav_pages(entries: list) -> list[tuple[str, str]]:
    "(title, page) of every page in a mkdocs navigation, its parts (titled lists of pages) flattened, in order."
    out = []
    for e in entries:
        title, value = next(iter(e.items())) if isinstance(e, dict) else (None, e)
        out += nav_pages(value) if isinstance(value, list) else [(title, value)]
    return out


def check_nav(root: Path, src: Path):
    "Every page is in mkdocs.yml's navigation once, and every navigation entry has a page."
    pairs = nav_pages(yaml.safe_load((root / "mkdocs.yml").read_text())["nav"])
    listed = {page for _, page in pairs}
    if len(listed) != len(pairs): sys.exit("build_docs: a page is listed twice in mkdocs.yml's nav")
    pages = {p.name for p in src.glob("*.md")}
    if listed != pages:
        sys.exit(f"build_docs: mkdocs.yml's nav and the notebooks disagree: not in nav {sorted(pages - listed)}, "
                 f"no notebook for {sorted(listed - pages)}")


def build(root: Path) -> Path:
    "Process the notebooks, write the pages, and build the site into `root/_docs`."
    proc = process_notebooks(root)
    src = write_pages(proc, root)
    check_nav(root, src)
    # NO_MKDOCS_2_WARNING: Material's banner about its end of life (May 2027), said once in the README instead
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(root / "mkdocs.yml")],
                   check=True, cwd=root, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    site = root / "_docs"
    print(f"built {len(list(src.glob('*.md')))} pages into {site}", file=sys.stderr)
    return site


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help="the project root")
    build(ap.parse_args().root)
