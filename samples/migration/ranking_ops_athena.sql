-- The ranking log as the table ranking_ops that the migration queries read, in Athena (engine v3),
-- over the objects the sample's Firehose stream writes ({location}: the stack output
-- RankingLogLocation; {database}; {first_day}: yyyy/MM/dd of the first delivery). Only the
-- operational fields, in a table of its own beside the analysis's table over the same objects
-- (interleave_sdk.analysis.sql.athena_ddl(), whose default name is ranking_log).
-- dt is the day Firehose delivered a line (UTC), projected so no partition needs adding.
-- Its LOCATION and TBLPROPERTIES are the analysis table's, so both read the same objects and days.
CREATE EXTERNAL TABLE IF NOT EXISTS {database}.ranking_ops (
    event string,
    ts string,
    ranking_id string,
    experiment string,
    user_id string,
    mode string,
    served string,
    pinned string,
    in_sample boolean,
    sampling_rate double,
    fallback_reason string
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('ignore.malformed.json' = 'true')
LOCATION '{location}'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy/MM/dd',
    'projection.dt.range' = '{first_day},NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'storage.location.template' = '{location}${dt}/'
)
