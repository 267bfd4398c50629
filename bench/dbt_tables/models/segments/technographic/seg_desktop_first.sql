-- desktop_first (segments/technographic.yaml): At least 60% of visits from a computer.
select customer_id
from {{ ref('customer_features') }}
where desktop_share >= {{ var('device_first_share', 0.6) }} and session_count >= {{ var('device_min_sessions', 3) }}
