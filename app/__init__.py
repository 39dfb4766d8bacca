"""The Gradio studio: a thin shell over `core` (layout, wiring, plotly figures)."""
