-- target_provinces (segments/geographic.yaml): Lives in one of the provinces/states a regional campaign targets (var target_provinces).
select customer_id
from {{ ref('customer_features') }}
where province in {{ sql_list(var('target_provinces', ['California', 'Ontario', 'Bavaria'])) }}
