-- order_items as of var('as_of'): lines carry their order's time.
select * from read_parquet('{{ var("data") }}/order_items.parquet')
where ordered_at < {{ day_after() }}
