/// Money as integer paise. Amounts arrive as rupee text (`"500"`, `"500.00"`) and are converted without
/// floating point.
public enum Paise {
    /// Parses a plain rupee amount: digits, optionally a dot and one or two digits. Anything else (signs, spaces,
    /// exponents, thousands separators, more than two decimals, more than 12 rupee digits) is nil.
    public static func parse(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let rupees = parts[0]
        guard !rupees.isEmpty, rupees.count <= 12, rupees.allSatisfy(\.isASCIIDigit) else { return nil }
        var paise: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard (1...2).contains(fraction.count), fraction.allSatisfy(\.isASCIIDigit) else { return nil }
            paise = Int64(fraction)! * (fraction.count == 1 ? 10 : 1)
        }
        return Int64(rupees)! * 100 + paise
    }

    /// `50000` → `"500.00"`.
    public static func format(_ paise: Int64) -> String {
        let sign = paise < 0 ? "-" : ""
        let magnitude = paise.magnitude
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
