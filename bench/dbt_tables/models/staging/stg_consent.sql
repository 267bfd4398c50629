-- consent as of var('as_of'): rows later than as_of are ignored.
select * from read_parquet('{{ var("data") }}/consent.parquet')
where updated_at < {{ day_after() }}
