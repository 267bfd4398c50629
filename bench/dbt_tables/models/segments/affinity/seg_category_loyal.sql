-- category_loyal (segments/affinity.yaml): At least half of all order lines in one category (and at least 4 lines).
select customer_id
from {{ ref('customer_features') }}
where top_category_share >= {{ var('category_loyal_share', 0.5) }} and item_lines >= {{ var('category_min_lines', 4) }}
