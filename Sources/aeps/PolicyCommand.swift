import AEPSServer
import ArgumentParser
import EkoSigning
import Foundation

struct KillSwitch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill-switch",
        abstract: "Stop (on) or allow again (off) every debit-hook, or one retailer's with --user-code.",
        discussion: "Takes effect on the next debit-hook: the running server reads the switch from the database."
    )

    @OptionGroup var options: ConfigOptions
    @Argument(help: ArgumentHelp("on or off.", valueName: "on|off")) var state: String
    @Option(help: ArgumentHelp("Only this retailer's Eko user_code.", valueName: "code")) var userCode: String?

    func validate() throws {
        guard ["on", "off"].contains(state) else { throw ValidationError("state: expected on or off, got \"\(state)\"") }
        if let userCode { try validateUserCode(userCode) }
    }

    func run() async throws {
        let database = try openDatabase(options)
        if let userCode {
            let retailer = try await database.setRetailerPaused(userCode: userCode, paused: state == "on", now: Date())
            print("kill switch \(state) for retailer \(retailer.userCode) (\(retailer.name))")
        } else {
            try await database.setServicePaused(state == "on", now: Date())
            print(state == "on" ? "kill switch on: every debit-hook is refused" : "kill switch off: debit-hooks are decided by the policy")
        }
    }
}

struct SetCaps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-caps",
        abstract: "Set a retailer's daily cash-withdrawal caps (count and amount), or 'default' for the policy's."
    )

    @OptionGroup var options: ConfigOptions
    @Option(help: ArgumentHelp("The retailer's Eko user_code.", valueName: "code")) var userCode: String
    @Option(help: ArgumentHelp("Approved withdrawals per Indian day, or 'default'.", valueName: "n|default"))
    var dailyCount: String
    @Option(help: ArgumentHelp("Rupees of approved withdrawals per Indian day, or 'default'.", valueName: "rupees|default"))
    var dailyAmount: String

    func validate() throws {
        try validateUserCode(userCode)
        if dailyCount != "default", Int(dailyCount).map({ (0...100_000).contains($0) }) != true {
            throw ValidationError("--daily-count: expected a whole number from 0 to 100000 or 'default', got \"\(dailyCount)\"")
        }
        if dailyAmount != "default", Int(dailyAmount).map({ (0...100_000_000).contains($0) }) != true {
            throw ValidationError("--daily-amount: expected whole rupees from 0 to 100000000 or 'default', got \"\(dailyAmount)\"")
        }
    }

    func run() async throws {
        let retailer = try await openDatabase(options).setRetailerCaps(
            userCode: userCode, dailyCount: Int(dailyCount), dailyAmountPaise: Int64(dailyAmount).map { $0 * 100 }, now: Date()
        )
        let count = retailer.dailyCountCap.map(String.init) ?? "policy default"
        let amount = retailer.dailyAmountCapPaise.map { "₹" + Paise.format($0) } ?? "policy default"
        print("caps for \(retailer.userCode): \(count) withdrawals and \(amount) per day")
    }
}

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Show the effective debit-hook policy, or check a saved debit-hook against it.",
        subcommands: [Show.self, Check.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the effective policy: defaults, aeps.config, kill switches and per-retailer overrides."
        )
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try AppConfig.load(path: options.config)
            let database = try openDatabase(options)
            let policy = config.policy
            func rupees(_ paise: Int64?) -> String { paise.map { "₹" + Paise.format($0) } ?? "off" }
            print("kill switch: \(try await database.isServicePaused() ? "ON (every debit-hook is refused)" : "off")")
            print("services allowed: \(policy.allowedTypes.sorted().map(String.init).joined(separator: ", ")) (2 cash withdrawal, 3 balance enquiry, 4 mini statement)")
            print("cash withdrawal: \(rupees(policy.minWithdrawalPaise)) to \(rupees(policy.maxWithdrawalPaise)), multiples of \(rupees(policy.withdrawalMultiplePaise))")
            print("per customer: at most \(policy.maxWithdrawalsPerCustomerPerDay) approved withdrawals per Indian day")
            print("per retailer: \(policy.retailerDailyCountCap.map { "\($0) withdrawals" } ?? "no count cap"), \(policy.retailerDailyAmountCapPaise.map { rupees($0) } ?? "no amount cap") per day")
            print("hours of service: \(policy.serviceHours.map { "\($0) IST" } ?? "always")")
            print("gateway session: \(policy.requireSession ? "required" : "NOT required (retailer-only binding)"), valid \(policy.sessionTTLSeconds) s, at most \(policy.maxTransactionsPerSession) approvals")
            print("decision budget: \(policy.decisionBudgetMilliseconds) ms")
            for retailer in try await database.retailers()
            where retailer.paused || !retailer.active || retailer.dailyCountCap != nil || retailer.dailyAmountCapPaise != nil {
                var notes: [String] = []
                if !retailer.active { notes.append("disabled") }
                if retailer.paused { notes.append("kill switch on") }
                if let cap = retailer.dailyCountCap { notes.append("\(cap) withdrawals/day") }
                if let cap = retailer.dailyAmountCapPaise { notes.append("\(rupees(cap))/day") }
                print("retailer \(retailer.userCode) (\(retailer.name)): \(notes.joined(separator: ", "))")
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decide a saved debit-hook body against the live database, without recording it, and say why.",
            discussion: "The file holds the JSON body the gateway posted ({\"action\": \"debit-hook\", \"detail\": ...})."
        )
        @OptionGroup var options: ConfigOptions
        @Option(help: ArgumentHelp("The saved debit-hook JSON.", valueName: "path")) var file: String
        @Option(help: ArgumentHelp("Check as this retailer's user_code instead of the one in the file.", valueName: "code"))
        var userCode: String?

        func run() async throws {
            let config = try AppConfig.load(path: options.config)
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CommandError("--file: cannot read \(file)")
            }
            guard case .object(let body) = try? JSONValue.parse(data), case .object(var detail)? = body["detail"] else {
                throw CommandError("--file: \(file) is not a debit-hook body ({\"action\": \"debit-hook\", \"detail\": {...}})")
            }
            if let userCode, let index = detail.members.firstIndex(where: { $0.key == "data" }),
                case .object(var hookData) = detail.members[index].value
            {
                hookData.members.removeAll { $0.key == "user_code" }
                hookData.members.append(.init(key: "user_code", value: .string(userCode)))
                detail.members[index].value = .object(hookData)
            }
            let hook: DebitHook
            do { hook = try DebitHook(detail: detail) } catch { throw CommandError("--file: \(error.message)") }
            let token = body["aeps_session"]?.scalarText.flatMap { $0.isEmpty ? nil : $0 }
            let facts = try await openDatabase(options).facts(for: hook, sessionToken: token, now: Date())
            let policy = DebitHookPolicy(config.policy)
            for verdict in policy.explain(hook, facts: facts) {
                let mark = verdict.refusal.map { "FAIL \($0.rawValue)" } ?? "pass"
                print("\(mark.padding(toLength: 36, withPad: " ", startingAt: 0)) \(verdict.rule): \(verdict.detail)")
            }
            switch policy.evaluate(hook, facts: facts) {
            case .approve(let approval): print("decision: approve, would sign \(approval.fields.joined(separator: ", ")) (not recorded)")
            case .refuse(let code): print("decision: refuse \(code.rawValue): \(code.message)")
            }
        }
    }
}
