"""Self-contained HTML reports that work offline: inline CSS, inline SVG, a few lines of inline script, and no
URL outside the file (a test opens each one in headless Chromium and checks that no request leaves the page).

* :mod:`.page`: the page skeleton, sortable tables with CSV export, bar charts; shared by every report.
* :mod:`.logs`: a log archive (templates over time, bytes per input stream, chunks).
* :mod:`.encodings`: a Parquet rewrite (bytes per column before and after, per encoding).
* The containment plan's report is :mod:`lakeshrink.containment.planner.report`, built on :mod:`.page`.
"""
