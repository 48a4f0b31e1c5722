"""The error hierarchy: the index's errors (index.errors, the lowest layer that raises them),
re-exported, and the errors of answering.

    RagError                  everything a user can cause or fix: one line at every edge
    ├── ConfigError           a setting is invalid or contradicts another
    ├── InputError            a path, query or file given to us is unusable
    │   └── NotFoundError     no such conversation (or not the asker's: the same words)
    ├── Cancelled             the user stopped the work; nothing of it was kept
    ├── IndexBusyError        another process is writing the index
    ├── ModelMismatchError    the index was built with another embedding model
    ├── IndexMissingError     nothing is indexed yet
    ├── IndexDamagedError     a part of the index is damaged (carries its repair)
    ├── StoreError            the vector store failed or cannot be reached
    ├── DownloadError         a dataset or model download failed its checks
    └── BackendError          the LLM backend could not be reached or failed
"""

from index.errors import (  # noqa: F401
    Cancelled,
    ConfigError,
    DownloadError,
    IndexBusyError,
    IndexDamagedError,
    IndexMissingError,
    InputError,
    ModelMismatchError,
    RagError,
    StoreError,
)


class BackendError(RagError):
    """The LLM backend could not be reached or failed while answering."""


class NotFoundError(InputError):
    """What was asked for does not exist, or belongs to someone else: one message for both, so
    that an id cannot be probed."""
