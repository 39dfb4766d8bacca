"""Core library of the text-to-SQL fine-tuning studio: data, validation, ChatML, models, training, MLflow.

Plain Python, importable on a CPU in milliseconds: no gradio/plotly here, and heavy libraries (torch,
transformers, unsloth, trl) are imported lazily inside the functions that need them.
"""
