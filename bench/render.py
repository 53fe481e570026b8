"""Benchmark: render a 10-article issue (ms), personalise it per reader (µs), and compare with official MJML.

Run: ``.venv/bin/python bench/render.py``.  When Node and npm are present, the
npm package ``mjml`` is installed into bench/node_modules (once) and renders the
very same MJML in the same run; the ratio is printed.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from issues.build import (  # noqa: E402
    HTML_TEMPLATE,
    build_issue,  # noqa: E402
    issue_context,
    render_issue,
)
from newsletter.articles import import_sources  # noqa: E402
from newsletter.init import init_workspace  # noqa: E402
from newsletter.personalise import PersonalisedTemplate, personalise  # noqa: E402
from newsletter.render import environment, mjml_to_html  # noqa: E402

TOPICS = [
    ("Hill repeats without the dread", "running", "Short, steep and honest: hill repeats build power that flat miles never will."),
    ("What a deload week is for", "training", "Backing off for a week is not lost time; it is when the last block is banked."),
    ("Night cramps in the calf", "cramps", "Most night cramps come from tired, shortened muscles rather than a lack of salt."),
    ("Protein at breakfast", "nutrition", "Spreading protein over the day helps repair more than one big evening meal."),
    ("Stretching the hip flexors", "stretching", "Hours of sitting shorten the hip flexors; two minutes a side undoes a lot."),
    ("Sleep as a training tool", "recovery", "Eight hours is the cheapest recovery aid there is, and the most skipped."),
    ("Carrying load on the stairs", "strength", "Loaded step-ups teach the legs to work one at a time, as they do on a run."),
    ("Side stitches explained", "cramps", "A stitch is the lining of the belly complaining; breathing rhythm often fixes it."),
    ("Rest days that actually rest", "recovery", "A rest day with a long hike in it is a training day under another name."),
    ("The slow warm-up", "training", "Ten easy minutes before the hard part makes the hard part better and safer."),
]

BODY = (
    "{lead} It sounds simple, and it is, but the detail matters. Start with less than you think you need "
    "and add a little each week. Keep a short note of how each session felt, because the pattern over a "
    "month tells you more than any single day.\n\n"
    "When something aches for more than a few days, ease off and look at what changed recently: shoes, "
    "surface, volume or sleep. Most setbacks trace back to one of those. Come back gradually.\n"
)


def write_articles(folder: Path) -> None:
    """Ten Markdown articles in ISO week 2026-W47 and ten older ones (for related reading)."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(20):
        title, tag, lead = TOPICS[n % 10]
        title = title if n < 10 else f"{title}, revisited"
        slug = title.lower().replace(" ", "-").replace(",", "")
        day = 16 + n % 7 if n < 10 else 2 + n % 12
        front = {
            "title": title,
            "date": f"2026-11-{day:02d}T{8 + n // 7:02d}:30:00-05:00",
            "url": f"https://blog.example.com/posts/{slug}",
            "tags": [tag, "weekly"],
            "image": f"https://blog.example.com/images/{slug}.jpg",
            "author": "Dana Whitfield",
        }
        head = "\n".join(f"{k}: {json.dumps(v)}" for k, v in front.items())
        (folder / f"{slug}.md").write_text(f"---\n{head}\n---\n\n{BODY.format(lead=lead)}", encoding="utf-8")


def timed(func, repeat: int) -> float:
    """Median seconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


NODE_SCRIPT = r"""
const mjml2html = require('mjml');
const fs = require('fs');
const source = fs.readFileSync(process.argv[2], 'utf8');
const repeat = parseInt(process.argv[3], 10);
(async () => {
  const run = async () => { const r = await Promise.resolve(mjml2html(source, {validationLevel: 'skip', minify: false})); return r.html; };
  let html = '';
  for (let i = 0; i < 5; i++) html = await run();
  const times = [];
  for (let i = 0; i < repeat; i++) { const t = process.hrtime.bigint(); await run(); times.push(Number(process.hrtime.bigint() - t) / 1e6); }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({median_ms: times[Math.floor(times.length / 2)], bytes: Buffer.byteLength(html)}));
})();
"""


def official_mjml(mjml_file: Path, repeat: int) -> dict | None:
    """Median render time of the npm ``mjml`` package on ``mjml_file``, or None without Node/npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        print("official MJML: skipped (node/npm not found)")
        return None
    if not (BENCH / "node_modules" / "mjml").is_dir():
        print("installing npm mjml into bench/node_modules ...", flush=True)
        subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(BENCH), "mjml"],
                       check=True, capture_output=True)
    script = mjml_file.with_suffix(".js")
    script.write_text(NODE_SCRIPT)
    done = subprocess.run([node, str(script), str(mjml_file), str(repeat)], check=True, capture_output=True,
                          text=True, env={"NODE_PATH": str(BENCH / "node_modules"), "PATH": "/usr/bin:/bin"})
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = init_workspace(Path(tmp) / "ws")
        write_articles(ws.articles_dir)
        import_sources(ws, [ws.articles_dir])
        issue = build_issue(ws, "2026-W47")
        assert len(issue.items) == 10, f"expected 10 articles, got {len(issue.items)}"
        related = sum(len(item.related) for item in issue.items)

        start = time.perf_counter()
        rendered = render_issue(ws, issue.id)
        cold_s = time.perf_counter() - start
        html_kb = len(rendered.html.encode()) / 1024
        render_s = timed(lambda: render_issue(ws, issue.id), 30)
        mjml_source = environment(ws).get_template(HTML_TEMPLATE).render(issue_context(ws, issue))
        mjml_s = timed(lambda: mjml_to_html(mjml_source), 30)

        template = PersonalisedTemplate(rendered.html, rendered.text)
        readers = [
            {"unsubscribe_url": f"https://news.example.com/unsubscribe/{i:032x}", "email": f"reader{i}@example.com",
             "name": f'Reader <{i}> & "friends"'}
            for i in range(20000)
        ]
        start = time.perf_counter()
        for fields in readers:
            template.fill(fields)
        fill_us = (time.perf_counter() - start) / len(readers) * 1e6
        start = time.perf_counter()
        for fields in readers[:5000]:
            personalise(rendered.html, rendered.text, fields)
        personalise_us = (time.perf_counter() - start) / 5000 * 1e6

        print(f"issue: 10 articles with {related} related links, HTML {html_kb:.1f} KB (limit 102 KB), text {len(rendered.text) / 1024:.1f} KB")
        print(f"render issue (Jinja2 + MJML, mjml-python): {render_s * 1000:.2f} ms (median of 30)")
        print(f"  of which MJML -> HTML (mjml-python):     {mjml_s * 1000:.2f} ms")
        print(f"  first render in a process (compiles the templates): {cold_s * 1000:.2f} ms")
        print(f"personalise one reader (PersonalisedTemplate.fill): {fill_us:.2f} µs")
        print(f"personalise one reader (personalise(), cached split): {personalise_us:.2f} µs")

        mjml_file = Path(tmp) / "issue.mjml"
        mjml_file.write_text(mjml_source, encoding="utf-8")
        official = official_mjml(mjml_file, 30)
        if official is not None:
            ratio = official["median_ms"] / (mjml_s * 1000)
            print(f"official MJML (npm mjml, Node {subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}): "
                  f"{official['median_ms']:.2f} ms for the same MJML ({official['bytes'] / 1024:.1f} KB HTML)")
            print(f"ratio official / mjml-python: {ratio:.1f}x (mjml-python is {ratio:.1f} times as fast)")
        from bench.harness import Figure, record

        node_ms = official["median_ms"] if official else None
        record("render", [
            Figure("render a 10-article issue, Jinja2 + MJML (ms)", render_s * 1000, node_ms, "ms",
                   "npm mjml, MJML step alone", higher_is_better=False),
            Figure("MJML -> HTML, the same MJML (ms)", mjml_s * 1000, node_ms, "ms", "npm mjml",
                   higher_is_better=False),
            Figure("personalise one reader (µs)", fill_us, None, "µs", higher_is_better=False),
        ], notes=f"medians of 30; HTML {html_kb:.1f} KB")


if __name__ == "__main__":
    main()
