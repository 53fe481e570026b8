"""Checks on rendered mail: WCAG contrast of every text in a real browser, light, dark and forced dark.

``text_colours(page)`` lists, for every element that shows text of its own, the computed text colour,
the colour of the nearest painted background behind it, and whether the text counts as large.
``force_outlook_dark(page)`` imitates Outlook.com's forced dark mode: it rewrites inline colours to its
own inverted ones and marks the elements with ``data-ogsc`` / ``data-ogsb``, as Outlook.com does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Screenshots of the rendered mail land here, for a person to look at (the tests always take them).
OUTPUT = Path(os.environ.get("MAIL_SCREENSHOTS") or Path(__file__).resolve().parent.parent / "test-output" / "mail")

_TEXT_COLOURS_JS = """
() => {
  const rgba = (s) => { const m = s.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || parseFloat(style.opacity) === 0) continue;
    let bg = null;
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = rgba(getComputedStyle(node).backgroundColor);
      if (c[3] > 0) { bg = c; break; }
    }
    if (!bg) bg = rgba(getComputedStyle(document.documentElement).backgroundColor || 'rgb(255,255,255)');
    out.push({text: own.slice(0, 60), tag: el.tagName.toLowerCase(), color: rgba(style.color), background: bg,
              size: parseFloat(style.fontSize), weight: parseInt(style.fontWeight, 10)});
  }
  return out;
}
"""

_FORCE_OUTLOOK_DARK_JS = """
() => {
  const parse = (s) => { const m = s.match(/[\\d.]+/g); return m ? m.slice(0, 3).map(Number) : null; };
  const lum = ([r, g, b]) => (0.299 * r + 0.587 * g + 0.114 * b) / 255;
  const flip = (rgb) => rgb.map(v => Math.round(255 - v * 0.9));  // light becomes dark and back, a little softened
  const wrapper = document.body.firstElementChild;
  wrapper.setAttribute('data-ogsc', ''); wrapper.setAttribute('data-ogsb', '');
  for (const el of document.body.querySelectorAll('*')) {
    const bg = el.style.backgroundColor || el.style.background || el.getAttribute('bgcolor');
    if (bg) {
      const rgb = parse(getComputedStyle(el).backgroundColor);
      if (rgb && lum(rgb) > 0.5) {
        el.setAttribute('data-ogsb', bg);
        el.style.setProperty('background-color', `rgb(${flip(rgb).join(',')})`);
        if (el.hasAttribute('bgcolor')) el.setAttribute('bgcolor', `rgb(${flip(rgb).join(',')})`);
      }
    }
    if (el.style.color) {
      const rgb = parse(getComputedStyle(el).color);
      if (rgb && lum(rgb) < 0.5) {
        el.setAttribute('data-ogsc', el.style.color);
        el.style.setProperty('color', `rgb(${flip(rgb).join(',')})`);
      }
    }
  }
  document.body.style.backgroundColor = 'rgb(32,31,30)';  // Outlook.com's own dark reading pane
}
"""


@dataclass(frozen=True)
class TextColour:
    """One piece of text as the browser paints it."""

    text: str
    tag: str
    color: tuple[float, ...]
    background: tuple[float, ...]
    size: float
    weight: int

    @property
    def large(self) -> bool:
        """WCAG large text: 24 px, or 18.66 px bold; it needs 3:1 instead of 4.5:1."""
        return self.size >= 24 or (self.size >= 18.66 and self.weight >= 700)

    @property
    def needed(self) -> float:
        return 3.0 if self.large else 4.5

    @property
    def ratio(self) -> float:
        return contrast(self.color, self.background)


def _channel(value: float) -> float:
    value /= 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def _blend(front: tuple[float, ...], back: tuple[float, ...]) -> tuple[float, ...]:
    alpha = front[3] if len(front) > 3 else 1.0
    return tuple(front[i] * alpha + back[i] * (1 - alpha) for i in range(3))


def luminance(rgb: tuple[float, ...]) -> float:
    r, g, b = (_channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(color: tuple[float, ...], background: tuple[float, ...]) -> float:
    """WCAG 2 contrast ratio of ``color`` (alpha blended onto the background) on ``background``."""
    light, dark = sorted([luminance(_blend(color, background)), luminance(background)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_colours(page) -> list[TextColour]:
    return [TextColour(d["text"], d["tag"], tuple(d["color"]), tuple(d["background"]), d["size"], d["weight"])
            for d in page.evaluate(_TEXT_COLOURS_JS)]


def low_contrast(page) -> list[str]:
    """Every text below its WCAG AA contrast, described; empty when all pass."""
    return [f"{t.tag} {t.text!r}: {t.ratio:.2f}:1 < {t.needed} (colour {t.color} on {t.background})"
            for t in text_colours(page) if t.ratio < t.needed]


def force_outlook_dark(page) -> None:
    page.evaluate(_FORCE_OUTLOOK_DARK_JS)


def save_shot(page, name: str, *, full_page: bool = True) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
