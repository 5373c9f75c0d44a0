"""The pages' longer prose, in English and Korean, one module per page.

Each entry is ``dict(en=..., ko=...)``, drawn with ``ui.t(**entry)``; prose with numbers or names
filled in is a small function that returns such a dict. Short labels (a button, a column name)
stay next to the widget that shows them, so a page's file reads as the sequence of what it shows.
"""
