"""The Gradio studio: a thin shell over `core` (layout, wiring, plotly figures)."""

from app.gradio_import import skip_stub_writing

skip_stub_writing()  # before any module of the app imports gradio: halves its import time
