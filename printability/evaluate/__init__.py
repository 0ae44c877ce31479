"""Evaluation: metrics (and, later, plots, reports and the rule-based baseline)."""
