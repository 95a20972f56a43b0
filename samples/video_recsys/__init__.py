"""The sample video recommender the docs, the demo and the tests use.

Its code lives in ``interleave_sdk.simulation.video_recsys`` so that a pip-installed
``interleave-sdk simulate`` runs it without a checkout; this package is that app under the sample's
path, not a copy (read ``handler.py`` there for the decorated handler).
"""

from interleave_sdk.simulation.video_recsys import (
    Catalogue,
    Ranker,
    RankerSpec,
    Users,
    VideoWorld,
    build_world,
)

__all__ = ["Catalogue", "Ranker", "RankerSpec", "Users", "VideoWorld", "build_world"]
