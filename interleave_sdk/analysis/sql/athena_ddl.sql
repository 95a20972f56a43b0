-- Athena (engine v3) setup for the ranking logs that CloudWatch Logs -> Firehose -> S3 delivers.
-- Firehose must decompress the CloudWatch records and extract the message, with a newline between
-- records, so each S3 object holds the SDK's JSON lines unchanged. Placeholders: {database},
-- {table}, {location} (the Firehose prefix, ending in /), {first_day} (yyyy/MM/dd).
-- The dt partition is projected onto the yyyy/MM/dd/ prefix that Firehose writes by default (the
-- hour folders below a day belong to it), so no MSCK REPAIR is needed. Fill the placeholders
-- with interleave_sdk.analysis.sql.athena_ddl(); malformed lines read as all-NULL rows, which
-- rankings.sql reports as invalid.
CREATE EXTERNAL TABLE IF NOT EXISTS {database}.{table} (
    event string,
    ranking_id string,
    user_id string,
    ts string,
    served string,
    items array<struct<item_id: string, position: int, source_ranker: string,
        ranks: struct<a: int, b: int>>>,
    method string,
    k string
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('ignore.malformed.json' = 'true', 'case.insensitive' = 'true')
LOCATION '{location}'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'projection.dt.type' = 'date',
    'projection.dt.format' = 'yyyy/MM/dd',
    'projection.dt.range' = '{first_day},NOW',
    'projection.dt.interval' = '1',
    'projection.dt.interval.unit' = 'DAYS',
    'storage.location.template' = '{location}${dt}/'
);

-- The reader: the items as parallel arrays, the shape rankings.sql expects from every engine.
CREATE OR REPLACE VIEW {database}.{table}_log AS
SELECT
    event,
    ranking_id,
    user_id,
    ts,
    served,
    transform(items, i -> i.item_id) AS item_ids,
    transform(items, i -> i.position) AS positions,
    transform(items, i -> i.source_ranker) AS teams,
    transform(items, i -> i.ranks.a) AS ranks_a,
    transform(items, i -> i.ranks.b) AS ranks_b,
    method,
    k
FROM {database}.{table};

-- The checked, deduplicated rankings: rankings.sql over the view above.
CREATE OR REPLACE VIEW {database}.{table}_rankings AS
{rankings_sql};

-- One row per shown item: exposure_items.sql over the view above.
CREATE OR REPLACE VIEW {database}.{table}_exposure_items AS
{exposure_items_sql};
