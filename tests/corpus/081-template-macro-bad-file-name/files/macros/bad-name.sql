{% macro big(x) %}{{ x }} > 10{% endmacro %}
