"""Render README.md from nbs/index.ipynb with nbconvert.

nbdev's own `nbdev-readme` needs Quarto, whose installer downloads a binary, so it cannot run offline. This does
the same job: markdown cells as they are, code cells as fenced blocks with their stored outputs, `#| hide` (and
export) cells left out, `#|` directive lines removed. tests/test_readme.py checks README.md is up to date.
"""
import re
import sys
from pathlib import Path

import nbformat
from nbconvert import MarkdownExporter
from nbconvert.preprocessors import Preprocessor

ROOT = Path(__file__).resolve().parents[1]
HEADER = "<!-- Rendered from nbs/index.ipynb by `make readme`: edit the notebook, not this file. -->\n\n"
_HIDDEN = re.compile(r"#\|\s*(hide|export|exporti|exports|default_exp)\b")
_NO_ECHO = re.compile(r"#\|\s*echo:\s*false\b")


def _outputs_text(cell) -> str:
    "A code cell's outputs as markdown: text/markdown results as they are, streams as plain text."
    parts = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "text/markdown" in data: parts.append(data["text/markdown"])
        elif out.get("output_type") == "stream": parts.append(out["text"])
    return "\n".join(p.strip("\n") for p in parts)


class NbdevDirectives(Preprocessor):
    "Drop hidden and exported code cells and strip `#|` directive lines from the rest."

    def preprocess(self, nb, resources):
        kept = []
        for cell in nb.cells:
            lines = cell.source.splitlines()
            if cell.cell_type == "code" and any(_HIDDEN.match(l) for l in lines):
                continue
            if cell.cell_type == "code" and any(_NO_ECHO.match(l) for l in lines):
                kept.append(nbformat.v4.new_markdown_cell(_outputs_text(cell)))   # Quarto's echo: false: the output alone
                continue
            cell.source = "\n".join(l for l in lines if not l.startswith("#|")).strip("\n")
            kept.append(cell)
        nb.cells = kept
        nb.metadata["language_info"] = {"name": "python"}  # nbdev-clean strips it; fences need it
        return nb, resources


def render(nb_path: Path = ROOT / "nbs" / "index.ipynb") -> str:
    "The README text for the notebook at `nb_path`."
    exporter = MarkdownExporter()
    exporter.register_preprocessor(NbdevDirectives(), enabled=True)
    body, _ = exporter.from_notebook_node(nbformat.read(nb_path, as_version=4))
    return HEADER + re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"


if __name__ == "__main__":
    out = ROOT / "README.md"
    out.write_text(render())
    print(f"wrote {out}", file=sys.stderr)
