"""Start the chat window with safe defaults: localhost, no share link, a login off-loopback.

Nothing is served from disk by path: the window shows no files, so every `file=` route is
refused before Gradio sees it (Gradio's own upload cache would otherwise hand a just-uploaded file
back as-is, HTML and all), and the index and upload folders are blocked paths besides. No extra
paths are allowed, and file size is capped before a byte reaches our code. Analytics and
server-side rendering (which needs Node) are off, and the theme uses system fonts, so the page
makes no request beyond this server.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys

from index.errors import ConfigError
from rag.config import RagConfig

QUEUE_SIZE = 64  # requests waiting beyond this are turned away with a message
CHAT_CONCURRENCY = 8  # answers computed at once; uploads are indexed one at a time


def parse_auth(spec: str | None) -> list[tuple[str, str]] | None:
    """RAG_UI_AUTH="user:password[,user2:password2]" → Gradio's list of credentials."""
    if not spec:
        return None
    pairs = []
    for item in spec.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user or not password:
            raise ConfigError("RAG_UI_AUTH must look like user:password (several separated by commas)")
        pairs.append((user, password))
    return pairs


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback
                       for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def check_exposure(config: RagConfig, share: bool) -> list[tuple[str, str]] | None:
    """The credentials to require, refusing to expose the window without them."""
    auth = parse_auth(config.ui_auth)
    if auth is None and (share or not is_loopback(config.ui_host)):
        where = "a public share link" if share else f"{config.ui_host} (not a loopback address)"
        raise ConfigError(f"refusing to serve on {where} without a login: set RAG_UI_AUTH=user:password")
    return auth


class RefuseFileRoutes:
    """ASGI middleware: 403 for Gradio's `file=` routes, which serve files from disk by path."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and "/file=" in scope.get("path", ""):
            body = b'{"detail":"files are not served"}'
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def launch(config: RagConfig, share: bool = False, block: bool = True, assistant=None):
    """Build and start the app; returns it (with `block=False`, the server runs in a thread)."""
    auth = check_exposure(config, share)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from rag.assistant import Assistant
    from ui.app import CSS, HEAD, build_app
    from ui.chat import ChatService

    service = ChatService(assistant or Assistant(config))
    service.warm()
    app = build_app(service)
    app.queue(default_concurrency_limit=CHAT_CONCURRENCY, max_size=QUEUE_SIZE)
    from starlette.middleware import Middleware

    blocked = [str(config.data_dir.resolve()), str(config.upload_dir.resolve())]
    theme = gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    app.launch(
        server_name=config.ui_host, server_port=config.ui_port, share=share, auth=auth,
        auth_message="Log in to chat with the documents." if auth else None,
        allowed_paths=[], blocked_paths=blocked, max_file_size=f"{config.upload_max_mb:g}mb",
        prevent_thread_lock=True, show_error=False, ssr_mode=False, quiet=True, inbrowser=False,
        theme=theme, css=CSS, head=HEAD, footer_links=["api"],
        app_kwargs={"middleware": [Middleware(RefuseFileRoutes)]},
    )
    print(f"chat window: {app.local_url}" + (f"  public: {app.share_url}" if app.share_url else "")
          + ("  (Ctrl+C to stop)" if block else ""), file=sys.stderr, flush=True)
    if block:
        app.block_thread()
    return app
