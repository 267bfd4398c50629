{#- Holidays of one country, used by the holiday_spend feature for the orders shipped to that country
    (on top of the holiday_windows every customer shares). A project adds its own with
    vars: { holiday_calendar_extra: [{ country: US, name: Memorial Day, window: ['05-24', '05-31'] }] }
    or replaces this list with vars: { holiday_calendar: [...] }. A window is a month-day pair as in
    holiday_windows; one whose start comes after its end crosses the year end. -#}
{%- set calendar = [
    {'country': 'US', 'name': 'Independence Day', 'window': ['07-01', '07-04']},
    {'country': 'CA', 'name': 'Canada Day', 'window': ['06-28', '07-01']},
    {'country': 'GB', 'name': 'January sales after Boxing Day', 'window': ['12-26', '01-03']},
    {'country': 'AU', 'name': 'Boxing Day and summer sales', 'window': ['12-26', '01-10']},
    {'country': 'ES', 'name': 'Three Kings (Reyes)', 'window': ['01-02', '01-06']},
    {'country': 'DE', 'name': 'Summer sale (Sommerschlussverkauf)', 'window': ['07-25', '08-05']},
] -%}
