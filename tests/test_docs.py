"""The README documents every setting and the two front-door commands."""

from pathlib import Path

from lookup_events.config import SETTINGS

README = (Path(__file__).parent.parent / "README.md").read_text()
CI_SCRIPT = (Path(__file__).parent.parent / ".ci" / "run").read_text()


def test_every_environment_variable_is_documented():
    missing = [name for v in SETTINGS for name in v.names if f"`{name}`" not in README]
    assert missing == []


def test_readme_shows_the_serve_and_test_commands_and_ci_runs_the_latter():
    assert ".venv/bin/dtool-lookup serve" in README
    assert "bash tests/run" in README
    assert "bash tests/run" in CI_SCRIPT
