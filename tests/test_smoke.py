from followup.service import Followup, ProjectInput
from tests.conftest import NOW


def test_add_and_advance(county: Followup) -> None:
    view = county.add_project(
        ProjectInput(name="乳品加工", officer="lina", unit="chengguan"),
        stage=None,
        since=None,
        by=None,
        now=NOW,
    )
    assert view["stage"] == "lead"
    moved = county.advance(view.id, "talks", by="lina", values={"investor": "伊禾集团"}, now=NOW)
    assert moved["stage"] == "talks"
    assert [e.kind for e in county.history(view.id)] == ["created", "move"]
