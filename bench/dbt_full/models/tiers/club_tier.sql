-- Loyalty club level from 12-month spend and orders (segments/tiers.yaml); first level reached wins.
select customer_id,
    case
        when spend_12m >= {{ var('vip_spend_12m', 5000) }} then 'vip'
        when spend_12m >= {{ var('gold_spend_12m', 1500) }} and orders_12m >= {{ var('gold_orders_12m', 6) }} then 'gold'
        when spend_12m >= {{ var('silver_spend_12m', 500) }} then 'silver'
        else 'bronze'
    end as tier
from {{ ref('customer_features') }}
