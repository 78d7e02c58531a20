/// One problem an integrator meets, as the console's `/ops/troubleshooting` page shows it; `docs/troubleshooting.md`
/// says the same in prose (a test reads both and checks every message appears on each).
public struct TroubleshootingEntry: Sendable {
    /// The anchor on the page (`#error-in-authentication`).
    public var id: String
    /// What the integrator sees, verbatim.
    public var message: String
    /// Where it is seen.
    public var seenIn: String
    public var cause: String
    /// What `aeps` does so that it does not happen.
    public var prevention: String
    /// How to check: `aeps doctor` check ids and console pages.
    public var howToCheck: String
    /// How to reproduce it with `aeps gateway-sim`.
    public var simulator: String
    public var link: String
}

/// Eko's error messages (protocol §10) and the common HTTP errors of its server API.
public enum Troubleshooting {
    public static let entries: [TroubleshootingEntry] = [
        TroubleshootingEntry(
            id: "error-in-authentication", message: "Error in authentication", seenIn: "the gateway popup",
            cause: "The form's environment does not match the gateway and keys (environment left as uat in production, "
                + "or production keys against UAT), or a wrong or stale secret_key / secret_key_timestamp.",
            prevention: "environment, gateway_url and the keys all come from one aeps.config; every gateway configuration "
                + "is signed fresh from the server's clock and expires (expires_at); the server refuses to start in "
                + "production with a public UAT key or developer key.",
            howToCheck: "aeps doctor checks environment, access_key and clock; console page /ops/doctor.",
            simulator: "Set environment to uat while eko.gateway_origin still points at the simulator (a half-switched "
                + "configuration; aeps doctor's environment check names it) and open the gateway; or post a form with a "
                + "stale secret_key_timestamp to `aeps gateway-sim`.",
            link: EkoDocs.authentication
        ),
        TroubleshootingEntry(
            id: "initiator-access-forbidden", message: "Authentication Failed… Initiator access forbidden",
            seenIn: "the gateway popup",
            cause: "AePS Gateway (service_code 43) is not activated for this retailer's user_code (or the retailer is not "
                + "onboarded under your initiator_id).",
            prevention: "aeps cannot activate services; it can ask Eko's User Services Enquiry whether service 43 is active.",
            howToCheck: "aeps doctor --user-code C (check user_services); console page /ops/doctor?user_code=C.",
            simulator: "Start `aeps gateway-sim --inactive-user-code C` and open the gateway as retailer C.",
            link: EkoDocs.activateService
        ),
        TroubleshootingEntry(
            id: "connection-to-callback-server-failed", message: "Connection to callback server failed. Please try again",
            seenIn: "the gateway popup",
            cause: "The retailer's browser could not use the callback: the server is down or unreachable, callback_url is "
                + "http:// under the https gateway page, or the CORS headers are missing or wrong (also when the preflight "
                + "does not allow the X-AePS-Session header, or a proxy answers OPTIONS itself or strips headers).",
            prevention: "aeps answers the preflight itself for the configured gateway origin (plus eko.extra_origins) with "
                + "POST, OPTIONS and Content-Type, X-AePS-Session, puts Access-Control-Allow-Origin on every answer "
                + "(errors too), and refuses to start in production with an http:// callback_url.",
            howToCheck: "aeps doctor checks cors, callback_url and tls; console pages /ops/doctor and /ops/callbacks "
                + "(does the call arrive at all, from which origin).",
            simulator: "In the popup choose “See Eko's errors” → “one without CORS headers”; or point callback_url at a "
                + "server that does not allow the simulator's origin (another aeps configured for uat), or stop `aeps serve`.",
            link: EkoDocs.cors
        ),
        TroubleshootingEntry(
            id: "invalid-response-status-200", message: "Invalid response from callback server (Status = 200 OK)",
            seenIn: "the gateway popup (the message ends with “(Status = 200 OK)”)",
            cause: "The callback answered, but not with JSON, or not with the field names and values Eko expects "
                + "(allow, secret_key, secret_key_timestamp, request_hash).",
            prevention: "Every callback answer is JSON built with Eko's exact field names, errors included.",
            howToCheck: "aeps doctor check callback_url (a probe POST must answer JSON); console page /ops/callbacks "
                + "shows each call's HTTP status and outcome.",
            simulator: "In the popup choose “See Eko's errors” → “one that answers HTML” or “… JSON without action, allow "
                + "and the signature” (“one that answers HTTP 500” gives Status = 500).",
            link: EkoDocs.webIntegration
        ),
        TroubleshootingEntry(
            id: "transaction-verification-timeout", message: "Transaction verification timeout", seenIn: "the gateway popup",
            cause: "The debit-hook answer did not arrive within the gateway's wait, or was not JSON.",
            prevention: "Each debit-hook is decided within policy.decision_budget_ms (default 3 s): when storage stalls, "
                + "aeps refuses with “try again” rather than letting the gateway time out.",
            howToCheck: "Console page /ops/callbacks (latency column) and GET /metrics (debit-hook latency); aeps doctor "
                + "check database (a locked or read-only database).",
            simulator: "In the popup choose “See Eko's errors” → “one that never answers” (the wait is "
                + "gateway_sim.verification_timeout_ms); or pause the server with kill -STOP and run a transaction.",
            link: EkoDocs.gatewayWorkflow
        ),
        TroubleshootingEntry(
            id: "secret-key-failed", message: "Authentication for secret-key failed", seenIn: "the gateway popup",
            cause: "secret_key was made with the wrong access key (the developer key used as the access key, a UAT key in "
                + "production) or with the wrong recipe (the HMAC key is the base64 text of the access key).",
            prevention: "One recipe, checked against Eko's published vectors at every start; the access key never comes "
                + "from aeps.config; the doctor compares it with the developer key and the public UAT keys.",
            howToCheck: "aeps doctor checks access_key and signing; `aeps sign --timestamp T` prints what aeps would send.",
            simulator: "Start `aeps gateway-sim` with a different EKO_ACCESS_KEY from the server's (the gateway form is "
                + "refused); or in the popup choose “See Eko's errors” → “one that signs with another access key”.",
            link: EkoDocs.authentication
        ),
        TroubleshootingEntry(
            id: "request-hash-failed", message: "Authentication for request-hash failed", seenIn: "the gateway popup",
            cause: "request_hash was computed over values that differ from what the gateway sent (500 reformatted as "
                + "500.00, another order, another request_hash_params list) or with the wrong key.",
            prevention: "Values are signed verbatim in the order of request_hash_params, in canonical form only; a hook "
                + "with an unexpected parameter list is refused (reason hash_params_unexpected).",
            howToCheck: "aeps doctor check signing; console page /ops/transactions/{client_ref_id} shows the decision and "
                + "its reason; `aeps sign --timestamp T --value V…` reproduces a hash.",
            simulator: "In the popup choose “See Eko's errors” → “one that signs the amount as 500.00” (aeps itself "
                + "signs the values verbatim, so it never causes this).",
            link: EkoDocs.authentication
        ),
        TroubleshootingEntry(
            id: "http-403", message: "HTTP 403 Forbidden", seenIn: "Eko's server API (Transaction Inquiry, User Services Enquiry)",
            cause: "Wrong access key or a stale secret-key-timestamp; often the developer key used instead of the access key.",
            prevention: "Every call is signed afresh from the server's clock; the inquiry records the 403 with this hint.",
            howToCheck: "aeps doctor checks access_key, clock and user_services (--user-code C); console transaction "
                + "timeline shows inquiries answered “forbidden”.",
            simulator: "Start `aeps gateway-sim` with a different EKO_ACCESS_KEY: its API answers 403 (aeps inquire "
                + "CLIENT_REF_ID shows it; aeps doctor --user-code C fails user_services).",
            link: EkoDocs.authentication
        ),
        TroubleshootingEntry(
            id: "http-402", message: "HTTP 402", seenIn: "Eko's server API",
            cause: "No developer_key header was sent.",
            prevention: "developer_key is a required key of aeps.config and is sent on every call.",
            howToCheck: "aeps doctor check config.",
            simulator: "Not produced by aeps's calls (they always send developer_key); the simulator's API answers it: "
                + "curl http://localhost:3004/ekoapi/v1/transactions/client_ref_id:X",
            link: EkoDocs.authentication
        ),
        TroubleshootingEntry(
            id: "http-404", message: "HTTP 404 Not Found", seenIn: "Eko's server API, or the callback",
            cause: "Wrong URL: another API base or version, a mistyped path, or a callback_url whose path is not the one "
                + "the server serves.",
            prevention: "The API base follows environment; the callback route is taken from callback_url's path.",
            howToCheck: "aeps doctor checks environment (eko.api_base overrides) and callback_url.",
            simulator: "Point callback_url at a path the server does not serve (the popup then fails to connect: the 404 "
                + "carries no CORS header), or set eko.api_base to a wrong path (aeps inquire shows the 404).",
            link: EkoDocs.backendIntegration
        ),
        TroubleshootingEntry(
            id: "http-405", message: "HTTP 405 Method Not Allowed", seenIn: "Eko's server API, or the callback",
            cause: "Wrong method: e.g. POST to the inquiry (it is GET), or GET to the callback (it takes POST and OPTIONS).",
            prevention: "aeps calls Eko's APIs with the documented methods; the callback mounts POST and OPTIONS only.",
            howToCheck: "aeps doctor check callback_url.",
            simulator: "Send a GET to the callback URL, or open http://localhost:3004/v2/aeps in a browser (the gateway "
                + "takes a form POST).",
            link: EkoDocs.backendIntegration
        ),
        TroubleshootingEntry(
            id: "http-415", message: "HTTP 415 Unsupported Media Type", seenIn: "Eko's server API",
            cause: "Wrong Content-Type for the call.",
            prevention: "aeps's calls are GETs that ask for application/json; its callback answers are application/json.",
            howToCheck: "Console page /ops/callbacks and the transaction timeline show each call's HTTP status.",
            simulator: "Not produced by aeps's calls; the simulator's gateway answers it to anything but a form: "
                + "curl -X POST -H 'Content-Type: application/json' -d '{}' http://localhost:3004/v2/aeps",
            link: EkoDocs.backendIntegration
        ),
    ]
}
