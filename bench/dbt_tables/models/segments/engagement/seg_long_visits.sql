-- long_visits (segments/engagement.yaml): Spends time on each visit — 10 minutes or more on average (var long_visit_minutes) over at least 3 visits (var long_visit_min_sessions).
select customer_id
from {{ ref('customer_features') }}
where avg_visit_minutes >= {{ var('long_visit_minutes', 10) }}
  and session_count >= {{ var('long_visit_min_sessions', 3) }}
