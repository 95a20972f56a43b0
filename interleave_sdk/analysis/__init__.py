"""From ranking logs and feedback to a verdict: attribution, credit, statistics, reports."""
