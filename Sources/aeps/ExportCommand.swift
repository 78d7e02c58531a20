import AEPSServer
import ArgumentParser
import EkoSigning
import Foundation

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write transactions with their state, settlement and verification as CSV or JSON (mobiles masked).",
        discussion: "Dates are Indian calendar days (YYYY-MM-DD), inclusive. Output goes to standard output."
    )

    @OptionGroup var options: ConfigOptions
    @Option(help: ArgumentHelp("csv or json.", valueName: "format")) var format = "csv"
    @Option(help: ArgumentHelp("First Indian day to include.", valueName: "YYYY-MM-DD")) var from: String?
    @Option(help: ArgumentHelp("Last Indian day to include.", valueName: "YYYY-MM-DD")) var to: String?

    func validate() throws {
        guard ["csv", "json"].contains(format) else { throw ValidationError("--format: expected csv or json, got \"\(format)\"") }
        for (flag, value) in [("--from", from), ("--to", to)] {
            if let value, value.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) == nil {
                throw ValidationError("\(flag): expected a date like 2026-11-25, got \"\(value)\"")
            }
        }
    }

    func run() async throws {
        let rows = try await openDatabase(options).exportRows(from: from, to: to)
        if format == "json" {
            let items = rows.map { row in
                JSONValue.object(JSONObject(ExportRow.columns.map { name in
                    JSONObject.Member(key: name, value: row[name].map(JSONValue.string) ?? .null)
                }))
            }
            print(JSONValue.array(items).serialized())
        } else {
            print(ExportRow.columns.joined(separator: ","))
            for row in rows { print(ExportRow.columns.map { CSV.field(row[$0] ?? "") }.joined(separator: ",")) }
        }
    }
}
