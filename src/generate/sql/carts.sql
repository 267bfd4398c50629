-- carts: shopping carts; some customers habitually abandon them, leaving products behind.
WITH cust AS (
    SELECT customer_id, signup_date,
           (hash(getvariable('seed'), customer_id, 'abandoner') % 100) AS u_abandoner,
           (hash(getvariable('seed'), customer_id, 'ncarts') % 100) AS u_carts
    FROM gen_customers
),
rows AS (
    SELECT c.customer_id, c.signup_date, c.u_abandoner, j,
           (hash(getvariable('seed'), c.customer_id, j, 'cday') % 1000003) / 1000003.0 AS u_day,
           hash(getvariable('seed'), c.customer_id, j, 'status') % 100 AS u_status,
           1 + hash(getvariable('seed'), c.customer_id, j, 'items') % 4 AS items,
           hash(getvariable('seed'), c.customer_id, j, 'p1') % 400 AS p1,
           hash(getvariable('seed'), c.customer_id, j, 'p2') % 400 AS p2
    FROM cust c, range(CAST(c.u_carts % 7 AS INTEGER)) r(j)
)
SELECT
    customer_id * 100 + j AS cart_id,
    customer_id,
    -- recent carts are more frequent: the last 120 days hold half of them
    CAST(CASE WHEN u_day < 0.5 THEN greatest(signup_date, getvariable('as_of') - to_days(CAST(u_day * 240 AS INTEGER)))
              ELSE signup_date + to_days(CAST(floor((u_day - 0.5) * 2 * date_diff('day', signup_date, getvariable('as_of'))) AS INTEGER)) END AS TIMESTAMP)
        + to_seconds(hash(getvariable('seed'), customer_id, j, 'csec') % 86400) AS created_at,
    CASE WHEN u_status < CASE WHEN u_abandoner < 20 THEN 75 ELSE 15 END THEN 'abandoned' ELSE 'converted' END AS status,
    CAST(items AS INTEGER) AS items,
    CAST(round(items * (8 + hash(getvariable('seed'), customer_id, j, 'cval') % 120), 2) AS DECIMAL(12, 2)) AS cart_value,
    -- the catalogue of order_items: product k of category c (0..7, 50 products each) is 'P' || (c * 100 + k)
    'P' || lpad(CAST(p1 // 50 * 100 + p1 % 50 AS VARCHAR), 4, '0')
        || CASE WHEN items > 1 THEN ';P' || lpad(CAST(p2 // 50 * 100 + p2 % 50 AS VARCHAR), 4, '0') ELSE '' END AS products
FROM rows
WHERE created_at IS NOT NULL
ORDER BY cart_id
