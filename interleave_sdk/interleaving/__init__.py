"""Interleaving methods; :mod:`.api` is the only way in (:mod:`.lazy` for streaming arms)."""

from .api import (
    Interleaving,
    Method,
    Ranking,
    available_methods,
    get_method,
    interleave,
    register,
    register_rebuild,
    reproduce,
    unregister,
)
from .lazy import LazyRanking

__all__ = [
    "Interleaving",
    "LazyRanking",
    "Method",
    "Ranking",
    "available_methods",
    "get_method",
    "interleave",
    "register",
    "register_rebuild",
    "reproduce",
    "unregister",
]
