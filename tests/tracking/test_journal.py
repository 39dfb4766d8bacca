"""The journal's acknowledgements (tracking.sent) when two processes sync one job folder: the further one stands."""

from core.tracking.journal import Journal


def test_an_acknowledgement_never_moves_the_pointer_back(tmp_path):
    studio = Journal(tmp_path)
    for step in range(3):
        studio.append("metric", key="loss", value=1.0, step=step)
    cli = Journal(tmp_path)  # another process, which read the journal before the studio sent anything
    studio.acknowledge(3, "run-1")
    cli.acknowledge(1)  # it sent the first operation again meanwhile: the studio's word stands
    assert (cli.sent, cli.run_id, cli.pending()) == (3, "run-1", [])
    assert (Journal(tmp_path).sent, Journal(tmp_path).run_id) == (3, "run-1")
