-- warm_climate (segments/geographic.yaml): Lives in a warm climate zone (var warm_climates) — summer ranges all year.
select customer_id
from {{ ref('customer_features') }}
where climate_zone in {{ sql_list(var('warm_climates', ['tropical', 'subtropical', 'arid', 'mediterranean'])) }}
