"""The project's error hierarchy.

Everything a user can cause raises a `RagError`; the edges (CLI, UI) turn it into one clear line.
It lives in `index/` because that is the lowest layer; `rag` re-exports it.
"""


class RagError(Exception):
    """Base for every error a user can cause or fix."""


class ConfigError(RagError):
    """A setting is invalid or contradicts another."""


class InputError(RagError):
    """A path, query or file given to us is unusable."""


class IndexBusyError(RagError):
    """Another process holds the index's write lock."""


class ModelMismatchError(RagError):
    """The index was built with another embedding model than the one configured."""


class IndexMissingError(RagError):
    """Nothing has been indexed yet where we were told to look."""


class Cancelled(RagError):
    """The user stopped the work (an upload's reading or embedding); nothing of it was kept."""


class StoreError(RagError):
    """The vector store (embedded or server) failed or cannot be reached."""


REBUILD = "rag index --rebuild PATH"
REPAIR = "rag index PATH"


class IndexDamagedError(RagError):
    """A part of the index on disk is unreadable, missing or disagrees with the rest.

    Carries what is wrong and the command that repairs it (`fix`), so that every edge says both;
    `rag status` lists all of them at once (index/health.py).
    """

    def __init__(self, what: str, fix: str = REBUILD) -> None:
        self.what = what
        self.fix = fix
        super().__init__(f"{what}; repair it with `{fix}`")


class DownloadError(RagError):
    """A dataset could not be downloaded, or what arrived fails its checksum."""


def model_mismatch(built_with: str, configured: str) -> ModelMismatchError:
    """The one message for a model mismatch: both names and both ways out."""
    return ModelMismatchError(
        f"this index was built with embedding model '{built_with}' but '{configured}' is configured; "
        f"set RAG_EMBED_MODEL={built_with} (or --model) to use it, or rebuild with "
        f"`rag index PATH --rebuild` to switch to '{configured}'"
    )
