"""The readings archive: raw readings of one UTC day per Parquet file (zstd), each with a JSON manifest.

Layout under the archive location (a directory by default, any fsspec URL such as s3://bucket/prefix):

    readings/2026/11/2026-11-03.parquet       machine_id, sensor, ts (µs, UTC), value, quality
    readings/2026/11/2026-11-03.json          the manifest: rows, bytes, sha256 of the file, content digest,
                                              first/last ts, machines; written after the file is complete

The content digest does not depend on row order or file layout: the sum and the xor (mod 2^64) of a 64-bit
hash of every row, with the row count. It is the same for the rows in the database, in the file and after a
restore, so each step can be checked against the manifest. The row hash is our own (splitmix64 over the
fields; strings hashed with blake2b), so it never changes with a library version.

Everything here is blocking (files, network, Parquet): callers run it in a worker thread."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numpy.typing import NDArray

SCHEMA = pa.schema(
    [
        ("machine_id", pa.string()),
        ("sensor", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("value", pa.float64()),
        ("quality", pa.string()),
    ]
)
ROW_GROUP = 256 * 1024
FORMAT = 1

U64 = NDArray[np.uint64]


class ArchiveError(Exception):
    """An archived day is missing, unreadable, or does not match its manifest (the reason says which)."""


# --- the content digest ------------------------------------------------------------------------------


def _mix(x: U64) -> U64:
    """splitmix64's finaliser, vectorised (uint64 arithmetic wraps)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _string_hashes(column: pa.ChunkedArray | pa.Array, salt: int) -> U64:
    encoded = pc.dictionary_encode(column)
    chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
    parts = []
    for chunk in chunks:
        words = np.array(
            [
                int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")
                for s in chunk.dictionary.to_pylist()
            ],
            dtype=np.uint64,
        )
        parts.append(words[chunk.indices.to_numpy(zero_copy_only=False)])
    h = np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)
    return _mix(h ^ np.uint64(salt))


@dataclass(slots=True)
class Digest:
    """Order-independent digest of rows (update with record batches or tables of SCHEMA)."""

    rows: int = 0
    total: int = 0
    xor: int = 0

    def update(self, batch: pa.RecordBatch | pa.Table) -> None:
        n = batch.num_rows
        if not n:
            return
        ts = batch.column("ts").cast(pa.int64())
        value = batch.column("value")
        ts_np = np.asarray(ts.to_numpy(zero_copy_only=False), dtype=np.int64).view(np.uint64)
        v_np = np.asarray(value.to_numpy(zero_copy_only=False), dtype=np.float64).view(np.uint64)
        h = _string_hashes(batch.column("machine_id"), 0x1)
        h = _mix(h ^ _string_hashes(batch.column("sensor"), 0x2))
        h = _mix(h ^ _mix(ts_np ^ np.uint64(0x3)))
        h = _mix(h ^ _mix(v_np ^ np.uint64(0x4)))
        h = _mix(h ^ _string_hashes(batch.column("quality"), 0x5))
        with np.errstate(over="ignore"):
            self.total = (self.total + int(h.sum(dtype=np.uint64))) % 2**64
        self.xor ^= int(np.bitwise_xor.reduce(h))
        self.rows += n

    def hexdigest(self) -> str:
        return f"{self.rows}:{self.total:016x}:{self.xor:016x}"


def digest_of(batches: Iterable[pa.RecordBatch | pa.Table]) -> str:
    d = Digest()
    for b in batches:
        d.update(b)
    return d.hexdigest()


# --- manifests and the store ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Manifest:
    day: date
    rows: int
    bytes: int
    sha256: str
    digest: str
    first_ts: datetime | None
    last_ts: datetime | None
    machines: int
    file: str  # relative to the archive root
    created_at: datetime
    format: int = FORMAT

    def to_json(self) -> str:
        d: dict[str, Any] = asdict(self)
        for k in ("day", "first_ts", "last_ts", "created_at"):
            d[k] = None if d[k] is None else d[k].isoformat()
        return json.dumps(d, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        d = json.loads(text)
        return cls(
            day=date.fromisoformat(d["day"]),
            rows=int(d["rows"]),
            bytes=int(d["bytes"]),
            sha256=str(d["sha256"]),
            digest=str(d["digest"]),
            first_ts=None if d["first_ts"] is None else datetime.fromisoformat(d["first_ts"]),
            last_ts=None if d["last_ts"] is None else datetime.fromisoformat(d["last_ts"]),
            machines=int(d["machines"]),
            file=str(d["file"]),
            created_at=datetime.fromisoformat(d["created_at"]),
            format=int(d.get("format", FORMAT)),
        )


def _sha256_file(fs: fsspec.AbstractFileSystem, path: str) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with fs.open(path, "rb") as f:
        while chunk := f.read(4 * 1024 * 1024):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


class ArchiveStore:
    """Where archived days live (fsspec: a local directory, s3://..., memory://... in tests)."""

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        self.url = url
        fs, root = fsspec.core.url_to_fs(url, **(options or {}))
        self.fs: fsspec.AbstractFileSystem = fs
        self.root = root.rstrip("/")
        if getattr(fs, "protocol", None) in ("file", ("file", "local")):
            os.makedirs(self.root, exist_ok=True)

    def relpath(self, day: date, ext: str) -> str:
        return f"readings/{day:%Y}/{day:%m}/{day.isoformat()}.{ext}"

    def path(self, day: date, ext: str = "parquet") -> str:
        return f"{self.root}/{self.relpath(day, ext)}"

    def uri(self, day: date) -> str:
        return f"{self.url.rstrip('/')}/{self.relpath(day, 'parquet')}"

    # writing ------------------------------------------------------------------------------------------

    def write(self, day: date, batches: Iterable[pa.RecordBatch]) -> Manifest:
        """Write the day's rows (any order) as one Parquet file, then its manifest. Overwrites an earlier
        export of the same day (an export interrupted before its manifest leaves no manifest)."""
        digest = Digest()
        machines: set[str] = set()
        first: int | None = None
        last: int | None = None
        with tempfile.TemporaryDirectory(prefix="dtwin-archive-") as tmp:
            local = os.path.join(tmp, "day.parquet")
            with pq.ParquetWriter(local, SCHEMA, compression="zstd", compression_level=3) as writer:
                for batch in batches:
                    if not batch.num_rows:
                        continue
                    batch = batch.cast(SCHEMA) if batch.schema != SCHEMA else batch
                    writer.write_batch(batch, row_group_size=ROW_GROUP)
                    digest.update(batch)
                    machines.update(pc.unique(batch.column("machine_id")).to_pylist())
                    mm = pc.min_max(batch.column("ts").cast(pa.int64()))
                    lo, hi = mm["min"].as_py(), mm["max"].as_py()
                    first = lo if first is None else min(first, lo)
                    last = hi if last is None else max(last, hi)
            h = hashlib.sha256()
            with open(local, "rb") as f:
                while chunk := f.read(4 * 1024 * 1024):
                    h.update(chunk)
            size = os.path.getsize(local)
            self.fs.makedirs(os.path.dirname(self.path(day)), exist_ok=True)
            if self.fs.exists(self.path(day, "json")):
                self.fs.rm(self.path(day, "json"))  # a stale manifest never describes the new file
            self.fs.put_file(local, self.path(day))
        manifest = Manifest(
            day=day,
            rows=digest.rows,
            bytes=size,
            sha256=h.hexdigest(),
            digest=digest.hexdigest(),
            first_ts=None if first is None else datetime.fromtimestamp(first / 1e6, UTC),
            last_ts=None if last is None else datetime.fromtimestamp(last / 1e6, UTC),
            machines=len(machines),
            file=self.relpath(day, "parquet"),
            created_at=datetime.now(UTC),
        )
        with self.fs.open(self.path(day, "json"), "w") as f:
            f.write(manifest.to_json())
        return manifest

    # reading ------------------------------------------------------------------------------------------

    def manifest(self, day: date) -> Manifest | None:
        path = self.path(day, "json")
        if not self.fs.exists(path):
            return None
        with self.fs.open(path, "r") as f:
            return Manifest.from_json(f.read())

    def manifests(self) -> list[Manifest]:
        found = self.fs.glob(f"{self.root}/readings/*/*/*.json")
        out = []
        for p in sorted(found):
            with self.fs.open(p, "r") as f:
                out.append(Manifest.from_json(f.read()))
        return out

    def verify(self, day: date) -> Manifest:
        """The file matches its manifest: size and sha256 of the bytes, rows and content digest."""
        m = self.manifest(day)
        if m is None:
            raise ArchiveError(f"{day}: no manifest (never exported, or an export was interrupted)")
        if not self.fs.exists(self.path(day)):
            raise ArchiveError(f"{day}: the Parquet file is missing")
        sha, size = _sha256_file(self.fs, self.path(day))
        if size != m.bytes or sha != m.sha256:
            raise ArchiveError(
                f"{day}: the file's bytes changed (sha256 {sha[:12]}…, manifest {m.sha256[:12]}…)"
            )
        found = digest_of(self.batches(day))
        if found != m.digest:
            raise ArchiveError(f"{day}: the rows do not match the manifest's digest ({found} != {m.digest})")
        return m

    def batches(self, day: date) -> Iterator[pa.RecordBatch]:
        with self.fs.open(self.path(day), "rb") as f:
            yield from pq.ParquetFile(f).iter_batches(batch_size=ROW_GROUP)

    def read(
        self,
        day: date,
        *,
        machine_id: str | None = None,
        sensors: Iterable[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        end_inclusive: bool = True,
    ) -> pa.Table:
        """Rows of an archived day, filtered (row groups pruned by their statistics)."""
        filters: list[tuple[str, str, Any]] = []
        if machine_id is not None:
            filters.append(("machine_id", "=", machine_id))
        if sensors is not None:
            filters.append(("sensor", "in", list(sensors)))
        if start is not None:
            filters.append(("ts", ">=", pa.scalar(start, type=pa.timestamp("us", tz="UTC"))))
        if end is not None:
            filters.append(
                ("ts", "<=" if end_inclusive else "<", pa.scalar(end, type=pa.timestamp("us", tz="UTC")))
            )
        with self.fs.open(self.path(day), "rb") as f:
            return pq.read_table(f, schema=SCHEMA, filters=filters or None)
