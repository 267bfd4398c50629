"""The core subset (CLV bands, order-count and lifecycle segments, club_tier) in pandas and
polars, for the side-by-side benchmark. Each function returns a pyarrow Table of
(customer_id, segment), tiers as 'club_tier/<level>'."""
import datetime as dt

SEGMENTS = ["clv_low", "clv_medium", "clv_high", "one_time_buyers", "returning", "active", "inactive", "new_customers"]


def _cut(as_of):
    day_after = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    # INTERVAL 12 MONTH before the day after as_of (as_of is mid-month in the benchmark).
    start_12m = day_after.replace(year=day_after.year - 1)
    return day_after, start_12m


def pandas_members(data, as_of):
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    day_after, start_12m = _cut(as_of)
    cust = pd.read_parquet(f"{data}/customers.parquet", columns=["customer_id", "signup_date"])
    cust = cust[pd.to_datetime(cust["signup_date"]) < day_after]
    # DECIMAL(12,2) would arrive as Python Decimal objects: cast in Arrow, sum whole cents.
    t = pq.read_table(f"{data}/orders.parquet", columns=["customer_id", "ordered_at", "amount"])
    t = t.set_column(2, "amount", t["amount"].cast(pa.float64()))
    o = t.to_pandas()
    o = o[o["ordered_at"] < day_after]
    o["cents"] = (o["amount"] * 100).round().astype("int64")
    o["in12"] = o["ordered_at"] >= start_12m
    o["cents12"] = o["cents"].where(o["in12"], 0)
    g = o.groupby("customer_id").agg(
        order_count=("cents", "size"), total=("cents", "sum"), last=("ordered_at", "max"),
        first=("ordered_at", "min"), spend12=("cents12", "sum"), orders12=("in12", "sum"))
    f = cust[["customer_id"]].merge(g, left_on="customer_id", right_index=True, how="left")
    f = f.fillna({"order_count": 0, "total": 0, "spend12": 0, "orders12": 0})
    asof = pd.Timestamp(as_of)
    recency = (asof - f["last"].dt.normalize()).dt.days
    first = (asof - f["first"].dt.normalize()).dt.days
    total, n, s12, o12 = f["total"], f["order_count"], f["spend12"], f["orders12"]
    flags = {
        "clv_low": total <= 100_000, "clv_medium": (total > 100_000) & (total <= 500_000), "clv_high": total > 500_000,
        "one_time_buyers": n == 1, "returning": n >= 2,
        "active": recency < 90, "inactive": recency >= 180, "new_customers": first < 30,
    }
    ids = f["customer_id"].to_numpy()
    tier = np.select([s12 >= 500_000, (s12 >= 150_000) & (o12 >= 6), s12 >= 50_000], ["vip", "gold", "silver"], "bronze")
    parts = [pd.DataFrame({"customer_id": ids[m.to_numpy()], "segment": name}) for name, m in flags.items()]
    parts.append(pd.DataFrame({"customer_id": ids, "segment": np.char.add("club_tier/", tier.astype(str))}))
    return pa.Table.from_pandas(pd.concat(parts, ignore_index=True), preserve_index=False)


def polars_members(data, as_of):
    import polars as pl

    day_after, start_12m = _cut(as_of)
    cust = pl.scan_parquet(f"{data}/customers.parquet").select("customer_id", "signup_date").filter(
        pl.col("signup_date").cast(pl.Datetime) < day_after)
    o = (pl.scan_parquet(f"{data}/orders.parquet").select("customer_id", "ordered_at", "amount")
         .filter(pl.col("ordered_at") < day_after)
         .with_columns((pl.col("ordered_at") >= start_12m).alias("in12")))
    g = o.group_by("customer_id").agg(
        pl.len().alias("n"), pl.col("amount").sum().alias("total"),
        pl.col("ordered_at").max().alias("last"), pl.col("ordered_at").min().alias("first"),
        pl.col("amount").filter(pl.col("in12")).sum().alias("s12"), pl.col("in12").sum().alias("o12"))
    asof = pl.lit(as_of).cast(pl.Date)
    total, n, s12, o12 = (pl.col(c).fill_null(0) for c in ["total", "n", "s12", "o12"])
    recency = (asof - pl.col("last").dt.date()).dt.total_days()
    first = (asof - pl.col("first").dt.date()).dt.total_days()
    f = cust.join(g, on="customer_id", how="left").select(
        "customer_id",
        (total <= 1000).alias("clv_low"), ((total > 1000) & (total <= 5000)).alias("clv_medium"), (total > 5000).alias("clv_high"),
        (n == 1).alias("one_time_buyers"), (n >= 2).alias("returning"),
        (recency < 90).fill_null(False).alias("active"), (recency >= 180).fill_null(False).alias("inactive"),
        (first < 30).fill_null(False).alias("new_customers"),
        pl.when(s12 >= 5000).then(pl.lit("club_tier/vip"))
          .when((s12 >= 1500) & (o12 >= 6)).then(pl.lit("club_tier/gold"))
          .when(s12 >= 500).then(pl.lit("club_tier/silver")).otherwise(pl.lit("club_tier/bronze")).alias("tier"))
    seg = (f.unpivot(index="customer_id", on=SEGMENTS, variable_name="segment", value_name="member")
           .filter(pl.col("member")).select("customer_id", "segment"))
    tiers = f.select("customer_id", pl.col("tier").alias("segment"))
    return pl.concat([seg, tiers]).collect().to_arrow()
