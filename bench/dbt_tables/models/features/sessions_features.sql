-- Visit features per customer (segments/engagement.yaml, technographic.yaml).
select
    customer_id,
    count(*) as session_count,
    count(*) filter (where started_at >= {{ window_start(90, 'day') }}) as sessions_90d,
    (sum(page_views) filter (where started_at >= {{ window_start(90, 'day') }}))::bigint as page_views_90d,
    (sum(clicks) filter (where started_at >= {{ window_start(90, 'day') }}))::bigint as clicks_90d,
    avg(duration_s) / 60.0 as avg_visit_minutes,
    count(*) filter (where device = 'mobile') as mobile_sessions,
    count(*) filter (where device = 'desktop') as desktop_sessions,
    count(distinct device) as device_types
from {{ ref('stg_sessions') }}
group by customer_id
