"""The error hierarchy, re-exported from `index.errors` (the lowest layer that raises them)."""

from index.errors import (  # noqa: F401
    BackendError,
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
