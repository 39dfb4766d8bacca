"""Tests of app/: the handlers called directly, the studio through gradio_client, the browser tests (Playwright), the
database box and the export status.
"""
