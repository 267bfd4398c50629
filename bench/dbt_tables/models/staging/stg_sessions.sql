-- sessions as of var('as_of'): rows later than as_of are ignored.
select * from read_parquet('{{ var("data") }}/sessions.parquet')
where started_at < {{ day_after() }}
