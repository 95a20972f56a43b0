"""Interleaving methods side by side: optimized for two arms, Team Draft multileaving for more.

Run from the repository root: python samples/interleaving_methods.py
"""

import random

from interleave_sdk.interleaving import interleave, reproduce
from interleave_sdk.interleaving.optimized import OptimizedInterleaver, warm_up

# Load the LP solver at start-up (a Lambda's init phase), not inside the first request.
assert warm_up(), "pip install 'interleave-sdk[optimized]'"

a = ["v1", "v2", "v3", "v4", "v5"]
b = ["v3", "v6", "v1", "v7", "v8"]

# A host with latency room solves cold patterns with a larger budget, under its own name
# (register it before the config naming it is read).
roomy = OptimizedInterleaver("optimized_roomy_v1", time_budget_ms=100).register()

drawn = interleave("optimized_roomy_v1", {"A": a, "B": b}, 5, random.Random(7))
print(drawn.method, drawn.items, drawn.teams)
print(drawn.detail)

# What the log keeps (method, detail, seed) rebuilds the list, with no solver involved.
again = reproduce(drawn.method, {"A": a, "B": b}, 5, random.Random(7), drawn.detail)
assert again.items == drawn.items

# Three arms or more: team_draft_v1 multileaves; optimized falls back to it and says why.
c = ["v9", "v2", "v10", "v11", "v12"]
three = interleave("optimized_v1", {"A": a, "B": b, "C": c}, 6, random.Random(7))
print(three.method, three.teams, three.detail)
