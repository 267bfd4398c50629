"""Check that a hand-written script published the same tables as `segmenter run`.

    bench/.venv/bin/python bench/check_tables.py SEGMENTER_DB HAND_DB

For each published table (see handwritten_tables.sql) compares column names and types, then the
contents both ways with EXCEPT ALL (a multiset comparison; DOUBLE columns rounded to 9 decimal
places), and prints OK or DIFF per table with the row counts. The catalogs are compared on their
reduced columns only. Exits 1 when any table differs.
"""
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


def columns(c, db, table):
    return c.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND table_name = ? "
                     "ORDER BY column_index", [db, table]).fetchall()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    c = duckdb.connect()
    c.execute(f"ATTACH '{sys.argv[1]}' AS seg (READ_ONLY)")
    c.execute(f"ATTACH '{sys.argv[2]}' AS hand (READ_ONLY)")
    ok = True
    for table, only in TABLES.items():
        want, got = columns(c, "seg", table), columns(c, "hand", table)
        if not want or not got:
            print(f"{table:<24} DIFF  missing in {'segmenter' if not want else 'hand'} database")
            ok = False
            continue
        if only:
            want = [col for col in want if col[0] in only]
            got = [col for col in got if col[0] in only]
        if want != got:
            print(f"{table:<24} DIFF  columns: segmenter {want}\n{'':<30}hand      {got}")
            ok = False
            continue
        select = ", ".join(f'round("{n}", 9) AS "{n}"' if t == "DOUBLE" else f'"{n}"' for n, t in want)
        q = lambda a, b: f"SELECT count(*) FROM (SELECT {select} FROM {a}.{table} EXCEPT ALL SELECT {select} FROM {b}.{table})"
        n_seg = c.execute(f"SELECT count(*) FROM seg.{table}").fetchone()[0]
        n_hand = c.execute(f"SELECT count(*) FROM hand.{table}").fetchone()[0]
        only_seg, only_hand = c.execute(q("seg", "hand")).fetchone()[0], c.execute(q("hand", "seg")).fetchone()[0]
        same = only_seg == 0 and only_hand == 0
        ok &= same
        print(f"{table:<24} {'OK  ' if same else 'DIFF'}  rows: segmenter {n_seg}, hand {n_hand}; "
              f"only in segmenter {only_seg}, only in hand {only_hand}; {len(want)} columns")
    print("all tables equal" if ok else "TABLES DIFFER")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
