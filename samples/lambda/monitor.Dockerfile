# The quality monitor (monitor.py) as a container image on the AWS Lambda Python base image.
# Build context: the repository root, e.g.
#   docker build -f samples/lambda/monitor.Dockerfile -t reco-quality-monitor .
FROM public.ecr.aws/lambda/python:3.12

# The SDK with the statistics' SciPy; the analysis runs on Athena, so DuckDB is not needed.
COPY setup.cfg pyproject.toml README.md LICENSE /tmp/interleave-sdk/
COPY interleave_sdk /tmp/interleave-sdk/interleave_sdk
RUN pip install --no-cache-dir /tmp/interleave-sdk "scipy>=1.10" && rm -rf /tmp/interleave-sdk

COPY samples/lambda/monitor.py ${LAMBDA_TASK_ROOT}/

CMD ["monitor.handler"]
