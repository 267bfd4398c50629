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

{#- Holidays of one country (macros/holidays.sql in the library): counted for the orders shipped
    to that country, on top of the windows every customer shares. -#}
{% macro holiday_calendar() -%}
{{ return([
    {'country': 'US', 'name': 'Independence Day', 'window': ['07-01', '07-04']},
    {'country': 'CA', 'name': 'Canada Day', 'window': ['06-28', '07-01']},
    {'country': 'GB', 'name': 'January sales after Boxing Day', 'window': ['12-26', '01-03']},
    {'country': 'AU', 'name': 'Boxing Day and summer sales', 'window': ['12-26', '01-10']},
    {'country': 'ES', 'name': 'Three Kings (Reyes)', 'window': ['01-02', '01-06']},
    {'country': 'DE', 'name': 'Summer sale (Sommerschlussverkauf)', 'window': ['07-25', '08-05']},
]) }}
{%- endmacro %}

{#- Inside the shared windows, or inside a holiday of the calendar for a row whose country_column
    holds that holiday's country. -#}
{% macro in_holidays(column, country_column, windows, calendar) -%}
({% if windows %}{{ in_windows(column, windows) }}{% else %}false{% endif %}
{%- for h in calendar %} or ({{ country_column }} = '{{ h.country }}' and {{ in_windows(column, [h.window]) }}){% endfor %})
{%- endmacro %}
