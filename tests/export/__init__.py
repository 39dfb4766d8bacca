"""Tests of core.export: the exports (zip, merged, GGUF, Ollama), the GGUF converter's set-up, the Modelfile and the
Model Registry.
"""
