"""Turning what a server (or a Bundle, or a file) answers into the core's encounter.

Plans the rounds of reads an encounter needs and assembles the results. May import the
``fhir`` room and the core; no other room.
"""
