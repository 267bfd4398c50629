-- The core subset's features (same definitions as bench/handwritten.sql).
with pop as (
    select customer_id from read_parquet('{{ var("data") }}/customers.parquet')
    where signup_date < date '{{ var("as_of") }}' + interval 1 day
),
o as (
    select customer_id, count(*) as order_count, sum(amount) as total_spent,
           date_diff('day', max(ordered_at), date '{{ var("as_of") }}') as recency_days,
           date_diff('day', min(ordered_at), date '{{ var("as_of") }}') as first_order_days,
           coalesce(sum(amount) filter (where ordered_at >= date '{{ var("as_of") }}' + interval 1 day - interval 12 month), 0) as spend_12m,
           count(*) filter (where ordered_at >= date '{{ var("as_of") }}' + interval 1 day - interval 12 month) as orders_12m
    from read_parquet('{{ var("data") }}/orders.parquet')
    where ordered_at < date '{{ var("as_of") }}' + interval 1 day
    group by customer_id
)
select p.customer_id, coalesce(order_count, 0) as order_count, coalesce(total_spent, 0) as total_spent,
       recency_days, first_order_days, coalesce(spend_12m, 0) as spend_12m, coalesce(orders_12m, 0) as orders_12m
from pop p left join o using (customer_id)
