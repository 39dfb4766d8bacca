"""Tests of core.evaluate: execution-match metrics, the schema check, base vs adapter evaluation."""
