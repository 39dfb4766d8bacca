"""Tests of core.tracking: the embedded MLflow server, what the studio asks of it, and its outages."""
