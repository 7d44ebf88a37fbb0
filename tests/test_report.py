import base64
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from labutils import report

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360606060000000050001a5f645400000000049454e44ae426082")).decode()


def _executed(path, *cells):
    nb = new_notebook(cells=list(cells))
    nbformat.write(nb, path)


def _figure_cell():
    cell = new_code_cell("fig")
    cell.outputs = [new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})]
    return cell


def test_report_embeds_every_figure_and_table_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    (tmp_path / "notebooks").mkdir()
    _executed(tmp_path / "notebooks" / "01_a.ipynb", new_markdown_cell("# 01 · first"), _figure_cell(), _figure_cell())
    table = new_code_cell("Markdown(...)")
    table.outputs = [new_output("display_data", data={"text/markdown": "| a | b |\n|---|---|\n| 1 | 2 |"})]
    _executed(tmp_path / "notebooks" / "02_b.ipynb", new_markdown_cell("# 02 · second"), table, _figure_cell())
    (tmp_path / "run.json").write_text(json.dumps({"profile": "smoke", "device": "cpu", "total_seconds": 60}))

    html = report.build_report().read_text()

    assert html.count(PNG) == 3  # each figure, embedded
    assert "<table" in html and "Objective" in html and "smoke" in html
    assert "first" in html and "second" in html
    assert 'src="http' not in html  # opens offline


def test_a_notebook_whose_cell_raised_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    (tmp_path / "notebooks").mkdir()
    failed = new_code_cell("1/0")
    failed.outputs = [new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])]
    _executed(tmp_path / "notebooks" / "01_a.ipynb", failed)
    with pytest.raises(report.ReportError, match="01_a.ipynb.*ZeroDivisionError"):
        report.build_report()
