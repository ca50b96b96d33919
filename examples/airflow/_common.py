"""Shared by the example DAGs: where the bundled sample data is and where the examples write.

Set ``LAKESHRINK_EXAMPLES_DIR`` to choose the work directory (default: ``<tmp>/lakeshrink-airflow``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lakeshrink.sample_data import bundled_dir

SAMPLE = bundled_dir()
WORK = Path(os.environ.get("LAKESHRINK_EXAMPLES_DIR") or Path(tempfile.gettempdir()) / "lakeshrink-airflow")
