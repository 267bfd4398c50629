-- international (segments/geographic.yaml): Lives outside the home-market countries (a known country that is not one of them).
select customer_id
from {{ ref('customer_features') }}
where country is not null and country not in {{ sql_list(var('home_countries', ['US'])) }}
