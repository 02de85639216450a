"""Versioned persistence of type models: `{dir}/{type}/v{version}.joblib`. Blocking file I/O: call it from a
thread (`asyncio.to_thread`) when on the event loop. Only load model directories you trust (pickle)."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, unquote

import joblib  # type: ignore[import-untyped]

from dtwin.anomalies.type_model import TypeModel

_VERSION = re.compile(r"^v(\d+)\.joblib$")


class ModelStore(Protocol):
    def save(self, model: TypeModel) -> TypeModel:
        """Persist `model` as the next version of its type; returns it with `version` set."""
        ...

    def latest(self, machine_type: str) -> TypeModel | None:
        """The newest saved version of the type, or None."""
        ...

    def versions(self, machine_type: str) -> list[int]:
        """Saved versions of the type, ascending."""
        ...


class FileModelStore:
    """`ModelStore` on a directory. A model is written to a temporary file and then hard-linked to its version
    name, so readers never see a half-written file and two writers never overwrite each other's version."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def _type_dir(self, machine_type: str) -> Path:
        name = quote(machine_type, safe="")
        if name in ("", ".", ".."):
            raise ValueError(f"unusable machine type name {machine_type!r}")
        return self.directory / name

    def types(self) -> list[str]:
        """Machine types that have at least one stored model."""
        if not self.directory.is_dir():
            return []
        return sorted(unquote(d.name) for d in self.directory.iterdir() if d.is_dir())

    def versions(self, machine_type: str) -> list[int]:
        d = self._type_dir(machine_type)

        if not d.is_dir():
            return []
        found = (_VERSION.match(p.name) for p in d.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def save(self, model: TypeModel) -> TypeModel:
        d = self._type_dir(model.machine_type)
        d.mkdir(parents=True, exist_ok=True)
        existing = self.versions(model.machine_type)
        version = (existing[-1] + 1) if existing else 1
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
        os.close(fd)
        try:
            while True:
                saved = replace(model, version=version)
                joblib.dump(saved, tmp)
                try:  # link, not rename: fails instead of overwriting when another writer took the version
                    os.link(tmp, d / f"v{version}.joblib")
                except FileExistsError:
                    version += 1
                    continue
                return saved
        finally:
            os.unlink(tmp)

    def load(self, machine_type: str, version: int) -> TypeModel:
        model = joblib.load(self._type_dir(machine_type) / f"v{version}.joblib")
        if not isinstance(model, TypeModel):
            raise TypeError(f"{machine_type} v{version} is not a TypeModel")
        return model

    def latest(self, machine_type: str) -> TypeModel | None:
        versions = self.versions(machine_type)
        return self.load(machine_type, versions[-1]) if versions else None
