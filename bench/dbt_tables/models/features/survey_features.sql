-- Survey answers (segments/psychographic.yaml); NULL for customers who did not answer.
select
    customer_id,
    max(price_sensitivity) as price_sensitivity,
    max(interests) as interests,
    max(lifestyle) as lifestyle,
    max(household_size) as household_size
from {{ ref('stg_survey') }}
group by customer_id
