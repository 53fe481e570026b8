"""Cover images of the sample articles (JPEG), drawn by ``tools/draw_sample_images.py``."""
