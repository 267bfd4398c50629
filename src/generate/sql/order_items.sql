-- order_items: 1-4 lines per order, dated like their order; each customer has a favourite category.
-- One catalogue (shared with carts): 8 categories of 50 products, product k of category c is 'P' || (c * 100 + k).
WITH lines AS (
    SELECT o.order_id, o.customer_id, o.ordered_at, o.amount, k,
           1 + hash(getvariable('seed'), o.order_id, 'lines') % 4 AS n_lines,
           hash(getvariable('seed'), o.customer_id, 'favourite') % 8 AS favourite,
           (hash(getvariable('seed'), o.order_id, k, 'fav') % 100) AS u_fav,
           hash(getvariable('seed'), o.order_id, k, 'cat') % 8 AS other,
           hash(getvariable('seed'), o.order_id, k, 'product') % 50 AS product_no,
           1 + hash(getvariable('seed'), o.order_id, k, 'qty') % 3 AS quantity
    FROM gen_orders o, range(CAST(1 + hash(getvariable('seed'), o.order_id, 'lines') % 4 AS BIGINT)) r(k)
)
SELECT
    order_id,
    k + 1 AS line_no,
    customer_id,
    ordered_at,
    ['electronics', 'fashion', 'home', 'beauty', 'sports', 'books', 'toys', 'grocery'][1 + CAST(CASE WHEN u_fav < 60 THEN favourite ELSE other END AS INTEGER)] AS category,
    'P' || lpad(CAST((CASE WHEN u_fav < 60 THEN favourite ELSE other END) * 100 + product_no AS VARCHAR), 4, '0') AS product_id,
    CAST(quantity AS INTEGER) AS quantity,
    CAST(round(amount / n_lines / quantity, 2) AS DECIMAL(12, 2)) AS price
FROM lines
ORDER BY order_id, line_no
