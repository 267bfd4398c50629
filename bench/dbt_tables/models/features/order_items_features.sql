-- Category affinity from order lines (segments/affinity.yaml): lines bought, and the category
-- with the most lines (alphabetically first on a tie; lines without a category are not counted
-- for it) with its line count.
with per_category as (
    select customer_id, category, count(*) as lines
    from {{ ref('stg_order_items') }}
    group by customer_id, category
),
ranked as (
    select *,
           sum(lines) over (partition by customer_id) as item_lines,
           row_number() over (partition by customer_id order by category is null, lines desc, category) as rn
    from per_category
)
select customer_id, item_lines::bigint as item_lines,
       category as top_category,
       case when category is not null then lines end as top_category_lines
from ranked
where rn = 1
