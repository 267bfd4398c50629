-- survey has no time column: read whole.
select * from read_parquet('{{ var("data") }}/survey.parquet')
