"""What only the Streamlit app needs, still free of Streamlit and tested on its own.

    live_view    the Degradation page served to a classroom: its views built once per change, shared
    run_picking  the runs the pages offer to compare: a flat table, checkpoints, a run's twin
    lesson_link  the Lab's settings in a page's URL (lesson links): read, checked, written back
    security     who may do what in a classroom: the teacher passcode, the data folders allowed
"""
