{% macro big(x) %}{{ x }} > {{ limit }}{% endmacro %}
