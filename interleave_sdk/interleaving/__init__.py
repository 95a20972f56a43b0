"""Interleaving methods; :mod:`.api` is the only way in."""

from .api import Interleaving, Method, available_methods, get_method, interleave, register, unregister

__all__ = [
    "Interleaving",
    "Method",
    "available_methods",
    "get_method",
    "interleave",
    "register",
    "unregister",
]
