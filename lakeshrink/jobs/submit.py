"""spark-submit application: ``spark-submit .../lakeshrink/jobs/submit.py JOB ARGS...`` (see :mod:`lakeshrink.jobs`).

This directory holds nothing else, so running this file as a script shadows no module.
"""

import sys

from lakeshrink.jobs import run_job

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: submit.py JOB [ARGS...]")
    run_job(sys.argv[1], sys.argv[2:])
