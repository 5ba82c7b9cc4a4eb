"""Helpers shared by the test modules (no test module imports another, nor conftest.py).

admission     answers to the admission questions that admit (API and kiosk form)
api           the JSON API as the API tests call it: Plzeň's flats, free starts, a body
apps          test apps: their configuration, the migrated demo database, make_app
bookings      a booking read back by its manage token
chromium      Debian's Chromium through Playwright, or a skip
ci            whether the suite runs in CI (then a missing server fails instead of skipping)
factories     fixtures make_office, make_service, make_booking, make_ticket (a conftest plugin)
floor         the office floor: devices, clerks, tickets, as the floor tests work it
forms         the resident's forms: CSRF tokens, the booking form, manage tokens, local starts
live_floor    a live floor over real HTTP and gunicorn (pytest-free: bench/ imports it)
live_server   the app served over real HTTP in this process
mailbox       a real SMTP server (aiosmtpd), and the outbox folder of .eml files
office_files  an office file (TOML) for `flask offices import`
page_checks   axe-core and forms that send each field once, in a browser page
payloads      the JSON body of a booking through the API
ports         a free TCP port
postgres      the shared PostgreSQL: databases from a template, dropped after
race          many threads released at the same instant
services      throwaway PostgreSQL and Redis servers a test owns
waiting       waiting for a condition, never for a while
"""
