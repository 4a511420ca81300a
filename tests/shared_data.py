"""Where the project's shared data lives: ``../shared`` beside the clone (or $HYPERVILLE_SHARED)."""

from __future__ import annotations

import os
from pathlib import Path

SHARED = Path(os.environ.get("HYPERVILLE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SMART_DATA_MODELS = SHARED / "data" / "smart-data-models"
