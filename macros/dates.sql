{#- Date helpers shared by definitions; use as {{ dates.in_windows('ordered_at', var('holiday_windows')) }}. -#}
{#- Windows are month-day pairs ('11-24', '12-31'); compared as numbers month * 100 + day (1124..1231),
    which DuckDB computes far faster per row than formatting the date as text. -#}
{% macro in_windows(column, windows) -%}
({% for w in windows %}{% if not loop.first %} OR {% endif %}(month({{ column | safe }}) * 100 + day({{ column | safe }})) BETWEEN CAST(replace({{ w[0] }}, '-', '') AS INTEGER) AND CAST(replace({{ w[1] }}, '-', '') AS INTEGER){% endfor %})
{%- endmacro %}
