-- home_market (segments/geographic.yaml): Lives in one of the home-market countries (var home_countries).
select customer_id
from {{ ref('customer_features') }}
where country in {{ sql_list(var('home_countries', ['US'])) }}
