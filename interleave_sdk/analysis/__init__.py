"""From ranking logs and feedback to a verdict: attribution, credit, statistics, reports."""

from .athena import AthenaEngine, FeedbackInPlace
from .credit import CreditRule, available_credit_rules, get_credit_rule
from .filters import ExposureFilter
from .pipeline import AnalysisResult, analyze, attribute
from .sources import PostgresFeedback, load_feedback

__all__ = [
    "AnalysisResult",
    "AthenaEngine",
    "CreditRule",
    "ExposureFilter",
    "FeedbackInPlace",
    "PostgresFeedback",
    "analyze",
    "attribute",
    "available_credit_rules",
    "get_credit_rule",
    "load_feedback",
]
