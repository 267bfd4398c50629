select customer_id, case
    when spend_12m >= 5000 then 'vip'
    when spend_12m >= 1500 and orders_12m >= 6 then 'gold'
    when spend_12m >= 500 then 'silver'
    else 'bronze' end as tier
from {{ ref('features') }}
