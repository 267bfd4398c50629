"""The core subset (CLV bands, order-count and lifecycle segments, club_tier) in pandas and
polars, for the side-by-side benchmark. Each function returns a set of (customer_id, segment)."""
import datetime as dt


def _cut(as_of):
    day_after = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    # INTERVAL 12 MONTH before the day after as_of (as_of is mid-month in the benchmark).
    start_12m = day_after.replace(year=day_after.year - 1)
    return day_after, start_12m


def _segments(rows):
    """rows: iterable of (customer_id, order_count, total_spent, recency, first, spend_12m, orders_12m)."""
    out = set()
    for cid, n, total, rec, first, s12, o12 in rows:
        if total <= 1000:
            out.add((cid, "clv_low"))
        elif total <= 5000:
            out.add((cid, "clv_medium"))
        else:
            out.add((cid, "clv_high"))
        if n == 1:
            out.add((cid, "one_time_buyers"))
        if n >= 2:
            out.add((cid, "returning"))
        if rec is not None and rec == rec:
            if rec < 90:
                out.add((cid, "active"))
            if rec >= 180:
                out.add((cid, "inactive"))
        if first is not None and first == first and first < 30:
            out.add((cid, "new_customers"))
        tier = "vip" if s12 >= 5000 else "gold" if (s12 >= 1500 and o12 >= 6) else "silver" if s12 >= 500 else "bronze"
        out.add((cid, "club_tier/" + tier))
    return out


def pandas_members(data, as_of):
    import pandas as pd

    day_after, start_12m = _cut(as_of)
    cust = pd.read_parquet(f"{data}/customers.parquet", columns=["customer_id", "signup_date"])
    cust = cust[pd.to_datetime(cust["signup_date"]) < day_after]
    o = pd.read_parquet(f"{data}/orders.parquet", columns=["customer_id", "ordered_at", "amount"])
    o = o[o["ordered_at"] < day_after]
    o["amount"] = o["amount"].astype(float)
    o["in12"] = o["ordered_at"] >= start_12m
    o["amt12"] = o["amount"].where(o["in12"], 0.0)
    g = o.groupby("customer_id").agg(
        order_count=("amount", "size"), total_spent=("amount", "sum"), last=("ordered_at", "max"),
        first=("ordered_at", "min"), spend_12m=("amt12", "sum"), orders_12m=("in12", "sum"))
    f = cust[["customer_id"]].merge(g, left_on="customer_id", right_index=True, how="left")
    asof = pd.Timestamp(as_of)
    f["recency"] = (asof - f["last"].dt.normalize()).dt.days
    f["firstd"] = (asof - f["first"].dt.normalize()).dt.days
    f = f.fillna({"order_count": 0, "total_spent": 0.0, "spend_12m": 0.0, "orders_12m": 0})
    return _segments(zip(f["customer_id"], f["order_count"], f["total_spent"].round(2), f["recency"], f["firstd"], f["spend_12m"].round(2), f["orders_12m"]))


def polars_members(data, as_of):
    import polars as pl

    day_after, start_12m = _cut(as_of)
    cust = pl.scan_parquet(f"{data}/customers.parquet").select("customer_id", "signup_date").filter(
        pl.col("signup_date").cast(pl.Datetime) < day_after)
    o = (pl.scan_parquet(f"{data}/orders.parquet").select("customer_id", "ordered_at", "amount")
         .filter(pl.col("ordered_at") < day_after)
         .with_columns(pl.col("amount").cast(pl.Float64), (pl.col("ordered_at") >= start_12m).alias("in12")))
    g = o.group_by("customer_id").agg(
        pl.len().alias("order_count"), pl.col("amount").sum().alias("total_spent"),
        pl.col("ordered_at").max().alias("last"), pl.col("ordered_at").min().alias("first"),
        pl.col("amount").filter(pl.col("in12")).sum().alias("spend_12m"), pl.col("in12").sum().alias("orders_12m"))
    asof = pl.lit(as_of).cast(pl.Date)
    f = (cust.join(g, on="customer_id", how="left")
         .with_columns((asof - pl.col("last").dt.date()).dt.total_days().alias("recency"),
                       (asof - pl.col("first").dt.date()).dt.total_days().alias("firstd"))
         .fill_null(strategy="zero").collect())
    # fill_null(zero) also zeroed recency/firstd of customers without orders: restore NULL.
    has = f["order_count"] > 0
    rec = [r if h else None for r, h in zip(f["recency"].to_list(), has.to_list())]
    fst = [r if h else None for r, h in zip(f["firstd"].to_list(), has.to_list())]
    return _segments(zip(f["customer_id"].to_list(), f["order_count"].to_list(), [round(x, 2) for x in f["total_spent"].to_list()],
                         rec, fst, [round(x, 2) for x in f["spend_12m"].to_list()], f["orders_12m"].to_list()))
