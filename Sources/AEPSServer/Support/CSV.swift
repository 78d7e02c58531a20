/// CSV for people: RFC 4180 quoting, formulas defused, and no control character reaching a terminal or a
/// spreadsheet (rows stored before input was bounded may still hold them).
public enum CSV {
    /// One cell: control characters (NUL, escape, CR, LF, ...) written as `\u{XX}`; a leading `=`, `+`, `-`, `@`
    /// or tab made text with a `'`; quoted when it holds a comma or a quote.
    public static func field(_ text: String) -> String {
        var value = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control {
                value += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                value.unicodeScalars.append(scalar)
            }
        }
        if let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { value = "'" + value }
        if value.contains(where: { ",\"".contains($0) }) { return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        return value
    }
}
