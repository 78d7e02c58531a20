import AEPSServer
import EkoSigning
import Foundation
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import NIOConcurrencyHelpers
import Testing

/// The page's sign-in throttle, through HTTP: attempts are reserved before the password is checked, delays grow
/// per (account, address) pair, one address is limited across accounts, and nobody can lock a retailer out of
/// its own address. Time moves with an injected clock; addresses come from `X-Forwarded-For` (trusted here).
@Suite struct SignInThrottleTests {
    static let password = "correct horse battery"
    static let retailerAddress = "203.0.113.7"
    static let attackerAddress = "198.51.100.66"

    /// A server behind a "trusted proxy", with one retailer whose page password is `password`.
    func server(bcryptCost: UInt8 = 4) async throws -> TestServer {
        let server = try TestServer(overrides: ["http": #"{"trust_forwarded_for": true}"#])
        try await server.addRetailer()
        try await server.database.setRetailerPassword(
            userCode: "20810200", passwordHash: Bcrypt.hash(Self.password, cost: bcryptCost), now: pinnedNow
        )
        return server
    }

    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var retryAfter: String?
        var json: JSONValue
    }

    func login(
        _ client: some TestClientProtocol, userCode: String = "20810200", password: String, from address: String
    ) async throws -> Answer {
        let body = #"{"user_code": "\#(userCode)", "password": "\#(password)"}"#
        return try await client.execute(
            uri: "/api/login", method: .post,
            headers: [.contentType: "application/json", .init("X-Forwarded-For")!: address],
            body: ByteBuffer(string: body)
        ) { response in
            Answer(
                status: response.status, retryAfter: response.headers[.retryAfter],
                json: (try? JSONValue.parse(String(buffer: response.body))) ?? .null
            )
        }
    }

    @Test func parallelWrongGuessesCannotAllPassTheThrottle() async throws {
        // A slower hash widens the window between counting and checking that parallel guesses used to slip through.
        let server = try await server(bcryptCost: 10)
        // Real sockets and a pool of connections, so the guesses really are handled at the same time.
        let answers = try await server.makeApp().test(.ahc(.http)) { client in
            try await withThrowingTaskGroup(of: Answer.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await login(client, password: "guess guess", from: Self.attackerAddress) }
                }
                var answers: [Answer] = []
                for try await answer in group { answers.append(answer) }
                return answers
            }
        }
        let checked = answers.filter { $0.status == .unauthorized }
        let delayed = answers.filter { $0.status == .tooManyRequests }
        #expect(checked.count == 5, "\(answers.map(\.status))")
        #expect(delayed.count == 15)
        for answer in delayed {
            #expect(answer.json["error"] == .string("too_many_attempts"))
            #expect(answer.retryAfter == "30")
        }
        // Only the admitted guesses are attempts, each with its outcome; none is left pending.
        let stored = try await server.rows("SELECT outcome, remote_address FROM login_attempt")
        #expect(stored.count == 5)
        #expect(stored.allSatisfy { $0["outcome"] == "failed" && $0["remote_address"] == Self.attackerAddress })
    }

    @Test func theDelayDoublesWithEachFurtherFailureUpToFifteenMinutes() async throws {
        let server = try await server()
        let clock = ManualClock()
        try await server.makeApp(clock: { clock.now }).test(.router) { client in
            for _ in 0..<5 {
                #expect(try await login(client, password: "guess guess", from: Self.retailerAddress).status == .unauthorized)
            }
            for delay in [30, 60, 120, 240, 480, 900, 900] {
                let delayed = try await login(client, password: "guess guess", from: Self.retailerAddress)
                #expect(delayed.status == .tooManyRequests)
                #expect(delayed.retryAfter == String(delay))
                clock.advance(Double(delay - 1))
                // Even the right password waits: the throttle answers before anything is checked.
                let early = try await login(client, password: Self.password, from: Self.retailerAddress)
                #expect(early.status == .tooManyRequests)
                #expect(early.retryAfter == "1")
                clock.advance(1)
                #expect(try await login(client, password: "guess guess", from: Self.retailerAddress).status == .unauthorized)
            }
            let longest = try await login(client, password: "guess guess", from: Self.retailerAddress)
            #expect(longest.json["message"] == .string("Too many failed sign-ins. Please wait 15 minutes and try again."))
            clock.advance(900)
            #expect(try await login(client, password: Self.password, from: Self.retailerAddress).status == .ok)
            // A success starts the pair afresh: five free failures again, then the first delay.
            for _ in 0..<5 {
                #expect(try await login(client, password: "guess guess", from: Self.retailerAddress).status == .unauthorized)
            }
            let again = try await login(client, password: "guess guess", from: Self.retailerAddress)
            #expect(again.retryAfter == "30")
            #expect(again.json["message"] == .string("Too many failed sign-ins. Please wait 30 seconds and try again."))
        }
    }

    @Test func guessesFromElsewhereNeverKeepTheRetailerOutOfItsOwnAddress() async throws {
        let server = try await server()
        let clock = ManualClock()
        try await server.makeApp(clock: { clock.now }).test(.router) { client in
            // An attacker guesses whenever the throttle lets it, for hours.
            var attackerGuesses = 0
            for _ in 0..<40 {
                let guess = try await login(client, password: "guess guess", from: Self.attackerAddress)
                if guess.status == .unauthorized {
                    attackerGuesses += 1
                } else {
                    #expect(guess.status == .tooManyRequests)
                    clock.advance(Double(try #require(guess.retryAfter.flatMap(Int.init))))
                }
                let retailer = try await login(client, password: Self.password, from: Self.retailerAddress)
                #expect(retailer.status == .ok)
            }
            // Those few guesses cost the attacker hours of waiting.
            #expect(attackerGuesses < 25)
            #expect(clock.now.timeIntervalSince(pinnedNow) > 2 * 3600)
            // A slip of the retailer's own still has its free failures.
            #expect(try await login(client, password: "typo typo", from: Self.retailerAddress).status == .unauthorized)
            #expect(try await login(client, password: Self.password, from: Self.retailerAddress).status == .ok)
        }
    }

    @Test func oneAddressIsLimitedAcrossAccountsForAWindow() async throws {
        let server = try await server()
        let clock = ManualClock()
        try await server.makeApp(clock: { clock.now }).test(.router) { client in
            for index in 0..<20 {
                let guess = try await login(client, userCode: "7000\(index)", password: "guess guess", from: Self.attackerAddress)
                #expect(guess.status == .unauthorized)
            }
            let limited = try await login(client, userCode: "80000", password: "guess guess", from: Self.attackerAddress)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.retryAfter == "900")
            // Another address is not affected.
            #expect(try await login(client, password: Self.password, from: Self.retailerAddress).status == .ok)
            clock.advance(899)
            #expect(try await login(client, userCode: "80000", password: "guess guess", from: Self.attackerAddress).retryAfter == "1")
            clock.advance(1)
            #expect(try await login(client, userCode: "80000", password: "guess guess", from: Self.attackerAddress).status == .unauthorized)
        }
    }

    @Test func aDelayedUnknownAccountGetsTheSameAnswerAsADelayedRealOne() async throws {
        let server = try await server()
        try await server.makeApp().test(.router) { client in
            for userCode in ["20810200", "99999999"] {
                for _ in 0..<5 {
                    let wrong = try await login(client, userCode: userCode, password: "guess guess", from: Self.attackerAddress)
                    #expect(wrong.status == .unauthorized)
                    #expect(wrong.json["error"] == .string("invalid_credentials"))
                }
            }
            let real = try await login(client, userCode: "20810200", password: "guess guess", from: Self.attackerAddress)
            let unknown = try await login(client, userCode: "99999999", password: "guess guess", from: Self.attackerAddress)
            #expect(real.status == .tooManyRequests)
            #expect(unknown.status == real.status)
            #expect(unknown.retryAfter == real.retryAfter)
            #expect(unknown.json == real.json)
        }
    }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let current = NIOLockedValueBox(pinnedNow)

    var now: Date { current.withLockedValue { $0 } }

    func advance(_ seconds: TimeInterval) {
        current.withLockedValue { $0 = $0.addingTimeInterval(seconds) }
    }
}
