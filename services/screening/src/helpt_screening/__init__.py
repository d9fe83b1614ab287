"""Helpt screening service. Vets volunteers before they are sent to anyone: cases, pre-checks, decisions."""
