import json
from pathlib import Path

from typer.testing import CliRunner

from dtwin.api.openapi_export import openapi_json
from dtwin.cli import app


def test_openapi_json_is_sorted_and_stable() -> None:
    text = openapi_json()
    doc = json.loads(text)
    assert "/api/v1/twins" in doc["paths"]
    assert "TwinRead" in doc["components"]["schemas"]
    assert text == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert openapi_json() == text


def test_openapi_command_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "openapi.json"
    result = CliRunner().invoke(app, ["openapi", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["openapi"].startswith("3.")
