"""Tickets, counters, calling and the lobby display: the office floor.

Named ``queueing`` because a top-level ``queue`` package would shadow the
standard library module that APScheduler and concurrent.futures import.
"""
