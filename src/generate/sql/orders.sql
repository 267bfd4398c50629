-- orders: skewed order counts and spend per customer, holiday peaks (and 4 July in the US), coupon habits,
-- churned customers and a few subscribers who order every 30 days.
WITH cust AS (
    SELECT customer_id, signup_date, country,
           date_diff('day', signup_date, getvariable('as_of')) AS life_days,
           (hash(getvariable('seed'), customer_id, 'periodic') % 1000003) / 1000003.0 AS u_periodic,
           (hash(getvariable('seed'), customer_id, 'profile') % 1000003) / 1000003.0 AS u_profile,
           (hash(getvariable('seed'), customer_id, 'freq') % 1000003) / 1000003.0 AS u_freq,
           (hash(getvariable('seed'), customer_id, 'churn') % 1000003) / 1000003.0 AS u_churn,
           (hash(getvariable('seed'), customer_id, 'wallet') % 1000003) / 1000003.0 AS u_wallet,
           (hash(getvariable('seed'), customer_id, 'coupon') % 1000003) / 1000003.0 AS u_coupon
    FROM gen_customers
),
traits AS (
    -- 6% of the repeat buyers (with at least 4 months of history) subscribe: an order every 30 days
    SELECT *, u_profile >= 0.35 AND u_periodic < 0.06 AND life_days >= 120 AS periodic FROM cust
),
plan AS (
    SELECT *,
           -- 10% never order, 25% order once, the rest a long-tailed number of times (scaled by `frequency`)
           CASE WHEN periodic THEN least(CAST(life_days / 30 AS INTEGER), 4 + CAST(floor(u_freq * 20) AS INTEGER))
                WHEN u_profile < 0.10 THEN 0
                WHEN u_profile < 0.35 THEN 1
                ELSE 2 + CAST(floor(-ln(1 - u_freq * 0.999) * 5 * getvariable('frequency')) AS INTEGER) END AS n_orders,
           -- a third of the customers stop buying at some point (churn / win-back candidates)
           CASE WHEN u_churn < 0.33 AND NOT periodic THEN 0.2 + 0.6 * u_churn / 0.33 ELSE 1.0 END AS active_share,
           exp(3.6 + 2.4 * u_wallet) AS wallet,
           CASE WHEN u_coupon < 0.15 THEN 0.75 ELSE 0.08 END AS coupon_rate
    FROM traits
),
rows AS (
    SELECT p.customer_id, j, p.signup_date, p.country, p.periodic, p.n_orders, p.wallet, p.coupon_rate, p.active_share,
           (hash(getvariable('seed'), p.customer_id, j, 'day') % 1000003) / 1000003.0 AS u_day,
           (hash(getvariable('seed'), p.customer_id, j, 'holiday') % 1000003) / 1000003.0 AS u_holiday,
           (hash(getvariable('seed'), p.customer_id, j, 'amt1') % 1000003 + 1) / 1000004.0 AS u_a1,
           (hash(getvariable('seed'), p.customer_id, j, 'amt2') % 1000003) / 1000003.0 AS u_a2,
           (hash(getvariable('seed'), p.customer_id, j, 'cpn') % 1000003) / 1000003.0 AS u_cpn,
           (hash(getvariable('seed'), p.customer_id, j, 'sec') % 86400) AS second_of_day,
           (hash(getvariable('seed'), p.customer_id, j, 'chan') % 100) AS u_chan
    FROM plan p, range(p.n_orders) r(j)
),
dated AS (
    SELECT *,
           date_diff('day', signup_date, getvariable('as_of')) AS life_days,
           CASE WHEN periodic
                -- every 30 days up to the last month, a few days late at most
                THEN date_diff('day', signup_date, getvariable('as_of')) - (n_orders - j) * 30 + CAST(floor(u_day * 4) AS INTEGER)
                ELSE CAST(floor(u_day * date_diff('day', signup_date, getvariable('as_of')) * active_share) AS INTEGER) END AS day_offset
    FROM rows
),
placed AS (
    SELECT *,
           signup_date + to_days(day_offset) AS natural_day,
           -- 18% of orders move into the Black Friday / Christmas season of that year (when it is inside the life)
           CASE WHEN periodic THEN NULL
                WHEN u_holiday < 0.18 THEN make_date(year(signup_date + to_days(day_offset)), 11, 24)
                    + to_days(CAST(u_holiday / 0.18 * 31 AS INTEGER))
                -- and in the US another 8% into the week of Independence Day (1-4 July)
                WHEN u_holiday < 0.26 AND country = 'US' THEN make_date(year(signup_date + to_days(day_offset)), 7, 1)
                    + to_days(CAST((u_holiday - 0.18) / 0.08 * 4 AS INTEGER)) END AS holiday_day
    FROM dated
)
SELECT
    customer_id * 1000 + j AS order_id,
    customer_id,
    CAST(CASE WHEN holiday_day IS NOT NULL AND holiday_day BETWEEN signup_date AND getvariable('as_of') THEN holiday_day ELSE natural_day END AS TIMESTAMP)
        + to_seconds(second_of_day) AS ordered_at,
    -- log-normal amounts around the customer's wallet
    CAST(round(greatest(5, wallet * exp(0.6 * sqrt(-2 * ln(u_a1)) * cos(2 * pi() * u_a2))), 2) AS DECIMAL(12, 2)) AS amount,
    CASE WHEN u_cpn < coupon_rate THEN ['SAVE10', 'WELCOME15', 'HOLIDAY20', 'FREESHIP'][1 + CAST(floor(u_cpn / coupon_rate * 4) AS INTEGER) % 4] END AS coupon_code,
    CASE WHEN u_chan < 55 THEN 'web' WHEN u_chan < 90 THEN 'app' ELSE 'store' END AS channel,
    -- orders ship to the customer's country
    country AS ship_country
FROM placed
ORDER BY order_id
