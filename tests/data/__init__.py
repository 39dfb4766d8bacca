"""Tests of core.data: loading pairs, validation, ChatML rendering, hostile uploads."""
