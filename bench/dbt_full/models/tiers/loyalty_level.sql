-- The customer's step on the path newcomer -> active -> loyal -> gold -> VIP, or lapsed/dormant
-- when they left it (segments/tiers.yaml): 12-month windows and tenure, so levels can drop. The
-- first level reached wins; a NULL condition (no recency without orders) falls through. The loyal
-- level is the loyal segment (ref'd, not copied) after the newcomer period.
select f.customer_id,
    case
        when spend_12m >= {{ var('level_vip_spend_12m', 5000) }} and tenure_days >= {{ var('level_vip_tenure_days', 365) }} then 'vip'
        when orders_12m >= {{ var('level_gold_orders_12m', 6) }} and spend_12m >= {{ var('level_gold_spend_12m', 1500) }}
             and tenure_days >= {{ var('level_newcomer_days', 90) }} then 'gold'
        when l.customer_id is not null and tenure_days >= {{ var('level_newcomer_days', 90) }} then 'loyal'
        when recency_days < {{ var('level_active_days', 90) }} and tenure_days >= {{ var('level_newcomer_days', 90) }} then 'active'
        when tenure_days < {{ var('level_newcomer_days', 90) }} then 'newcomer'
        when order_count >= 1 then 'lapsed'
        else 'dormant'
    end as tier
from {{ ref('customer_features') }} f
left join {{ ref('seg_loyal') }} l using (customer_id)
