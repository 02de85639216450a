"""The reports tests read PDFs with poppler-utils (pdftoppm renders every page, pdftotext reads the
figures). `make test` installs it; without it these tests fail saying so, never skip."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture
def poppler() -> None:
    missing = [tool for tool in ("pdftoppm", "pdftotext", "pdfinfo") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: install poppler-utils (`make test` installs it)")


needs_poppler = pytest.mark.usefixtures("poppler")
