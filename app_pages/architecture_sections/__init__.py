"""The Architecture page's sections; app_pages/architecture.py draws them in order."""
