"""Create the Athena table and views over the ranking logs that Firehose writes to S3 (run once).

Usage: python samples/athena_setup.py DATABASE TABLE LOGS OUTPUT
  LOGS    the Firehose prefix holding the JSON lines, e.g. s3://my-bucket/rankings/
  OUTPUT  an S3 prefix for Athena's query results, e.g. s3://my-athena-results/setup/
The AWS region and credentials come from the usual environment (AWS_REGION, a profile, a role).
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone

from interleave_sdk.analysis.athena import AthenaEngine


def main(database: str, table: str, logs: str, output: str) -> None:
    engine = AthenaEngine(database=database, table=table, output=output)
    first_day = datetime.now(timezone.utc).strftime("%Y/%m/%d")  # the first day logs can exist
    for query_id in engine.create_table(location=logs, first_day=first_day):
        print(query_id)


if __name__ == "__main__":
    main(*sys.argv[1:5])
