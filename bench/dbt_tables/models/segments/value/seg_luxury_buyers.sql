-- luxury_buyers (segments/value.yaml): An exclusive list for luxury buyers — an average order above var luxury_aov (about the top 1% of the sample).
select customer_id
from {{ ref('customer_features') }}
where aov > {{ var('luxury_aov', 700) }}
