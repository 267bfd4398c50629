-- interest_sports_outdoor (segments/psychographic.yaml): Named sports or outdoor as the main interest.
select customer_id
from {{ ref('customer_features') }}
where interests in {{ sql_list(var('sports_interests', ['sports', 'outdoor'])) }}
