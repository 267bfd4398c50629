-- This as_of's memberships, appended to the history; a rerun of the same as_of replaces that
-- day's rows (incremental, delete+insert on as_of).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='as_of') }}
select {{ as_of() }} as as_of, customer_id, segment::varchar as segment
from {{ ref('segment_members') }}
