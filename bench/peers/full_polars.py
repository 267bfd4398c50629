"""The FULL built-in library (segments/*.yaml: every rule segment, the `rfm` and `rfm_club` scores
and their `rfm_<label>` / `rfm_club_<label>` segments, the `club_tier` and `loyalty_level`
ladders) in polars, for the benchmark against `segmenter run`.

    members(data, as_of) -> pyarrow.Table(customer_id int64, segment string)

One row per (customer, segment) membership plus one row per tier assignment with
segment = '<ladder>/<level>'. Vars are the YAML defaults. It follows the SQL segmenter compiles
(`segmenter compile`), including the details that decide borderline customers:

- every source with a time column is cut at `time < as_of + 1 day`; a window `Nd`/`Nm` starts at
  `(as_of + 1 day) - INTERVAL N DAY|MONTH` (inclusive); survey has no time column and is used whole;
- money stays exact: DECIMAL(12,2) amounts are summed as integer cents; DuckDB's
  DECIMAL->DOUBLE cast (for aov, holiday_share) is cents / 100.0, correctly rounded;
- every division by a constant goes through `_div_const` (polars' column / scalar is x * (1/k), not
  the correctly rounded x / k that DuckDB computes);
- stat(): population statistics over all customers, NULLs left out; quantile_cont interpolates
  `lo*(1-d) + hi*d` and, on a DECIMAL column, truncates the result to cents;
- NULL means "not a member": polars' Kleene logic on booleans equals SQL's, then NULL -> False;
  a segment used in another rule (segment(x)) is coalesce((rule), FALSE), so NOT segment(x)
  holds when x's rule is NULL: those rules are filled with False before they are combined;
- exclusive group: the campaign audiences, retain > win_back > encourage, each one's rule AND NOT
  the higher ones';
- RFM: `1 + floor(5 * (rank() - 1) / n)` with rank() = polars rank(method="min") (ties share a
  score) among customers with order_count > 0; labels and tier levels: first match wins;
  rfm_club scores the same parts (so the same r, f, m) and labels by r + f + m;
- holiday_spend: the shared windows, or a holiday of the order's ship_country (HOLIDAY_CALENDAR,
  macros/holidays.sql); a NULL ship_country matches no calendar entry.

Run: python full_polars.py <data_dir> <as_of>
"""
import calendar
import datetime as dt
import math
import pathlib
import sys
import time

import polars as pl
import pyarrow as pa

# ---- vars (YAML defaults) --------------------------------------------------------------------
CART_ABANDON_DAYS = 30
HOLIDAY_WINDOWS = [("11-23", "12-31")]  # a pair whose start is after its end crosses the year end
HOLIDAY_CALENDAR = [  # (ship country, window): macros/holidays.sql
    ("US", ("07-01", "07-04")), ("CA", ("06-28", "07-01")), ("GB", ("12-26", "01-03")),
    ("AU", ("12-26", "01-10")), ("ES", ("01-02", "01-06")), ("DE", ("07-25", "08-05")),
]
PROFESSIONAL_OCCUPATIONS = ["professional", "manager"]
HOME_COUNTRIES = ["US"]
WARM = ["tropical", "subtropical", "arid", "mediterranean"]
COLD = ["continental"]
TARGET_PROVINCES = ["California", "Ontario", "Bavaria"]
TARGET_CITIES = ["New York", "Toronto", "London"]
RFM_BUCKETS = 5
RFM_MAP = [  # (label, condition over r, f, m); first match wins
    ("champions", lambda r, f, m: (r >= 4) & (f >= 4) & (m >= 4)),
    ("loyal", lambda r, f, m: (r >= 3) & (f >= 4)),
    ("cannot_lose", lambda r, f, m: (r <= 2) & (f >= 4) & (m >= 4)),
    ("at_risk", lambda r, f, m: (r <= 2) & (f >= 3)),
    ("potential_loyalists", lambda r, f, m: (r >= 4) & (f >= 2)),
    ("promising", lambda r, f, m: (r >= 4) & (f == 1) & (m >= 3)),
    ("new", lambda r, f, m: (r >= 4) & (f == 1)),
    ("need_attention", lambda r, f, m: (r == 3) & (f >= 2)),
    ("about_to_sleep", lambda r, f, m: (r == 3) & (f == 1)),
    ("hibernating", lambda r, f, m: r == 2),
    ("lost", lambda r, f, m: r == 1),
]
RFM_CLUB_MAP = [  # (label, minimum r + f + m); first match wins
    ("platinum", 13), ("gold", 10), ("silver", 7), ("bronze", 3),
]

col = pl.col


# ---- helpers ---------------------------------------------------------------------------------
def _minus_months(t: dt.datetime, months: int) -> dt.datetime:
    """DuckDB `timestamp - INTERVAL n MONTH`: calendar months, day clamped to the month's end."""
    m = t.year * 12 + (t.month - 1) - months
    y, mo = divmod(m, 12)
    mo += 1
    return t.replace(year=y, month=mo, day=min(t.day, calendar.monthrange(y, mo)[1]))


def _quantiles(f: pl.DataFrame, specs):
    """DuckDB quantile_cont(column, q) for each (column, q, is_decimal) in specs, NULLs left out:
    the value at (n - 1) * q interpolated as lo * (1 - d) + hi * d; on a DECIMAL column (held here
    as integer cents) DuckDB truncates the result to cents. All order statistics are taken in
    one parallel select."""
    counts = f.select(col(c).count() for c in {c for c, _, _ in specs}).row(0, named=True)
    picks, plans = [], []
    for i, (c, q, is_decimal) in enumerate(specs):
        n = counts[c]
        if n == 0:
            plans.append(None)
            continue
        rn = (n - 1) * q
        lo_i, hi_i = math.floor(rn), math.ceil(rn)
        picks.append(col(c).drop_nulls().sort().gather([lo_i, hi_i]).cast(pl.Float64).implode().alias(f"q{i}"))
        plans.append((f"q{i}", rn - lo_i, lo_i == hi_i, is_decimal))
    got = f.select(picks).row(0, named=True) if picks else {}
    out = []
    for plan in plans:
        if plan is None:
            out.append(None)
            continue
        key, d, exact, is_decimal = plan
        lo, hi = got[key]
        v = lo if exact else lo * (1.0 - d) + hi * d
        out.append(math.trunc(v) if is_decimal else v)
    return out


def _div_const(e: pl.Expr, k: float) -> pl.Expr:
    """e / k as DuckDB (and numpy) compute it: one correctly rounded IEEE division. polars divides
    a column by a scalar as e * (1 / k), which is one ulp off for many values (7 / 10 gives
    0.7000000000000001, and ~13% of cents / 100 differ); that tipped a customer's engagement_score
    from 0.49999999999999994 to 0.5. A full-length divisor takes polars' element-wise division
    kernel; it is built from e itself (e * 0.0 + k, e finite; NULL stays NULL) because
    pl.repeat / when-then of a literal are broadcast as scalars and hit the same reciprocal path."""
    e = e.cast(pl.Float64)
    return e / (e * 0.0 + k)


def _isin(e: pl.Expr, values) -> pl.Expr:
    return e.is_in(values)  # NULL for a NULL input, like SQL IN


def _md(e: pl.Expr) -> pl.Expr:
    """strftime(ts, '%m-%d') as a comparable number mmdd."""
    return e.dt.month().cast(pl.Int32) * 100 + e.dt.day().cast(pl.Int32)


def _mmdd(s: str) -> int:
    m, d = s.split("-")
    return int(m) * 100 + int(d)


# ---- features --------------------------------------------------------------------------------
def _sources(data: pathlib.Path, as_of: dt.date):
    """The population (customers) and one grouped LazyFrame per other source."""
    day_after_d = as_of + dt.timedelta(days=1)
    day_after = dt.datetime.combine(day_after_d, dt.time())
    start_12m = _minus_months(day_after, 12)
    start_90d = day_after - dt.timedelta(days=90)
    start_cart = day_after - dt.timedelta(days=CART_ABANDON_DAYS)
    asof_days = (as_of - dt.date(1970, 1, 1)).days
    last_dom = as_of.day == calendar.monthrange(as_of.year, as_of.month)[1]
    scan = lambda name, cols: pl.scan_parquet(data / f"{name}.parquet").select(cols)

    # customers: the population (signed up by as_of), declared features.
    bm, bd = col("birth_date").dt.month(), col("birth_date").dt.day()
    before_birthday = (bm > as_of.month) if last_dom else ((bm > as_of.month) | ((bm == as_of.month) & (bd > as_of.day)))
    cust = (
        scan("customers", ["customer_id", "signup_date", "birth_date", "gender", "country", "province", "city",
                           "area_type", "climate_zone", "income_band", "education", "marital_status", "occupation"])
        .filter(col("signup_date") < day_after_d)
        .with_columns(
            (asof_days - col("signup_date").cast(pl.Int32)).cast(pl.Int64).alias("tenure_days"),
            (as_of.year - col("birth_date").dt.year().cast(pl.Int64) - before_birthday.cast(pl.Int64)).alias("age"),
        )
        .drop("signup_date", "birth_date")
    )

    # orders: one grouped pass (row flags first, then plain sums: cheaper than filtered aggregates).
    ts = col("ordered_at")
    in12 = ts >= start_12m
    in90o = ts >= start_90d
    md = _md(ts)
    in_win = lambda a, b: md.is_between(_mmdd(a), _mmdd(b)) if _mmdd(a) <= _mmdd(b) else (md >= _mmdd(a)) | (md <= _mmdd(b))
    in_hol = pl.any_horizontal([in_win(a, b) for a, b in HOLIDAY_WINDOWS]
                               + [(col("ship_country") == c) & in_win(a, b) for c, (a, b) in HOLIDAY_CALENDAR])
    orders = (
        scan("orders", ["customer_id", "ordered_at", "amount", "coupon_code", "ship_country"])
        .filter(ts < day_after)
        .with_columns(col("amount").to_physical().cast(pl.Int64).alias("cents"))  # DECIMAL(12,2) as exact cents
        .with_columns(
            in12.alias("in12"),
            in90o.alias("in90"),
            pl.when(in12).then(col("cents")).otherwise(0).alias("cents12"),
            pl.when(in_hol.fill_null(False)).then(col("cents")).otherwise(0).alias("cents_hol"),
            col("coupon_code").is_not_null().alias("coupon"),
            # calendar month number (year * 12 + month): date_trunc('month') and date_diff('month')
            (ts.dt.year().cast(pl.Int64) * 12 + ts.dt.month().cast(pl.Int64)).alias("_month"),
        )
        .group_by("customer_id")
        .agg(
            pl.len().alias("order_count"),
            col("cents").sum().alias("total_cents"),
            ts.max().alias("_last"),
            ts.min().alias("_first"),
            col("in12").sum().alias("orders_12m"),
            col("cents12").sum().alias("spend12_cents"),
            col("in90").sum().alias("orders_90d"),
            col("coupon").sum().alias("coupon_orders"),
            col("cents_hol").sum().alias("holiday_cents"),
            col("_month").n_unique().alias("order_months"),
            (col("_month").max() - col("_month").min() + 1).alias("order_span_months"),
        )
        .with_columns(
            (asof_days - col("_last").dt.date().cast(pl.Int32)).cast(pl.Int64).alias("recency_days"),
            (asof_days - col("_first").dt.date().cast(pl.Int32)).cast(pl.Int64).alias("first_order_days"),
            (col("_last").dt.date().cast(pl.Int32) - col("_first").dt.date().cast(pl.Int32)).cast(pl.Int64).alias("active_span_days"),
        )
        .drop("_last", "_first")
    )

    # order_items (up to as_of, by their order's time): most_frequent: category gives the top
    # category (the alphabetically first on a tie; NULL categories are not counted) and its share
    # of all lines.
    items = (
        scan("order_items", ["customer_id", "ordered_at", "category"])
        .filter(col("ordered_at") < day_after)
        .group_by("customer_id", "category")
        .agg(pl.len().alias("n"))
        .with_columns(pl.when(col("category").is_not_null()).then(col("n")).alias("n_cat"))
        .with_columns(col("n").sum().over("customer_id").alias("item_lines"),
                      col("n_cat").max().over("customer_id").alias("_top_n"))
        .filter(col("_top_n").is_null() | (col("n_cat") == col("_top_n")))
        .group_by("customer_id")
        .agg(col("item_lines").first(), col("_top_n").first(), col("category").min().alias("top_category"))
    )

    # sessions.
    sts = col("started_at")
    in90 = sts >= start_90d
    sessions = (
        scan("sessions", ["customer_id", "started_at", "device", "clicks", "duration_s"])
        .filter(sts < day_after)
        .with_columns(
            in90.alias("in90"),
            pl.when(in90).then(col("clicks")).otherwise(0).cast(pl.Int64).alias("clicks90"),
            (col("device") == "mobile").alias("mobile"),
            (col("device") == "desktop").alias("desktop"),
        )
        .group_by("customer_id")
        .agg(
            pl.len().alias("session_count"),
            col("in90").sum().alias("sessions_90d"),
            col("clicks90").sum().alias("clicks_90d"),
            col("mobile").sum().alias("mobile_sessions"),
            col("desktop").sum().alias("desktop_sessions"),
            col("device").drop_nulls().n_unique().alias("device_types"),  # count(DISTINCT device)
            col("duration_s").mean().alias("_avg_duration_s"),  # avg() skips NULLs, NULL when all are
        )
    )

    # carts: abandoned in the last CART_ABANDON_DAYS days.
    carts = (
        scan("carts", ["customer_id", "created_at", "status"])
        .filter((col("created_at") < day_after) & (col("created_at") >= start_cart) & (col("status") == "abandoned"))
        .group_by("customer_id")
        .agg(pl.len().alias("abandoned_carts_recent"))
    )

    # campaign_events in the last 90 days.
    camp = (
        scan("campaign_events", ["customer_id", "sent_at", "clicked", "holdout"])
        .filter((col("sent_at") < day_after) & (col("sent_at") >= start_90d)
                & ~col("holdout").fill_null(False))  # holdout IS NOT TRUE: a holdout row is not a message
        .group_by("customer_id")
        .agg(pl.len().alias("campaigns_sent_90d"), col("clicked").sum().alias("campaigns_clicked_90d"))
    )

    # survey (no time column).
    survey = (
        scan("survey", ["customer_id", "price_sensitivity", "interests", "household_size"])
        .group_by("customer_id")
        .agg(col("price_sensitivity").max(), col("interests").max(), col("household_size").max())
    )

    # consent: arg_max(opted_out, updated_at) among the customer's email rows; NULL without one
    # (consent unknown: neither email_contactable nor opted_out_email).
    consent = (
        scan("consent", ["customer_id", "channel", "opted_out", "updated_at"])
        .filter((col("updated_at") < day_after) & (col("channel") == "email")
                & col("opted_out").is_not_null() & col("updated_at").is_not_null())
        .group_by("customer_id")
        .agg(col("opted_out").sort_by("updated_at").last().alias("email_opted_out"))
    )

    return cust, [orders, items, sessions, carts, camp, survey, consent]


def _features(data: pathlib.Path, as_of: dt.date) -> pl.DataFrame:
    cust, aggs = _sources(data, as_of)
    f = cust
    for agg in aggs:
        f = f.join(agg, on="customer_id", how="left")
    zero = {c: 0 for c in ["order_count", "total_cents", "orders_12m", "spend12_cents", "orders_90d", "coupon_orders",
                           "order_months", "holiday_cents",
                           "item_lines", "session_count", "sessions_90d", "clicks_90d", "mobile_sessions",
                           "desktop_sessions", "device_types", "abandoned_carts_recent", "campaigns_sent_90d",
                           "campaigns_clicked_90d"]}
    f = f.with_columns(
        *[col(c).fill_null(v) for c, v in zero.items()],
    ).with_columns(
        # buyer_spend: lifetime spend of customers with orders, NULL for the others (in cents)
        pl.when(col("order_count") > 0).then(col("total_cents")).alias("buyer_cents"),
    )
    # Derived features (DuckDB: DECIMAL and integer division give DOUBLE).
    total = _div_const(col("total_cents"), 100.0)
    nz = lambda e: pl.when(e != 0).then(e.cast(pl.Float64))
    sessions_f, clicks_f = col("sessions_90d").cast(pl.Float64), col("clicks_90d").cast(pl.Float64)
    f = f.with_columns(
        (total / nz(col("order_count"))).alias("aov"),
        (col("coupon_orders") / nz(col("order_count"))).alias("coupon_share"),
        (col("order_months").cast(pl.Float64) / col("order_span_months").cast(pl.Float64)).alias("month_coverage"),
        _div_const(col("_avg_duration_s"), 60.0).alias("avg_visit_minutes"),
        (_div_const(col("holiday_cents"), 100.0) / _div_const(nz(col("total_cents")), 100.0))
        .alias("holiday_share"),
        (col("active_span_days") / nz(col("order_count") - 1)).alias("avg_interval_days"),
        (col("_top_n").cast(pl.Float64) / nz(col("item_lines"))).alias("top_category_share"),
        (col("campaigns_clicked_90d") / nz(col("campaigns_sent_90d"))).alias("response_rate_90d"),
        (col("mobile_sessions") / nz(col("session_count"))).alias("mobile_share"),
        (col("desktop_sessions") / nz(col("session_count"))).alias("desktop_share"),
    ).with_columns(
        (0.3 * pl.min_horizontal(_div_const(sessions_f, 10.0), pl.lit(1.0))
         + 0.2 * pl.min_horizontal(_div_const(clicks_f, 40.0), pl.lit(1.0))
         + 0.2 * col("response_rate_90d").fill_null(0.0)
         + 0.3 * pl.min_horizontal(_div_const(col("orders_90d").cast(pl.Float64), 2.0), pl.lit(1.0))).alias("engagement_score"),
    )
    return f.collect()


# ---- memberships -----------------------------------------------------------------------------
def members(data: pathlib.Path, as_of: dt.date) -> pa.Table:
    data = pathlib.Path(data)
    f = _features(data, as_of)

    # Population statistics (all customers, NULLs left out).
    n_cust = f.height
    avg_orders = int(f["order_count"].sum()) / n_cust if n_cust else None
    avg_sessions = int(f["session_count"].sum()) / n_cust if n_cust else None
    median_spent, q90_buyer_spend, median_interval = _quantiles(f, [
        ("total_cents", 0.5, True), ("buyer_cents", 0.9, True), ("avg_interval_days", 0.5, False)])

    lit = pl.lit
    churn_ratio = col("recency_days") / pl.max_horizontal(
        col("avg_interval_days").fill_null(lit(median_interval, pl.Float64)), lit(1.0))
    # Rule segments referenced by others: segment(x) is coalesce((rule), FALSE).
    # loyal_buyer (the loyal segment and the ladder's loyal level)
    loyal = ((col("order_count") > max(3, avg_orders or 0)) & (col("recency_days") <= 365)).fill_null(False)  # greatest() skips NULL
    clv_high = (col("total_cents") > 500000).fill_null(False)
    active = (col("recency_days") < 90).fill_null(False)
    inactive = (col("recency_days") >= 180).fill_null(False)
    coupon_lovers = ((col("order_count") >= 1) & (col("coupon_share") >= 1.0)).fill_null(False)
    # Campaign audiences: one exclusive group, retain > win_back > encourage.
    retain = loyal | clv_high
    win_back = (inactive & ((col("order_count") >= 2) | (col("total_cents") >= median_spent))).fill_null(False)
    age = col("age")
    seg = {
        # affinity
        "category_loyal": (col("top_category_share") >= 0.5) & (col("item_lines") >= 4),
        "affinity_electronics": (col("top_category") == "electronics") & (col("top_category_share") >= 0.4),
        "affinity_fashion": (col("top_category") == "fashion") & (col("top_category_share") >= 0.4),
        "affinity_home": (col("top_category") == "home") & (col("top_category_share") >= 0.4),
        # behaviour
        "loyal": loyal,
        "one_time_buyers": col("order_count") == 1,
        "registered_no_orders": (col("order_count") == 0) & (col("session_count") > 4),
        "coupon_lovers": coupon_lovers,
        "hesitant": (col("session_count") > avg_sessions) & (col("order_count") <= 1),
        "cart_abandoners": col("abandoned_carts_recent") >= 1,
        "periodic_buyers": (col("order_count") >= 4) & (col("order_span_months") >= 3) & (col("month_coverage") >= 0.8)
                           & (col("recency_days") < 45),
        # campaigns
        "campaign_win_back": win_back & ~retain,
        "campaign_encourage": (col("order_count") >= 1) & ~retain & ~win_back,
        "campaign_retain": retain,
        # churn
        "churn_risk_high": churn_ratio >= 3,
        "churn_risk_medium": (churn_ratio >= 1.5) & (churn_ratio < 3),
        "churn_risk_low": churn_ratio < 1.5,
        # consent
        "email_contactable": ~col("email_opted_out"),
        "opted_out_email": col("email_opted_out"),
        # demographic
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
        # engagement
        "engagement_high": col("engagement_score") >= 0.5,
        "engagement_medium": (col("engagement_score") >= 0.2) & (col("engagement_score") < 0.5),
        "engagement_low": col("engagement_score") < 0.2,
        "long_visits": (col("avg_visit_minutes") >= 10) & (col("session_count") >= 3),
        # geographic
        "home_market": _isin(col("country"), HOME_COUNTRIES),
        "international": col("country").is_not_null() & ~_isin(col("country"), HOME_COUNTRIES),
        "country_unknown": col("country").is_null(),
        "urban": col("area_type") == "urban",
        "rural": col("area_type") == "rural",
        "warm_climate": _isin(col("climate_zone"), WARM),
        "cold_climate": _isin(col("climate_zone"), COLD),
        "target_provinces": _isin(col("province"), TARGET_PROVINCES),
        "target_cities": _isin(col("city"), TARGET_CITIES),
        # holidays
        "holiday_shoppers": col("holiday_share") >= 0.5,
        # lifecycle
        "new_customers": col("first_order_days") < 30,
        "returning": col("order_count") >= 2,
        "active": active,
        "inactive": inactive,
        # psychographic
        "price_sensitive": (col("price_sensitivity") >= 4) | coupon_lovers,
        "interest_sports_outdoor": _isin(col("interests"), ["sports", "outdoor"]),
        "interest_fashion_beauty": _isin(col("interests"), ["fashion", "beauty"]),
        "interest_home_living": _isin(col("interests"), ["home", "cooking"]),
        # technographic
        "mobile_first": (col("mobile_share") >= 0.6) & (col("session_count") >= 3),
        "desktop_first": (col("desktop_share") >= 0.6) & (col("session_count") >= 3),
        "multi_device": (col("device_types") >= 2) & (col("session_count") >= 3)
                        & (col("mobile_share") < 0.6) & (col("desktop_share") < 0.6),
        # value
        "clv_low": col("total_cents") <= 100000,
        "clv_medium": (col("total_cents") > 100000) & (col("total_cents") <= 500000),
        "clv_high": clv_high,
        "big_spenders": (col("order_count") >= 2) & (col("total_cents") >= q90_buyer_spend),
        "luxury_buyers": col("aov") > 700,
    }

    # RFM among customers with orders: 1 + floor(buckets * (rank - 1) / n), ties share a rank.
    pop = col("order_count") > 0
    n_scored = int(f["order_count"].gt(0).sum())

    def part(value: pl.Expr, descending: bool) -> pl.Expr:
        rank = pl.when(pop).then(value).rank(method="min", descending=descending).cast(pl.Int64)
        return 1 + (RFM_BUCKETS * (rank - 1)) // n_scored

    # The segment column is an Enum of every name this function can emit (cheap to concatenate;
    # arrow turns it into a dictionary, cast to plain strings at the end).
    club_levels = ["vip", "gold", "silver", "bronze"]
    loyalty_levels = ["vip", "gold", "loyal", "active", "newcomer", "lapsed", "dormant"]
    all_names = (list(seg) + ["rfm_" + n for n, _ in RFM_MAP] + ["rfm_club_" + n for n, _ in RFM_CLUB_MAP]
                 + ["club_tier/" + n for n in club_levels] + ["loyalty_level/" + n for n in loyalty_levels])
    enum = pl.Enum(all_names)
    name = lambda s: lit(s, dtype=enum)

    r, fq, m = col("_r"), col("_f"), col("_m")
    label = pl.when(RFM_MAP[0][1](r, fq, m)).then(name("rfm_" + RFM_MAP[0][0]))
    for lab, cond in RFM_MAP[1:]:
        label = label.when(cond(r, fq, m)).then(name("rfm_" + lab))
    label = label.otherwise(lit(None, dtype=enum))
    rfm_sum = r + fq + m
    club_label = pl.when(rfm_sum >= RFM_CLUB_MAP[0][1]).then(name("rfm_club_" + RFM_CLUB_MAP[0][0]))
    for lab, least in RFM_CLUB_MAP[1:]:
        club_label = club_label.when(rfm_sum >= least).then(name("rfm_club_" + lab))
    club_label = club_label.otherwise(lit(None, dtype=enum))

    # Tier ladders: best level first, the first match wins; NULL conditions fall through.
    club = (pl.when(col("spend12_cents") >= 500000).then(name("club_tier/vip"))
            .when((col("spend12_cents") >= 150000) & (col("orders_12m") >= 6)).then(name("club_tier/gold"))
            .when(col("spend12_cents") >= 50000).then(name("club_tier/silver"))
            .otherwise(name("club_tier/bronze")))
    tenure = col("tenure_days")
    level = (pl.when((col("spend12_cents") >= 500000) & (tenure >= 365)).then(name("loyalty_level/vip"))
             .when((col("orders_12m") >= 6) & (col("spend12_cents") >= 150000) & (tenure >= 90)).then(name("loyalty_level/gold"))
             .when(loyal & (tenure >= 90)).then(name("loyalty_level/loyal"))
             .when((col("recency_days") < 90) & (tenure >= 90)).then(name("loyalty_level/active"))
             .when(tenure < 90).then(name("loyalty_level/newcomer"))
             .when(col("order_count") >= 1).then(name("loyalty_level/lapsed"))
             .otherwise(name("loyalty_level/dormant")))

    wide = (
        f.lazy()
        .with_columns(
            part(col("recency_days"), True).alias("_r"),
            part(col("order_count"), False).alias("_f"),
            part(col("total_cents"), False).alias("_m"),
        )
        .select(
            "customer_id",
            *[e.fill_null(False).alias(n) for n, e in seg.items()],
            label.alias("_rfm"),
            club_label.alias("_rfm_club"),
            club.alias("_club"),
            level.alias("_level"),
        )
        .collect()
    ).lazy()

    parts = [wide.filter(col(n)).select("customer_id", name(n).alias("segment")) for n in seg]
    parts += [wide.filter(col(c).is_not_null()).select("customer_id", col(c).alias("segment")) for c in ("_rfm", "_rfm_club")]
    parts += [wide.select("customer_id", col(c).alias("segment")) for c in ("_club", "_level")]
    out = pl.concat(parts).collect().to_arrow()
    return out.cast(pa.schema([("customer_id", pa.int64()), ("segment", pa.string())]))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: full_polars.py <data_dir> <as_of YYYY-MM-DD>")
    t0 = time.perf_counter()
    table = members(pathlib.Path(sys.argv[1]), dt.date.fromisoformat(sys.argv[2]))
    print(f"{table.num_rows} rows in {time.perf_counter() - t0:.3f} s")
