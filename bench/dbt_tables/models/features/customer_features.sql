-- One row per customer of the population (customers signed up by as_of), one column per feature,
-- in the columns (names, order, types) that `segmenter run` publishes. Counts are 0 and money
-- sums 0 for customers without rows; other aggregates (the consent opt-outs too) stay NULL.
with joined as (
    select
        c.customer_id,
        i.top_category,
        coalesce(i.top_category_lines, 0) as top_category_lines,
        coalesce(i.item_lines, 0) as item_lines,
        coalesce(k.abandoned_carts_recent, 0) as abandoned_carts_recent,
        k.abandoned_products,
        -- no consent row for a channel: NULL (consent unknown, not contactable)
        n.email_opted_out,
        n.sms_opted_out,
        n.push_opted_out,
        coalesce(s.session_count, 0) as session_count,
        coalesce(s.sessions_90d, 0) as sessions_90d,
        coalesce(s.page_views_90d, 0) as page_views_90d,
        coalesce(s.clicks_90d, 0) as clicks_90d,
        s.avg_visit_minutes,
        coalesce(e.campaigns_sent_90d, 0) as campaigns_sent_90d,
        coalesce(e.campaigns_clicked_90d, 0) as campaigns_clicked_90d,
        date_diff('day', c.signup_date, {{ as_of() }}) as tenure_days,
        date_sub('year', c.birth_date, {{ as_of() }}) as age,
        c.gender, c.country, c.province, c.city, c.area_type, c.climate_zone,
        c.income_band, c.education, c.marital_status, c.occupation,
        coalesce(o.order_count, 0) as order_count,
        coalesce(o.total_spent, 0) as total_spent,
        o.recency_days,
        o.first_order_days,
        o.active_span_days,
        coalesce(o.orders_12m, 0) as orders_12m,
        coalesce(o.spend_12m, 0) as spend_12m,
        coalesce(o.orders_90d, 0) as orders_90d,
        coalesce(o.coupon_orders, 0) as coupon_orders,
        coalesce(o.order_months, 0) as order_months,
        o.order_span_months,
        coalesce(o.holiday_spend, 0) as holiday_spend,
        v.price_sensitivity, v.interests, v.lifestyle, v.household_size,
        coalesce(s.mobile_sessions, 0) as mobile_sessions,
        coalesce(s.desktop_sessions, 0) as desktop_sessions,
        coalesce(s.device_types, 0) as device_types
    from {{ ref('stg_customers') }} c
    left join {{ ref('orders_features') }} o using (customer_id)
    left join {{ ref('sessions_features') }} s using (customer_id)
    left join {{ ref('carts_features') }} k using (customer_id)
    left join {{ ref('campaign_features') }} e using (customer_id)
    left join {{ ref('order_items_features') }} i using (customer_id)
    left join {{ ref('survey_features') }} v using (customer_id)
    left join {{ ref('consent_features') }} n using (customer_id)
),
derived as (
    select *,
        top_category_lines / nullif(item_lines, 0) as top_category_share,
        campaigns_clicked_90d / nullif(campaigns_sent_90d, 0) as response_rate_90d,
        total_spent / nullif(order_count, 0) as aov,
        case when order_count > 0 then total_spent end as buyer_spend,
        coupon_orders / nullif(order_count, 0) as coupon_share,
        order_months / order_span_months as month_coverage,
        -- loyal (segments/behaviour.yaml) as the published feature: more orders than the store
        -- average (and more than 3), and an order in the last year
        order_count > greatest({{ var('loyal_min_orders', 3) }}, (select avg(order_count) from joined))
          and recency_days <= {{ var('loyal_max_recency_days', 365) }} as loyal_buyer,
        holiday_spend / nullif(total_spent, 0) as holiday_share,
        active_span_days / nullif(order_count - 1, 0) as avg_interval_days,
        mobile_sessions / nullif(session_count, 0) as mobile_share,
        desktop_sessions / nullif(session_count, 0) as desktop_share,
        0.3 * least(sessions_90d / {{ var('engagement_full_sessions_90d', 10) }}, 1)
          + 0.2 * least(clicks_90d / {{ var('engagement_full_clicks_90d', 40) }}, 1)
          + 0.2 * coalesce(response_rate_90d, 0)
          + 0.3 * least(orders_90d / {{ var('engagement_full_orders_90d', 2) }}, 1) as engagement_score
    from joined
)
select *,
    -- days since the last order over the customer's usual interval (the store median for
    -- single-order customers)
    recency_days / greatest(coalesce(avg_interval_days, (select median(avg_interval_days) from derived)), 1) as churn_ratio
from derived
