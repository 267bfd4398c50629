-- Order features per customer (segments/features.yaml), one grouped scan.
select
    customer_id,
    count(*) as order_count,
    sum(amount)::decimal(18,2) as total_spent,  -- money as the library declares it
    date_diff('day', max(ordered_at), {{ as_of() }}) as recency_days,
    date_diff('day', min(ordered_at), {{ as_of() }}) as first_order_days,
    date_diff('day', min(ordered_at), max(ordered_at)) as active_span_days,
    count(*) filter (where ordered_at >= {{ window_start(12, 'month') }}) as orders_12m,
    (sum(amount) filter (where ordered_at >= {{ window_start(12, 'month') }}))::decimal(18,2) as spend_12m,
    count(*) filter (where ordered_at >= {{ window_start(90, 'day') }}) as orders_90d,
    count(*) filter (where coupon_code is not null) as coupon_orders,
    count(distinct date_trunc('month', ordered_at)) as order_months,
    date_diff('month', min(ordered_at), max(ordered_at)) + 1 as order_span_months,
    -- the shared holiday windows, or a holiday of the order's ship country
    (sum(amount) filter (where {{ in_holidays('ordered_at', 'ship_country', var('holiday_windows', [['11-23', '12-31']]),
                                             var('holiday_calendar', holiday_calendar()) + var('holiday_calendar_extra', [])) }}))::decimal(18,2) as holiday_spend
from {{ ref('stg_orders') }}
group by customer_id
