-- multi_device (segments/technographic.yaml): Uses two or more device types and no single device reaches the device-first share.
select customer_id
from {{ ref('customer_features') }}
where device_types >= 2 and session_count >= {{ var('device_min_sessions', 3) }}
  and mobile_share < {{ var('device_first_share', 0.6) }} and desktop_share < {{ var('device_first_share', 0.6) }}
