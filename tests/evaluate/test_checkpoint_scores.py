"""Checkpoint scoring asks the model only about steps nobody has scored yet."""

import json

import core.evaluate.checkpoints as checkpoints


def test_no_model_is_loaded_when_only_the_final_step_is_left_and_it_is_already_scored(tmp_path, monkeypatch):
    # a run that kept only its final checkpoint: the evaluation after training has just scored that step
    kept = tmp_path / "checkpoints" / "checkpoint-40"
    kept.mkdir(parents=True)
    (kept / "adapter_config.json").write_text("{}")
    (kept / "trainer_state.json").write_text("{}")
    (tmp_path / "job.json").write_text(json.dumps({"step": 40}))

    def no_model(*args, **kwargs):
        raise AssertionError("a generation process was started with nothing to score")

    monkeypatch.setattr(checkpoints, "GeneratorProcess", no_model)
    monkeypatch.setattr(checkpoints, "database_for", lambda cfg: None)
    final = {"exec_accuracy": 0.5, "exec_accuracy_checked": 0.55}
    scores = checkpoints.score_steps(None, [], tmp_path / "adapter", None, print, final_summary=final)
    assert scores == [{"step": 40, "path": str(tmp_path / "adapter"), **final}]
    assert json.loads((tmp_path / checkpoints.SCORES_FILE).read_text()) == scores
