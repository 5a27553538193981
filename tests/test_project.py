"The project's own machinery: README from index.ipynb, fixtures, packaging, kernel, idempotent set-up."
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import FIXTURES, ROOT

sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(FIXTURES))


def test_readme_is_rendered_from_index_notebook():
    import render_readme
    assert (ROOT / "README.md").read_text() == render_readme.render(), "README.md is stale: run `make readme`"


def test_readme_shows_the_test_command_and_the_nbdev3_note():
    text = (ROOT / "README.md").read_text()
    assert "make test" in text and "make lab" in text
    assert "settings.ini" in text and "pyproject.toml" in text


def test_fixtures_are_what_the_generator_writes(tmp_path, monkeypatch):
    import make_fixtures
    monkeypatch.setattr(make_fixtures, "HERE", tmp_path)
    make_fixtures.write_all()
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".jsonl", ".csv", ".parquet"))
    for name in written:
        if name.endswith(".parquet"):
            assert pq.read_table(tmp_path / name).to_pylist() == pq.read_table(FIXTURES / name).to_pylist()
        else:
            assert (tmp_path / name).read_bytes() == (FIXTURES / name).read_bytes(), name


def test_dependencies_have_lower_bounds_and_caps():
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = proj["dependencies"] + [d for extra in proj["optional-dependencies"].values() for d in extra]
    for dep in deps:
        assert ">=" in dep and "<" in dep.replace("<=", ""), f"{dep}: give a lower bound and a cap"
    names = {re.split(r"[<>=]", d)[0] for d in proj["dependencies"]}
    assert {"torch", "transformers", "trl", "peft", "datasets", "accelerate", "math-verify", "matplotlib", "pyyaml"} <= names
    assert any(d.startswith("trl>=1.16,<1.17") for d in proj["dependencies"])   # the minor series tested
    assert any(d.startswith("sagemaker-train>=1.27,<2") for d in proj["optional-dependencies"]["aws"])   # SDK v3's ModelTrainer
    assert proj["scripts"]["r1-budget"] == "r1_budget.cli:main"


def test_nbdev_settings():
    nbdev = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["nbdev"]
    assert nbdev["nbs_path"] == "nbs" and nbdev["lib_path"] == "r1_budget"
    assert set(nbdev["tst_flags"].split()) == {"slow", "gpu", "aws"}
    assert nbdev["exec_profile"] is False
    assert not (ROOT / "settings.ini").exists()


def test_every_module_comes_from_a_notebook():
    for mod in (ROOT / "r1_budget").glob("*.py"):
        if mod.name in ("__init__.py", "_modidx.py"):
            continue
        head = mod.read_text().splitlines()[:4]
        m = next((re.search(r"File to edit: \.\./nbs/(\S+\.ipynb)", l) for l in head if "File to edit" in l), None)
        assert m and (ROOT / "nbs" / m.group(1)).exists(), f"{mod.name} was not exported from a notebook"


in_venv = pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="runs inside the project's virtual environment")


@in_venv
def test_notebook_kernel_is_this_environment():
    spec = Path(sys.prefix) / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    assert spec.exists(), "make install registers the environment's kernel"
    assert Path(json.loads(spec.read_text())["argv"][0]).resolve() == Path(sys.executable).resolve()


@in_venv
def test_make_install_is_up_to_date_so_a_second_run_reinstalls_nothing():
    venv = Path(sys.prefix)
    if venv.resolve() != (ROOT / ".venv").resolve() or not (venv / ".r1-budget-installed").exists():
        pytest.skip("not the Makefile's environment")
    r = subprocess.run(["make", "-q", ".venv/.r1-budget-installed"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, "make would reinstall: .venv/.r1-budget-installed is older than pyproject.toml"
    dry = subprocess.run(["make", "-n", "install"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "pip install" not in dry


def _clone(tmp_path):
    dest = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True)
    return dest


@in_venv
def test_sync_check_passes_on_a_clean_clone_and_fails_on_an_unexported_edit(tmp_path):
    if subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "nbs", "r1_budget"],
                      capture_output=True, text=True).stdout.strip():
        pytest.skip("uncommitted notebook or module changes: the clone would not hold them")
    clone, bin_dir = _clone(tmp_path), str(Path(sys.executable).parent)
    check = lambda: subprocess.run(["bash", "tools/check_sync.sh", bin_dir], cwd=clone, capture_output=True, text=True)
    r = check()
    assert r.returncode == 0, r.stderr
    nb = clone / "nbs" / "01_data.ipynb"
    nb.write_text(nb.read_text().replace("def make_conversation(", "def make_conversation_(", 1))
    subprocess.run(["git", "-C", str(clone), "commit", "-qam", "edit a notebook, forget to export"], check=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"})
    r = check()
    assert r.returncode == 1 and "r1_budget/data.py" in r.stderr and "must match the notebooks" in r.stderr


def test_readme_headline_is_a_ten_seed_sweep_then_one_of_its_runs():
    "The README's tables are rendered from assets/, written by benchmarks/demo_seeds.py --assets; the plots are that sweep's."
    from r1_budget.report import stage_table
    sweep = json.loads((ROOT / "assets" / "demo-seeds-summary.json").read_text())
    run = json.loads((ROOT / "assets" / "demo-summary.json").read_text())
    text = (ROOT / "README.md").read_text()
    assert sweep["seeds"] == list(range(10)) and not sweep["quick"] and sweep["command"] in text
    for r in sweep["rows"]:
        assert f"| {r['seed']} | {100 * r['sft']:.1f}% | {100 * r['grpo']:.1f}% | {100 * r['gain']:+.1f} ±" in text
    assert f"Every seed met every target: **{'yes' if sweep['all_targets_met'] else 'no'}**" in text
    assert sweep["all_targets_met"] == all(r["targets_met"] for r in sweep["rows"])
    m = sweep["machine"]
    assert m["cpu_model"] in text and m["torch_cpu_capability"] in text and m["gpu"] is None and m["cpus"] <= 2
    assert run["seed"] == 0 and run["stages"]["grpo"]["strict_accuracy"] == sweep["rows"][0]["grpo"]   # one of its runs
    assert stage_table(run["stages"]) in text and f"Whole run: {run['wall_seconds']['total']:.0f} s" in text
    for png in ("demo-seeds.png", "demo-comparison.png"):
        assert f"](assets/{png})" in text and 0 < (ROOT / "assets" / png).stat().st_size < 100_000
    assert "make demo" in text


def _imports(path):
    "The r1_budget modules a module imports (anywhere in it), and the private names it takes from them."
    import ast
    modules, private = set(), []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            name = node.module or ""
            target = name.split(".")[0] if node.level == 1 else name.split(".")[1] if name.startswith("r1_budget.") else None
            if target:
                modules.add(target)
                private += [f"{target}.{a.name}" for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Import):
            modules.update(a.name.split(".")[1] for a in node.names if a.name.startswith("r1_budget."))
    return modules - {path.stem}, private


def test_imports_follow_the_layer_map_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layers", 1)[1].split("```", 2)[1]
    names = [re.split(r"\s{2,}", line.strip())[0] for line in block.strip().splitlines()]   # before the description
    layers = [[m.strip() for m in line.split(",")] for line in names][::-1]   # lowest first
    level = {m: i for i, mods in enumerate(layers) for m in mods}
    package = {p.stem: p for p in (ROOT / "r1_budget").glob("*.py") if not p.name.startswith("_")}
    assert set(level) == set(package), f"the map and the package disagree: {set(level) ^ set(package)}"
    for name, path in package.items():
        modules, private = _imports(path)
        upward = sorted(m for m in modules if level[m] >= level[name])
        assert not upward, f"r1_budget.{name} imports {upward}, which are not below it in the README's layer map"
        assert not private, f"r1_budget.{name} imports private names {private}"


def test_package_lines_fit_in_120_characters():
    # nbdev writes `__all__` wrapped at 120 characters *after* its `__all__ = ` prefix, and `_modidx.py` whole
    long = [f"{p.name}:{i}: {len(line)} characters" for p in sorted((ROOT / "r1_budget").glob("*.py"))
            if p.name != "_modidx.py"
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if len(line) > 120 and not line.startswith("__all__ = [")]
    assert not long, "lines over 120 characters (wrap them in the notebooks):\n" + "\n".join(long)


def _exported_cells():
    "(notebook, index, cell source) of every exported code cell, with the notebook's cells."
    import ast
    for nb in sorted((ROOT / "nbs").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        for i, c in enumerate(cells):
            src = "".join(c["source"])
            if c["cell_type"] == "code" and re.match(r"#\|\s*export\s*\n", src):
                public = [n.name for n in ast.parse(src).body
                          if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")]
                yield nb.name, cells, i, public


def test_one_public_definition_per_exported_cell():
    crowded = [f"{nb} cell {i}: {public}" for nb, _, i, public in _exported_cells() if len(public) > 1]
    assert not crowded, "split these cells, one public definition each:\n" + "\n".join(crowded)


def test_every_public_definition_has_an_example_after_it():
    "A later cell of the same notebook that is not exported uses the name: the example that shows and tests it."
    missing = []
    for nb, cells, i, public in _exported_cells():
        later = ["".join(c["source"]) for c in cells[i + 1:] if c["cell_type"] == "code"
                 and not re.match(r"#\|\s*export", "".join(c["source"]))]
        missing += [f"{nb}: {name}" for name in public if not any(re.search(rf"\b{name}\b", s) for s in later)]
    assert not missing, "public definitions without an example after them:\n" + "\n".join(missing)


@pytest.mark.slow
def test_a_wheel_carries_the_recipes_and_trains_from_them_outside_the_checkout(tmp_path):
    "`--recipe tiny/sft` works from an installed wheel, run from a folder that is not a clone."
    import shutil
    import zipfile
    src = tmp_path / "src"   # a copy, so that building leaves nothing in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"): shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "r1_budget", src / "r1_budget", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist")], check=True, capture_output=True)
    [wheel] = (tmp_path / "dist").glob("r1_budget-*.whl")
    shipped = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "r1_budget" / "recipes").rglob("*.yaml"))
    assert shipped and set(shipped) <= set(zipfile.ZipFile(wheel).namelist())
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = "import sys, r1_budget; print(r1_budget.__file__); from r1_budget.cli import main; sys.exit(main(sys.argv[1:]))"
    r = subprocess.run([sys.executable, "-c", code, "sft", "--recipe", "tiny/sft", "--model_name_or_path", "tiny:tiny",
                        "--max_steps", "1", "--synthetic_n", "72", "--heldout_size", "8", "--save_strategy", "no",
                        "--output_dir", "run", "--disable_tqdm", "true"], cwd=elsewhere, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(site)}, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert r.stdout.splitlines()[0].startswith(str(site)), "the wheel's package ran, not the checkout's"
    assert (elsewhere / "run" / "model.safetensors").exists()
