-- engagement_high (segments/engagement.yaml): Visits, clicks, responds and orders a lot (engagement score at least 0.5).
select customer_id
from {{ ref('customer_features') }}
where engagement_score >= {{ var('engagement_high_min', 0.5) }}
