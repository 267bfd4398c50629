-- RFM quintiles among customers with orders (segments/rfm.yaml). Per part:
-- score = 1 + floor(5 * (rank - 1) / n), rank() giving equal values the same rank (so the same
-- score), best values scoring highest. The first matching label of the map wins.
with scored_population as (
    select customer_id, recency_days, order_count, total_spent
    from {{ ref('customer_features') }}
    where order_count > 0
),
ranked as (
    select customer_id, recency_days, order_count, total_spent,
        1 + cast(floor(5 * (rank() over (order by recency_days desc) - 1) / count(recency_days) over ()) as integer) as r,
        1 + cast(floor(5 * (rank() over (order by order_count asc) - 1) / count(order_count) over ()) as integer) as f,
        1 + cast(floor(5 * (rank() over (order by total_spent asc) - 1) / count(total_spent) over ()) as integer) as m
    from scored_population
)
select customer_id, r, f, m, r::varchar || f::varchar || m::varchar as score,
    case
        when r >= 4 and f >= 4 and m >= 4 then 'champions'
        when r >= 3 and f >= 4 then 'loyal'
        when r <= 2 and f >= 4 and m >= 4 then 'cannot_lose'
        when r <= 2 and f >= 3 then 'at_risk'
        when r >= 4 and f >= 2 then 'potential_loyalists'
        when r >= 4 and f = 1 and m >= 3 then 'promising'
        when r >= 4 and f = 1 then 'new'
        when r = 3 and f >= 2 then 'need_attention'
        when r = 3 and f = 1 then 'about_to_sleep'
        when r = 2 then 'hibernating'
        when r = 1 then 'lost'
    end as label,
    recency_days as r_value, order_count as f_value, total_spent as m_value
from ranked
