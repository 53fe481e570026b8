"""Redraw the sample articles' cover images (``newsletter/samples/images/*.jpg``): flat illustrations drawn
as SVG here and photographed by headless Chromium.  Run by hand after changing a drawing::

    .venv/bin/python tools/draw_sample_images.py     # needs the test extra (Playwright) and Chromium

Each drawing is 400×200 user units, shot at 1136×568 pixels (twice the mail's 568 px column).
The alt text in each article's front matter describes its drawing.
"""

from __future__ import annotations

import sys
from pathlib import Path

IMAGES_DIR = Path(__file__).resolve().parent.parent / "newsletter" / "samples" / "images"
WIDTH, HEIGHT = 1136, 568

SKY = '<rect width="400" height="200" fill="{0}"/><rect y="130" width="400" height="70" fill="{1}"/>'
SUN = '<circle cx="{0}" cy="{1}" r="{2}" fill="{3}"/>'
HILLS = '<path d="M0 140 Q80 100 160 135 T320 125 T400 130 V200 H0Z" fill="{0}"/>'

DRAWINGS: dict[str, str] = {
    # A figure walking on a path beside low hills, one hand on the lower back.
    "lower-back-walk": SKY.format("#f6e7d2", "#9bb48a") + HILLS.format("#7d9d6e")
    + '<path d="M120 200 Q200 150 300 140" stroke="#e9dcc3" stroke-width="18" fill="none"/>'
    + '<circle cx="200" cy="72" r="9" fill="#3b3a36"/><path d="M200 82 L198 118 M198 118 L188 140 M198 118 L210 140'
      ' M200 92 L214 108 M200 92 L190 106 L196 112" stroke="#3b3a36" stroke-width="6" stroke-linecap="round" fill="none"/>',
    # An espresso cup on a saucer beside a gym bag.
    "espresso-gym-bag": SKY.format("#efe6da", "#b98a5e")
    + '<rect x="190" y="80" width="150" height="62" rx="18" fill="#2f4f57"/><path d="M225 80 Q265 45 305 80"'
      ' stroke="#2f4f57" stroke-width="8" fill="none"/><rect x="196" y="104" width="138" height="6" fill="#c8553d"/>'
    + '<ellipse cx="110" cy="142" rx="44" ry="8" fill="#f8f4ee"/><path d="M82 100 H138 L132 140 H88Z" fill="#f8f4ee"/>'
      '<path d="M138 108 Q156 112 136 128" stroke="#f8f4ee" stroke-width="6" fill="none"/>'
      '<ellipse cx="110" cy="101" rx="27" ry="4" fill="#5a3a22"/>',
    # A bowl of porridge topped with banana slices.
    "porridge-banana": SKY.format("#f3e4c8", "#d9c29c")
    + '<path d="M120 110 H280 Q276 170 200 172 Q124 170 120 110Z" fill="#3d6f78"/>'
      '<ellipse cx="200" cy="110" rx="80" ry="14" fill="#efe2c4"/>'
    + "".join(f'<circle cx="{x}" cy="{y}" r="9" fill="#f7e08a" stroke="#e6c65a" stroke-width="2"/>'
              for x, y in [(170, 106), (192, 112), (214, 105), (236, 111)]),
    # An empty squat rack with a bar resting on it and plates stacked beside it.
    "empty-squat-rack": SKY.format("#e4e7ea", "#9aa3ab")
    + '<rect x="140" y="40" width="10" height="110" fill="#40474d"/><rect x="250" y="40" width="10" height="110"'
      ' fill="#40474d"/><rect x="110" y="78" width="180" height="6" rx="3" fill="#8c969e"/>'
    + "".join(f'<rect x="{x}" y="{y}" width="60" height="9" rx="2" fill="{c}"/>'
              for x, y, c in [(300, 141, "#c8553d"), (305, 132, "#1d5c63"), (310, 123, "#c8553d")]),
    # Two figures running side by side on a park path under round trees.
    "easy-run-park": SKY.format("#dcefe9", "#8fbf7f") + HILLS.format("#6fa36a")
    + "".join(f'<circle cx="{x}" cy="92" r="24" fill="#3f7f4a"/><rect x="{x - 3}" y="110" width="6" height="28"'
              ' fill="#6b4f35"/>' for x in (50, 350))
    + "".join(f'<circle cx="{x}" cy="88" r="8" fill="{c}"/><path d="M{x} 97 L{x - 2} 124 M{x - 2} 124 L{x - 12} 142'
              f' M{x - 2} 124 L{x + 10} 140 M{x} 104 L{x + 12} 112 M{x} 104 L{x - 12} 114" stroke="{c}"'
              ' stroke-width="5" stroke-linecap="round" fill="none"/>' for x, c in [(180, "#2f3b40"), (222, "#8a3b2b")]),
    # A figure lying down, one leg raised straight with a strap around the foot.
    "hamstring-strap": SKY.format("#efe7f0", "#c9b7c9")
    + '<rect x="80" y="140" width="240" height="14" rx="4" fill="#5d7f86"/>'
      '<circle cx="110" cy="128" r="10" fill="#3b3a36"/><path d="M120 134 H220 M220 134 L290 134 M220 134 L250 50"'
      ' stroke="#3b3a36" stroke-width="8" stroke-linecap="round" fill="none"/>'
      '<path d="M150 130 L248 46" stroke="#c8553d" stroke-width="3" fill="none"/>',
    # A water bottle standing on a rock beside a winding trail.
    "water-bottle-trail": SKY.format("#e3eef3", "#a9b88f") + HILLS.format("#8aa37a")
    + '<path d="M60 200 Q140 150 110 130 T200 110" stroke="#e7dcc2" stroke-width="14" fill="none"/>'
    + '<ellipse cx="270" cy="150" rx="50" ry="16" fill="#8b8f92"/><rect x="255" y="78" width="30" height="66"'
      ' rx="8" fill="#3b8fb0"/><rect x="262" y="68" width="16" height="12" rx="3" fill="#1d3b40"/>',
    # A small dish of white tablets next to a glass of water.
    "magnesium-tablets": SKY.format("#e7eef0", "#c7d3d6")
    + '<ellipse cx="160" cy="140" rx="62" ry="16" fill="#9fb9c0"/>'
    + "".join(f'<ellipse cx="{x}" cy="{y}" rx="9" ry="5" fill="#ffffff" stroke="#b8c6ca"/>'
              for x, y in [(140, 134), (160, 138), (180, 133), (150, 128), (172, 126)])
    + '<path d="M240 62 H290 L284 150 H246Z" fill="#d8eef6" stroke="#9cc3d1" stroke-width="3"/>'
      '<path d="M243 90 H287 L284 150 H246Z" fill="#a9d6e8"/>',
    # A bowl of yoghurt with oats and berries.
    "yogurt-bowl": SKY.format("#f4ecee", "#d6c3b7")
    + '<path d="M125 108 H275 Q270 166 200 168 Q130 166 125 108Z" fill="#c8553d"/>'
      '<ellipse cx="200" cy="108" rx="75" ry="13" fill="#fbf8f4"/>'
    + "".join(f'<circle cx="{x}" cy="{y}" r="6" fill="{c}"/>' for x, y, c in
              [(175, 104, "#5b3a78"), (190, 110, "#b3263a"), (207, 103, "#5b3a78"), (222, 109, "#b3263a"),
               (238, 105, "#5b3a78")]),
    # Two figures walking along a river path under an autumn sky.
    "walk-by-the-river": SKY.format("#f4e3cf", "#b7a98a")
    + '<path d="M0 150 Q120 135 220 152 T400 146 V200 H0Z" fill="#5f8fa3"/>'
    + "".join(f'<circle cx="{x}" cy="96" r="8" fill="#3b3a36"/><path d="M{x} 105 L{x} 130 M{x} 130 L{x - 8} 146'
              f' M{x} 130 L{x + 8} 146" stroke="#3b3a36" stroke-width="5" stroke-linecap="round" fill="none"/>'
              for x in (170, 194))
    + "".join(f'<circle cx="{x}" cy="80" r="20" fill="#c8553d"/><rect x="{x - 3}" y="96" width="6" height="36"'
              ' fill="#6b4f35"/>' for x in (60, 320)),
    # An ice pack resting against a lower leg.
    "shin-ice": SKY.format("#e6f0f4", "#c2d2d8")
    + '<path d="M80 120 H250 Q290 120 300 150 H80Z" fill="#e0b89a"/><rect x="150" y="96" width="70" height="34"'
      ' rx="8" fill="#7cc3dd" stroke="#4f9dbb" stroke-width="3"/>',
    # A crescent moon over a dark bedroom window.
    "bedroom-dark": SKY.format("#1d2a3a", "#2c3848")
    + '<rect x="130" y="30" width="140" height="100" fill="#27405c" stroke="#6b7f94" stroke-width="4"/>'
      '<circle cx="215" cy="70" r="22" fill="#f4e9c8"/><circle cx="226" cy="62" r="20" fill="#27405c"/>'
    + "".join(f'<circle cx="{x}" cy="{y}" r="1.6" fill="#f4e9c8"/>' for x, y in [(150, 50), (175, 95), (250, 110)]),
    # A figure swinging one leg forward beside a fence post.
    "leg-swings": SKY.format("#e9efe0", "#a9bf8f")
    + '<rect x="230" y="80" width="8" height="70" fill="#6b4f35"/><rect x="180" y="94" width="120" height="6"'
      ' fill="#6b4f35"/><circle cx="200" cy="64" r="9" fill="#2f3b40"/><path d="M200 74 L200 110 M200 110 L196 148'
      ' M200 110 L232 130 M200 84 L226 96" stroke="#2f3b40" stroke-width="6" stroke-linecap="round" fill="none"/>',
    # A figure lying on a bed under a crescent moon, stretching a calf.
    "bedtime-calf-stretch": SKY.format("#263447", "#3a4a5e")
    + '<circle cx="330" cy="46" r="16" fill="#f4e9c8"/><circle cx="338" cy="40" r="15" fill="#263447"/>'
      '<rect x="70" y="124" width="260" height="26" rx="6" fill="#d8cbb5"/><circle cx="96" cy="112" r="9"'
      ' fill="#f0d7c0"/><path d="M106 118 H200 L270 96" stroke="#f0d7c0" stroke-width="7" stroke-linecap="round"'
      ' fill="none"/>',
    # A figure in a split squat, back knee near the floor.
    "split-squat": SKY.format("#f1e9dd", "#b9a58c")
    + '<circle cx="200" cy="56" r="9" fill="#2f3b40"/><path d="M200 66 L200 104 M200 104 L230 112 L232 146'
      ' M200 104 L176 132 L150 140 M200 76 L182 96 M200 76 L218 96" stroke="#2f3b40" stroke-width="6"'
      ' stroke-linecap="round" stroke-linejoin="round" fill="none"/><rect x="160" y="96" width="80" height="5"'
      ' rx="2" fill="#c8553d"/>',
}


def svg(name: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 200" width="{WIDTH}" height="{HEIGHT}">'
            f"{DRAWINGS[name]}</svg>")


def draw_all(folder: Path = IMAGES_DIR) -> list[Path]:
    """Shoot every drawing into ``folder`` as a JPEG; returns the files written."""
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        for name in DRAWINGS:
            page.set_content(f"<body style='margin:0'>{svg(name)}</body>")
            path = folder / f"{name}.jpg"
            page.screenshot(path=str(path), type="jpeg", quality=82)
            written.append(path)
        browser.close()
    return written


if __name__ == "__main__":
    for written_path in draw_all():
        sys.stdout.write(f"{written_path}\n")
