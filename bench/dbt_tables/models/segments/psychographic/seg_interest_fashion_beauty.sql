-- interest_fashion_beauty (segments/psychographic.yaml): Named fashion or beauty as the main interest.
select customer_id
from {{ ref('customer_features') }}
where interests in {{ sql_list(var('fashion_interests', ['fashion', 'beauty'])) }}
