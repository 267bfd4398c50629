{#- The as_of date and the first instant after it (every time cut is "< day_after"). -#}
{% macro as_of() -%}
date '{{ var("as_of") }}'
{%- endmacro %}

{% macro day_after() -%}
(date '{{ var("as_of") }}' + interval 1 day)
{%- endmacro %}

{#- First instant of a window of whole days/months ending on as_of, e.g. window_start(90, 'day'). -#}
{% macro window_start(n, unit) -%}
({{ day_after() }} - interval {{ n }} {{ unit }})
{%- endmacro %}

{#- A list var as an SQL list for IN: ['US', 'CA'] -> ('US', 'CA'). -#}
{% macro sql_list(values) -%}
({% for v in values %}{% if not loop.first %}, {% endif %}'{{ v | replace("'", "''") }}'{% endfor %})
{%- endmacro %}

{#- Month-day windows such as [['11-23', '12-31']] as a condition on a timestamp column; a window
    whose start comes after its end (['12-20', '01-06']) crosses the year end. -#}
{% macro in_windows(column, windows) -%}
({% for w in windows %}{% if not loop.first %} OR {% endif %}{% if w[0] <= w[1] %}strftime({{ column }}, '%m-%d') BETWEEN '{{ w[0] }}' AND '{{ w[1] }}'{% else %}(strftime({{ column }}, '%m-%d') >= '{{ w[0] }}' OR strftime({{ column }}, '%m-%d') <= '{{ w[1] }}'){% endif %}{% endfor %})
{%- endmacro %}
