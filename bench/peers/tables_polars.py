"""The FULL built-in library in polars, publishing THE SAME TABLES as `segmenter run` (not only the
memberships, as full_polars.py does): the polars peer of bench/handwritten_tables.sql.

    publish(data, as_of, out, fmt) -> out

fmt "parquet": a folder of Parquet files; fmt "duckdb": a DuckDB database file, written through
Arrow (publish.py says how; DuckDB computes nothing there but the ENUM casts). The tables:

  customer_features        one row per customer, segmenter's 60 columns (names, order, types:
                           money DECIMAL(18,2), counts BIGINT, derived ratios DOUBLE)
  rfm_scores, rfm_club_scores  (customer_id, r, f, m, score, label, r_value, f_value, m_value)
  segment_members          (customer_id, segment): 69 rule segments, rfm_<label>, rfm_club_<label>
  tier_assignments         (customer_id, ladder, tier, rank, next_tier, gap_spend_12m,
                           gap_orders_12m, gap_tenure_days)
  segment_catalog          (name, size, share), reduced like handwritten_tables.sql's
  tier_catalog             (ladder, tier, rank, size, share)
  segment_members_history  this as_of's (as_of, customer_id, segment)
  tier_history             this as_of's (as_of, customer_id, ladder, tier, rank)

The semantics are full_polars.py's (its header lists the details that decide borderline
customers: windows, exact cents, correctly rounded divisions, quantile_cont, NULL rules, the
exclusive campaign group, RFM ranks) plus what the published columns need, as
handwritten_tables.sql computes them (checked equal to segmenter's by check_tables.py):

- top_category: most order lines, alphabetically first on a tie, NULL categories not counted;
  top_category_lines its lines (0 without such lines), so its share is 0.0 for a customer whose
  lines all lack a category;
- abandoned_products: the products of the 30-day abandoned carts joined with ';', newest cart
  first, then by cart_id;
- consent per channel (email, sms, push): the opted_out of the latest row, NULL without a row;
- loyal_buyer is published as computed (Kleene AND), not coalesced; segments coalesce it;
- a tier's gaps: for each threshold of the next better tier, greatest(threshold - value, 0).

Run: python tables_polars.py <data_dir> <as_of> <out> [parquet|duckdb]
"""
import datetime as dt
import pathlib
import sys
import time

import numpy as np
import polars as pl
import pyarrow as pa

import publish
from full_polars import (CART_ABANDON_DAYS, COLD, HOLIDAY_CALENDAR, HOLIDAY_WINDOWS, HOME_COUNTRIES,
                         PROFESSIONAL_OCCUPATIONS, RFM_BUCKETS, RFM_CLUB_MAP, RFM_MAP, TARGET_CITIES,
                         TARGET_PROVINCES, WARM, _div_const, _isin, _md, _minus_months, _mmdd, _quantiles)

col, lit = pl.col, pl.lit

# The rule segments in the library's order (the catalog's), then the labels.
RULE_SEGMENTS = [
    "category_loyal", "affinity_electronics", "affinity_fashion", "affinity_home",
    "loyal", "one_time_buyers", "registered_no_orders", "coupon_lovers", "hesitant", "cart_abandoners", "periodic_buyers",
    "campaign_win_back", "campaign_encourage", "campaign_retain",
    "churn_risk_high", "churn_risk_medium", "churn_risk_low",
    "email_contactable", "opted_out_email",
    "age_18_24", "age_25_34", "age_35_44", "age_45_54", "age_55_64", "age_65_plus", "gender_female", "gender_male",
    "income_low", "income_middle", "income_high", "education_secondary", "education_higher", "single", "married",
    "occupation_student", "occupation_professional", "occupation_retired", "household_single", "household_large",
    "engagement_high", "engagement_medium", "engagement_low", "long_visits",
    "home_market", "international", "country_unknown", "urban", "rural", "warm_climate", "cold_climate",
    "target_provinces", "target_cities",
    "holiday_shoppers",
    "new_customers", "returning", "active", "inactive",
    "price_sensitive", "interest_sports_outdoor", "interest_fashion_beauty", "interest_home_living",
    "mobile_first", "desktop_first", "multi_device",
    "clv_low", "clv_medium", "clv_high", "big_spenders", "luxury_buyers",
]
ALL_SEGMENTS = RULE_SEGMENTS + ["rfm_" + n for n, _ in RFM_MAP] + ["rfm_club_" + n for n, _ in RFM_CLUB_MAP]
# Ladders: (ladder, [(level, rank)]) best first; ENUMs of the names in alphabetical order, as published.
CLUB_LEVELS = ["vip", "gold", "silver", "bronze"]
LOYALTY_LEVELS = ["vip", "gold", "loyal", "active", "newcomer", "lapsed", "dormant"]
LADDER_ENUM = ["club_tier", "loyalty_level"]
TIER_ENUM = sorted(set(CLUB_LEVELS) | set(LOYALTY_LEVELS))
SEGMENT_ENUM = sorted(ALL_SEGMENTS)
ENUMS = {
    "segment_members": {"segment": SEGMENT_ENUM},
    "tier_assignments": {"ladder": LADDER_ENUM, "tier": TIER_ENUM, "next_tier": TIER_ENUM},
}

# customer_features, segmenter's column order.
FEATURE_COLUMNS = [
    "customer_id", "top_category", "top_category_lines", "item_lines", "abandoned_carts_recent", "abandoned_products",
    "email_opted_out", "sms_opted_out", "push_opted_out", "session_count", "sessions_90d", "page_views_90d",
    "clicks_90d", "avg_visit_minutes", "campaigns_sent_90d", "campaigns_clicked_90d",
    "tenure_days", "age", "gender", "country", "province", "city", "area_type", "climate_zone", "income_band",
    "education", "marital_status", "occupation",
    "order_count", "total_spent", "recency_days", "first_order_days", "active_span_days", "orders_12m", "spend_12m",
    "orders_90d", "coupon_orders", "order_months", "order_span_months", "holiday_spend",
    "price_sensitivity", "interests", "lifestyle", "household_size", "mobile_sessions", "desktop_sessions",
    "device_types",
    "top_category_share", "response_rate_90d", "aov", "buyer_spend", "coupon_share", "month_coverage",
    "loyal_buyer", "holiday_share", "avg_interval_days", "mobile_share", "desktop_share", "engagement_score",
    "churn_ratio",
]
MONEY = {"total_spent": "total_cents", "spend_12m": "spend12_cents", "holiday_spend": "holiday_cents",
         "buyer_spend": "buyer_cents"}  # published DECIMAL(18,2) column -> int64 cents column


def _features(data: pathlib.Path, as_of: dt.date) -> pl.DataFrame:
    """One row per customer: every published feature (money as int64 cents) in one lazy plan."""
    day_after_d = as_of + dt.timedelta(days=1)
    day_after = dt.datetime.combine(day_after_d, dt.time())
    start_12m = _minus_months(day_after, 12)
    start_90d = day_after - dt.timedelta(days=90)
    start_cart = day_after - dt.timedelta(days=CART_ABANDON_DAYS)
    asof_days = (as_of - dt.date(1970, 1, 1)).days
    last_dom = (as_of + dt.timedelta(days=1)).day == 1
    scan = lambda name: pl.scan_parquet(data / f"{name}.parquet")
    days = lambda e: e.dt.date().cast(pl.Int32)

    # customers: the population (signed up by as_of) and its declared features.
    bm, bd = col("birth_date").dt.month(), col("birth_date").dt.day()
    before_birthday = (bm > as_of.month) if last_dom else ((bm > as_of.month) | ((bm == as_of.month) & (bd > as_of.day)))
    cust = (
        scan("customers")
        .filter(col("signup_date") < day_after_d)
        .select(
            "customer_id",
            (asof_days - col("signup_date").cast(pl.Int32)).cast(pl.Int64).alias("tenure_days"),
            (as_of.year - col("birth_date").dt.year().cast(pl.Int64) - before_birthday.cast(pl.Int64)).alias("age"),
            "gender", "country", "province", "city", "area_type", "climate_zone", "income_band", "education",
            "marital_status", "occupation",
        )
    )

    # orders: one grouped pass (row flags first, then plain sums).
    ts = col("ordered_at")
    in12, md = ts >= start_12m, _md(ts)
    in_win = lambda a, b: md.is_between(_mmdd(a), _mmdd(b)) if _mmdd(a) <= _mmdd(b) else (md >= _mmdd(a)) | (md <= _mmdd(b))
    in_hol = pl.any_horizontal([in_win(a, b) for a, b in HOLIDAY_WINDOWS]
                               + [(col("ship_country") == c) & in_win(a, b) for c, (a, b) in HOLIDAY_CALENDAR])
    orders = (
        scan("orders").select("customer_id", "ordered_at", "amount", "coupon_code", "ship_country")
        .filter(ts < day_after)
        .with_columns(col("amount").to_physical().cast(pl.Int64).alias("cents"))  # DECIMAL(12,2) as exact cents
        .with_columns(
            in12.alias("in12"),
            (ts >= start_90d).alias("in90"),
            pl.when(in12).then(col("cents")).otherwise(0).alias("cents12"),
            pl.when(in_hol.fill_null(False)).then(col("cents")).otherwise(0).alias("cents_hol"),
            col("coupon_code").is_not_null().alias("coupon"),
            (ts.dt.year().cast(pl.Int64) * 12 + ts.dt.month().cast(pl.Int64)).alias("_month"),
        )
        .group_by("customer_id")
        .agg(
            pl.len().cast(pl.Int64).alias("order_count"),
            col("cents").sum().alias("total_cents"),
            ts.max().alias("_last"),
            ts.min().alias("_first"),
            col("in12").sum().cast(pl.Int64).alias("orders_12m"),
            col("cents12").sum().alias("spend12_cents"),
            col("in90").sum().cast(pl.Int64).alias("orders_90d"),
            col("coupon").sum().cast(pl.Int64).alias("coupon_orders"),
            col("cents_hol").sum().alias("holiday_cents"),
            col("_month").n_unique().cast(pl.Int64).alias("order_months"),
            (col("_month").max() - col("_month").min() + 1).alias("order_span_months"),
        )
        .with_columns(
            (asof_days - days(col("_last"))).cast(pl.Int64).alias("recency_days"),
            (asof_days - days(col("_first"))).cast(pl.Int64).alias("first_order_days"),
            (days(col("_last")) - days(col("_first"))).cast(pl.Int64).alias("active_span_days"),
        )
        .drop("_last", "_first")
    )

    # order_items: lines per (customer, category), then the top category per customer.
    items = (
        scan("order_items").select("customer_id", "ordered_at", "category")
        .filter(col("ordered_at") < day_after)
        .group_by("customer_id", "category")
        .agg(pl.len().cast(pl.Int64).alias("n"))
        .with_columns(pl.when(col("category").is_not_null()).then(col("n")).alias("n_cat"))
        .with_columns(col("n").sum().over("customer_id").alias("item_lines"),
                      col("n_cat").max().over("customer_id").alias("top_category_lines"))
        .filter(col("top_category_lines").is_null() | (col("n_cat") == col("top_category_lines")))
        .group_by("customer_id")
        .agg(col("item_lines").first(), col("top_category_lines").first(), col("category").min().alias("top_category"))
    )

    # sessions.
    sts = col("started_at")
    in90 = sts >= start_90d
    sessions = (
        scan("sessions").select("customer_id", "started_at", "device", "page_views", "clicks", "duration_s")
        .filter(sts < day_after)
        .with_columns(
            in90.alias("in90"),
            pl.when(in90).then(col("page_views")).otherwise(0).cast(pl.Int64).alias("views90"),
            pl.when(in90).then(col("clicks")).otherwise(0).cast(pl.Int64).alias("clicks90"),
            (col("device") == "mobile").alias("mobile"),
            (col("device") == "desktop").alias("desktop"),
        )
        .group_by("customer_id")
        .agg(
            pl.len().cast(pl.Int64).alias("session_count"),
            col("in90").sum().cast(pl.Int64).alias("sessions_90d"),
            col("views90").sum().alias("page_views_90d"),
            col("clicks90").sum().alias("clicks_90d"),
            col("mobile").sum().cast(pl.Int64).alias("mobile_sessions"),
            col("desktop").sum().cast(pl.Int64).alias("desktop_sessions"),
            col("device").drop_nulls().n_unique().cast(pl.Int64).alias("device_types"),
            col("duration_s").mean().alias("_avg_duration_s"),
        )
    )

    # carts abandoned in the last CART_ABANDON_DAYS days: count, and the products newest first.
    carts = (
        scan("carts").select("customer_id", "cart_id", "created_at", "status", "products")
        .filter((col("created_at") < day_after) & (col("created_at") >= start_cart) & (col("status") == "abandoned"))
        .sort(["customer_id", "created_at", "cart_id"], descending=[False, True, False])
        .group_by("customer_id", maintain_order=True)
        .agg(pl.len().cast(pl.Int64).alias("abandoned_carts_recent"),
             col("products").str.join(";").alias("abandoned_products"))
    )

    camp = (
        scan("campaign_events").select("customer_id", "sent_at", "clicked", "holdout")
        .filter((col("sent_at") < day_after) & (col("sent_at") >= start_90d)
                & ~col("holdout").fill_null(False))  # holdout IS NOT TRUE: a holdout row is not a message
        .group_by("customer_id")
        .agg(pl.len().cast(pl.Int64).alias("campaigns_sent_90d"), col("clicked").sum().cast(pl.Int64).alias("campaigns_clicked_90d"))
    )

    survey = (
        scan("survey").select("customer_id", "price_sensitivity", "interests", "lifestyle", "household_size")
        .group_by("customer_id")
        .agg(col("price_sensitivity").max(), col("interests").max(), col("lifestyle").max(), col("household_size").max())
    )

    # consent: per channel the opted_out of the latest row (arg_max(opted_out, updated_at)).
    consent = (
        scan("consent").select("customer_id", "channel", "opted_out", "updated_at")
        .filter((col("updated_at") < day_after) & col("opted_out").is_not_null() & col("updated_at").is_not_null()
                & col("channel").is_in(["email", "sms", "push"]))
        .group_by("customer_id", "channel")
        .agg(col("opted_out").sort_by("updated_at").last())
        .group_by("customer_id")
        .agg(*[col("opted_out").filter(col("channel") == ch).first().alias(f"{ch}_opted_out") for ch in ("email", "sms", "push")])
    )

    f = cust
    for agg in [orders, items, sessions, carts, camp, survey, consent]:
        f = f.join(agg, on="customer_id", how="left", maintain_order="left")
    zero = ["order_count", "total_cents", "orders_12m", "spend12_cents", "orders_90d", "coupon_orders", "order_months",
            "holiday_cents", "item_lines", "top_category_lines", "session_count", "sessions_90d", "page_views_90d",
            "clicks_90d", "mobile_sessions", "desktop_sessions", "device_types", "abandoned_carts_recent",
            "campaigns_sent_90d", "campaigns_clicked_90d"]
    f = f.with_columns(col(c).fill_null(0) for c in zero).with_columns(
        pl.when(col("order_count") > 0).then(col("total_cents")).alias("buyer_cents"),
        _div_const(col("_avg_duration_s"), 60.0).alias("avg_visit_minutes"),
    )
    # Derived features (DuckDB: DECIMAL and integer division give DOUBLE; NULL for a zero divisor).
    nz = lambda e: pl.when(e != 0).then(e.cast(pl.Float64))
    f = f.with_columns(
        (col("top_category_lines").cast(pl.Float64) / nz(col("item_lines"))).alias("top_category_share"),
        (col("campaigns_clicked_90d").cast(pl.Float64) / nz(col("campaigns_sent_90d"))).alias("response_rate_90d"),
        (_div_const(col("total_cents"), 100.0) / nz(col("order_count"))).alias("aov"),
        (col("coupon_orders").cast(pl.Float64) / nz(col("order_count"))).alias("coupon_share"),
        (col("order_months").cast(pl.Float64) / col("order_span_months").cast(pl.Float64)).alias("month_coverage"),
        (_div_const(col("holiday_cents"), 100.0) / _div_const(nz(col("total_cents")), 100.0)).alias("holiday_share"),
        (col("active_span_days").cast(pl.Float64) / nz(col("order_count") - 1)).alias("avg_interval_days"),
        (col("mobile_sessions").cast(pl.Float64) / nz(col("session_count"))).alias("mobile_share"),
        (col("desktop_sessions").cast(pl.Float64) / nz(col("session_count"))).alias("desktop_share"),
    ).with_columns(
        (0.3 * pl.min_horizontal(_div_const(col("sessions_90d"), 10.0), lit(1.0))
         + 0.2 * pl.min_horizontal(_div_const(col("clicks_90d"), 40.0), lit(1.0))
         + 0.2 * col("response_rate_90d").fill_null(0.0)
         + 0.3 * pl.min_horizontal(_div_const(col("orders_90d"), 2.0), lit(1.0))).alias("engagement_score"),
    )
    return f.collect()


def _tables(data: pathlib.Path, as_of: dt.date) -> dict:
    f = _features(data, as_of)

    # Population statistics (all customers, NULLs left out).
    n_cust = f.height
    avg_orders = int(f["order_count"].sum()) / n_cust if n_cust else None
    avg_sessions = int(f["session_count"].sum()) / n_cust if n_cust else None
    median_spent, q90_buyer_spend, median_interval = _quantiles(f, [
        ("total_cents", 0.5, True), ("buyer_cents", 0.9, True), ("avg_interval_days", 0.5, False)])

    # loyal_buyer, a published feature: order_count > greatest(3, store average) AND recency <= 365.
    loyal_buyer = (col("order_count") > max(3, avg_orders or 0)) & (col("recency_days") <= 365)
    churn_ratio = col("recency_days") / pl.max_horizontal(
        col("avg_interval_days").fill_null(lit(median_interval, pl.Float64)), lit(1.0))
    f = f.with_columns(loyal_buyer.alias("loyal_buyer"), churn_ratio.alias("churn_ratio"))

    # Rule segments referenced by others: segment(x) is coalesce((rule), FALSE).
    loyal = col("loyal_buyer").fill_null(False)
    clv_high = (col("total_cents") > 500000).fill_null(False)
    inactive = (col("recency_days") >= 180).fill_null(False)
    coupon_lovers = ((col("order_count") >= 1) & (col("coupon_share") >= 1.0)).fill_null(False)
    retain = loyal | clv_high
    win_back = (inactive & ((col("order_count") >= 2) | (col("total_cents") >= median_spent))).fill_null(False)
    age, cr = col("age"), col("churn_ratio")
    rules = {
        "category_loyal": (col("top_category_share") >= 0.5) & (col("item_lines") >= 4),
        "affinity_electronics": (col("top_category") == "electronics") & (col("top_category_share") >= 0.4),
        "affinity_fashion": (col("top_category") == "fashion") & (col("top_category_share") >= 0.4),
        "affinity_home": (col("top_category") == "home") & (col("top_category_share") >= 0.4),
        "loyal": loyal,
        "one_time_buyers": col("order_count") == 1,
        "registered_no_orders": (col("order_count") == 0) & (col("session_count") > 4),
        "coupon_lovers": coupon_lovers,
        "hesitant": (col("session_count") > avg_sessions) & (col("order_count") <= 1),
        "cart_abandoners": col("abandoned_carts_recent") >= 1,
        "periodic_buyers": (col("order_count") >= 4) & (col("order_span_months") >= 3) & (col("month_coverage") >= 0.8)
                           & (col("recency_days") < 45),
        "campaign_win_back": win_back & ~retain,
        "campaign_encourage": (col("order_count") >= 1) & ~retain & ~win_back,
        "campaign_retain": retain,
        "churn_risk_high": cr >= 3,
        "churn_risk_medium": (cr >= 1.5) & (cr < 3),
        "churn_risk_low": cr < 1.5,
        "email_contactable": ~col("email_opted_out"),
        "opted_out_email": col("email_opted_out"),
        "age_18_24": age.is_between(18, 24),
        "age_25_34": age.is_between(25, 34),
        "age_35_44": age.is_between(35, 44),
        "age_45_54": age.is_between(45, 54),
        "age_55_64": age.is_between(55, 64),
        "age_65_plus": age >= 65,
        "gender_female": col("gender") == "female",
        "gender_male": col("gender") == "male",
        "income_low": _isin(col("income_band"), ["low"]),
        "income_middle": _isin(col("income_band"), ["middle"]),
        "income_high": _isin(col("income_band"), ["high", "very_high"]),
        "education_secondary": col("education") == "secondary",
        "education_higher": _isin(col("education"), ["bachelor", "master_or_higher"]),
        "single": col("marital_status") == "single",
        "married": col("marital_status") == "married",
        "occupation_student": col("occupation") == "student",
        "occupation_professional": _isin(col("occupation"), PROFESSIONAL_OCCUPATIONS),
        "occupation_retired": col("occupation") == "retired",
        "household_single": col("household_size") == 1,
        "household_large": col("household_size") >= 4,
        "engagement_high": col("engagement_score") >= 0.5,
        "engagement_medium": (col("engagement_score") >= 0.2) & (col("engagement_score") < 0.5),
        "engagement_low": col("engagement_score") < 0.2,
        "long_visits": (col("avg_visit_minutes") >= 10) & (col("session_count") >= 3),
        "home_market": _isin(col("country"), HOME_COUNTRIES),
        "international": col("country").is_not_null() & ~_isin(col("country"), HOME_COUNTRIES),
        "country_unknown": col("country").is_null(),
        "urban": col("area_type") == "urban",
        "rural": col("area_type") == "rural",
        "warm_climate": _isin(col("climate_zone"), WARM),
        "cold_climate": _isin(col("climate_zone"), COLD),
        "target_provinces": _isin(col("province"), TARGET_PROVINCES),
        "target_cities": _isin(col("city"), TARGET_CITIES),
        "holiday_shoppers": col("holiday_share") >= 0.5,
        "new_customers": col("first_order_days") < 30,
        "returning": col("order_count") >= 2,
        "active": col("recency_days") < 90,
        "inactive": inactive,
        "price_sensitive": (col("price_sensitivity") >= 4) | coupon_lovers,
        "interest_sports_outdoor": _isin(col("interests"), ["sports", "outdoor"]),
        "interest_fashion_beauty": _isin(col("interests"), ["fashion", "beauty"]),
        "interest_home_living": _isin(col("interests"), ["home", "cooking"]),
        "mobile_first": (col("mobile_share") >= 0.6) & (col("session_count") >= 3),
        "desktop_first": (col("desktop_share") >= 0.6) & (col("session_count") >= 3),
        "multi_device": (col("device_types") >= 2) & (col("session_count") >= 3)
                        & (col("mobile_share") < 0.6) & (col("desktop_share") < 0.6),
        "clv_low": col("total_cents") <= 100000,
        "clv_medium": (col("total_cents") > 100000) & (col("total_cents") <= 500000),
        "clv_high": clv_high,
        "big_spenders": (col("order_count") >= 2) & (col("total_cents") >= q90_buyer_spend),
        "luxury_buyers": col("aov") > 700,
    }
    assert list(rules) == RULE_SEGMENTS

    # RFM among buyers: 1 + floor(buckets * (rank - 1) / n), ties share the lowest rank.
    buyers = f.filter(col("order_count") > 0)
    n_scored = buyers.height
    part = lambda value, descending: (1 + (RFM_BUCKETS * (value.rank(method="min", descending=descending).cast(pl.Int64) - 1))
                                      // max(n_scored, 1)).cast(pl.Int32)
    r, fq, m = col("r"), col("f"), col("m")
    label = pl.when(RFM_MAP[0][1](r, fq, m)).then(lit(RFM_MAP[0][0]))
    for lab, cond in RFM_MAP[1:]:
        label = label.when(cond(r, fq, m)).then(lit(lab))
    club_label = pl.when(r + fq + m >= RFM_CLUB_MAP[0][1]).then(lit(RFM_CLUB_MAP[0][0]))
    for lab, least in RFM_CLUB_MAP[1:]:
        club_label = club_label.when(r + fq + m >= least).then(lit(lab))
    scored = buyers.select(
        "customer_id",
        part(col("recency_days"), True).alias("r"),
        part(col("order_count"), False).alias("f"),
        part(col("total_cents"), False).alias("m"),
        col("recency_days").alias("r_value"), col("order_count").alias("f_value"), col("total_cents").alias("_m_cents"),
    ).with_columns(
        pl.concat_str(r.cast(pl.String), fq.cast(pl.String), m.cast(pl.String)).alias("score"),
        label.alias("label"), club_label.alias("_club_label"),
    )

    # Memberships: one wide pass of flags, then one filtered slice per segment, as an Enum.
    seg_enum = pl.Enum(SEGMENT_ENUM)
    wide = f.select("customer_id", *[e.fill_null(False).alias(n) for n, e in rules.items()])
    parts = [wide.lazy().filter(col(n)).select("customer_id", lit(n, seg_enum).alias("segment")) for n in RULE_SEGMENTS]
    parts += [scored.lazy().filter(col(c).is_not_null()).select("customer_id", (prefix + col(c)).cast(seg_enum).alias("segment"))
              for c, prefix in (("label", lit("rfm_")), ("_club_label", lit("rfm_club_")))]
    members = pl.concat(parts).collect()

    # Ladders: the first matching level wins (a NULL condition falls through); next_tier is the
    # level above; the gaps what is missing for each threshold of that level.
    spend, orders12, tenure = col("spend12_cents"), col("orders_12m"), col("tenure_days")
    gap = lambda threshold, value: pl.max_horizontal(lit(threshold) - value, lit(0))
    club_rank = (pl.when(spend >= 500000).then(1).when((orders12 >= 6) & (spend >= 150000)).then(2)
                 .when(spend >= 50000).then(3).otherwise(4))
    loyalty_rank = (pl.when((spend >= 500000) & (tenure >= 365)).then(1)
                    .when((orders12 >= 6) & (spend >= 150000) & (tenure >= 90)).then(2)
                    .when(col("loyal_buyer") & (tenure >= 90)).then(3)
                    .when((col("recency_days") < 90) & (tenure >= 90)).then(4)
                    .when(tenure < 90).then(5)
                    .when(col("order_count") >= 1).then(6)
                    .otherwise(7))
    tier_enum = pl.Enum(TIER_ENUM)
    level_of = lambda levels, rank: rank.replace_strict({i + 1: lv for i, lv in enumerate(levels)}, default=None,
                                                        return_dtype=tier_enum)
    rk = col("rank")
    club = f.select("customer_id", lit("club_tier").alias("ladder"), club_rank.cast(pl.Int32).alias("rank"),
                    spend, orders12).with_columns(
        level_of(CLUB_LEVELS, rk).alias("tier"),
        level_of(CLUB_LEVELS, rk - 1).alias("next_tier"),
        pl.when(rk == 2).then(gap(500000, spend)).when(rk == 3).then(gap(150000, spend))
        .when(rk == 4).then(gap(50000, spend)).alias("gap_cents"),
        pl.when(rk == 3).then(gap(6, orders12)).alias("gap_orders_12m"),
        lit(None, pl.Int64).alias("gap_tenure_days"),
    )
    loyalty = f.select("customer_id", lit("loyalty_level").alias("ladder"), loyalty_rank.cast(pl.Int32).alias("rank"),
                       spend, orders12, tenure).with_columns(
        level_of(LOYALTY_LEVELS, rk).alias("tier"),
        level_of(LOYALTY_LEVELS, rk - 1).alias("next_tier"),
        pl.when(rk == 2).then(gap(500000, spend)).when(rk == 3).then(gap(150000, spend)).alias("gap_cents"),
        pl.when(rk == 3).then(gap(6, orders12)).alias("gap_orders_12m"),
        pl.when(rk == 2).then(gap(365, tenure)).when(rk == 3).then(gap(90, tenure)).alias("gap_tenure_days"),
    )
    order = ["customer_id", "ladder", "tier", "rank", "next_tier", "gap_cents", "gap_orders_12m", "gap_tenure_days"]
    tiers = pl.concat([club.select(order), loyalty.select(order)])

    # Catalogs (reduced): size and share of all customers, every defined segment and level.
    share = lambda size: 0.0 if n_cust == 0 else np.floor(size / n_cust * 10000 + 0.5) / 10000  # DuckDB round(x, 4)
    seg_sizes = dict(members.group_by("segment").len().iter_rows())
    segment_catalog = pa.table({
        "name": ALL_SEGMENTS,
        "size": pa.array([seg_sizes.get(n, 0) for n in ALL_SEGMENTS], pa.int64()),
        "share": pa.array([share(seg_sizes.get(n, 0)) for n in ALL_SEGMENTS], pa.float64()),
    })
    tier_sizes = {(l, t): n for l, t, n in tiers.group_by("ladder", "tier").len().iter_rows()}
    defs = [("club_tier", t, i + 1) for i, t in enumerate(CLUB_LEVELS)] + [("loyalty_level", t, i + 1) for i, t in enumerate(LOYALTY_LEVELS)]
    tier_catalog = pa.table({
        "ladder": [d[0] for d in defs], "tier": [d[1] for d in defs], "rank": pa.array([d[2] for d in defs], pa.int32()),
        "size": pa.array([tier_sizes.get(d[:2], 0) for d in defs], pa.int64()),
        "share": pa.array([share(tier_sizes.get(d[:2], 0)) for d in defs], pa.float64()),
    })

    # To Arrow: money from cents to DECIMAL(18,2).
    def money(table: pa.Table, name: str, cents_col: str) -> pa.Table:
        cents = table.column(cents_col).combine_chunks()
        valid = None if cents.null_count == 0 else cents.is_valid().to_numpy(zero_copy_only=False)
        dec = publish.cents_to_decimal(cents.fill_null(0).to_numpy(zero_copy_only=False), valid)
        i = table.schema.get_field_index(cents_col)
        return table.set_column(i, name, dec)

    features = f.select([MONEY.get(c, c) for c in FEATURE_COLUMNS]).to_arrow()
    for name, cents_col in MONEY.items():
        features = money(features, name, cents_col)
    rfm_cols = ["customer_id", "r", "f", "m", "score", "label", "r_value", "f_value", "_m_cents"]
    rfm = money(scored.select(rfm_cols).to_arrow(), "m_value", "_m_cents")
    rfm_club = money(scored.select([c if c != "label" else "_club_label" for c in rfm_cols])
                     .rename({"_club_label": "label"}).to_arrow(), "m_value", "_m_cents")
    tier_table = money(tiers.with_columns(col("ladder").cast(pl.Enum(LADDER_ENUM))).to_arrow(), "gap_spend_12m", "gap_cents")
    as_of_col = lit(as_of, pl.Date).alias("as_of")
    return {
        "customer_features": features,
        "rfm_scores": rfm,
        "rfm_club_scores": rfm_club,
        "segment_members": members.to_arrow(),
        "tier_assignments": tier_table,
        "segment_catalog": segment_catalog,
        "tier_catalog": tier_catalog,
        "segment_members_history": members.select(as_of_col, "customer_id", "segment").to_arrow(),
        "tier_history": tiers.select(as_of_col, "customer_id", col("ladder").cast(pl.String),
                                     col("tier").cast(pl.String), "rank").to_arrow(),
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
        sys.exit("usage: tables_polars.py <data_dir> <as_of YYYY-MM-DD> <out> [parquet|duckdb]")
    t0 = time.perf_counter()
    publish_tables(sys.argv[1], dt.date.fromisoformat(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) == 5 else "parquet")
    print(f"published in {time.perf_counter() - t0:.3f} s")
