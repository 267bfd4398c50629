-- income_high (segments/demographic.yaml): High and very high income bands.
select customer_id
from {{ ref('customer_features') }}
where income_band in {{ sql_list(var('income_high_bands', ['high', 'very_high'])) }}
