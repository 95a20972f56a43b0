-- The ranking log as the relation ranking_ops that the migration queries read, in DuckDB, over
-- local JSON lines ({path}: a file or glob, plain or .gz: the handler's output, or objects copied
-- from the Firehose bucket). dt mirrors the Athena partition: the UTC day as yyyy/MM/dd.
CREATE OR REPLACE VIEW ranking_ops AS
SELECT *, replace(substr(ts, 1, 10), '-', '/') AS dt
FROM read_json(
    '{path}',
    format = 'newline_delimited',
    columns = {
        event: 'VARCHAR',
        ts: 'VARCHAR',
        ranking_id: 'VARCHAR',
        experiment: 'VARCHAR',
        user_id: 'VARCHAR',
        mode: 'VARCHAR',
        served: 'VARCHAR',
        pinned: 'VARCHAR',
        in_sample: 'BOOLEAN',
        sampling_rate: 'DOUBLE',
        fallback_reason: 'VARCHAR'
    }
)
