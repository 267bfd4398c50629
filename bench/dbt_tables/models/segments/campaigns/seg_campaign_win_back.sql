-- campaign_win_back (segments/campaigns.yaml): Lapsed buyers worth winning back — inactive, with more than one order or above-median spend.
-- One exclusive group with campaign_retain (higher priority) and campaign_encourage (lower).
select f.customer_id
from {{ ref('customer_features') }} f
join {{ ref('seg_inactive') }} using (customer_id)
cross join {{ ref('population_stats') }} s
where f.order_count >= 2 or f.total_spent >= s.median_total_spent
except
select customer_id from {{ ref('seg_campaign_retain') }}
