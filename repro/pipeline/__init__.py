"""From specs to a run: the stage graph, dvc.yaml and params.yaml, running them, plan, init."""
