"""Start the chat window with safe defaults: localhost, no share link, a login off-loopback.

Nothing is served from disk by path: the window shows no files, so every file-serving route
(`file=`, `file/`, `proxy=`, `stream/`) is refused before Gradio sees it (Gradio's upload cache
would otherwise hand a just-uploaded file back as-is, HTML and all), and the index and upload
folders are blocked paths besides. No extra paths are allowed, and file size is capped before a
byte reaches our code. Analytics and server-side rendering (which needs Node) are off, and the
theme uses system fonts, so the page makes no request beyond this server.

One ASGI middleware (`ui.guard.Guard`) stands in front of Gradio: it refuses a foreign `Host`,
the file routes, event requests too big to be a question, and login attempts beyond a few
failures; and it records which browser made each raw upload, so that the upload event takes only
that browser's own files.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from rag import datadir
from rag.errors import ConfigError
from rag.config import RagConfig

log = logging.getLogger(__name__)

QUEUE_SIZE = 64  # requests waiting beyond this are turned away with a message
CHAT_CONCURRENCY = 8  # answers computed at once; uploads are indexed one at a time
# Gradio keeps each browser session's last inputs and outputs (the conversation, the answer's
# JSON, the citations: about 200 kB after ten questions, bench/soak.py) until this many more
# recently used sessions evict it. Its default, 10,000, lets a long-running server grow by 2 GB.
SESSIONS_KEPT = 500

_temp_folder: Path | None = None


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


def check_exposure(config: RagConfig, share: bool):
    """The login to require (Gradio's `auth`: pairs, or a check of a name and password against the
    users file, RAG_UI_USERS, hashes only), refusing to expose the window without one."""
    pairs = parse_auth(config.ui_auth)
    if config.ui_users is not None:
        from rag.users import check_login

        users = config.ui_users
        return lambda name, password: (name, password) in (pairs or []) or check_login(users, name, password)
    if pairs is None and (share or not is_loopback(config.ui_host)):
        where = "a public share link" if share else f"{config.ui_host} (not a loopback address)"
        raise ConfigError(f"refusing to serve on {where} without a login: set RAG_UI_USERS (rag users add NAME) "
                          "or RAG_UI_AUTH=user:password")
    return pairs


def private_temp_folder(data_dir: Path) -> Path:
    """Point Gradio's upload cache at a folder of ours, emptied and readable by us alone.

    By default every Gradio app on the machine shares /tmp/gradio, where raw uploads stay. Neither
    gr.Blocks nor launch() takes a folder: Gradio reads GRADIO_TEMP_DIR when a component or the
    server is created and again on every request (utils.get_upload_folder), so it can only be set
    process-wide, before the app is built. The first launch in a process sets it; a later one (tests
    run several) keeps it, since moving it would make Gradio refuse the uploads of the apps already
    running. A data folder that cannot be written gets a private temporary folder instead."""
    global _temp_folder
    if _temp_folder is None:
        folder = datadir.upload_cache(Path(data_dir)).resolve()  # Gradio's upload cache
        try:
            if folder.is_symlink() or folder.is_file():
                folder.unlink()
            shutil.rmtree(folder, ignore_errors=True)  # raw uploads of an earlier run
            folder.mkdir(mode=0o700, parents=True)
            folder.chmod(0o700)
        except OSError as exc:
            folder = Path(tempfile.mkdtemp(prefix="rag-uploads-"))  # 0700 already
            log.warning("upload cache in %s instead: %s", folder, exc.strerror or exc)
        os.environ["GRADIO_TEMP_DIR"] = str(folder)
        _temp_folder = folder
    return _temp_folder


def blocked_paths(config: RagConfig, temp_folder: Path) -> list[str]:
    """The index and the upload folder, for Gradio never to serve or take as input. Not the data
    folder as a whole: the upload cache lives in it, and Gradio refuses input from a blocked path."""
    data = config.data_dir.resolve()
    inside = [p for p in data.iterdir() if p.resolve() != temp_folder] if data.is_dir() else []
    return [str(config.upload_dir.resolve()), *(str(p.resolve()) for p in inside)]


def launch(config: RagConfig, share: bool = False, block: bool = True, assistant=None):
    """Build and start the app; returns it (with `block=False`, the server runs in a thread)."""
    auth = check_exposure(config, share)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    temp_folder = private_temp_folder(config.data_dir)
    import gradio as gr

    from rag.assistant import Assistant
    from ui.app import CSS, HEAD, build_app
    from ui.chat import ChatService
    from rag.throttle import LoginThrottle
    from ui.guard import Guard, UploadLedger, allowed_hosts

    service = ChatService(assistant or Assistant(config))
    service.warm()
    upload_bytes = int(config.upload_max_mb * 1_000_000)
    uploads = UploadLedger(per_browser=10 * upload_bytes, total=100 * upload_bytes)
    app = build_app(service, uploads)
    app.queue(default_concurrency_limit=CHAT_CONCURRENCY, max_size=QUEUE_SIZE)
    from starlette.middleware import Middleware

    guard = Middleware(Guard, hosts=allowed_hosts(config, share), uploads=uploads, logins=LoginThrottle())
    theme = gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    app.launch(
        server_name=config.ui_host, server_port=config.ui_port, share=share, auth=auth,
        auth_message="Log in to chat with the documents." if auth else None,
        allowed_paths=[], blocked_paths=blocked_paths(config, temp_folder), max_file_size=f"{config.upload_max_mb:g}mb",
        prevent_thread_lock=True, show_error=False, state_session_capacity=SESSIONS_KEPT, ssr_mode=False, quiet=True, inbrowser=False,
        theme=theme, css=CSS, head=HEAD, footer_links=["api"], app_kwargs={"middleware": [guard]},
    )
    print(f"chat window: {app.local_url}" + (f"  public: {app.share_url}" if app.share_url else "")
          + ("  (Ctrl+C to stop)" if block else ""), file=sys.stderr, flush=True)
    if block:
        app.block_thread()
    return app
