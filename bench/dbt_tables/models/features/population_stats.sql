-- Store-wide statistics the segment rules compare customers with (over all customers; NULLs,
-- e.g. the aov of customers without orders, are left out).
select
    avg(order_count) as avg_order_count,
    avg(session_count) as avg_session_count,
    median(total_spent) as median_total_spent,
    quantile_cont(buyer_spend, {{ var('big_spender_quantile', 0.9) }}) as big_spender_buyer_spend
from {{ ref('customer_features') }}
