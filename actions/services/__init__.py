"""Services of the actions app (writes), one module per topic:

- `intake`: validation of every way in (form, CSV, API), pre-checks, queueing, batches;
- `dispatch`: lanes, claiming due heads, batchAdd, recording the result;
- `results`: callbackResult polling, deadlines, the sweeper of stuck sends;
- `manage`: what people do by hand (cancel, pause/resume a lane, resend or fail an unknown).
"""
