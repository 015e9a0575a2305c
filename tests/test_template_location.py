"""The project's templates ship inside the package, so a mapping anywhere finds them; a
`connectors/` folder beside the mapping (or --connectors) overrides them one by one."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from cldetl.cli import cli
from cldetl.extract.render import render_source
from cldetl.mapping import load_mapping
from cldetl.mapping.template_declarations import builtin_connectors, template_folders
from cldetl.spec.period import ReportingPeriod
from examples.mosaic_liquidlogic.generate import build_database

REPO = Path(__file__).resolve().parent.parent
PERIOD = ReportingPeriod.ending(date(2025, 9, 30))


def test_templates_are_package_data():
    package = Path(__import__("cldetl.extract").extract.__file__).resolve().parent
    folder = builtin_connectors()
    assert folder.parent == package and folder.name == "connector_templates"
    assert (folder / "mosaic" / "workflow_steps.sql.j2").is_file()
    # In a source checkout the package's folder is the top-level connectors/ users know.
    assert folder.resolve() == (REPO / "connectors").resolve()


def elsewhere(tmp_path: Path) -> Path:
    """The Eastmoor mapping copied to a folder with no connectors/ near it."""
    folder = tmp_path / "some" / "other" / "folder"
    folder.mkdir(parents=True)
    shutil.copy(REPO / "mappings" / "eastmoor.yaml", folder / "x.yaml")
    return folder / "x.yaml"


def test_a_mapping_elsewhere_uses_the_packaged_templates(tmp_path):
    mapping = load_mapping(elsewhere(tmp_path))
    assert template_folders(mapping) == [builtin_connectors().resolve()]
    rendered = render_source(mapping, "steps", "sqlite", PERIOD)
    assert "dm_workflow_steps" in rendered.sql


def test_a_connectors_folder_beside_the_mapping_overrides_one_template(tmp_path):
    path = elsewhere(tmp_path)
    own = path.parent / "connectors" / "mosaic"
    own.mkdir(parents=True)
    text = (builtin_connectors() / "mosaic" / "addresses.sql.j2").read_text()
    (own / "addresses.sql.j2").write_text(text.replace("SELECT", "SELECT /* ours */", 1))
    mapping = load_mapping(path)
    assert "/* ours */" in render_source(mapping, "addresses", "sqlite", PERIOD).sql
    assert "/* ours */" not in render_source(mapping, "steps", "sqlite", PERIOD).sql


@pytest.mark.slow
def test_cldetl_run_with_a_mapping_elsewhere_needs_no_connectors_option(tmp_path):
    path = elsewhere(tmp_path)
    database = tmp_path / "eastmoor.db"
    build_database("mosaic", f"sqlite:///{database}", people=30, seed=2025)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["run", "--mapping", str(path), "--period-end", "2025-09-30", "--out", str(out)],
        env={"EASTMOOR_DB_URL": f"sqlite:///{database}", "COLUMNS": "200"},
    )
    assert result.exit_code in (0, 1), result.output
    assert "no template" not in result.output
    assert any(out.rglob("*.csv"))
