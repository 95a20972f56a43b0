"""A local AWS for the tests: moto's threaded server on a loopback port the OS picks.

boto3 goes through real HTTP, signing and retries against it; dummy credentials (set by the
``aws_env`` fixture in tests/conftest.py) keep any real account out of reach.
"""

from __future__ import annotations

from typing import Any

import moto.athena.urls
from moto.server import ThreadedMotoServer

from interleave_sdk.config.ssm import make_client

REGION = "us-east-1"

# botocore speaks Athena either as JSON-RPC (``POST /`` with an ``X-Amz-Target`` header, before
# 1.44.x) or as rest-json (``POST /query-executions`` and so on, since). moto routes an operation
# from its botocore model whichever form arrives, but its server only registers Athena's ``/`` path
# and answers every other path with an HTML 404. Registering every path for the Athena handler lets
# either botocore reach it, so the tests do not depend on which protocol the installed botocore uses.
_ATHENA_ANY_PATH = "{0}/.*$"


def moto_server() -> ThreadedMotoServer:
    """moto's threaded server on 127.0.0.1 and a port the OS picks, speaking both Athena protocols."""
    paths = moto.athena.urls.url_paths
    paths.setdefault(_ATHENA_ANY_PATH, paths["{0}/$"])
    return ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)


class LocalSSM:
    """moto's threaded server on 127.0.0.1 and a port the OS picks (port 0), warmed up."""

    def __init__(self) -> None:
        self._server = moto_server()
        self._server.start()
        self._running = True
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self._admin: Any = None
        # moto builds its SSM backend on the first request, which can take longer than the SDK's
        # 1 s read timeout; pay that once here with a patient client.
        self.admin().describe_parameters(MaxResults=1)

    def admin(self) -> Any:
        """A client with ordinary timeouts for arranging parameters (built once: ~0.2 s each)."""
        if self._admin is None:
            self._admin = make_client(
                region=REGION, endpoint_url=self.url, read_timeout=30, max_attempts=1
            )
        return self._admin

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._server.stop()


def put(admin: Any, values: dict[str, str], prefix: str = "/reco/exp") -> None:
    for key, value in values.items():
        admin.put_parameter(Name=f"{prefix}/{key}", Value=value, Type="String", Overwrite=True)
