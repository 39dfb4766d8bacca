"""Tests of core.db: connecting and introspecting, safe execution, the pre-flight, generated pairs, hostile databases,
your questions.
"""
