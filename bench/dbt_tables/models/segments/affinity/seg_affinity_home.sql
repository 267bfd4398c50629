-- affinity_home (segments/affinity.yaml): Home is the top category with at least 40% of lines.
select customer_id
from {{ ref('customer_features') }}
where top_category = 'home' and top_category_share >= {{ var('category_affinity_share', 0.4) }}
