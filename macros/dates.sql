{#- Date helpers shared by definitions; use as {{ dates.in_windows('ordered_at', var('holiday_windows')) }}. -#}
{#- Windows are month-day pairs ('11-23', '12-31'); compared as numbers month * 100 + day (1123..1231),
    which DuckDB computes far faster per row than formatting the date as text. A window whose start
    comes after its end ('12-20', '01-06') crosses the year end: it holds from the start to
    31 December and from 1 January to the end. -#}
{% macro in_windows(column, windows) -%}
{%- set md = "(month(" ~ column ~ ") * 100 + day(" ~ column ~ "))" -%}
({% for w in windows %}{% if not loop.first %} OR {% endif %}{% if w[0] <= w[1] %}{{ md | safe }} BETWEEN CAST(replace({{ w[0] }}, '-', '') AS INTEGER) AND CAST(replace({{ w[1] }}, '-', '') AS INTEGER){% else %}({{ md | safe }} >= CAST(replace({{ w[0] }}, '-', '') AS INTEGER) OR {{ md | safe }} <= CAST(replace({{ w[1] }}, '-', '') AS INTEGER)){% endif %}{% endfor %})
{%- endmacro %}


{#- True inside the shared windows, or inside a holiday of the calendar (see macros/holidays.sql) for a row whose
    country_column holds that holiday's country. An empty calendar does not read country_column. -#}
{% macro in_holidays(column, country_column, windows, calendar) -%}
({% if windows %}{{ in_windows(column, windows) }}{% else %}FALSE{% endif %}
{%- for h in calendar %} OR ({{ country_column | safe }} = {{ h.country }} AND {{ in_windows(column, [h.window]) }}){% endfor %})
{%- endmacro %}
