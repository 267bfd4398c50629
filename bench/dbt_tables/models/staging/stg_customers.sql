-- customers as of var('as_of'): rows later than as_of are ignored.
select * from read_parquet('{{ var("data") }}/customers.parquet')
where signup_date < {{ day_after() }}
