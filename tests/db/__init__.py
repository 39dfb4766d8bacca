"""Tests of core.db: connecting, introspecting, safe execution, the pre-flight, hostile databases, your questions."""
