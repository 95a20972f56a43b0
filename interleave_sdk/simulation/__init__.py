"""Simulated users and click models that drive the real SDK path to measure sensitivity."""
