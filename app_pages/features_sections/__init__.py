"""The Features page's sections; app_pages/features.py draws them in order."""
