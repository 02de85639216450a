"""Settings' path defaults: a source checkout keeps state in the repository's var/, an installed package
(site-packages) in DTWIN_DATA_DIR or ./var, never beside its own code."""

import os
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from dtwin import config
from dtwin.auth.bootstrap import state_dir
from dtwin.config import Settings, default_data_dir, source_root

REPO = Path(__file__).resolve().parents[3]
PATH_VARIABLES = (
    "DTWIN_DATA_DIR",
    "DTWIN_DATABASE_URL",
    "DTWIN_MODELS_DIR",
    "DTWIN_FRONTEND_DIST",
    "DTWIN_STATE_DIR",
)


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The package as if installed in a virtualenv's site-packages, run from tmp_path/work (the site-packages
    folder is made read-only, as it is for the image's user); returns the working directory."""
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    (site / "dtwin").mkdir(parents=True)
    site.chmod(0o555)
    work = tmp_path / "work"
    work.mkdir()
    for name in PATH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config, "MODULE_FILE", site / "dtwin" / "config.py")
    monkeypatch.chdir(work)
    return work


def sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.database_url).database
    assert database is not None
    return Path(database)


def assert_writable(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    assert os.access(path, os.W_OK), path


def test_installed_package_keeps_state_under_the_working_directory(installed: Path) -> None:
    s = Settings()
    assert source_root() is None
    assert s.data_dir == installed / "var"
    assert sqlite_path(s) == installed / "var" / "dtwin.db"
    assert s.models_dir == installed / "var" / "models"
    assert state_dir(s) == installed / "var"
    assert s.frontend_dist is None  # an installed package ships no dashboard unless told where it is
    for path in (sqlite_path(s).parent, s.models_dir, state_dir(s)):
        assert "site-packages" not in path.parts
        assert_writable(path)


def test_installed_package_follows_dtwin_data_dir(installed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = installed.parent / "data"
    monkeypatch.setenv("DTWIN_DATA_DIR", str(data))
    monkeypatch.setenv("DTWIN_DATABASE_URL", "postgresql+asyncpg://u:p@db:5432/dtwin")
    s = Settings()
    assert s.models_dir == data / "models"
    assert state_dir(s) == data  # no SQLite file to sit beside: the data directory
    assert_writable(s.models_dir)


def test_a_setting_of_its_own_wins_over_the_data_dir(
    installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DTWIN_DATA_DIR", str(installed / "data"))
    monkeypatch.setenv("DTWIN_MODELS_DIR", str(installed / "models"))
    s = Settings()
    assert s.models_dir == installed / "models"
    assert sqlite_path(s) == installed / "data" / "dtwin.db"


def test_source_checkout_keeps_state_in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PATH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    s = Settings()
    assert source_root() == REPO
    assert s.data_dir == REPO / "var" == default_data_dir()
    assert sqlite_path(s) == REPO / "var" / "dtwin.db"
    assert s.models_dir == REPO / "var" / "models"
    assert s.frontend_dist == REPO / "frontend" / "dist"
    assert state_dir(s) == REPO / "var"


def test_a_checkout_layout_inside_site_packages_is_not_a_checkout(tmp_path: Path) -> None:
    fake = tmp_path / "site-packages" / "x"
    (fake / "backend").mkdir(parents=True)
    (fake / "backend" / "pyproject.toml").write_text("")
    assert source_root(fake / "backend" / "src" / "dtwin" / "config.py") is None
    assert source_root(tmp_path / "x" / "backend" / "src" / "dtwin" / "config.py") is None  # no pyproject


def test_websocket_compression_is_off_unless_asked_for() -> None:
    from dtwin.cli import server_options

    assert Settings().ws_compression is False
    assert server_options("127.0.0.1", 1, Settings().ws_compression)["ws_per_message_deflate"] is False
    assert (
        server_options("127.0.0.1", 1, Settings(ws_compression=True).ws_compression)["ws_per_message_deflate"]
        is True
    )
