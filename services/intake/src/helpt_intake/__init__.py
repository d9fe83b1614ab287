"""Helpt intake service. Where every request for help and every offer arrives: web forms, phone console, e-mail, API."""
