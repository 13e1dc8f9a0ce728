"""Offline emulator of the Hugging Face Hub model API and inference router, for tests and benchmarks."""

from .app import FakeHubApp, make_app
from .catalog import Catalog
from .faults import Fault, parse_fault
from .generator import generate_catalog
from .server import serve, start_in_thread

__all__ = ["Catalog", "FakeHubApp", "Fault", "generate_catalog", "make_app", "parse_fault", "serve", "start_in_thread"]
