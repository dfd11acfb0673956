"""The webhook inbox's services, one module per stage:

- `receive`: validate a delivery and store it (one INSERT), keep refused deliveries;
- `process`: claim events with a conditional UPDATE and apply them exactly once;
- `maintenance`: the sweeper that re-enqueues what was lost, and replay.
"""
