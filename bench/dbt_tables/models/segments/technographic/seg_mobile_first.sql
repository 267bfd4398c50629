-- mobile_first (segments/technographic.yaml): At least 60% of visits from a phone (var device_first_share).
select customer_id
from {{ ref('customer_features') }}
where mobile_share >= {{ var('device_first_share', 0.6) }} and session_count >= {{ var('device_min_sessions', 3) }}
