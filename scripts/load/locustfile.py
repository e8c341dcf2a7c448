"""
The load of scripts/load-test: signed-in people reading the main pages and the API as
fast as the server answers (no think time), so that 64 users are 64 open connections.

Each simulated user is one of the demo accounts (LOAD_PASSWORD), in turn an analyst, the
Caribbean coordinator and Jamaica's focal point, and requests what that role uses. Each
account signs in once and its users share that session: 64 sign-ins would spend the run
hashing passwords (a deliberate fraction of a second each) rather than serving pages. A
response counts as a failure unless it is 200.
"""

import itertools
import os
import re

from gevent.lock import Semaphore
from locust import HttpUser, constant, task

PASSWORD = os.environ["LOAD_PASSWORD"]
ACCOUNTS = itertools.cycle(["analyst", "coordinator", "focal-jam"])
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# Each account's session cookies, once signed in; the lock keeps its other users waiting meanwhile.
SESSIONS = {}
SIGNING_IN = {}


class Reader(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.username = next(ACCOUNTS)
        with SIGNING_IN.setdefault(self.username, Semaphore()):
            if self.username not in SESSIONS:
                self.sign_in()
                SESSIONS[self.username] = self.client.cookies.get_dict()
        self.client.cookies.update(SESSIONS[self.username])

    def sign_in(self):
        page = self.client.get("/accounts/login/", name="login page")
        token = CSRF.search(page.text).group(1)
        response = self.client.post(
            "/accounts/login/",
            {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            name="login",
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"{self.username} could not sign in: HTTP {response.status_code}")

    @task(3)
    def overview(self):
        self.client.get("/", name="/ (overview)")

    @task(3)
    def region(self):
        self.client.get("/regions/caribbean/", name="/regions/caribbean/")

    @task(3)
    def state(self):
        self.client.get("/states/JAM/", name="/states/JAM/")

    @task(2)
    def own_page(self):
        if self.username == "focal-jam":
            self.client.get("/my-state/", name="/my-state/")
        else:
            self.client.get("/regions/caribbean/?domain=uas", name="/regions/caribbean/?domain=uas")

    @task(4)
    def api_ratings(self):
        self.client.get("/api/v1/ratings/?state=JAM&page_size=100", name="/api/v1/ratings/?state=JAM")

    @task(2)
    def api_states(self):
        self.client.get("/api/v1/states/", name="/api/v1/states/")

    @task(1)
    def health(self):
        self.client.get("/healthz", name="/healthz")
