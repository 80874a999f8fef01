"""Where a data-parallel run trains: how many devices, and which part of each global batch this process feeds."""

import dataclasses

from utils.errors import UserError


@dataclasses.dataclass(frozen=True)
class Parallel:
    """Where a data-parallel run trains, as each backend's `data_parallel()` reports it.

    Attributes:
        devices: devices in the whole run (every machine); the global batch is split evenly over them.
        shard, shards: this process feeds part `shard` of `shards` equal parts of every global batch (0 of 1
            when the engine splits one stream of global batches itself).
        process, processes: this process's index among the run's processes (0 of 1 on one machine).
    """

    devices: int
    shard: int = 0
    shards: int = 1
    process: int = 0
    processes: int = 1

    @property
    def writes(self):
        """Whether this process writes the run's files: process 0 does; the others compute the same."""
        return self.process == 0

    def stopped(self, reason):
        """The one-line error of this process when the run stops under it (its own failure or another's)."""
        return UserError(
            f"process {self.process} of {self.processes} stopped: {reason} (when another process stopped first, "
            "its own message says why)"
        )
