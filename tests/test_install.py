"""`make install EXTRAS=vllm` resolves: pip's resolver accepts the vllm extra beside the Makefile's torch pin, and picks
a vLLM that TRL supports. Asks the package registry (no install: `pip install --dry-run`)."""
import json
import re
import subprocess
import sys
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from conftest import ROOT

pytestmark = pytest.mark.slow


def test_the_vllm_extra_resolves_with_the_torch_pin(tmp_path):
    torch_pin = re.search(r"^TORCH \?= (torch==\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    report = tmp_path / "report.json"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report),
                        f"{ROOT}[vllm]", torch_pin], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"pip cannot resolve the vllm extra with {torch_pin}:\n{r.stderr[-3000:]}"
    chosen = {i["metadata"]["name"].lower(): i["metadata"] for i in json.loads(report.read_text())["install"]}
    vllm = chosen["vllm"]
    trl_range = next(Requirement(d) for d in metadata.requires("trl") if d.startswith("vllm") and "extra" in d)
    assert Version(vllm["version"]) in trl_range.specifier, (vllm["version"], str(trl_range))
    torch_req = next(Requirement(d) for d in vllm["requires_dist"] if re.match(r"torch\b", d) and "extra" not in d)
    assert Version(torch_pin.split("==")[1]) in torch_req.specifier, (str(torch_req), torch_pin)
    assert "transformers" not in chosen or Version(chosen["transformers"]["version"]) >= Version("5.0")
