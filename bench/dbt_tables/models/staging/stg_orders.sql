-- orders as of var('as_of'): rows later than as_of are ignored.
select * from read_parquet('{{ var("data") }}/orders.parquet')
where ordered_at < {{ day_after() }}
