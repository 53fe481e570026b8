"""bench/table.py: the one table of recorded ratios, and the README's Figures section written from it."""

from __future__ import annotations

from pathlib import Path

from bench.harness import Figure, record
from bench.table import BEGIN, END, rows, with_figures

README = """# project

Intro.

## Benchmarks

| command | what it measures |
|---|---|
| `bench/x.py` | x |

## Layout

text after
"""


def _results(folder: Path) -> None:
    record("import", [
        Figure("import, 1,000 rows (rows/s)", 17972.4, 1000.0, "rows/s", "insert_all", goal=1.0),
        Figure("import peak memory", 200.0, 50.0, "MB", "insert_all", higher_is_better=False),
    ], folder=folder)
    record("startup", [
        Figure("cli --help", 0.5, 0.25, "s", "sqlite-utils --help", higher_is_better=False, goal=1 / 1.2),
    ], quick=True, folder=folder)


def test_rows_show_each_figure_with_its_ratio_and_verdict(tmp_path):
    _results(tmp_path)
    table = rows(tmp_path)
    assert [row[:2] for row in table] == [["import", "import, 1,000 rows (rows/s)"], ["import", "import peak memory"],
                                          ["startup (quick)", "cli --help"]]
    first, memory, startup = table
    assert first[2:6] == ["17,972 rows/s", "1,000 rows/s insert_all", "17.97x", ">= 1x met"]
    assert memory[4:6] == ["0.25x", ""]
    assert startup[4:6] == ["0.50x", ">= 0.83x NOT met"]
    assert all(len(row[6]) == 10 and row[6][4] == "-" for row in table)  # the date each was measured


def test_the_readme_gets_one_figures_section_inside_benchmarks(tmp_path):
    _results(tmp_path)
    once = with_figures(README, rows(tmp_path))
    benchmarks, layout = once.index("## Benchmarks"), once.index("## Layout")
    section = once[once.index("### Figures"):once.index(END) + len(END)]
    assert benchmarks < once.index("### Figures") < layout
    assert once.startswith(README[:README.index("## Layout")].rstrip("\n"))
    assert once.endswith("## Layout\n\ntext after\n")
    lines = [line for line in section.splitlines() if line.startswith("|")]
    assert lines[0] == "| bench | measure | ours | peer | ratio | goal | measured |"
    assert lines[1] == "|---|---|---|---|---|---|---|"
    assert len(lines) == 2 + 3 and all(line.count(" | ") == 6 for line in lines[2:])
    assert "| 17.97x | >= 1x met |" in section and BEGIN in section
    # Written again from new results: replaced, not added twice; the rest of the file is untouched.
    record("import", [Figure("import, 1,000 rows (rows/s)", 500.0, 1000.0, "rows/s", "insert_all", goal=1.0)],
           folder=tmp_path)
    twice = with_figures(once, rows(tmp_path))
    assert twice.count("### Figures") == 1 and twice.count(BEGIN) == 1
    assert "| 0.50x | >= 1x NOT met |" in twice and "17.97x" not in twice
    assert twice.replace(twice[twice.index("### Figures"):twice.index(END)], "") == \
        once.replace(once[once.index("### Figures"):once.index(END)], "")


def test_a_readme_without_a_benchmarks_section_gets_it_at_the_end(tmp_path):
    _results(tmp_path)
    written = with_figures("# project\n\nIntro.\n", rows(tmp_path))
    assert written.startswith("# project\n\nIntro.\n\n### Figures\n") and written.endswith(END + "\n")


def test_a_goal_on_the_figure_itself_is_a_floor_or_a_ceiling(tmp_path):
    record("bounces", [
        Figure("soft read as hard", 1.5, 0.0, "%", "flufl.bounce", higher_is_better=False, goal=2.0, goal_of="value"),
        Figure("hard recall", 88.0, 60.0, "%", "flufl.bounce", goal=90.0, goal_of="value"),
        Figure("non-bounces acted on", 0.0, None, "messages", higher_is_better=False, goal=0.0, goal_of="value"),
        Figure("all answered", 1.0, None, "", goal=1.0, goal_of="value"),
    ], folder=tmp_path)
    soft, recall, acted, answered = rows(tmp_path)
    assert soft[2:6] == ["1.5 %", "0 % flufl.bounce", "", "<= 2 % met"]  # no ratio against a peer at 0
    assert recall[2:6] == ["88 %", "60 % flufl.bounce", "1.47x", ">= 90 % NOT met"]  # the goal is not on the ratio
    assert acted[2:6] == ["0 messages", "", "", "<= 0 messages met"]
    assert answered[2:6] == ["1", "", "", ">= 1 met"]
    assert Figure("x", 0.4, 0.5, "", goal=1.0).met is False and Figure("x", 1.0, None, "", goal=1.0).met is None


def test_rows_of_a_benchmark_not_run_here_are_kept_and_the_others_replaced(tmp_path):
    _results(tmp_path)
    once = with_figures(README, rows(tmp_path))
    elsewhere = tmp_path / "elsewhere"  # a later run of two benchmarks only, one of them measured before
    record("bounces", [Figure("hard recall", 91.0, 80.0, "%", "flufl.bounce", goal=90.0, goal_of="value")],
           folder=elsewhere)
    record("startup", [Figure("cli --help", 0.2, 0.25, "s", "sqlite-utils --help", higher_is_better=False,
                              goal=1 / 1.2)], folder=elsewhere)
    twice = with_figures(once, rows(elsewhere))
    lines = [line for line in twice[twice.index("### Figures"):].splitlines() if line.startswith("| ")][1:]
    assert [line.split(" | ")[0] for line in lines] == ["| bounces", "| import", "| import", "| startup"]
    assert "17.97x" in lines[1] and "0.25x" in lines[2]  # import's rows as they were
    assert "1.25x | >= 0.83x met" in lines[3] and "0.50x" not in twice  # startup's replaced (quick or not)
    assert with_figures(twice, rows(elsewhere)) == twice
