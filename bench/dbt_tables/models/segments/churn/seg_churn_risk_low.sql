-- churn_risk_low (segments/churn.yaml): Ordering on their usual rhythm (less than 1.5 intervals since the last order).
select customer_id
from {{ ref('customer_features') }}
where churn_ratio < {{ var('churn_medium_ratio', 1.5) }}
