-- Survey answers (segments/psychographic.yaml); NULL for customers who did not answer.
select
    customer_id,
    max(price_sensitivity) as price_sensitivity,
    max(interests) as interests,
    max(lifestyle) as lifestyle
from {{ ref('stg_survey') }}
group by customer_id
