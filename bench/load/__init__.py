"""`make load`: the distributed shape of Strata (API processes, a job worker, PostgreSQL, Redis and
the Stripe stand-in) under locust's main user journeys, with a pass/fail report. See README.md here."""
