"""The Lab page's sections, one file each; app_pages/lab.py draws them in order.

The Lab is the one page that changes things (starts, stops, resumes, deletes runs, fetches data
sets), so its sections are longer than the other pages': here each lives in a file of its own.
"""

REFRESH_SECONDS = 2  # the queue and the download panel redraw themselves this often while something runs


def tab_id() -> str | None:
    """This browser tab's session id: the per-tab caps on queued runs and jobs count against it."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    return context.session_id if context is not None else None
