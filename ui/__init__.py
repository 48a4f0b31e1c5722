"""The chat window: Gradio, over `ChatService`."""
