"""The architecture of resnet_edu/ as import-linter contracts (pyproject.toml's [tool.importlinter]):
layers, no import cycle inside any package, no Streamlit in the library."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _lint_imports(folder: Path) -> subprocess.CompletedProcess:
    """import-linter's own command on the package and pyproject.toml found in ``folder``."""
    script = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", script, "--no-cache"], cwd=folder, capture_output=True, text=True,
                          timeout=300)


def test_the_library_keeps_its_import_contracts():
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_the_contracts_catch_a_layer_broken_a_cycle_and_streamlit(tmp_path):
    """A copy of the library with two wrong imports: the store reaching up into the engine (a layer
    broken, and with the engine's imports of the store a cycle) and Streamlit in the models."""
    shutil.copytree(REPO / "resnet_edu", tmp_path / "resnet_edu", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    (tmp_path / "resnet_edu" / "runs" / "values.py").open("a").write("\nfrom resnet_edu.engine import groups\n")
    (tmp_path / "resnet_edu" / "models.py").open("a").write("\nimport streamlit\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1
    assert "resnet_edu.runs is not allowed to import resnet_edu.engine" in result.stdout
    assert "It could be made acyclic by removing 1 dependency" in result.stdout and "- .runs -> .engine" in result.stdout
    assert "resnet_edu is not allowed to import streamlit" in result.stdout
    assert "0 kept, 3 broken" in result.stdout


def test_the_old_import_paths_still_give_the_public_names():
    """Scripts and notes written before the engine/ and inside/ folders keep working."""
    from resnet_edu import engine, inside, summary
    from resnet_edu.jobs import JobManager
    from resnet_edu.lesion import lesion_single
    from resnet_edu.model_summary import describe

    assert JobManager is engine.JobManager
    assert lesion_single is inside.lesion.lesion_single
    assert describe is summary.describe
