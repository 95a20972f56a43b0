"""The two-tower video host as a sample: PostgreSQL + pgvector, two user-tower versions as arms.

``world`` generates the data from a seed, ``db`` loads it and counts every round trip, ``towers``
holds the arms (full and streaming) and the shared stage, ``app`` decorates the handler, ``loop``
plays users' like/nope decisions back into ``user_video_decisions``; ``demo.py`` runs the story.
"""
