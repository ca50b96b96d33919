"""spark-submit job: rewrite a Parquet file or directory with per-column encodings, verified, committed atomically.

    spark-submit jobs/rewrite_parquet.py INPUT --output OUTPUT [--plan plan.json] [--objective balanced]
        [--overwrite] [--advise-only]

Each Spark task writes its partition with pyarrow and the plan (advised from a sample of INPUT when no --plan is
given), reads it back and compares; the driver then moves the successful attempts' files into place and renames
the staging directory to OUTPUT. A failure leaves OUTPUT as it was. Hive partition directories are kept. Prints
one JSON document (the result, plan included) on stdout. Same library calls as ``lakeshrink encode rewrite
--engine spark``.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", help="Parquet file or directory (local path or URI)")
    parser.add_argument("--output", "-o", help="where to write (required unless --advise-only)")
    parser.add_argument("--plan", default=None, help="encoding plan JSON from `lakeshrink encode advise --save-plan`")
    parser.add_argument("--objective", choices=("size", "speed", "balanced"), default="balanced")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    parser.add_argument("--advise-only", action="store_true", help="print the advised plan, write nothing")
    parser.add_argument("--save-plan", default=None, help="also write the plan used to this JSON file")
    parser.add_argument("--master", default=None, help="Spark master when no session is active")
    args = parser.parse_args(argv)
    if not args.advise_only and not args.output:
        parser.error("--output is required unless --advise-only")

    from lakeshrink.codecs.encodings.plan import load_plan
    from lakeshrink.errors import LakeshrinkError
    from lakeshrink.serde import dumps
    from lakeshrink.codecs.encodings.ports import ENCODING_ADVISOR, ENCODING_REWRITER
    from lakeshrink.engine import get_engine

    try:
        engine = get_engine("spark", spark_master=args.master)
        if args.advise_only:
            advice = engine.port(ENCODING_ADVISOR).advise_path(args.input, objective=args.objective)
            if args.save_plan:
                advice.plan.save(args.save_plan)
            print(dumps({"input": args.input, "seconds": advice.seconds, "plan": advice.plan.to_dict()}))
            return 0
        plan = load_plan(args.plan) if args.plan else None
        result = engine.port(ENCODING_REWRITER).rewrite(args.input, args.output, plan=plan, objective=args.objective,
                                                        overwrite=args.overwrite)
        if args.save_plan:
            result.plan.save(args.save_plan)
    except LakeshrinkError as exc:
        print(f"rewrite_parquet: error: {exc}", file=sys.stderr)
        return 1
    print(dumps({**{k: getattr(result, k) for k in ("input", "output", "files", "rows", "input_bytes", "output_bytes",
                                                    "advise_seconds", "write_seconds", "verified")},
                 "plan": result.plan.to_dict()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
