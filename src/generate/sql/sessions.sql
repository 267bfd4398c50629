-- sessions: visits with a device mix per customer (mobile-first, desktop-first, multi-device).
WITH cust AS (
    SELECT c.customer_id, c.signup_date,
           coalesce(o.n, 0) AS n_orders,
           (hash(getvariable('seed'), c.customer_id, 'device') % 100) AS u_device,
           (hash(getvariable('seed'), c.customer_id, 'visits') % 1000003) / 1000003.0 AS u_visits,
           (hash(getvariable('seed'), c.customer_id, 'browse') % 100) AS u_browse
    FROM gen_customers c
    LEFT JOIN (SELECT customer_id, count(*) AS n FROM gen_orders GROUP BY customer_id) o USING (customer_id)
),
plan AS (
    SELECT *,
           -- browsers who never buy still visit; buyers visit about twice per order; and 12% of
           -- all customers (buyers or not) compare a lot before they buy, if they buy at all
           CAST(CASE WHEN n_orders = 0 THEN floor(u_visits * 12)
                     ELSE n_orders * 2 + floor(u_visits * 6) END
                + CASE WHEN u_browse < 12 THEN 15 + floor(u_visits * 30) ELSE 0 END AS INTEGER) AS n_sessions,
           CASE WHEN u_device < 45 THEN 'mobile' WHEN u_device < 80 THEN 'desktop' ELSE 'multi' END AS habit
    FROM cust
),
rows AS (
    SELECT p.customer_id, p.signup_date, p.habit, j,
           (hash(getvariable('seed'), p.customer_id, j, 'sday') % 1000003) / 1000003.0 AS u_day,
           (hash(getvariable('seed'), p.customer_id, j, 'sdev') % 100) AS u_dev,
           hash(getvariable('seed'), p.customer_id, j, 'ssec') % 86400 AS second_of_day,
           1 + hash(getvariable('seed'), p.customer_id, j, 'pages') % 15 AS pages
    FROM plan p, range(p.n_sessions) r(j)
)
SELECT
    customer_id * 10000 + j AS session_id,
    customer_id,
    CAST(signup_date + to_days(CAST(floor(u_day * date_diff('day', signup_date, getvariable('as_of'))) AS INTEGER)) AS TIMESTAMP)
        + to_seconds(second_of_day) AS started_at,
    CASE habit
        WHEN 'mobile' THEN CASE WHEN u_dev < 90 THEN 'mobile' ELSE 'desktop' END
        WHEN 'desktop' THEN CASE WHEN u_dev < 88 THEN 'desktop' ELSE 'mobile' END
        ELSE CASE WHEN u_dev < 45 THEN 'mobile' WHEN u_dev < 85 THEN 'desktop' ELSE 'tablet' END
    END AS device,
    CAST(pages AS INTEGER) AS page_views,
    CAST(hash(getvariable('seed'), customer_id, j, 'clicks') % (pages * 3 + 1) AS INTEGER) AS clicks,
    CAST(pages * (20 + hash(getvariable('seed'), customer_id, j, 'dur') % 90) AS INTEGER) AS duration_s
FROM rows
ORDER BY session_id
