"""Check that a peer published the same tables as `segmenter run`.

    bench/.venv/bin/python bench/check_tables.py SEGMENTER_DB OTHER

OTHER is a DuckDB database file (the hand-written script's, a dataframe peer's written through
Arrow, dbt's) or a folder of Parquet files (a dataframe peer's Parquet variant: `<table>.parquet`
per table, the history as `<table>/<as_of>.parquet`, see peers/publish.py).

For each published table (see handwritten_tables.sql) compares column names and types, then the
contents both ways with EXCEPT ALL (a multiset comparison; DOUBLE columns rounded to 9 decimal
places), and prints OK or DIFF per table with the row counts. The catalogs are compared on their
reduced columns only. Parquet has no ENUM type: against a Parquet folder segmenter's ENUM columns
are expected as VARCHAR (and compared as text). Exits 1 when any table differs.
"""
import pathlib
import sys

import duckdb

# table -> the columns compared (None: all of segmenter's)
TABLES = {
    "customer_features": None,
    "rfm_scores": None,
    "rfm_club_scores": None,
    "segment_members": None,
    "tier_assignments": None,
    "segment_catalog": ["name", "size", "share"],
    "tier_catalog": ["ladder", "tier", "rank", "size", "share"],
    "segment_members_history": None,
    "tier_history": None,
}
HISTORY = ("segment_members_history", "tier_history")


def columns(c, db, table):
    return c.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND table_name = ? "
                     "ORDER BY column_index", [db, table]).fetchall()


def check(segmenter_db, other, out=print) -> bool:
    """Compare every published table of `other` (database file or Parquet folder) with segmenter's."""
    c = duckdb.connect()
    c.execute(f"ATTACH '{segmenter_db}' AS seg (READ_ONLY)")
    other = pathlib.Path(other)
    parquet = other.is_dir()
    if parquet:
        c.execute("ATTACH ':memory:' AS hand")
        for table in TABLES:
            path = other / table / "*.parquet" if table in HISTORY else other / f"{table}.parquet"
            if table in HISTORY and not any((other / table).glob("*.parquet")) or table not in HISTORY and not path.exists():
                continue
            c.execute(f"CREATE VIEW hand.{table} AS SELECT * FROM read_parquet('{path}')")
    else:
        c.execute(f"ATTACH '{other}' AS hand (READ_ONLY)")
    ok = True
    for table, only in TABLES.items():
        want, got = columns(c, "seg", table), columns(c, "hand", table)
        if not want or not got:
            out(f"{table:<24} DIFF  missing in {'segmenter' if not want else 'the other'} {'database' if not want or not parquet else 'folder'}")
            ok = False
            continue
        if only:
            want = [col for col in want if col[0] in only]
            got = [col for col in got if col[0] in only]
        enums = {n for n, t in want if t.startswith("ENUM(")}
        if parquet:
            want = [(n, "VARCHAR" if n in enums else t) for n, t in want]
        if want != got:
            out(f"{table:<24} DIFF  columns: segmenter {want}\n{'':<30}other     {got}")
            ok = False
            continue
        select = ", ".join(f'round("{n}", 9) AS "{n}"' if t == "DOUBLE" else f'"{n}"::VARCHAR AS "{n}"' if n in enums else f'"{n}"'
                           for n, t in want)
        q = lambda a, b: f"SELECT count(*) FROM (SELECT {select} FROM {a}.{table} EXCEPT ALL SELECT {select} FROM {b}.{table})"
        n_seg = c.execute(f"SELECT count(*) FROM seg.{table}").fetchone()[0]
        n_other = c.execute(f"SELECT count(*) FROM hand.{table}").fetchone()[0]
        only_seg, only_other = c.execute(q("seg", "hand")).fetchone()[0], c.execute(q("hand", "seg")).fetchone()[0]
        same = only_seg == 0 and only_other == 0
        ok &= same
        out(f"{table:<24} {'OK  ' if same else 'DIFF'}  rows: segmenter {n_seg}, other {n_other}; "
            f"only in segmenter {only_seg}, only in other {only_other}; {len(want)} columns")
    c.close()
    out("all tables equal" if ok else "TABLES DIFFER")
    return ok


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(0 if check(sys.argv[1], sys.argv[2]) else 1)


if __name__ == "__main__":
    main()
