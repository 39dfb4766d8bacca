"""Tests of core.pairgen: pairs generated from a database (the same bytes for a seed, every SQL runs, the mix people
ask, the words people use).
"""
