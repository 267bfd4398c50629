-- carts as of var('as_of'): rows later than as_of are ignored.
select * from read_parquet('{{ var("data") }}/carts.parquet')
where created_at < {{ day_after() }}
