"""What re-running a notebook's training cell does: continue the run of the same settings, or start afresh beside it."""

from pathlib import Path

from utils.training.runs import existing_run, set_aside


def train_run(config, run_dir, fresh=False, log=print):
    """Train a notebook's run, continuing the one already in `run_dir` when its settings match.

    With no run there it trains afresh. With the same settings it continues from the last checkpoint up to
    config's epochs (so a grown `EPOCHS` trains on, and a complete run trains nothing). With `fresh` or other
    settings the earlier run is renamed `<run_dir>.old-N`, never deleted, and a new one starts.

    Args:
        config: the run's configuration (`utils.notebook.training_config`).
        run_dir: the run folder.
        fresh: start afresh even when the settings match (the notebook's `FRESH` parameter).
        log: where the one line saying what happens goes.

    Returns:
        The run folder, as a `Path`.
    """
    from utils.training.train import train

    out, resume = Path(run_dir), False
    if (found := existing_run(config, out)) is not None:
        changed, done, complete = found
        if fresh or changed:
            why = "FRESH = True" if fresh else f"settings changed ({'; '.join(changed)})"
            log(f"{why}: the earlier run is kept as {set_aside(out)}; starting afresh")
        elif complete:
            log(f"{out} holds this run, complete at {done} epochs: nothing to train (a larger EPOCHS continues it)")
            return out
        else:
            log(f"continuing the run in {out} from epoch {done} of {config['training']['epochs']}: same settings")
            resume = True
    train(config, out, resume=resume, log=log)
    return out
