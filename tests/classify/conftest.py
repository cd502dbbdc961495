import pytest


@pytest.fixture(scope="session")
def tiny_text_run(tmp_path_factory):
    """A text classifier trained with the tiny preset on the generated task (seconds)."""
    from classify.cli import main

    run_dir = tmp_path_factory.mktemp("classify") / "text"
    assert main(["text", "train", "--preset", "tiny", "--run", str(run_dir)]) == 0
    return run_dir


@pytest.fixture(scope="session")
def tiny_vit_run(tmp_path_factory):
    from classify.cli import main

    run_dir = tmp_path_factory.mktemp("classify") / "vit"
    assert main(["vit", "train", "--preset", "tiny", "--run", str(run_dir)]) == 0
    return run_dir
