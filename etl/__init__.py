"""hfsnap: snapshot the Hugging Face model catalog into SQLite with history."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hfsnap")
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
