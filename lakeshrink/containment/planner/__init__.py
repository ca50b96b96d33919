"""The deletion planner: which contained tables to mark, how to rebuild them, and marking that never deletes.

* :mod:`.costs` prices storage, reads and rebuilds (access profiles); :mod:`.keep_rules` protects tables whatever
  they would save; :mod:`.solver` chooses the tables to mark (HiGHS MILP through scipy, or greedy);
* :mod:`.recipes` writes and replays the recipe that rebuilds a marked table from its parent (checked against a
  row checksum); :mod:`.audit` checks each recipe before anything is marked;
* :mod:`.plan` runs the above on a scan (:func:`~lakeshrink.containment.planner.plan.make_plan`) and reads a plan
  back; :mod:`.report` renders its HTML report;
* :mod:`.marks` marks and verifies (``_lakeshrink/marked.json``, with :mod:`.mark_intent` for crash safety);
  :mod:`.table_paths` keeps table paths inside the lake; :mod:`.ports` declares the rebuild port. Every signed
  file (plan, recipes, marks manifest) is a sealed document of :mod:`lakeshrink.sealed`.

The planner reads the scan only through :mod:`lakeshrink.containment.scan`'s exported result type.
"""
