"""Runs carried to another machine or tool: class packs and TensorBoard event files.

    packs        a comparison's runs, metrics, analyses and checkpoints in one zip (``runs pack``),
                 and opening one into a store (``runs unpack``), checked before anything is written
    tensorboard  a run's curves and switches as TensorBoard event files (``runs export --tensorboard``)
"""
