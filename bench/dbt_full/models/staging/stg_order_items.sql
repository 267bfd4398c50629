-- order_items has no time column: read whole.
select * from read_parquet('{{ var("data") }}/order_items.parquet')
