"""Library versions recorded with every run, bundle and result (DESIGN.md: determinism and provenance)."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

__version__ = "0.1.0"
RECORDED_LIBRARIES = ("torch", "torchvision", "captum", "numpy", "scipy", "scikit-learn", "plotly", "streamlit")
IMPORT_NAMES = {"scikit-learn": "sklearn"}


def library_versions() -> dict[str, str]:
    """{"xai_core", "python", and each of RECORDED_LIBRARIES: version}: an imported module's ``__version__``
    (which names the build, e.g. torch's "+cpu"), else the package metadata (nothing is imported; a missing
    package reads "not installed")."""
    versions = {"xai_core": __version__, "python": platform.python_version()}
    for name in RECORDED_LIBRARIES:
        module = sys.modules.get(IMPORT_NAMES.get(name, name))
        try:
            versions[name] = str(getattr(module, "__version__", None) or metadata.version(name))
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
