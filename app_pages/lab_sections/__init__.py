"""The Lab page's sections, one file each; app_pages/lab.py draws them in order.

The Lab is the one page that changes things (starts, stops, resumes, deletes runs, fetches data
sets), so its sections are longer than the other pages': here each lives in a file of its own.
"""

REFRESH_SECONDS = 2  # the queue and the download panel redraw themselves this often while something runs

