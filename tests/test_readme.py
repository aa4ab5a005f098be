"""The README's examples are run, so they stay true."""

from __future__ import annotations

import re
from pathlib import Path

from cli_helpers import run_cli

README = Path(__file__).resolve().parent.parent / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def test_python_api_example_runs() -> None:
    (example,) = [b for b in blocks("python") if "asyncio.run(main())" in b]
    proc = run_cli("-c", example)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "HELLO!"
    assert lines[1] == "{'word_count': True, 'uppercase': True}"
    assert "| shout | shout | ✅ succeeded |" in proc.stdout


def test_main_command_is_the_one_documented() -> None:
    (main,) = [b for b in blocks("sh") if "orchestration run" in b and "venv" in b]
    assert "pipelines/synthforge.yaml" in main
    assert "examples/diagrams/webapp.drawio" in main
    assert (README.parent / "examples" / "diagrams" / "webapp.drawio").is_file()


def test_test_command_is_what_ci_runs() -> None:
    assert "bash scripts/test.sh\n" in blocks("sh")
    ci = (README.parent / ".ci" / "run").read_text()
    assert "exec bash scripts/test.sh" in ci


def test_documented_error_line_is_what_the_cli_says(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"text": 5}')
    proc = run_cli("-m", "agents.run", "word_count", "broken.json", cwd=tmp_path)
    line = proc.stderr.strip()
    assert f"$ python -m agents.run word_count broken.json\n{line}\n" in README.read_text()


def test_report_shown_is_current(tmp_path: Path, corpus_diagrams: Path) -> None:
    """The README's report is what the pipeline produces for that corpus diagram today."""
    diagram = corpus_diagrams / (
        "Azure-Samples__functions-quickstart-python-azd-cosmosdb__diagrams_architecture.drawio"
    )
    proc = run_cli(
        "-m",
        "orchestration",
        "run",
        README.parent / "pipelines" / "synthforge.yaml",
        "--input",
        diagram,
        "--set",
        "interactive.yes=true",
        "--out",
        tmp_path / "o",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    report = (tmp_path / "o" / "report.md").read_text().strip()
    assert report in README.read_text()


def test_tools_python_example_runs() -> None:
    (example,) = [b for b in blocks("python") if "asyncio.run(ask())" in b]
    proc = run_cli("-c", example)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["About 7.59 USD a month", "7.59"]


def test_tools_pipeline_shown_is_the_example_file() -> None:
    """The README's pipeline with tools is ``examples/pipelines/reviewer-tools.yaml``
    (which tests/test_tool_pipeline.py runs end to end), and its command names it."""
    example = README.parent / "examples" / "pipelines" / "reviewer-tools.yaml"
    assert example.read_text() in blocks("yaml")
    (command,) = [b for b in blocks("sh") if "reviewer-tools.yaml" in b]
    assert "--input examples/tasks/review-question.json" in command
    assert (README.parent / "examples" / "tasks" / "review-question.json").is_file()
