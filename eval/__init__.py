"""Eval harness: datasets, metrics, reports."""
