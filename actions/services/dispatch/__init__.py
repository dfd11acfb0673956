"""The lane scheduler: claim the due heads of all lanes (`claim`), send them in batchAdd
calls and record what happened (`send`), and the dispatcher loop with its lock and wake-ups
(`loop`). See docs/actions.md for the protocol and why it holds.

Invariants:
- A lane is claimed only under `SELECT ... FOR UPDATE SKIP LOCKED`, only when it is not
  paused, its `next_allowed_at` has passed and none of its actions is `sending`; the same
  transaction moves its head to `sending` (the intent, with a fresh attempt id) and pushes
  `next_allowed_at` one interval ahead. So two dispatchers never claim one lane twice.
- After the call, `next_allowed_at` becomes (end of the call + interval): the vendor received
  the request before the answer came back, so the next request of the lane reaches it at
  least one interval later, whatever the network did.
- An action leaves `sending` only by a conditional update on its attempt id: to `sent` (id
  returned), `failed` (the vendor said no), `queued` (the call certainly never left), or
  `unknown` (the call may have reached the vendor; a person decides). Never resent silently.
"""
