"""One exception tree; the CLI turns each into one clear line and an exit code.

EtlError
 ├── ConfigError      bad config file, key or environment value        (exit 2)
 ├── UsageError       bad command-line input                             (exit 2)
 ├── HubError         the Hub or router could not be read               (exit 1 when fatal)
 │    ├── HubTransient   429 / 5xx / timeout / connection: worth a retry
 │    ├── HubRejected    4xx, a redirect, an oversized or malformed body: retrying will not help
 │    │    ├── HubStatus    an HTTP 4xx answer (its status and the Hub's own words)
 │    │    ├── CursorLoop   a next link that repeats an earlier page
 │    │    └── NoProgress   pages that bring no model the listing has not seen
 │    └── HubUnreachable no connection to the Hub at all: the run stops at once
 ├── LoadError        the database refused the run                       (exit 1)
 └── LockBusy         another refresh (or process) holds the lock        (exit 75)

Terminated (a BaseException, like KeyboardInterrupt): SIGTERM arrived                (exit 143)
RejectItem (a ValueError, never fatal): one Hub item cannot be stored; its message is the `rejects` reason
"""


class EtlError(Exception):
    """Base of every error hfsnap raises on purpose."""

    exit_code = 1


class ConfigError(EtlError):
    """A config key, file or environment variable is wrong."""

    exit_code = 2


class UsageError(EtlError):
    """The command line asks for something that cannot be done."""

    exit_code = 2


class HubError(EtlError):
    """The Hub or the router could not be read."""


class HubTransient(HubError):
    """A failure worth retrying: 429, 5xx, timeout, connection error."""


class HubRejected(HubError):
    """A failure retrying will not fix: 4xx, or a body that is not what the API promises."""


class HubStatus(HubRejected):
    """The Hub answered 4xx: `status` and `detail` (the Hub's own words) tell what it refused."""

    def __init__(self, message: str, status: int = 0, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class CursorLoop(HubRejected):
    """A listing's next link repeats a page it already served: the listing failed, it was not capped."""


class NoProgress(HubRejected):
    """Pages in a row brought no model the listing had not seen: it is cut short there, like a cap."""


class HubUnreachable(HubError):
    """The Hub cannot be reached (name, connection, TLS, no answer): retrying every partition would only wait."""


class LoadError(EtlError):
    """The database could not take the run."""


class LockBusy(EtlError):
    """Another refresh holds the lock."""

    exit_code = 75


class RejectItem(ValueError):
    """An item that cannot be normalized or stored; its message is the reason stored in `rejects`."""


class Terminated(BaseException):
    """SIGTERM (systemd stop, kill): unwinds like KeyboardInterrupt so the run row is marked failed."""

    exit_code = 143


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (a driver's spans several), or its type's name if it has none."""
    return " ".join(str(exc).split()) or type(exc).__name__


def error_line(exc: BaseException) -> str:
    """What went wrong, in one line: hfsnap's own errors by their message, any other with its type in front."""
    if isinstance(exc, Terminated):
        return "interrupted by SIGTERM"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted by SIGINT (Ctrl-C)"
    text = one_line(exc)
    return text if isinstance(exc, EtlError) or text == type(exc).__name__ else f"{type(exc).__name__}: {text}"
