-- income_low (segments/demographic.yaml): Low income band.
select customer_id
from {{ ref('customer_features') }}
where income_band in {{ sql_list(var('income_low_bands', ['low'])) }}
