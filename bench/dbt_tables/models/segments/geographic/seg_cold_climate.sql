-- cold_climate (segments/geographic.yaml): Lives in a cold-winter climate zone (var cold_climates) — winter ranges.
select customer_id
from {{ ref('customer_features') }}
where climate_zone in {{ sql_list(var('cold_climates', ['continental'])) }}
