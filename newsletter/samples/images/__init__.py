"""Cover images of the sample articles (JPEG), drawn by ``newsletter/samples/draw_images.py``."""
