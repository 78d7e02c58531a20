import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// The console's HTML: mustache templates compiled into the binary (so `aeps serve` needs no template files),
/// every value escaped (`{{name}}`, never triple mustaches), one inline stylesheet allowed by its hash, and no
/// script at all.
enum OpsPages {
    /// The console's whole stylesheet: readable at 360 px, tables scroll sideways inside their own box.
    static let stylesheet = """
        *{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;\
        color:#1b1f24;background:#f5f6f8}header{background:#17324d;color:#fff;padding:.5rem .75rem;display:flex;\
        flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:space-between}header a{color:#fff;margin-right:.6rem;\
        white-space:nowrap}nav{display:flex;flex-wrap:wrap;gap:.25rem}main{padding:.75rem;max-width:1400px;margin:auto}\
        h1{font-size:1.3rem;margin:.25rem 0 .75rem}h2{font-size:1.1rem;margin:1.25rem 0 .5rem}\
        .scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;background:#fff;border:1px solid #d0d5dc}\
        table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{padding:.35rem .5rem;text-align:left;\
        vertical-align:top;border-bottom:1px solid #e3e6ea;white-space:nowrap}td.wrap{white-space:normal;\
        min-width:16rem;word-break:break-word}th{background:#eef1f4}td.num,th.num{text-align:right}\
        pre{white-space:pre-wrap;word-break:break-all;margin:.25rem 0;font-size:.8rem;background:#f3f4f6;padding:.35rem}\
        form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;margin-bottom:.75rem}\
        label{display:flex;flex-direction:column;font-size:.8rem;gap:.15rem}input,select,textarea,button{font:inherit;\
        padding:.35rem .45rem;max-width:100%}button{background:#17324d;color:#fff;border:0;border-radius:3px;\
        cursor:pointer}button.danger{background:#a12a2a}form.inline{display:inline}.notice{background:#fff6d6;\
        border:1px solid #e6cf7a;padding:.5rem}.error{background:#fde8e8;border:1px solid #e5a3a3;padding:.5rem}\
        .flag{background:#fde8e8;border-left:4px solid #a12a2a;padding:.5rem;margin:.5rem 0}\
        dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .75rem;background:#fff;padding:.6rem;\
        border:1px solid #d0d5dc}dt{font-weight:600}dd{margin:0;word-break:break-word}.actions{display:flex;\
        flex-wrap:wrap;gap:1rem;margin:.75rem 0}.actions form{background:#fff;border:1px solid #d0d5dc;padding:.5rem}\
        .login{max-width:22rem;margin:3rem auto;background:#fff;padding:1rem;border:1px solid #d0d5dc}\
        .login label{margin-bottom:.6rem}.muted{color:#5b6470}.pager{margin:.6rem 0}
        """

    /// `'sha256-…'` of the stylesheet, for the Content-Security-Policy.
    static let stylesheetHash = "'sha256-" + Data(SHA256.hash(data: Data(stylesheet.utf8))).base64EncodedString() + "'"

    /// Nothing but this page's own stylesheet and forms to this origin; no script, no framing by others.
    static let contentSecurityPolicy = [
        "default-src 'none'", "style-src \(stylesheetHash)", "img-src 'self'", "form-action 'self'",
        "frame-ancestors 'self'", "base-uri 'none'",
    ].joined(separator: "; ")

    static let head = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · aeps ops</title><style>\(stylesheet)</style></head>
        <body>
        {{#user}}<header><nav><a href="/ops">Overview</a><a href="/ops/transactions">Transactions</a>\
        <a href="/ops/stuck">Stuck</a><a href="/ops/settlements">Settlements</a><a href="/ops/retailers">Retailers</a>\
        <a href="/ops/callbacks">Callbacks</a><a href="/ops/audit">Audit</a><a href="/ops/doctor">Doctor</a>\
        <a href="/ops/troubleshooting">Troubleshooting</a></nav>
        <form method="post" action="/ops/logout" class="inline"><input type="hidden" name="csrf_token" value="{{csrf}}">\
        <span class="who">{{name}} ({{role}})</span> <button type="submit">Sign out</button></form></header>{{/user}}
        <main id="ops-{{page}}">
        <h1>{{title}}</h1>
        {{#notice}}<p class="notice" id="notice">{{notice}}</p>{{/notice}}

        """

    static let foot = """
        </main></body></html>

        """

    static let templates: [String: String] = [
        "login": """
            {{> head}}<form class="login" method="post" action="/ops/login">
            {{#error}}<p class="error" id="login-error">{{error}}</p>{{/error}}
            <input type="hidden" name="csrf_token" value="{{formToken}}">
            <label>Name <input name="name" id="name" autocomplete="username" required maxlength="64" value="{{nameTried}}"></label>
            <label>Password <input name="password" id="password" type="password" autocomplete="current-password" required maxlength="72"></label>
            <button type="submit" id="sign-in">Sign in</button></form>{{> foot}}
            """,
        "error": """
            {{> head}}<p class="error">{{message}}</p><p><a href="/ops">Back to the console</a></p>{{> foot}}
            """,
        "overview": """
            {{> head}}<dl>
            <dt>Kill switch</dt><dd id="kill-switch">{{#paused}}ON: every debit-hook is refused{{/paused}}{{^paused}}off: debit-hooks are decided by the policy{{/paused}}</dd>
            <dt>Waiting for Eko or a person</dt><dd><a href="/ops/stuck">{{stuck}} transactions</a> ({{flagged}} flagged)</dd>
            <dt>Database size</dt><dd id="database-size">{{databaseSize}} (file {{fileSize}}, write-ahead log {{walSize}})</dd>
            <dt>Last retention run</dt><dd id="retention">{{retention}}</dd>
            </dl>
            {{#canAct}}<div class="actions"><form method="post" action="/ops/kill-switch">
            <input type="hidden" name="csrf_token" value="{{csrf}}">
            <input type="hidden" name="state" value="{{#paused}}off{{/paused}}{{^paused}}on{{/paused}}">
            <label>Why (recorded in the audit log) <input name="note" maxlength="500"></label>
            <button type="submit" class="danger">{{#paused}}Turn the kill switch off{{/paused}}{{^paused}}Turn the kill switch on (refuse every debit-hook){{/paused}}</button>
            </form></div>{{/canAct}}{{> foot}}
            """,
        "transactions": """
            {{> head}}<form class="filters" method="get" action="/ops/transactions">
            <label>Search <input name="q" value="{{q}}" maxlength="64" placeholder="client_ref_id, tid, RRN, retailer, mobile"></label>
            <label>State <select name="state"><option value="">any</option>{{#states}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/states}}</select></label>
            <label>Type <select name="type"><option value="">any</option>{{#types}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/types}}</select></label>
            <label>Reason <input name="reason" value="{{reason}}" maxlength="40" size="14"></label>
            <label>From (IST day) <input name="from" type="date" value="{{from}}"></label>
            <label>To <input name="to" type="date" value="{{to}}"></label>
            <button type="submit">Show</button> <a href="/ops/export.csv?{{filterQuery}}">CSV</a> <a href="/ops/export.json?{{filterQuery}}">JSON</a>
            </form>
            {{> transactionTable}}
            {{#next}}<p class="pager"><a id="next-page" href="/ops/transactions?{{next}}">Older →</a></p>{{/next}}
            {{> foot}}
            """,
        "transactionTable": """
            <div class="scroll"><table><thead><tr><th>Decided (IST)</th>{{#showAge}}<th>Age</th>{{/showAge}}<th>client_ref_id</th>\
            <th>Retailer</th><th>Type</th><th class="num">Amount</th><th>Customer</th><th>Decision</th><th>State</th>\
            <th>Flag</th><th>Eko tid</th><th>Bank ref</th><th class="num">Settled</th></tr></thead><tbody>
            {{#rows}}<tr><td>{{decidedAt}}</td>{{#showAge}}<td>{{age}}</td>{{/showAge}}\
            <td><a href="/ops/transactions/{{clientRefIDPath}}">{{clientRefID}}</a></td><td>{{userCode}} {{retailerName}}</td>\
            <td>{{type}}</td><td class="num">{{amount}}</td><td>{{mobile}}</td><td>{{decision}} ({{reason}})</td>\
            <td>{{state}}</td><td>{{flag}}</td><td>{{tid}}</td><td>{{bankRef}}</td><td class="num">{{settled}}</td></tr>
            {{/rows}}{{^rows}}<tr><td colspan="13">No transactions match.</td></tr>{{/rows}}
            </tbody></table></div>
            """,
        "transaction": """
            {{> head}}<dl id="summary">
            <dt>client_ref_id</dt><dd>{{clientRefID}}</dd><dt>Retailer</dt><dd>{{userCode}} {{retailerName}}</dd>
            <dt>Service</dt><dd>{{type}}</dd><dt>Amount</dt><dd>{{amount}} (sent as “{{amountRaw}}”)</dd>
            <dt>Customer mobile</dt><dd>{{mobile}}</dd><dt>Aadhaar</dt><dd>{{aadhaar}}</dd>
            <dt>Decision</dt><dd>{{decision}}: {{reason}}{{#message}} (“{{message}}”){{/message}}</dd>
            <dt>State</dt><dd id="state">{{state}}</dd><dt>Eko tid</dt><dd>{{tid}}</dd><dt>Bank reference</dt><dd>{{bankRef}}</dd>
            <dt>Eko's latest answer</dt><dd>{{ekoAnswer}}</dd><dt>Money</dt><dd>{{money}}</dd>
            </dl>
            {{#flag}}<div class="flag" id="flag"><strong>{{reason}}</strong>: our side had “{{claimed}}”, Eko said “{{eko}}” ({{at}})</div>{{/flag}}
            {{#resolution}}<p class="notice" id="resolution">Resolved by {{by}} at {{at}}: {{note}}</p>{{/resolution}}
            {{#canAct}}<div class="actions">
            <form method="post" action="/ops/transactions/{{clientRefIDPath}}/inquire"><input type="hidden" name="csrf_token" value="{{csrf}}">
            <button type="submit">Ask Eko now (Transaction Inquiry)</button></form>
            <form method="post" action="/ops/transactions/{{clientRefIDPath}}/resolve"><input type="hidden" name="csrf_token" value="{{csrf}}">
            <label>Resolution note (required) <textarea name="note" rows="2" cols="30" maxlength="500" required></textarea></label>
            <button type="submit">Mark resolved</button></form></div>{{/canAct}}
            <h2>Timeline</h2>
            <div class="scroll"><table id="timeline"><thead><tr><th>When (IST)</th><th>What</th><th>Details</th></tr></thead><tbody>
            {{#events}}<tr><td>{{at}}</td><td>{{title}}</td><td class="wrap">{{#details}}{{.}}<br>{{/details}}{{#body}}<pre>{{body}}</pre>{{/body}}</td></tr>
            {{/events}}</tbody></table></div>{{> foot}}
            """,
        "stuck": """
            {{> head}}<p class="muted">Approved without a final answer, pending, on hold, refund pending, needs_attention
            or flagged, and not resolved by a person; oldest first.</p>
            {{> transactionTable}}{{> foot}}
            """,
        "settlements": """
            {{> head}}<form class="filters" method="get" action="/ops/settlements">
            <label>From (IST day) <input name="from" type="date" value="{{from}}"></label>
            <label>To <input name="to" type="date" value="{{to}}"></label><button type="submit">Show</button></form>
            <p class="muted">Settled withdrawals (Eko confirmed), reversals subtracted. Amounts in rupees from integer paise.</p>
            <h2>Per day</h2>{{#days}}{{> totalsTable}}{{/days}}
            <h2>Per retailer</h2>{{#retailers}}{{> totalsTable}}{{/retailers}}{{> foot}}
            """,
        "totalsTable": """
            <div class="scroll"><table><thead><tr><th>{{heading}}</th><th class="num">Settlements</th><th class="num">Settled</th>\
            <th class="num">Commission</th><th class="num">TDS</th><th class="num">Reversals</th><th class="num">Reversed</th>\
            <th class="num">Net</th></tr></thead><tbody>{{#totals}}<tr><td>{{key}} {{label}}</td><td class="num">{{settlements}}</td>\
            <td class="num">{{settled}}</td><td class="num">{{commission}}</td><td class="num">{{tds}}</td>\
            <td class="num">{{reversals}}</td><td class="num">{{reversed}}</td><td class="num">{{net}}</td></tr>
            {{/totals}}{{^totals}}<tr><td colspan="8">Nothing settled in this range.</td></tr>{{/totals}}</tbody></table></div>
            """,
        "retailers": """
            {{> head}}<div class="scroll"><table><thead><tr><th>User code</th><th>Name</th><th>State</th><th>Paused</th>\
            <th>Daily caps</th><th class="num">Open gateway sessions</th><th class="num">Page sign-ins</th>\
            <th class="num">Balance</th>{{#canAct}}<th>Actions</th>{{/canAct}}</tr></thead><tbody>
            {{#retailers}}<tr><td>{{userCode}}</td><td>{{name}}</td><td>{{state}}</td><td>{{paused}}</td><td>{{caps}}</td>\
            <td class="num">{{openSessions}}</td><td class="num">{{pageSignIns}}</td><td class="num">{{balance}}</td>
            {{#canAct}}<td><form method="post" action="/ops/retailers/{{userCodePath}}/{{toggleAction}}" class="inline">\
            <input type="hidden" name="csrf_token" value="{{csrf}}"><input name="note" maxlength="500" placeholder="why" size="10"> \
            <button type="submit"{{#active}} class="danger"{{/active}}>{{toggleLabel}}</button></form>
            <form method="post" action="/ops/retailers/{{userCodePath}}/revoke-sessions" class="inline">\
            <input type="hidden" name="csrf_token" value="{{csrf}}"><button type="submit">Revoke sessions</button></form></td>{{/canAct}}</tr>
            {{/retailers}}{{^retailers}}<tr><td colspan="9">No retailers registered.</td></tr>{{/retailers}}</tbody></table></div>{{> foot}}
            """,
        "callbacks": """
            {{> head}}<form class="filters" method="get" action="/ops/callbacks">
            <label>Origin <input name="origin" value="{{origin}}" maxlength="200"></label>
            <label>Action <input name="action" value="{{action}}" maxlength="40" size="12"></label>
            <label>Outcome <input name="outcome" value="{{outcome}}" maxlength="40" size="12"></label><button type="submit">Show</button></form>
            <div class="scroll"><table><thead><tr><th>Received (IST)</th><th>Source</th><th>Origin</th><th>Action</th><th>client_ref_id</th>\
            <th>HTTP</th><th>Outcome</th><th>Reason</th><th class="num">Latency</th><th>Body (masked)</th></tr></thead><tbody>
            {{#rows}}<tr><td>{{at}}</td><td>{{address}}</td><td>{{origin}}</td><td>{{action}}</td>\
            <td>{{#clientRefIDPath}}<a href="/ops/transactions/{{clientRefIDPath}}">{{clientRefID}}</a>{{/clientRefIDPath}}</td>\
            <td>{{status}}</td><td>{{outcome}}</td><td>{{reason}}</td><td class="num">{{latency}}</td>\
            <td class="wrap">{{#body}}<pre>{{body}}</pre>{{/body}}{{^body}}{{bytes}} bytes, not kept; SHA-256 {{digest}}{{/body}}</td></tr>
            {{/rows}}{{^rows}}<tr><td colspan="10">No callbacks match.</td></tr>{{/rows}}</tbody></table></div>
            {{#next}}<p class="pager"><a href="/ops/callbacks?{{next}}">Older →</a></p>{{/next}}{{> foot}}
            """,
        "doctor": """
            {{> head}}<p class="muted">The checks of <code>aeps doctor</code>, run now by this server with its own
            configuration and key (never shown). Read-only: nothing is changed.</p>
            <form class="filters" method="get" action="/ops/doctor">
            <label>User code (asks Eko whether AePS service 43 is active) <input name="user_code" value="{{userCode}}" maxlength="20" inputmode="numeric"></label>
            <button type="submit">Run again</button></form>
            <p id="doctor-summary">{{summary}}</p>
            <div class="scroll"><table id="doctor-checks"><thead><tr><th>Status</th><th>Check</th><th>Cause</th><th>Fix</th>\
            <th>Eko's documentation</th></tr></thead><tbody>
            {{#checks}}<tr id="check-{{id}}" class="status-{{status}}"><td><strong>{{statusLabel}}</strong></td><td>{{title}} ({{id}})</td>\
            <td class="wrap">{{detail}}</td><td class="wrap">{{fix}}</td><td><a href="{{link}}">{{link}}</a></td></tr>
            {{/checks}}</tbody></table></div>
            <p><a href="/ops/troubleshooting">What each gateway error means</a></p>{{> foot}}
            """,
        "troubleshooting": """
            {{> head}}<p class="muted">What Eko's gateway and server API say when something is wrong, why, how aeps
            prevents it, and how to check it (also in docs/troubleshooting.md).</p>
            {{#entries}}<section id="{{id}}"><h2>{{message}}</h2><dl>
            <dt>Seen in</dt><dd>{{seenIn}}</dd><dt>Cause</dt><dd>{{cause}}</dd><dt>How aeps prevents it</dt><dd>{{prevention}}</dd>
            <dt>How to check</dt><dd>{{howToCheck}}</dd><dt>Reproduce with the simulator</dt><dd>{{simulator}}</dd>
            <dt>Eko's documentation</dt><dd><a href="{{link}}">{{link}}</a></dd></dl></section>
            {{/entries}}{{> foot}}
            """,
        "audit": """
            {{> head}}<div class="scroll"><table><thead><tr><th>When (IST)</th><th>Who</th><th>Action</th><th>Target</th>\
            <th>Note</th><th>Outcome</th></tr></thead><tbody>
            {{#rows}}<tr><td>{{at}}</td><td>{{actor}}</td><td>{{action}}</td><td>{{target}}</td><td class="wrap">{{note}}</td>\
            <td>{{outcome}}</td></tr>
            {{/rows}}{{^rows}}<tr><td colspan="6">Nothing recorded yet.</td></tr>{{/rows}}</tbody></table></div>
            {{#next}}<p class="pager"><a href="/ops/audit?{{next}}">Older →</a></p>{{/next}}{{> foot}}
            """,
    ]

    /// Every template, parsed once at start.
    static let library: MustacheLibrary = {
        var parsed: [String: MustacheTemplate] = [:]
        for (name, text) in templates.merging(["head": head, "foot": foot], uniquingKeysWith: { $1 }) {
            // The templates are part of the program: a syntax error in one is a programming error.
            parsed[name] = try! MustacheTemplate(string: text)
        }
        return MustacheLibrary(templates: parsed)
    }()

    /// A value for a template section: the value, or `false` when there is none (a bare `nil` inside `Any` would
    /// count as present and open `{{#section}}`).
    static func optional<Value>(_ value: Value?) -> Any {
        if let value { return value }
        return false
    }

    /// An HTML answer: the template rendered with `values` (all escaped), the console's CSP, never cached.
    static func render(
        _ template: String, status: HTTPResponse.Status = .ok, _ values: [String: Any]
    ) -> Response {
        var values = values
        values["page"] = values["page"] ?? template
        let html = library.render(values, withTemplate: template) ?? "template \(template) missing"
        return Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy: contentSecurityPolicy,
            ],
            body: .init(byteBuffer: ByteBuffer(string: html))
        )
    }
}
