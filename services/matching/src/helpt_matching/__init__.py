"""Helpt matching service. Matches help requests with approved volunteers by area, task, language and competence."""
