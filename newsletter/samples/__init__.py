"""Sample content of the fictional blog "Weekly Training Notes", written for the demo and the tests.

``articles/`` holds Markdown articles over ISO weeks 2026-W45 to W47; ``feed.xml`` (RSS 2.0),
``page.html`` (a full blog page) and ``saved-page.txt`` (a page saved as plain text) are the
other kinds of source the importer reads.  ``images/`` holds the articles' cover images (drawn by
``tools/draw_sample_images.py``); the articles name them under :data:`IMAGE_BASE`, which the demo points at its own server.
"""

from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent
ARTICLES_DIR = SAMPLES_DIR / "articles"
FEED = SAMPLES_DIR / "feed.xml"
PAGE = SAMPLES_DIR / "page.html"
SAVED_PAGE = SAMPLES_DIR / "saved-page.txt"
IMAGES_DIR = SAMPLES_DIR / "images"
IMAGE_BASE = "https://blog.example.com/images/"  # where the sample articles say their images are
