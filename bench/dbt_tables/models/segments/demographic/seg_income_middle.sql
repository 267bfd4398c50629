-- income_middle (segments/demographic.yaml): Middle income band.
select customer_id
from {{ ref('customer_features') }}
where income_band in {{ sql_list(var('income_middle_bands', ['middle'])) }}
