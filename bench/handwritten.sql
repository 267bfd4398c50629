-- The core subset written by hand for DuckDB: CLV bands, order-count and lifecycle segments,
-- and the club_tier ladder, as of getvariable('as_of'). Reads getvariable('data') (a folder
-- of Parquet files from `segmenter generate --orders N`).
CREATE OR REPLACE TABLE hand_members AS
WITH pop AS (
    SELECT customer_id FROM read_parquet(getvariable('data') || '/customers.parquet')
    WHERE signup_date < getvariable('as_of') + INTERVAL 1 DAY
),
o AS (
    SELECT customer_id,
           count(*) AS order_count,
           sum(amount) AS total_spent,
           date_diff('day', max(ordered_at), getvariable('as_of')) AS recency_days,
           date_diff('day', min(ordered_at), getvariable('as_of')) AS first_order_days,
           coalesce(sum(amount) FILTER (WHERE ordered_at >= getvariable('as_of') + INTERVAL 1 DAY - INTERVAL 12 MONTH), 0) AS spend_12m,
           count(*) FILTER (WHERE ordered_at >= getvariable('as_of') + INTERVAL 1 DAY - INTERVAL 12 MONTH) AS orders_12m
    FROM read_parquet(getvariable('data') || '/orders.parquet')
    WHERE ordered_at < getvariable('as_of') + INTERVAL 1 DAY
    GROUP BY customer_id
),
f AS (
    SELECT p.customer_id, coalesce(order_count, 0) AS order_count, coalesce(total_spent, 0) AS total_spent,
           recency_days, first_order_days, coalesce(spend_12m, 0) AS spend_12m, coalesce(orders_12m, 0) AS orders_12m
    FROM pop p LEFT JOIN o USING (customer_id)
)
SELECT customer_id, segment FROM f, (VALUES ('clv_low'), ('clv_medium'), ('clv_high'), ('one_time_buyers'), ('returning'), ('active'), ('inactive'), ('new_customers')) s(segment)
WHERE CASE segment
    WHEN 'clv_low' THEN total_spent <= 1000
    WHEN 'clv_medium' THEN total_spent > 1000 AND total_spent <= 5000
    WHEN 'clv_high' THEN total_spent > 5000
    WHEN 'one_time_buyers' THEN order_count = 1
    WHEN 'returning' THEN order_count >= 2
    WHEN 'active' THEN coalesce(recency_days < 90, FALSE)
    WHEN 'inactive' THEN coalesce(recency_days >= 180, FALSE)
    WHEN 'new_customers' THEN coalesce(first_order_days < 30, FALSE)
END
UNION ALL
SELECT customer_id, 'club_tier/' || CASE
    WHEN spend_12m >= 5000 THEN 'vip'
    WHEN spend_12m >= 1500 AND orders_12m >= 6 THEN 'gold'
    WHEN spend_12m >= 500 THEN 'silver'
    ELSE 'bronze' END
FROM f;
