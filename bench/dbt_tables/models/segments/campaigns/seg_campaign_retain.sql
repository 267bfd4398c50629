-- campaign_retain (segments/campaigns.yaml): Loyal or high-value customers to keep happy.
select customer_id from {{ ref('seg_loyal') }}
union
select customer_id from {{ ref('seg_clv_high') }}
