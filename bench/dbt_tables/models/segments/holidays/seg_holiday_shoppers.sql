-- holiday_shoppers (segments/holidays.yaml): At least half of lifetime spend inside the holiday windows.
select customer_id
from {{ ref('customer_features') }}
where holiday_share >= {{ var('holiday_shopper_share', 0.5) }}
