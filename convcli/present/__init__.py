"""View models shared by every view: numpy only, no rich, no Pillow."""
