"""ResNet Lab's library: models, data, training, run store and probes for
"Deep Residual Learning for Image Recognition" (He et al., 2015).

It knows nothing about Streamlit: the app (app.py, app_pages/) and the CLI
(python -m resnet_edu) both call into it.
"""

__version__ = "0.1.0"
