"""spark-submit job: decompress a lakeshrink log archive back to its exact bytes.

    spark-submit jobs/decompress_logs.py ARCHIVE --output OUTPUT [--force]

With one archived input OUTPUT is a file holding exactly its bytes; with several, a directory recreating their
relative paths. Decoding runs on the driver, chunk by chunk (memory stays bounded by the chunk size); the job
exists so pipelines that run spark-submit can restore archives with the same tool chain.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive")
    parser.add_argument("--output", "-o", required=True)
    parser.add_argument("--force", action="store_true", help="replace OUTPUT if it exists")
    args = parser.parse_args(argv)

    from lakeshrink.codecs.logs.files import decompress_archive
    from lakeshrink.errors import LakeshrinkError
    from lakeshrink.serde import dumps

    try:
        report = decompress_archive(args.archive, args.output, overwrite=args.force)
    except LakeshrinkError as exc:
        print(f"decompress_logs: error: {exc}", file=sys.stderr)
        return 1
    print(dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
