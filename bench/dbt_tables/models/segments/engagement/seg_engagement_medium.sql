-- engagement_medium (segments/engagement.yaml): Some recent activity (engagement score from 0.2 up to the high band).
select customer_id
from {{ ref('customer_features') }}
where engagement_score >= {{ var('engagement_medium_min', 0.2) }} and engagement_score < {{ var('engagement_high_min', 0.5) }}
