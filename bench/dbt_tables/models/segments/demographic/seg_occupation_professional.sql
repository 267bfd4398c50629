-- occupation_professional (segments/demographic.yaml): Professionals and managers (var professional_occupations).
select customer_id
from {{ ref('customer_features') }}
where occupation in {{ sql_list(var('professional_occupations', ['professional', 'manager'])) }}
