-- campaign_events as of var('as_of'): rows later than as_of are ignored.
select * from read_parquet('{{ var("data") }}/campaign_events.parquet')
where sent_at < {{ day_after() }}
