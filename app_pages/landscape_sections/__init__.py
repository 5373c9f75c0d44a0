"""The Loss landscape page's sections; app_pages/landscape.py draws them."""
