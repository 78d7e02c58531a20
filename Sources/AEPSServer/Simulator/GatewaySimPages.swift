import EkoSigning
import Foundation

/// The simulator's pages: the popup the gateway form opens, Eko's error page, and an index of what happened.
enum GatewaySimPages {
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }

    static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title><link rel="stylesheet" href="/sim/sim.css"></head>
        <body><header><strong>Eko AePS Gateway</strong> <span class="tag">simulator · environment local</span></header>
        <main>\(body)</main></body></html>
        """
    }

    /// Eko's popup error: its own words first, then what the simulator saw and the fix.
    static func failure(_ failure: GatewaySimulator.Failure, language: String) -> String {
        page(title: "AePS Gateway: error", body: """
            <section id="sim-failure" class="card error">
            <p id="sim-eko-message" class="eko">\(escape(failure.ekoMessage))</p>
            <p class="muted">What the simulator saw: <span id="sim-detail">\(escape(failure.detail))</span></p>
            <p class="muted">Fix: <span id="sim-fix">\(escape(failure.fix))</span></p>
            <p><a id="sim-link" href="\(escape(failure.link))" target="_blank" rel="noopener">\(escape(failure.link))</a></p>
            </section>
            <p id="sim-state" hidden>failed</p>
            """)
    }

    static func popup(opening: GatewaySimulator.Opening, settings: GatewaySimSettings) -> String {
        let config = JSONValue.object(JSONObject([
            .init(key: "id", value: .string(opening.id)),
            .init(key: "callback_url", value: .string(opening.callbackURL)),
            .init(key: "timeout_ms", value: .number(String(settings.verificationTimeoutMilliseconds))),
        ])).serialized().replacingOccurrences(of: "<", with: "\\u003c")
        let banks = GatewaySimulator.banks.map { "<option value=\"\($0.code)\">\(escape($0.name))</option>" }.joined()
        let outcomes: [(GatewaySimulator.Outcome, String)] = [
            (.success, "Success"), (.failure, "Failure (insufficient funds)"),
            (.pending, "Pending, succeeds after \(settings.pendingSeconds) s"),
            (.hold, "On hold, succeeds after \(settings.pendingSeconds) s"),
            (.closed, "Popup closed before the result (executed, not reported)"),
            (.error, "Error reply from the bank (no data)"),
        ]
        let outcomeOptions = outcomes.map { "<option value=\"\($0.0.rawValue)\">\(escape($0.1))</option>" }.joined()
        let deliveries: [(GatewaySimSettings.CustomDelivery, String)] = [
            (.both, "params as body keys and headers as headers"), (.params, "params as body keys only"),
            (.headers, "headers only"),
        ]
        let deliveryOptions = deliveries.map {
            "<option value=\"\($0.0.rawValue)\"\($0.0 == settings.customDelivery ? " selected" : "")>\(escape($0.1))</option>"
        }.joined()
        let scenarios: [(String, String)] = [
            ("", "callback_url, as Eko calls it"),
            ("html", "one that answers HTML (Status = 200 OK)"),
            ("wrong-fields", "one that answers JSON without action, allow and the signature"),
            ("server-error", "one that answers HTTP 500"),
            ("silent", "one that never answers (Transaction verification timeout)"),
            ("no-cors", "one without CORS headers (Connection to callback server failed)"),
            ("reformatted-amount", "one that signs the amount as 500.00 (request-hash failed)"),
            ("other-key", "one that signs with another access key (secret-key failed)"),
        ]
        let scenarioOptions = scenarios.map { "<option value=\"\($0.0)\">\(escape($0.1))</option>" }.joined()
        return page(title: "AePS Gateway", body: """
            <script type="application/json" id="sim-opening">\(config)</script>
            <p class="who"><span id="sim-partner">\(escape(opening.partnerName))</span> · retailer
              <span id="sim-user-code">\(escape(opening.userCode))</span> · language \(escape(opening.language))</p>
            <form id="sim-form" class="card">
              <fieldset><legend>Service</legend>
                <label><input type="radio" name="service" id="service-2" value="2" checked> Cash withdrawal</label>
                <label><input type="radio" name="service" id="service-3" value="3"> Balance enquiry</label>
                <label><input type="radio" name="service" id="service-4" value="4"> Mini statement</label>
              </fieldset>
              <label for="amount">Amount (₹, whole rupees)</label><input id="amount" inputmode="numeric" value="500">
              <label for="customer-mobile">Customer mobile</label><input id="customer-mobile" inputmode="numeric" value="9876543210">
              <label for="bank">Customer's bank</label><select id="bank">\(banks)</select>
              <label for="outcome">Outcome at Eko</label><select id="outcome">\(outcomeOptions)</select>
              <details><summary>What Eko does not document</summary>
                <label><input type="checkbox" id="send-hook-message"\(settings.sendDebitHookMessage ? " checked" : "")>
                  post the debit-hook event to the opener page</label>
                <label for="delivery">Custom callback data</label><select id="delivery">\(deliveryOptions)</select>
              </details>
              <details><summary>See Eko's errors: call a misbehaving callback instead</summary>
                <label for="callback-scenario">Callback to call</label><select id="callback-scenario">\(scenarioOptions)</select>
              </details>
              <p class="muted small">Fingerprint capture is simulated: no biometric data exists here.</p>
              <button type="submit" id="proceed">Proceed</button>
            </form>
            <ol id="sim-steps" class="steps"></ol>
            <section id="sim-failure" class="card error" hidden>
              <p id="sim-eko-message" class="eko"></p>
              <p class="muted">What the simulator saw: <span id="sim-detail"></span></p>
              <p class="muted">Fix: <span id="sim-fix"></span></p>
              <p><a id="sim-link" target="_blank" rel="noopener"></a></p>
            </section>
            <section id="sim-refused" class="card error" hidden><p class="eko" id="sim-refused-message"></p></section>
            <section id="sim-result" class="card" hidden>
              <p class="eko" id="sim-result-message"></p>
              <p>tx_status <span id="sim-result-status"></span> · tid <span id="sim-result-tid"></span>
                · amount ₹ <span id="sim-result-amount"></span></p>
              <button type="button" id="sim-close">Close</button>
            </section>
            <p id="sim-state" hidden>ready</p>
            <script src="/sim/popup.js"></script>
            """)
    }

    static func index(simulator: GatewaySimulator, events: [GatewaySimEvents.Event]) -> String {
        let settings = simulator.settings
        let formatter = ISO8601DateFormatter()
        let rows = simulator.recent().map { tx in
            "<tr><td>\(escape(tx.clientRefID))</td><td>\(escape(tx.tid))</td><td>\(escape(GatewaySimulator.serviceName(tx.type)))</td>"
                + "<td>\(Paise.format(tx.amountPaise))</td><td>\(tx.outcome.rawValue)</td><td>\(escape(tx.userCode))</td>"
                + "<td>\(formatter.string(from: tx.executedAt))</td></tr>"
        }.joined()
        let eventRows = events.prefix(50).map { event in
            "<tr><td>\(formatter.string(from: event.at))</td><td>\(escape(event.clientRefID))</td><td>\(escape(event.stage))</td>"
                + "<td>\(escape(event.message))</td></tr>"
        }.joined()
        return page(title: "AePS Gateway simulator", body: """
            <h1>Eko AePS Gateway simulator</h1>
            <p>A stand-in for Eko's gateway (form at <code>POST /v2/aeps</code>) and server APIs
            (<code>/ekoapi/v1/transactions/…</code>, <code>/ekoapi/v1/user/services/user_code:…</code>) for
            environment <code>local</code>. Open it from the retailer page: the popup calls your callback from this
            origin, so CORS is the browser's, and checks your signatures as Eko does. Transactions are kept in memory.</p>
            <p class="muted">Pending and held transactions succeed after \(settings.pendingSeconds) s ·
            the popup waits \(settings.verificationTimeoutMilliseconds) ms for a debit-hook answer ·
            inactive user codes: \(settings.inactiveUserCodes.isEmpty ? "none" : escape(settings.inactiveUserCodes.joined(separator: ", ")))</p>
            <h2>Executed</h2>
            <table><thead><tr><th>client_ref_id</th><th>tid</th><th>service</th><th>amount ₹</th><th>outcome</th>
            <th>user_code</th><th>at</th></tr></thead><tbody>\(rows)</tbody></table>
            <h2>What happened in the popups</h2>
            <table><thead><tr><th>at</th><th>client_ref_id</th><th>stage</th><th>message</th></tr></thead>
            <tbody>\(eventRows)</tbody></table>
            """)
    }

    static func summary(_ tx: GatewaySimulator.Executed) -> JSONValue {
        .object(JSONObject([
            .init(key: "client_ref_id", value: .string(tx.clientRefID)), .init(key: "tid", value: .string(tx.tid)),
            .init(key: "type", value: .number(String(tx.type))), .init(key: "amount", value: .string(Paise.format(tx.amountPaise))),
            .init(key: "outcome", value: .string(tx.outcome.rawValue)), .init(key: "user_code", value: .string(tx.userCode)),
        ]))
    }

    static let style = """
        body{font:16px/1.4 system-ui,sans-serif;margin:0;background:#f3f5f8;color:#1b2430}
        header{background:#0b5cab;color:#fff;padding:10px 14px}.tag{font-size:12px;opacity:.85;margin-left:6px}
        main{max-width:720px;margin:0 auto;padding:12px}.card{background:#fff;border-radius:8px;padding:14px;margin:10px 0;
        box-shadow:0 1px 3px rgba(0,0,0,.12)}label{display:block;margin:8px 0 2px}input,select{font:inherit;padding:6px;
        width:100%;box-sizing:border-box}input[type=radio],input[type=checkbox]{width:auto}fieldset{border:0;padding:0}
        button{font:inherit;padding:10px 18px;margin-top:12px;background:#0b5cab;color:#fff;border:0;border-radius:6px}
        .error{border-left:5px solid #c62828}.eko{font-size:18px;font-weight:600}.muted{color:#5a6573}.small{font-size:13px}
        .steps li{margin:4px 0}table{border-collapse:collapse;width:100%;font-size:13px;background:#fff}
        td,th{border:1px solid #d5dbe3;padding:4px 6px;text-align:left}code{background:#e8edf3;padding:0 3px}
        """

    /// The popup's behaviour: the debit-hook by a real cross-origin fetch (CORS is the browser's), Eko's checks
    /// done by the simulator, the eko-response, and both events posted to the opener.
    static let script = #"""
        (function () {
          'use strict';
          var opening = JSON.parse(document.getElementById('sim-opening').textContent);
          function $(id) { return document.getElementById(id); }
          function setState(text) { $('sim-state').textContent = text; }
          function step(text) { var li = document.createElement('li'); li.textContent = text; $('sim-steps').appendChild(li); }
          function post(path, body) {
            return fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
              .then(function (r) { return r.json(); });
          }
          function note(ref, stage, message) {
            post('/sim/openings/' + opening.id + '/event', { client_ref_id: ref || '', stage: stage, message: message })
              .catch(function () {});
          }
          function toOpener(action, detail) {
            if (window.opener && !window.opener.closed) {
              window.opener.postMessage({ eko_gateway_response: { action: action, detail: detail } }, '*');
            }
          }
          function showFailure(f) {
            $('sim-eko-message').textContent = f.eko_message;
            $('sim-detail').textContent = f.detail || '';
            $('sim-fix').textContent = f.fix || '';
            $('sim-link').textContent = f.link || '';
            if (f.link) { $('sim-link').setAttribute('href', f.link); }
            $('sim-failure').hidden = false;
            setState('failed');
          }
          function callback(url, body, headers, signal) {
            var all = { 'Content-Type': 'application/json' };
            for (var name in headers) { if (Object.prototype.hasOwnProperty.call(headers, name)) { all[name] = headers[name]; } }
            return fetch(url, { method: 'POST', mode: 'cors', credentials: 'omit', headers: all, body: body, signal: signal })
              .then(function (r) { return r.text().then(function (text) { return { status: r.status, statusText: r.statusText, text: text }; }); });
          }
          function value(id) { return $(id).value.replace(/^\s+|\s+$/g, ''); }

          $('sim-close').onclick = function () { window.close(); };
          $('sim-form').onsubmit = function (event) {
            event.preventDefault();
            $('proceed').disabled = true;
            setState('working');
            var type = document.querySelector('input[name="service"]:checked').value;
            var outcome = value('outcome');
            var delivery = value('delivery');
            var choice = { type: Number(type), amount: type === '2' ? value('amount') : '', customer_id: value('customer-mobile'),
              bank_code: value('bank'), delivery: delivery };
            var scenario = value('callback-scenario');
            post('/sim/openings/' + opening.id + '/hook', choice).then(function (plan) {
              if (!plan.ok) { $('proceed').disabled = false; showFailure(plan); return; }
              if (scenario) {
                // The simulator's other loopback name: another origin, so the browser applies CORS as for yours.
                var other = location.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
                plan.callback_url = location.protocol + '//' + other + ':' + location.port + '/sim/scenario-callback/' + scenario;
              }
              var ref = plan.client_ref_id;
              step('debit-hook ' + ref + ' sent to ' + plan.callback_url);
              if ($('send-hook-message').checked) { toOpener('debit-hook', plan.detail); }
              var controller = new AbortController();
              var timedOut = false;
              var timer = setTimeout(function () { timedOut = true; controller.abort(); }, opening.timeout_ms);
              callback(plan.callback_url, plan.body, plan.headers, controller.signal).then(function (answer) {
                clearTimeout(timer);
                step('callback answered HTTP ' + answer.status);
                return post('/sim/openings/' + opening.id + '/execute', { client_ref_id: ref, outcome: outcome, delivery: delivery,
                  http_status: answer.status, status_text: answer.statusText, answer_text: answer.text });
              }, function (error) {
                clearTimeout(timer);
                var f = timedOut
                  ? { eko_message: 'Transaction verification timeout',
                      detail: 'No answer from the callback within ' + opening.timeout_ms + ' ms.',
                      fix: 'Answer the debit-hook at once (aeps answers within policy.decision_budget_ms); check the server is up.',
                      link: 'https://developers.eko.in/docs/aeps-gateway-workflow' }
                  : { eko_message: 'Connection to callback server failed. Please try again',
                      detail: 'The browser could not complete the call from ' + location.origin + ' (' + String(error) +
                        '): CORS refused, server unreachable, certificate not trusted, or the callback_url is wrong.',
                      fix: 'Allow the origin ' + location.origin + ' on the callback (OPTIONS and POST answers with ' +
                        'Access-Control-Allow-Origin), check callback_url and the certificate; run aeps doctor.',
                      link: 'https://developers.eko.in/docs/enable-cors' };
                note(ref, 'debit-hook', f.eko_message + ': ' + f.detail);
                showFailure(f);
                return null;
              }).then(function (result) {
                if (!result) { return; }
                if (!result.ok && result.refused) {
                  $('sim-refused-message').textContent = result.message;
                  $('sim-refused').hidden = false;
                  step('refused by the callback');
                  setState('refused');
                  return;
                }
                if (!result.ok) { showFailure(result); return; }
                step('secret-key and request-hash verified; Eko executed the transaction, tid ' + result.tid);
                $('sim-form').hidden = true;
                if (outcome === 'closed') {
                  step('the window closes before the result');
                  setState('closing');
                  window.close();
                  return;
                }
                callback(plan.callback_url, result.body, plan.headers).then(function (answer) {
                  step('eko-response delivered: HTTP ' + answer.status);
                }, function (error) {
                  step('eko-response not delivered: ' + String(error));
                  note(ref, 'eko-response', 'not delivered: ' + String(error));
                }).then(function () {
                  toOpener('response', result.detail);
                  var response = result.detail.response || {};
                  var data = response.data || {};
                  $('sim-result-message').textContent = response.message || '';
                  $('sim-result-status').textContent = data.tx_status === undefined ? '-' : data.tx_status;
                  $('sim-result-tid').textContent = data.tid || result.tid;
                  $('sim-result-amount').textContent = data.amount || '-';
                  $('sim-result').hidden = false;
                  setState('done');
                });
              });
            }, function (error) {
              $('proceed').disabled = false;
              showFailure({ eko_message: 'Something went wrong', detail: String(error), fix: 'Is aeps gateway-sim still running?' });
            });
          };
        }());
        """#
}
