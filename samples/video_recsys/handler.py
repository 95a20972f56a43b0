"""The sample's decorated handler: ``recommend(user_id, context)`` over model versions A and B.

Re-exported from ``interleave_sdk.simulation.video_recsys.handler`` (the one definition), so
``--scenario samples.video_recsys.handler:scenario`` and the packaged default run the same app.
"""

from interleave_sdk.simulation.video_recsys.handler import VideoScenario, make_handler, scenario

__all__ = ["VideoScenario", "make_handler", "scenario"]
