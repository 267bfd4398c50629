"""Writing the published tables of the *same tables* peers (tables_polars.py, tables_pandas.py).

Both peers hand over the same thing: a dict of pyarrow Tables named as `segmenter run` names its
tables (customer_features, rfm_scores, rfm_club_scores, segment_members, tier_assignments,
segment_catalog, tier_catalog) plus this as_of's history rows (segment_members_history,
tier_history), with the column names, order and Arrow types that map onto segmenter's DuckDB
types. This module writes them one of two ways:

- `write_parquet(folder, tables, as_of)`: one Parquet file per current table (written to a
  temporary name, then renamed over the old file), and the history as one file per as_of
  (`<table>/<as_of>.parquet`, so a rerun of the same date replaces that date's rows and keeps
  the other dates'), the usual layout of a Parquet lake;
- `write_duckdb(path, tables, as_of, enums)`: into a DuckDB database file through Arrow, in one
  transaction, as segmenter publishes: current tables replaced, names that segmenter keeps as
  ENUMs declared as such (Arrow dictionaries arrive in DuckDB as VARCHAR), this as_of's
  history rows replaced, memberships kept as segment ids (`segment_ids`,
  `segment_members_history_ids`) behind the view `segment_members_history`, as segmenter keeps
  them. DuckDB here only stores what the peer computed; it computes nothing but the ENUM casts
  and the id lookup of the stored history.

`cents_to_decimal` turns exact integer cents into an Arrow DECIMAL(18,2) column without a
detour through floats (both peers keep money as int64 cents, so thresholds are exact).
"""
import datetime as dt
import os
import pathlib

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HISTORY = ("segment_members_history", "tier_history")


def cents_to_decimal(cents, valid=None) -> pa.Array:
    """int64 cents (numpy array; `valid` a boolean mask, None: all valid) -> decimal128(18, 2).
    A decimal128 is a little-endian 128-bit integer scaled by 10^scale: the cents themselves,
    sign-extended to 128 bits."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension
    validity = None
    if valid is not None and not valid.all():
        validity = pa.array(np.asarray(valid, dtype=bool)).buffers()[1]
        words[~valid] = 0
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(cents), [validity, pa.py_buffer(words)])


def write_parquet(folder, tables: dict, as_of: dt.date):
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        if name in HISTORY:
            path = folder / name / f"{as_of.isoformat()}.parquet"
            path.parent.mkdir(exist_ok=True)
        else:
            path = folder / f"{name}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, path)


def _enum(values):
    return "ENUM(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def write_duckdb(path, tables: dict, as_of: dt.date, enums: dict, memory_limit=None):
    """`enums`: {table: {column: [values]}}, the columns segmenter publishes as ENUMs."""
    c = duckdb.connect(str(path))
    if memory_limit:
        c.execute(f"SET memory_limit = '{memory_limit}'")
    c.execute("BEGIN TRANSACTION")
    for name, table in tables.items():
        if name in HISTORY:
            continue
        c.register("peer_table", table)
        cols = ", ".join(f'"{n}"::{_enum(enums[name][n])} AS "{n}"' if n in enums.get(name, {}) else f'"{n}"'
                         for n in table.column_names)
        c.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {cols} FROM peer_table")
        c.unregister("peer_table")

    # History: this as_of's rows replace any earlier run's for the same day.
    members = tables["segment_members_history"]
    c.execute("CREATE TABLE IF NOT EXISTS segment_ids (segment_id INTEGER, segment VARCHAR)")
    known = dict(c.execute("SELECT segment, segment_id FROM segment_ids").fetchall())
    seg = members.column("segment").combine_chunks()
    if not isinstance(seg, pa.DictionaryArray):
        seg = seg.dictionary_encode()
    names = seg.dictionary.to_pylist()
    new = sorted(n for n in names if n not in known)
    start = max(known.values(), default=0)
    for i, n in enumerate(new):
        known[n] = start + 1 + i
    if new:
        c.register("new_ids", pa.table({"segment_id": pa.array([known[n] for n in new], pa.int32()), "segment": new}))
        c.execute("INSERT INTO segment_ids SELECT * FROM new_ids")
        c.unregister("new_ids")
    ids = np.array([known[n] for n in names], dtype=np.int32)[seg.indices.to_numpy(zero_copy_only=False)]
    c.register("peer_history", pa.table({"as_of": members.column("as_of"), "customer_id": members.column("customer_id"),
                                         "segment_id": ids}))
    c.execute("CREATE TABLE IF NOT EXISTS segment_members_history_ids (as_of DATE, customer_id BIGINT, segment_id INTEGER)")
    c.execute("DELETE FROM segment_members_history_ids WHERE as_of = ?", [as_of])
    c.execute("INSERT INTO segment_members_history_ids SELECT * FROM peer_history")
    c.unregister("peer_history")
    c.execute("CREATE OR REPLACE VIEW segment_members_history AS "
              "SELECT as_of, customer_id, segment FROM segment_members_history_ids JOIN segment_ids USING (segment_id)")
    c.register("peer_tiers", tables["tier_history"])
    c.execute("CREATE TABLE IF NOT EXISTS tier_history (as_of DATE, customer_id BIGINT, ladder VARCHAR, tier VARCHAR, rank INTEGER)")
    c.execute("DELETE FROM tier_history WHERE as_of = ?", [as_of])
    c.execute("INSERT INTO tier_history SELECT * FROM peer_tiers")
    c.unregister("peer_tiers")
    c.execute("COMMIT")
    c.close()
