"""The retailer page, the gateway simulator and the ops console in a real headless Chromium, against the real
`aeps serve` and `aeps gateway-sim` processes: a withdrawal from the page to the console, and the failure paths an
integrator meets (wrong access key, callback origin not allowed, a refusal by policy, the popup closed before the
result, a retailer without AePS activated)."""

import json
import os
import re
import shutil
import socket
import unittest
from datetime import datetime, timedelta, timezone
import urllib.request

from playwright.sync_api import expect, sync_playwright

from harness import OTHER_ACCESS_KEY, SCREENSHOTS, Installation, wait_until

IST = timezone(timedelta(hours=5, minutes=30))
FINAL_POPUP_STATES = re.compile(r"^(done|failed|refused|closing)$")


class Browser:
    playwright = None
    browser = None

    @classmethod
    def start(cls):
        if cls.browser is None:
            cls.playwright = sync_playwright().start()
            cls.browser = cls.playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        return cls.browser

    @classmethod
    def stop(cls):
        if cls.browser is not None:
            cls.browser.close()
            cls.playwright.stop()
            cls.browser = None


def tearDownModule():
    Browser.stop()


class GatewayFlowTests(unittest.TestCase):
    def setUp(self):
        self.installations = []
        self.problems_before = self._problems()
        # A device set to New York and US English: the receipt must still show Indian time.
        self.context = Browser.start().new_context(
            ignore_https_errors=True, timezone_id="America/New_York", locale="en-US", viewport={"width": 420, "height": 900})
        self.console_messages = []

    def tearDown(self):
        self.context.close()
        for installation in self.installations:
            if self._problems() > self.problems_before:
                print(f"\n--- logs of {installation.folder} ---\n{installation.logs()[-6000:]}")
            installation.stop()

    def _problems(self):
        """Errors and failures so far in this run (unittest keeps them on the result), to print the servers' logs
        after a test that failed."""
        result = getattr(getattr(self, "_outcome", None), "result", None)
        return len(getattr(result, "errors", [])) + len(getattr(result, "failures", [])) if result else 0

    def install(self, **kwargs):
        installation = Installation(**kwargs)
        self.installations.append(installation)
        return installation

    # --- What a retailer does -----------------------------------------------------------------------------------

    def signed_in_page(self, installation):
        page = self.context.new_page()
        page.on("console", lambda message: self.console_messages.append(message.text))
        page.goto(f"{installation.origin}/")
        page.fill("#user-code", installation.credentials["retailer_user_code"])
        page.fill("#password", installation.credentials["retailer_password"])
        page.click("#signin-button")
        expect(page.locator("#home")).to_be_visible()
        return page

    def open_gateway(self, page):
        with page.expect_popup() as opened:
            page.click("#open-gateway")
        popup = opened.value
        # The window opens blank (inside the click) and then receives the form POST.
        popup.wait_for_url(re.compile(r"/v2/aeps$"))
        popup.wait_for_load_state()
        return popup

    def transact(self, popup, service="2", amount="500", outcome="success", mobile="9876543210",
                 delivery=None, hook_message=None, scenario=None):
        expect(popup.locator("#sim-form")).to_be_visible()
        popup.check(f"#service-{service}")
        if service == "2":
            popup.fill("#amount", amount)
        popup.fill("#customer-mobile", mobile)
        popup.select_option("#outcome", outcome)
        if delivery is not None or hook_message is not None:
            popup.click("summary")
            if delivery is not None:
                popup.select_option("#delivery", delivery)
            if hook_message is not None:
                popup.set_checked("#send-hook-message", hook_message)
        if scenario is not None:
            popup.click("text=See Eko's errors")
            popup.select_option("#callback-scenario", scenario)
        if outcome == "closed":
            with popup.expect_event("close"):
                popup.click("#proceed")
            return "closed"
        popup.click("#proceed")
        expect(popup.locator("#sim-state")).to_have_text(FINAL_POPUP_STATES, timeout=30_000)
        return popup.text_content("#sim-state")

    def shot(self, page, name):
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"e2e-{name}.png"), full_page=True)

    # --- What an ops reviewer sees ------------------------------------------------------------------------------

    def console_timeline(self, installation, client_ref_id):
        page = self.context.new_page()
        page.set_viewport_size({"width": 1280, "height": 900})  # ops work at a desk
        page.goto(f"{installation.origin}/ops/login")
        page.fill("#name", installation.credentials["ops_name"])
        page.fill("#password", installation.credentials["ops_password"])
        page.click("#sign-in")
        page.goto(f"{installation.origin}/ops/transactions/{client_ref_id}")
        return page

    def wait_for_state(self, installation, client_ref_id, state, timeout=45):
        wait_until(f"{client_ref_id} to be {state}", lambda: installation.sql(
            f"SELECT state FROM aeps_transaction WHERE client_ref_id = '{client_ref_id}'") == [{"state": state}],
            timeout=timeout)

    def only_transaction(self, installation):
        rows = installation.sql("SELECT client_ref_id, decision, state, reason FROM aeps_transaction")
        self.assertEqual(len(rows), 1, rows)
        return rows[0]

    # --- The flow ------------------------------------------------------------------------------------------------

    def test_a_withdrawal_goes_from_the_page_to_the_console(self):
        """`make run`'s arrangement: the simulator runs inside `aeps serve`, beside it."""
        installation = self.install(gateway_sim={"run_with_server": True}).serve()
        page = self.signed_in_page(installation)
        popup = self.open_gateway(page)
        self.assertEqual(popup.url, f"{installation.sim_origin}/v2/aeps")
        self.assertEqual(self.transact(popup), "done", popup.inner_text("body"))
        self.shot(popup, "simulator-popup-done")

        expect(page.locator("#result")).to_be_visible()
        expect(page.locator("#result-status")).to_have_text("Successful")
        expect(page.locator("#r-service")).to_have_text("Cash withdrawal")
        expect(page.locator("#r-amount")).to_have_text(re.compile(r"₹\s?500(\.00)?"))
        expect(page.locator("#step-approved")).to_have_class(re.compile("done"))
        # The receipt's time is India's, whatever the device (New York, US English) is set to.
        receipt_time = page.text_content("#r-time")
        self.assertRegex(receipt_time, r"^\d{2}-\d{2}-\d{4} \d{2}:\d{2} IST$")
        shown = datetime.strptime(receipt_time[:-4], "%d-%m-%Y %H:%M").replace(tzinfo=IST)
        self.assertLess(abs((datetime.now(IST) - shown).total_seconds()), 180, receipt_time)
        # The state comes from the server: successful once Eko's inquiry confirmed it.
        expect(page.locator("#r-state")).to_have_text("Successful", timeout=30_000)
        self.shot(page, "page-withdrawal-result")

        row = self.only_transaction(installation)
        self.assertEqual(row["decision"], "approved")
        self.wait_for_state(installation, row["client_ref_id"], "settled")
        settlement = installation.sql("SELECT amount_paise, verified_by FROM settlement")
        self.assertEqual(settlement, [{"amount_paise": 50000, "verified_by": "inquiry"}])

        console = self.console_timeline(installation, row["client_ref_id"])
        expect(console.locator("body")).to_contain_text("settled")
        expect(console.locator("body")).to_contain_text(row["client_ref_id"])
        self.assertNotIn("9876543210", console.inner_text("body"), "the console shows the customer's mobile masked")
        self.shot(console, "console-settled-withdrawal")

    def test_undocumented_modes_each_reach_a_result(self):
        """Custom params only as body keys, or only as headers; with and without the debit-hook message."""
        installation = self.install().serve().gateway_sim()
        page = self.signed_in_page(installation)
        for delivery, hook_message in [("params", False), ("headers", False), ("both", True)]:
            with self.subTest(delivery=delivery, hook_message=hook_message):
                popup = self.open_gateway(page)
                state = self.transact(popup, amount="1000", delivery=delivery, hook_message=hook_message,
                                      mobile="9876500001")
                self.assertEqual(state, "done", popup.inner_text("body"))
                expect(page.locator("#result-status")).to_have_text("Successful")
                expect(page.locator("#r-amount")).to_have_text(re.compile(r"₹\s?1,?000(\.00)?"))
                expect(page.locator("#step-approved")).to_have_class(re.compile("done"))
                popup.close()
        rows = installation.sql("SELECT decision, gateway_session_id IS NOT NULL AS bound FROM aeps_transaction")
        self.assertEqual(rows, [{"decision": "approved", "bound": 1}] * 3)

    def test_a_mini_statement_shows_its_rows_and_moves_no_money(self):
        installation = self.install().serve().gateway_sim()
        page = self.signed_in_page(installation)
        popup = self.open_gateway(page)
        self.assertEqual(self.transact(popup, service="4"), "done", popup.inner_text("body"))
        expect(page.locator("#r-statement")).to_be_visible()
        expect(page.locator("#r-statement tbody tr")).to_have_count(5)
        expect(page.locator("#r-service")).to_have_text("Mini statement")
        row = self.only_transaction(installation)
        self.assertEqual(row["decision"], "approved")
        self.assertEqual(installation.sql("SELECT COUNT(*) AS n FROM settlement"), [{"n": 0}])

    # --- What goes wrong -----------------------------------------------------------------------------------------

    def test_a_wrong_access_key_is_refused_by_the_gateway_as_eko_would(self):
        installation = self.install().serve().gateway_sim(access_key=OTHER_ACCESS_KEY)
        page = self.signed_in_page(installation)
        popup = self.open_gateway(page)
        expect(popup.locator("#sim-eko-message")).to_have_text("Authentication for secret-key failed")
        self.shot(popup, "simulator-wrong-access-key")
        self.assertEqual(installation.sql("SELECT COUNT(*) AS n FROM aeps_transaction"), [{"n": 0}])

    def test_a_retailer_without_aeps_activated_is_refused(self):
        installation = self.install().serve().gateway_sim("--inactive-user-code", "20810200")
        page = self.signed_in_page(installation)
        popup = self.open_gateway(page)
        expect(popup.locator("#sim-eko-message")).to_have_text("Authentication Failed… Initiator access forbidden")

    def test_a_callback_that_does_not_allow_the_gateway_origin_fails_the_connection(self):
        """The callback URL points at another aeps, configured for UAT: it allows only Eko's UAT origin, so the
        browser refuses the simulator's cross-origin call and the popup says what Eko's does."""
        other = self.install(environment="uat").serve()
        installation = self.install(callback_url=f"{other.origin}/aeps/callback").serve().gateway_sim()
        page = self.signed_in_page(installation)
        popup = self.open_gateway(page)
        self.assertEqual(self.transact(popup), "failed")
        expect(popup.locator("#sim-eko-message")).to_have_text("Connection to callback server failed. Please try again")
        self.shot(popup, "simulator-cors-refused")
        # The browser sent the preflight only: nothing reached either server's decision.
        self.assertEqual(installation.sql("SELECT COUNT(*) AS n FROM aeps_transaction"), [{"n": 0}])
        self.assertEqual(other.sql("SELECT COUNT(*) AS n FROM aeps_transaction"), [{"n": 0}])

    def test_a_callback_that_never_answers_times_out_the_verification(self):
        """A callback host that accepts the connection and says nothing (a stalled proxy): the popup gives up after
        its wait, with Eko's words."""
        silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        self.addCleanup(silent.close)
        installation = self.install(
            callback_url=f"http://localhost:{silent.getsockname()[1]}/aeps/callback",
            gateway_sim={"verification_timeout_ms": 1500}).serve().gateway_sim()
        page = self.signed_in_page(installation)
        popup = self.open_gateway(page)
        self.assertEqual(self.transact(popup), "failed")
        expect(popup.locator("#sim-eko-message")).to_have_text("Transaction verification timeout")

    def test_every_callback_error_of_ekos_popup_can_be_seen_in_the_simulator(self):
        """The popup's misbehaving callbacks (on the simulator's other loopback name, so CORS applies): each gives
        the message Eko's popup gives for that mistake."""
        installation = self.install(gateway_sim={"verification_timeout_ms": 1500}).serve().gateway_sim()
        page = self.signed_in_page(installation)
        for scenario, message in [
            ("html", "Invalid response from callback server (Status = 200 OK)"),
            ("wrong-fields", "Invalid response from callback server (Status = 200 OK)"),
            ("server-error", "Invalid response from callback server (Status = 500 Internal Server Error)"),
            ("silent", "Transaction verification timeout"),
            ("no-cors", "Connection to callback server failed. Please try again"),
            ("reformatted-amount", "Authentication for request-hash failed"),
            ("other-key", "Authentication for secret-key failed"),
        ]:
            with self.subTest(scenario=scenario):
                popup = self.open_gateway(page)
                self.assertEqual(self.transact(popup, scenario=scenario), "failed", popup.inner_text("body"))
                expect(popup.locator("#sim-eko-message")).to_have_text(message)
                popup.close()
        # None of them reached aeps, and the simulated Eko executed nothing.
        self.assertEqual(installation.sql("SELECT COUNT(*) AS n FROM aeps_transaction"), [{"n": 0}])
        with urllib.request.urlopen(f"{installation.sim_origin}/sim/transactions.json", timeout=5) as answer:
            self.assertEqual(json.load(answer), [])

    def test_an_environment_that_does_not_match_the_gateway_fails_authentication_and_the_doctor_says_why(self):
        """environment uat while eko.gateway_origin still points at the simulator (a half-switched
        configuration): the gateway says "Error in authentication", and aeps doctor names the mismatch."""
        installation = self.install(environment="uat", simulator_origin=True).serve().gateway_sim()
        page = self.signed_in_page(installation)
        popup = self.open_gateway(page)
        expect(popup.locator("#sim-eko-message")).to_have_text("Error in authentication")
        expect(popup.locator("#sim-detail")).to_contain_text('environment is "uat"')
        doctor = installation.run("doctor", "--config", installation.config_path, "--json", check=False)
        checks = {check["id"]: check for check in json.loads(doctor.stdout)}
        self.assertIn(checks["environment"]["status"], ("warn", "fail"), checks["environment"])
        self.assertIn("gateway_origin", checks["environment"]["detail"] + checks["environment"]["fix"])

    def test_a_refusal_by_policy_is_shown_in_the_popup_and_nothing_is_executed(self):
        installation = self.install().serve().gateway_sim()
        page = self.signed_in_page(installation)
        popup = self.open_gateway(page)
        self.assertEqual(self.transact(popup, amount="120"), "refused")  # not a multiple of ₹50
        expect(popup.locator("#sim-refused-message")).not_to_be_empty()
        self.shot(popup, "simulator-refused")
        # The page hears it from the server (no message comes from the popup after a refusal).
        expect(page.locator("#refusal")).to_contain_text("Refused:")
        expect(page.locator("#step-approved")).to_have_class(re.compile("refused"))
        self.shot(page, "page-refused")
        row = self.only_transaction(installation)
        self.assertEqual(row["decision"], "refused")
        self.assertEqual(row["reason"], "amount_not_multiple")
        with urllib.request.urlopen(f"{installation.sim_origin}/sim/transactions.json", timeout=5) as answer:
            self.assertEqual(json.load(answer), [], "the simulated Eko executed nothing")

    def test_a_popup_closed_before_the_result_is_settled_by_the_sweeper(self):
        installation = self.install().serve().gateway_sim()
        page = self.signed_in_page(installation)
        popup = self.open_gateway(page)
        self.assertEqual(self.transact(popup, outcome="closed"), "closed")
        row = self.only_transaction(installation)
        self.assertEqual((row["decision"], row["state"]), ("approved", "approved"))
        self.assertEqual(installation.sql("SELECT COUNT(*) AS n FROM eko_response"), [{"n": 0}])
        # No eko-response ever came: the sweeper asks the simulated Eko after the grace period, and settles.
        expect(page.locator("#notice")).to_contain_text("closed before the result")
        self.wait_for_state(installation, row["client_ref_id"], "settled", timeout=60)
        expect(page.locator("#r-state")).to_have_text("Successful", timeout=30_000)
        expect(page.locator("#step-result")).to_have_class("done")
        self.shot(page, "page-closed-then-settled")
        console = self.console_timeline(installation, row["client_ref_id"])
        expect(console.locator("body")).to_contain_text("settled")


if __name__ == "__main__":
    unittest.main(verbosity=2)
