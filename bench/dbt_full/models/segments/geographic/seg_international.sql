-- international (segments/geographic.yaml): Lives outside the home-market countries.
select customer_id
from {{ ref('customer_features') }}
where country not in {{ sql_list(var('home_countries', ['US'])) }}
