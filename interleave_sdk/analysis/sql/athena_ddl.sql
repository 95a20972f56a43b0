-- Athena (engine v3) setup for the ranking logs that CloudWatch Logs -> Firehose -> S3 delivers.
-- Firehose must decompress the CloudWatch records and extract the message, with a newline between
-- records, so each S3 object holds the SDK's JSON lines unchanged. Placeholders: {database},
-- {table}, {location} (the Firehose prefix, ending in /), {first_day} (yyyy/MM/dd).
-- Four statements, to be run one at a time (Athena takes one statement per query):
-- interleave_sdk.analysis.sql.athena_ddl() fills the placeholders and returns them as a list.
-- dt is the day Firehose delivered the record (its default yyyy/MM/dd/ prefix, in UTC; the hour
-- folders below a day belong to it), projected so that no MSCK REPAIR or crawler is needed. It is
-- the delivery day, not the exposure day: a line logged just before midnight can land in the
-- next day's partition, so a dt range should be one day wider than the exposure times it covers.
-- A condition on dt prunes partitions (Athena bills only the data it scans) when it reaches the
-- table scan: on the table and on the {table}_log view it does. The {table}_rankings view carries
-- dt and experiment too, but its deduplication window stops a dt condition before the scan, so
-- filter dt on {table}_log (or let `interleave-sdk analyze --engine athena` do it) for large
-- tables; {table}_exposure_items joins to {table}_rankings on ranking_id for them.
-- method and k (the interleaving method that produced the list and its length) are declared as
-- text, the type the analysis reads them as, for the credit of optimized and multileaved lists.
-- Each item's ranks are a map from arm name to rank: any number of arms, named anything. The
-- SerDe is case-sensitive because its case-insensitive mode lowercases map keys, that is the arms'
-- names (the SDK's field names are lowercase, and its EMF members differ from them in letters).
-- Lines that are not JSON read as rows whose every column is NULL ('ignore.malformed.json');
-- rankings.sql then counts them as not interleaved, like objects without a served field.
CREATE EXTERNAL TABLE IF NOT EXISTS {database}.{table} (
    event string,
    ranking_id string,
    experiment string,
    user_id string,
    ts string,
    served string,
    schema_version string,
    method string,
    k string,
    contest_depth string,
    items array<struct<item_id: string, position: int, source_ranker: string,
        ranks: map<string, int>>>
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('ignore.malformed.json' = 'true', 'case.insensitive' = 'false')
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
    experiment,
    user_id,
    ts,
    served,
    schema_version,
    method,
    k,
    contest_depth,
    dt,
    transform(items, i -> i.item_id) AS item_ids,
    transform(items, i -> i.position) AS positions,
    transform(items, i -> i.source_ranker) AS teams,
    transform(items, i -> i.ranks) AS ranks
FROM {database}.{table};

-- The checked, deduplicated rankings of every experiment: rankings.sql over the view above.
CREATE OR REPLACE VIEW {database}.{table}_rankings AS
{rankings_sql};

-- One row per shown item: exposure_items.sql over the view above.
CREATE OR REPLACE VIEW {database}.{table}_exposure_items AS
{exposure_items_sql};
