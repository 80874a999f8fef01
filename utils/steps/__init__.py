"""One module per Keras backend, each holding the DCGAN trainer's gradient steps for that backend."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Parallel:
    """Where a data-parallel run trains, as each backend's `data_parallel()` reports it.

    Attributes:
        devices: devices in the whole run (every machine); the global batch is split evenly over them.
        writes: whether this process writes the run's files (one process does; the others compute the same).
        shard, shards: this process feeds part `shard` of `shards` equal parts of every global batch (0 of 1
            when the engine splits one stream of global batches itself).
        process, processes: this process's index among the run's processes (0 of 1 on one machine).
    """

    devices: int
    writes: bool = True
    shard: int = 0
    shards: int = 1
    process: int = 0
    processes: int = 1
