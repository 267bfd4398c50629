"""The FULL built-in library in pandas, publishing THE SAME TABLES as `segmenter run` (not only the
memberships, as full_pandas.py does): the pandas peer of bench/handwritten_tables.sql.

    publish_tables(data, as_of, out, fmt) -> out

fmt "parquet": a folder of Parquet files; fmt "duckdb": a DuckDB database file written through
Arrow (publish.py). The tables and their columns are tables_polars.py's (its header lists
them); the semantics full_pandas.py's (windows, exact cents, quantile_cont, NULL rules, the
exclusive campaign group, RFM ranks) plus what the published columns need, as
handwritten_tables.sql computes them: the top category and its lines (NULL categories not
counted; lines 0 without any), the 30-day abandoned carts' products joined with ';' newest cart
first, then by cart_id, the latest consent row per channel, loyal_buyer, and each tier's next
level and gaps.

Columns are pandas Series aligned on the customers; NULL is NaN / NA, turned into Arrow nulls at
the end (pa.Table.from_pandas), with money converted from int64 cents to DECIMAL(18,2).

Run: python tables_pandas.py <data_dir> <as_of> <out> [parquet|duckdb]
"""
import datetime as dt
import pathlib
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import publish
from full_pandas import CART_ABANDON_DAYS, HOLIDAY_CALENDAR, HOLIDAY_WINDOWS, HOME_COUNTRIES, _quantile_cont, _quantile_cont_cents, _read, _rfm_part
from tables_polars import (ALL_SEGMENTS, CLUB_LEVELS, ENUMS, FEATURE_COLUMNS, LADDER_ENUM, LOYALTY_LEVELS, RULE_SEGMENTS,
                           SEGMENT_ENUM, TIER_ENUM)

RFM_LABELS = ["champions", "loyal", "cannot_lose", "at_risk", "potential_loyalists", "promising", "new",
              "need_attention", "about_to_sleep", "hibernating", "lost"]
RFM_CLUB_LABELS = ["platinum", "gold", "silver", "bronze"]


def _features(data: pathlib.Path, as_of: dt.date) -> pd.DataFrame:
    """One row per customer (index customer_id): every published feature, money in int64 cents."""
    as_of_ts = pd.Timestamp(as_of)
    day_after = as_of_ts + pd.Timedelta(days=1)
    start_12m = day_after - pd.DateOffset(months=12)
    start_90d = day_after - pd.Timedelta(days=90)
    start_cart = day_after - pd.Timedelta(days=CART_ABANDON_DAYS)
    demographic = ["gender", "country", "province", "city", "area_type", "climate_zone", "income_band", "education",
                   "marital_status", "occupation"]

    # --- customers: the population and its declared features ---
    cust = _read(data, "customers", ["customer_id", "signup_date", "birth_date", *demographic],
                 before=("signup_date", day_after), categories=demographic)
    f = cust.set_index("customer_id")
    ids = f.index
    f["tenure_days"] = (as_of_ts - f["signup_date"]).dt.days
    # date_sub('year', birth_date, as_of): whole years, DuckDB's end-of-month rule on as_of's last day.
    b = f["birth_date"]
    bday = b.dt.day
    if (as_of + dt.timedelta(days=1)).day == 1:
        bday = bday.clip(upper=as_of.day)
    before_bday = (b.dt.month > as_of.month) | ((b.dt.month == as_of.month) & (bday > as_of.day))
    f["age"] = (as_of.year - b.dt.year - before_bday.astype("int64")).astype("Int64")
    f = f.drop(columns=["signup_date", "birth_date"])

    # --- orders: one grouped pass ---
    o = _read(data, "orders", ["customer_id", "ordered_at", "amount", "coupon_code", "ship_country"],
              categories=["coupon_code", "ship_country"], cents=["amount"], before=("ordered_at", day_after))
    in12 = o["ordered_at"] >= start_12m
    md = (o["ordered_at"].dt.month * 100 + o["ordered_at"].dt.day).to_numpy()

    def in_window(lo, hi):
        lo_md, hi_md = int(lo[:2]) * 100 + int(lo[3:]), int(hi[:2]) * 100 + int(hi[3:])
        return ((md >= lo_md) & (md <= hi_md)) if lo_md <= hi_md else ((md >= lo_md) | (md <= hi_md))
    holiday = np.zeros(len(o), dtype=bool)
    for lo, hi in HOLIDAY_WINDOWS:
        holiday |= in_window(lo, hi)
    for country, (lo, hi) in HOLIDAY_CALENDAR:
        holiday |= (o["ship_country"] == country).to_numpy(dtype=bool) & in_window(lo, hi)
    month = o["ordered_at"].dt.year * 12 + o["ordered_at"].dt.month
    o = o.assign(in12=in12, in90=o["ordered_at"] >= start_90d, spend12=o["amount"].where(in12, 0),
                 coupon=o["coupon_code"].notna(), holiday=o["amount"].where(holiday, 0), month=month)
    og = o.groupby("customer_id", sort=False).agg(
        order_count=("amount", "size"), total_cents=("amount", "sum"), last=("ordered_at", "max"),
        first=("ordered_at", "min"), orders_12m=("in12", "sum"), spend12_cents=("spend12", "sum"),
        orders_90d=("in90", "sum"), coupon_orders=("coupon", "sum"), holiday_cents=("holiday", "sum"),
        order_months=("month", "nunique"), first_month=("month", "min"), last_month=("month", "max")).reindex(ids)
    del o
    for c in ["order_count", "total_cents", "orders_12m", "spend12_cents", "orders_90d", "coupon_orders", "order_months",
              "holiday_cents"]:
        f[c] = og[c].fillna(0).astype("int64")
    f["order_span_months"] = (og["last_month"] - og["first_month"] + 1).astype("Int64")
    last_day, first_day = og["last"].dt.normalize(), og["first"].dt.normalize()
    f["recency_days"] = (as_of_ts - last_day).dt.days.astype("Int64")
    f["first_order_days"] = (as_of_ts - first_day).dt.days.astype("Int64")
    f["active_span_days"] = (last_day - first_day).dt.days.astype("Int64")
    del og

    # --- sessions: one grouped pass ---
    s = _read(data, "sessions", ["customer_id", "started_at", "device", "page_views", "clicks", "duration_s"],
              categories=["device"], before=("started_at", day_after))
    in90 = s["started_at"] >= start_90d
    s = s.assign(in90=in90, views90=s["page_views"].where(in90, 0), clicks90=s["clicks"].where(in90, 0),
                 mobile=s["device"] == "mobile", desktop=s["device"] == "desktop")
    sg = s.groupby("customer_id", sort=False).agg(
        session_count=("in90", "size"), sessions_90d=("in90", "sum"), page_views_90d=("views90", "sum"),
        clicks_90d=("clicks90", "sum"), avg_duration_s=("duration_s", "mean"), mobile_sessions=("mobile", "sum"),
        desktop_sessions=("desktop", "sum"), device_types=("device", "nunique")).reindex(ids)
    del s
    for c in ["session_count", "sessions_90d", "page_views_90d", "clicks_90d", "mobile_sessions", "desktop_sessions",
              "device_types"]:
        f[c] = sg[c].fillna(0).astype("int64")
    f["avg_visit_minutes"] = sg["avg_duration_s"] / 60.0  # NaN without visits
    del sg

    # --- carts: abandoned in the last 30 days; their products newest cart first, then by cart_id ---
    c = _read(data, "carts", ["customer_id", "cart_id", "created_at", "status", "products"], categories=["status"],
              before=("created_at", day_after))
    c = c[(c["created_at"] >= start_cart) & (c["status"] == "abandoned")]
    c = c.sort_values(["customer_id", "created_at", "cart_id"], ascending=[True, False, True])
    cg = c.groupby("customer_id", sort=False).agg(abandoned_carts_recent=("cart_id", "size"),
                                                  abandoned_products=("products", ";".join)).reindex(ids)
    f["abandoned_carts_recent"] = cg["abandoned_carts_recent"].fillna(0).astype("int64")
    f["abandoned_products"] = cg["abandoned_products"]
    del c, cg

    # --- campaign_events: the last 90 days ---
    e = _read(data, "campaign_events", ["customer_id", "sent_at", "clicked", "holdout"], before=("sent_at", day_after))
    e = e[(e["sent_at"] >= start_90d) & ~e["holdout"].fillna(False).astype(bool)]  # a holdout row is not a message
    eg = e.assign(clicked=e["clicked"].fillna(False).astype(bool)).groupby("customer_id", sort=False).agg(
        sent=("clicked", "size"), clicked=("clicked", "sum")).reindex(ids, fill_value=0)
    f["campaigns_sent_90d"] = eg["sent"].astype("int64")
    f["campaigns_clicked_90d"] = eg["clicked"].astype("int64")
    del e, eg

    # --- order_items: lines per category; the top one (alphabetically first on a tie) ---
    oi = _read(data, "order_items", ["customer_id", "ordered_at", "category"], categories=["category"],
               before=("ordered_at", day_after))
    cat = oi["category"].cat.reorder_categories(sorted(oi["category"].cat.categories))  # alphabetical
    g = pd.get_dummies(cat).groupby(oi["customer_id"], sort=False)  # a NULL category: a row of zeros
    per_cat, item_lines = g.sum(), g.size()
    del oi, cat, g
    units = per_cat.to_numpy()
    top = units.max(axis=1)
    top_category = np.where(top > 0, np.asarray(per_cat.columns, dtype=object)[units.argmax(axis=1)], None)
    f["top_category"] = pd.Series(top_category, index=per_cat.index).reindex(ids)
    f["top_category_lines"] = pd.Series(top, index=per_cat.index).reindex(ids, fill_value=0).astype("int64")
    f["item_lines"] = item_lines.reindex(ids, fill_value=0).astype("int64")
    del per_cat, units

    # --- survey (no time column) ---
    sv = _read(data, "survey", ["customer_id", "price_sensitivity", "interests", "lifestyle", "household_size"])
    svg = sv.groupby("customer_id").agg(price_sensitivity=("price_sensitivity", "max"), interests=("interests", "max"),
                                        lifestyle=("lifestyle", "max"), household_size=("household_size", "max")).reindex(ids)
    for c in ["price_sensitivity", "interests", "lifestyle", "household_size"]:
        f[c] = svg[c]  # numbers as floats with NaN: cast back to the source's type in Arrow (_tables)
    del sv, svg

    # --- consent: per channel the opted_out of the latest row; NA without a row ---
    cs = _read(data, "consent", ["customer_id", "channel", "opted_out", "updated_at"], categories=["channel"],
               before=("updated_at", day_after))
    cs = cs.dropna(subset=["opted_out", "updated_at"])
    latest = cs.sort_values("updated_at", kind="stable").drop_duplicates(["customer_id", "channel"], keep="last")
    wide = latest.pivot(index="customer_id", columns="channel", values="opted_out")
    for ch in ["email", "sms", "push"]:
        f[f"{ch}_opted_out"] = (wide[ch] if ch in wide else pd.Series(index=wide.index, dtype=object)).astype("boolean").reindex(ids)
    del cs, latest, wide

    # --- derived features (DuckDB: DECIMAL and integer division give DOUBLE; NULL for a zero divisor) ---
    num = lambda c: f[c].astype("float64")  # nullable ints as floats with NaN
    nz = lambda c: num(c).where(f[c] != 0)
    total_d = f["total_cents"] / 100.0
    f["buyer_cents"] = f["total_cents"].where(f["order_count"] > 0).astype("Int64")
    f["top_category_share"] = num("top_category_lines") / nz("item_lines")
    f["response_rate_90d"] = num("campaigns_clicked_90d") / nz("campaigns_sent_90d")
    f["aov"] = total_d / nz("order_count")
    f["coupon_share"] = num("coupon_orders") / nz("order_count")
    f["month_coverage"] = num("order_months") / num("order_span_months")
    f["holiday_share"] = (f["holiday_cents"] / 100.0) / total_d.where(f["total_cents"] != 0)
    f["avg_interval_days"] = num("active_span_days") / (num("order_count") - 1).where(f["order_count"] != 1)
    f["mobile_share"] = num("mobile_sessions") / nz("session_count")
    f["desktop_share"] = num("desktop_sessions") / nz("session_count")
    f["engagement_score"] = (0.3 * np.minimum(f["sessions_90d"] / 10, 1) + 0.2 * np.minimum(f["clicks_90d"] / 40, 1)
                             + 0.2 * f["response_rate_90d"].fillna(0) + 0.3 * np.minimum(f["orders_90d"] / 2, 1))
    return f


def _tables(data: pathlib.Path, as_of: dt.date) -> dict:
    f = _features(data, as_of)
    ids = f.index
    n_cust = len(f)

    # --- population statistics (all customers, NULLs left out) ---
    order_count, total = f["order_count"], f["total_cents"]
    recency = f["recency_days"].astype("float64")  # NaN without orders
    avg_orders = order_count.mean()
    avg_sessions = f["session_count"].mean()
    median_spent = _quantile_cont_cents(total, 0.5)
    q90_buyer_spend = _quantile_cont_cents(total[order_count > 0], 0.9)
    median_interval = _quantile_cont(f["avg_interval_days"].dropna(), 0.5)

    f["loyal_buyer"] = (order_count > max(3, avg_orders)) & (recency <= 365)  # FALSE for a non-buyer, as in SQL
    f["churn_ratio"] = recency / np.fmax(f["avg_interval_days"].fillna(median_interval), 1)

    # --- rule segments (NaN comparisons are False: a NULL rule is not a member) ---
    has_orders = order_count > 0
    inactive = recency >= 180
    loyal = f["loyal_buyer"]
    coupon_lovers = (order_count >= 1) & (f["coupon_share"] >= 1.0)
    clv_high = total > 500000
    retain = loyal | clv_high
    win_back = inactive & ((order_count >= 2) | (total >= median_spent))
    age = f["age"].astype("float64")
    cr, eng, top_share = f["churn_ratio"], f["engagement_score"], f["top_category_share"]
    sessions = f["session_count"]
    email = f["email_opted_out"]
    isin = lambda c, values: f[c].isin(values)
    seg = {
        "category_loyal": (top_share >= 0.5) & (f["item_lines"] >= 4),
        "affinity_electronics": (f["top_category"] == "electronics") & (top_share >= 0.4),
        "affinity_fashion": (f["top_category"] == "fashion") & (top_share >= 0.4),
        "affinity_home": (f["top_category"] == "home") & (top_share >= 0.4),
        "loyal": loyal,
        "one_time_buyers": order_count == 1,
        "registered_no_orders": (order_count == 0) & (sessions > 4),
        "coupon_lovers": coupon_lovers,
        "hesitant": (sessions > avg_sessions) & (order_count <= 1),
        "cart_abandoners": f["abandoned_carts_recent"] >= 1,
        "periodic_buyers": (order_count >= 4) & (f["order_span_months"].astype("float64") >= 3)
                           & (f["month_coverage"] >= 0.8) & (recency < 45),
        "campaign_win_back": win_back & ~retain,
        "campaign_encourage": has_orders & ~retain & ~win_back,
        "campaign_retain": retain,
        "churn_risk_high": cr >= 3,
        "churn_risk_medium": (cr >= 1.5) & (cr < 3),
        "churn_risk_low": cr < 1.5,
        "email_contactable": ~email,
        "opted_out_email": email,
        "age_18_24": age.between(18, 24),
        "age_25_34": age.between(25, 34),
        "age_35_44": age.between(35, 44),
        "age_45_54": age.between(45, 54),
        "age_55_64": age.between(55, 64),
        "age_65_plus": age >= 65,
        "gender_female": f["gender"] == "female",
        "gender_male": f["gender"] == "male",
        "income_low": isin("income_band", ["low"]),
        "income_middle": isin("income_band", ["middle"]),
        "income_high": isin("income_band", ["high", "very_high"]),
        "education_secondary": f["education"] == "secondary",
        "education_higher": isin("education", ["bachelor", "master_or_higher"]),
        "single": f["marital_status"] == "single",
        "married": f["marital_status"] == "married",
        "occupation_student": f["occupation"] == "student",
        "occupation_professional": isin("occupation", ["professional", "manager"]),
        "occupation_retired": f["occupation"] == "retired",
        "household_single": f["household_size"].astype("float64") == 1,
        "household_large": f["household_size"].astype("float64") >= 4,
        "engagement_high": eng >= 0.5,
        "engagement_medium": (eng >= 0.2) & (eng < 0.5),
        "engagement_low": eng < 0.2,
        "long_visits": (f["avg_visit_minutes"] >= 10) & (sessions >= 3),
        "home_market": isin("country", HOME_COUNTRIES),
        "international": f["country"].notna() & ~isin("country", HOME_COUNTRIES),
        "country_unknown": f["country"].isna(),
        "urban": f["area_type"] == "urban",
        "rural": f["area_type"] == "rural",
        "warm_climate": isin("climate_zone", ["tropical", "subtropical", "arid", "mediterranean"]),
        "cold_climate": isin("climate_zone", ["continental"]),
        "target_provinces": isin("province", ["California", "Ontario", "Bavaria"]),
        "target_cities": isin("city", ["New York", "Toronto", "London"]),
        "holiday_shoppers": f["holiday_share"] >= 0.5,
        "new_customers": f["first_order_days"].astype("float64") < 30,
        "returning": order_count >= 2,
        "active": recency < 90,
        "inactive": inactive,
        "price_sensitive": (f["price_sensitivity"].astype("float64") >= 4) | coupon_lovers,
        "interest_sports_outdoor": isin("interests", ["sports", "outdoor"]),
        "interest_fashion_beauty": isin("interests", ["fashion", "beauty"]),
        "interest_home_living": isin("interests", ["home", "cooking"]),
        "mobile_first": (f["mobile_share"] >= 0.6) & (sessions >= 3),
        "desktop_first": (f["desktop_share"] >= 0.6) & (sessions >= 3),
        "multi_device": (f["device_types"] >= 2) & (sessions >= 3) & (f["mobile_share"] < 0.6) & (f["desktop_share"] < 0.6),
        "clv_low": total <= 100000,
        "clv_medium": (total > 100000) & (total <= 500000),
        "clv_high": clv_high,
        "big_spenders": (order_count >= 2) & (total >= q90_buyer_spend),
        "luxury_buyers": f["aov"] > 700,
    }
    assert list(seg) == RULE_SEGMENTS

    # --- rfm among buyers: parts, the first matching label; rfm_club by r + f + m ---
    buyers = f[has_orders]
    r = _rfm_part(buyers["recency_days"].astype("float64"), ascending=False).astype("int32")
    fq = _rfm_part(buyers["order_count"], ascending=True).astype("int32")
    m = _rfm_part(buyers["total_cents"], ascending=True).astype("int32")
    conds = [(r >= 4) & (fq >= 4) & (m >= 4), (r >= 3) & (fq >= 4), (r <= 2) & (fq >= 4) & (m >= 4),
             (r <= 2) & (fq >= 3), (r >= 4) & (fq >= 2), (r >= 4) & (fq == 1) & (m >= 3), (r >= 4) & (fq == 1),
             (r == 3) & (fq >= 2), (r == 3) & (fq == 1), r == 2, r == 1]
    label = np.select(conds, list(range(len(RFM_LABELS))), default=-1)
    rfm_sum = r + fq + m
    club_label = np.select([rfm_sum >= 13, rfm_sum >= 10, rfm_sum >= 7, rfm_sum >= 3], [0, 1, 2, 3], default=-1)
    score = pd.Series(np.array([str(i) for i in range(556)], dtype=object)[(r * 100 + fq * 10 + m).to_numpy()])
    m_value = publish.cents_to_decimal(buyers["total_cents"].to_numpy())

    def rfm_table(codes, labels):
        lab = pd.Series(np.asarray(labels + [None], dtype=object)[codes])  # -1: the appended None
        return pa.table({"customer_id": pa.array(buyers.index.to_numpy(np.int64)), "r": pa.array(r.to_numpy()),
                         "f": pa.array(fq.to_numpy()), "m": pa.array(m.to_numpy()), "score": pa.array(score.to_numpy(object), pa.string()),
                         "label": pa.array(lab, pa.string()), "r_value": pa.array(buyers["recency_days"].to_numpy(np.int64)),
                         "f_value": pa.array(buyers["order_count"].to_numpy(np.int64)), "m_value": m_value})

    # --- memberships: the ids of each segment's members, concatenated, the segment as an ENUM ---
    id_arr = ids.to_numpy(np.int64)
    rfm_ids = buyers.index.to_numpy(np.int64)
    enum_code = {n: i for i, n in enumerate(SEGMENT_ENUM)}
    codes, chunks = [], []
    for name, mask in seg.items():
        codes.append(enum_code[name])
        chunks.append(id_arr[mask.to_numpy(dtype=bool, na_value=False)])
    for i, lab in enumerate(RFM_LABELS):
        codes.append(enum_code["rfm_" + lab])
        chunks.append(rfm_ids[label == i])
    for i, lab in enumerate(RFM_CLUB_LABELS):
        codes.append(enum_code["rfm_club_" + lab])
        chunks.append(rfm_ids[club_label == i])
    sizes = [len(ch) for ch in chunks]
    segment = pa.DictionaryArray.from_arrays(pa.array(np.repeat(np.array(codes, np.int32), sizes)), pa.array(SEGMENT_ENUM))
    member_ids = pa.array(np.concatenate(chunks))
    members = pa.table({"customer_id": member_ids, "segment": segment})

    # --- ladders: first matching level wins; next_tier the level above; gaps to its thresholds ---
    spend, orders12, tenure = f["spend12_cents"].to_numpy(), f["orders_12m"].to_numpy(), f["tenure_days"].to_numpy()
    club = 1 + np.select([spend >= 500000, (spend >= 150000) & (orders12 >= 6), spend >= 50000], [0, 1, 2], 3)
    level = 1 + np.select([(spend >= 500000) & (tenure >= 365), (orders12 >= 6) & (spend >= 150000) & (tenure >= 90),
                           loyal.to_numpy() & (tenure >= 90), (recency < 90).to_numpy() & (tenure >= 90), tenure < 90,
                           order_count.to_numpy() >= 1], [0, 1, 2, 3, 4, 5], 6)
    tier_code = {n: i for i, n in enumerate(TIER_ENUM)}

    def ladder_table(ladder, levels, rank, spend_thresholds, orders_thresholds, tenure_thresholds):
        """rank per customer -> the ladder's rows; *_thresholds: {rank: threshold of the next level}."""
        codes = np.array([tier_code[lv] for lv in levels], np.int32)
        n = len(rank)
        tier = pa.DictionaryArray.from_arrays(pa.array(codes[rank - 1]), pa.array(TIER_ENUM))
        nxt = pa.DictionaryArray.from_arrays(pa.array(codes[np.maximum(rank - 2, 0)], mask=rank == 1), pa.array(TIER_ENUM))

        def gaps(thresholds, value):
            t = np.zeros(n, np.int64)
            for rk, threshold in thresholds.items():
                t[rank == rk] = threshold
            has = np.isin(rank, list(thresholds))
            return np.where(has, np.maximum(t - value, 0), 0), has
        g_spend, has_spend = gaps(spend_thresholds, spend)
        g_orders, has_orders_gap = gaps(orders_thresholds, orders12)
        g_tenure, has_tenure = gaps(tenure_thresholds, tenure)
        return pa.table({
            "customer_id": pa.array(id_arr), "ladder": pa.DictionaryArray.from_arrays(
                pa.array(np.full(n, LADDER_ENUM.index(ladder), np.int32)), pa.array(LADDER_ENUM)),
            "tier": tier, "rank": pa.array(rank.astype(np.int32)), "next_tier": nxt,
            "gap_spend_12m": publish.cents_to_decimal(g_spend, has_spend),
            "gap_orders_12m": pa.array(g_orders, mask=~has_orders_gap),
            "gap_tenure_days": pa.array(g_tenure, pa.int64(), mask=~has_tenure),
        })
    tiers = pa.concat_tables([
        ladder_table("club_tier", CLUB_LEVELS, club, {2: 500000, 3: 150000, 4: 50000}, {3: 6}, {}),
        ladder_table("loyalty_level", LOYALTY_LEVELS, level, {2: 500000, 3: 150000}, {3: 6}, {2: 365, 3: 90}),
    ])

    # --- catalogs (reduced): size and share of all customers ---
    share = lambda size: 0.0 if n_cust == 0 else np.floor(size / n_cust * 10000 + 0.5) / 10000  # DuckDB round(x, 4)
    seg_size = dict(zip((SEGMENT_ENUM[c] for c in codes), sizes))
    segment_catalog = pa.table({"name": ALL_SEGMENTS, "size": pa.array([seg_size[n] for n in ALL_SEGMENTS], pa.int64()),
                                "share": pa.array([share(seg_size[n]) for n in ALL_SEGMENTS], pa.float64())})
    defs = [("club_tier", lv, i + 1, int((club == i + 1).sum())) for i, lv in enumerate(CLUB_LEVELS)] + \
           [("loyalty_level", lv, i + 1, int((level == i + 1).sum())) for i, lv in enumerate(LOYALTY_LEVELS)]
    tier_catalog = pa.table({"ladder": [d[0] for d in defs], "tier": [d[1] for d in defs],
                             "rank": pa.array([d[2] for d in defs], pa.int32()), "size": pa.array([d[3] for d in defs], pa.int64()),
                             "share": pa.array([share(d[3]) for d in defs], pa.float64())})

    # --- customer_features to Arrow (NaN / NA -> null), money from cents to DECIMAL(18,2) ---
    money = {"total_spent": "total_cents", "spend_12m": "spend12_cents", "holiday_spend": "holiday_cents",
             "buyer_spend": "buyer_cents"}
    out = f.reset_index()[[c for c in FEATURE_COLUMNS if c not in money] + list(money.values())]
    features = pa.Table.from_pandas(out, preserve_index=False)
    for name, cents in money.items():
        col = features.column(cents).combine_chunks()
        valid = None if col.null_count == 0 else col.is_valid().to_numpy(zero_copy_only=False)
        features = features.append_column(name, publish.cents_to_decimal(col.fill_null(0).to_numpy(zero_copy_only=False), valid))
    # max() keeps the source's type: the survey's answers as they are declared in its file.
    survey = pq.read_schema(data / "survey.parquet")
    for c in ["price_sensitivity", "household_size"]:
        features = features.set_column(features.schema.get_field_index(c), c, features.column(c).cast(survey.field(c).type))
    features = features.select(FEATURE_COLUMNS)

    as_of_col = lambda n: pa.repeat(pa.scalar(as_of, pa.date32()), n)
    return {
        "customer_features": features,
        "rfm_scores": rfm_table(label, RFM_LABELS),
        "rfm_club_scores": rfm_table(club_label, RFM_CLUB_LABELS),
        "segment_members": members,
        "tier_assignments": tiers,
        "segment_catalog": segment_catalog,
        "tier_catalog": tier_catalog,
        "segment_members_history": pa.table({"as_of": as_of_col(len(members)), "customer_id": member_ids, "segment": segment}),
        "tier_history": pa.table({"as_of": as_of_col(len(tiers)), "customer_id": tiers.column("customer_id"),
                                  "ladder": tiers.column("ladder").cast(pa.string()), "tier": tiers.column("tier").cast(pa.string()),
                                  "rank": tiers.column("rank")}),
    }


def publish_tables(data, as_of: dt.date, out, fmt: str, memory_limit=None):
    """Compute the tables and write them to `out` (a folder for parquet, a file for duckdb)."""
    tables = _tables(pathlib.Path(data), as_of)
    if fmt == "parquet":
        publish.write_parquet(out, tables, as_of)
    elif fmt == "duckdb":
        publish.write_duckdb(out, tables, as_of, ENUMS, memory_limit)
    else:
        raise ValueError(fmt)
    return out


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: tables_pandas.py <data_dir> <as_of YYYY-MM-DD> <out> [parquet|duckdb]")
    t0 = time.perf_counter()
    publish_tables(sys.argv[1], dt.date.fromisoformat(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) == 5 else "parquet")
    print(f"published in {time.perf_counter() - t0:.2f} s")
