"""spark-submit job: compress log files into one lakeshrink log archive, encoding chunks in Spark tasks.

    spark-submit jobs/compress_logs.py INPUT [INPUT...] --output ARCHIVE [--format F] [--level N] [--chunk-mb M]

Files are read exactly with Spark's ``binaryFile`` source (every ``\\r`` kept); the archive is written on the
driver, atomically. It decodes to the same bytes as ``lakeshrink logs compress`` gives for the same inputs.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", help="log files or directories")
    parser.add_argument("--output", "-o", required=True, help="archive to write")
    parser.add_argument("--format", default=None, help="header format or known name (default: detected)")
    parser.add_argument("--level", type=int, default=19)
    parser.add_argument("--chunk-mb", type=int, default=32)
    parser.add_argument("--master", default=None, help="Spark master when no session is active")
    args = parser.parse_args(argv)

    from lakeshrink.codecs.logs.codec import CodecConfig
    from lakeshrink.errors import LakeshrinkError
    from lakeshrink.codecs.logs.ports import LOG_COMPRESSOR
    from lakeshrink.engine import get_engine

    try:
        config = CodecConfig(format=args.format, level=args.level, chunk_bytes=args.chunk_mb << 20)
        with get_engine("spark", spark_master=args.master) as engine:
            report = engine.port(LOG_COMPRESSOR).compress_files(args.inputs, args.output, config)
    except LakeshrinkError as exc:
        print(f"compress_logs: error: {exc}", file=sys.stderr)
        return 1
    from lakeshrink.serde import dumps

    print(dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
