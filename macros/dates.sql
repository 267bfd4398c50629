{#- Date helpers shared by definitions; use as {{ dates.in_windows('ordered_at', var('holiday_windows')) }}. -#}
{% macro in_windows(column, windows) -%}
({% for w in windows %}{% if not loop.first %} OR {% endif %}strftime({{ column | safe }}, '%m-%d') BETWEEN {{ w[0] }} AND {{ w[1] }}{% endfor %})
{%- endmacro %}
