"""Gradio chat UI (issue 6)."""
