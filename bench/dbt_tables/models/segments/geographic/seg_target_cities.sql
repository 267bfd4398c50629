-- target_cities (segments/geographic.yaml): Lives in one of the cities a local campaign or store opening targets (var target_cities).
select customer_id
from {{ ref('customer_features') }}
where city in {{ sql_list(var('target_cities', ['New York', 'Toronto', 'London'])) }}
