-- interest_home_living (segments/psychographic.yaml): Named home or cooking as the main interest.
select customer_id
from {{ ref('customer_features') }}
where interests in {{ sql_list(var('home_interests', ['home', 'cooking'])) }}
