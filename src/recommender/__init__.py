"""Partnership opportunity recommender."""

__version__ = "0.1.0"
