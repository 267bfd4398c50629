-- The published memberships (customer_id, segment): every rule segment (one view per segment,
-- segments/), the rfm_<label> and the rfm_club_<label> segments. segment is an ENUM of every
-- segment name in alphabetical order, as segmenter publishes it.
{%- set segments = rule_segments() %}
select customer_id, cast(segment as {{ segment_enum() }}) as segment
from (
{%- for s in segments %}
    select customer_id, '{{ s }}' as segment from {{ ref('seg_' ~ s) }}
    union all
{%- endfor %}
    select customer_id, 'rfm_' || label as segment from {{ ref('rfm_scores') }} where label is not null
    union all
    select customer_id, 'rfm_club_' || label as segment from {{ ref('rfm_club_scores') }} where label is not null
)
