-- step: features: agg_orders
CREATE OR REPLACE TABLE "__segmenter_state__agg_orders" AS
-- source 'orders': one scan computing 6 feature(s)
SELECT
  "customer_id" AS "customer_id",
  count(*) AS "s0",  -- segments/features.yaml:4
  sum(amount) AS "s1",  -- segments/features.yaml:5
  max(ordered_at) AS "s2",  -- segments/features.yaml:6
  count(*) FILTER (WHERE "ordered_at" >= ((DATE '2026-06-30' + INTERVAL 1 DAY) - INTERVAL 12 MONTH)) AS "s3",  -- segments/features.yaml:7
  sum(amount) FILTER (WHERE "ordered_at" >= ((DATE '2026-06-30' + INTERVAL 1 DAY) - INTERVAL 365 DAY)) AS "s4",  -- segments/features.yaml:8
  count(*) FILTER (WHERE (coupon_code IS NOT NULL)) AS "s5"  -- segments/features.yaml:9
FROM (SELECT * REPLACE (CAST("amount" AS DECIMAL(12,2)) AS "amount") FROM (SELECT * RENAME ("client" AS "customer_id", "total" AS "amount") FROM read_csv('tests/fixtures/tiny/data/orders.csv')))
WHERE "ordered_at" < (DATE '2026-06-30' + INTERVAL 1 DAY)
GROUP BY 1;

-- step: features: agg_sessions
CREATE OR REPLACE TABLE "__segmenter_state__agg_sessions" AS
-- source 'sessions': one scan computing 1 feature(s)
SELECT
  "customer_id" AS "customer_id",
  count(*) AS "s0"  -- segments/features.yaml:12
FROM (SELECT * FROM read_csv('tests/fixtures/tiny/data/sessions.csv'))
WHERE "started_at" < (DATE '2026-06-30' + INTERVAL 1 DAY)
GROUP BY 1;

-- step: features
CREATE OR REPLACE TABLE "customer_features" AS
WITH
"population" AS (
  -- source 'customers': the population, one row per customer
  SELECT
    "customer_id" AS "customer_id",
    date_diff('day', signup_date, DATE '2026-06-30') AS "tenure_days",  -- segments/features.yaml:2
    country AS "country"  -- segments/features.yaml:3
  FROM (SELECT * FROM read_csv('tests/fixtures/tiny/data/customers.csv'))
  WHERE "signup_date" < (DATE '2026-06-30' + INTERVAL 1 DAY)
),
"layer_0" AS (
  SELECT
    p."customer_id",
    p."tenure_days",
    p."country",
    coalesce(a0.s0, 0) AS "order_count",
    coalesce(a0.s1, 0) AS "total_spent",
    CASE WHEN a0."customer_id" IS NOT NULL THEN date_diff('day', a0.s2, DATE '2026-06-30') END AS "recency_days",
    coalesce(a0.s3, 0) AS "orders_12m",
    coalesce(a0.s4, 0) AS "spend_12m",
    coalesce(a0.s5, 0) AS "coupon_orders",
    coalesce(a1.s0, 0) AS "session_count"
  FROM "population" AS p
  LEFT JOIN "__segmenter_state__agg_orders" AS a0 ON a0."customer_id" = p."customer_id"
  LEFT JOIN "__segmenter_state__agg_sessions" AS a1 ON a1."customer_id" = p."customer_id"
),
"layer_1" AS (
  SELECT
    *,
    total_spent / nullif(order_count, 0) AS "aov",  -- segments/features.yaml:10
    coupon_orders / nullif(order_count, 0) AS "coupon_share"  -- segments/features.yaml:11
  FROM "layer_0"
)
SELECT "customer_id", "tenure_days", "country", "order_count", "total_spent", "recency_days", "orders_12m", "spend_12m", "coupon_orders", "session_count", "aov", "coupon_share"
FROM "layer_1"
ORDER BY "customer_id";

-- step: score rf
CREATE OR REPLACE TABLE "rf_scores" AS
-- score 'rf' (segments/tiers.yaml:9), 3 buckets; ties share a score
WITH "ranked" AS (
  SELECT "customer_id", "r_value", "f_value",
    CASE WHEN "r_value" IS NULL THEN NULL
         ELSE 1 + CAST(floor(3.0 * (rank() OVER (ORDER BY "r_value" DESC NULLS LAST) - 1) / count("r_value") OVER ()) AS INTEGER) END AS "r",
    CASE WHEN "f_value" IS NULL THEN NULL
         ELSE 1 + CAST(floor(3.0 * (rank() OVER (ORDER BY "f_value" ASC NULLS LAST) - 1) / count("f_value") OVER ()) AS INTEGER) END AS "f"
  FROM (
    SELECT "customer_id", "recency_days" AS "r_value", "order_count" AS "f_value"
    FROM "customer_features"
    WHERE coalesce((order_count > 0), FALSE)
  ) AS "scored_population"
)
SELECT "customer_id", "r", "f", coalesce(CAST("r" AS VARCHAR), '-') || coalesce(CAST("f" AS VARCHAR), '-') AS "score", CASE
    WHEN r >= 3 AND f >= 3 THEN 'best'
    WHEN r = 1 THEN 'sleeping'
  END AS "label", "r_value", "f_value"
FROM "ranked"
ORDER BY "customer_id";

-- step: segments
CREATE OR REPLACE TABLE "segment_members" AS
SELECT "customer_id", CAST("segment" AS ENUM('above_average_spend', 'clv_high', 'clv_low', 'clv_medium', 'coupon_lovers', 'high_aov', 'loyal', 'loyal_or_coupon', 'one_time_buyers', 'registered_no_orders', 'rf_best', 'rf_sleeping', 'vip_loyal')) AS "segment"
FROM (
SELECT "customer_id", "segment"
FROM (
  SELECT "customer_id",
    coalesce((
      total_spent <= 1000
    ), FALSE) AS "clv_low",  -- segments/segments.yaml:2
    coalesce((
      total_spent > 1000 AND total_spent <= 5000
    ), FALSE) AS "clv_medium",  -- segments/segments.yaml:3
    coalesce((
      total_spent > 5000
    ), FALSE) AS "clv_high",  -- segments/segments.yaml:4
    coalesce((
      order_count = 1
    ), FALSE) AS "one_time_buyers",  -- segments/segments.yaml:5
    coalesce((
      order_count > greatest(3, (SELECT avg("order_count") FROM "customer_features")) AND tenure_days >= 365
    ), FALSE) AS "loyal",  -- segments/segments.yaml:6
    coalesce((
      order_count = 0 AND session_count > 4
    ), FALSE) AS "registered_no_orders",  -- segments/segments.yaml:8
    coalesce((
      coupon_share >= 0.5 AND coupon_orders >= 2
    ), FALSE) AS "coupon_lovers",  -- segments/segments.yaml:9
    coalesce((
      total_spent > (SELECT avg("total_spent") FROM "customer_features")
    ), FALSE) AS "above_average_spend",  -- segments/segments.yaml:10
    coalesce((
      (order_count > greatest(3, (SELECT avg("order_count") FROM "customer_features")) AND tenure_days >= 365) AND (total_spent > 4000)
    ), FALSE) AS "vip_loyal",  -- segments/segments.yaml:11
    coalesce((
      coalesce((order_count > greatest(3, (SELECT avg("order_count") FROM "customer_features")) AND tenure_days >= 365), false) OR coalesce((coupon_share >= 0.5 AND coupon_orders >= 2), false)
    ), FALSE) AS "loyal_or_coupon",  -- segments/segments.yaml:12
    coalesce((
      aov >= 1000
    ), FALSE) AS "high_aov"  -- segments/segments.yaml:13
  FROM "customer_features"
) UNPIVOT ("is_member" FOR "segment" IN ("clv_low", "clv_medium", "clv_high", "one_time_buyers", "loyal", "registered_no_orders", "coupon_lovers", "above_average_spend", "vip_loyal", "loyal_or_coupon", "high_aov"))
WHERE "is_member"
UNION ALL
SELECT "customer_id", 'rf_' || "label" AS "segment"
FROM "rf_scores"
WHERE "label" IS NOT NULL
);

-- step: tiers
CREATE OR REPLACE TABLE "tier_assignments" AS
SELECT * FROM (
(-- tier ladder 'club' (segments/tiers.yaml:2): levels best first, the first matching level wins
SELECT "customer_id",
  CAST('club' AS ENUM('club')) AS "ladder",
  CAST(CASE "rank" WHEN 1 THEN 'vip' WHEN 2 THEN 'gold' WHEN 3 THEN 'silver' WHEN 4 THEN 'bronze' END AS ENUM('bronze', 'gold', 'silver', 'vip')) AS "tier",
  "rank",
  CAST(CASE "rank" WHEN 2 THEN 'vip' WHEN 3 THEN 'gold' WHEN 4 THEN 'silver' END AS ENUM('bronze', 'gold', 'silver', 'vip')) AS "next_tier",
  CASE "rank" WHEN 2 THEN greatest(5000 - coalesce("spend_12m", 0), 0) WHEN 3 THEN greatest(1500 - coalesce("spend_12m", 0), 0) WHEN 4 THEN greatest(500 - coalesce("spend_12m", 0), 0) END AS "gap_spend_12m",
  CASE "rank" WHEN 3 THEN greatest(6 - coalesce("orders_12m", 0), 0) END AS "gap_orders_12m"
FROM (
  SELECT "customer_id",
    "spend_12m",
    "orders_12m",
    CASE
      WHEN coalesce("spend_12m" >= 5000, FALSE) THEN 1  -- vip (segments/tiers.yaml:4)
      WHEN coalesce("orders_12m" >= 6 AND "spend_12m" >= 1500, FALSE) THEN 2  -- gold (segments/tiers.yaml:5)
      WHEN coalesce("spend_12m" >= 500, FALSE) THEN 3  -- silver (segments/tiers.yaml:6)
      ELSE 4
    END AS "rank"
  FROM "customer_features"
))
)
ORDER BY "ladder", "customer_id";

-- step: catalogs
CREATE OR REPLACE TABLE "segment_catalog" AS
WITH defs AS (
  SELECT * FROM (VALUES
    ('clv_low', CAST(NULL AS VARCHAR), ['value']::VARCHAR[], CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'rule', 'segments/segments.yaml:2', 'bb16ef1c57d9', CAST(NULL AS INTEGER)),
    ('clv_medium', CAST(NULL AS VARCHAR), ['value']::VARCHAR[], CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'rule', 'segments/segments.yaml:3', 'c71635f7beae', CAST(NULL AS INTEGER)),
    ('clv_high', CAST(NULL AS VARCHAR), ['value']::VARCHAR[], CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'rule', 'segments/segments.yaml:4', '4484f3d15cb6', CAST(NULL AS INTEGER)),
    ('one_time_buyers', CAST(NULL AS VARCHAR), []::VARCHAR[], CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'rule', 'segments/segments.yaml:5', 'dea9d25043d1', CAST(NULL AS INTEGER)),
    ('loyal', CAST(NULL AS VARCHAR), []::VARCHAR[], CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'rule', 'segments/segments.yaml:6', 'f51d653ae645', CAST(NULL AS INTEGER)),
    ('registered_no_orders', CAST(NULL AS VARCHAR), []::VARCHAR[], CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'rule', 'segments/segments.yaml:8', 'e37d64fd0c39', CAST(NULL AS INTEGER)),
    ('coupon_lovers', CAST(NULL AS VARCHAR), []::VARCHAR[], CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'rule', 'segments/segments.yaml:9', '0859b8d0298a', CAST(NULL AS INTEGER)),
    ('above_average_spend', CAST(NULL AS VARCHAR), []::VARCHAR[], CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'rule', 'segments/segments.yaml:10', 'a19f418d6540', CAST(NULL AS INTEGER)),
    ('vip_loyal', CAST(NULL AS VARCHAR), []::VARCHAR[], CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'rule', 'segments/segments.yaml:11', 'da8cfc523248', CAST(NULL AS INTEGER)),
    ('loyal_or_coupon', CAST(NULL AS VARCHAR), []::VARCHAR[], CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'rule', 'segments/segments.yaml:12', 'ec630e61d96f', CAST(NULL AS INTEGER)),
    ('high_aov', CAST(NULL AS VARCHAR), []::VARCHAR[], CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'rule', 'segments/segments.yaml:13', '5fcd1ed55ea8', CAST(NULL AS INTEGER)),
    ('rf_best', CAST(NULL AS VARCHAR), []::VARCHAR[], CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'score:rf', 'segments/tiers.yaml:9', 'b52cec10b5a8', CAST(NULL AS INTEGER)),
    ('rf_sleeping', CAST(NULL AS VARCHAR), []::VARCHAR[], CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'score:rf', 'segments/tiers.yaml:9', 'ef8ea03af0fa', CAST(NULL AS INTEGER))
  ) AS v("name", "description", "tags", "owner", "campaign", "kind", "origin", "definition_hash", "priority")
),
sizes AS (SELECT "segment", count(*) AS size FROM "segment_members" GROUP BY "segment"),
total AS (SELECT count(*) AS n FROM "customer_features")
SELECT defs.*, coalesce(sizes.size, 0) AS size,
  CASE WHEN total.n = 0 THEN 0 ELSE round(coalesce(sizes.size, 0) / total.n, 4) END AS share,
  DATE '2026-06-30' AS as_of
FROM defs LEFT JOIN sizes ON sizes."segment" = defs.name CROSS JOIN total
ORDER BY defs.name;

-- step: catalogs
CREATE OR REPLACE TABLE "tier_catalog" AS
WITH defs AS (
  SELECT * FROM (VALUES
    ('club', 'vip', 1, CAST(NULL AS VARCHAR), ['gifts']::VARCHAR[], 'spend_12m >= 5000'),
    ('club', 'gold', 2, CAST(NULL AS VARCHAR), []::VARCHAR[], 'orders_12m >= 6 AND spend_12m >= 1500'),
    ('club', 'silver', 3, CAST(NULL AS VARCHAR), []::VARCHAR[], 'spend_12m >= 500'),
    ('club', 'bronze', 4, CAST(NULL AS VARCHAR), ['discount notices']::VARCHAR[], 'everyone else')
  ) AS v("ladder", "tier", "rank", "description", "benefits", "rule")
),
sizes AS (SELECT ladder, tier, count(*) AS size FROM "tier_assignments" GROUP BY ladder, tier),
total AS (SELECT count(*) AS n FROM "customer_features")
SELECT defs.*, coalesce(sizes.size, 0) AS size,
  CASE WHEN total.n = 0 THEN 0 ELSE round(coalesce(sizes.size, 0) / total.n, 4) END AS share
FROM defs LEFT JOIN sizes ON sizes.ladder = defs.ladder AND sizes.tier = defs.tier CROSS JOIN total
ORDER BY defs.ladder, defs.rank;

-- step: catalogs
CREATE OR REPLACE TABLE "feature_catalog" AS
SELECT * FROM (VALUES
    ('tenure_days', 'declared', 'customers', CAST(NULL AS VARCHAR), 'segments/features.yaml:2'),
    ('country', 'declared', 'customers', CAST(NULL AS VARCHAR), 'segments/features.yaml:3'),
    ('order_count', 'derived', 'orders', CAST(NULL AS VARCHAR), 'segments/features.yaml:4'),
    ('total_spent', 'derived', 'orders', CAST(NULL AS VARCHAR), 'segments/features.yaml:5'),
    ('recency_days', 'derived', 'orders', CAST(NULL AS VARCHAR), 'segments/features.yaml:6'),
    ('orders_12m', 'derived', 'orders', CAST(NULL AS VARCHAR), 'segments/features.yaml:7'),
    ('spend_12m', 'derived', 'orders', CAST(NULL AS VARCHAR), 'segments/features.yaml:8'),
    ('coupon_orders', 'derived', 'orders', CAST(NULL AS VARCHAR), 'segments/features.yaml:9'),
    ('session_count', 'derived', 'sessions', CAST(NULL AS VARCHAR), 'segments/features.yaml:12'),
    ('aov', 'derived', CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'segments/features.yaml:10'),
    ('coupon_share', 'derived', CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'segments/features.yaml:11')
  ) AS v("name", "kind", "source", "description", "origin");

