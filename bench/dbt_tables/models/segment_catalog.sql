-- Every defined segment with its size and share of all customers (segmenter's catalog reduced to
-- these columns: no descriptions, tags or hashes).
with
defs as (select unnest({{ all_segment_names() }}) as name),
sizes as (select segment::varchar as name, count(*) as size from {{ ref('segment_members') }} group by segment),
total as (select count(*) as n from {{ ref('customer_features') }})
select name, coalesce(size, 0) as size,
       case when n = 0 then 0 else round(coalesce(size, 0) / n, 4) end as share
from defs left join sizes using (name), total
