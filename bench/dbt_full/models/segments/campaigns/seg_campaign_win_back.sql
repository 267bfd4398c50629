-- campaign_win_back (segments/campaigns.yaml): Lapsed buyers worth winning back — inactive, with more than one order or above-median spend.
select f.customer_id
from {{ ref('customer_features') }} f
join {{ ref('seg_inactive') }} using (customer_id)
cross join {{ ref('population_stats') }} s
where f.order_count >= 2 or f.total_spent >= s.median_total_spent
