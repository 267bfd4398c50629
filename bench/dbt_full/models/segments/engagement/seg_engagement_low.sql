-- engagement_low (segments/engagement.yaml): Little or no recent activity (engagement score below 0.2).
select customer_id
from {{ ref('customer_features') }}
where engagement_score < {{ var('engagement_medium_min', 0.2) }}
