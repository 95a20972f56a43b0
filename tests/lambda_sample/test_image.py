"""The Lambda image, built without Docker: the Dockerfile's own steps into an empty folder.

The image cannot be built on the test machines (no Docker), so this test carries out what the
Dockerfile says: each ``COPY`` copies the same files, each ``RUN pip install`` installs the same
requirement with the same installer options into the folder (``--target``; from the installer's
cache when it holds the wheels, from the package index otherwise, as the image build would), and
the ``CMD`` handler is then invoked by a fresh interpreter that sees only
that folder and the standard library (``-I -S``), against SSM over HTTP. A file the Dockerfile
forgets to copy, or a dependency the package forgets to declare, fails here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..conftest import ROOT
from ..local_aws import REGION, put
from .conftest import rest_event

DOCKERFILE = ROOT / "samples" / "lambda" / "Dockerfile"
#: What the Lambda base image sets; the runtime imports the handler module from here.
TASK_ROOT = "/var/task"
#: pip's options that only concern its cache or output, not what is installed.
_CACHE_ONLY = {"--no-cache-dir", "--quiet", "-q", "--disable-pip-version-check"}


def steps(text: str) -> list[tuple[str, str]]:
    """(instruction, arguments) of each line, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            found.append((instruction.upper(), rest.strip()))
    return found


class Image:
    """A folder standing for the image's file system; absolute image paths map under it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {"LAMBDA_TASK_ROOT": TASK_ROOT}
        self.site = root / "site-packages"  # where pip's installs go (--target)
        self.site.mkdir(parents=True)

    def path(self, image_path: str) -> Path:
        expanded = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: self.env[m[1] or m[2]], image_path)
        return self.root / expanded.lstrip("/")

    def copy(self, arguments: str) -> None:
        *sources, destination = shlex.split(arguments)
        target = self.path(destination)
        into_folder = destination.endswith("/")  # Docker: a trailing slash copies into it
        if into_folder:
            target.mkdir(parents=True, exist_ok=True)
        for source in sources:
            origin = ROOT / source
            if origin.is_dir():
                shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(origin, target / origin.name if into_folder else target)

    def run(self, arguments: str) -> None:
        for command in arguments.split("&&"):
            words = shlex.split(command)
            if words[:2] == ["pip", "install"]:
                self.pip_install(words[2:])
            elif words[:2] == ["rm", "-rf"]:
                for path in words[2:]:
                    shutil.rmtree(self.path(path))
            else:
                raise AssertionError(f"the test does not know how to carry out RUN {command!r}")

    def pip_install(self, options: list[str]) -> None:
        """The same requirement and options, installed into the folder (cache first, then the index:
        a fresh machine has an empty cache, so the test must not be offline)."""
        kept = [self.image_argument(o) for o in options if o not in _CACHE_ONLY]
        uv = Path(sys.executable).with_name("uv")
        subprocess.run(
            [str(uv), "pip", "install", "--python", sys.executable, "--target", str(self.site),
             "--quiet", *kept],
            check=True, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    def image_argument(self, word: str) -> str:
        return str(self.path(word)) if word.startswith(("/", "$")) else word


def build(folder: Path) -> tuple[Image, str]:
    """The folder after every COPY and RUN of the Dockerfile, and the CMD's handler."""
    image = Image(folder)
    handler = None
    for instruction, arguments in steps(DOCKERFILE.read_text()):
        if instruction == "COPY":
            image.copy(arguments)
        elif instruction == "RUN":
            image.run(arguments)
        elif instruction == "CMD":
            (handler,) = json.loads(arguments)
        elif instruction != "FROM":
            raise AssertionError(f"the test does not carry out {instruction}")
    assert handler is not None, "the Dockerfile has no CMD"
    return image, handler


_INVOKE = """
import importlib, json, sys
module, _, name = sys.argv[1].rpartition(".")
handler = getattr(importlib.import_module(module), name)
context = type("Context", (), {"aws_request_id": "r-1", "function_name": "reco-recommend"})()
print("RESPONSE " + json.dumps(handler(json.loads(sys.argv[2]), context)))
"""


@pytest.mark.slow
def test_the_image_steps_give_a_working_handler(tmp_path: Path, admin: Any, ssm_url: str) -> None:
    """The Dockerfile's files and install, alone on the path, answer a request with SSM's switches."""
    image, handler = build(tmp_path / "image")
    assert not image.path("/tmp/interleave-sdk").exists()  # the RUN removed the source copy
    put(admin, {"mode": "B"})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON", "INTERLEAVE_SDK_"))}
    env.update(
        AWS_REGION=REGION,  # Lambda sets it (and AWS_DEFAULT_REGION); the SDK reads either
        AWS_ENDPOINT_URL=ssm_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=str(tmp_path / "absent"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "absent"),
    )
    # The task root and the installed packages on sys.path, as the Lambda runtime puts them.
    bootstrap = f"import sys; sys.path[:0] = {[str(image.path(TASK_ROOT)), str(image.site)]!r}\n"
    event = rest_event("/recommend", "u1")
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", bootstrap + _INVOKE, handler, json.dumps(event)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    response = json.loads(next(line for line in lines if line.startswith("RESPONSE "))[9:])
    ranking = [json.loads(line) for line in lines if line.startswith("{")]
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert {item["source_ranker"] for item in body["items"]} == {"B"}
    assert len(ranking) == 1 and ranking[0]["served"] == "B" and ranking[0]["fallback_reason"] is None
    assert ranking[0]["config"]["source"] == "cache"  # read during init by prefetch, not on the request


def test_the_interpreter_sees_only_the_image(tmp_path: Path) -> None:
    """The control: with -I -S and nothing added, the SDK is not importable (no venv leaks in)."""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", "import interleave_sdk"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "No module named 'interleave_sdk'" in result.stderr
